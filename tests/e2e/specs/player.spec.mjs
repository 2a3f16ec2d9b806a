// The player: a seek slider you drag or move with the keys, the time, speed,
// full screen, keyboard shortcuts and their help dialog; Back from a profile
// returns to the same video at the same place; sharing through the system
// sheet or, without one, by copying the link.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiClient, assertNoConsoleErrors, BASE, DESKTOP, launch, logIn, needs, openFeedUntilVideo, openPage, PHONE, ROOT, screenshot, uniqueHandle } from '../lib/harness.mjs';

const SECONDS = 12;
let browser;
let creatorHandle;
let viewer;
const videos = [];

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// A clip with moving content and a running clock, so a seek shows on screen.
function clip(name, hue) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sovereel-player-'));
  const file = path.join(dir, `${name}.mp4`);
  execFileSync('ffmpeg', ['-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=s=360x640:d=${SECONDS}:r=24,hue=h=${hue}`,
    '-f', 'lavfi', '-i', `sine=frequency=330:duration=${SECONDS}`,
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', file]);
  return file;
}

async function seeded(t) {
  if (!(await needs(t, ['POST /v1/accounts', 'POST /v1/videos', 'GET /v1/feed/for-you']))) return false;
  if (!viewer) {
    creatorHandle = uniqueHandle('reel');
    const creator = await new ApiClient().signUp(creatorHandle, 'NZ');
    for (let i = 0; i < 3; i++) videos.push(await creator.upload(clip(`player${i}`, i * 120), `Scrub test ${i} #player`));
    viewer = uniqueHandle('scrub');
    await new ApiClient().signUp(viewer, 'US');
  }
  return true;
}

// A video page with its media loaded, paused, so positions stay put.
async function openPaused(page, id) {
  await page.goto(`/v/${id}`);
  const slide = page.locator('article.slide.active');
  await slide.waitFor();
  await page.waitForFunction(() => document.querySelector('article.slide.active video')?.readyState >= 1);
  const pause = slide.getByRole('button', { name: 'Pause' });
  if (await pause.count()) await pause.click();
  await page.waitForFunction(() => document.querySelector('article.slide.active video')?.paused === true);
  return slide;
}

// For You hides what a viewer has seen, so the feed tests each bring a new viewer.
async function newViewer() {
  const handle = uniqueHandle('feedview');
  await new ApiClient().signUp(handle, 'AU');
  return handle;
}

const currentTime = (page) => page.evaluate(() => document.querySelector('article.slide.active video').currentTime);

test('the seek slider drags the video to a new position, and the keys move it', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser);
  await logIn(page, viewer);
  const slide = await openPaused(page, videos[0].id);
  const seek = slide.getByRole('slider', { name: 'Seek' });
  await seek.waitFor();
  assert.equal(Math.round(Number(await seek.getAttribute('max'))), SECONDS, 'the slider spans the video');

  // Drag the thumb from the start to three quarters of the track.
  const box = await seek.boundingBox();
  await page.mouse.move(box.x + 2, box.y + box.height / 2);
  await page.mouse.down();
  for (const f of [0.25, 0.5, 0.75]) await page.mouse.move(box.x + box.width * f, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction(() => !document.querySelector('article.slide.active video').seeking);
  const dragged = await currentTime(page);
  assert.ok(Math.abs(dragged - SECONDS * 0.75) < 1, `currentTime ${dragged} after dragging to 75%`);
  const clock = (s) => `0:${String(Math.floor(s)).padStart(2, '0')}`;
  assert.equal(await seek.getAttribute('aria-valuetext'), `${clock(dragged)} of ${clock(SECONDS)}`);
  assert.equal(await slide.locator('.time').innerText(), `${clock(dragged)} / ${clock(SECONDS)}`);

  // Keyboard: the slider's own arrows move 5 seconds, Home and End the ends.
  await seek.focus();
  await page.keyboard.press('ArrowLeft');
  assert.ok(Math.abs((await currentTime(page)) - (dragged - 5)) < 0.3, 'ArrowLeft goes back 5 s');
  await page.keyboard.press('Home');
  assert.equal(await currentTime(page), 0);
  assert.equal(await seek.getAttribute('aria-valuetext'), `0:00 of ${clock(SECONDS)}`);
  await page.keyboard.press('ArrowRight');
  assert.ok(Math.abs((await currentTime(page)) - 5) < 0.3, 'ArrowRight goes forward 5 s');
  assert.equal(Number(await seek.inputValue()), await currentTime(page), 'the slider value is the position');
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('keyboard shortcuts play, pause, seek, mute and change speed; ? lists them in a dialog', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser);
  await logIn(page, viewer);
  const slide = await openPaused(page, videos[1].id);
  await page.locator('.feed').focus();
  const video = (fn) => page.evaluate(fn);

  await page.keyboard.press('5');
  assert.ok(Math.abs((await currentTime(page)) - SECONDS * 0.5) < 0.3, '5 jumps to half way');
  await page.keyboard.press('l');
  assert.ok(Math.abs((await currentTime(page)) - Math.min(SECONDS * 0.5 + 10, SECONDS)) < 0.3, 'l goes forward 10 s (at most to the end)');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  assert.ok((await currentTime(page)) < SECONDS * 0.5, 'j goes back');
  await page.keyboard.press('ArrowRight');
  const afterArrow = await currentTime(page);
  await page.keyboard.press('ArrowLeft');
  assert.ok(Math.abs((await currentTime(page)) - (afterArrow - 5)) < 0.3, 'ArrowLeft goes back 5 s');

  await page.keyboard.press('k');
  await page.waitForFunction(() => !document.querySelector('article.slide.active video').paused);
  await slide.getByRole('button', { name: 'Pause' }).waitFor();
  await page.keyboard.press('k');
  await page.waitForFunction(() => document.querySelector('article.slide.active video').paused);
  await slide.getByRole('button', { name: 'Play', exact: true }).waitFor();

  const wasMuted = await video(() => document.querySelector('article.slide.active video').muted);
  await page.keyboard.press('m');
  assert.equal(await video(() => document.querySelector('article.slide.active video').muted), !wasMuted, 'm toggles the sound');

  await page.keyboard.press('>');
  assert.equal(await video(() => document.querySelector('article.slide.active video').playbackRate), 1.25, '> is faster');
  assert.equal(await slide.getByRole('combobox', { name: 'Playback speed' }).inputValue(), '1.25');
  await page.keyboard.press('<');
  await page.keyboard.press('<');
  assert.equal(await video(() => document.querySelector('article.slide.active video').playbackRate), 0.75, '< is slower');

  // The help dialog: named, keeps focus inside, closes with Escape, gives focus back.
  await page.locator('.feed').focus();
  await page.keyboard.press('Shift+Slash');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  for (const key of ['k', 'j', 'l', 'm', 'f', 'c', '?']) {
    assert.ok(await help.locator('kbd').filter({ hasText: new RegExp(`^${key.replace(/[?]/, '\\?')}$`) }).count(), `the help lists ${key}`);
  }
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(() => Boolean(document.activeElement?.closest('dialog[open]'))), 'Tab stays in the dialog');
  }
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('feed')), true, 'focus returns to the feed');
  // While the dialog is open, the shortcuts do not reach the player.
  await page.keyboard.press('?');
  await help.waitFor();
  const before = await currentTime(page);
  await page.keyboard.press('l');
  assert.equal(await currentTime(page), before);
  await help.getByRole('button', { name: 'Close' }).click();
  await help.waitFor({ state: 'detached' });

  // The same dialog from the options menu, for people without a keyboard shortcut in mind.
  await slide.getByRole('button', { name: 'More options' }).click();
  await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
  await help.waitFor();
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('the speed menu sets the playback rate, and it follows the viewer to the next video', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { viewport: PHONE });
  await logIn(page, await newViewer());
  await openFeedUntilVideo(page, '/');
  const speed = page.locator('article.slide.active').getByRole('combobox', { name: 'Playback speed' });
  await speed.selectOption('1.5');
  assert.equal(await page.evaluate(() => document.querySelector('article.slide.active video').playbackRate), 1.5);
  const first = await page.locator('article.slide.active').getAttribute('data-index');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction((at) => document.querySelector('article.slide.active')?.dataset.index !== at, first);
  assert.equal(await page.evaluate(() => document.querySelector('article.slide.active video').playbackRate), 1.5);
  assert.equal(await page.locator('article.slide.active').getByRole('combobox', { name: 'Playback speed' }).inputValue(), '1.5');
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('full screen: the button and f put the video full screen, and take it back', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser);
  await logIn(page, viewer);
  const slide = await openPaused(page, videos[2].id);
  await slide.getByRole('button', { name: 'Full screen' }).click();
  await page.waitForFunction(() => document.fullscreenElement?.classList.contains('stage'));
  assert.equal(await page.evaluate(() => document.fullscreenElement.contains(document.querySelector('article.slide.active video'))), true);
  await slide.getByRole('button', { name: 'Exit full screen' }).click();
  await page.waitForFunction(() => document.fullscreenElement === null);
  await slide.getByRole('button', { name: 'Full screen' }).waitFor();

  await page.locator('.feed').focus();
  await page.keyboard.press('f');
  await page.waitForFunction(() => document.fullscreenElement?.classList.contains('stage'));
  // The controls stay usable full screen.
  await slide.getByRole('slider', { name: 'Seek' }).waitFor();
  await page.keyboard.press('f');
  await page.waitForFunction(() => document.fullscreenElement === null);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('Back from a profile returns to the same video, at the same scroll position', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { viewport: PHONE });
  await logIn(page, await newViewer());
  await openFeedUntilVideo(page, '/');
  for (const target of ['1', '2']) {
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction((at) => document.querySelector('article.slide.active')?.dataset.index === at, target);
  }
  // Let smooth scrolling settle on the snapped slide before measuring.
  await page.waitForFunction(() => {
    const feed = document.querySelector('.feed');
    const slide = document.querySelector('article.slide.active');
    return Math.abs(feed.scrollTop - slide.offsetTop + feed.firstElementChild.offsetTop) < 2;
  });
  const place = () => page.evaluate(() => ({
    id: document.querySelector('article.slide.active')?.dataset.videoId,
    index: document.querySelector('article.slide.active')?.dataset.index,
    scrollTop: Math.round(document.querySelector('.feed').scrollTop),
    slides: document.querySelectorAll('article.slide').length,
  }));
  const before = await place();
  assert.ok(before.scrollTop > 0, 'the feed scrolled');

  const active = page.locator('article.slide.active');
  const handle = (await active.locator('.meta .author').textContent()).slice(1);
  await active.getByRole('link', { name: `Profile of @${handle}` }).click();
  await page.waitForURL(`**/@${handle}`);
  await page.locator('.profile h1').waitFor();
  await page.goBack();
  await page.locator('article.slide.active').waitFor();
  const after = await place();
  assert.deepEqual({ ...after, scrollTop: undefined }, { ...before, scrollTop: undefined }, 'the same videos, the same one on screen');
  assert.ok(Math.abs(after.scrollTop - before.scrollTop) <= 1, `the same scroll position (${after.scrollTop} against ${before.scrollTop})`);
  // And it plays on from there.
  await page.waitForFunction(() => document.querySelector('article.slide.active video')?.readyState >= 1);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('share: without a share sheet the link is copied, with a visible confirmation', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { viewport: PHONE });
  // This Chromium may or may not offer navigator.share; the fallback is what is under test.
  await page.addInitScript(() => {
    delete Navigator.prototype.share;
    delete Navigator.prototype.canShare;
  });
  await logIn(page, viewer);
  await page.goto(`/v/${videos[0].id}`);
  await page.locator('article.slide.active').getByRole('button', { name: 'Share' }).click();
  await page.getByRole('status').getByText('Link copied.').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, new URL(`/v/${videos[0].id}`, BASE).href);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('share: where the browser has a share sheet, the video goes to it', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { viewport: PHONE });
  // Stands in for the operating system's sheet, which a headless browser has none of.
  await page.addInitScript(() => {
    window.shared = [];
    Object.defineProperty(Navigator.prototype, 'share', { configurable: true, value: async (data) => { window.shared.push(data); } });
    Object.defineProperty(Navigator.prototype, 'canShare', { configurable: true, value: (data) => Boolean(data?.url) });
  });
  await logIn(page, viewer);
  await page.goto(`/v/${videos[1].id}`);
  await page.evaluate(() => navigator.clipboard.writeText('untouched'));
  const slide = page.locator('article.slide.active');
  const count = Number(await slide.locator('.rail-item .count').nth(2).textContent());
  await slide.getByRole('button', { name: 'Share' }).click();
  await page.waitForFunction(() => window.shared.length === 1);
  const [data] = await page.evaluate(() => window.shared);
  assert.equal(data.url, new URL(`/v/${videos[1].id}`, BASE).href);
  assert.match(data.title, new RegExp(`@${creatorHandle}`));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'untouched', 'the clipboard is left alone');
  // The share was counted.
  await page.waitForFunction((n) => Number(document.querySelectorAll('article.slide.active .rail-item .count')[2].textContent) === n + 1, count);

  // "Copy link" in the options copies even where a sheet exists.
  await slide.getByRole('button', { name: 'More options' }).click();
  await page.getByRole('button', { name: 'Copy link' }).click();
  await page.getByText('Link copied.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), data.url);
  assert.equal(await page.evaluate(() => window.shared.length), 1);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('the app installs: a valid web app manifest with icons in several sizes', async () => {
  const page = await openPage(browser, { viewport: PHONE });
  await page.goto('/');
  const href = await page.locator('link[rel="manifest"]').getAttribute('href');
  const response = await fetch(new URL(href, BASE));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^application\/manifest\+json\b/);
  const manifest = await response.json();
  assert.equal(manifest.name, 'Sovereel');
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.start_url, '/');
  assert.match(manifest.theme_color, /^#[0-9a-f]{6}$/i);
  assert.equal(await page.locator('meta[name="theme-color"]').getAttribute('content'), manifest.theme_color);

  // Chromium's own reading of the manifest: no parse errors, and nothing that
  // stops installing other than this being a throw-away (incognito) profile.
  const cdp = await page.context().newCDPSession(page);
  const parsed = await cdp.send('Page.getAppManifest');
  assert.deepEqual(parsed.errors, [], 'Chromium parses the manifest without errors');
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  const blocking = installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito');
  assert.deepEqual(blocking, [], 'Chromium finds nothing against installing the app');

  // Every PNG icon is served as a PNG of the size it claims; there are 192 and 512 px ones, plain and maskable.
  const pngs = manifest.icons.filter((i) => i.type === 'image/png');
  for (const want of ['192x192 any', '512x512 any', '192x192 maskable', '512x512 maskable']) {
    assert.ok(pngs.some((i) => `${i.sizes} ${i.purpose}` === want), `an icon ${want}`);
  }
  const apple = await page.locator('link[rel="apple-touch-icon"]').getAttribute('href');
  for (const icon of [...pngs, { src: apple, sizes: '180x180', purpose: 'maskable' }]) {
    const res = await fetch(new URL(icon.src, BASE));
    assert.equal(res.headers.get('content-type'), 'image/png', icon.src);
    const png = Buffer.from(await res.arrayBuffer());
    assert.equal(png.subarray(1, 4).toString(), 'PNG', `${icon.src} is a PNG`);
    assert.equal(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`, icon.sizes, `${icon.src} is ${icon.sizes}`);
    // Drawn from the logo: white triangle in the middle, the logo's colour at
    // the edge; a maskable icon fills its corners, a plain one leaves them clear.
    const pixels = await page.evaluate(async (src) => {
      const bitmap = await createImageBitmap(await (await fetch(src)).blob());
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const c = canvas.getContext('2d');
      c.drawImage(bitmap, 0, 0);
      const at = (x, y) => [...c.getImageData(x, y, 1, 1).data];
      return { middle: at(Math.round(bitmap.width * 0.55), Math.round(bitmap.height * 0.5)), edge: at(Math.round(bitmap.width * 0.5), 2), corner: at(0, 0) };
    }, icon.src);
    assert.deepEqual(pixels.middle, [255, 255, 255, 255], `${icon.src}: white in the middle`);
    assert.deepEqual(pixels.edge, [255, 59, 92, 255], `${icon.src}: the logo's colour at the edge`);
    assert.equal(pixels.corner[3], icon.purpose === 'maskable' ? 255 : 0, `${icon.src}: corner ${icon.purpose === 'maskable' ? 'filled' : 'clear'}`);
  }
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('screenshot of the player for the README', async (t) => {
  if (!(await seeded(t))) return;
  for (const viewport of [PHONE, DESKTOP]) {
    const page = await openPage(browser, { viewport });
    await logIn(page, viewer);
    await page.goto(`/v/${videos[1].id}`);
    await page.locator('article.slide.active').waitFor();
    await page.waitForFunction(() => document.querySelector('article.slide.active video')?.readyState >= 2);
    await page.locator('article.slide.active').getByRole('button', { name: 'Pause' }).click().catch(() => {});
    await page.evaluate(() => { const v = document.querySelector('article.slide.active video'); v.pause(); v.currentTime = 7.5; });
    await page.waitForFunction(() => { const v = document.querySelector('article.slide.active video'); return !v.seeking && v.readyState >= 2; });
    await page.mouse.move(0, viewport.height / 2);
    await screenshot(page, 'player');
    if (viewport === PHONE && process.env.SOVEREEL_DOCS_SCREENSHOTS) {
      await page.screenshot({ path: path.join(ROOT, 'docs', 'player.png') });
    }
    assertNoConsoleErrors(assert, page);
    await page.context().close();
  }
});
