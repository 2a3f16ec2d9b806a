// Captions become text with #hashtag and @mention links, and nothing a
// caption says can become markup. Runs the client's own module in the page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, launch, openPage } from '../lib/harness.mjs';

let browser;
let page;
before(async () => {
  browser = await launch();
  page = await openPage(browser);
  await page.goto('/no-such-page-for-module-tests');
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
});
after(async () => {
  assertNoConsoleErrors(assert, page);
  await browser?.close();
});

function render(caption) {
  return page.evaluate(async (text) => {
    const { richCaption, h } = await import('/js/dom.js');
    const p = h('p', {}, richCaption(text));
    return {
      text: p.textContent,
      links: [...p.querySelectorAll('a')].map((a) => [a.textContent, a.getAttribute('href')]),
      elements: [...p.querySelectorAll('*')].map((e) => e.tagName),
    };
  }, caption);
}

test('hashtags and mentions become links to their pages', async () => {
  const out = await render('Weeknight pasta #Cooking with @chef_anna and #pasta!');
  assert.equal(out.text, 'Weeknight pasta #Cooking with @chef_anna and #pasta!');
  assert.deepEqual(out.links, [['#Cooking', '/tag/cooking'], ['@chef_anna', '/@chef_anna'], ['#pasta', '/tag/pasta']]);
});

test('an email address is not a mention, and a lone sigil is text', async () => {
  const out = await render('write to anna@example.com # or @ nothing');
  assert.deepEqual(out.links, []);
});

test('letters beyond ASCII make hashtags too', async () => {
  const out = await render('Café #crème_brûlée #日本');
  assert.deepEqual(out.links.map(([t]) => t), ['#crème_brûlée', '#日本']);
});

test('markup in a caption stays text', async () => {
  const out = await render('<img src=x onerror="window.pwned=1"> <b>bold</b> #safe');
  assert.deepEqual(out.elements, ['A']);
  assert.match(out.text, /<img src=x onerror="window.pwned=1">/);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
});
