// The staff console: staff sign in apart from users and see what their role
// allows. run.sh creates the staff accounts with `sovereel staff create` and
// passes them as SOVEREEL_E2E_STAFF=region:handle:password,…
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, assertNoConsoleErrors, launch, makeClip, needs, openPage, PHONE, uniqueHandle } from '../lib/harness.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const accounts = (process.env.SOVEREEL_E2E_STAFF || '').split(',').filter(Boolean).map((s) => {
  const [region, handle, ...rest] = s.split(':');
  return { region, handle, password: rest.join(':') };
});

async function signIn(page, { region, handle, password }) {
  await page.goto('/staff');
  await page.getByLabel('Region of your staff account').selectOption(region);
  await page.getByLabel('Staff handle').fill(handle);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in as staff' }).click();
}

test('a wrong staff password is refused in words', async (t) => {
  if (!(await needs(t, ['POST /v1/staff/sessions']))) return;
  const page = await openPage(browser, { viewport: PHONE, expected: [/\/v1\/staff\/sessions/] });
  await signIn(page, { region: 'us', handle: 'nobody_here', password: 'not the password' });
  await page.getByText('That staff handle and password do not match an account in this region.').waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('a custodian support agent sees an account status, then signs out', async (t) => {
  const agent = accounts.find((a) => a.handle === 'e2e_support') || accounts.find((a) => a.region !== 'global');
  if (!agent) return t.skip('no staff account given (run.sh creates them with `sovereel staff create`)');
  const user = uniqueHandle('helped');
  await new ApiClient().signUp(user, agent.region.toUpperCase());
  const page = await openPage(browser);
  await signIn(page, agent);
  await page.getByText(`Signed in as ${agent.handle}`).waitFor();
  await page.getByLabel('Handle', { exact: true }).fill(user);
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByText('active', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in as staff' }).waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('platform staff see aggregates only', async (t) => {
  const platform = accounts.find((a) => a.region === 'global');
  if (!platform) return t.skip('no platform staff account given');
  const page = await openPage(browser);
  await signIn(page, platform);
  await page.getByRole('heading', { name: 'Platform aggregates' }).waitFor();
  await page.getByRole('table').waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Account status' }).count(), 0, 'no account lookups for platform staff');
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('a custodian operator sees the releases, and a bad release note is refused in words', async (t) => {
  const operator = accounts.find((a) => a.handle === 'e2e_operator');
  if (!operator) return t.skip('no custodian operator account given');
  const page = await openPage(browser, { expected: [/\/v1\/staff\/regions\/[a-z]+\/approvals/] });
  await signIn(page, operator);
  await page.getByText('Active release').waitFor();
  await page.getByLabel('Platform-signed release note').fill('not a signed note\n');
  await page.getByRole('button', { name: 'Approve for this region' }).click();
  const refusal = page.locator('#approve-title').locator('xpath=..').locator('[role="alert"], .notice');
  await refusal.waitFor();
  assert.doesNotMatch(await refusal.textContent(), /^Something went wrong\.?$|not available/);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('a moderator takes a reported case, reads the item and labels it with a statement of reasons', async (t) => {
  const moderator = accounts.find((a) => a.handle === 'e2e_moderator');
  if (!moderator) return t.skip('no moderator account given');
  if (!(await needs(t, ['POST /v1/reports', 'GET /v1/staff/cases']))) return;
  const creator = await new ApiClient().signUp(uniqueHandle('claims'), 'AU');
  const clip = makeClip('claim', { color: 'darkred', seconds: 1 });
  const video = await creator.upload(clip, 'Miracle cure, no evidence #health');
  const reporter = await new ApiClient().signUp(uniqueHandle('reporter'), 'US');
  await reporter.call('POST', '/v1/reports', { video_id: video.id, category: 'misinformation', details: 'claims a cure' });

  const page = await openPage(browser);
  await signIn(page, moderator);
  await page.getByRole('heading', { name: 'Moderation queue' }).waitFor();
  const row = page.locator('li.case', { hasText: video.id });
  await row.getByRole('button', { name: 'Take case' }).click();
  await row.getByText('Miracle cure, no evidence #health').waitFor();
  await row.getByLabel('Action').selectOption('label');
  await row.getByLabel('Ground (the rule or law)').fill('Terms 4.2: health misinformation');
  await row.getByLabel('Facts relied on').fill('The video claims a cure with no evidence.');
  await row.getByRole('button', { name: 'Act on the case' }).click();
  await page.getByText(/Case closed; recorded as ledger entry \d+/).waitFor();
  const after = await reporter.call('GET', `/v1/videos/${encodeURIComponent(video.id)}`);
  assert.deepEqual(after.labels, ['misinformation']);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
