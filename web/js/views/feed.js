// Home: the For You and Following feeds.

import { api } from '../api.js';
import { h } from '../dom.js';
import { createPlayer } from '../player.js';

export async function render(root, { tab }, ctx) {
  const tabs = h('nav', { class: 'feed-tabs', 'aria-label': 'Feeds' },
    h('a', { href: '/following', 'aria-current': tab === 'following' ? 'page' : null }, 'Following'),
    h('a', { href: '/', 'aria-current': tab === 'for-you' ? 'page' : null }, 'For You'));
  root.append(tabs);

  const signedOut = !ctx.session.me;
  const prompt = () => h('section', { class: 'page feed-signed-out' },
    h('h1', {}, tab === 'following' ? 'Following' : 'For You'),
    h('p', {}, tab === 'following'
      ? 'Log in to see new videos from the accounts you follow.'
      : 'Log in or sign up to get a feed of short videos, ranked inside your home region by a release its custodian approved.'),
    h('p', { class: 'actions' },
      h('a', { class: 'button primary', href: `/login?next=${encodeURIComponent(location.pathname)}` }, 'Log in'),
      h('a', { class: 'button', href: '/signup' }, 'Sign up'),
      h('a', { class: 'button', href: '/search' }, 'Search videos')));
  if (signedOut && tab === 'following') {
    root.append(prompt());
    return null;
  }
  if (signedOut) {
    // Visitors watch what is popular; the banner says what an account adds.
    root.append(h('p', { class: 'visitor-banner' },
      'Log in or sign up to like, comment, and get a feed that learns what you enjoy. ',
      h('a', { href: `/login?next=${encodeURIComponent(location.pathname)}` }, 'Log in'), ' · ',
      h('a', { href: '/signup' }, 'Sign up')));
  }

  const caughtUp = () => h('span', {}, 'You are all caught up: nothing new For You right now. ', h('a', { href: '/search' }, 'Search creators and hashtags'), ', ', h('a', { href: '/upload' }, 'upload a video'), ', or come back soon.');
  // An empty For You means the viewer has seen everything (a visitor would
  // still get videos), or that nothing public exists yet: a fresh install,
  // which then says how videos get here.
  const forYouEmpty = async () => {
    if (!signedOut) {
      try {
        const visitor = await api('/v1/feed/for-you?limit=1', { fixedPath: true, auth: false, anonymous: true });
        if ((visitor?.items || []).length) return caughtUp();
      } catch {
        return caughtUp();
      }
    }
    return firstRun(signedOut);
  };
  const empty = tab === 'following'
    ? h('span', {}, 'No new videos from people you follow. ', h('a', { href: '/search' }, 'Find creators to follow'), '.')
    : forYouEmpty;
  const release = h('p', { class: 'release-note muted' });
  const player = createPlayer(root, {
    label: tab === 'following' ? 'Following feed' : 'For You feed',
    empty,
    ctx,
    loadPage: async (cursor) => {
      let page;
      try {
        page = await api(`/v1/feed/${tab}${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, { fixedPath: true, auth: !signedOut });
      } catch (err) {
        // A server that shows no feed to visitors asks them to log in instead.
        if (signedOut && err.status === 401) {
          root.replaceChildren(tabs, prompt());
          return { items: [], next_cursor: null };
        }
        throw err;
      }
      if (page?.release) {
        const id = typeof page.release === 'string' ? page.release : page.release.id || '';
        // In words: which algorithm ranked this, and where that is explained.
        release.replaceChildren('Recommended by the approved algorithm, release ', h('code', {}, id), '. ',
          h('a', { href: '/transparency' }, 'What this means'));
      }
      return page;
    },
  });
  root.append(release);
  player.feed.focus({ preventScroll: true });
  return () => player.destroy();
}

// Inside the feed's status line, so phrasing content only.
function firstRun(signedOut) {
  return h('span', { class: 'first-run' },
    h('strong', { class: 'first-run-title' }, 'No videos here yet'),
    h('span', {}, 'Nobody has posted a public video on this Sovereel so far. Post the first one and it shows here for everyone.'),
    h('span', { class: 'actions' },
      signedOut
        ? [h('a', { class: 'button primary', href: '/signup?next=%2Fupload' }, 'Sign up to post a video'), h('a', { class: 'button', href: '/login?next=%2Fupload' }, 'Log in')]
        : h('a', { class: 'button primary', href: '/upload' }, 'Upload a video')),
    h('span', { class: 'muted small' }, 'Trying Sovereel out on your own machine? ', h('code', {}, 'sovereel demo'), ' starts a platform with creators, clips and activity in every region.'));
}
