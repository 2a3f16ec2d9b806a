// My own account in the browser. The profile's Liked tab shows the videos I
// liked, newest first, behind a tab of their own (arrow keys move between
// the tabs); other people's profiles have no such tab, since likes are kept
// private at the liker's home. Settings change the password: the current
// one is asked for, and the other sessions end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, assertNoConsoleErrors, launch, logIn, makeClip, needs, openPage, PASSWORD, PHONE, screenshot, uniqueHandle } from '../lib/harness.mjs';

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

test('changing the password in settings asks for the current one and signs out the other sessions', async (t) => {
  if (!(await needs(t, ['POST /v1/accounts', 'PUT /v1/me/password']))) return;
  const handle = uniqueHandle('rekey');
  const elsewhere = await new ApiClient().signUp(handle, 'US');
  const page = await openPage(browser, { viewport: PHONE, expected: [/\/v1\/me\/password/] });
  await logIn(page, handle);
  await page.goto('/settings');
  const form = page.getByRole('form', { name: 'Change password' });
  await form.getByLabel('Current password').fill('not my password at all');
  await form.getByLabel('New password').fill('a brand new passphrase');
  await form.getByRole('button', { name: 'Change password' }).click();
  await form.getByText(/not your current password/).waitFor();
  // The other device is still signed in after a refused change.
  await elsewhere.call('GET', '/v1/me');

  await form.getByLabel('Current password').fill(PASSWORD);
  await form.getByLabel('New password').fill('a brand new passphrase');
  await form.getByRole('button', { name: 'Change password' }).click();
  await form.getByText('Password changed. Your other sessions were signed out.').waitFor();
  // The other device's session ended; this one goes on; the new password opens.
  await assert.rejects(elsewhere.call('GET', '/v1/me'), /401/);
  await page.goto('/settings');
  await page.getByRole('form', { name: 'Change password' }).waitFor();
  const fresh = new ApiClient();
  await fresh.call('POST', '/v1/sessions', { handle, password: 'a brand new passphrase' });
  await assert.rejects(new ApiClient().call('POST', '/v1/sessions', { handle, password: PASSWORD }), /401/);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
