// The comment drawer: top-level comments, one level of replies under each, and
// a box to write either.

import { api, describe } from './api.js';
import { avatar, formatDate, h, richCaption } from './dom.js';
import { openDialog } from './dialog.js';

export function openComments(video, ctx, onCount) {
  const base = `/v1/videos/${encodeURIComponent(video.id)}/comments`;
  const list = h('ol', { class: 'comments', 'aria-label': 'Comments' });
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading comments…');
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'More comments');
  let total = video.counts?.comments || 0;
  let cursor = null;
  let replyTo = null;

  const input = h('textarea', { class: 'input', id: `comment-${video.id}`, rows: '2', maxlength: '500', placeholder: 'Add a comment…' });
  const replyNote = h('p', { class: 'reply-note', hidden: true });
  const cancelReply = h('button', { type: 'button', class: 'link-button', onclick: () => setReply(null) }, 'Cancel reply');
  const formMessage = h('p', { class: 'error', role: 'alert' });
  const send = h('button', { type: 'submit', class: 'button primary' }, 'Post');
  const form = h('form', { class: 'comment-form' },
    h('div', { class: 'reply-row' }, replyNote, cancelReply),
    h('label', { for: `comment-${video.id}`, class: 'sr-only' }, 'Comment'),
    input, send, formMessage);
  cancelReply.hidden = true;

  const closed = video.comments === 'nobody';
  const body = h('div', { class: 'comments-panel' }, status, list, more,
    closed ? h('p', { class: 'muted' }, 'The creator turned comments off for this video.') : null,
    !closed && !ctx.session.me ? h('p', {}, h('a', { href: `/login?next=${encodeURIComponent(location.pathname)}` }, 'Log in'), ' to comment.') : null,
    !closed && ctx.session.me ? form : null);
  openDialog({ title: `Comments (${total})`, body, className: 'sheet drawer' });
  const title = body.closest('dialog').querySelector('h2');

  function setReply(comment) {
    replyTo = comment;
    replyNote.hidden = !comment;
    cancelReply.hidden = !comment;
    replyNote.textContent = comment ? `Replying to @${comment.author?.handle || ''}` : '';
    input.placeholder = comment ? 'Write a reply…' : 'Add a comment…';
    if (comment) input.focus();
  }

  function setTotal(n) {
    total = n;
    title.textContent = `Comments (${total})`;
    onCount?.(total);
  }

  function renderComment(comment, isReply = false) {
    const handle = comment.author?.handle || 'someone';
    const replies = h('ol', { class: 'replies', 'aria-label': `Replies to @${handle}` });
    const item = h('li', { class: isReply ? 'comment reply' : 'comment', dataset: { commentId: comment.id } },
      avatar(comment.author, 'sm'),
      h('div', { class: 'comment-body' },
        h('p', { class: 'comment-head' }, h('a', { href: `/@${encodeURIComponent(handle)}` }, `@${handle}`), ' ', h('time', { datetime: comment.created_at, class: 'muted' }, formatDate(comment.created_at))),
        h('p', { class: 'comment-text' }, richCaption(comment.text)),
        !isReply && !closed && ctx.session.me ? h('button', { type: 'button', class: 'link-button', 'aria-label': `Reply to @${handle}`, onclick: () => setReply(comment) }, 'Reply') : null,
        !isReply && comment.replies_count > 0 ? repliesButton(comment, replies) : null,
        replies));
    item.replies = replies;
    return item;
  }

  function repliesButton(comment, target) {
    const button = h('button', { type: 'button', class: 'link-button', 'aria-expanded': 'false' }, `View ${comment.replies_count} ${comment.replies_count === 1 ? 'reply' : 'replies'}`);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        const page = await api(`${base}?parent_id=${encodeURIComponent(comment.id)}`);
        const items = (page?.items || []).filter((c) => c.parent_id === comment.id);
        target.replaceChildren(...items.map((c) => renderComment(c, true)));
        button.remove();
      } catch (err) {
        button.disabled = false;
        formMessage.textContent = describe(err);
      }
    });
    return button;
  }

  async function load() {
    try {
      const page = await api(cursor ? `${base}?cursor=${encodeURIComponent(cursor)}` : base);
      const items = page?.items || [];
      // Replies listed inline go under their parent; the rest are top level.
      const tops = items.filter((c) => !c.parent_id);
      for (const c of tops) list.append(renderComment(c));
      for (const c of items.filter((x) => x.parent_id)) {
        const parent = list.querySelector(`[data-comment-id="${CSS.escape(c.parent_id)}"]`);
        if (parent && !parent.replies.querySelector(`[data-comment-id="${CSS.escape(c.id)}"]`)) parent.replies.append(renderComment(c, true));
      }
      cursor = page?.next_cursor || null;
      more.hidden = !cursor;
      status.textContent = list.children.length ? '' : 'No comments yet. Be the first.';
    } catch (err) {
      status.textContent = describe(err);
      status.className = 'error';
    }
  }
  more.addEventListener('click', load);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      formMessage.textContent = 'Write something first.';
      return;
    }
    send.disabled = true;
    formMessage.textContent = '';
    try {
      const body = { text };
      if (replyTo) body.parent_id = replyTo.id;
      const comment = await api(base, { method: 'POST', body });
      const created = { author: ctx.session.me, text, created_at: new Date().toISOString(), parent_id: replyTo?.id || null, replies_count: 0, ...comment };
      if (replyTo) {
        const parent = list.querySelector(`[data-comment-id="${CSS.escape(replyTo.id)}"]`);
        parent?.replies.append(renderComment(created, true));
      } else {
        list.prepend(renderComment(created));
      }
      status.textContent = '';
      input.value = '';
      setReply(null);
      setTotal(total + 1);
    } catch (err) {
      formMessage.textContent = describe(err);
    } finally {
      send.disabled = false;
    }
  });

  load();
}
