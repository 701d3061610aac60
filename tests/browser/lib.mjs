// Shared helpers of the browser tests: the real checkout page served by the
// real Worker (wrangler dev) against the sandbox gateway, driven by headless
// Chromium through playwright-core. Everything talks to 127.0.0.1 only.
//
// `cargo xtask test` starts the services and sets E2E_*; without them every
// test fails with instructions (a browser suite that skips silently proves nothing).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');

export const UA = {
  wechat:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN',
  alipay:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AlipayClient/10.5.36.6000 Language/zh-Hans',
  mobile:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  desktop:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
};

const MOBILE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, isMobile: false, hasTouch: false };

/** The E2E_* environment; throws with instructions when it is missing. */
export function env() {
  const need = ['E2E_WORKER_URL', 'E2E_SANDBOX_URL', 'E2E_ADMIN_TOKEN'];
  const missing = need.filter((n) => !process.env[n]);
  if (missing.length) {
    throw new Error(
      `${missing.join(', ')} not set: the browser tests need the running Worker and sandbox; ` +
        'run them with `cargo xtask test` (it sets E2E_WORKER_URL, E2E_SANDBOX_URL, E2E_ADMIN_TOKEN, ...)',
    );
  }
  const trim = (s) => s.replace(/\/+$/, '');
  return {
    worker: trim(process.env.E2E_WORKER_URL),
    sandbox: trim(process.env.E2E_SANDBOX_URL),
    adminToken: process.env.E2E_ADMIN_TOKEN,
  };
}

/** Headless system Chromium. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A fresh browser context and page for one shopper.
 * kind: 'mobile' | 'desktop' (viewport); ua: a UA string; locale: browser language;
 * init: a function run in the page before its scripts (fake wallet bridges), with initArg.
 * The page records CSP violations and uncaught errors; `finish(page)` asserts there were none.
 */
export async function open(browser, { kind = 'mobile', ua = UA.mobile, locale = 'zh-CN', init, initArg } = {}) {
  const context = await browser.newContext({
    ...(kind === 'mobile' ? MOBILE : DESKTOP),
    userAgent: ua,
    locale,
  });
  // wrangler dev (not the Worker: its handlers log tens of ms) now and then
  // holds page-asset requests ~30 s before dispatching them; a budget above
  // that keeps such a stall from failing a test that asserts nothing about
  // time (see the closing note of issues 10–13; speed is `cargo xtask bench`'s).
  context.setDefaultNavigationTimeout(75_000);
  const page = await context.newPage();
  page.problems = [];
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  if (init) await page.addInitScript(init, initArg);
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) {
      page.problems.push(`console: ${msg.text()}`);
    }
  });
  page.kind = kind;
  return page;
}

/** Asserts the page ran under the Worker's CSP without violations or uncaught errors, then closes it. */
export async function finish(page) {
  const csp = await page.evaluate(() => window.__csp || []).catch(() => []);
  const problems = [...page.problems, ...csp.map((c) => `csp: ${c}`)];
  await page.context().close();
  assert.deepEqual(problems, [], 'the page must run without CSP violations or errors');
}

async function json(res, what) {
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text}`);
  return body;
}

/** Creates a checkout link with the merchant API; returns {token, url, expires_at}. */
export async function createLink(fields = {}) {
  const e = env();
  const res = await fetch(`${e.worker}/v1/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${e.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amount: '12.50', subject: 'Browser test', ...fields }),
  });
  return json(res, 'create link');
}

/** The page URL of a link, with optional query parameters. */
export function pageUrl(token, query = {}) {
  const q = new URLSearchParams(query).toString();
  return `${env().worker}/c/${token}${q ? `?${q}` : ''}`;
}

/** Sandbox control API. */
export const sandbox = {
  async pay(code) {
    return json(await fetch(`${env().sandbox}/sandbox/pay/${code}`, { method: 'POST' }), `sandbox pay ${code}`);
  },
  async close(code) {
    return json(await fetch(`${env().sandbox}/sandbox/close/${code}`, { method: 'POST' }), `sandbox close ${code}`);
  },
  async order(code) {
    return json(await fetch(`${env().sandbox}/sandbox/orders/${code}`), `sandbox order ${code}`);
  },
  async requests() {
    return json(await fetch(`${env().sandbox}/sandbox/requests`), 'sandbox requests');
  },
  async fault(iface, mode) {
    const res = await fetch(`${env().sandbox}/sandbox/faults/${iface}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode }),
    });
    return json(res, `sandbox fault ${iface}=${mode}`);
  },
  /** A shopper id the sandbox's wallet issued (as if a merchant's own sign-in got it). */
  async shopper(wallet) {
    const app = process.env[wallet === 'wechat' ? 'E2E_WECHAT_APPID' : 'E2E_ALIPAY_APP_ID'];
    if (!app) throw new Error('E2E_WECHAT_APPID / E2E_ALIPAY_APP_ID not set: run under `cargo xtask test`');
    const res = await fetch(`${env().sandbox}/sandbox/oauth/${wallet}/shoppers?app_id=${app}`, { method: 'POST' });
    return (await json(res, `sandbox ${wallet} shopper`)).id;
  },
  /** The ids the sandbox's sign-in issued, oldest first. */
  async issued() {
    return json(await fetch(`${env().sandbox}/sandbox/oauth/issued`), 'sandbox issued ids');
  },
  async faultTimes(iface, mode, times) {
    const res = await fetch(`${env().sandbox}/sandbox/faults/${iface}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode, times }),
    });
    return json(res, `sandbox fault ${iface}=${mode} x${times}`);
  },
  async clearFaults() {
    const res = await fetch(`${env().sandbox}/sandbox/faults`, { method: 'DELETE' });
    if (!res.ok) throw new Error(`clear faults: HTTP ${res.status}`);
  },
};

/**
 * On the sandbox's authorize page a link opened inside a wallet led to:
 * allow, wait until the Worker has the page again, and return the id the
 * sandbox issued. The stack configures both wallets' sign-in, and then an
 * id put on the link unsigned is refused (issue 24), so a shopper who pays
 * from inside a wallet signs in first. Files run one at a time, so the
 * last id issued is this sign-in's.
 */
export async function signIn(page, wallet) {
  await page.waitForSelector('#allow', { timeout: 30_000 });
  assert.ok(page.url().startsWith(env().sandbox), page.url());
  await Promise.all([page.waitForURL((u) => u.href.startsWith(env().worker)), page.click('#allow')]);
  const ids = (await sandbox.issued()).filter((i) => i.wallet === wallet);
  return ids[ids.length - 1].id;
}

/** The Worker's shopper view of an order. */
export async function workerOrder(code) {
  return json(await fetch(`${env().worker}/api/orders/${code}`), `order ${code}`);
}

/** Waits for a screen of the page (`data-screen`, and `data-state` for results). */
export async function screen(page, name, state, timeout = 75_000) {
  const sel = `.screen[data-screen="${name}"]${state ? `[data-state="${state}"]` : ''}`;
  await page.waitForSelector(sel, { timeout });
  return page.locator(sel);
}

/** The charge code the page shows. */
export async function chargeCode(page) {
  const code = (await page.locator('#charge-code').first().textContent()).trim();
  assert.match(code, /^\S+$/);
  return code;
}

/** Writes artifacts/screenshots/{name}-{mobile|desktop}.png. */
export async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${page.kind}.png`), fullPage: true });
}

/** Decodes the QR code the page shows (#qr) from a screenshot of that element. */
export async function decodeQr(page) {
  const png = PNG.sync.read(await page.locator('#qr').screenshot());
  const result = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(result, 'the QR code on the page must decode');
  return result.data;
}

/** Text of the element, trimmed. */
export async function text(page, selector) {
  return (await page.locator(selector).first().textContent()).trim();
}

/**
 * Fake WeixinJSBridge, injected before the page's scripts. Records every
 * invoke (api name, a copy of the parameters, their key order) in
 * window.__wx.calls and answers the queued results ('ok' | 'cancel' | 'fail').
 * With delayed, the bridge appears only when the test calls window.__wxInstall(),
 * which also fires WeixinJSBridgeReady, as WeChat does.
 */
export function fakeWechat({ answers, delayed = false }) {
  window.__wx = { calls: [], answers: answers.slice() };
  const bridge = {
    invoke(api, params, cb) {
      window.__wx.calls.push({ api, keys: Object.keys(params), params: JSON.parse(JSON.stringify(params)) });
      const answer = window.__wx.answers.shift() || 'fail';
      setTimeout(() => cb({ err_msg: `get_brand_wcpay_request:${answer}` }), 30);
    },
  };
  const install = () => {
    window.WeixinJSBridge = bridge;
    document.dispatchEvent(new Event('WeixinJSBridgeReady'));
  };
  if (delayed) window.__wxInstall = install;
  else window.WeixinJSBridge = bridge;
}

/** Fake AlipayJSBridge: like fakeWechat, answering queued resultCodes ('9000', '6001', ...). */
export function fakeAlipay({ answers, delayed = false }) {
  window.__ali = { calls: [], answers: answers.slice() };
  const bridge = {
    call(api, args, cb) {
      window.__ali.calls.push({ api, keys: Object.keys(args), args: JSON.parse(JSON.stringify(args)) });
      const resultCode = window.__ali.answers.shift() || '4000';
      setTimeout(() => cb({ resultCode }), 30);
    },
  };
  const install = () => {
    window.AlipayJSBridge = bridge;
    document.dispatchEvent(new Event('AlipayJSBridgeReady'));
  };
  if (delayed) window.__aliInstall = install;
  else window.AlipayJSBridge = bridge;
}

/** Clicks the pay button and returns the Worker's POST /api/pay answer the page received. */
export async function clickPay(page) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/pay') && r.request().method() === 'POST'),
    page.click('#pay'),
  ]);
  return { status: response.status(), body: await response.json() };
}

/** Polls `check` (async) until it returns true; fails naming `what` after `ms`. */
export async function until(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`never happened: ${what}`);
}

/** A link paid through the sandbox; returns {link, code}. */
export async function paidLink(fields) {
  const e = env();
  const link = await createLink(fields);
  const res = await fetch(`${e.worker}/api/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': UA.desktop },
    body: JSON.stringify({ token: link.token, method: 'native' }),
  });
  const { charge_code: code } = await res.json();
  await sandbox.pay(code);
  await until('the Worker has the payment', async () => (await workerOrder(code)).state === 'paid');
  return { link, code };
}

/**
 * Asserts the result page's "back to the merchant" link: the link's
 * return_url with the trusted-return parameters appended (README, *Trusted
 * return*; the signature itself is checked in webhooks.test.mjs).
 */
export async function assertReturnLink(page, returnUrl, code) {
  const href = new URL(await page.getAttribute('#return', 'href'));
  assert.equal(href.origin + href.pathname, returnUrl);
  assert.equal(href.searchParams.get('charge_code'), code);
  assert.equal(href.searchParams.get('state'), 'paid');
  assert.match(href.searchParams.get('sig'), /^[A-Za-z0-9_-]{43}(\.[A-Za-z0-9_-]{43})*$/);
}

/** The merchant API (admin token): the answer's JSON, or throws. */
export async function admin(method, path, body) {
  const e = env();
  const res = await fetch(`${e.worker}${path}`, {
    method,
    headers: { authorization: `Bearer ${e.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return json(res, `${method} ${path}`);
}

/** The types of the merchant's events about `code`, oldest first. */
export async function eventsOf(code) {
  const out = [];
  let after = '';
  for (;;) {
    const page = await admin('GET', `/v1/events?limit=200${after ? `&after=${after}` : ''}`);
    out.push(...page.data.filter((ev) => ev.payload.data.charge_code === code).map((ev) => ev.type));
    if (!page.has_more) return out;
    after = page.next_after;
  }
}
