// A hashtag page: every public video tagged with it.

import { api } from '../api.js';
import { h, plural } from '../dom.js';
import { videoGrid } from '../grid.js';

export async function render(root, { tag }) {
  const clean = tag.replace(/^#/, '').toLowerCase();
  const heading = h('h1', {}, `#${clean}`);
  const summary = h('p', { class: 'muted' });
  const page = h('section', { class: 'page' }, heading, summary);
  root.append(page);
  videoGrid(page, {
    label: `Videos tagged #${clean}`,
    empty: `No videos tagged #${clean} yet.`,
    load: async (cursor) => {
      const answer = await api(`/v1/hashtags/${encodeURIComponent(clean)}${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
      const count = answer?.count ?? answer?.videos ?? answer?.hashtag?.count;
      if (count !== undefined && typeof count === 'number') summary.textContent = plural(count, 'video');
      return answer;
    },
  });
}
