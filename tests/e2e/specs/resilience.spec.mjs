// Bad states the client must survive with a readable message: no network, an
// expired session, a video that will not load, problem answers and endpoints
// the server does not have.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, assertNoConsoleErrors, launch, logIn, makeClip, needs, openPage, PHONE, uniqueHandle } from '../lib/harness.mjs';

let browser;
let handle;
let videoId;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function seeded(t) {
  if (!(await needs(t, ['POST /v1/accounts', 'POST /v1/sessions', 'POST /v1/videos']))) return false;
  if (!handle) {
    handle = uniqueHandle('sturdy');
    const client = await new ApiClient().signUp(handle, 'NZ');
    videoId = (await client.upload(makeClip('sturdy', { color: 'navy', seconds: 1 }), 'Still standing #resilience')).id;
  }
  return true;
}

test('a logged-out visitor gets a way in on the feed, not a blank screen', async () => {
  const page = await openPage(browser, { viewport: PHONE });
  await page.goto('/');
  await page.locator('main').getByText(/Log in or sign up/).waitFor();
  await page.locator('main').getByRole('link', { name: 'Sign up', exact: true }).waitFor();
  // Either popular videos (a server that shows visitors a feed) or the way in, never nothing.
  await page.locator('main article.slide, main .feed-signed-out, main .feed-status').first().waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('when the server shows visitors no feed, they get the way in instead', async () => {
  const page = await openPage(browser, { viewport: PHONE, expected: [/\/v1\/feed\/for-you/] });
  await page.route('**/v1/feed/for-you*', (route) => route.fulfill({
    status: 401, contentType: 'application/problem+json',
    body: JSON.stringify({ type: '/problems/unauthorized', title: 'Unauthorized', status: 401, detail: 'Log in first.', instance: null }),
  }));
  await page.goto('/');
  await page.locator('main .feed-signed-out').getByRole('link', { name: 'Sign up' }).waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('an unknown address shows "Page not found"', async () => {
  const page = await openPage(browser);
  await page.goto('/no/such/page');
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('going offline shows a banner and readable errors, and coming back hides it', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { expected: [/ERR_INTERNET_DISCONNECTED/] });
  await page.goto('/search');
  await page.getByRole('searchbox', { name: 'Search' }).waitFor();
  await page.context().setOffline(true);
  await page.getByText("You're offline").waitFor();
  await page.getByRole('searchbox', { name: 'Search' }).fill('resilience');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText("Can't reach Sovereel").waitFor();
  await page.context().setOffline(false);
  await page.getByText("You're offline").waitFor({ state: 'hidden' });
  // A screen whose code cannot be fetched while offline says so too.
  await page.context().setOffline(true);
  await page.getByRole('link', { name: 'Transparency' }).click();
  await page.getByText("Can't load this screen").waitFor();
  await page.context().setOffline(false);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('an expired session sends the viewer back to log in, with a message', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { expected: [/\b401\b/] });
  await logIn(page, handle);
  await page.goto(`/v/${videoId}`);
  await page.locator('article.slide').waitFor();
  await page.context().clearCookies();
  await page.getByRole('button', { name: 'Like', exact: true }).click();
  await page.waitForURL(/\/login\?next=/);
  await page.getByText('Your session has expired').waitFor();
  await page.getByRole('heading', { name: 'Log in to Sovereel' }).waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('a video that fails to load says so and offers a retry', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { expected: [/\/stream$/, /\b503\b/] });
  await page.route('**/v1/videos/*/stream', (route) => route.fulfill({ status: 503, contentType: 'text/plain', body: 'unavailable' }));
  await page.goto(`/v/${videoId}`);
  await page.getByText('This video could not be loaded.').waitFor();
  await page.getByRole('button', { name: 'Retry' }).waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('a 4xx problem answer is shown in words', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { expected: [/\b4(03|09|22)\b/] });
  // A real 409 from the server: the handle is taken.
  await page.goto('/signup');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Email').fill('someone@example.com');
  await page.getByLabel('Password').fill('long enough password');
  await page.getByLabel('Date of birth').fill('1990-01-01');
  const select = page.locator('select#signup-country');
  if (await select.count()) await select.selectOption('NZ');
  else await page.locator('#signup-country').fill('NZ');
  await page.getByRole('button', { name: 'Sign up' }).click();
  const alert = page.getByRole('alert').filter({ hasText: /\S/ });
  await alert.waitFor();
  assert.ok((await alert.textContent()).length > 5);
  assert.equal(new URL(page.url()).pathname, '/signup');
  // Said once, under the field it is about, which has the focus.
  assert.equal(await alert.count(), 1);
  assert.equal(await page.locator('#signup-handle-error').textContent(), 'That handle is taken. Try another.');
  assert.equal(await page.getByLabel('Handle').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'signup-handle');
  // A field rule broken: the server's words, under that field.
  await page.getByLabel('Handle').fill('fresh_name_ok.');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText("Must not end with '.'").waitFor();
  assert.equal(await page.getByRole('alert').filter({ hasText: /\S/ }).count(), 1);

  // Any call may answer with a problem: its title and detail reach the screen.
  await page.route('**/v1/search?*', (route) => route.fulfill({
    status: 403, contentType: 'application/problem+json',
    body: JSON.stringify({ type: '/problems/forbidden', title: 'Forbidden', status: 403, detail: 'Search is closed for maintenance.', instance: '/v1/search' }),
  }));
  await page.goto('/search?q=anything');
  await page.getByText('Forbidden: Search is closed for maintenance.').waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('a screen whose endpoint the server lacks says "not available yet"', async () => {
  const page = await openPage(browser, { expected: [/\/v1\/search/, /\/v1\/transparency/] });
  // As the server answers a route it does not have: a 404 problem.
  const missing = (route) => route.fulfill({
    status: 404, contentType: 'application/problem+json',
    body: JSON.stringify({ type: '/problems/not-found', title: 'Not found', status: 404, detail: 'no such endpoint', instance: null }),
  });
  await page.route('**/v1/search?*', missing);
  await page.goto('/search?q=anything');
  await page.getByText('This is not available on this server yet.').waitFor();

  // Transparency falls back to the regions and their logs.
  await page.route('**/v1/transparency', missing);
  await page.goto('/transparency');
  await page.getByText('does not publish release approvals and witness lists yet').waitFor();
  await page.locator('article.region').first().waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('an upload the server refuses explains why', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { expected: [/\/v1\/videos$/, /\b4\d\d\b/] });
  await logIn(page, handle);
  await page.goto('/upload');
  await page.getByLabel('Video file').setInputFiles({ name: 'notes.mp4', mimeType: 'video/mp4', buffer: Buffer.from('these are not the frames you are looking for\n'.repeat(20)) });
  await page.getByLabel('Caption').fill('Not a video #oops');
  await page.getByRole('button', { name: 'Post' }).click();
  const alert = page.locator('form.upload-form [role="alert"]').filter({ hasText: /\S/ });
  await alert.waitFor();
  assert.doesNotMatch(await alert.textContent(), /^Something went wrong\.?$/);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
