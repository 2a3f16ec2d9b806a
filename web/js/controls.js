// The controls of one video: play and pause, a seek slider you can drag or
// move with the arrow keys, the time, playback speed, captions (shown once the
// video carries a text track) and full screen. The feed owns the page-wide
// keyboard shortcuts and reaches these through the slide; the help dialog
// lists them.

import { h } from './dom.js';
import { openDialog } from './dialog.js';
import { icon } from './icons.js';

export const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];
// Like the sound, speed and captions follow the viewer from video to video.
let speed = 1;
let captionsOn = false;

export function formatTime(seconds) {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const mm = Math.floor(s / 60);
  const ss = String(s % 60).padStart(2, '0');
  return mm >= 60 ? `${Math.floor(mm / 60)}:${String(mm % 60).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

const speedLabel = (rate) => `${rate}×`;

/**
 * @param {HTMLVideoElement} player
 * @param {HTMLElement} stage the element that goes full screen
 * @param {object} options
 *   durationMs: the duration the server reported, used until the media says
 *   togglePlay(): starts or pauses (the slide knows how to start a video)
 *   ensureSource(): loads the media, so a seek before playback lands
 */
export function playerControls(player, stage, { durationMs, togglePlay, ensureSource }) {
  player.playbackRate = speed;
  player.defaultPlaybackRate = speed;

  const playButton = h('button', { type: 'button', class: 'control-button', 'aria-label': 'Play' }, icon('play', 20));
  playButton.addEventListener('click', () => togglePlay());
  const paintPlay = () => {
    const paused = player.paused;
    playButton.setAttribute('aria-label', paused ? 'Play' : 'Pause');
    playButton.replaceChildren(icon(paused ? 'play' : 'pause', 20));
  };
  player.addEventListener('play', paintPlay);
  player.addEventListener('pause', paintPlay);

  const duration = () => (Number.isFinite(player.duration) && player.duration > 0 ? player.duration : (Number(durationMs) || 0) / 1000);
  const current = h('span', {}, '0:00');
  const total = h('span', {}, formatTime(duration()));
  const time = h('p', { class: 'time' }, current, ' / ', total);

  // A native range input: the browser makes it a slider for assistive
  // technology and for dragging; the keys are ours, in seconds.
  const seek = h('input', { type: 'range', class: 'seek', min: '0', max: String(duration() || 0), step: 'any', value: '0', 'aria-label': 'Seek' });
  let scrubbing = false;
  const paintSeek = (at) => {
    const end = duration();
    seek.max = String(end);
    seek.value = String(Math.min(at, end));
    seek.setAttribute('aria-valuetext', `${formatTime(at)} of ${formatTime(end)}`);
    // Drawn through the CSSOM (allowed by a strict Content-Security-Policy).
    seek.style.setProperty('--filled', `${end ? Math.min(100, (at / end) * 100) : 0}%`);
    current.textContent = formatTime(at);
    total.textContent = formatTime(end);
  };
  paintSeek(0);

  function seekTo(seconds) {
    const end = duration();
    ensureSource();
    const at = Math.max(0, end ? Math.min(seconds, end - 0.05) : seconds);
    player.currentTime = at;
    paintSeek(at);
  }

  seek.addEventListener('pointerdown', () => (scrubbing = true));
  const endScrub = () => (scrubbing = false);
  seek.addEventListener('pointerup', endScrub);
  seek.addEventListener('pointercancel', endScrub);
  seek.addEventListener('change', endScrub);
  seek.addEventListener('input', () => seekTo(Number(seek.value)));
  seek.addEventListener('keydown', (event) => {
    const steps = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -10, PageUp: 10 };
    let target = null;
    if (event.key in steps) target = player.currentTime + steps[event.key];
    else if (event.key === 'Home') target = 0;
    else if (event.key === 'End') target = duration();
    if (target === null) return;
    event.preventDefault();
    seekTo(target);
  });
  player.addEventListener('timeupdate', () => {
    if (!scrubbing) paintSeek(player.currentTime);
  });
  player.addEventListener('loadedmetadata', () => paintSeek(player.currentTime));
  player.addEventListener('durationchange', () => paintSeek(player.currentTime));

  const speedSelect = h('select', { class: 'speed', 'aria-label': 'Playback speed' },
    SPEEDS.map((rate) => h('option', { value: String(rate), selected: rate === speed }, speedLabel(rate))));
  speedSelect.addEventListener('change', () => setSpeed(Number(speedSelect.value)));

  const captionsButton = h('button', { type: 'button', class: 'control-button cc', 'aria-label': 'Captions', 'aria-pressed': String(captionsOn), hidden: true }, 'CC');
  captionsButton.addEventListener('click', () => toggleCaptions());
  const textTracks = () => [...player.textTracks].filter((t) => t.kind === 'captions' || t.kind === 'subtitles');
  const applyCaptions = () => {
    const tracks = textTracks();
    captionsButton.hidden = tracks.length === 0;
    captionsButton.setAttribute('aria-pressed', String(captionsOn && tracks.length > 0));
    tracks.forEach((track, i) => (track.mode = captionsOn && i === 0 ? 'showing' : 'disabled'));
  };
  player.textTracks.addEventListener('addtrack', applyCaptions);
  player.textTracks.addEventListener('removetrack', applyCaptions);
  applyCaptions();

  function toggleCaptions() {
    if (textTracks().length === 0) return false;
    captionsOn = !captionsOn;
    for (const other of document.querySelectorAll('.controls .cc')) other.setAttribute('aria-pressed', String(captionsOn));
    applyCaptions();
    return true;
  }

  const fullButton = h('button', { type: 'button', class: 'control-button full', 'aria-label': 'Full screen' }, icon('expand', 20));
  fullButton.addEventListener('click', () => toggleFullscreen());

  function toggleFullscreen() {
    if (document.fullscreenElement) return document.exitFullscreen().catch(() => {});
    if (stage.requestFullscreen) return stage.requestFullscreen().catch(() => {});
    // iPhone Safari can only show the video element itself full screen.
    if (player.webkitEnterFullscreen) player.webkitEnterFullscreen();
    return Promise.resolve();
  }

  const el = h('div', { class: 'controls' }, playButton, seek, time, speedSelect, captionsButton, fullButton);

  return {
    el,
    seekBy: (seconds) => seekTo(player.currentTime + seconds),
    seekToFraction: (fraction) => seekTo(duration() * fraction),
    stepSpeed: (direction) => {
      const i = SPEEDS.indexOf(speed);
      setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 2 : i) + direction))]);
    },
    toggleCaptions,
    toggleFullscreen,
    leave() {
      if (document.fullscreenElement === stage) document.exitFullscreen().catch(() => {});
    },
  };
}

function setSpeed(rate) {
  if (!SPEEDS.includes(rate)) return;
  speed = rate;
  for (const v of document.querySelectorAll('video.video')) {
    v.playbackRate = rate;
    v.defaultPlaybackRate = rate;
  }
  for (const s of document.querySelectorAll('.controls .speed')) s.value = String(rate);
}

// One listener for the page: the full-screen buttons say what they will do.
document.addEventListener('fullscreenchange', () => {
  for (const b of document.querySelectorAll('.controls .full')) {
    const on = Boolean(document.fullscreenElement?.contains(b));
    b.setAttribute('aria-label', on ? 'Exit full screen' : 'Full screen');
    b.replaceChildren(icon(on ? 'shrink' : 'expand', 20));
  }
});

export const SHORTCUTS = [
  [['Space', 'k'], 'Play or pause'],
  [['j', 'l'], 'Back or forward 10 seconds'],
  [['←', '→'], 'Back or forward 5 seconds'],
  [['0–9'], 'Jump to 0%–90% of the video'],
  [['↓', '↑'], 'Next or previous video'],
  [['m'], 'Mute or unmute'],
  [['f'], 'Full screen'],
  [['c'], 'Captions on or off (when the video has them)'],
  [['<', '>'], 'Slower or faster'],
  [['?'], 'This list'],
];

export function openShortcutHelp() {
  if (document.querySelector('dialog.shortcuts[open]')) return null;
  const list = h('dl', { class: 'shortcut-list' },
    SHORTCUTS.map(([keys, what]) => [
      h('dt', {}, keys.map((k, i) => [i ? ' or ' : '', h('kbd', {}, k)])),
      h('dd', {}, what),
    ]));
  return openDialog({ title: 'Keyboard shortcuts', className: 'shortcuts', body: [list, h('p', { class: 'muted small' }, 'Press Escape to close.')] });
}
