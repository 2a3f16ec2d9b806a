// Settings: profile text, a private account, a feed without profiling, and a
// reset of what For You has learnt.

import { api, describe } from '../api.js';
import { avatar, failure, h, toast } from '../dom.js';
import { logOut } from './auth.js';

export async function render(root, _params, ctx) {
  if (!ctx.requireLogin()) return;
  let me = ctx.session.me;
  try {
    me = await ctx.session.refresh() || me;
  } catch {
    // Keep what we had.
  }
  if (!me) {
    ctx.requireLogin();
    return;
  }

  const displayName = h('input', { class: 'input', id: 'settings-name', type: 'text', maxlength: '50', value: me.display_name || '' });
  const bio = h('textarea', { class: 'input', id: 'settings-bio', rows: '3', maxlength: '160' });
  bio.value = me.bio || '';
  const profileMessage = h('p', { role: 'status' });
  const profileForm = h('form', { class: 'form' },
    h('div', { class: 'field' }, h('label', { for: 'settings-name' }, 'Display name'), displayName),
    h('div', { class: 'field' }, h('label', { for: 'settings-bio' }, 'Bio'), bio),
    h('button', { type: 'submit', class: 'button primary' }, 'Save profile'), profileMessage);
  profileForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    profileMessage.textContent = '';
    try {
      await patch({ display_name: displayName.value.trim(), bio: bio.value.trim() });
      profileMessage.textContent = 'Saved.';
    } catch (err) {
      profileMessage.textContent = describe(err);
    }
  });

  async function patch(changes) {
    const updated = await api('/v1/me', { method: 'PATCH', body: changes });
    ctx.session.me = { ...ctx.session.me, ...changes, ...(updated || {}) };
  }

  function toggle(id, field, label, help) {
    const box = h('input', { type: 'checkbox', id, role: 'switch', checked: Boolean(me[field]), 'aria-describedby': `${id}-help` });
    box.addEventListener('change', async () => {
      box.disabled = true;
      try {
        await patch({ [field]: box.checked });
        toast(`${label}: ${box.checked ? 'on' : 'off'}.`);
      } catch (err) {
        box.checked = !box.checked;
        toast(describe(err), { tone: 'error' });
      } finally {
        box.disabled = false;
      }
    });
    return h('div', { class: 'toggle' }, box, h('label', { for: id }, label), h('p', { class: 'hint', id: `${id}-help` }, help));
  }

  const reset = h('button', { type: 'button', class: 'button' }, 'Reset For You');
  reset.addEventListener('click', async () => {
    if (!window.confirm('Reset For You? Your feed forgets what it learnt from your viewing and starts fresh. Your likes and follows stay.')) return;
    try {
      await api('/v1/me/for-you/reset', { method: 'POST', fixedPath: true });
      toast('For You was reset.');
    } catch (err) {
      toast(describe(err), { tone: 'error' });
    }
  });

  root.append(h('section', { class: 'page narrow' },
    h('h1', {}, 'Settings'),
    h('h2', {}, 'Profile'), profileForm,
    h('h2', {}, 'Privacy'),
    toggle('settings-private', 'private', 'Private account', 'Only people you approve can follow you and see your videos.'),
    followRequests(),
    h('h2', {}, 'Your feed'),
    toggle('settings-non-profiled', 'non_profiled', 'Feed without profiling', 'For You shows what is popular in your region and fresh uploads, not what it learnt about you.'),
    h('p', {}, reset),
    h('h2', {}, 'Your data'),
    h('p', {}, h('a', { href: '/privacy' }, 'Privacy centre'), ': download your data, see who accessed it, or delete your account.'),
    h('h2', {}, 'Password'), passwordForm(),
    h('h2', {}, 'Session'),
    h('p', {}, h('button', { type: 'button', class: 'button', onclick: () => logOut(ctx) }, 'Log out'))));
}

// A new password asks for the current one; every other session of the
// account ends, this one stays (PUT /v1/me/password).
function passwordForm() {
  const current = h('input', { class: 'input', id: 'password-current', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { class: 'input', id: 'password-new', type: 'password', autocomplete: 'new-password', minlength: '8', maxlength: '128', required: true, 'aria-describedby': 'password-new-help' });
  const message = h('p', { role: 'status' });
  const form = h('form', { class: 'form', 'aria-label': 'Change password' },
    h('div', { class: 'field' }, h('label', { for: 'password-current' }, 'Current password'), current),
    h('div', { class: 'field' }, h('label', { for: 'password-new' }, 'New password'), next,
      h('p', { class: 'hint', id: 'password-new-help' }, '8 to 128 characters. Your other devices are signed out.')),
    h('button', { type: 'submit', class: 'button primary' }, 'Change password'), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    try {
      await api('/v1/me/password', { method: 'PUT', body: { current_password: current.value, new_password: next.value }, fixedPath: true });
      form.reset();
      message.textContent = 'Password changed. Your other sessions were signed out.';
    } catch (err) {
      message.textContent = describe(err);
    }
  });
  return form;
}

// Requests to follow a private account wait here for the owner's answer.
function followRequests() {
  const list = h('ul', { class: 'people', 'aria-label': 'Follow requests' });
  const status = h('p', { class: 'muted', role: 'status' });
  const section = h('section', { 'aria-labelledby': 'requests-title' }, h('h3', { id: 'requests-title' }, 'Follow requests'), status, list);
  api('/v1/me/follow-requests', { fixedPath: true }).then((answer) => {
    const items = answer?.items || [];
    status.textContent = items.length ? '' : 'No one is waiting for your approval.';
    for (const user of items) {
      const row = h('li', { class: 'person' }, avatar(user, 'sm'), h('a', { href: `/@${encodeURIComponent(user.handle)}` }, `@${user.handle}`));
      const answerWith = (method, done) => async () => {
        try {
          await api(`/v1/me/follow-requests/${encodeURIComponent(user.handle)}`, { method });
          row.replaceChildren(`@${user.handle}: ${done}`);
        } catch (err) {
          toast(describe(err), { tone: 'error' });
        }
      };
      row.append(
        h('button', { type: 'button', class: 'button primary', 'aria-label': `Approve @${user.handle}`, onclick: answerWith('PUT', 'approved') }, 'Approve'),
        h('button', { type: 'button', class: 'button', 'aria-label': `Decline @${user.handle}`, onclick: answerWith('DELETE', 'declined') }, 'Decline'));
      list.append(row);
    }
  }).catch((err) => {
    status.replaceWith(failure(describe(err), err));
  });
  return section;
}
