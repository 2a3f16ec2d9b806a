// A tiny element builder. Every string goes in as text, never as HTML, so
// captions, handles and server messages cannot inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A failure in words where the content would have been. "Not available yet"
// is a fact about this server, not an error, so it reads calmer.
export function failure(message, error) {
  const unavailable = error?.kind === 'unavailable';
  return h('p', { class: unavailable ? 'notice' : 'error', role: unavailable ? 'status' : 'alert' }, message);
}

export function toast(message, { tone = 'info', timeout = 5000 } = {}) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = h('div', { class: `toast toast-${tone}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), timeout);
}

export function formatCount(n) {
  const value = Number(n) || 0;
  if (value < 1000) return String(value);
  if (value < 1_000_000) return `${(value / 1000).toFixed(value < 10_000 ? 1 : 0).replace(/\.0$/, '')}K`;
  return `${(value / 1_000_000).toFixed(1).replace(/\.0$/, '')}M`;
}

export function plural(n, one, many = `${one}s`) {
  return `${formatCount(n)} ${Number(n) === 1 ? one : many}`;
}

export function formatDate(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function initials(name) {
  const words = String(name || '?').replace(/^@/, '').split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

export function avatar(user, size = 'md') {
  const handle = user?.handle || '?';
  let hash = 0;
  for (const c of handle) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
  // Hues at a fixed, darkish lightness so white initials stay readable.
  const el = h('span', { class: `avatar avatar-${size}`, 'aria-hidden': 'true' }, initials(user?.display_name || handle));
  // Set through the CSSOM, which a strict Content-Security-Policy still allows.
  el.style.backgroundColor = `hsl(${hash % 360} 55% 36%)`;
  return el;
}

// A caption becomes text with #hashtag and @mention links.
export function richCaption(text) {
  const parts = [];
  const pattern = /([#@])([\p{L}\p{N}_]+)/gu;
  let last = 0;
  for (const match of String(text || '').matchAll(pattern)) {
    const before = match.index > 0 ? text[match.index - 1] : ' ';
    if (/[\p{L}\p{N}_]/u.test(before)) continue;
    parts.push(text.slice(last, match.index));
    const [whole, sigil, word] = match;
    const href = sigil === '#' ? `/tag/${encodeURIComponent(word.toLowerCase())}` : `/@${encodeURIComponent(word)}`;
    parts.push(h('a', { href, class: sigil === '#' ? 'hashtag' : 'mention' }, whole));
    last = match.index + whole.length;
  }
  parts.push(String(text || '').slice(last));
  return parts;
}
