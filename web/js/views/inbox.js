// The inbox: likes, comments, replies, mentions, follows and follow requests,
// decisions about my content and my custodian's notices, newest first, with
// likes and follows of one day grouped ("@a and 12 others liked your video").
// Opening it marks what it shows read; the bell's badge follows.

import { setUnread } from '../../app.js';
import { api, describe } from '../api.js';
import { avatar, failure, formatDate, h, richCaption } from '../dom.js';

const PAGE = 30;

export async function render(root, _params, ctx) {
  const page = h('section', { class: 'page inbox-page' }, h('h1', {}, 'Inbox'));
  root.append(page);
  if (!ctx.requireLogin()) return;
  const list = h('ul', { class: 'inbox', 'aria-label': 'Notifications' });
  const status = h('div', { 'aria-live': 'polite' }, h('p', { role: 'status' }, 'Loading…'));
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Show older');
  page.append(status, list, more);

  let cursor = null;
  let newest = null;
  async function load() {
    more.disabled = true;
    try {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (cursor) q.set('cursor', cursor);
      const answer = await api(`/v1/me/notifications?${q}`, { fixedPath: true });
      const items = answer?.items || [];
      if (!newest && items.length) newest = items[0].id;
      list.append(...items.map(line));
      cursor = answer?.next_cursor || null;
      more.hidden = !cursor;
      status.replaceChildren(list.children.length ? '' : h('p', {}, 'Nothing yet. When people like, comment on or follow what you post, you will see it here.'));
      setUnread(answer?.unread);
    } catch (err) {
      status.replaceChildren(failure(describe(err), err));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', load);
  await load();

  // What is on screen has been seen: mark it read, up to the newest line.
  if (newest) {
    try {
      const answer = await api('/v1/me/notifications/read', { method: 'POST', body: { up_to: newest }, fixedPath: true });
      setUnread(answer?.unread);
    } catch {
      // The lines stay unread; the next visit tries again.
    }
  }
}

function actorLink(actor) {
  return h('a', { href: `/@${encodeURIComponent(actor.handle)}` }, `@${actor.handle}`);
}

// "@a and 3 others liked your video", with each handle a link.
function who(item) {
  const actors = item.actors?.length ? item.actors : item.actor ? [item.actor] : [];
  if (!actors.length) return [];
  const first = actorLink(actors[0]);
  const others = (item.count || 1) - 1;
  return others > 0 ? [first, ` and ${others} ${others === 1 ? 'other' : 'others'}`] : [first];
}

const VERB = {
  like: 'liked your video',
  comment: 'commented on your video',
  reply: 'replied to your comment',
  mention: 'mentioned you',
  follow: 'started following you',
  follow_request: 'asked to follow you',
  follow_approved: 'approved your follow request',
};

function line(item) {
  const unread = !item.read;
  const verb = VERB[item.kind];
  let text;
  if (verb) text = h('p', { class: 'line-text' }, ...who(item), ` ${verb}`);
  else if (item.kind === 'decision') text = h('p', { class: 'line-text' }, 'A decision about your content. ', h('a', { href: '/decisions' }, 'Read the statement of reasons'));
  else if (item.kind === 'region_notice') text = h('p', { class: 'line-text notice' }, h('strong', {}, 'A notice from your region’s custodian'));
  else text = h('p', { class: 'line-text' }, item.summary || item.kind);
  const links = [];
  if (item.video_id) links.push(h('a', { href: `/v/${encodeURIComponent(item.video_id)}` }, 'See the video'));
  if (item.kind === 'follow_request') links.push(h('a', { href: '/settings' }, 'Answer the request'));
  const lead = item.actor ? avatar(item.actor, 'sm') : h('span', { class: 'avatar avatar-sm', 'aria-hidden': 'true' }, '!');
  return h('li', { class: unread ? 'unread' : '', dataset: { kind: item.kind, id: item.id } },
    lead,
    h('div', {},
      text,
      item.text ? h('p', { class: 'quote' }, richCaption(item.text)) : null,
      h('p', { class: 'muted small' },
        h('time', { datetime: item.created_at }, formatDate(item.created_at)),
        unread ? h('span', { class: 'sr-only' }, ' (unread)') : null,
        ...links.flatMap((a) => [' · ', a]))));
}
