// What every browser spec shares: the server's address, a Chromium with the
// flags CI needs, pages that record console errors, test clips made with
// ffmpeg, screenshots, and probes that tell which server features exist yet.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BASE = process.env.SOVEREEL_URL || 'http://127.0.0.1:8080';
export const SHOTS = path.join(ROOT, 'artifacts', 'screenshots');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// Responses the app expects and handles, which Chromium still logs as
// "Failed to load resource": the failures a test provokes on purpose (listed
// by each test in `expected`). A signed-out page load makes no request that
// fails: the client learns there is no session from the hint cookie.
function isExpectedNetworkError(msg, expected) {
  const text = msg.text();
  if (!text.startsWith('Failed to load resource')) return false;
  const url = msg.location()?.url || '';
  return expected.some((pattern) => pattern.test(url) || pattern.test(text));
}

// Endpoints without ids that screens call. While the server lacks one, the
// screen says "not available yet" and Chromium logs the 404: expected then.
const OPTIONAL_ENDPOINTS = [
  'GET /v1/transparency', 'GET /v1/me/access-log', 'POST /v1/me/exports', 'DELETE /v1/me',
  'POST /v1/me/for-you/reset', 'GET /v1/me/follow-requests', 'GET /v1/regions', 'GET /v1/countries',
  'GET /v1/server', 'POST /v1/reports', 'GET /v1/staff/cases', 'GET /log/us/checkpoint', 'GET /log/us/vkey',
  'GET /v1/transparency/report', 'GET /v1/staff/me', 'GET /v1/me/decisions',
];

function endpointPattern(endpoint) {
  const p = endpoint.split(' ')[1];
  // The logs are per region: one probe stands for all of them.
  if (p.startsWith('/log/')) return new RegExp(`/log/[^/]+/${p.split('/').pop()}$`);
  return new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}
let missing = null;
export function missingEndpoints() {
  missing ??= (async () => {
    const out = [];
    for (const e of OPTIONAL_ENDPOINTS) {
      const [method, p] = e.split(' ');
      if (!(await has(method, p))) out.push(e);
    }
    if (out.length) console.error(`the server does not offer yet: ${out.join(', ')}`);
    return out;
  })();
  return missing;
}

/** A fresh browser context (own cookies) and page that records console errors. */
export async function openPage(browser, { viewport = DESKTOP, expected = [] } = {}) {
  const context = await browser.newContext({ viewport, baseURL: BASE, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  const absent = (await missingEndpoints()).map(endpointPattern);
  page.consoleErrors = [];
  page.expectedErrors = [...expected, ...absent];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !isExpectedNetworkError(msg, page.expectedErrors)) page.consoleErrors.push(`${msg.text()} @ ${msg.location()?.url || ''}`);
  });
  page.on('pageerror', (err) => page.consoleErrors.push(`uncaught: ${err.message}`));
  return page;
}

export function assertNoConsoleErrors(assert, page) {
  assert.deepEqual(page.consoleErrors, [], 'console errors on the page');
}

let clipDir = null;
/** An H.264/AAC MP4 of a coloured frame with a label, made with ffmpeg. */
export function makeClip(name, { color = 'orange', seconds = 2 } = {}) {
  clipDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'sovereel-clips-'));
  const file = path.join(clipDir, `${name}.mp4`);
  if (!fs.existsSync(file)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y',
      '-f', 'lavfi', '-i', `color=c=${color}:s=360x640:d=${seconds}:r=24`,
      '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', file]);
  }
  return file;
}

export async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const size = page.viewportSize();
  const kind = size.width <= 500 ? 'phone' : 'desktop';
  await page.screenshot({ path: path.join(SHOTS, `${name}-${kind}.png`) });
}

/**
 * Whether the server has an endpoint yet: anything but a 404/405/501 (or the
 * SPA page) means the route exists.
 */
export async function has(method, urlPath) {
  try {
    const res = await fetch(new URL(urlPath, BASE), { method, headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: method === 'GET' || method === 'HEAD' ? undefined : '{}' });
    const type = res.headers.get('content-type') || '';
    if (type.includes('text/html')) return false;
    // Every probed path names no resource, so a 404 means the route is missing.
    if ([404, 405, 501].includes(res.status)) return false;
    return true;
  } catch {
    return false;
  }
}

/** Skips the test (with the reason in the report) unless every endpoint exists. */
export async function needs(t, endpoints) {
  const missing = [];
  for (const e of endpoints) {
    const [method, p] = e.split(' ');
    if (!(await has(method, p))) missing.push(e);
  }
  if (missing.length) t.skip(`server does not offer ${missing.join(', ')} yet`);
  return missing.length === 0;
}

export function uniqueHandle(prefix) {
  return `${prefix}${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 1e4)}`;
}

export const PASSWORD = 'correct horse battery';

/** Signs up through the UI; returns the residency sentence the app showed. */
export async function signUp(page, { handle, country, birthdate = '1990-04-01' }) {
  await page.goto('/signup');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Email').fill(`${handle}@example.com`);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Date of birth').fill(birthdate);
  const select = page.locator('select#signup-country');
  if (await select.count()) await select.selectOption(country);
  else await page.locator('#signup-country').fill(country);
  const before = await page.locator('#residency').textContent();
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('heading', { name: `Welcome, @${handle}` }).waitFor();
  return before;
}

export async function logIn(page, handle) {
  await page.goto('/login');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname !== '/login');
}

/** Uploads through the UI and waits for the processed state. */
export async function upload(page, { file, caption, visibility = 'public' }) {
  await page.goto('/upload');
  await page.getByLabel('Video file').setInputFiles(file);
  await page.getByLabel('Caption').fill(caption);
  await page.getByLabel('Who can watch').selectOption(visibility);
  await page.getByRole('button', { name: 'Post' }).click();
  await page.getByText('Your video is ready.').waitFor({ timeout: 120_000 });
  const href = await page.getByRole('link', { name: 'Watch it' }).getAttribute('href');
  return href.split('/').pop();
}

/**
 * A plain HTTP client with its own session cookie, for seeding data quickly
 * through the same public API the browser uses.
 */
export class ApiClient {
  constructor() {
    this.cookie = '';
  }

  async call(method, urlPath, body) {
    const headers = { Accept: 'application/json' };
    if (this.cookie) headers.Cookie = this.cookie;
    let payload = body;
    if (body && !(body instanceof FormData)) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(new URL(urlPath, BASE), { method, headers, body: payload });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0];
    const text = await res.text();
    const data = text && /json/.test(res.headers.get('content-type') || '') ? JSON.parse(text) : text;
    if (!res.ok) throw new Error(`${method} ${urlPath} -> ${res.status}: ${typeof data === 'string' ? data : data.detail || data.title}`);
    return data;
  }

  async signUp(handle, country) {
    await this.call('POST', '/v1/accounts', { handle, password: PASSWORD, email: `${handle}@example.com`, country, birthdate: '1990-04-01' });
    await this.call('POST', '/v1/sessions', { handle, password: PASSWORD });
    return this;
  }

  async upload(file, caption) {
    const form = new FormData();
    form.append('meta', new Blob([JSON.stringify({ caption, visibility: 'public', comments: 'everyone' })], { type: 'application/json' }), 'meta.json');
    form.append('file', new Blob([fs.readFileSync(file)], { type: 'video/mp4' }), path.basename(file));
    let video = await this.call('POST', '/v1/videos', form);
    for (let i = 0; i < 600 && video.state === 'processing'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      video = await this.call('GET', `/v1/videos/${video.id}`);
    }
    if (video.state !== 'ready') throw new Error(`video ${video.id} ended ${video.state}: ${video.state_reason || ''}`);
    return video;
  }
}

/**
 * Opens a feed page until it shows a video. New uploads reach the catalog and
 * the feeds through an asynchronous relay, so a fresh server can answer an
 * empty feed for a moment; this looks again a bounded number of times.
 */
export async function openFeedUntilVideo(page, path = '/', attempts = 120) {
  for (let i = 0; i < attempts; i++) {
    await page.goto(path);
    await page.waitForFunction(() => document.querySelector('article.slide') || !/Loading/.test(document.querySelector('.feed-status')?.textContent ?? 'Loading'));
    if (await page.locator('article.slide').count()) return;
    await page.waitForTimeout(500);
  }
  throw new Error(`${path} showed no video after ${attempts} tries`);
}
