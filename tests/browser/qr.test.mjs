// Desktop: NATIVE QR generated in Rust, decoded here, equal to the sandbox's BAR_CODE;
// the page follows the payment live and ends on the Worker's "paid".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());

for (const kind of ['desktop', 'mobile']) {
  test(`QR path (${kind}): shows the link, a QR of the sandbox BAR_CODE, then paid`, async () => {
    const link = await t.createLink({
      amount: '12.5',
      subject: 'Coffee beans',
      goods: [
        { id: 'g1', name: 'Espresso blend 250g', price: '6.25', quantity: 2 },
      ],
      return_url: 'https://shop.example/thanks',
    });
    // A WeChat webview without openid (sign-in skipped, as after a denial)
    // falls back to the QR as checkout's routing says; on "mobile" this
    // exercises that fallback, on desktop the desktop route.
    const ua = kind === 'desktop' ? t.UA.desktop : t.UA.wechat;
    const page = await t.open(browser, { kind, ua, locale: 'en-US' });
    await page.goto(t.pageUrl(link.token, kind === 'desktop' ? {} : { signin: 'skip' }));
    await t.screen(page, 'ready');
    assert.equal(await t.text(page, '#amount'), '¥12.50');
    assert.equal(await t.text(page, '#subject'), 'Coffee beans');
    assert.equal(await t.text(page, '#merchant'), 'Merchant');
    assert.match(await t.text(page, '.goods'), /Espresso blend 250g\s*×\s*2\s*¥6\.25/);
    assert.match(await t.text(page, '#expiry'), /Pay within/);
    assert.equal(await t.text(page, '#pay'), 'Show payment QR code');
    await t.shot(page, 'ready');

    await page.click('#pay');
    await t.screen(page, 'qr');
    const code = await t.chargeCode(page);
    assert.equal(await t.text(page, '#qr-amount'), '¥12.50');
    const decoded = await t.decodeQr(page);
    const order = await t.sandbox.order(code);
    assert.equal(order.interface, 'order');
    assert.equal(decoded, order.shopper_url, 'QR content must be the sandbox BAR_CODE');
    assert.equal(decoded, `${t.env().sandbox}/sandbox/shopper/${code}`);
    await t.shot(page, 'qr');

    await t.sandbox.pay(code);
    const done = await t.screen(page, 'done', 'paid');
    assert.match(await done.textContent(), /Payment successful/);
    assert.equal(await t.text(page, '#result-amount'), '¥12.50');
    await t.assertReturnLink(page, 'https://shop.example/thanks', code);
    assert.equal((await t.workerOrder(code)).state, 'paid');
    await t.shot(page, 'paid');
    await t.finish(page);
  });
}

test('printable link: GET /v1/links/{id}/qr.svg draws the checkout URL', async () => {
  const e = t.env();
  const link = await t.createLink({ amount: '8.80', subject: 'Counter sign' });
  assert.match(link.link_id, /^[0-9a-f]{32}$/);
  const auth = { authorization: `Bearer ${e.adminToken}` };
  const res = await fetch(`${e.worker}/v1/links/${link.link_id}/qr.svg`, { headers: auth });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/svg+xml');
  const svg = await res.text();
  assert.match(svg, /^<svg /);
  // Rendered by Chromium and decoded like a phone's scanner would.
  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop });
  await page.setContent(`<div id="qr" style="width:400px;background:#fff">${svg}</div>`);
  assert.equal(await t.decodeQr(page), link.url);
  await page.context().close();
  // The merchant API's bearer token is required; unknown links are 404.
  assert.equal((await fetch(`${e.worker}/v1/links/${link.link_id}/qr.svg`)).status, 401);
  assert.equal((await fetch(`${e.worker}/v1/links/${'0'.repeat(32)}/qr.svg`, { headers: auth })).status, 404);
});
