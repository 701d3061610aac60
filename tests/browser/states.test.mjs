// Link states (expired, tampered, already paid), double tap, failure
// messages from the Worker and the gateway, and the language switch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());

const KINDS = ['mobile', 'desktop'];
const uaOf = (kind) => (kind === 'mobile' ? t.UA.mobile : t.UA.desktop);

test('expired link: its own screen, no pay button', async () => {
  const link = await t.createLink({ amount: '5.00', subject: 'Expires fast', expires_in: 1 });
  const e = t.env();
  // Wait (on the Worker's word, not a timer) until the link is expired.
  await t.until('the link expires', async () => (await fetch(`${e.worker}/api/checkout/${link.token}`)).status === 410);
  for (const kind of KINDS) {
    const page = await t.open(browser, { kind, ua: uaOf(kind), locale: 'en-US' });
    await page.goto(t.pageUrl(link.token));
    await t.screen(page, 'expired');
    assert.match(await t.text(page, 'h1'), /This payment link has expired/);
    // A new screen's heading takes focus, so screen readers announce it.
    await page.waitForFunction(() => document.activeElement?.tagName === 'H1', null, { timeout: 5_000 });
    assert.equal(await page.locator('#pay').count(), 0);
    await t.shot(page, 'expired');
    await t.finish(page);
  }
});

test('tampered links: "not valid" screen (signature, payload, missing token)', async () => {
  const link = await t.createLink({ amount: '5.00', subject: 'Tamper me' });
  const [payload, sig] = link.token.split('.');
  const flip = (s) => s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
  const forged = JSON.parse(Buffer.from(payload, 'base64url').toString());
  forged.a = 1; // a cheaper amount, same signature
  const tokens = [
    `${payload}.${flip(sig)}`,
    `${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${sig}`,
    'not-a-token',
  ];
  for (const [i, token] of tokens.entries()) {
    const kind = KINDS[i % 2];
    const page = await t.open(browser, { kind, ua: uaOf(kind), locale: 'en-US' });
    await page.goto(t.pageUrl(token));
    await t.screen(page, 'invalid');
    assert.match(await t.text(page, 'h1'), /This payment link is not valid/);
    assert.equal(await page.locator('#pay').count(), 0);
    if (i < 2) await t.shot(page, 'invalid');
    await t.finish(page);
  }
});

test('already-paid link: its own screen with the order and the way back', async () => {
  const { link, code } = await t.paidLink({ amount: '9.99', subject: 'Paid before', return_url: 'https://shop.example/paid' });
  for (const kind of KINDS) {
    const page = await t.open(browser, { kind, ua: uaOf(kind), locale: 'en-US' });
    await page.goto(t.pageUrl(link.token));
    await t.screen(page, 'already-paid');
    assert.match(await t.text(page, 'h1'), /Already paid/);
    assert.equal(await t.text(page, '#charge-code'), code);
    assert.equal(await t.text(page, '#amount'), '¥9.99');
    await t.assertReturnLink(page, 'https://shop.example/paid', code);
    assert.equal(await page.locator('#pay').count(), 0);
    await t.shot(page, 'already-paid');
    await t.finish(page);
  }
});

test('the Worker\'s own errors: an unknown ?charge_code= says the order is not found and lets the shopper pay', async () => {
  const link = await t.createLink({ amount: '3.30', subject: 'Unknown order' });
  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  await page.goto(t.pageUrl(link.token, { charge_code: 'no-such-order-0000' }));
  await t.screen(page, 'ready');
  assert.match(await t.text(page, '#error'), /This order could not be found/);
  assert.equal(await t.text(page, '#pay'), 'Try again');
  await t.clickPay(page);
  await t.screen(page, 'qr');
  await t.finish(page);
});

test('double tap: one POST /api/pay, one gateway order', async () => {
  const subject = `Double tap ${Date.now()}`;
  const link = await t.createLink({ amount: '2.00', subject });
  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  const pays = [];
  page.on('request', (r) => r.url().endsWith('/api/pay') && pays.push(r.method()));
  await page.goto(t.pageUrl(link.token));
  await t.screen(page, 'ready');
  // Two taps in the same task (before any re-render), then a real double click.
  await page.evaluate(() => {
    const b = document.querySelector('#pay');
    b.click();
    b.click();
  });
  await page.locator('#pay').dblclick({ timeout: 2_000 }).catch(() => {}); // disabled or gone by now
  await t.screen(page, 'qr');
  assert.deepEqual(pays, ['POST']);
  const orders = (await t.sandbox.requests()).filter((r) => r.body?.PAY_SUBJECT === subject);
  assert.equal(orders.length, 1, 'one gateway order');
  await t.finish(page);
});

test('the pay button is disabled with visible progress while the request is in flight', async () => {
  const link = await t.createLink({ amount: '2.00', subject: 'Slow gateway' });
  const page = await t.open(browser, { kind: 'mobile', ua: t.UA.desktop, locale: 'en-US' });
  try {
    await t.sandbox.fault('order', 'latency:1500');
    await page.goto(t.pageUrl(link.token));
    await t.screen(page, 'ready');
    await page.click('#pay');
    await page.waitForSelector('#pay[disabled][aria-busy="true"]');
    assert.match(await t.text(page, '#pay'), /Creating your order/);
    await t.shot(page, 'creating');
    await t.screen(page, 'qr');
  } finally {
    await t.sandbox.clearFaults();
  }
  await t.finish(page);
});

test('gateway failures: clear messages by error code, retry works once the gateway is back', async () => {
  const cases = [
    ['http500', /payment service is unavailable/],
    ['garbage', /payment service is unavailable/],
    ['timeout', /took too long to answer/],
  ];
  try {
    for (const [i, [mode, message]] of cases.entries()) {
      const kind = KINDS[i % 2];
      const link = await t.createLink({ amount: '4.00', subject: `Fault ${mode}` });
      const page = await t.open(browser, { kind, ua: t.UA.desktop, locale: 'en-US' });
      await page.goto(t.pageUrl(link.token));
      await t.screen(page, 'ready');
      await t.sandbox.fault('order', mode);
      const pay = await t.clickPay(page);
      assert.ok(pay.status >= 500, `HTTP ${pay.status}`);
      await page.waitForSelector('#error');
      assert.match(await t.text(page, '#error'), message, `${mode}: ${pay.body.error.code}`);
      assert.equal(await t.text(page, '#pay'), 'Try again');
      if (i < 2) await t.shot(page, 'gateway-error');
      await t.sandbox.clearFaults();
      const retry = await t.clickPay(page);
      assert.equal(retry.status, 200);
      await t.screen(page, 'qr');
      await t.finish(page);
    }
  } finally {
    await t.sandbox.clearFaults();
  }
});

test('gateway refusal: the page shows the declined message with the gateway code, the attempt is failed, retry pays', async () => {
  const subject = `Rejected ${Date.now()}`;
  const link = await t.createLink({ amount: '4.20', subject });
  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  try {
    await page.goto(t.pageUrl(link.token));
    await t.screen(page, 'ready');
    // A final refusal (an inactive merchant contract), not an outcome-unknown
    // code such as SERVICE_UNAVAILABLE, which leaves the attempt pending.
    await t.sandbox.fault('order', 'reject:INVALID_CONTRACT');
    const pay = await t.clickPay(page);
    assert.equal(pay.status, 502);
    assert.equal(pay.body.error.code, 'GATEWAY_REJECTED');
    assert.equal(pay.body.error.gateway_code, 'INVALID_CONTRACT');
    await page.waitForSelector('#error');
    assert.equal(
      await t.text(page, '#error'),
      'The payment service declined the request. (Code: INVALID_CONTRACT)',
    );
    assert.equal(await t.text(page, '#pay'), 'Try again');
    assert.ok(await page.locator('#pay').isEnabled(), 'the pay button is usable again');
    await t.shot(page, 'gateway-rejected');
    // The 502 names no charge code: the gateway's request log does. The refused
    // request arrived, was answered with the code, and created no gateway order...
    const rejected = (await t.sandbox.requests()).filter((r) => r.body?.PAY_SUBJECT === subject);
    assert.equal(rejected.length, 1, 'one gateway request');
    assert.equal(rejected[0].interface, 'order');
    assert.equal(rejected[0].result_code, 'INVALID_CONTRACT');
    const code = rejected[0].charge_code;
    assert.match(code, /^\S+$/);
    const res = await fetch(`${t.env().sandbox}/sandbox/orders/${code}`);
    assert.equal(res.status, 404, 'the gateway has no order for the refused request');
    // ...and the Worker settled that attempt as failed.
    assert.equal((await t.workerOrder(code)).state, 'failed');
    await t.sandbox.clearFaults();
    const retry = await t.clickPay(page);
    assert.equal(retry.status, 200);
    await t.screen(page, 'qr');
    const paid = await t.chargeCode(page);
    assert.notEqual(paid, code, 'the retry is a new attempt');
    await t.sandbox.pay(paid);
    await t.screen(page, 'done', 'paid');
    assert.equal((await t.workerOrder(code)).state, 'failed', 'the refused attempt stays failed');
  } finally {
    await t.sandbox.clearFaults();
  }
  await t.finish(page);
});

test('network failures: the page says the server is unreachable and retries', async () => {
  const link = await t.createLink({ amount: '4.00', subject: 'Offline' });
  const page = await t.open(browser, { kind: 'mobile', ua: t.UA.desktop, locale: 'en-US' });
  // Loading the link fails first: the page as the Worker sends it when it
  // cannot read the link (no data block), then /api/checkout unreachable...
  await page.route('**/c/**', async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace(/<script type="application\/json" id="checkout-data">.*?<\/script>/s, '');
    await route.fulfill({ response, body });
  });
  await page.route('**/api/checkout/**', (route) => route.abort('internetdisconnected'));
  await page.goto(t.pageUrl(link.token));
  await page.unroute('**/c/**');
  await t.screen(page, 'load-failed');
  assert.match(await t.text(page, '#error'), /Couldn't reach the server/);
  await t.shot(page, 'load-failed');
  await page.unroute('**/api/checkout/**');
  await page.click('#retry');
  await t.screen(page, 'ready');
  // ...then creating the order.
  await page.route('**/api/pay', (route) => route.abort('internetdisconnected'));
  await page.click('#pay');
  await page.waitForSelector('#error');
  assert.match(await t.text(page, '#error'), /Couldn't reach the server/);
  await page.unroute('**/api/pay');
  await page.click('#pay');
  await t.screen(page, 'qr');
  // ...then polling: the status line says so and polling carries on.
  await page.route('**/api/orders/**', (route) => route.abort('internetdisconnected'));
  await page.waitForSelector('#poll-status .warn');
  assert.match(await t.text(page, '#poll-status'), /Connection problem/);
  await page.unroute('**/api/orders/**');
  await t.sandbox.pay(await t.chargeCode(page));
  await t.screen(page, 'done', 'paid');
  // Aborted requests log "Failed to load resource" (not CSP): only CSP/page errors count.
  await t.finish(page);
});

test('language: from the browser, switchable, and ?lang= wins', async () => {
  const link = await t.createLink({ amount: '1234.05', subject: 'Language' });
  const page = await t.open(browser, { kind: 'mobile', ua: t.UA.wechat, locale: 'zh-CN' });
  await page.goto(t.pageUrl(link.token, { signin: 'skip' }));
  await t.screen(page, 'ready');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.equal(await t.text(page, '#pay'), '显示付款二维码');
  assert.match(await t.text(page, '#expiry'), /请在.*内完成支付/);
  // The expiry time reads as the browser's own Intl writes it (the page
  // formats it itself, in the browser's zone).
  const intl = (tag) => page.evaluate(async ({ tag, token }) => {
    const { expires_at: secs } = await (await fetch(`/api/checkout/${token}`)).json();
    return new Date(secs * 1000).toLocaleString(tag, { dateStyle: 'medium', timeStyle: 'short' });
  }, { tag, token: link.token });
  assert.equal(await t.text(page, '#expiry time'), await intl('zh-CN'));
  assert.equal(await t.text(page, '#amount'), '¥1234.05');
  assert.equal(await t.text(page, '#lang'), 'English');
  await t.shot(page, 'ready-zh');
  await page.click('#lang');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal(await t.text(page, '#pay'), 'Show payment QR code');
  assert.match(await t.text(page, '#expiry'), /Pay within/);
  assert.equal(await t.text(page, '#expiry time'), await intl('en'));
  assert.equal(await t.text(page, '#lang'), '中文');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'lang', 'focus stays on the switch');
  await page.click('#lang');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await t.finish(page);

  const en = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'zh-CN' });
  await en.goto(t.pageUrl(link.token, { lang: 'en' }));
  await t.screen(en, 'ready');
  assert.equal(await en.getAttribute('html', 'lang'), 'en');
  assert.equal(await t.text(en, '#pay'), 'Show payment QR code');
  await t.finish(en);
});
