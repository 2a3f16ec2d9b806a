// My profile's Liked tab: the videos I liked, newest first, behind a tab of
// their own (arrow keys move between the tabs); other people's profiles have
// no such tab, since likes are kept private at the liker's home.
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

test('my profile has a Liked tab with the videos I liked; nobody else sees it', async (t) => {
  if (!(await needs(t, ['POST /v1/accounts', 'POST /v1/videos', 'GET /v1/me/likes']))) return;
  const makerHandle = uniqueHandle('maker');
  const maker = await new ApiClient().signUp(makerHandle, 'NZ');
  const liked = await maker.upload(makeClip('liked', { color: 'gold', seconds: 1 }), 'Sunrise over the harbour #liked');
  const handle = uniqueHandle('liker');
  const liker = await new ApiClient().signUp(handle, 'AU');
  await liker.call('PUT', `/v1/videos/${liked.id}/like`);

  const page = await openPage(browser, { viewport: PHONE });
  await logIn(page, handle);
  await page.goto(`/@${handle}`);
  const tabs = page.getByRole('tablist', { name: 'Your videos' });
  const videosTab = tabs.getByRole('tab', { name: 'Videos' });
  const likedTab = tabs.getByRole('tab', { name: 'Liked' });
  await videosTab.waitFor();
  assert.equal(await videosTab.getAttribute('aria-selected'), 'true');
  await page.getByText('You have not posted a video yet.').waitFor();
  // The keyboard moves to the Liked tab, as the mouse would.
  await videosTab.focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await likedTab.getAttribute('aria-selected'), 'true');
  const grid = page.getByRole('list', { name: 'Videos you liked' });
  const tile = grid.getByRole('link', { name: /Sunrise over the harbour/ });
  await tile.waitFor();
  assert.equal(await tile.getAttribute('href'), `/v/${liked.id}`);
  await screenshot(page, 'liked');

  // On someone else's profile: their videos, no tabs.
  await page.goto(`/@${makerHandle}`);
  await page.getByRole('list', { name: `Videos by @${makerHandle}` }).waitFor();
  assert.equal(await page.getByRole('tablist').count(), 0);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
