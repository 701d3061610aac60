// The demo's promise, checked as a person would: open the link that
// `cargo xtask demo` printed in a desktop browser, see the QR code, confirm
// the payment on the sandbox's shopper page, and watch the checkout turn paid.
// Run by `cargo xtask test` with DEMO_LINK and DEMO_SANDBOX_URL from the
// demo's own output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const LINK = process.env.DEMO_LINK;
const SANDBOX = process.env.DEMO_SANDBOX_URL;

test('the printed demo link is paid through the sandbox and the page shows paid', async () => {
  assert.ok(LINK && SANDBOX, 'DEMO_LINK and DEMO_SANDBOX_URL must be set (run via cargo xtask test)');
  assert.match(LINK, /^http:\/\/127\.0\.0\.1:\d+\/c\/[A-Za-z0-9_.-]+$/);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(LINK);
    await page.locator('.screen[data-screen="ready"]').waitFor({ timeout: 30000 });
    assert.equal((await page.locator('#amount').textContent()).trim(), '¥88.88');
    const pay = page.waitForResponse((r) => r.url().endsWith('/api/pay') && r.request().method() === 'POST');
    await page.click('#pay');
    const payResp = await pay;
    assert.equal(payResp.status(), 200, 'the page created the order');
    const body = await payResp.json();
    assert.equal(body.method, 'native', 'a desktop browser pays by QR');
    assert.equal(body.action.type, 'qr');
    assert.ok(body.action.content.startsWith(`${SANDBOX}/sandbox/shopper/`), body.action.content);
    await page.locator('.screen[data-screen="qr"] #qr svg').waitFor({ state: 'visible', timeout: 15000 });

    // The shopper's side, as the demo's instructions say: the sandbox's order
    // index lists the new order with a link to the page the QR code points to.
    const shopper = await ctx.newPage();
    await shopper.goto(`${SANDBOX}/sandbox/`);
    await shopper.click(`a[href="${new URL(body.action.content).pathname}"], a[href="${body.action.content}"]`);
    assert.equal(shopper.url(), body.action.content);
    await shopper.getByRole('button', { name: /confirm payment/i }).click();

    // The checkout page learns it from the Worker (notification → D1 → poll).
    await page.locator('.screen[data-screen="done"][data-state="paid"]').waitFor({ timeout: 30000 });
    assert.match(await page.locator('.screen[data-screen="done"]').textContent(), /Payment successful/);
    const order = await (await ctx.request.get(new URL(`/api/orders/${body.charge_code}`, LINK).href)).json();
    assert.equal(order.state, 'paid');
    assert.equal(order.amount, '88.88');
    assert.equal(order.amount_fen, 8888);
  } finally {
    await browser.close();
  }
});
