// The staff console: staff sign in apart from users and see what their role
// allows. run.sh creates the staff accounts with `sovereel staff create` and
// passes them as SOVEREEL_E2E_STAFF=region:handle:password,…
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, assertNoConsoleErrors, launch, needs, openPage, PHONE, uniqueHandle } from '../lib/harness.mjs';

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

// Moderators' work in the console: specs/moderation.spec.mjs.
