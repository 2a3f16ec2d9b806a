// Lighthouse-style numbers for BENCHMARKS.md, measured with Chromium against a
// running server (SOVEREEL_URL): the JS and CSS the first page transfers before
// any video, and the time from navigation to the first decoded video frame on
// loopback, on a video's own page (what a shared link opens; feeds hide what a
// viewer has seen, so they are no fixed target). It seeds one account and clip
// through the API. Prints JSON.
//   SOVEREEL_URL=http://127.0.0.1:PORT node bench/first-page.mjs
import { ApiClient, BASE, launch, logIn, makeClip, openPage, PHONE, uniqueHandle } from '../lib/harness.mjs';

const creator = await new ApiClient().signUp(uniqueHandle('bench'), 'US');
const clip = await creator.upload(makeClip('bench', { color: 'gray', seconds: 2 }), 'Benchmark clip #bench');
const viewer = uniqueHandle('benchview');
await new ApiClient().signUp(viewer, 'US');

const browser = await launch();
const results = { server: BASE, runs: [] };
try {
  for (let run = 0; run < 5; run++) {
    const page = await openPage(browser, { viewport: PHONE });
    await logIn(page, viewer);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const types = new Map();
    const bytes = { script: 0, stylesheet: 0, document: 0 };
    cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.type));
    cdp.on('Network.loadingFinished', (e) => {
      const type = (types.get(e.requestId) || '').toLowerCase();
      if (type in bytes) bytes[type] += e.encodedDataLength;
    });
    const start = Date.now();
    await page.goto(`/v/${clip.id}`);
    await page.waitForFunction(() => {
      const v = document.querySelector('article.slide.active video');
      return v && v.readyState >= 2 && v.currentTime > 0;
    }, null, { timeout: 30_000 });
    const firstFrameMs = Date.now() - start;
    results.runs.push({ js_bytes: bytes.script, css_bytes: bytes.stylesheet, html_bytes: bytes.document, first_frame_ms: firstFrameMs });
    await page.context().close();
  }
} finally {
  await browser.close();
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
results.median = {
  js_css_kb: Math.round((median(results.runs.map((r) => r.js_bytes + r.css_bytes)) / 1024) * 10) / 10,
  first_frame_ms: median(results.runs.map((r) => r.first_frame_ms)),
};
console.log(JSON.stringify(results, null, 2));
