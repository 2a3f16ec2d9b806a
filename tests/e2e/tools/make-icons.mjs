// Renders the app's icons (web/icons/*.png) from web/favicon.svg in Chromium,
// so every size is the same drawing: the "any" icons keep the favicon's
// rounded corners (transparent outside), the maskable and Apple ones fill the
// whole square with the logo's colour, since the system cuts its own shape.
// The triangle stays inside the maskable safe zone (a circle of 40% radius).
//
//   node tools/make-icons.mjs        (from tests/e2e, after npm ci)
import fs from 'node:fs';
import path from 'node:path';
import { launch, ROOT } from '../lib/harness.mjs';

const svg = fs.readFileSync(path.join(ROOT, 'web', 'favicon.svg'), 'utf8');
const fill = /<rect[^>]*fill="(#[0-9a-fA-F]{3,8})"/.exec(svg)?.[1];
if (!fill) throw new Error('favicon.svg: no filled <rect> to take the background colour from');

const ICONS = [
  { file: 'icon-192.png', size: 192, fullBleed: false },
  { file: 'icon-512.png', size: 512, fullBleed: false },
  { file: 'maskable-192.png', size: 192, fullBleed: true },
  { file: 'maskable-512.png', size: 512, fullBleed: true },
  { file: 'apple-touch-icon.png', size: 180, fullBleed: true },
];

const browser = await launch();
try {
  const page = await browser.newPage({ deviceScaleFactor: 1 });
  for (const { file, size, fullBleed } of ICONS) {
    await page.setViewportSize({ width: size, height: size });
    const sized = svg.replace('<svg ', `<svg width="${size}" height="${size}" `);
    const background = fullBleed ? fill : 'transparent';
    await page.setContent(`<!doctype html><html><body style="margin:0;background:${background}">${sized}</body></html>`);
    const out = path.join(ROOT, 'web', 'icons', file);
    await page.screenshot({ path: out, omitBackground: !fullBleed, clip: { x: 0, y: 0, width: size, height: size } });
    console.log(`${path.relative(ROOT, out)}: ${size}x${size}, ${fs.statSync(out).size} bytes`);
  }
} finally {
  await browser.close();
}
