// Search across users, hashtags and captions.

import { api, describe } from '../api.js';
import { avatar, failure, h, plural } from '../dom.js';
import { videoTile } from '../grid.js';

export async function render(root, _params, ctx) {
  const q = new URLSearchParams(location.search).get('q') || '';
  const input = h('input', { class: 'input', type: 'search', id: 'search-q', name: 'q', value: q, placeholder: 'Search people, #hashtags and captions', autocomplete: 'off' });
  const form = h('form', { class: 'search-form', role: 'search' },
    h('label', { for: 'search-q', class: 'sr-only' }, 'Search'), input,
    h('button', { type: 'submit', class: 'button primary' }, 'Search'));
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  root.append(h('section', { class: 'page' }, h('h1', {}, 'Search'), form, results));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    if (/^#[\p{L}\p{N}_]+$/u.test(value)) ctx.navigate(`/tag/${encodeURIComponent(value.slice(1).toLowerCase())}`);
    else ctx.navigate(`/search?q=${encodeURIComponent(value)}`);
  });
  if (!q) {
    results.append(h('p', { class: 'muted' }, 'Try a #hashtag or a handle.'));
    input.focus();
    return;
  }
  results.append(h('p', { class: 'muted', role: 'status' }, 'Searching…'));
  try {
    const answer = await api(`/v1/search?q=${encodeURIComponent(q)}`, { fixedPath: true });
    const { users, hashtags, videos } = sortResults(answer);
    results.replaceChildren();
    if (!users.length && !hashtags.length && !videos.length) {
      results.append(h('p', {}, `Nothing matches “${q}”.`));
      return;
    }
    if (users.length) {
      results.append(h('h2', {}, 'People'), h('ul', { class: 'people' }, users.map((u) =>
        h('li', {}, h('a', { href: `/@${encodeURIComponent(u.handle)}`, class: 'person' }, avatar(u, 'md'),
          h('span', {}, h('strong', {}, u.display_name || u.handle), h('span', { class: 'muted' }, ` @${u.handle}`)),
          u.counts ? h('span', { class: 'muted' }, ` · ${plural(u.counts.followers, 'follower')}`) : null)))));
    }
    if (hashtags.length) {
      results.append(h('h2', {}, 'Hashtags'), h('ul', { class: 'tags' }, hashtags.map((t) =>
        h('li', {}, h('a', { href: `/tag/${encodeURIComponent(t.tag)}`, class: 'hashtag' }, `#${t.tag}`),
          t.count !== undefined ? h('span', { class: 'muted' }, ` ${plural(t.count, 'video')}`) : null))));
    }
    if (videos.length) {
      results.append(h('h2', {}, 'Videos'), h('ul', { class: 'grid', 'aria-label': 'Matching videos' }, videos.map(videoTile)));
    }
  } catch (err) {
    results.replaceChildren(failure(describe(err), err));
  }
}

// Accepts `{users, hashtags, videos}` or `{items: [...]}` whose items say their
// kind (or can be told apart by their fields).
function sortResults(answer) {
  const users = [...(answer?.users || [])];
  const hashtags = (answer?.hashtags || []).map(normalTag);
  const videos = [...(answer?.videos || [])];
  for (const item of answer?.items || []) {
    const kind = item.kind || item.type;
    if (kind === 'user' || (!kind && item.handle)) users.push(item.user || item);
    else if (kind === 'hashtag' || (!kind && (item.tag || item.hashtag))) hashtags.push(normalTag(item.hashtag || item));
    else if (kind === 'video' || item.video || item.stream_url) videos.push(item.video || item);
  }
  return { users, hashtags: hashtags.filter((t) => t.tag), videos: videos.filter((v) => v?.id) };
}

function normalTag(t) {
  if (typeof t === 'string') return { tag: t.replace(/^#/, '') };
  return { tag: String(t.tag || t.name || '').replace(/^#/, ''), count: t.count ?? t.videos };
}
