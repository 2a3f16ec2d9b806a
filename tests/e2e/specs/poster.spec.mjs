// Without ffmpeg the server serves uploads as they are and cannot cut a
// poster, so the browser draws one from a frame and sends it along. run.sh runs
// this file a second time against a server started with SOVEREEL_TRANSCODE=false.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, assertNoConsoleErrors, BASE, launch, logIn, makeClip, needs, openPage, uniqueHandle } from '../lib/harness.mjs';

let browser;
let viewer;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function seeded(t) {
  if (!(await needs(t, ['POST /v1/accounts', 'POST /v1/videos']))) return false;
  viewer = uniqueHandle('poster');
  await new ApiClient().signUp(viewer, 'NZ');
  return true;
}

test('without ffmpeg on the server, the browser sends a poster frame with the upload', async (t) => {
  if (!(await seeded(t))) return;
  const server = await (await fetch(new URL('/v1/server', BASE))).json().catch(() => null);
  if (!server || server.ffmpeg !== false) return t.skip('the server has ffmpeg (or no /v1/server), so it makes posters itself');
  const page = await openPage(browser);
  await logIn(page, viewer);
  await page.goto('/upload');
  await page.getByLabel('Video file').setInputFiles(makeClip('poster', { color: 'gold', seconds: 2 }));
  await page.getByRole('img', { name: 'Poster frame made from the video' }).waitFor();
  await page.getByLabel('Caption').fill('Poster check #knives');
  // Without ffmpeg the server cannot make a poster, so one it serves came from the browser.
  await page.getByRole('button', { name: 'Post' }).click();
  await page.getByText('Your video is ready.').waitFor();
  const id = (await page.getByRole('link', { name: 'Watch it' }).getAttribute('href')).split('/').pop();
  const video = await (await fetch(new URL(`/v1/videos/${id}`, BASE), { headers: { Cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } })).json();
  assert.ok(video.poster_url, 'the video has a poster (sent as the multipart part "poster")');
  const poster = await fetch(new URL(video.poster_url, BASE), { headers: { Cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } });
  assert.equal(poster.status, 200);
  assert.deepEqual([...new Uint8Array(await poster.arrayBuffer()).slice(0, 2)], [0xff, 0xd8], 'a JPEG');
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
