// Wallet sign-in (issue 10) in real Chromium with WeChat and Alipay user
// agents: the plain link → the sandbox's authorize page → back with the id
// signed → the fake bridge gets that shopper's parameters → paid. Plus the
// denial, a provider failure with retry, and a replayed callback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());

/** Opens the bare link inside a wallet; the callbacks the page goes through are recorded. */
async function openInWallet(wallet, answers, fields = {}) {
  const link = await t.createLink({ amount: '2.30', subject: `Sign-in ${wallet}`, ...fields });
  const page = await t.open(browser, {
    kind: 'mobile',
    ua: wallet === 'wechat' ? t.UA.wechat : t.UA.alipay,
    locale: 'en-US',
    init: wallet === 'wechat' ? t.fakeWechat : t.fakeAlipay,
    initArg: { answers },
  });
  page.callbacks = [];
  page.backs = [];
  page.on('request', (r) => {
    if (r.url().includes(`/oauth/${wallet}?`)) page.callbacks.push(r.url());
  });
  page.on('response', (r) => {
    if (r.url().includes(`/oauth/${wallet}?`)) page.backs.push(r.headers().location ?? '');
  });
  await page.goto(t.pageUrl(link.token));
  return { link, page };
}

/** On the sandbox's authorize page: choose, and return where it lands. */
async function decide(page, choice) {
  await page.waitForSelector('#allow', { timeout: 30_000 });
  assert.ok(page.url().startsWith(t.env().sandbox), page.url());
  await Promise.all([page.waitForURL((u) => u.href.startsWith(t.env().worker)), page.click(`#${choice}`)]);
}

async function lastIssued(wallet) {
  const ids = (await t.sandbox.issued()).filter((i) => i.wallet === wallet);
  return ids[ids.length - 1].id;
}

test('WeChat: link → sandbox sign-in → JSAPI with that openid → paid', async () => {
  const { link, page } = await openInWallet('wechat', ['ok']);
  await t.shot(page, 'signin-wechat-authorize');
  await decide(page, 'allow');
  await t.screen(page, 'ready');
  const url = new URL(page.url());
  assert.equal(url.pathname, `/c/${link.token}`);
  const back = new URL(page.backs[0], t.env().worker);
  assert.match(back.searchParams.get('openid'), /^s2\./, 'the openid comes back encrypted and signed');
  assert.equal(url.searchParams.get('openid'), null, 'the page removed it from the address bar');
  assert.equal(page.callbacks.length, 1, 'one sign-in round trip');
  assert.equal(await t.text(page, '#pay'), 'Pay with WeChat Pay');
  const pay = await t.clickPay(page);
  assert.equal(pay.body.method, 'wechat_jsapi');
  await t.screen(page, 'confirm');
  const [call] = await page.evaluate(() => window.__wx.calls);
  assert.equal(call.api, 'getBrandWCPayRequest');
  assert.deepEqual(call.params, pay.body.action.params, 'the bridge got what the Worker returned');
  const openid = await lastIssued('wechat');
  const sent = (await t.sandbox.requests()).find((r) => r.charge_code === pay.body.charge_code);
  assert.equal(sent.body.subOpenid, openid, "the order's subOpenid is the sandbox's openid");
  assert.equal(sent.body.subAppid, process.env.E2E_WECHAT_APPID);
  assert.equal(call.params.appId, process.env.E2E_WECHAT_APPID);
  await t.sandbox.pay(pay.body.charge_code);
  await t.screen(page, 'done', 'paid');
  await t.shot(page, 'signin-wechat-paid');
  await t.finish(page);
});

test('Alipay: link → sandbox sign-in (RSA2 both ways) → tradePay with that buyer → paid', async () => {
  const { link, page } = await openInWallet('alipay', ['9000']);
  await decide(page, 'allow');
  await t.screen(page, 'ready');
  const url = new URL(page.url());
  assert.equal(url.pathname, `/c/${link.token}`);
  assert.match(new URL(page.backs[0], t.env().worker).searchParams.get('buyer_id'), /^s2\./);
  assert.equal(url.searchParams.get('buyer_id'), null, 'removed from the address bar');
  assert.equal(page.callbacks.length, 1);
  assert.equal(await t.text(page, '#pay'), 'Pay with Alipay');
  const pay = await t.clickPay(page);
  assert.equal(pay.body.method, 'alipay_jsapi');
  await t.screen(page, 'confirm');
  const [call] = await page.evaluate(() => window.__ali.calls);
  const order = await t.sandbox.order(pay.body.charge_code);
  assert.equal(call.api, 'tradePay');
  assert.equal(call.args.tradeNO, order.charge_third_code);
  const sent = (await t.sandbox.requests()).find((r) => r.charge_code === pay.body.charge_code);
  assert.equal(sent.body.buyerId, await lastIssued('alipay'), "the order's buyerId is the sandbox's");
  await t.sandbox.pay(pay.body.charge_code);
  await t.screen(page, 'done', 'paid');
  await t.finish(page);
});

test('deny: back to the other ways to pay (WeChat → QR, Alipay → wap), no second sign-in', async () => {
  for (const [wallet, button] of [['wechat', 'Show payment QR code'], ['alipay', 'Pay now']]) {
    const { page } = await openInWallet(wallet, []);
    await decide(page, 'deny');
    await t.screen(page, 'ready');
    assert.equal(new URL(page.url()).searchParams.get('signin'), 'skip');
    assert.equal(await t.text(page, '#pay'), button);
    assert.equal(page.callbacks.length, 1);
    await t.shot(page, `signin-${wallet}-denied`);
    await t.finish(page);
  }
});

test('provider failure: a clear screen with retry, no redirect loop; retry signs in', async () => {
  await t.sandbox.faultTimes('oauth_token', 'http500', 1);
  const { page } = await openInWallet('wechat', ['ok']);
  await decide(page, 'allow');
  await page.waitForSelector('#signin-error[data-code="SIGNIN_FAILED"]');
  await t.shot(page, 'signin-failed');
  // Stays on the screen: no automatic round trip.
  await page.waitForTimeout(1000);
  assert.equal(page.callbacks.length, 1);
  assert.ok(await page.locator('#signin-error').isVisible());
  await page.click('#retry');
  await decide(page, 'allow');
  await t.screen(page, 'ready');
  assert.equal(await t.text(page, '#pay'), 'Pay with WeChat Pay');
  assert.equal(page.callbacks.length, 2);
  await t.finish(page);
});

test('replayed callback: a clear screen and no order', async () => {
  const { page } = await openInWallet('alipay', []);
  await decide(page, 'allow');
  await t.screen(page, 'ready');
  const before = (await t.sandbox.requests()).length;
  await page.goto(page.callbacks[0]);
  await page.waitForSelector('#signin-error[data-code="SIGNIN_INVALID"]');
  assert.match(await t.text(page, 'h1'), /Sign-in link not valid/);
  await t.shot(page, 'signin-replayed');
  assert.equal((await t.sandbox.requests()).length, before, 'no gateway call, no order');
  await t.finish(page);
});
