// One video on its own page: where shared links land.

import { api } from '../api.js';
import { h } from '../dom.js';
import { createPlayer } from '../player.js';

export async function render(root, { id }, ctx) {
  let served = false;
  const player = createPlayer(root, {
    label: 'Video',
    empty: h('span', {}, 'This video is not available. ', h('a', { href: '/' }, 'Back to the feed'), '.'),
    ctx,
    loadPage: async () => {
      if (served) return { items: [], next_cursor: null };
      served = true;
      const video = await api(`/v1/videos/${encodeURIComponent(id)}`);
      return { items: [{ video }], next_cursor: null };
    },
  });
  player.feed.classList.add('single');
  return () => player.destroy();
}
