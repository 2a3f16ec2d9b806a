// Trust and safety in the browser: a moderator works a case end to end in
// the staff console, playing the reported video; the creator reads the
// statement of reasons and appeals; a viewer meets the label and the
// "share anyway?" prompt; and each staff role's console offers only what
// the policy lets that role do. run.sh makes the staff accounts
// (SOVEREEL_E2E_STAFF=region:handle:password,…).
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

const accounts = (process.env.SOVEREEL_E2E_STAFF || '').split(',').filter(Boolean).map((s) => {
  const [region, handle, ...rest] = s.split(':');
  return { region, handle, password: rest.join(':') };
});

async function staffSignIn(page, { region, handle, password }) {
  await page.goto('/staff');
  await page.getByLabel('Region of your staff account').selectOption(region);
  await page.getByLabel('Staff handle').fill(handle);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in as staff' }).click();
  await page.getByText(`Signed in as ${handle}`).waitFor();
}

// One labelled video, made once: a creator in AU, a report, a moderator's
// decision in the console. The later tests use what this one leaves.
const story = {};

test('a moderator works a case in the console, playing the video, and labels it with a statement', async (t) => {
  const moderator = accounts.find((a) => a.handle === 'e2e_moderator');
  if (!moderator) return t.skip('no moderator account given (run.sh creates them)');
  if (!(await needs(t, ['POST /v1/reports', 'GET /v1/staff/cases', 'GET /v1/staff/me']))) return;
  story.creatorHandle = uniqueHandle('creator');
  const creator = await new ApiClient().signUp(story.creatorHandle, 'AU');
  const caption = `Drinking seawater cures colds ${story.creatorHandle}`;
  const video = await creator.upload(makeClip('seawater', { color: 'teal', seconds: 2 }), caption);
  story.video = video;
  for (const country of ['US', 'NZ']) {
    const reporter = await new ApiClient().signUp(uniqueHandle('rep'), country);
    await reporter.call('POST', '/v1/reports', { target: { video_id: video.id }, category: 'misinformation', note: 'a false health claim' });
  }

  const page = await openPage(browser);
  await staffSignIn(page, moderator);
  await page.getByRole('heading', { name: 'Moderation queue' }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Account status' }).count(), 0, 'the policy gives moderators no account lookups');
  await page.locator('.queue-counts').filter({ hasText: /\d+ open/ }).waitFor();
  // The case is shown by the video's caption and poster, with its report count and time in words.
  const row = page.locator('li.case', { hasText: caption });
  await row.getByText('2 reports').waitFor();
  await row.locator('time').filter({ hasText: /ago|just now/ }).waitFor();
  assert.doesNotMatch(await row.textContent(), new RegExp(video.id), 'no raw ids in the queue');
  await row.getByRole('button', { name: 'Take case' }).click();

  // The reported video plays in the console, through the ledgered grant.
  const player = row.locator('video.case-video');
  await player.waitFor();
  await player.evaluate((v) => { v.muted = true; return v.play(); });
  await page.waitForFunction((sel) => document.querySelector(sel)?.currentTime > 0.2, `li.case[data-case] video.case-video`);
  await screenshot(page, 'moderation-case');

  await row.getByLabel('Decision', { exact: true }).selectOption('label');
  await row.getByLabel('Label', { exact: true }).selectOption('misleading');
  await row.getByLabel('Fact-check note shown beside the label (optional)').fill('Drinking seawater dehydrates you; it cures nothing.');
  await row.getByLabel('Ground', { exact: true }).selectOption('terms');
  await row.getByLabel('The clause or the law relied on').fill('Community Guidelines §4.2 (harmful health claims)');
  await row.getByLabel('Facts and circumstances relied on').fill('The video tells viewers to drink seawater against colds; health authorities warn it is harmful.');
  await row.getByRole('button', { name: 'Decide' }).click();
  await page.getByText(/Decided\. It is on the region’s log as entry \d+/).waitFor();

  const plays = await new ApiClient().call('GET', `/v1/videos/${encodeURIComponent(video.id)}`);
  assert.equal(plays.labels[0].kind, 'misleading');
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('a viewer meets the label and is asked before sharing', async (t) => {
  if (!story.video) return t.skip('needs the labelled video of the first test');
  const viewer = uniqueHandle('viewer');
  await new ApiClient().signUp(viewer, 'US');
  const page = await openPage(browser, { viewport: PHONE });
  await logIn(page, viewer);
  await page.goto(`/v/${encodeURIComponent(story.video.id)}`);
  const banner = page.locator('.label-banner[data-label="misleading"]');
  await banner.waitFor();
  assert.match(await banner.textContent(), /Misleading: independent fact-checkers dispute this.*seawater dehydrates/);
  await page.getByRole('button', { name: 'Share' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Share anyway?' });
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /labelled: Misleading/);
  await screenshot(page, 'share-anyway');
  await dialog.getByRole('button', { name: 'Share anyway' }).click();
  await page.getByText('Link copied.').waitFor();
  // The share counted only once confirmed.
  let shares = 0;
  for (let i = 0; i < 40 && shares === 0; i++) {
    shares = (await new ApiClient().call('GET', `/v1/videos/${encodeURIComponent(story.video.id)}`)).counts.shares;
    if (!shares) await page.waitForTimeout(100);
  }
  assert.equal(shares, 1);
  // Declining shares nothing.
  await page.getByRole('button', { name: 'Share' }).first().click();
  await page.getByRole('dialog', { name: 'Share anyway?' }).getByRole('button', { name: 'Don’t share' }).click();
  assert.equal((await new ApiClient().call('GET', `/v1/videos/${encodeURIComponent(story.video.id)}`)).counts.shares, 1);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('the creator reads the statement of reasons and appeals', async (t) => {
  if (!story.video) return t.skip('needs the labelled video of the first test');
  const page = await openPage(browser);
  await logIn(page, story.creatorHandle);
  await page.goto('/privacy');
  await page.getByRole('link', { name: 'see your decisions' }).click();
  await page.getByRole('heading', { name: 'Decisions about my content' }).waitFor();
  const card = page.locator('li.decision').first();
  await card.getByText(/Your video was labelled "Misleading/).waitFor();
  for (const field of ['Where it applies', 'Facts relied on', 'Automated means', 'Ground', 'Your options']) {
    await card.getByText(field, { exact: true }).waitFor();
  }
  assert.match(await card.textContent(), /Community Guidelines §4\.2/);
  assert.match(await card.textContent(), /No automated means were used/);
  await screenshot(page, 'statement-of-reasons');
  await card.getByLabel(/Appeal this decision/).fill('Seawater is a folk remedy I present as folklore, and I say so at the end.');
  await card.getByRole('button', { name: 'Send appeal' }).click();
  await page.getByText('Your appeal is waiting for a moderator.').waitFor();

  // The appeal is in the queue for a moderator other than the one who decided.
  const second = accounts.find((a) => a.handle === 'e2e_moderator2');
  if (second) {
    const staff = await openPage(browser);
    await staffSignIn(staff, second);
    const row = staff.locator('li.case[data-kind="appeal"]', { hasText: 'folk remedy' });
    await row.getByRole('button', { name: 'Take case' }).click();
    await row.getByText('The decision appealed').waitFor();
    await row.getByLabel('Decision', { exact: true }).selectOption('reverse');
    await row.getByLabel('Facts and circumstances relied on').fill('On review the clip presents the remedy as folklore and says it does not work.');
    await row.getByRole('button', { name: 'Decide' }).click();
    await staff.getByText(/Decided\./).waitFor();
    assertNoConsoleErrors(assert, staff);
    await staff.context().close();
    const restored = await new ApiClient().call('GET', `/v1/videos/${encodeURIComponent(story.video.id)}`);
    assert.deepEqual(restored.labels, [], 'a reversal takes the label off');
  }
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('each role’s console offers only what the policy allows it', async (t) => {
  if (!accounts.length) return t.skip('no staff accounts given');
  if (!(await needs(t, ['GET /v1/staff/me']))) return;
  const expected = {
    e2e_moderator: { shown: ['Moderation queue', 'Editorial intervention', 'Platform aggregates'], hidden: ['Account status', 'Sign an algorithm release'] },
    e2e_support: { shown: ['Account status', 'Platform aggregates'], hidden: ['Moderation queue', 'Editorial intervention'] },
    e2e_operator: { shown: ['Approve an algorithm release', 'Platform aggregates'], hidden: ['Account status', 'Moderation queue'] },
    e2e_platform: { shown: ['Platform aggregates'], hidden: ['Account status', 'Moderation queue', 'Editorial intervention'] },
  };
  for (const account of accounts) {
    const want = expected[account.handle];
    if (!want) continue;
    const page = await openPage(browser);
    const refused = [];
    page.on('response', (r) => {
      if (/\/v1\/staff\//.test(r.url()) && r.status() === 403) refused.push(`${r.request().method()} ${new URL(r.url()).pathname}`);
    });
    await staffSignIn(page, account);
    await page.getByRole('heading', { name: want.shown[0] }).waitFor();
    for (const name of want.shown) await page.getByRole('heading', { name }).waitFor();
    for (const name of want.hidden) assert.equal(await page.getByRole('heading', { name }).count(), 0, `${account.handle} is not offered ${name}`);
    // Let every section finish loading: none of them may be refused.
    await page.waitForLoadState('networkidle');
    assert.deepEqual(refused, [], `${account.handle}: the console asked for something the policy refuses`);
    assertNoConsoleErrors(assert, page);
    await page.context().close();
  }
});
