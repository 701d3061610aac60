// Mobile browser: wap app jump to the sandbox's pay page, back to the
// checkout via RETURN_URL (?charge_code=), which resumes and shows paid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());

// "Alipay without buyer_id": sign-in skipped, as after a denial.
for (const [name, ua] of [['mobile browser', t.UA.mobile], ['Alipay without buyer_id', t.UA.alipay]]) {
  test(`wap (${name}): redirect to the sandbox pay page, confirm, come back paid`, async () => {
    const link = await t.createLink({ amount: '66.60', subject: 'Wap test', return_url: 'https://shop.example/wap' });
    const page = await t.open(browser, { kind: 'mobile', ua, locale: 'en-GB' });
    await page.goto(t.pageUrl(link.token, ua === t.UA.alipay ? { signin: 'skip' } : {}));
    await t.screen(page, 'ready');
    assert.equal(await t.text(page, '#pay'), 'Pay now');
    const sandboxPage = `${t.env().sandbox}/sandbox/shopper/`;
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(sandboxPage), { timeout: 30_000 }),
      page.click('#pay'),
    ]);
    // The app jump went to the wapOrder BAR_CODE: the sandbox's shopper page of the new order.
    const code = page.url().slice(sandboxPage.length);
    const order = await t.sandbox.order(code);
    assert.equal(order.interface, 'wapOrder');
    assert.equal(page.url(), order.shopper_url);
    assert.equal(order.return_url, `${t.env().worker}/c/${link.token}?charge_code=${code}`);
    await page.getByRole('button', { name: /Confirm payment/i }).click();
    await page.waitForURL((u) => u.href.startsWith(`${t.env().worker}/c/${link.token}`), { timeout: 30_000 });
    assert.equal(new URL(page.url()).searchParams.get('charge_code'), code);
    await t.screen(page, 'done', 'paid');
    assert.match(await t.text(page, 'h1'), /Payment successful/);
    assert.equal(await t.text(page, '#charge-code'), code);
    await t.assertReturnLink(page, 'https://shop.example/wap', code);
    await t.shot(page, `wap-paid${ua === t.UA.alipay ? '-alipay' : ''}`);
    await t.finish(page);
  });
}

test('wap: coming back without paying resumes watching the order (pending), then paid', async () => {
  const link = await t.createLink({ amount: '1.00', subject: 'Wap back' });
  const page = await t.open(browser, { kind: 'mobile', ua: t.UA.mobile, locale: 'en-US' });
  await page.goto(t.pageUrl(link.token));
  await t.screen(page, 'ready');
  const sandboxPage = `${t.env().sandbox}/sandbox/shopper/`;
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(sandboxPage), { timeout: 30_000 }),
    page.click('#pay'),
  ]);
  const code = page.url().slice(sandboxPage.length);
  await page.goBack();
  // The page put ?charge_code= into its history entry before jumping.
  assert.equal(new URL(page.url()).searchParams.get('charge_code'), code);
  await t.screen(page, 'confirm');
  assert.match(await t.text(page, '#poll-status'), /Waiting for payment/);
  await t.shot(page, 'wap-returned');
  await t.sandbox.pay(code);
  await t.screen(page, 'done', 'paid');
  await t.finish(page);
});
