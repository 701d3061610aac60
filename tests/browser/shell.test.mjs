// The page arrives with the link filled in (issue 12): the HTML alone paints
// the summary, the app takes the embedded /api/checkout answer instead of
// fetching it, under the strict CSP, and a second visit takes the
// content-hashed assets from the browser cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as t from './lib.mjs';

let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());

test('the HTML alone (scripts off) shows merchant, subject, amount and time left', async () => {
  const link = await t.createLink({ amount: '12.5', subject: 'Coffee beans' });
  const context = await browser.newContext({ javaScriptEnabled: false, userAgent: t.UA.mobile, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(t.pageUrl(link.token));
  assert.equal(await t.text(page, '#amount'), '¥12.50');
  assert.equal(await t.text(page, '#merchant'), 'Merchant');
  assert.equal(await t.text(page, '#subject'), 'Coffee beans');
  assert.match(await t.text(page, '#link-state'), /^剩余 .+ · \d+ (d \d+ h|h \d+ min|min) left$/);
  assert.ok(await page.isVisible('#amount'), 'the amount is painted');
  mkdirSync(t.SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(t.SCREENSHOTS, 'first-paint-html-only-mobile.png') });
  await context.close();
});

test('the app uses the embedded answer: no /api/checkout request, no CSP violation', async () => {
  const link = await t.createLink({ amount: '3.20', subject: 'Embedded' });
  const page = await t.open(browser, { kind: 'mobile', ua: t.UA.mobile, locale: 'en-US' });
  const api = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) api.push(r.url());
  });
  await page.goto(t.pageUrl(link.token));
  await t.screen(page, 'ready');
  assert.equal(await t.text(page, '#amount'), '¥3.20');
  assert.equal(await t.text(page, '#pay'), 'Pay now');
  assert.deepEqual(api, [], 'the link came with the page');
  assert.equal(await page.$('#checkout-data'), null, 'the data block is read once and removed');
  await t.finish(page);
});

test('a second visit takes the hashed assets from the cache', async () => {
  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  // requestId → [path, from a cache]; memory-cache hits are reported by
  // requestServedFromCache, disk-cache hits by the response's fromDiskCache.
  const seen = new Map();
  cdp.on('Network.requestWillBeSent', ({ requestId, request }) => {
    const path = new URL(request.url).pathname;
    if (path.startsWith('/a/')) seen.set(requestId, [path, false]);
  });
  cdp.on('Network.requestServedFromCache', ({ requestId }) => {
    if (seen.has(requestId)) seen.get(requestId)[1] = true;
  });
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    if (seen.has(requestId) && response.fromDiskCache) seen.get(requestId)[1] = true;
  });
  for (const subject of ['First visit', 'Second visit']) {
    const link = await t.createLink({ amount: '1.00', subject });
    seen.clear();
    await page.goto(t.pageUrl(link.token));
    await t.screen(page, 'ready');
    assert.equal(await t.text(page, '#subject'), subject);
    const loaded = [...seen.values()].map(([p]) => p.split('/').pop()).sort();
    assert.deepEqual(loaded, ['boot.js', 'checkout_page.js', 'checkout_page_bg.wasm'], subject);
    const cached = [...seen.values()].every(([, c]) => c);
    assert.equal(cached, subject === 'Second visit', `${subject}: ${JSON.stringify([...seen.values()])}`);
  }
  await t.finish(page);
});
