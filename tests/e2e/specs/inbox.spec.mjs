// The inbox in the browser: a creator's bell counts what others did, the
// inbox groups a day's likes ("@a and 1 other liked your video") with links
// to the people and the video, opening it marks everything read, and a new
// comment lights the bell again without a reload (the badge polls).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, assertNoConsoleErrors, launch, logIn, makeClip, needs, openPage, PHONE, screenshot, uniqueHandle } from '../lib/harness.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the bell counts likes, follows and comments; the inbox groups them and marks them read', async (t) => {
  if (!(await needs(t, ['POST /v1/accounts', 'POST /v1/videos', 'GET /v1/me/notifications', 'GET /v1/me/notifications/unread']))) return;
  const handle = uniqueHandle('told');
  const creator = await new ApiClient().signUp(handle, 'AU');
  const video = await creator.upload(makeClip('inbox', { color: 'teal', seconds: 1 }), 'Morning swim #ocean');
  // Two viewers in another region like it; one follows the creator.
  const fans = [];
  for (const prefix of ['fan_a', 'fan_b']) {
    const h = uniqueHandle(prefix);
    fans.push({ handle: h, client: await new ApiClient().signUp(h, 'US') });
  }
  for (const f of fans) await f.client.call('PUT', `/v1/videos/${video.id}/like`);
  await fans[0].client.call('PUT', `/v1/users/${handle}/follow`);
  // The notifications cross from the viewers' home to the creator's.
  for (let i = 0; i < 100; i++) {
    const { unread } = await creator.call('GET', '/v1/me/notifications/unread');
    if (unread >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const page = await openPage(browser, { viewport: PHONE });
  await logIn(page, handle);
  const bell = page.locator('#nav-inbox');
  await page.locator('#inbox-badge:not([hidden])').waitFor();
  assert.equal(await page.locator('#inbox-badge').textContent(), '2');
  assert.equal(await bell.getAttribute('aria-label'), 'Inbox, 2 unread');

  await bell.click();
  await page.waitForURL('**/inbox');
  const list = page.getByRole('list', { name: 'Notifications' });
  const like = list.locator('li[data-kind="like"]');
  await like.waitFor();
  const liked = await like.textContent();
  assert.match(liked, new RegExp(`@(${fans[0].handle}|${fans[1].handle}) and 1 other liked your video`));
  assert.equal(await like.getByRole('link', { name: 'See the video' }).getAttribute('href'), `/v/${video.id}`);
  const follow = list.locator('li[data-kind="follow"]');
  assert.match(await follow.textContent(), new RegExp(`@${fans[0].handle} started following you`));
  assert.equal(await follow.getByRole('link', { name: `@${fans[0].handle}` }).getAttribute('href'), `/@${fans[0].handle}`);
  assert.equal(await list.locator('li.unread').count(), 2, 'both lines unread while first shown');
  await screenshot(page, 'inbox');
  // Shown, so read: the badge goes away, and the server agrees.
  await page.locator('#inbox-badge[hidden]').waitFor({ state: 'attached' });
  assert.equal((await creator.call('GET', '/v1/me/notifications/unread')).unread, 0);

  // A comment with a mention arrives while the page stays open: the bell
  // lights up again without a reload, and the mention links to the profile.
  await page.goto('/');
  await fans[1].client.call('POST', `/v1/videos/${video.id}/comments`, { text: `So calm, @${handle}!` });
  await page.locator('#inbox-badge:not([hidden])').waitFor({ timeout: 45_000 });
  await bell.click();
  const mention = list.locator('li[data-kind="comment"], li[data-kind="mention"]').first();
  await mention.waitFor();
  assert.equal(await mention.getByRole('link', { name: `@${handle}` }).first().getAttribute('href'), `/@${handle}`);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
