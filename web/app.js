// Sovereel's browser client: a router over History paths, the session, and the
// page-wide safety nets (offline banner, expired sessions, uncaught errors).
// Each screen is an ES module loaded when first visited, so the first page
// stays small.

import { api, ApiError, describe, setUnauthorizedHandler } from './js/api.js';
import { clear, h, toast } from './js/dom.js';
import { flushEvents, setEventsEnabled } from './js/events.js';
import { hydrateIcons } from './js/icons.js';

const routes = [
  [/^\/$/, 'feed', { tab: 'for-you' }],
  [/^\/following$/, 'feed', { tab: 'following' }],
  [/^\/v\/([^/]+)$/, 'video', {}, ['id']],
  [/^\/upload$/, 'upload'],
  [/^\/drafts$/, 'drafts'],
  [/^\/search$/, 'search'],
  [/^\/tag\/([^/]+)$/, 'hashtag', {}, ['tag']],
  [/^\/@([^/]+)$/, 'profile', {}, ['handle']],
  [/^\/login$/, 'auth', { mode: 'login' }],
  [/^\/signup$/, 'auth', { mode: 'signup' }],
  [/^\/settings$/, 'settings'],
  [/^\/privacy$/, 'privacy'],
  [/^\/decisions$/, 'decisions'],
  [/^\/inbox$/, 'inbox'],
  [/^\/transparency$/, 'transparency'],
  [/^\/staff$/, 'staff'],
];

export const session = {
  me: null,
  async refresh() {
    // The server sets a readable hint cookie beside the (HttpOnly) session
    // cookie: without it nobody is signed in here, and asking /v1/me would
    // only earn a 401.
    if (!/(?:^|;\s*)sovereel_signed_in=1(?:;|$)/.test(document.cookie)) {
      this.me = null;
      renderNav();
      return null;
    }
    try {
      this.me = await api('/v1/me', { auth: false });
    } catch (err) {
      this.me = null;
      // The session ended (expired, or signed out elsewhere): drop the hint.
      if (err instanceof ApiError && err.kind === 'unauthorized') document.cookie = 'sovereel_signed_in=; Max-Age=0; Path=/; SameSite=Lax';
      renderNav();
      if (!(err instanceof ApiError) || (err.kind !== 'unauthorized' && err.kind !== 'unavailable')) throw err;
    }
    renderNav();
    return this.me;
  },
  clear() {
    this.me = null;
    // The server clears the hint on log-out; an expired session leaves it.
    document.cookie = 'sovereel_signed_in=; Max-Age=0; Path=/; SameSite=Lax';
    renderNav();
  },
};

const main = () => document.getElementById('main');
let cleanup = null;
let renderToken = 0;

// What the screen on show asks its history entry to remember (the feed: the
// videos it loaded and where the viewer was), so that Back returns there.
let keeper = null;
function keepScreenState() {
  if (!keeper) return;
  try {
    history.replaceState({ ...(history.state || {}), screen: keeper() }, '');
  } catch {
    // Too large to keep, or the browser throttles: Back then starts afresh.
  }
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else {
    keepScreenState();
    history.pushState(null, '', path);
  }
  render();
}

// A screen that needs a session sends the visitor to log in and back again.
export function requireLogin() {
  if (session.me) return true;
  const next = location.pathname + location.search;
  navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
  return false;
}

function match(pathname) {
  for (const [pattern, module, params = {}, names = []] of routes) {
    const m = pattern.exec(pathname);
    if (m) {
      const found = { ...params };
      names.forEach((name, i) => (found[name] = decodeURIComponent(m[i + 1])));
      return { module, params: found };
    }
  }
  return null;
}

// `restoring`: the viewer came back to this history entry (Back or Forward),
// so the screen may pick up what it kept there.
async function render({ restoring = false } = {}) {
  const token = ++renderToken;
  keeper = null;
  if (cleanup) {
    try {
      cleanup();
    } catch {
      // A screen that fails to tidy up must not stop the next one.
    }
    cleanup = null;
  }
  flushEvents();
  const root = main();
  const route = match(location.pathname);
  markNav(route?.module);
  if (!route) {
    document.title = 'Page not found · Sovereel';
    clear(root, notFound());
    return;
  }
  document.body.dataset.view = route.module;
  document.title = `${titleFor(route)} · Sovereel`;
  try {
    let view;
    try {
      view = await import(`./js/views/${route.module}.js`);
    } catch {
      throw new Error("Can't load this screen. Check your connection and try again.");
    }
    if (token !== renderToken) return;
    clear(root);
    const kept = restoring ? history.state?.screen ?? null : null;
    const keep = (fn) => {
      if (token === renderToken) keeper = fn;
    };
    const done = await view.render(root, route.params, { session, navigate, requireLogin, kept, keep, saveState: () => token === renderToken && keepScreenState() });
    if (token === renderToken) cleanup = typeof done === 'function' ? done : null;
    else if (typeof done === 'function') done();
    // After a client-side navigation, a screen reader starts at the new content.
    if (token === renderToken && !root.contains(document.activeElement)) root.focus({ preventScroll: true });
  } catch (err) {
    if (token !== renderToken) return;
    const message = err instanceof ApiError ? describe(err) : err?.message || 'Something went wrong.';
    clear(root, h('section', { class: 'page' }, h('p', { class: 'error', role: 'alert' }, message),
      h('button', { type: 'button', class: 'button', onclick: () => render() }, 'Try again')));
  }
}

function titleFor({ module, params }) {
  switch (module) {
    case 'feed': return params.tab === 'following' ? 'Following' : 'For You';
    case 'profile': return `@${params.handle}`;
    case 'hashtag': return `#${params.tag}`;
    case 'auth': return params.mode === 'signup' ? 'Sign up' : 'Log in';
    case 'privacy': return 'Privacy centre';
    case 'decisions': return 'Decisions about my content';
    default: return module.charAt(0).toUpperCase() + module.slice(1);
  }
}

function notFound() {
  return h('section', { class: 'page' },
    h('h1', {}, 'Page not found'),
    h('p', {}, 'There is nothing at this address. '),
    h('a', { href: '/' }, 'Back to the feed'));
}

function renderNav() {
  const link = document.getElementById('nav-me');
  if (!link) return;
  const label = link.querySelector('.lbl');
  if (session.me) {
    link.href = `/@${encodeURIComponent(session.me.handle)}`;
    label.textContent = 'Profile';
  } else {
    link.href = '/login';
    label.textContent = 'Log in';
  }
  document.body.classList.toggle('signed-in', Boolean(session.me));
  for (const el of document.querySelectorAll('.signed-in-only')) el.hidden = !session.me;
  setEventsEnabled(Boolean(session.me));
  watchInbox(Boolean(session.me));
}

// The bell's badge: the unread count, polled while a session is open and the
// page is visible (every 30 s, and at once when the page comes back), and set
// directly by the inbox screen when it marks lines read. Polling rather than a
// stream: one small GET against the caller's home region, which every edge
// can forward as it forwards anything else (docs/ARCHITECTURE.md).
const INBOX_POLL_MS = 30_000;
let inboxTimer = null;
let inboxWatched = false;

export function setUnread(n) {
  const badge = document.getElementById('inbox-badge');
  const link = document.getElementById('nav-inbox');
  if (!badge || !link) return;
  const count = Math.max(0, Number(n) || 0);
  badge.hidden = count === 0;
  badge.textContent = count > 99 ? '99+' : String(count);
  link.setAttribute('aria-label', count ? `Inbox, ${count} unread` : 'Inbox');
}

async function pollUnread() {
  if (!session.me || document.hidden) return;
  try {
    const answer = await api('/v1/me/notifications/unread', { fixedPath: true });
    setUnread(answer?.unread);
  } catch {
    // Offline or signed out: the next poll tries again.
  }
}

function watchInbox(on) {
  if (!on) {
    clearInterval(inboxTimer);
    inboxTimer = null;
    setUnread(0);
    return;
  }
  if (!inboxWatched) {
    inboxWatched = true;
    document.addEventListener('visibilitychange', () => { if (!document.hidden) pollUnread(); });
  }
  if (!inboxTimer) inboxTimer = setInterval(pollUnread, INBOX_POLL_MS);
  pollUnread();
}

function markNav(module) {
  const current = { feed: 'feed', video: 'feed', search: 'search', hashtag: 'search', upload: 'upload', inbox: 'inbox', transparency: 'transparency', profile: 'me', auth: 'me', settings: 'me', privacy: 'me' }[module];
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function interceptLinks(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || /^\/(v1|log|problems|openapi\.json|healthz|metrics)(\/|$)/.test(url.pathname)) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search + url.hash);
}

function watchConnection() {
  const banner = document.getElementById('offline');
  const update = () => (banner.hidden = navigator.onLine);
  window.addEventListener('online', update);
  window.addEventListener('offline', update);
  update();
}

// Last line of defence: an error nobody caught becomes a message, not a blank screen.
function catchStrays() {
  window.addEventListener('unhandledrejection', (event) => {
    event.preventDefault();
    toast(describe(event.reason), { tone: 'error' });
  });
  window.addEventListener('error', (event) => {
    if (event.error) {
      event.preventDefault();
      toast(describe(event.error), { tone: 'error' });
    }
  });
}

async function start() {
  catchStrays();
  hydrateIcons();
  watchConnection();
  setUnauthorizedHandler(() => {
    if (!session.me) return;
    session.clear();
    toast('Your session has expired. Please log in again.', { tone: 'error' });
    const next = location.pathname + location.search;
    if (location.pathname !== '/login') navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
  });
  document.addEventListener('click', interceptLinks);
  window.addEventListener('popstate', () => render({ restoring: true }));
  window.addEventListener('pagehide', keepScreenState);
  try {
    await session.refresh();
  } catch (err) {
    toast(describe(err), { tone: 'error' });
  }
  // A page reloaded on Back from another site comes back where it was, too.
  await render({ restoring: performance.getEntriesByType?.('navigation')[0]?.type === 'back_forward' });
}

start();
