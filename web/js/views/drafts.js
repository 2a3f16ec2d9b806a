// My drafts: uploads saved without publishing. Only I see them; each can be
// watched, have its caption changed, be published, or be deleted.

import { api, describe } from '../api.js';
import { h, toast } from '../dom.js';

export async function render(root, _params, ctx) {
  if (!ctx.requireLogin()) return;
  const list = h('ul', { class: 'drafts', 'aria-label': 'Your drafts' });
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Load more');
  root.append(h('section', { class: 'page narrow' },
    h('h1', {}, 'Drafts'),
    h('p', { class: 'hint' }, 'Only you see your drafts. They are kept in your home region, their captions sealed with your data key, until you publish them.'),
    list, status, more));

  const empty = () => {
    status.textContent = list.children.length ? '' : 'No drafts. Choose "Save as draft" when you upload.';
  };
  let cursor = null;
  async function next() {
    more.disabled = true;
    try {
      const page = await api(`/v1/me/drafts${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
      list.append(...(page?.items || []).map((v) => draftRow(v, empty)));
      cursor = page?.next_cursor || null;
      more.hidden = !cursor;
      empty();
    } catch (err) {
      status.textContent = describe(err);
      status.className = 'error';
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', next);
  await next();
}

function draftRow(video, onGone) {
  const id = `draft-caption-${video.id}`;
  const caption = h('textarea', { class: 'input', id, rows: '2', maxlength: '2200' });
  caption.value = video.caption || '';
  const state = h('p', { class: 'muted' }, video.state === 'ready' ? '' : video.state === 'failed' ? 'Processing failed.' : 'Still processing…');
  const label = video.caption ? `“${video.caption.slice(0, 40)}”` : 'untitled draft';
  const save = h('button', { type: 'button', class: 'button', 'aria-label': `Save caption of ${label}` }, 'Save caption');
  const publish = h('button', { type: 'button', class: 'button primary', 'aria-label': `Publish ${label}` }, 'Publish');
  const remove = h('button', { type: 'button', class: 'button danger-outline', 'aria-label': `Delete ${label}` }, 'Delete');
  const row = h('li', { class: 'draft' },
    h('div', { class: 'field' }, h('label', { for: id }, 'Caption'), caption),
    h('p', { class: 'muted' }, { public: 'Public when published', followers: 'Followers only', private: 'Private' }[video.visibility] || '', ' · ',
      h('a', { href: `/v/${encodeURIComponent(video.id)}` }, 'Watch')),
    state,
    h('p', { class: 'actions' }, save, publish, remove));
  save.addEventListener('click', async () => {
    try {
      await api(`/v1/videos/${encodeURIComponent(video.id)}`, { method: 'PATCH', body: { caption: caption.value } });
      toast('Caption saved.');
    } catch (err) {
      toast(describe(err), { tone: 'error' });
    }
  });
  publish.addEventListener('click', async () => {
    publish.disabled = true;
    try {
      if (caption.value !== (video.caption || '')) {
        await api(`/v1/videos/${encodeURIComponent(video.id)}`, { method: 'PATCH', body: { caption: caption.value } });
      }
      const published = await api(`/v1/videos/${encodeURIComponent(video.id)}/publish`, { method: 'POST' });
      row.remove();
      onGone();
      toast(h('span', {}, 'Published. ', h('a', { href: `/v/${encodeURIComponent(published.id)}` }, 'Watch it')));
    } catch (err) {
      toast(describe(err), { tone: 'error' });
    } finally {
      publish.disabled = false;
    }
  });
  remove.addEventListener('click', async () => {
    if (!window.confirm('Delete this draft? It cannot be recovered.')) return;
    try {
      await api(`/v1/videos/${encodeURIComponent(video.id)}`, { method: 'DELETE' });
      row.remove();
      onGone();
      toast('Draft deleted.');
    } catch (err) {
      toast(describe(err), { tone: 'error' });
    }
  });
  return row;
}
