// Staff console: custodian and platform staff sign in apart from users, then
// see what their role allows: an account's status, the region's algorithm
// releases, platform aggregates. Every call goes through the server's policy
// gateway and lands on the region's ledger; this page only asks.

import { api, ApiError, describe } from '../api.js';
import { failure, formatDate, h, toast } from '../dom.js';

const KEY = 'sovereel.staff';

function remembered() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function remember(staff) {
  try {
    if (staff) sessionStorage.setItem(KEY, JSON.stringify(staff));
    else sessionStorage.removeItem(KEY);
  } catch {
    // Without storage the console asks to sign in again after a reload.
  }
}

// Staff calls never touch the user's session: a 401 here means the staff
// session ended, and only the console reacts.
function staffApi(path, options = {}) {
  return api(path, { ...options, auth: false });
}

export async function render(root) {
  const page = h('section', { class: 'page staff' }, h('h1', {}, 'Staff console'));
  root.append(page);
  const staff = remembered();
  if (staff) console_(page, staff);
  else await signIn(page);
}

async function signIn(page) {
  const region = h('select', { class: 'input', id: 'staff-region' }, h('option', { value: '' }, 'Loading regions…'));
  const handle = h('input', { class: 'input', id: 'staff-handle', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { class: 'input', id: 'staff-password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'form', 'aria-labelledby': 'staff-title' },
    h('div', { class: 'field' }, h('label', { for: 'staff-region' }, 'Region of your staff account'), region),
    h('div', { class: 'field' }, h('label', { for: 'staff-handle' }, 'Staff handle'), handle),
    h('div', { class: 'field' }, h('label', { for: 'staff-password' }, 'Password'), password),
    h('button', { type: 'submit', class: 'button primary' }, 'Sign in as staff'), message);
  page.append(h('h2', { id: 'staff-title' }, 'Staff sign-in'),
    h('p', { class: 'muted' }, 'For the custodians’ vetted staff and the platform’s staff. Every access you make is written to the region’s public log.'),
    form);
  try {
    const regions = (await api('/v1/regions', { auth: false, fixedPath: true }))?.items || [];
    region.replaceChildren(...regions.map((r) => h('option', { value: r.id }, `${r.name} (${r.custodian})`)));
  } catch (err) {
    region.replaceChildren(h('option', { value: 'global' }, 'Global'));
    message.textContent = describe(err);
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    try {
      const session = await staffApi('/v1/staff/sessions', { method: 'POST', fixedPath: true, body: { region: region.value, handle: handle.value.trim(), password: password.value } });
      const staff = { handle: session.handle, role: session.role, org: session.org, region: session.region };
      remember(staff);
      page.replaceChildren(h('h1', {}, 'Staff console'));
      console_(page, staff);
    } catch (err) {
      message.textContent = err instanceof ApiError && err.status === 401 ? 'That staff handle and password do not match an account in this region.' : describe(err);
    }
  });
  handle.focus();
}

function console_(page, staff) {
  const signOut = h('button', { type: 'button', class: 'button' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    try {
      await staffApi('/v1/staff/sessions/current', { method: 'DELETE', fixedPath: true });
    } catch {
      // Signed out here either way.
    }
    remember(null);
    page.replaceChildren(h('h1', {}, 'Staff console'));
    signIn(page);
  });
  const sections = h('div', { class: 'staff-sections' }, h('p', { role: 'status' }, 'Loading what you may do…'));
  page.append(
    h('p', { class: 'residency' }, `Signed in as ${staff.handle}: ${staff.org === 'platform' ? 'platform' : `${staff.region.toUpperCase()} custodian`} ${staff.role}.`),
    h('p', {}, signOut),
    sections);
  // The sections follow what the region's policy allows this principal
  // (`/v1/staff/me` asks the gateway), never a guess from the role, so the
  // console offers nothing the policy would refuse.
  staffApi('/v1/staff/me', { fixedPath: true }).then((me) => {
    const may = me?.may || {};
    const shown = [
      may.cases ? casesSection(page) : null,
      may.cases ? interventionSection(page) : null,
      may.account_status ? statusSection(page) : null,
      may.approve_releases ? releasesSection(staff) : null,
      may.approve_releases ? approvalSection(staff) : null,
      may.publish_releases ? signingSection() : null,
      may.aggregates ? aggregatesSection() : null,
    ].filter(Boolean);
    sections.replaceChildren(...(shown.length ? shown : [h('p', { class: 'muted' }, 'Your role has no console sections in this region.')]));
  }).catch((err) => {
    if (!handle401(err, page)) sections.replaceChildren(failure(describe(err), err));
  });
}

// "3 minutes ago": times in words, the exact time in the tooltip.
export function ago(value, now = Date.now()) {
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return '';
  const s = Math.round((now - t) / 1000);
  const words = (n, unit) => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (s < 45) return 'just now';
  if (s < 3600) return words(Math.max(1, Math.round(s / 60)), 'minute');
  if (s < 86400) return words(Math.round(s / 3600), 'hour');
  if (s < 30 * 86400) return words(Math.round(s / 86400), 'day');
  return new Date(t).toLocaleDateString(undefined, { dateStyle: 'medium' });
}

function when(value) {
  return h('time', { datetime: value, title: formatDate(value) }, ago(value));
}

// The console's answer to an expired staff session: sign in again.
function handle401(err, page) {
  if (err instanceof ApiError && err.status === 401) {
    remember(null);
    toast('Your staff session has ended. Please sign in again.', { tone: 'error' });
    page.replaceChildren(h('h1', {}, 'Staff console'));
    signIn(page);
    return true;
  }
  return false;
}

function statusSection(page) {
  const input = h('input', { class: 'input', id: 'staff-lookup', type: 'text', autocapitalize: 'none', spellcheck: 'false' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'search-form' }, input, h('button', { type: 'submit', class: 'button primary' }, 'Look up'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const who = input.value.trim().replace(/^@/, '');
    if (!who) return;
    out.replaceChildren(h('p', { role: 'status' }, 'Looking up…'));
    try {
      const s = await staffApi(`/v1/staff/users/${encodeURIComponent(who)}/status`);
      out.replaceChildren(h('dl', { class: 'facts' },
        h('dt', {}, 'Handle'), h('dd', {}, `@${s.handle}`),
        h('dt', {}, 'Home region'), h('dd', {}, s.region),
        h('dt', {}, 'State'), h('dd', {}, s.state),
        h('dt', {}, 'Private'), h('dd', {}, s.private ? 'yes' : 'no'),
        h('dt', {}, 'Created'), h('dd', {}, s.created_at)));
    } catch (err) {
      if (!handle401(err, page)) out.replaceChildren(failure(describe(err), err));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'status-title' },
    h('h2', { id: 'status-title' }, 'Account status'),
    h('p', { class: 'muted' }, 'State and settings only: never content or history. Logged.'),
    h('label', { for: 'staff-lookup' }, 'Handle'), form, out);
}

// The moderator's queue: the region's open cases (reports, appeals and
// interventions), most urgent first. A case's item is readable, and its
// video playable, only once the moderator has taken it; every read, play
// and decision is on the region's ledger, written by the server.
const ACTION_WORDS = {
  label: 'Label the video',
  restrict: 'Keep it out of For You',
  remove: 'Remove it',
  dismiss: 'Dismiss the reports',
  demote: 'Demote it in For You',
  promote: 'Promote it in For You',
  uphold: 'Uphold the decision (reject the appeal)',
  reverse: 'Reverse the decision (restore the content)',
};
const LABEL_WORDS = {
  unverified: 'Unverified content', misleading: 'Misleading (fact-checked)', graphic: 'Graphic content', sensitive: 'Sensitive content',
};
const KIND_WORDS = { report: 'Report', appeal: 'Appeal', intervention: 'Intervention' };

function casesSection(page) {
  const counts = h('p', { class: 'queue-counts', 'aria-live': 'polite' });
  const list = h('ul', { class: 'cases' });
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Show more cases');
  const out = h('div', { 'aria-live': 'polite' }, h('p', { role: 'status' }, 'Loading cases…'));
  let cursor = null;
  const load = async (again = false) => {
    try {
      const q = await staffApi(`/v1/staff/cases?limit=20${again && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { fixedPath: true });
      const c = q.counts || {};
      counts.textContent = `${c.open ?? 0} open · ${c.unassigned ?? 0} not taken · ${c.mine ?? 0} yours · ${c.appeals ?? 0} ${c.appeals === 1 ? 'appeal' : 'appeals'}`;
      if (!again) list.replaceChildren();
      list.append(...(q.items || []).map((item) => caseRow(item, page, () => load(false))));
      cursor = q.next_cursor;
      more.hidden = !cursor;
      out.replaceChildren(list.children.length ? list : h('p', { class: 'muted' }, 'No open cases in this region.'));
    } catch (err) {
      if (!handle401(err, page)) out.replaceChildren(failure(describe(err), err));
    }
  };
  more.addEventListener('click', () => load(true));
  load();
  return h('section', { class: 'card', 'aria-labelledby': 'cases-title' },
    h('h2', { id: 'cases-title' }, 'Moderation queue'),
    h('p', { class: 'muted' }, 'Most urgent first: severity, then how many people reported, then age. Take a case to see and play the item; decide it with a statement of reasons. Everything is logged.'),
    counts, out, more);
}

function preview(c) {
  const p = c.preview || {};
  const what = c.target.kind === 'video'
    ? [p.poster_url ? h('img', { class: 'case-poster', src: p.poster_url, alt: '' }) : null,
      h('span', { class: 'case-what' }, p.caption ? `Video: “${p.caption}”` : 'A non-public video (take the case to see it)')]
    : c.target.kind === 'comment'
      ? h('span', { class: 'case-what' }, p.text ? `Comment by @${p.handle}: “${p.text}”` : 'A comment on a non-public video (take the case to see it)')
      : h('span', { class: 'case-what' }, `Account @${p.handle || 'unknown'}`);
  return what;
}

function caseRow(c, page, reload) {
  const detail = h('div', { class: 'case-detail' });
  const take = h('button', { type: 'button', class: 'button' }, c.assigned_to_me ? 'Open' : 'Take case');
  if (c.assigned && !c.assigned_to_me) take.disabled = true;
  take.addEventListener('click', async () => {
    try {
      if (!c.assigned_to_me) await staffApi(`/v1/staff/cases/${encodeURIComponent(c.id)}/assign`, { method: 'POST' });
      c.assigned_to_me = true;
      take.textContent = 'Open';
      detail.replaceChildren(h('p', { role: 'status' }, 'Opening the case…'));
      const item = await staffApi(`/v1/staff/cases/${encodeURIComponent(c.id)}/item`);
      detail.replaceChildren(...caseItem(item), actionForm(c, item, page, reload));
    } catch (err) {
      if (!handle401(err, page)) detail.replaceChildren(failure(describe(err), err));
    }
  });
  const reports = c.kind === 'report' ? ` · ${c.reports_count} ${c.reports_count === 1 ? 'report' : 'reports'}` : '';
  const cats = (c.categories || []).map((x) => x.replace('_', ' ')).join(', ');
  return h('li', { class: 'case', 'data-case': c.id, 'data-kind': c.kind },
    h('p', { class: 'case-head' }, h('span', { class: `badge ${c.kind}` }, KIND_WORDS[c.kind] || c.kind), ' ', h('strong', {}, cats), reports, ' · ', when(c.created_at),
      c.assigned ? (c.assigned_to_me ? ' · yours' : ' · taken by another moderator') : ''),
    h('p', { class: 'case-preview' }, preview(c)),
    c.appeal ? h('p', { class: 'appeal-text' }, `The creator appeals: “${c.appeal.text}”`) : null,
    c.appeal?.decided_by_me ? h('p', { class: 'muted' }, 'You made the decision appealed: another moderator decides the appeal.') : take,
    detail);
}

function statementText(st) {
  return h('div', { class: 'statement' },
    h('p', {}, h('strong', {}, st.decision.text), ' ', when(st.decided_at)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Ground'), h('dd', {}, `${st.ground.kind === 'law' ? 'The law' : 'The terms of service'}: ${st.ground.reference}`),
      h('dt', {}, 'Facts'), h('dd', {}, st.facts),
      h('dt', {}, 'Automated means'), h('dd', {}, st.automated_text),
      h('dt', {}, 'Applies'), h('dd', {}, st.territorial_scope)));
}

function caseItem(item) {
  const parts = [];
  if (item.video) {
    const v = item.video;
    // The stream passes the gateway on every request (ledgered), while the case is yours and open.
    parts.push(h('video', { class: 'case-video', controls: true, preload: 'metadata', src: v.stream_url, poster: v.poster_url || undefined, 'aria-label': `Reported video: ${v.caption}` }),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Caption'), h('dd', {}, v.caption || '(no caption)'),
        h('dt', {}, 'Posted'), h('dd', {}, when(v.created_at)),
        h('dt', {}, 'Visibility'), h('dd', {}, v.visibility),
        h('dt', {}, 'State'), h('dd', {}, v.state),
        h('dt', {}, 'Labels'), h('dd', {}, (v.labels || []).map((l) => l.text).join(', ') || 'none')));
  }
  if (item.comment) {
    parts.push(h('dl', { class: 'facts' },
      h('dt', {}, 'Comment'), h('dd', {}, item.comment.text),
      h('dt', {}, 'By'), h('dd', {}, `@${item.comment.author_handle}`),
      h('dt', {}, 'Posted'), h('dd', {}, when(item.comment.created_at))));
  }
  if (item.account) {
    parts.push(h('dl', { class: 'facts' },
      h('dt', {}, 'Account'), h('dd', {}, `@${item.account.handle} (${item.account.display_name})`),
      h('dt', {}, 'Bio'), h('dd', {}, item.account.bio || '(empty)'),
      h('dt', {}, 'State'), h('dd', {}, item.account.state),
      h('dt', {}, 'Joined'), h('dd', {}, when(item.account.created_at))));
  }
  if (item.appealed) parts.push(h('h3', {}, 'The decision appealed'), statementText(item.appealed));
  const history = (item.history || []).filter((d) => d.id !== item.appealed?.id);
  if (history.length) parts.push(h('h3', {}, 'Earlier decisions on this item'), ...history.map(statementText));
  return parts;
}

function statementFields(id) {
  const ground = h('select', { class: 'input', id: `${id}-ground` },
    h('option', { value: 'terms' }, 'Incompatible with the terms of service'), h('option', { value: 'law' }, 'Illegal under the law'));
  const reference = h('input', { class: 'input', id: `${id}-reference`, type: 'text', maxlength: '500', placeholder: 'e.g. Community Guidelines §4.2' });
  const facts = h('textarea', { class: 'input', id: `${id}-facts`, rows: '3', required: 'required', maxlength: '2000' });
  const automated = h('input', { type: 'checkbox', id: `${id}-automated` });
  const fields = [
    h('label', { for: `${id}-ground` }, 'Ground'), ground,
    h('label', { for: `${id}-reference` }, 'The clause or the law relied on'), reference,
    h('label', { for: `${id}-facts` }, 'Facts and circumstances relied on'), facts,
    h('label', { class: 'check' }, automated, ' Automated means detected or decided this'),
  ];
  const value = () => ({
    ground: ground.value,
    ...(reference.value.trim() ? { reference: reference.value.trim() } : {}),
    facts: facts.value,
    automated: automated.checked,
  });
  return { fields, value };
}

function actionForm(c, item, page, reload) {
  const id = `case-${c.id}`;
  const action = h('select', { class: 'input', id: `${id}-action` }, (item.actions || []).map((a) => h('option', { value: a }, ACTION_WORDS[a] || a)));
  const label = h('select', { class: 'input', id: `${id}-label` }, (item.labels || []).map((l) => h('option', { value: l }, LABEL_WORDS[l] || l)));
  const note = h('input', { class: 'input', id: `${id}-note`, type: 'text', maxlength: '500' });
  const labelFields = h('div', { class: 'label-fields' },
    h('label', { for: `${id}-label` }, 'Label'), label,
    h('label', { for: `${id}-note` }, 'Fact-check note shown beside the label (optional)'), note);
  const show = () => { labelFields.hidden = action.value !== 'label'; };
  action.addEventListener('change', show);
  show();
  const statement = statementFields(id);
  const message = h('p', { role: 'status' });
  const form = h('form', { class: 'form' },
    h('h3', {}, 'Decision and statement of reasons'),
    h('label', { for: `${id}-action` }, 'Decision'), action, labelFields,
    ...statement.fields,
    h('button', { type: 'submit', class: 'button primary' }, 'Decide'), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { action: action.value, statement: statement.value() };
    if (action.value === 'label') {
      body.label = label.value;
      if (note.value.trim()) body.note = note.value.trim();
    }
    try {
      const done = await staffApi(`/v1/staff/cases/${encodeURIComponent(c.id)}/actions`, { method: 'POST', body });
      toast(`Decided. It is on the region’s log as entry ${done.ledger_index}, and the creator was given the statement.`);
      reload();
    } catch (err) {
      if (!handle401(err, page)) message.textContent = describe(err);
    }
  });
  return form;
}

// Editorial interventions exist only as decisions with a statement, on the
// log, like any other: this form is the only way to make one.
function interventionSection(page) {
  const target = h('input', { class: 'input', id: 'intervene-target', type: 'text', required: 'required', autocapitalize: 'none', spellcheck: 'false', placeholder: 'a video link, or @handle' });
  const action = h('select', { class: 'input', id: 'intervene-action' }, ['demote', 'restrict', 'promote'].map((a) => h('option', { value: a }, ACTION_WORDS[a])));
  const statement = statementFields('intervene');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'form' },
    h('label', { for: 'intervene-target' }, 'Video or account of this region'), target,
    h('label', { for: 'intervene-action' }, 'Intervention'), action,
    ...statement.fields,
    h('button', { type: 'submit', class: 'button primary' }, 'Decide the intervention'), out);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const raw = target.value.trim();
    const video = raw.match(/(?:\/v\/)?([a-z]+_[0-9a-z]{20,})\/?$/);
    const body = {
      target: raw.startsWith('@') || !video ? { handle: raw.replace(/^@/, '') } : { video_id: video[1] },
      action: action.value,
      statement: statement.value(),
    };
    try {
      const done = await staffApi('/v1/staff/interventions', { method: 'POST', fixedPath: true, body });
      out.replaceChildren(h('p', { class: 'ready' }, `${done.decision.decision.text} Logged as entry ${done.ledger_index}.`));
    } catch (err) {
      if (!handle401(err, page)) out.replaceChildren(failure(describe(err), err));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'intervene-title' },
    h('h2', { id: 'intervene-title' }, 'Editorial intervention'),
    h('p', { class: 'muted' }, 'Demote, restrict or promote a video or an account in For You. Each is a decision with a statement of reasons, on the region’s public log.'),
    form);
}

function releasesSection(staff) {
  const out = h('div', {}, h('p', { role: 'status' }, 'Loading releases…'));
  staffApi(`/v1/staff/regions/${encodeURIComponent(staff.region)}/releases`).then((list) => {
    out.replaceChildren(h('dl', { class: 'facts' },
      h('dt', {}, 'Active release'), h('dd', {}, list.active || 'none'),
      h('dt', {}, 'Installed'), h('dd', {}, (list.installed || []).join(', ') || 'none'),
      h('dt', {}, 'Platform key'), h('dd', { class: 'small' }, list.platform_vkey || ''),
      h('dt', {}, 'Custodian key'), h('dd', { class: 'small' }, list.custodian_vkey || '')));
  }).catch((err) => out.replaceChildren(failure(describe(err), err)));
  return h('section', { class: 'card', 'aria-labelledby': 'releases-title' },
    h('h2', { id: 'releases-title' }, `Algorithm releases in ${staff.region.toUpperCase()}`), out);
}

function aggregatesSection() {
  const out = h('div', {}, h('p', { role: 'status' }, 'Loading aggregates…'));
  staffApi('/v1/staff/aggregates', { fixedPath: true }).then((rows) => {
    out.replaceChildren(h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Region'), h('th', { scope: 'col' }, 'Accounts'), h('th', { scope: 'col' }, 'Public videos'))),
      h('tbody', {}, (rows || []).map((r) => h('tr', {}, h('td', {}, r.region), h('td', {}, r.accounts ?? 'fewer than 50'), h('td', {}, String(r.public_videos)))))));
  }).catch((err) => out.replaceChildren(failure(describe(err), err)));
  return h('section', { class: 'card', 'aria-labelledby': 'aggregates-title' },
    h('h2', { id: 'aggregates-title' }, 'Platform aggregates'),
    h('p', { class: 'muted' }, 'Counts only, with fewer than 50 accounts never shown (k-anonymity).'), out);
}

// Sends text (a signed note, a manifest) and answers the server's text.
async function sendText(path, text, type) {
  const response = await staffApi(path, { method: 'POST', fixedPath: true, raw: true, body: new Blob([text], { type }) });
  return response.text();
}

function noteBox(id, label) {
  const box = h('textarea', { class: 'input mono', id, rows: '8', spellcheck: 'false' });
  return [h('label', { for: id }, label), box];
}

// The platform's step: sign a release manifest; the signed note goes to each custodian.
function signingSection() {
  const [label, manifest] = noteBox('staff-manifest', 'Release manifest (JSON)');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'form' }, label, manifest, h('button', { type: 'submit', class: 'button primary' }, 'Sign release'), out);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    out.replaceChildren(h('p', { role: 'status' }, 'Signing…'));
    try {
      const note = await sendText('/v1/staff/releases', manifest.value, 'application/json');
      const result = h('textarea', { class: 'input mono', rows: '8', readonly: true, 'aria-label': 'Signed release note' });
      result.value = note;
      out.replaceChildren(h('p', {}, 'Signed. Send this note to each region’s custodian for approval:'), result);
    } catch (err) {
      out.replaceChildren(failure(describe(err), err));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'sign-title' }, h('h2', { id: 'sign-title' }, 'Sign an algorithm release'),
    h('p', { class: 'muted' }, 'The proposal is written to every region’s log. No region runs it until its custodian approves.'), form);
}

// The custodian's step: approve (cosign) a platform-signed release, then activate it.
function approvalSection(staff) {
  const [label, note] = noteBox('staff-release-note', 'Platform-signed release note');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'form' }, label, note, h('button', { type: 'submit', class: 'button primary' }, 'Approve for this region'), out);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    out.replaceChildren(h('p', { role: 'status' }, 'Approving…'));
    try {
      const approved = await sendText(`/v1/staff/regions/${encodeURIComponent(staff.region)}/approvals`, note.value, 'text/plain');
      const activate = h('button', { type: 'button', class: 'button primary' }, 'Activate now');
      activate.addEventListener('click', async () => {
        try {
          const list = JSON.parse(await sendText(`/v1/staff/regions/${encodeURIComponent(staff.region)}/releases`, approved, 'text/plain'));
          out.replaceChildren(h('p', { class: 'ready' }, `Active release in ${staff.region.toUpperCase()}: ${list.active}.`));
        } catch (err) {
          out.replaceChildren(failure(describe(err), err));
        }
      });
      out.replaceChildren(h('p', {}, 'Approved and installed; the approval is on the region’s log.'), activate);
    } catch (err) {
      out.replaceChildren(failure(describe(err), err));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'approve-title' }, h('h2', { id: 'approve-title' }, 'Approve an algorithm release'),
    h('p', { class: 'muted' }, 'Check the manifest in the note, then approve it for this region only. Both steps are written to the log.'), form);
}
