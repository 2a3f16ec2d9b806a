// The privacy centre: where the data lives, a download of all of it, deletion,
// and "who accessed my data", checked in this browser against the public log.

import { api, ApiError, describe } from '../api.js';
import { failure, formatDate, h, toast } from '../dom.js';

export async function render(root, _params, ctx) {
  if (!ctx.requireLogin()) return;
  const me = ctx.session.me;
  const page = h('section', { class: 'page privacy' }, h('h1', {}, 'Privacy centre'));
  root.append(page);

  const home = h('p', { class: 'residency' }, 'Looking up your home region…');
  page.append(h('section', { 'aria-labelledby': 'where-title', class: 'card' }, h('h2', { id: 'where-title' }, 'Where your data lives'), home,
    h('p', { class: 'muted' }, 'Your personal data is stored and processed only in your home region, encrypted with a key that region’s custodian holds.')));
  describeHome(me, home);

  page.append(h('section', { 'aria-labelledby': 'decisions-title', class: 'card' },
    h('h2', { id: 'decisions-title' }, 'Decisions about my content'),
    h('p', {}, 'Moderation decisions about what you posted, with their reasons, and your appeals: ', h('a', { href: '/decisions' }, 'see your decisions'), '.')));
  page.append(exportSection(me));
  page.append(accessSection());
  page.append(await deleteSection(me, ctx));
}

async function describeHome(me, out) {
  const regionId = typeof me.region === 'object' ? me.region?.id : me.region;
  try {
    const regions = (await api('/v1/regions', { auth: false, fixedPath: true }))?.items || [];
    const region = regions.find((r) => r.id === regionId) || (typeof me.region === 'object' ? me.region : null);
    out.textContent = region ? `Your data is held in ${region.name} by ${region.custodian}.` : `Your home region is ${regionId || 'unknown'}.`;
  } catch {
    const region = typeof me.region === 'object' ? me.region : null;
    out.textContent = region?.custodian ? `Your data is held in ${region.name} by ${region.custodian}.` : `Your home region is ${regionId || 'unknown'}.`;
  }
}

function exportSection(me) {
  const status = h('p', { role: 'status' });
  const button = h('button', { type: 'button', class: 'button primary' }, 'Download my data');
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.replaceChildren('Preparing your archive…');
    try {
      const link = await prepareExport(me);
      status.replaceChildren('Your archive is ready: ', link);
      link.focus();
    } catch (err) {
      status.replaceChildren(failure(describe(err), err));
    } finally {
      button.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'export-title', class: 'card' },
    h('h2', { id: 'export-title' }, 'Download my data'),
    h('p', {}, 'One archive with everything Sovereel stores about you, sorted by class (protected, public, aggregate), your videos, and the log entries about you.'),
    button, status);
}

async function prepareExport(me) {
  let job = await api('/v1/me/exports', { method: 'POST', body: {}, fixedPath: true });
  let wait = 500;
  for (let attempt = 0; attempt < 120; attempt++) {
    const ready = job?.download_url || job?.url;
    if (ready) return downloadLink(ready, me);
    if (job?.state === 'failed') throw new ApiError({ title: 'Export failed', detail: job.state_reason || job.detail || 'The archive could not be made.' });
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 1.5, 3000);
    const response = await api(`/v1/me/exports/${encodeURIComponent(job.id)}`, { raw: true });
    if (/\bjson\b/.test(response.headers.get('content-type') || '')) {
      job = { id: job.id, ...(await response.json()) };
    } else {
      // The archive itself: hand the bytes we already have to the user.
      const blob = await response.blob();
      return downloadLink(URL.createObjectURL(blob), me, archiveName(response, me));
    }
  }
  throw new ApiError({ title: 'Export is taking long', detail: 'Try again in a few minutes.' });
}

function archiveName(response, me) {
  const disposition = response.headers.get('content-disposition') || '';
  const named = /filename="?([^";]+)"?/.exec(disposition);
  if (named) return named[1];
  const type = response.headers.get('content-type') || '';
  const ext = type.includes('zip') ? 'zip' : type.includes('gzip') ? 'tar.gz' : type.includes('tar') ? 'tar' : 'bin';
  return `sovereel-${me.handle}-export.${ext}`;
}

function downloadLink(href, me, filename = '') {
  return h('a', { href, download: filename, class: 'button', 'data-testid': 'export-download' }, 'Download archive');
}

function accessSection() {
  const out = h('div', { class: 'access-log', 'aria-live': 'polite' }, h('p', { role: 'status' }, 'Checking the log…'));
  const recheck = h('button', { type: 'button', class: 'button' }, 'Check again');
  recheck.addEventListener('click', () => loadAccessLog(out));
  loadAccessLog(out);
  return h('section', { 'aria-labelledby': 'access-title', class: 'card' },
    h('h2', { id: 'access-title' }, 'Who accessed my data'),
    h('p', {}, 'Every time anyone other than you touches your data (a custodian operator, a moderator, support) it is written to your region’s public, append-only log. Your browser checks each entry itself: the log’s signature on its latest checkpoint, and a proof that the entry is in it.'),
    out, recheck);
}

async function loadAccessLog(out) {
  out.replaceChildren(h('p', { role: 'status' }, 'Checking the log…'));
  let answer;
  try {
    answer = await api('/v1/me/access-log', { fixedPath: true });
  } catch (err) {
    out.replaceChildren(failure(describe(err), err));
    return;
  }
  let verified;
  let vkey = answer?.vkey;
  try {
    if (!vkey) vkey = await logKey();
    const { verifyAccessLog } = await import('../accesslog.js');
    verified = await verifyAccessLog(answer, vkey);
  } catch (err) {
    out.replaceChildren(h('p', { class: 'error' }, `Could not check the log: ${err.message}`));
    return;
  }
  const { checkpoint, checkpointError, items } = verified;
  const keyNote = vkey ? pinKey(vkey) : null;
  let headline;
  if (checkpoint) {
    const note = answer.checkpoint || answer.items?.at(-1)?.checkpoint;
    const witnesses = await checkWitnesses(note, checkpoint.cosigners);
    headline = h('p', { class: 'verified-line' }, h('span', { class: 'badge ok' }, 'Signature verified'), ` Checkpoint of ${checkpoint.origin}: ${checkpoint.size} ${checkpoint.size === 1n ? 'entry' : 'entries'}${witnesses ? `, ${witnesses}` : ''}.`);
  } else if (checkpointError) {
    headline = h('p', { class: 'verified-line' }, h('span', { class: 'badge failed' }, 'Signature failed'), ` ${checkpointError}`);
  } else {
    headline = h('p', { class: 'verified-line muted' }, 'The log has no checkpoint to check yet.');
  }
  out.replaceChildren(
    headline,
    keyNote,
    items.length === 0
      ? h('p', {}, 'Nobody but you has accessed your data.')
      : h('ol', { class: 'entries', 'aria-label': 'Log entries about you' }, items.map(renderEntry)));
}

// The other custodians' cosignatures, checked with the witness keys the
// transparency summary publishes; names alone when those keys are not known.
async function checkWitnesses(note, names) {
  if (!names.length) return '';
  try {
    const summary = await api('/v1/transparency', { auth: false, fixedPath: true });
    const keys = (summary?.regions || []).map((r) => r.witness_vkey).filter((k) => k && names.includes(k.split('+')[0]));
    if (!keys.length) throw new Error('no witness keys');
    const { verifyCosignatures } = await import('../verify/note.js');
    const results = await verifyCosignatures(note, keys);
    const good = results.filter((r) => r.ok).map((r) => r.name);
    const bad = results.filter((r) => !r.ok).map((r) => r.name);
    return [good.length ? `cosignatures verified for ${good.join(', ')}` : '', bad.length ? `cosignatures FAILED for ${bad.join(', ')}` : ''].filter(Boolean).join('; ');
  } catch {
    return `cosigned by ${names.join(', ')} (not checked)`;
  }
}

// The key of the viewer's home-region log, as the log itself publishes it.
async function logKey() {
  const me = await api('/v1/me');
  const region = typeof me?.region === 'object' ? me.region?.id : me?.region;
  const response = await fetch(`/log/${encodeURIComponent(region)}/vkey`, { credentials: 'same-origin' });
  if (!response.ok || (response.headers.get('content-type') || '').includes('html')) throw new Error('the log does not publish its key yet');
  return (await response.text()).trim();
}

// Remember the log key the first time; a different key later is worth a warning.
function pinKey(vkey) {
  const name = String(vkey || '').split('+')[0];
  const storageKey = `sovereel.vkey.${name}`;
  try {
    const known = localStorage.getItem(storageKey);
    if (!known) localStorage.setItem(storageKey, vkey);
    else if (known !== vkey) {
      return h('p', { class: 'error' }, `Warning: the log's key changed since you last checked (it was ${known}).`);
    }
  } catch {
    // Storage may be off; the check itself still stands.
  }
  return h('p', { class: 'muted small' }, `Log key: ${vkey}`);
}

// Entries follow the ledger's versioned JSON: {v, at, kind, principal, action, …}.
function describePrincipal(p) {
  if (!p || typeof p !== 'object') return p ? String(p) : 'someone';
  switch (p.type) {
    case 'custodian_staff':
      return `${String(p.region || '').toUpperCase()} custodian ${p.role || 'staff'}${p.staff_id ? ` (staff ${p.staff_id})` : ''}`;
    case 'platform_staff':
      return `Platform staff, ${p.role || 'unknown role'}${p.staff_id ? ` (staff ${p.staff_id})` : ''}`;
    case 'release':
      return `Recommendation release ${p.release_id || ''} in ${String(p.region || '').toUpperCase()}`;
    case 'auditor':
      return `Auditor ${p.auditor_id || ''}`;
    case 'system':
      return `System (${p.component || 'platform'})`;
    case 'user':
      return 'Another user';
    default:
      return p.type || 'someone';
  }
}

// "RunDataRequest" and "data_request" read as "run data request".
function words(text) {
  return String(text).replace(/([a-z])([A-Z])/g, '$1 $2').replaceAll('_', ' ').toLowerCase();
}

// The export operator is the custodian's automated service that carries out
// the user's own data requests (crates/server/src/export.rs): its accesses are
// the user's request, not a stranger looking.
const EXPORT_OPERATOR = 'export-operator';

function byWhom(actor, e) {
  if (actor?.type === 'custodian_staff' && actor.staff_id === EXPORT_OPERATOR) {
    const request = e.request_id ? ` (request ${e.request_id})` : '';
    return `By your own data export${request}, carried out automatically by the ${String(actor.region || '').toUpperCase()} custodian`;
  }
  return `By ${describePrincipal(actor)}`;
}

function renderEntry(item) {
  const e = item.entry || {};
  const what = [e.kind, e.action || e.request_kind, e.status].filter(Boolean).map(words).join(': ') || 'entry';
  const actor = e.principal || e.operator;
  const details = [
    actor ? byWhom(actor, e) : null,
    e.decision ? `Decision: ${e.decision === 'allow' ? 'allowed' : e.decision === 'deny' ? 'denied' : e.decision}` : null,
    e.purpose ? `Purpose: ${e.purpose}` : null,
    e.case_id ? `Case: ${e.case_id}` : null,
    e.resource_class ? `Data class: ${e.resource_class}` : null,
    e.request_id ? `Request: ${e.request_id}` : null,
    e.policy_id ? `Policy: ${e.policy_id}` : null,
  ].filter(Boolean);
  return h('li', { class: `entry ${item.ok ? 'ok' : 'failed'}`, dataset: { index: String(item.index) } },
    h('span', { class: `badge ${item.ok ? 'ok' : 'failed'}` }, item.ok ? 'Verified' : 'Failed'),
    h('div', {},
      h('p', {}, h('strong', {}, what), e.at ? ` · ${formatDate(e.at)}` : ''),
      details.map((d) => h('p', { class: 'muted' }, d)),
      item.ok ? null : h('p', { class: 'error' }, `Not verified: ${item.reason}.`),
      h('details', {}, h('summary', {}, `Log entry ${item.index}`), h('pre', {}, JSON.stringify(e, null, 2)))));
}

async function deleteSection(me, ctx) {
  let graceDays = null;
  try {
    const server = await api('/v1/server', { auth: false, fixedPath: true });
    graceDays = server?.deletion_grace_days ?? server?.deletion_grace_period_days
      ?? (server?.deletion_grace_secs !== undefined ? Math.round(server.deletion_grace_secs / 86400) : null);
  } catch {
    graceDays = null;
  }
  const graceText = graceDays === null ? 'a grace period (30 days unless this server is set otherwise)' : graceDays === 0 ? 'no grace period on this server' : `a grace period of ${graceDays} days`;
  const confirmInput = h('input', { class: 'input', id: 'delete-confirm', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const message = h('p', { class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'button danger' }, 'Delete my account');
  const form = h('form', { class: 'form' },
    h('div', { class: 'field' }, h('label', { for: 'delete-confirm' }, `Type your handle (${me.handle}) to confirm`), confirmInput),
    button, message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (confirmInput.value.trim().replace(/^@/, '') !== me.handle) {
      message.textContent = 'The handle you typed does not match.';
      return;
    }
    button.disabled = true;
    try {
      const answer = await api('/v1/me', { method: 'DELETE' });
      const when = answer?.delete_after || answer?.purge_at || answer?.scheduled_for;
      try {
        await api('/v1/sessions/current', { method: 'DELETE', auth: false });
      } catch {
        // Deleting the account usually ends its sessions already.
      }
      ctx.session.clear();
      toast(when
        ? `Your account is deleted. Its key will be destroyed on ${formatDate(when)}; logging in before then cancels the deletion.`
        : 'Your account is deleted. Its key will be destroyed after the grace period.', { timeout: 10000 });
      ctx.navigate('/', { replace: true });
    } catch (err) {
      message.textContent = describe(err);
      button.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'delete-title', class: 'card danger-zone' },
    h('h2', { id: 'delete-title' }, 'Delete my account'),
    h('p', {}, `Your profile and videos disappear at once and you are logged out everywhere. After ${graceText}, your region’s custodian destroys your encryption key. From then on nothing stored about you can be read again, anywhere, and a receipt of the key’s destruction goes to the public log.`),
    h('p', {}, 'Changed your mind? Logging in again before the key is destroyed cancels the deletion.'),
    h('p', {}, 'Download your data first if you want to keep a copy.'),
    form);
}
