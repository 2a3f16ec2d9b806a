// Upload: pick a file, preview it, describe it, send it with a progress bar,
// then follow its processing. When the server has no ffmpeg it cannot cut a
// poster itself, so the browser draws one from a frame and sends it along.

import { api, ApiError, describe } from '../api.js';
import { h } from '../dom.js';

const PLAYABLE = ['video/mp4', 'video/webm'];

export async function render(root, _params, ctx) {
  if (!ctx.requireLogin()) return null;
  let server = { ffmpeg: true };
  let serverKnown = false;
  try {
    server = { ffmpeg: true, ...(await api('/v1/server', { fixedPath: true })) };
    serverKnown = true;
  } catch {
    // Without /v1/server, assume the server transcodes and send no poster.
  }

  const file = h('input', { class: 'input', type: 'file', id: 'upload-file', name: 'file', accept: 'video/*', required: true, 'aria-describedby': 'upload-file-hint' });
  const preview = h('video', { class: 'preview', controls: true, muted: true, playsinline: true, hidden: true, 'aria-label': 'Preview of the chosen video' });
  const posterImg = h('img', { class: 'poster-preview', alt: 'Poster frame made from the video' });
  const posterFigure = h('figure', { class: 'poster-figure', hidden: true }, posterImg, h('figcaption', { class: 'hint' }, 'Poster, made in your browser'));
  const caption = h('textarea', { class: 'input', id: 'upload-caption', name: 'caption', rows: '3', maxlength: '2200', 'aria-describedby': 'upload-caption-hint' });
  const visibility = h('select', { class: 'input', id: 'upload-visibility', name: 'visibility' },
    h('option', { value: 'public' }, 'Public: anyone can watch'),
    h('option', { value: 'followers' }, 'Followers only'),
    h('option', { value: 'private' }, 'Private: only me'));
  const comments = h('select', { class: 'input', id: 'upload-comments', name: 'comments' },
    h('option', { value: 'everyone' }, 'Everyone'),
    h('option', { value: 'followers' }, 'Followers'),
    h('option', { value: 'nobody' }, 'Nobody'));
  if (ctx.session.me?.private) visibility.value = 'followers';
  const progress = h('progress', { id: 'upload-progress', max: '100', value: '0', hidden: true, 'aria-label': 'Upload progress' });
  const progressText = h('p', { class: 'progress-text', role: 'status', 'aria-live': 'polite' });
  const message = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Post');
  // A draft is kept for me alone until I publish it from my drafts.
  const saveDraft = h('button', { type: 'submit', class: 'button', value: 'draft' }, 'Save as draft');
  const limits = [];
  if (server.max_upload_bytes) limits.push(`up to ${Math.round(server.max_upload_bytes / 1e6)} MB`);
  if (server.max_duration_ms) limits.push(`at most ${Math.round(server.max_duration_ms / 1000)} seconds`);
  const fileHint = `${server.ffmpeg ? 'Most video formats work' : 'MP4 (H.264) or WebM (VP9)'}${limits.length ? `, ${limits.join(', ')}` : ''}.`;

  const form = h('form', { class: 'form upload-form', 'aria-labelledby': 'upload-title' },
    h('div', { class: 'field' }, h('label', { for: 'upload-file' }, 'Video file'), file, h('p', { class: 'hint', id: 'upload-file-hint' }, fileHint)),
    h('div', { class: 'upload-previews' }, preview, posterFigure),
    h('div', { class: 'field' }, h('label', { for: 'upload-caption' }, 'Caption'), caption, h('p', { class: 'hint', id: 'upload-caption-hint' }, 'Use #hashtags so people can find it, and @handles to mention someone.')),
    h('div', { class: 'field-row' },
      h('div', { class: 'field' }, h('label', { for: 'upload-visibility' }, 'Who can watch'), visibility),
      h('div', { class: 'field' }, h('label', { for: 'upload-comments' }, 'Who can comment'), comments)),
    h('p', { class: 'actions' }, submit, saveDraft), progress, progressText, message);
  root.append(h('section', { class: 'page narrow' },
    h('h1', { id: 'upload-title' }, 'Upload a video'),
    serverKnown ? null : h('p', { class: 'muted' }, 'Upload limits are not available from this server yet.'),
    form));

  let poster = null;
  let previewUrl = null;
  let durationMs = null;

  file.addEventListener('change', async () => {
    message.textContent = '';
    poster = null;
    durationMs = null;
    posterFigure.hidden = true;
    const chosen = file.files[0];
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    if (!chosen) {
      preview.hidden = true;
      return;
    }
    if (server.max_upload_bytes && chosen.size > server.max_upload_bytes) {
      message.textContent = `This file is ${(chosen.size / 1e6).toFixed(1)} MB; the limit is ${Math.round(server.max_upload_bytes / 1e6)} MB.`;
    }
    if (!server.ffmpeg && chosen.type && !PLAYABLE.includes(chosen.type)) {
      message.textContent = 'This server can only take MP4 (H.264) or WebM (VP9) files.';
    }
    previewUrl = URL.createObjectURL(chosen);
    preview.src = previewUrl;
    preview.hidden = false;
    try {
      await once(preview, 'loadedmetadata');
      durationMs = Math.round(preview.duration * 1000);
      if (server.max_duration_ms && durationMs > server.max_duration_ms) {
        message.textContent = `This video is ${Math.round(durationMs / 1000)} seconds long; the limit is ${Math.round(server.max_duration_ms / 1000)} seconds.`;
      }
      if (!server.ffmpeg) {
        poster = await grabFrame(preview);
        posterImg.src = URL.createObjectURL(poster);
        posterFigure.hidden = false;
      }
    } catch {
      message.textContent = 'Your browser cannot play this file, so it cannot be previewed.';
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) {
      message.textContent = 'Choose a video file first.';
      return;
    }
    message.textContent = '';
    const draft = event.submitter === saveDraft;
    submit.disabled = true;
    saveDraft.disabled = true;
    const body = new FormData();
    // Metadata and poster go first so the server knows them before the file streams in.
    body.append('meta', new Blob([JSON.stringify({ caption: caption.value, visibility: visibility.value, comments: comments.value, ...(draft ? { draft: true } : {}) })], { type: 'application/json' }), 'meta.json');
    if (poster) body.append('poster', poster, 'poster.jpg');
    body.append('file', chosen, chosen.name);
    progress.hidden = false;
    progress.value = 0;
    progressText.textContent = 'Uploading… 0%';
    try {
      const video = await send(body, (fraction) => {
        progress.value = Math.round(fraction * 100);
        progressText.textContent = `Uploading… ${Math.round(fraction * 100)}%`;
      });
      progress.value = 100;
      await followProcessing(video, progressText, draft);
      form.reset();
      preview.hidden = true;
      posterFigure.hidden = true;
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'unauthorized') {
        ctx.session.clear();
        ctx.requireLogin();
        return;
      }
      progressText.textContent = '';
      message.textContent = describe(err);
    } finally {
      submit.disabled = false;
      saveDraft.disabled = false;
    }
  });

  return () => previewUrl && URL.revokeObjectURL(previewUrl);
}

function once(target, name) {
  return new Promise((resolve, reject) => {
    target.addEventListener(name, resolve, { once: true });
    target.addEventListener('error', () => reject(new Error('media error')), { once: true });
  });
}

// Draws a frame a little way in (the first is often black) onto a canvas.
async function grabFrame(video) {
  const at = Math.min(1, (video.duration || 0) / 3);
  video.currentTime = at;
  await once(video, 'seeked');
  const canvas = document.createElement('canvas');
  const scale = Math.min(1, 720 / Math.min(video.videoWidth, video.videoHeight));
  canvas.width = Math.max(1, Math.round(video.videoWidth * scale));
  canvas.height = Math.max(1, Math.round(video.videoHeight * scale));
  canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
  if (!blob) throw new Error('no frame');
  return blob;
}

// fetch() cannot report upload progress; XMLHttpRequest can.
function send(body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/videos');
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let json = null;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        json = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && json) return resolve(json);
      if (xhr.status >= 200 && xhr.status < 300) return reject(new ApiError({ status: xhr.status, title: 'Unreadable answer', detail: 'The server accepted the upload but its answer could not be read.' }));
      if (!json && [404, 405, 501].includes(xhr.status)) return reject(new ApiError({ status: xhr.status, kind: 'unavailable' }));
      reject(new ApiError({
        status: xhr.status,
        type: json?.type,
        title: json?.title || `Upload failed (${xhr.status})`,
        detail: json?.detail || (xhr.status === 413 ? 'The file is too large.' : ''),
        kind: xhr.status === 401 ? 'unauthorized' : 'problem',
      }));
    });
    xhr.addEventListener('error', () => reject(new ApiError({ kind: 'network' })));
    xhr.addEventListener('abort', () => reject(new ApiError({ title: 'Upload cancelled' })));
    xhr.send(body);
  });
}

async function followProcessing(video, out, draft = false) {
  let current = video;
  let wait = 500;
  const link = () => h('a', { href: `/v/${encodeURIComponent(current.id)}` }, 'Watch it');
  while (current.state === 'processing') {
    out.replaceChildren('Uploaded. Processing your video…');
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 1.5, 3000);
    current = await api(`/v1/videos/${encodeURIComponent(current.id)}`);
  }
  if (current.state === 'failed') {
    throw new ApiError({ title: 'Processing failed', detail: current.state_reason || 'The server could not process this video.' });
  }
  if (draft) {
    out.replaceChildren(h('span', { class: 'ready', 'data-state': 'ready' }, 'Saved to your drafts. Only you can see it. '), h('a', { href: '/drafts' }, 'Open your drafts'), '.');
    return;
  }
  out.replaceChildren(h('span', { class: 'ready', 'data-state': 'ready' }, 'Your video is ready. '), link(), '.');
}
