// A profile: avatar, bio, counts, follow and block, and the grid of videos.

import { api, ApiError, describe } from '../api.js';
import { avatar, formatCount, h, toast } from '../dom.js';
import { pageOf, videoGrid } from '../grid.js';
import { followList } from '../creators.js';

export async function render(root, { handle }, ctx) {
  const page = h('section', { class: 'page profile' });
  root.append(page);
  let user;
  try {
    user = await api(`/v1/users/${encodeURIComponent(handle)}`);
  } catch (err) {
    page.append(h('h1', {}, `@${handle}`), h('p', { class: 'error', role: 'alert' },
      err instanceof ApiError && err.status === 404 ? 'This account does not exist or has been deleted.' : describe(err)));
    return;
  }
  const isMe = ctx.session.me?.handle === user.handle;
  const counts = user.counts || {};
  // none | pending (a request to a private account) | approved
  let followState = user.follow_state || (user.followed_by_me ? 'approved' : 'none');
  let followers = counts.followers || 0;
  const followersCount = h('strong', {}, formatCount(followers));

  const followButton = h('button', { type: 'button', class: 'button primary' });
  const paint = () => {
    followButton.textContent = { approved: 'Following', pending: 'Requested' }[followState] || 'Follow';
    followButton.setAttribute('aria-pressed', String(followState !== 'none'));
    followButton.setAttribute('aria-label', {
      approved: `Unfollow @${user.handle}`,
      pending: `Cancel follow request to @${user.handle}`,
    }[followState] || `Follow @${user.handle}`);
    followersCount.textContent = formatCount(followers);
  };
  paint();
  followButton.addEventListener('click', async () => {
    if (!ctx.requireLogin()) return;
    const before = { followState, followers };
    try {
      if (followState === 'none') {
        const answer = await api(`/v1/users/${encodeURIComponent(user.handle)}/follow`, { method: 'PUT' });
        followState = answer?.state === 'pending' ? 'pending' : 'approved';
        if (followState === 'approved') followers += 1;
        else toast(`Follow request sent to @${user.handle}.`);
      } else {
        await api(`/v1/users/${encodeURIComponent(user.handle)}/follow`, { method: 'DELETE' });
        if (followState === 'approved') followers -= 1;
        followState = 'none';
      }
      paint();
    } catch (err) {
      ({ followState, followers } = before);
      paint();
      toast(describe(err), { tone: 'error' });
    }
  });

  const blockButton = h('button', { type: 'button', class: 'button danger-outline' }, `Block @${user.handle}`);
  blockButton.addEventListener('click', async () => {
    if (!ctx.requireLogin()) return;
    const blocking = blockButton.dataset.blocked !== 'true';
    if (blocking && !window.confirm(`Block @${user.handle}? They will not be able to follow you or comment on your videos, and you will not see their videos.`)) return;
    try {
      await api(`/v1/users/${encodeURIComponent(user.handle)}/block`, { method: blocking ? 'PUT' : 'DELETE' });
      blockButton.dataset.blocked = String(blocking);
      blockButton.textContent = blocking ? `Unblock @${user.handle}` : `Block @${user.handle}`;
      toast(blocking ? `You blocked @${user.handle}.` : `You unblocked @${user.handle}.`);
    } catch (err) {
      toast(describe(err), { tone: 'error' });
    }
  });

  // The follow counts open the lists themselves.
  const listStat = (value, label, open) => h('li', {},
    h('button', { type: 'button', class: 'stat-button', 'aria-haspopup': 'dialog', onclick: open }, value, h('span', {}, ` ${label}`)));
  const stat = (value, label) => h('li', {}, value instanceof Node ? value : h('strong', {}, formatCount(value)), h('span', {}, ` ${label}`));
  page.append(
    h('header', { class: 'profile-head' },
      avatar(user, 'xl'),
      h('div', { class: 'profile-id' },
        h('h1', {}, user.display_name || `@${user.handle}`),
        h('p', { class: 'muted' }, `@${user.handle}`, user.region ? ` · ${regionLabel(user.region)}` : '', user.private ? ' · Private account' : ''),
        h('ul', { class: 'stats', 'aria-label': 'Counts' },
          listStat(h('strong', {}, formatCount(counts.following)), 'Following', () => followList(user.handle, 'following')),
          listStat(followersCount, 'Followers', () => followList(user.handle, 'followers')),
          stat(counts.likes, 'Likes'),
          stat(counts.videos, 'Videos')),
        user.bio ? h('p', { class: 'bio' }, user.bio) : null,
        h('p', { class: 'actions' },
          isMe
            ? [h('a', { class: 'button', href: '/settings' }, 'Edit profile and settings'), h('a', { class: 'button', href: '/privacy' }, 'Privacy centre'), h('a', { class: 'button', href: '/drafts' }, 'Drafts')]
            : [followButton, blockButton]))));

  if (user.private && !isMe && followState !== 'approved') {
    page.append(h('p', { class: 'notice' }, 'This account is private. Only its approved followers see its videos.'));
    return;
  }
  const videos = { label: `Videos by @${user.handle}`, load: pageOf(`/v1/users/${encodeURIComponent(user.handle)}/videos`), empty: isMe ? 'You have not posted a video yet.' : 'No videos yet.' };
  if (!isMe) {
    videoGrid(page, videos);
    return;
  }
  // My own profile has a second tab: the videos I liked. Likes are kept at my
  // home and only I see them.
  const liked = { label: 'Videos you liked', load: pageOf('/v1/me/likes'), empty: 'You have not liked a video yet. Only you see this list.' };
  page.append(profileTabs([['videos', 'Videos', videos], ['liked', 'Liked', liked]]));
}

// ARIA tabs: arrow keys move between them, the panel shows the chosen grid.
function profileTabs(entries) {
  const panel = h('div', { role: 'tabpanel', id: 'profile-tabpanel', tabindex: '0' });
  const buttons = entries.map(([id, name]) => h('button', { type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': 'profile-tabpanel', class: 'tab' }, name));
  function choose(i, focus = false) {
    buttons.forEach((b, j) => {
      b.setAttribute('aria-selected', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
    });
    panel.setAttribute('aria-labelledby', buttons[i].id);
    panel.replaceChildren();
    videoGrid(panel, entries[i][2]);
    if (focus) buttons[i].focus();
  }
  buttons.forEach((b, i) => {
    b.addEventListener('click', () => choose(i));
    b.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (step) {
        e.preventDefault();
        choose((i + step + buttons.length) % buttons.length, true);
      }
    });
  });
  choose(0);
  return h('div', { class: 'profile-tabs' }, h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Your videos' }, ...buttons), panel);
}

function regionLabel(region) {
  if (typeof region === 'string') return `home region ${region.toUpperCase()}`;
  return `home region ${region?.name || region?.id || ''}`;
}
