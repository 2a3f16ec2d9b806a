// Staff console: custodian and platform staff sign in apart from users, then
// see what their role allows: an account's status, the region's algorithm
// releases, platform aggregates. Every call goes through the server's policy
// gateway and lands on the region's ledger; this page only asks.

import { api, ApiError, describe } from '../api.js';
import { failure, h, toast } from '../dom.js';

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
  page.append(
    h('p', { class: 'residency' }, `Signed in as ${staff.handle}: ${staff.org === 'platform' ? 'platform' : `${staff.region.toUpperCase()} custodian`} ${staff.role}.`),
    h('p', {}, signOut),
    // What each role may see: the server's gateway decides; the console only
    // offers what the role is meant to use.
    staff.org === 'platform' ? null : statusSection(page),
    staff.org !== 'platform' && staff.role === 'moderator' ? casesSection(page) : null,
    staff.org !== 'platform' && staff.role === 'operator' ? releasesSection(staff) : null,
    staff.org !== 'platform' && staff.role === 'operator' ? approvalSection(staff) : null,
    staff.org === 'platform' && staff.role === 'operator' ? signingSection() : null,
    staff.org === 'platform' ? aggregatesSection() : null);
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

// The moderator queue: the region's open report cases. A case's item is
// readable only once the moderator has taken it, and every action needs a
// statement of reasons; the server records each step in the region's ledger.
function casesSection(page) {
  const out = h('div', { 'aria-live': 'polite' }, h('p', { role: 'status' }, 'Loading cases…'));
  const load = () => staffApi('/v1/staff/cases', { fixedPath: true }).then((list) => {
    if (!list || !list.length) {
      out.replaceChildren(h('p', { class: 'muted' }, 'No open cases in this region.'));
      return;
    }
    out.replaceChildren(h('ul', { class: 'cases' }, list.map((c) => caseRow(c, page, load))));
  }).catch((err) => {
    if (!handle401(err, page)) out.replaceChildren(failure(describe(err), err));
  });
  load();
  return h('section', { class: 'card', 'aria-labelledby': 'cases-title' },
    h('h2', { id: 'cases-title' }, 'Moderation queue'),
    h('p', { class: 'muted' }, 'Reported videos of this region. Take a case to see the item; act with a statement of reasons. Logged.'), out);
}

function caseRow(c, page, reload) {
  const detail = h('div', {});
  const take = h('button', { type: 'button', class: 'button' }, c.assigned_to_me ? 'Open' : 'Take case');
  take.addEventListener('click', async () => {
    try {
      if (!c.assigned_to_me) await staffApi(`/v1/staff/cases/${encodeURIComponent(c.id)}/assign`, { method: 'POST' });
      const item = await staffApi(`/v1/staff/cases/${encodeURIComponent(c.id)}/item`);
      detail.replaceChildren(h('dl', { class: 'facts' },
        h('dt', {}, 'Caption'), h('dd', {}, item.caption),
        h('dt', {}, 'Visibility'), h('dd', {}, item.visibility),
        h('dt', {}, 'Labels'), h('dd', {}, (item.labels || []).join(', ') || 'none')),
      actionForm(c, page, reload));
    } catch (err) {
      if (!handle401(err, page)) detail.replaceChildren(failure(describe(err), err));
    }
  });
  return h('li', { class: 'case' },
    h('p', {}, h('strong', {}, c.category), ` · video ${c.video_id} · reported ${c.created_at}`), take, detail);
}

function actionForm(c, page, reload) {
  const id = `case-${c.id}`;
  const action = h('select', { class: 'input', id: `${id}-action` },
    [['label', 'Label as misinformation'], ['remove', 'Remove the video'], ['dismiss', 'Dismiss the report']].map(([v, t]) => h('option', { value: v }, t)));
  const ground = h('input', { class: 'input', id: `${id}-ground`, type: 'text', required: 'required', maxlength: '2000' });
  const facts = h('textarea', { class: 'input', id: `${id}-facts`, rows: '3', required: 'required', maxlength: '2000' });
  const message = h('p', { role: 'status' });
  const form = h('form', { class: 'form' },
    h('label', { for: `${id}-action` }, 'Action'), action,
    h('label', { for: `${id}-ground` }, 'Ground (the rule or law)'), ground,
    h('label', { for: `${id}-facts` }, 'Facts relied on'), facts,
    h('button', { type: 'submit', class: 'button primary' }, 'Act on the case'), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const done = await staffApi(`/v1/staff/cases/${encodeURIComponent(c.id)}/actions`, { method: 'POST', body: { action: action.value, ground: ground.value, facts: facts.value } });
      toast(`Case closed; recorded as ledger entry ${done.ledger_index}.`);
      reload();
    } catch (err) {
      if (!handle401(err, page)) message.textContent = describe(err);
    }
  });
  return form;
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
