// A grid of video thumbnails, paged with a "Load more" button.

import { api, describe } from './api.js';
import { formatCount, h } from './dom.js';

export function videoTile(video) {
  const label = `Video by @${video.author?.handle || 'unknown'}${video.caption ? `: ${video.caption}` : ''}`;
  const ready = !video.state || video.state === 'ready';
  const placeholder = () => h('span', { class: 'tile-placeholder' }, ready ? '▶' : video.state === 'failed' ? 'Failed' : 'Processing…');
  // A poster that will not load leaves the plain tile, not a broken image.
  const poster = ready && video.poster_url ? h('img', { src: video.poster_url, alt: '', loading: 'lazy' }) : null;
  poster?.addEventListener('error', () => poster.replaceWith(placeholder()), { once: true });
  return h('li', { class: 'tile' },
    h('a', { href: `/v/${encodeURIComponent(video.id)}`, 'aria-label': label },
      poster || placeholder(),
      h('span', { class: 'tile-views' }, h('span', { 'aria-hidden': 'true' }, '▷ '), formatCount(video.counts?.views))));
}

/** Appends a paged grid to `parent`; `load(cursor)` returns {items: [video], next_cursor}. */
export function videoGrid(parent, { label, load, empty = 'No videos yet.' }) {
  const list = h('ul', { class: 'grid', 'aria-label': label });
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Load more');
  let cursor = null;
  async function next() {
    more.disabled = true;
    try {
      const page = await load(cursor);
      const items = (page?.items || []).map((x) => x.video || x).filter((v) => v?.id);
      list.append(...items.map(videoTile));
      cursor = page?.next_cursor || null;
      more.hidden = !cursor;
      status.textContent = list.children.length ? '' : empty;
    } catch (err) {
      status.textContent = describe(err);
      status.className = 'error';
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', next);
  parent.append(list, status, more);
  next();
  return list;
}

export const pageOf = (path) => (cursor) => api(cursor ? `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}` : path);
