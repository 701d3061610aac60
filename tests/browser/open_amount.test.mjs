// Open-amount links (issue 11): the shop's counter code. The shopper types
// the amount on the page (decimal keypad); bad amounts are refused with a
// visible message and never sent; a good one is paid through the desktop QR
// path and is the amount the gateway, the Worker and the result screen show.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());

test('open-amount link: typed amount refused when bad, paid when good', async () => {
  const link = await t.createLink({
    amount: undefined,
    min_amount: '1',
    max_amount: '500',
    subject: 'Counter code',
  });
  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  const payRequests = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/pay')) payRequests.push(r.postData());
  });
  await page.goto(t.pageUrl(link.token));
  await t.screen(page, 'ready');
  assert.equal(await t.text(page, '#amount'), '¥1.00 – ¥500.00');
  assert.equal(await page.getAttribute('#amount-input', 'inputmode'), 'decimal');
  await t.shot(page, 'open-amount-ready');

  for (const bad of ['0.99', '500.01', '1.234', '0', 'abc', '']) {
    await page.fill('#amount-input', bad);
    await page.click('#pay');
    await page.waitForSelector('#error');
    assert.match(await t.text(page, '#error'), /Enter an amount within the range shown/, bad);
    assert.equal(await page.getAttribute('.screen', 'data-screen'), 'ready');
  }
  assert.deepEqual(payRequests, [], 'a refused amount is never sent');
  await t.shot(page, 'open-amount-refused');

  await page.fill('#amount-input', '23.45');
  const { status, body } = await t.clickPay(page);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(JSON.parse(payRequests[0]).amount, '23.45');
  await t.screen(page, 'qr');
  const code = await t.chargeCode(page);
  assert.equal(await t.text(page, '#qr-amount'), '¥23.45');
  assert.equal((await t.sandbox.order(code)).amount_fen, 2345, 'the gateway order is the typed amount');

  await t.sandbox.pay(code);
  await t.screen(page, 'done', 'paid');
  assert.equal(await t.text(page, '#result-amount'), '¥23.45');
  const order = await t.workerOrder(code);
  assert.equal(order.state, 'paid');
  assert.equal(order.amount_fen, 2345);
  await t.shot(page, 'open-amount-paid');
  await t.finish(page);
});
