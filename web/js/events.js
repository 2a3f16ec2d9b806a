// Viewing signals for the recommender (impression, view, skip, not_interested),
// queued and sent in batches: one request every few seconds rather than one per
// swipe. They are best effort: a lost batch costs a little personalisation,
// never an error on screen.

import { api } from './api.js';

const MAX_BATCH = 500;
const FLUSH_MS = 4000;
let queue = [];
let timer = null;
let enabled = false;

// Only a signed-in viewer has a history to learn from.
export function setEventsEnabled(on) {
  enabled = on;
  if (!on) queue = [];
}

export function track(type, videoId, extra = {}) {
  if (!enabled || !videoId) return;
  queue.push({ type, video_id: videoId, at: Date.now(), ...extra });
  if (queue.length >= 50) flushEvents();
  else if (!timer) timer = setTimeout(flushEvents, FLUSH_MS);
}

export function flushEvents() {
  clearTimeout(timer);
  timer = null;
  while (queue.length) {
    const events = queue.splice(0, MAX_BATCH);
    api('/v1/events', { method: 'POST', body: { events }, keepalive: true }).catch(() => {
      // Dropped on purpose: see the comment at the top.
    });
  }
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') flushEvents();
});
