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
    assert.equal(await page.getAttribute('#return', 'href'), 'https://shop.example/thanks');
    assert.equal((await t.workerOrder(code)).state, 'paid');
    await t.shot(page, 'paid');
    await t.finish(page);
  });
}
