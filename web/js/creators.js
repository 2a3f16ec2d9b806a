// What a creator and a viewer change about their own corner: editing a
// posted video, more or less of a hashtag, and the lists of who follows whom.
// The player's menu and the profile page call these; each talks to the API
// through api.js and says in a toast what happened.

import { api, describe } from './api.js';
import { avatar, h, toast } from './dom.js';
import { openDialog } from './dialog.js';

const VISIBILITY = [['public', 'Public: anyone can watch'], ['followers', 'Followers only'], ['private', 'Private: only me']];
const COMMENTS = [['everyone', 'Everyone'], ['followers', 'Followers'], ['nobody', 'Nobody']];

function select(id, options, value) {
  const el = h('select', { class: 'input', id }, ...options.map(([v, label]) => h('option', { value: v }, label)));
  el.value = value;
  return el;
}

/** A dialog to change a video's caption, visibility and who may comment. */
export function editVideo(video, onSaved) {
  const caption = h('textarea', { class: 'input', id: 'edit-caption', rows: '3', maxlength: '2200' });
  caption.value = video.caption || '';
  const visibility = select('edit-visibility', VISIBILITY, video.visibility || 'public');
  const comments = select('edit-comments', COMMENTS, video.comments || 'everyone');
  const message = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'form', 'aria-label': 'Edit video' },
    h('div', { class: 'field' }, h('label', { for: 'edit-caption' }, 'Caption'), caption),
    h('div', { class: 'field' }, h('label', { for: 'edit-visibility' }, 'Who can watch'), visibility),
    h('div', { class: 'field' }, h('label', { for: 'edit-comments' }, 'Who can comment'), comments),
    h('button', { type: 'submit', class: 'button primary' }, 'Save changes'), message);
  const dialog = openDialog({ title: 'Edit video', body: form });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    try {
      const updated = await api(`/v1/videos/${encodeURIComponent(video.id)}`, {
        method: 'PATCH',
        body: { caption: caption.value, visibility: visibility.value, comments: comments.value },
      });
      dialog.close();
      toast('Your changes are saved.');
      onSaved?.(updated);
    } catch (err) {
      message.textContent = describe(err);
    }
  });
}

/** "More of #tag" or "Less of #tag": a topic preference for For You. */
export async function preferTopic(tag, preference) {
  try {
    await api(`/v1/me/topics/${encodeURIComponent(tag)}`, { method: 'PUT', body: { preference } });
    toast(preference === 'more' ? `You will see more of #${tag}.` : `You will see less of #${tag}.`);
  } catch (err) {
    toast(describe(err), { tone: 'error' });
  }
}

/** A dialog listing an account's followers or whom it follows, page by page. */
export function followList(handle, which) {
  const title = which === 'followers' ? `Followers of @${handle}` : `Accounts @${handle} follows`;
  const list = h('ul', { class: 'people', 'aria-label': title });
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Load more');
  const dialog = openDialog({ title, body: h('div', {}, list, status, more) });
  // Following a link to a profile leaves the list behind.
  list.addEventListener('click', (event) => {
    if (event.target.closest('a')) dialog.close();
  });
  let cursor = null;
  async function next() {
    more.disabled = true;
    try {
      const path = `/v1/users/${encodeURIComponent(handle)}/${which}${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await api(path);
      for (const user of page?.items || []) {
        list.append(h('li', { class: 'person' }, avatar(user, 'sm'),
          h('a', { href: `/@${encodeURIComponent(user.handle)}` }, user.display_name ? `${user.display_name} (@${user.handle})` : `@${user.handle}`)));
      }
      cursor = page?.next_cursor || null;
      more.hidden = !cursor;
      status.textContent = list.children.length ? '' : which === 'followers' ? 'No followers yet.' : 'Not following anyone yet.';
    } catch (err) {
      status.textContent = describe(err);
      status.className = 'error';
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', next);
  next();
}
