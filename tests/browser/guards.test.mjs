// Bad input at the page: a `?charge_code=` of another link's paid order
// must never show "paid" on this link's page (a cashier would take it as
// this customer's payment), and the page runs under the security headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());


test("another link's paid order in ?charge_code= is not shown as paid", async () => {
  const other = await t.paidLink({ amount: '88.00', subject: 'Someone else paid' });
  const mine = await t.createLink({ amount: '3.10', subject: 'My unpaid link' });
  const page = await t.open(browser, { kind: 'mobile', ua: t.UA.mobile, locale: 'en-US' });
  const polls = [];
  page.on('response', (r) => r.url().includes('/api/orders/') && polls.push(r.status()));
  await page.goto(t.pageUrl(mine.token, { charge_code: other.code }));
  // The page asks with its own token; the Worker says "not found" and the
  // shopper gets this link's own pay screen, never the other receipt.
  await t.screen(page, 'ready');
  assert.match(await t.text(page, '#error'), /This order could not be found/);
  assert.equal(await page.locator('.screen[data-screen="done"]').count(), 0);
  assert.equal(await t.text(page, '#amount'), '¥3.10');
  assert.ok(polls.length > 0 && polls.every((s) => s === 404), `order polls: ${polls}`);
  await t.shot(page, 'foreign-charge-code');
  await t.finish(page);

  // The same order on its own link's page is shown as paid.
  const own = await t.open(browser, { kind: 'mobile', ua: t.UA.mobile, locale: 'en-US' });
  await own.goto(t.pageUrl(other.link.token, { charge_code: other.code }));
  await t.screen(own, 'done', 'paid');
  await t.finish(own);
});

test('the page is served with the security headers', async () => {
  const link = await t.createLink({ amount: '1.00', subject: 'Headers' });
  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  const res = await page.goto(t.pageUrl(link.token));
  const h = res.headers();
  assert.equal(h['x-frame-options'], 'DENY');
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.equal(h['referrer-policy'], 'no-referrer');
  assert.equal(h['strict-transport-security'], 'max-age=31536000');
  assert.match(h['permissions-policy'], /camera=\(\)/);
  assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
  await t.screen(page, 'ready');
  await t.finish(page);
});
