// A fresh install: the feed of a platform with no videos says so and says how
// videos get there, for a visitor and for the first account. This spec starts
// its own `sovereel serve` on an empty data directory (the shared server has
// other specs' uploads).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DESKTOP, launch, PASSWORD, PHONE, ROOT, screenshot, SHOTS, uniqueHandle } from '../lib/harness.mjs';

const BIN = process.env.SOVEREEL_BIN || path.join(ROOT, 'target', 'debug', 'sovereel');
let browser;
let server;
let dataDir;
let url;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

before(async () => {
  if (!fs.existsSync(BIN)) return;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sovereel-first-run-'));
  const port = await freePort();
  server = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
  for (let i = 0; i < 240; i++) {
    if (server.exitCode !== null) break;
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) {
      url = `http://127.0.0.1:${port}`;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!url) throw new Error(`the fresh server did not start: ${log}`);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function page(viewport) {
  const context = await browser.newContext({ viewport, baseURL: url });
  const p = await context.newPage();
  p.consoleErrors = [];
  p.on('console', (msg) => {
    // Probing the session while signed out answers 401, which Chromium logs.
    const expected = /\/v1\/me$/.test(msg.location()?.url || '') && /\b401\b/.test(msg.text());
    if (msg.type() === 'error' && !expected) p.consoleErrors.push(msg.text());
  });
  p.on('pageerror', (err) => p.consoleErrors.push(`uncaught: ${err.message}`));
  return p;
}

test('a fresh install tells a visitor there are no videos yet and how to post one', async (t) => {
  if (!url) return t.skip('needs the sovereel binary to start a fresh server');
  for (const viewport of [PHONE, DESKTOP]) {
    const p = await page(viewport);
    await p.goto('/');
    const status = p.locator('.feed-status');
    await status.getByText('No videos here yet').waitFor();
    await status.getByText('Nobody has posted a public video on this Sovereel so far').waitFor();
    assert.equal(await status.getByRole('link', { name: 'Sign up to post a video' }).getAttribute('href'), '/signup?next=%2Fupload');
    assert.match(await status.textContent(), /sovereel demo/);
    await screenshot(p, 'first-run');
    if (viewport === PHONE && process.env.SOVEREEL_DOCS_SCREENSHOTS) await p.screenshot({ path: path.join(ROOT, 'docs', 'first-run.png') });
    assert.deepEqual(p.consoleErrors, []);
    await p.context().close();
  }
  assert.ok(fs.existsSync(path.join(SHOTS, 'first-run-phone.png')));
});

test('the first account sees the same empty state, with Upload a video', async (t) => {
  if (!url) return t.skip('needs the sovereel binary to start a fresh server');
  const handle = uniqueHandle('first');
  const p = await page(PHONE);
  const signUp = await p.request.post('/v1/accounts', { data: { handle, password: PASSWORD, email: `${handle}@example.com`, country: 'AU', birthdate: '1990-04-01' } });
  assert.equal(signUp.status(), 201);
  assert.ok((await p.request.post('/v1/sessions', { data: { handle, password: PASSWORD } })).ok());
  await p.goto('/');
  const status = p.locator('.feed-status');
  await status.getByText('No videos here yet').waitFor();
  await status.getByRole('link', { name: 'Upload a video' }).click();
  await p.waitForURL('**/upload');
  assert.deepEqual(p.consoleErrors, []);
  await p.context().close();
});
