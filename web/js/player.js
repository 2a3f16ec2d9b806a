// The vertical player: one video per screen, snapping on swipe, arrow keys and
// the wheel. It plays only the slide in view (muted until the viewer taps),
// loads the next one ahead, and reports impressions, views and skips.

import { api, ApiError, describe } from './api.js';
import { avatar, formatCount, h, richCaption, toast } from './dom.js';
import { openDialog } from './dialog.js';
import { flushEvents, track } from './events.js';
import { icon } from './icons.js';
import { openShortcutHelp, playerControls } from './controls.js';
import { editVideo, preferTopic } from './creators.js';

let muted = true;
const followCache = new Map();

/**
 * @param {HTMLElement} root where the player goes
 * @param {object} options
 *   label: accessible name of the feed
 *   loadPage(cursor) -> {items: [{video, reason, source}], next_cursor}
 *   empty: node shown when there is nothing to play, or an async function making it
 *   ctx: the app context (session, navigate; `kept` and `keep` carry the
 *     player's place in the history entry, so Back returns to the same video)
 */
export function createPlayer(root, { label, loadPage, empty, ctx }) {
  const feed = h('section', { class: 'feed', 'aria-label': label, tabindex: '0' });
  const status = h('p', { class: 'feed-status', role: 'status' }, 'Loading videos…');
  feed.append(status);
  root.append(feed);

  const slides = [];
  let cursor = null;
  let exhausted = false;
  let loading = false;
  let active = -1;
  let wheelLock = false;

  async function loadMore() {
    if (loading || exhausted) return;
    loading = true;
    try {
      const page = await loadPage(cursor);
      const items = (page?.items || []).filter((item) => item?.video?.id);
      cursor = page?.next_cursor || null;
      if (!cursor) exhausted = true;
      for (const item of items) {
        if (slides.some((s) => s.video.id === item.video.id)) continue;
        addSlide(item);
      }
      if (slides.length === 0) status.replaceChildren((typeof empty === 'function' ? await empty() : empty) || 'No videos yet.');
      else status.remove();
    } catch (err) {
      exhausted = slides.length > 0 ? exhausted : true;
      const message = h('p', { class: 'error', role: 'alert' }, describe(err));
      const retry = h('button', { type: 'button', class: 'button', onclick: () => { exhausted = false; status.replaceChildren('Loading videos…'); loadMore(); } }, 'Try again');
      if (slides.length === 0) status.replaceChildren(message, retry);
      else toast(describe(err), { tone: 'error' });
    } finally {
      loading = false;
    }
  }

  function addSlide(item) {
    const slide = buildSlide(item, slides.length, ctx, {
      onNotInterested: () => {
        track('not_interested', item.video.id);
        flushEvents();
        toast("Got it: you'll see fewer videos like this.");
        go(slides.indexOf(slide) + 1);
      },
    });
    slides.push(slide);
    slide.el.inert = slides.length - 1 !== active;
    feed.insertBefore(slide.el, status.isConnected ? status : null);
    observer.observe(slide.el);
  }

  function activate(index, { at } = {}) {
    if (index === active || index < 0 || index >= slides.length) return;
    if (active >= 0 && slides[active]) slides[active].leave();
    active = index;
    slides.forEach((slide, i) => {
      const distance = i - index;
      // Only the video on screen takes focus and clicks, so Tab stays on it.
      slide.el.inert = distance !== 0;
      if (distance === 0) slide.enter({ at });
      else if (distance === 1 || distance === -1) slide.preload();
      else if (Math.abs(distance) > 3) slide.unload();
    });
    if (index >= slides.length - 3) loadMore();
    ctx.saveState?.();
  }

  // What the history entry keeps: the videos as shown, the place in them, and
  // the moment of the video on screen.
  function snapshot() {
    return {
      kind: 'player',
      label,
      items: slides.map((s) => s.item()),
      cursor,
      exhausted,
      active,
      at: slides[active]?.currentTime(),
      scrollTop: feed.scrollTop,
      height: feed.clientHeight,
    };
  }

  // Back to this entry: the same videos, the same one on screen, the same moment.
  function restore(kept) {
    cursor = kept.cursor ?? null;
    exhausted = Boolean(kept.exhausted) || !cursor;
    for (const item of kept.items) {
      if (item?.video?.id && !slides.some((s) => s.video.id === item.video.id)) addSlide(item);
    }
    if (slides.length === 0) return false;
    status.remove();
    const index = Math.min(Math.max(0, Number(kept.active) || 0), slides.length - 1);
    // The same scroll offset in the same window; else the same video at the top.
    if (kept.height === feed.clientHeight && Number.isFinite(kept.scrollTop)) feed.scrollTop = kept.scrollTop;
    else slides[index].el.scrollIntoView({ block: 'start', behavior: 'instant' });
    activate(index, { at: Number(kept.at) || 0 });
    return true;
  }

  function go(index) {
    if (index < 0) return;
    if (index >= slides.length) {
      loadMore();
      return;
    }
    const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    slides[index].el.scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block: 'start' });
    activate(index);
  }

  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting && entry.intersectionRatio >= 0.6) {
        activate(slides.findIndex((s) => s.el === entry.target));
      }
    }
  }, { root: feed, threshold: [0.6] });

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || document.querySelector('dialog[open]')) return;
    const target = event.target;
    // Typing is typing; the seek slider handles its own arrows.
    if (target.closest('textarea, select, [contenteditable], input:not([type="range"])')) return;
    const slide = slides[active];
    // The shortcuts of video players people know (YouTube's), listed in the help dialog.
    const seconds = { j: -10, l: 10, ArrowLeft: -5, ArrowRight: 5 }[event.key];
    if (seconds && slide) {
      event.preventDefault();
      slide.seekBy(seconds);
      return;
    }
    if (/^[0-9]$/.test(event.key) && slide) {
      slide.seekToFraction(Number(event.key) / 10);
      return;
    }
    switch (event.key) {
      case 'ArrowDown':
      case 'PageDown':
        event.preventDefault();
        go(active + 1);
        break;
      case 'ArrowUp':
      case 'PageUp':
        event.preventDefault();
        go(active - 1);
        break;
      case 'm':
        slide?.toggleMute();
        break;
      case ' ':
      case 'k':
        if (event.key === ' ' && target.closest('button, a')) return;
        event.preventDefault();
        slide?.togglePlay();
        break;
      case 'f':
        slide?.toggleFullscreen();
        break;
      case 'c':
        if (slide && !slide.toggleCaptions()) toast('This video has no captions.');
        break;
      case '<':
      case '>':
        slide?.stepSpeed(event.key === '>' ? 1 : -1);
        break;
      case '?':
        event.preventDefault();
        openShortcutHelp();
        break;
      default:
    }
  }

  // One wheel gesture moves one video, however far a trackpad flings.
  function onWheel(event) {
    if (Math.abs(event.deltaY) < 20) return;
    event.preventDefault();
    if (wheelLock) return;
    wheelLock = true;
    go(active + (event.deltaY > 0 ? 1 : -1));
    setTimeout(() => (wheelLock = false), 600);
  }

  // Leaving the page counts as leaving the video on screen.
  function onPageHide() {
    if (active >= 0 && slides[active]) slides[active].leave();
    flushEvents();
  }

  document.addEventListener('keydown', onKey);
  window.addEventListener('pagehide', onPageHide);
  feed.addEventListener('wheel', onWheel, { passive: false });
  ctx.keep?.(snapshot);
  const kept = ctx.kept;
  if (!(kept?.kind === 'player' && kept.label === label && Array.isArray(kept.items) && restore(kept))) loadMore();

  return {
    feed,
    next: () => go(active + 1),
    destroy() {
      document.removeEventListener('keydown', onKey);
      window.removeEventListener('pagehide', onPageHide);
      observer.disconnect();
      if (active >= 0 && slides[active]) slides[active].leave();
      slides.forEach((s) => s.unload());
      flushEvents();
    },
  };
}

function buildSlide(item, index, ctx, { onNotInterested }) {
  const video = { ...item.video };
  const author = video.author || {};
  const handle = author.handle || 'unknown';
  const describeVideo = `Video by @${handle}${video.caption ? `: ${video.caption}` : ''}`;

  const player = h('video', {
    class: 'video',
    playsinline: true,
    muted: true,
    loop: true,
    preload: 'none',
    poster: video.poster_url || null,
    'aria-label': describeVideo,
  });
  player.muted = muted;

  const errorBox = h('div', { class: 'video-error', role: 'alert', hidden: true },
    h('p', {}, 'This video could not be loaded.'),
    h('button', { type: 'button', class: 'button', onclick: () => { errorBox.hidden = true; player.load(); play(); } }, 'Retry'));
  const processing = video.state && video.state !== 'ready'
    ? h('div', { class: 'video-error' }, h('p', {}, video.state === 'failed' ? `This video could not be processed${video.state_reason ? `: ${video.state_reason}` : '.'}` : 'This video is still being processed.'))
    : null;
  const playHint = h('button', { type: 'button', class: 'play-hint', hidden: true, 'aria-label': 'Play', onclick: () => play() }, icon('play', 44));
  const heart = h('div', { class: 'heart-burst', 'aria-hidden': 'true' }, icon('heart', 120));
  const muteButton = h('button', { type: 'button', class: 'icon-button mute', 'aria-label': muted ? 'Unmute' : 'Mute', onclick: () => toggleMute() }, icon(muted ? 'muted' : 'sound'));
  const tapLayer = h('div', { class: 'tap-layer', 'aria-hidden': 'true' });

  // Likes.
  let liked = Boolean(video.liked_by_me);
  const likeCount = h('span', { class: 'count' }, formatCount(video.counts?.likes));
  const likeButton = h('button', { type: 'button', class: 'rail-button like', 'aria-label': 'Like', 'aria-pressed': String(liked) }, icon('heart', 28));
  const commentCount = h('span', { class: 'count' }, formatCount(video.counts?.comments));
  const shareCount = h('span', { class: 'count' }, formatCount(video.counts?.shares));

  function setLiked(value, counts) {
    liked = value;
    video.liked_by_me = value;
    likeButton.setAttribute('aria-pressed', String(liked));
    if (counts?.likes !== undefined) video.counts = { ...video.counts, ...counts };
    likeCount.textContent = formatCount(video.counts?.likes);
  }

  async function like(wanted) {
    if (!ctx.session.me) {
      toast('Log in to like videos.');
      ctx.requireLogin();
      return;
    }
    if (wanted === liked) return;
    const before = { ...video.counts };
    video.counts = { ...video.counts, likes: Math.max(0, (video.counts?.likes || 0) + (wanted ? 1 : -1)) };
    setLiked(wanted);
    try {
      const answer = await api(`/v1/videos/${encodeURIComponent(video.id)}/like`, { method: wanted ? 'PUT' : 'DELETE' });
      if (answer?.counts) {
        // Counters travel between regions asynchronously; never show a like
        // count that ignores the viewer's own like.
        const mine = video.counts.likes;
        const likes = wanted ? Math.max(answer.counts.likes, mine) : Math.min(answer.counts.likes, mine);
        setLiked(wanted, { ...answer.counts, likes });
      }
    } catch (err) {
      video.counts = before;
      setLiked(!wanted);
      toast(describe(err), { tone: 'error' });
    }
  }
  likeButton.addEventListener('click', () => like(!liked));

  // A single tap toggles sound; two quick taps like, as on every short-video app.
  let tapTimer = null;
  tapLayer.addEventListener('click', () => {
    if (tapTimer) {
      clearTimeout(tapTimer);
      tapTimer = null;
      heart.classList.remove('burst');
      void heart.offsetWidth;
      heart.classList.add('burst');
      like(true);
      return;
    }
    tapTimer = setTimeout(() => {
      tapTimer = null;
      if (player.paused) play();
      else toggleMute();
    }, 260);
  });

  const commentsButton = h('button', {
    type: 'button', class: 'rail-button', 'aria-label': 'Comments',
    onclick: async () => {
      const { openComments } = await import('./comments.js');
      openComments(video, ctx, (n) => {
        video.counts = { ...video.counts, comments: n };
        commentCount.textContent = formatCount(n);
      });
    },
  }, icon('comment', 28));

  const shareButton = h('button', { type: 'button', class: 'rail-button', 'aria-label': 'Share', onclick: () => share() }, icon('share', 28));

  // Share: the system's share sheet where the browser has one (phones, most
  // desktops), otherwise the link goes to the clipboard. "Copy link" in the
  // menu always copies. A share is counted once it happened, and only for a
  // signed-in viewer (the server counts shares per user).
  async function share({ sheet = true } = {}) {
    // Labelled content asks before it spreads further ("share anyway?"); the
    // server asks too (409) when the label came after this page loaded.
    let confirmed = false;
    if ((video.labels || []).length) {
      if (!(await shareAnyway((video.labels || []).map(labelText).join('; ')))) return;
      confirmed = true;
    }
    const link = `${location.origin}/v/${encodeURIComponent(video.id)}`;
    if (sheet && typeof navigator.share === 'function') {
      const data = { title: `@${handle} on Sovereel`, text: video.caption || `A video by @${handle}`, url: link };
      if (!navigator.canShare || navigator.canShare(data)) {
        try {
          await navigator.share(data);
          countShare(confirmed);
          return;
        } catch (err) {
          // Closing the sheet is a choice, not an error; any other failure falls back to copying.
          if (err?.name === 'AbortError') return;
        }
      }
    }
    if (await copyLink(link)) countShare(confirmed);
  }

  async function copyLink(link) {
    try {
      await navigator.clipboard.writeText(link);
      toast('Link copied.');
      return true;
    } catch {
      const field = h('input', { type: 'text', readonly: true, value: link, 'aria-label': 'Link to this video', class: 'input' });
      openDialog({ title: 'Share this video', body: [h('p', {}, 'Copy this link:'), field] });
      field.select();
      return false;
    }
  }

  async function countShare(confirmed = false) {
    if (!ctx.session.me) return;
    const path = `/v1/videos/${encodeURIComponent(video.id)}/shares`;
    try {
      let answer;
      try {
        answer = await api(path, { method: 'POST', body: confirmed ? { confirm: true } : {} });
      } catch (err) {
        if (!(err instanceof ApiError) || err.type !== '/problems/share-confirmation-required') throw err;
        if (!(await shareAnyway(err.detail))) return;
        answer = await api(path, { method: 'POST', body: { confirm: true } });
      }
      if (answer?.counts) {
        video.counts = { ...video.counts, ...answer.counts };
        shareCount.textContent = formatCount(video.counts.shares);
      }
    } catch {
      // The link is out; only the counter missed it.
    }
  }

  // Follow the author, from the feed.
  const followButton = h('button', { type: 'button', class: 'follow-chip', 'aria-label': `Follow @${handle}`, 'aria-pressed': 'false', hidden: true }, icon('plus', 16));
  let following = false;
  function setFollowing(value) {
    following = value;
    followButton.setAttribute('aria-pressed', String(value));
    followButton.setAttribute('aria-label', value ? `Unfollow @${handle}` : `Follow @${handle}`);
    followButton.replaceChildren(icon(value ? 'check' : 'plus', 16));
  }
  followButton.addEventListener('click', async () => {
    if (!ctx.requireLogin()) return;
    const wanted = !following;
    setFollowing(wanted);
    try {
      const answer = await api(`/v1/users/${encodeURIComponent(handle)}/follow`, { method: wanted ? 'PUT' : 'DELETE' });
      followCache.set(handle, Promise.resolve(wanted));
      if (!wanted) toast(`You unfollowed @${handle}.`);
      else toast(answer?.state === 'pending' ? `Follow request sent to @${handle}.` : `You follow @${handle}.`);
    } catch (err) {
      setFollowing(!wanted);
      toast(describe(err), { tone: 'error' });
    }
  });
  function loadFollowState() {
    if (!ctx.session.me || ctx.session.me.handle === handle) return;
    if (!followCache.has(handle)) {
      followCache.set(handle, api(`/v1/users/${encodeURIComponent(handle)}`).then((u) => Boolean(u?.followed_by_me) || u?.follow_state === 'pending').catch(() => false));
    }
    followCache.get(handle).then((value) => {
      setFollowing(value);
      followButton.hidden = false;
    });
  }

  const moreButton = h('button', { type: 'button', class: 'rail-button', 'aria-label': 'More options', 'aria-haspopup': 'dialog' }, icon('more', 28));
  moreButton.addEventListener('click', () => {
    const menu = openDialog({
      title: 'Options',
      className: 'sheet',
      body: h('div', { class: 'menu' },
        h('button', { type: 'button', class: 'menu-item', onclick: () => { menu.close(); whyThisVideo(video, item); } }, 'Why this video'),
        h('button', { type: 'button', class: 'menu-item', onclick: () => { menu.close(); if (ctx.requireLogin()) onNotInterested(); } }, 'Not interested'),
        h('button', { type: 'button', class: 'menu-item', onclick: () => { menu.close(); share({ sheet: false }); } }, 'Copy link'),
        h('button', { type: 'button', class: 'menu-item', onclick: () => { menu.close(); openShortcutHelp(); } }, 'Keyboard shortcuts'),
        ...topicItems(video, () => menu, ctx),
        ctx.session.me?.handle === handle
          ? h('button', { type: 'button', class: 'menu-item', onclick: () => { menu.close(); editVideo(video, (v) => { Object.assign(video, v); meta.querySelector('.caption')?.replaceChildren(richCaption(v.caption)); }); } }, 'Edit video')
          : null,
        ctx.session.me?.handle === handle
          ? h('button', { type: 'button', class: 'menu-item', onclick: () => { menu.close(); deleteVideo(video, el, ctx); } }, 'Delete video')
          : h('button', { type: 'button', class: 'menu-item', onclick: () => { menu.close(); if (ctx.requireLogin()) report(video); } }, 'Report')),
    });
  });

  const labels = (video.labels || []).map((l) => h('p', { class: 'label-banner', 'data-label': l?.kind || '' },
    labelText(l), l?.note ? h('span', { class: 'label-note' }, ` ${l.note}`) : null));
  const reason = item.reason ? h('p', { class: 'reason' }, icon('info', 16), ' ', item.reason) : null;
  const meta = h('div', { class: 'meta' },
    h('a', { class: 'author', href: `/@${encodeURIComponent(handle)}` }, `@${handle}`),
    h('p', { class: 'caption' }, richCaption(video.caption)),
    labels,
    reason);

  const rail = h('div', { class: 'rail' },
    h('div', { class: 'rail-author' },
      h('a', { href: `/@${encodeURIComponent(handle)}`, 'aria-label': `Profile of @${handle}` }, avatar(author, 'lg')),
      followButton),
    h('div', { class: 'rail-item' }, likeButton, likeCount),
    h('div', { class: 'rail-item' }, commentsButton, commentCount),
    h('div', { class: 'rail-item' }, shareButton, shareCount),
    h('div', { class: 'rail-item' }, moreButton));

  const portrait = video.width && video.height && video.height >= video.width;
  const stage = h('div', { class: 'stage' });
  const controls = playerControls(player, stage, {
    durationMs: video.duration_ms,
    togglePlay: () => (player.paused ? play() : player.pause()),
    ensureSource: () => ensureSource('auto'),
  });
  const el = h('article', { class: portrait ? 'slide portrait' : 'slide', 'aria-label': `${describeVideo}`, dataset: { videoId: video.id, index: String(index), durationMs: String(video.duration_ms || '') } },
    stage,
    rail);
  stage.append(player, tapLayer, heart, playHint, muteButton, errorBox, ...(processing ? [processing] : []), meta, controls.el);

  // Watch time, counted from playback progress so that loops add up.
  let watchMs = 0;
  let lastTime = null;
  let isActive = false;
  player.addEventListener('timeupdate', () => {
    const t = player.currentTime;
    if (lastTime !== null && !player.seeking) {
      let delta = t - lastTime;
      if (delta < 0 && player.duration) delta = player.duration - lastTime + t;
      if (delta > 0 && delta < 1.5) watchMs += delta * 1000;
    }
    lastTime = t;
    el.dataset.watchedMs = String(Math.round(watchMs));
  });
  player.addEventListener('seeking', () => (lastTime = null));
  player.addEventListener('loadedmetadata', () => {
    if (!el.dataset.durationMs && player.duration) el.dataset.durationMs = String(Math.round(player.duration * 1000));
  });
  player.addEventListener('error', () => {
    if (!player.getAttribute('src')) return;
    errorBox.hidden = false;
    playHint.hidden = true;
  });
  player.addEventListener('playing', () => {
    playHint.hidden = true;
    el.dataset.playing = 'true';
  });
  player.addEventListener('pause', () => (el.dataset.playing = 'false'));

  function ensureSource(preload) {
    if (!video.stream_url || (video.state && video.state !== 'ready')) return;
    player.preload = preload;
    if (!player.getAttribute('src')) player.src = video.stream_url;
  }

  function play() {
    ensureSource('auto');
    player.muted = muted;
    const attempt = player.play();
    if (attempt && typeof attempt.catch === 'function') {
      attempt.catch((err) => {
        // Autoplay refused (or the source failed): offer a play button instead.
        if (err?.name === 'NotAllowedError') playHint.hidden = false;
      });
    }
  }

  function toggleMute() {
    muted = !muted;
    for (const v of document.querySelectorAll('video.video')) v.muted = muted;
    for (const b of document.querySelectorAll('.mute')) {
      b.setAttribute('aria-label', muted ? 'Unmute' : 'Mute');
      b.replaceChildren(icon(muted ? 'muted' : 'sound'));
    }
  }

  return {
    el,
    video,
    enter({ at } = {}) {
      isActive = true;
      el.classList.add('active');
      watchMs = 0;
      lastTime = null;
      track('impression', video.id);
      loadFollowState();
      if (at > 0) {
        ensureSource('auto');
        player.currentTime = at;
      }
      play();
    },
    item: () => ({ ...item, video }),
    currentTime: () => player.currentTime,
    leave() {
      if (!isActive) return;
      isActive = false;
      el.classList.remove('active');
      controls.leave();
      player.pause();
      const duration = video.duration_ms || Math.round((player.duration || 0) * 1000) || undefined;
      const watched = Math.round(watchMs);
      const skipped = watched < 2000 && (!duration || watched < duration);
      track(skipped ? 'skip' : 'view', video.id, { watch_ms: watched, duration_ms: duration });
    },
    preload() {
      ensureSource('auto');
    },
    unload() {
      player.pause();
      if (player.getAttribute('src')) {
        player.removeAttribute('src');
        player.load();
      }
    },
    toggleMute,
    togglePlay() {
      if (player.paused) play();
      else player.pause();
    },
    seekBy: controls.seekBy,
    seekToFraction: controls.seekToFraction,
    stepSpeed: controls.stepSpeed,
    toggleCaptions: controls.toggleCaptions,
    toggleFullscreen: controls.toggleFullscreen,
  };
}

// "More of #tag" and "Less of #tag" for the video's first hashtag (not
// "Not interested in …", which a screen reader would confuse with the
// menu's own "Not interested").
// The menu is reached through a getter: the items are built before the
// dialog that holds them exists.
function topicItems(video, menuOf, ctx) {
  const tag = video.hashtags?.[0];
  if (!tag) return [];
  const item = (label, preference) => h('button', { type: 'button', class: 'menu-item', onclick: () => { menuOf().close(); if (ctx.requireLogin()) preferTopic(tag, preference); } }, label);
  return [item(`More of #${tag}`, 'more'), item(`Less of #${tag}`, 'less')];
}

async function deleteVideo(video, el, ctx) {
  if (!window.confirm('Delete this video? It disappears for everyone.')) return;
  try {
    await api(`/v1/videos/${encodeURIComponent(video.id)}`, { method: 'DELETE' });
    el.replaceChildren(h('div', { class: 'video-error' }, h('p', {}, 'You deleted this video.'), h('a', { href: `/@${encodeURIComponent(ctx.session.me.handle)}` }, 'Back to your profile')));
    toast('Video deleted.');
  } catch (err) {
    toast(describe(err), { tone: 'error' });
  }
}

function labelText(label) {
  if (typeof label === 'string') return label === 'unverified' ? 'Unverified content' : label;
  return label?.text || label?.kind || 'Label';
}

// A labelled video asks before it is shared: resolves true for "Share anyway".
function shareAnyway(what) {
  return new Promise((resolve) => {
    let answer = false;
    const yes = h('button', { type: 'button', class: 'button primary' }, 'Share anyway');
    const no = h('button', { type: 'button', class: 'button' }, 'Don’t share');
    const d = openDialog({
      title: 'Share anyway?',
      body: [h('p', {}, `This video is labelled: ${what}`), h('p', { class: 'muted' }, 'A moderator labelled it after a review. You can still share it.'), h('p', { class: 'actions' }, yes, ' ', no)],
      onClose: () => resolve(answer),
    });
    yes.addEventListener('click', () => { answer = true; d.close(); });
    no.addEventListener('click', () => d.close());
    yes.focus();
  });
}

async function whyThisVideo(video, item) {
  const body = h('div', {}, h('p', { role: 'status' }, 'Loading…'));
  openDialog({ title: 'Why you are seeing this video', body });
  let why = null;
  try {
    why = await api(`/v1/videos/${encodeURIComponent(video.id)}/why`);
  } catch {
    why = null;
  }
  const reasons = Array.isArray(why?.reasons) && why.reasons.length ? why.reasons : [why?.reason || item.reason || 'This video was picked for your feed.'];
  const source = why?.source || item.source;
  const details = Array.isArray(why?.details) ? why.details : [];
  // Reasons in words first; the engine's numbers only for the curious.
  body.replaceChildren(
    h('ul', { class: 'why-reasons', 'aria-label': 'Reasons' }, reasons.map((r) => h('li', { class: 'why-reason' }, r))),
    source ? h('p', { class: 'muted' }, `Source: ${source}`) : null,
    details.length ? h('details', { class: 'why-details' }, h('summary', {}, 'Details'), h('ul', {}, details.map((d) => h('li', {}, d)))) : null,
    h('p', { class: 'muted' }, 'Ranked inside your home region by the approved algorithm release. You can reset or turn off personalisation in ', h('a', { href: '/settings' }, 'Settings'), '.'));
}

function report(video) {
  const category = h('select', { class: 'input', name: 'category', id: 'report-category' },
    ['spam', 'harassment', 'hate', 'violence', 'misinformation', 'nudity', 'self_harm', 'other'].map((c) => h('option', { value: c }, c.replace('_', ' '))));
  const note = h('textarea', { class: 'input', id: 'report-note', rows: '3', maxlength: '1000' });
  const message = h('p', { role: 'status' });
  const form = h('form', { class: 'form' },
    h('label', { for: 'report-category' }, 'What is wrong with this video?'), category,
    h('label', { for: 'report-note' }, 'Anything else the moderators should know (optional)'), note,
    h('button', { type: 'submit', class: 'button primary' }, 'Send report'), message);
  const dialog = openDialog({ title: 'Report video', body: form });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('/v1/reports', { method: 'POST', fixedPath: true, body: { target: { video_id: video.id }, category: category.value, note: note.value } });
      dialog.close();
      toast('Thanks. A moderator in the creator’s region will review it.');
    } catch (err) {
      message.textContent = describe(err);
    }
  });
}
