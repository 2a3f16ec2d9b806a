// The privacy centre: the archive download, "who accessed my data" verified in
// the browser (and refused when a proof or signature is tampered with in
// transit), and account deletion.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ApiClient, assertNoConsoleErrors, has, launch, logIn, needs, openPage, PHONE, uniqueHandle } from '../lib/harness.mjs';

let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('download my data yields an archive', async (t) => {
  if (!(await needs(t, ['POST /v1/accounts', 'POST /v1/me/exports']))) return;
  const handle = uniqueHandle('saver');
  await new ApiClient().signUp(handle, 'AU');
  const page = await openPage(browser);
  await logIn(page, handle);
  await page.goto('/privacy');
  await page.getByRole('button', { name: 'Download my data' }).click();
  const link = page.getByRole('link', { name: 'Download archive' });
  await link.waitFor({ timeout: 60_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const bytes = fs.readFileSync(await download.path());
  const zip = bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const tar = bytes.subarray(257, 262).toString() === 'ustar';
  assert.ok(zip || gzip || tar, `an archive (zip, gzip or tar), got ${bytes.subarray(0, 8).toString('hex')}`);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

// A real access to the user's data that is logged about them: the
// custodian's export operator carrying out the user's data request.
async function causeStaffAccess(client) {
  if (!(await has('POST', '/v1/me/exports'))) return false;
  let job = await client.call('POST', '/v1/me/exports', {});
  for (let i = 0; i < 300 && job && typeof job === 'object' && !job.download_url && !job.url && job.state !== 'ready' && job.state !== 'failed'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    job = await client.call('GET', `/v1/me/exports/${job.id}`);
  }
  const log = await client.call('GET', '/v1/me/access-log');
  return (log.items || []).length > 0;
}

test('the access log shows "Verified" for a real staff access, and "Failed" when tampered with in transit', async (t) => {
  if (!(await needs(t, ['POST /v1/accounts', 'GET /v1/me/access-log']))) return;
  const handle = uniqueHandle('watched');
  const client = await new ApiClient().signUp(handle, 'US');
  if (!(await causeStaffAccess(client))) return t.skip('no staff access to this user could be caused on this server yet (the export logs none, and there are no staff endpoints)');

  const page = await openPage(browser, { viewport: PHONE });
  await logIn(page, handle);
  await page.goto('/privacy');
  const entries = page.getByRole('list', { name: 'Log entries about you' });
  await entries.waitFor();
  await page.getByText('Signature verified').waitFor();
  assert.equal(await entries.getByText('Verified', { exact: true }).count(), await entries.locator('li').count());
  assert.ok((await entries.locator('li').count()) >= 1);
  // The export the user asked for reads as their own request, not as a
  // stranger's access to their data.
  await entries.getByText(/By your own data export( \(request [^)]+\))?, carried out automatically by the US custodian/).first().waitFor();
  assert.equal(await entries.getByText(/US custodian operator/).count(), 0, 'no entry names the export as a staff member\'s access');
  // Witness cosignatures, where the server publishes the witnesses' keys, all check out.
  assert.doesNotMatch(await page.locator('.access-log .verified-line').textContent(), /FAILED/);

  // The same entries in the ledger crate's InclusionProof shape (no key in the
  // answer: the browser fetches it from /log/<region>/vkey) verify too.
  await page.route('**/v1/me/access-log', async (route) => {
    const response = await route.fetch();
    const answer = await response.json();
    const items = answer.items.map((i) => ({ index: i.index, tree_size: i.tree_size, entry: typeof i.entry === 'string' ? i.entry : i.leaf_b64, proof: i.proof, checkpoint: i.checkpoint ?? answer.checkpoint }));
    await route.fulfill({ response, json: { items } });
  });
  await page.getByRole('button', { name: 'Check again' }).click();
  await page.getByText('Signature verified').waitFor();
  await entries.waitFor();
  assert.equal(await entries.getByText('Verified', { exact: true }).count(), await entries.locator('li').count());
  await page.unroute('**/v1/me/access-log');

  // Flip one bit of the first proof hash on its way to the browser.
  await page.route('**/v1/me/access-log', async (route) => {
    const response = await route.fetch();
    const answer = await response.json();
    const item = answer.items[0];
    const leafField = 'leaf_b64' in item ? 'leaf_b64' : 'entry';
    const bytes = Buffer.from(item.proof[0] || item[leafField], 'base64');
    bytes[0] ^= 0x01;
    if (item.proof.length) item.proof[0] = bytes.toString('base64');
    else item[leafField] = bytes.toString('base64');
    await route.fulfill({ response, json: answer });
  });
  await page.getByRole('button', { name: 'Check again' }).click();
  await entries.getByText('Failed', { exact: true }).first().waitFor();
  assert.match(await entries.locator('li').first().textContent(), /Not verified/);

  // A forged checkpoint signature fails everything.
  await page.unroute('**/v1/me/access-log');
  await page.route('**/v1/me/access-log', async (route) => {
    const response = await route.fetch();
    const answer = await response.json();
    const forge = (note) => note.replace(/\n(\d+)\n/, (_, n) => `\n${Number(n) + 1}\n`);
    if (answer.checkpoint) answer.checkpoint = forge(answer.checkpoint);
    for (const item of answer.items) if (item.checkpoint) item.checkpoint = forge(item.checkpoint);
    await route.fulfill({ response, json: answer });
  });
  await page.getByRole('button', { name: 'Check again' }).click();
  await page.getByText('Signature failed').waitFor();
  assert.equal(await entries.getByText('Verified', { exact: true }).count(), 0);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('deleting the account logs out and hides the profile', async (t) => {
  if (!(await needs(t, ['POST /v1/accounts', 'DELETE /v1/me']))) return;
  const handle = uniqueHandle('leaver');
  await new ApiClient().signUp(handle, 'NZ');
  const page = await openPage(browser, { expected: [new RegExp(`/v1/users/${handle}`), /\b401\b/] });
  await logIn(page, handle);
  await page.goto('/privacy');
  await page.getByText(/destroys your encryption key/).waitFor();
  await page.getByLabel(/Type your handle/).fill(handle);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await page.getByText('Your account is deleted').waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Log in' }).waitFor();
  await page.goto(`/@${handle}`);
  await page.getByText('This account does not exist or has been deleted.').waitFor();
  // The old session is over (logging in again is allowed: it cancels the deletion).
  const me = await page.evaluate(async () => (await fetch('/v1/me', { credentials: 'same-origin' })).status);
  assert.equal(me, 401, 'the session ended with the deletion');
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
