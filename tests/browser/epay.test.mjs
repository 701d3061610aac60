// An epay (易支付) app's whole cycle in Chromium: the app's page posts its
// signed submit.php form, the browser lands on our checkout page, the
// sandbox shopper pays, the app's notify receiver (tests/epay/client.py)
// verifies the notification and answers `success`, and the shopper's way
// back reaches the app's return_url with parameters the client verifies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as t from './lib.mjs';

const CLIENT = join(dirname(fileURLToPath(import.meta.url)), '..', 'epay', 'client.py');

let browser;
let receiver;
let port;
let log;

function epayEnv() {
  const pid = process.env.E2E_EPAY_PID;
  const key = process.env.E2E_EPAY_KEY;
  if (!pid || !key) throw new Error('E2E_EPAY_PID / E2E_EPAY_KEY not set: run under `cargo xtask test`');
  return { pid, key, EPAY_API: `${t.env().worker}/epay/`, EPAY_PID: pid, EPAY_KEY: key };
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
}

function received() {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

before(async () => {
  t.env();
  browser = await t.launch();
  port = await freePort();
  log = join(tmpdir(), `epay-browser-${process.pid}.jsonl`);
  rmSync(log, { force: true });
  receiver = spawn('python3', [CLIENT, 'notify-server', String(port), log], {
    env: { ...process.env, ...epayEnv() },
    stdio: 'ignore',
  });
  await t.until('the notify receiver listens', async () => {
    try {
      await fetch(`http://127.0.0.1:${port}/ping`);
      return true;
    } catch {
      return false;
    }
  });
  rmSync(log, { force: true });
});

after(async () => {
  receiver?.kill();
  await browser?.close();
});

test('epay: submit.php form → our page → sandbox pays → notify success → return verified', async () => {
  const { pid, key } = epayEnv();
  const out = `B${Date.now()}`;
  const fields = {
    pid,
    type: 'alipay',
    out_trade_no: out,
    notify_url: `http://127.0.0.1:${port}/notify.php`,
    return_url: `http://127.0.0.1:${port}/user/return.php`,
    name: 'Pro plan 1 month',
    money: '9.9',
    param: 'uid=42',
    sitename: 'Browser shop',
  };
  // The signature as the apps write it, here in Node: sorted, non-empty,
  // k=v&…, the key appended, MD5 lowercase hex.
  const signing = Object.keys(fields).sort().filter((k) => fields[k] !== '').map((k) => `${k}=${fields[k]}`).join('&');
  const form = { ...fields, sign: createHash('md5').update(signing + key).digest('hex'), sign_type: 'MD5' };
  const inputs = Object.entries(form)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replace(/"/g, '&quot;')}">`)
    .join('');

  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  // The app's own page: the checkout form it posts to submit.php.
  await page.setContent(`<form id="epay" method="post" action="${t.env().worker}/epay/submit.php">${inputs}<button id="go">Pay</button></form>`);
  await Promise.all([page.waitForURL(/\/c\//), page.click('#go')]);
  await t.screen(page, 'ready');
  assert.equal(await t.text(page, '#amount'), '¥9.90');
  assert.equal(await t.text(page, '#subject'), 'Pro plan 1 month');

  await page.click('#pay');
  await t.screen(page, 'qr');
  const code = await t.chargeCode(page);
  await t.sandbox.pay(code);
  await t.screen(page, 'done', 'paid');

  // The app heard of it once, verified, and answered success.
  await t.until('the app got the notification', async () => received().some((n) => n.verified));
  const notes = received();
  assert.equal(notes.length, 1, JSON.stringify(notes));
  assert.equal(notes[0].params.out_trade_no, out);
  assert.equal(notes[0].params.money, '9.90');
  assert.equal(notes[0].params.param, 'uid=42');
  assert.equal(notes[0].params.type, 'alipay');

  // The way back: our return page sends the shopper to the app's
  // return_url (the app's receiver, which logs and verifies what it gets)
  // with the signed result.
  await Promise.all([page.waitForURL(/\/user\/return\.php\?/), page.click('#return')]);
  const landed = page.url();
  assert.ok(landed.startsWith(fields.return_url + '?'), landed);
  // The notification and the return visit, both verified (a favicon
  // request carries no parameters).
  await t.until('the app saw the return visit', async () => received().filter((n) => n.params.out_trade_no === out).length === 2);
  const visits = received().filter((n) => n.params.out_trade_no === out);
  assert.ok(visits.every((n) => n.verified), JSON.stringify(visits));
  const verified = JSON.parse(
    execFileSync('python3', [CLIENT, 'verify', landed], { env: { ...process.env, ...epayEnv() } }).toString(),
  );
  assert.equal(verified.verified, true);
  assert.equal(verified.params.trade_status, 'TRADE_SUCCESS');
  assert.equal(verified.params.out_trade_no, out);
  await t.finish(page);
});
