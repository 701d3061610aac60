// WeChat webview: JSAPI through a fake WeixinJSBridge that records the exact
// parameters and answers ok / cancel / fail; the page then trusts only the Worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

// The shopper signs in through the sandbox's WeChat first (the stack
// configures WeChat sign-in, so an unsigned `?openid=` is refused: issue
// 24); the sign-in itself is tested in signin.test.mjs. OPENID: an id the
// sandbox issued, put on an Alipay-only link, which never signs in.
let OPENID;
let browser;
before(async () => {
  t.env();
  OPENID = await t.sandbox.shopper('wechat');
  browser = await t.launch();
});
after(async () => browser?.close());

async function openWechat(answers, { delayed = false, kind = 'mobile', fields = {} } = {}) {
  const link = await t.createLink({ amount: '0.01', subject: 'WeChat test', ...fields });
  const page = await t.open(browser, {
    kind,
    ua: t.UA.wechat,
    locale: 'en-US',
    init: t.fakeWechat,
    initArg: { answers, delayed },
  });
  await page.goto(t.pageUrl(link.token));
  const openid = await t.signIn(page, 'wechat');
  await t.screen(page, 'ready');
  assert.equal(await t.text(page, '#pay'), 'Pay with WeChat Pay');
  return { page, link, openid };
}

function assertBridgeCall(call, pay) {
  assert.equal(call.api, 'getBrandWCPayRequest');
  assert.deepEqual(
    [...call.keys].sort(),
    ['appId', 'nonceStr', 'package', 'paySign', 'signType', 'timeStamp'],
    'exactly the six JSAPI parameter names',
  );
  assert.equal(pay.body.action.type, 'wechat_jsapi');
  assert.deepEqual(call.params, pay.body.action.params, 'the bridge got exactly what the Worker returned');
  for (const v of Object.values(call.params)) assert.equal(typeof v, 'string');
  assert.match(call.params.appId, /^wx[0-9a-f]{16}$/);
  assert.match(call.params.package, /^prepay_id=/);
  assert.match(call.params.timeStamp, /^\d+$/);
}

test('WeChat ok: bridge gets the exact JSAPI parameters, page waits for the Worker, then paid', async () => {
  const { page, openid } = await openWechat(['ok']);
  const pay = await t.clickPay(page);
  assert.equal(pay.status, 200);
  assert.equal(pay.body.method, 'wechat_jsapi');
  await t.screen(page, 'confirm');
  assert.match(await t.text(page, 'h1'), /Confirming your payment/);
  const calls = await page.evaluate(() => window.__wx.calls);
  assert.equal(calls.length, 1);
  assertBridgeCall(calls[0], pay);
  const code = await t.chargeCode(page);
  assert.equal(code, pay.body.charge_code);
  const order = await t.sandbox.order(code);
  assert.equal(order.trade_type, 'JSAPI');
  const sent = (await t.sandbox.requests()).filter((r) => r.charge_code === code);
  assert.ok(JSON.stringify(sent[0].body).includes(openid), 'the signed-in openid reached the gateway');
  await t.shot(page, 'wechat-confirming');
  // "ok" is not proof: still waiting until the sandbox pays and notifies.
  assert.equal((await t.workerOrder(code)).state, 'pending');
  await t.sandbox.pay(code);
  await t.screen(page, 'done', 'paid');
  assert.match(await t.text(page, 'h1'), /Payment successful/);
  await t.shot(page, 'wechat-paid');
  await t.finish(page);
});

test('WeChat cancel: "Payment cancelled" with Pay again, which makes a new attempt that gets paid', async () => {
  const { page } = await openWechat(['cancel', 'ok']);
  const first = await t.clickPay(page);
  await t.screen(page, 'confirm');
  assert.match(await t.text(page, 'h1'), /Payment cancelled/);
  assert.equal(await t.text(page, '#pay'), 'Pay again');
  await t.shot(page, 'wechat-cancelled');
  const second = await t.clickPay(page);
  assert.equal(second.status, 200);
  assert.notEqual(second.body.charge_code, first.body.charge_code, 'a new attempt, a new CHARGE_CODE');
  await t.screen(page, 'confirm');
  await page.waitForFunction((code) => document.querySelector('#charge-code')?.textContent.trim() === code, second.body.charge_code);
  const calls = await page.evaluate(() => window.__wx.calls);
  assert.equal(calls.length, 2);
  assertBridgeCall(calls[1], second);
  await t.sandbox.pay(second.body.charge_code);
  await t.screen(page, 'done', 'paid');
  await t.finish(page);
});

test('WeChat fail: failure shown with Pay again; the closed order ends on "closed"', async () => {
  const { page } = await openWechat(['fail']);
  const pay = await t.clickPay(page);
  await t.screen(page, 'confirm');
  assert.match(await t.text(page, 'h1'), /did not go through/);
  assert.equal(await t.text(page, '#pay'), 'Pay again');
  await t.shot(page, 'wechat-failed');
  await t.sandbox.close(pay.body.charge_code);
  await t.screen(page, 'done', 'closed', 90_000);
  assert.match(await t.text(page, 'h1'), /Payment closed/);
  assert.equal(await t.text(page, '#pay'), 'Pay again');
  await t.finish(page);
});

test('WeChat bridge injected late: the page waits for WeixinJSBridgeReady, then pays', async () => {
  const { page } = await openWechat(['ok'], { delayed: true, kind: 'desktop' });
  const pay = await t.clickPay(page);
  await t.screen(page, 'wallet');
  assert.match(await t.text(page, 'h1'), /Opening WeChat Pay/);
  await t.shot(page, 'wechat-opening');
  assert.equal(await page.evaluate(() => window.__wx.calls.length), 0);
  await page.evaluate(() => window.__wxInstall());
  await t.screen(page, 'confirm');
  const calls = await page.evaluate(() => window.__wx.calls);
  assertBridgeCall(calls[0], pay);
  await t.sandbox.pay(pay.body.charge_code);
  await t.screen(page, 'done', 'paid');
  await t.finish(page);
});

test('Alipay-only link opened inside WeChat: "open in browser" screen, no order', async () => {
  const link = await t.createLink({ amount: '3.00', subject: 'Alipay only', channel: 'alipay' });
  for (const kind of ['mobile', 'desktop']) {
    const page = await t.open(browser, { kind, ua: t.UA.wechat, locale: 'en-US', init: t.fakeWechat, initArg: { answers: [] } });
    const payCalls = [];
    page.on('request', (r) => r.url().endsWith('/api/pay') && payCalls.push(r));
    await page.goto(t.pageUrl(link.token, { openid: OPENID }));
    await t.screen(page, 'open-in-browser');
    assert.match(await t.text(page, 'h1'), /Open in your browser/);
    assert.equal(await page.locator('#pay').count(), 0);
    await t.shot(page, 'open-in-browser');
    assert.equal(payCalls.length, 0);
    await t.finish(page);
  }
});
