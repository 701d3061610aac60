// Alipay webview: tradePay through a fake AlipayJSBridge (9000 / 6001).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

// The shopper signs in through the sandbox's Alipay first (the stack
// configures Alipay sign-in, so an unsigned `?buyer_id=` is refused: issue
// 24); the buyer id the sandbox issued is what the gateway must get.
let BUYER_ID;
let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());

async function openAlipay(answers, { delayed = false, kind = 'mobile' } = {}) {
  const link = await t.createLink({ amount: '8.80', subject: 'Alipay test' });
  const page = await t.open(browser, {
    kind,
    ua: t.UA.alipay,
    locale: 'zh-CN',
    init: t.fakeAlipay,
    initArg: { answers, delayed },
  });
  await page.goto(t.pageUrl(link.token));
  BUYER_ID = await t.signIn(page, 'alipay');
  await t.screen(page, 'ready');
  assert.equal(await t.text(page, '#pay'), '支付宝支付');
  assert.equal(await t.text(page, '#amount'), '¥8.80');
  return page;
}

async function assertTradePay(page, pay, index) {
  assert.equal(pay.status, 200);
  assert.equal(pay.body.method, 'alipay_jsapi');
  assert.equal(pay.body.action.type, 'alipay_trade_pay');
  const calls = await page.evaluate(() => window.__ali.calls);
  assert.equal(calls.length, index + 1);
  assert.equal(calls[index].api, 'tradePay');
  assert.deepEqual(calls[index].keys, ['tradeNO']);
  const order = await t.sandbox.order(pay.body.charge_code);
  assert.equal(order.interface, 'creatOrder');
  assert.equal(calls[index].args.tradeNO, order.charge_third_code, 'tradeNO is the gateway CHARGE_THIRD_CODE');
}

test('Alipay 9000: tradePay with the trade number, then the Worker says paid', async () => {
  const page = await openAlipay(['9000']);
  await t.shot(page, 'alipay-ready');
  const pay = await t.clickPay(page);
  await t.screen(page, 'confirm');
  assert.match(await t.text(page, 'h1'), /正在确认支付结果/);
  await assertTradePay(page, pay, 0);
  const sent = (await t.sandbox.requests()).filter((r) => r.charge_code === pay.body.charge_code);
  assert.ok(JSON.stringify(sent[0].body).includes(BUYER_ID), 'the signed-in buyer id reached the gateway');
  await t.sandbox.pay(pay.body.charge_code);
  await t.screen(page, 'done', 'paid');
  assert.match(await t.text(page, 'h1'), /支付成功/);
  await t.shot(page, 'alipay-paid');
  await t.finish(page);
});

test('Alipay 6001: cancelled, Pay again, bridge appears late, 9000, paid', async () => {
  const page = await openAlipay(['6001', '9000']);
  const first = await t.clickPay(page);
  await t.screen(page, 'confirm');
  assert.match(await t.text(page, 'h1'), /支付已取消/);
  await assertTradePay(page, first, 0);
  await t.shot(page, 'alipay-cancelled');
  const second = await t.clickPay(page);
  assert.notEqual(second.body.charge_code, first.body.charge_code);
  await page.waitForFunction(() => window.__ali.calls.length === 2);
  await assertTradePay(page, second, 1);
  await t.sandbox.pay(second.body.charge_code);
  await t.screen(page, 'done', 'paid');
  await t.finish(page);
});

test('Alipay bridge injected late: waits for AlipayJSBridgeReady', async () => {
  const page = await openAlipay(['9000'], { delayed: true, kind: 'desktop' });
  const pay = await t.clickPay(page);
  await t.screen(page, 'wallet');
  assert.match(await t.text(page, 'h1'), /正在打开支付宝/);
  await page.evaluate(() => window.__aliInstall());
  await t.screen(page, 'confirm');
  await assertTradePay(page, pay, 0);
  await t.sandbox.pay(pay.body.charge_code);
  await t.screen(page, 'done', 'paid');
  await t.finish(page);
});
