// Transparency: for each region, its custodian, the latest signed checkpoint of
// its log (verified here when the log's key is published), the witnesses that
// cosign it, and the algorithm release it runs with its approvals.

import { api, describe } from '../api.js';
import { failure, formatDate, h } from '../dom.js';

export async function render(root) {
  const page = h('section', { class: 'page transparency' },
    h('h1', {}, 'Transparency'),
    h('p', {}, 'Each region keeps an append-only log of every access to protected data by anyone other than its owner, every transfer out of the region, every algorithm release, policy change, moderation action and deletion. The logs use open formats (RFC 9162 Merkle trees, C2SP checkpoints and tiles) so anyone can audit them, and the other regions’ custodians witness each one.'));
  root.append(page);
  const list = h('div', { class: 'regions' }, h('p', { role: 'status' }, 'Loading regions…'));
  page.append(list);
  let regions;
  try {
    regions = (await api('/v1/transparency', { auth: false, fixedPath: true }))?.regions || [];
  } catch (err) {
    // Without the summary endpoint, the regions and their logs still tell most of it.
    regions = err.kind === 'unavailable' ? await fromLogs() : null;
    if (!regions) {
      list.replaceChildren(failure(describe(err), err));
      return;
    }
    page.append(h('p', { class: 'notice' }, 'This server does not publish release approvals and witness lists yet; below are its regions and their logs.'));
    page.append(list);
  }
  if (!regions.length) {
    list.replaceChildren(h('p', {}, 'No regions are configured.'));
    return;
  }
  // Witnesses are the other regions' custodians: their cosigning keys come with the regions.
  const witnessKeys = regions.map((r) => r.witness_vkey).filter(Boolean);
  // A witness key name reads better as the custodian it belongs to.
  const label = (name) => {
    const owner = regions.find((r) => r.witness_vkey && r.witness_vkey.split('+')[0] === name);
    return owner ? `${owner.custodian} (${owner.name})` : name;
  };
  list.replaceChildren(...regions.map((r) => regionCard(r, witnessKeys, label)));
  page.append(reportSection());
}

// The transparency report: figures about moderation, staff access, data
// requests, egress and releases, computed from each region's log; each
// names the range of log entries it counts, and an auditor recomputes it
// with `sovereel audit report`.
function reportSection() {
  const out = h('div', { 'aria-live': 'polite' }, h('p', { role: 'status' }, 'Computing the report from the logs…'));
  const section = h('section', { class: 'card', 'aria-labelledby': 'report-title' },
    h('h2', { id: 'report-title' }, 'Transparency report'),
    h('p', { class: 'muted' }, 'Every figure is counted from the region’s public log and names the entries it counts. Anyone can recompute it from the log alone.'), out);
  api('/v1/transparency/report', { auth: false, fixedPath: true }).then((answer) => {
    out.replaceChildren(...(answer?.regions || []).map(regionReport));
  }).catch((err) => out.replaceChildren(failure(describe(err), err)));
  return section;
}

function regionReport(r) {
  const rep = r.report;
  const range = (f) => `entries ${f.range.start}–${Math.max(f.range.start, f.range.end - 1)}`;
  const row = (name, f) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, String(f.value)), h('td', { class: 'muted small' }, range(f)));
  const rows = (prefix, m) => Object.entries(m || {}).map(([k, f]) => row(`${prefix}: ${k.replace('_', ' ')}`, f));
  const d = rep.decisions;
  const median = d.median_seconds_to_decision;
  return h('article', { class: 'region-report', 'aria-labelledby': `report-${r.region}` },
    h('h3', { id: `report-${r.region}` }, `${r.name || r.region} (${r.custodian})`),
    h('table', { class: 'report-figures' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Figure'), h('th', { scope: 'col' }, 'Count'), h('th', { scope: 'col' }, 'From the log'))),
      h('tbody', {},
        row('Reports received', rep.reports),
        row('Decisions', d.total),
        rows('By action', d.by_action), rows('By category', d.by_category), rows('By ground', d.by_ground), rows('By means', d.by_automation),
        median ? row('Median seconds to decision', median) : null,
        row('Appeals', rep.appeals.received), row('Appeals decided', rep.appeals.decided),
        row('Decisions upheld', rep.appeals.upheld), row('Decisions reversed', rep.appeals.reversed),
        rows('Editorial interventions', rep.interventions || {}),
        rows('Staff accesses', rep.staff_accesses), rows('Staff refused', rep.staff_denials),
        row('Data requests', rep.data_requests), row('Egress batches', rep.egress_batches), row('Release steps', rep.releases))),
    h('p', { class: 'small' }, 'Recompute: ', h('code', {}, `sovereel audit report --log ${location.origin}${r.log_url} --vkey '${r.vkey}' --size ${rep.tree_size}`)));
}

function regionCard(region, witnessKeys = [], label = (name) => name) {
  const checkpointBox = h('div', { class: 'checkpoint' });
  const card = h('article', { class: 'card region', 'aria-labelledby': `region-${region.id}` },
    h('h2', { id: `region-${region.id}` }, region.name || region.id),
    h('dl', {},
      h('dt', {}, 'Custodian'), h('dd', {}, region.custodian || 'unknown'),
      region.witnesses === null ? null : [h('dt', {}, 'Witnesses'), h('dd', {}, (region.witnesses || []).length ? region.witnesses.map(label).join(', ') : 'none yet')],
      region.release === undefined ? null : [h('dt', {}, 'Algorithm release'), h('dd', {}, releaseText(region.release))]),
    h('h3', {}, 'Latest checkpoint'), checkpointBox,
    h('p', { class: 'small' }, h('a', { href: `/log/${encodeURIComponent(region.id)}/checkpoint` }, 'Raw checkpoint'), ' · ', h('a', { href: `/log/${encodeURIComponent(region.id)}/vkey` }, 'Log key')));
  showCheckpoint(region, checkpointBox, witnessKeys, label);
  return card;
}

function releaseText(release) {
  if (!release) return 'none active';
  const approvals = (release.approvals || []).map((a) => {
    // A verifier key ("name+hash+key") is named by its key name.
    if (typeof a === 'string') return a.includes('+') ? a.split('+')[0] : a;
    return [a.by || a.custodian || a.name || a.approver, a.at ? `(${formatDate(a.at)})` : ''].filter(Boolean).join(' ');
  });
  return `${release.id}${approvals.length ? `, approved by ${approvals.join(', ')}` : ', not yet approved'}`;
}

async function showCheckpoint(region, out, witnessKeys, label = (name) => name) {
  if (!region.checkpoint) {
    out.replaceChildren(h('p', { class: 'muted' }, 'No checkpoint published yet.'));
    return;
  }
  out.replaceChildren(h('pre', { class: 'note' }, region.checkpoint), h('p', { role: 'status', class: 'muted signature-status' }, 'Checking signature…'));
  const status = out.lastChild;
  let vkey = region.vkey;
  try {
    if (!vkey) {
      const response = await fetch(`/log/${encodeURIComponent(region.id)}/vkey`, { credentials: 'same-origin' });
      const type = response.headers.get('content-type') || '';
      if (!response.ok || type.includes('html')) {
        status.textContent = 'This server does not publish the log key yet, so the signature was not checked.';
        return;
      }
      vkey = (await response.text()).trim();
    }
    const { verifyCheckpoint, verifyCosignatures } = await import('../verify/note.js');
    const cp = await verifyCheckpoint(region.checkpoint, vkey);
    status.replaceChildren(h('span', { class: 'badge ok' }, 'Signature verified'), ` ${cp.size} ${cp.size === 1n ? 'entry' : 'entries'}.`);
    status.className = 'signature-status';
    // Each named witness's cosignature, checked with its published key.
    const keys = (region.witnesses || []).map((name) => witnessKeys.find((k) => k.split('+')[0] === name)).filter(Boolean);
    if (keys.length) {
      const results = await verifyCosignatures(region.checkpoint, keys);
      out.append(h('ul', { class: 'cosigners', 'aria-label': `Cosignatures on the ${region.name || region.id} checkpoint` },
        results.map((r) => h('li', {},
          h('span', { class: `badge ${r.ok ? 'ok' : 'failed'}` }, r.ok ? 'Cosigned' : 'Not cosigned'),
          ` ${label(r.name)}`, r.ok && r.time ? h('span', { class: 'muted' }, ` at ${formatDate(r.time * 1000)}`) : '',
          r.ok ? '' : h('span', { class: 'muted' }, ` (${r.reason})`)))));
    }
  } catch (err) {
    status.replaceChildren(h('span', { class: 'badge failed' }, 'Signature failed'), ` ${err.message || describe(err)}`);
    status.className = 'signature-status';
  }
}

async function fromLogs() {
  let regions;
  try {
    regions = (await api('/v1/regions', { auth: false, fixedPath: true }))?.items || [];
  } catch {
    return null;
  }
  return Promise.all(regions.map(async (r) => {
    let checkpoint = null;
    try {
      const response = await fetch(`/log/${encodeURIComponent(r.id)}/checkpoint`, { credentials: 'same-origin' });
      const type = response.headers.get('content-type') || '';
      if (response.ok && !type.includes('html') && !type.includes('json')) checkpoint = await response.text();
    } catch {
      checkpoint = null;
    }
    return { id: r.id, name: r.name, custodian: r.custodian, checkpoint, witnesses: null, release: undefined };
  }));
}
