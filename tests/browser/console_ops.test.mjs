// The merchant console's webhooks, staff and settings screens (issue 22) against
// the real Worker, D1, its queue and a receiver on 127.0.0.1: a test event
// sent from the console, its delivery visible (status, latency, the start
// of the answer) and redelivered; the Worker's health without a secret;
// what each role may do here; an endpoint refusing: Today's warning of the
// failed events, opening them on the webhooks screen, redelivered; an
// order page's events and deliveries. axe-core on every screen, both
// languages, screenshots mobile and desktop.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { admin, env, finish, launch, paidLink, until } from './lib.mjs';
import { accessible, consoleScreen, consoleShot, signedIn } from './console.mjs';

const HOOK_URL = process.env.E2E_WEBHOOK_URL;
const ANSWER = '{"ok": true, "from": "console test"}';
const REFUSAL = '{"error": "down for the console test"}';

// While set, the receiver answers 500 (an endpoint that is down).
let refuse = false;

let browser;
let server;
const received = [];
before(async () => {
  browser = await launch();
  const { port } = new URL(HOOK_URL);
  server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ id: req.headers['webhook-id'], body: Buffer.concat(chunks).toString('utf8') });
      if (refuse) res.writeHead(500, { 'content-type': 'application/json' }).end(REFUSAL);
      else res.writeHead(202, { 'content-type': 'application/json' }).end(ANSWER);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), '127.0.0.1', resolve);
  });
});
after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

test('a manager sends a test event from the console: delivered, its answer shown, redelivered', async () => {
  for (const [locale, kind] of [['en-US', 'desktop'], ['zh-CN', 'mobile']]) {
    const page = await signedIn(browser, 'manager', { locale, kind, path: '/webhooks' });
    await consoleScreen(page, 'webhooks');
    assert.equal((await page.textContent('#endpoint-url')).trim(), HOOK_URL);
    await accessible(page, `webhooks ${locale} ${kind}`);
    await page.click('#send-test');
    await page.waitForSelector('#test-sent');
    const item = page.locator('#endpoint li.event');
    const id = await item.getAttribute('data-id');
    assert.equal(await item.getAttribute('data-type'), 'test.ping');
    // Re-read (close and open) until the delivery is recorded.
    const line = `#endpoint li.event[data-id="${id}"] .event-line`;
    await until('the test event delivered', async () => {
      await page.click(line);
      await page.click(line);
      return (await page.locator(`#endpoint li.event[data-id="${id}"] tr.attempt`).count()) >= 1;
    }, 60_000);
    const row = page.locator(`#endpoint li.event[data-id="${id}"] tr.attempt`).first();
    assert.equal((await row.locator('.status').textContent()).trim(), '202');
    assert.equal((await row.locator('.answer').textContent()).trim(), ANSWER);
    assert.ok(received.some((r) => r.id === id && JSON.parse(r.body).type === 'test.ping'));
    await accessible(page, `webhooks delivered ${locale} ${kind}`);
    await consoleShot(page, `webhooks-${locale}`);
    // Redeliver: a second delivery of the same event.
    await page.click(`#endpoint li.event[data-id="${id}"] .redeliver`);
    await until('redelivered', async () => {
      await page.click(line);
      await page.click(line);
      return (await page.locator(`#endpoint li.event[data-id="${id}"] tr.attempt`).count()) >= 2;
    }, 60_000);
    assert.equal(received.filter((r) => r.id === id).length, 2);
    await finish(page);
  }
});

test('a cashier sees the webhooks but sends and redelivers nothing', async () => {
  const page = await signedIn(browser, 'cashier', { locale: 'zh-CN', path: '/webhooks' });
  await consoleScreen(page, 'webhooks');
  await page.waitForSelector('#endpoint-url');
  assert.equal(await page.locator('#send-test').count(), 0);
  const first = page.locator('#events li.event .event-line').first();
  if (await first.count()) {
    await first.click();
    await page.waitForSelector('#events .deliveries');
    assert.equal(await page.locator('#events .redeliver').count(), 0);
  }
  await accessible(page, 'webhooks as cashier');
  await finish(page);
});

/** Clicks "more" on the webhooks screen until the event `id` is listed. */
async function listed(page, id) {
  const item = `#events li.event[data-id="${id}"]`;
  await until(`event ${id} listed`, async () => {
    if (await page.locator(item).count()) return true;
    if (await page.locator('#events-more').count()) await page.click('#events-more');
    return false;
  }, 30_000);
  return item;
}

test('Today warns of events whose delivery failed, opens them on the webhooks screen, where a manager redelivers one', async () => {
  // The endpoint refuses until the schedule gives up (the test stack's
  // short retry schedule, xtask/src/stack.rs).
  refuse = true;
  let event;
  try {
    event = await admin('POST', '/v1/events/test');
    await until('the test event failed', async () => (await admin('GET', `/v1/events/${event.id}`)).delivery === 'failed', 90_000);
  } finally {
    refuse = false;
  }
  for (const [locale, kind, words] of [['en-US', 'desktop', /delivery failed/], ['zh-CN', 'mobile', /发送失败/]]) {
    const page = await signedIn(browser, 'manager', { locale, kind, bearer: true });
    await consoleScreen(page, 'today');
    await page.waitForSelector('#failed-webhooks-warning');
    assert.match(await page.textContent('#failed-webhooks-warning'), words);
    assert.match(await page.textContent('#failed-webhooks-count'), /^[1-9]\d*\+?$/);
    await page.waitForSelector('#figures, #latest-none, #latest');
    await accessible(page, `today warnings ${locale} ${kind}`);
    await consoleShot(page, `today-warnings-${locale}`);
    await page.click('#failed-webhooks-warning a');
    await consoleScreen(page, 'webhooks');
    assert.match(page.url(), /\/console\/webhooks\?delivery=failed$/);
    await page.waitForSelector('#failed-only');
    const item = await listed(page, event.id);
    assert.equal(await page.locator('#events li.event .badge:not(.failed)').count(), 0, 'only failed events');
    await page.click(`${item} .event-line`);
    await page.waitForSelector(`${item} tr.attempt`);
    const first = page.locator(`${item} tr.attempt`).first();
    assert.equal((await first.locator('.status').textContent()).trim(), '500');
    assert.equal((await first.locator('.answer').textContent()).trim(), REFUSAL);
    await accessible(page, `webhooks failed ${locale} ${kind}`);
    await consoleShot(page, `webhooks-failed-${locale}`);
    if (locale === 'zh-CN') {
      // The endpoint is back: redelivered, delivered.
      await page.click(`${item} .redeliver`);
      await until('redelivered and delivered', async () => (await admin('GET', `/v1/events/${event.id}`)).delivery === 'delivered', 60_000);
      assert.ok(received.some((r) => r.id === event.id));
    }
    // Back to every event.
    await page.click('#all-events');
    await consoleScreen(page, 'webhooks');
    await until('every event listed', async () => (await page.locator('#failed-only').count()) === 0);
    await finish(page);
  }
});

test('an order page shows its events and their deliveries; a manager redelivers, a viewer only reads', async () => {
  const { code } = await paidLink({ amount: '3.20', subject: 'Order events tea' });
  await until('its order.paid delivered', async () => {
    const page = await admin('GET', `/v1/events?order=${code}`);
    return page.data.some((e) => e.type === 'order.paid' && e.delivery === 'delivered');
  }, 60_000);
  for (const [locale, kind, role] of [['en-US', 'desktop', 'manager'], ['zh-CN', 'mobile', 'manager'], ['zh-CN', 'mobile', 'viewer']]) {
    const page = await signedIn(browser, role, { locale, kind, bearer: true, path: `/orders/${code}` });
    await consoleScreen(page, 'order');
    const item = '#order-events li.event[data-type="order.paid"]';
    await page.waitForSelector(`${item} tr.attempt`);
    const id = await page.getAttribute(item, 'data-id');
    const row = page.locator(`${item} tr.attempt`).first();
    assert.equal((await row.locator('.status').textContent()).trim(), '202');
    assert.equal((await row.locator('.answer').textContent()).trim(), ANSWER);
    assert.match(await row.locator('.num').textContent(), /^\d+ ms$/);
    assert.equal(await page.locator('#order-events li.event').count(), 1, 'only its own events');
    assert.equal(await page.locator(`${item} .redeliver`).count(), role === 'manager' ? 1 : 0);
    await accessible(page, `order events ${locale} ${kind} ${role}`);
    if (role === 'manager') await consoleShot(page, `order-events-${locale}`);
    if (role === 'manager' && locale === 'en-US') {
      const before = received.filter((r) => r.id === id).length;
      await page.click(`${item} .redeliver`);
      await page.waitForSelector(`${item} .notice`);
      await until('redelivered', async () => received.filter((r) => r.id === id).length > before, 60_000);
    }
    await finish(page);
  }
});

test('settings: the Worker\'s health in both languages, no secret on the screen', async () => {
  for (const [locale, kind, version] of [['en-US', 'desktop', 'Version'], ['zh-CN', 'mobile', '版本']]) {
    const page = await signedIn(browser, 'viewer', { locale, kind, path: '/settings' });
    await consoleScreen(page, 'settings');
    await page.waitForSelector('#set-version dd');
    assert.equal((await page.textContent('#set-version dt')).trim(), version);
    assert.match(await page.textContent('#set-gateway dd'), /^127\.0\.0\.1:\d+$/);
    assert.equal((await page.textContent('#set-webhook dd')).trim(), HOOK_URL);
    assert.match(await page.textContent('#set-migrations dd'), /^\d+ · \d{4}_.+\.sql$/);
    const shown = await page.textContent('main');
    for (const secret of [env().adminToken, process.env.E2E_LINK_SECRET, process.env.E2E_MERCHANT_KEY, process.env.E2E_WEBHOOK_SECRET]) {
      if (secret) assert.ok(!shown.includes(secret), 'a secret on the settings screen');
    }
    await accessible(page, `settings ${locale} ${kind}`);
    await consoleShot(page, `settings-${locale}`);
    await finish(page);
  }
});

test('staff (owner only): a key shown once, rolled and revoked; a sign-in link as a QR another phone signs in with; the audit log', async () => {
  for (const [locale, kind] of [['en-US', 'desktop'], ['zh-CN', 'mobile']]) {
    // A key on every request: this flow (two axe runs, a second phone,
    // a reload) outlasts the test stack's 8 s sessions (`signedIn`).
    const page = await signedIn(browser, 'owner', { locale, kind, path: '/staff', bearer: true });
    await consoleScreen(page, 'staff');
    await page.waitForSelector('#keys');
    await accessible(page, `staff ${locale} ${kind}`);
    const name = `console key ${Date.now()}`;
    await page.fill('#key-name', name);
    await page.selectOption('#key-role', 'viewer');
    await page.click('#create-key');
    const shown = page.locator('.new-key').first();
    await shown.waitFor();
    const key = await shown.inputValue();
    assert.match(key, /^sk_[0-9a-f]{40}$/);
    // The key works, as a viewer.
    const me = await fetch(`${env().worker}/v1/links?limit=1`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(me.status, 200);
    const row = page.locator('#keys .key-row', { hasText: name });
    await row.waitFor();
    await row.locator('.roll').click();
    await row.locator('.new-key').waitFor();
    assert.notEqual(await row.locator('.new-key').inputValue(), key);
    await row.locator('.revoke').click();
    await page.locator('#keys .key-row', { hasText: name }).locator('.badge.off').first().waitFor();
    // A sign-in link for a cashier's phone: its QR decodes to the link.
    await page.fill('#signin-name', `till ${locale}`);
    await page.selectOption('#signin-role', 'cashier');
    await page.click('#create-signin');
    await page.waitForSelector('#signin-qr svg');
    const png = PNG.sync.read(await page.locator('#signin-qr').screenshot());
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.ok(decoded, 'the sign-in QR decodes');
    assert.equal(decoded.data, await page.inputValue('#signin-url'));
    // The other phone opens it at once (the test stack's sign-in links
    // last 3 s): signed in as the cashier.
    const phone = await browser.newContext();
    const other = await phone.newPage();
    await other.goto(decoded.data);
    await other.waitForSelector('#who[data-role="cashier"]', { timeout: 30_000 });
    await phone.close();
    await accessible(page, `staff with a sign-in QR ${locale} ${kind}`);
    await consoleShot(page, `staff-${locale}`);
    // The audit log names what was done.
    await page.reload();
    await page.waitForSelector('#audit .audit-entry');
    assert.match(await page.textContent('#audit'), /POST \/v1\/keys/);
    await finish(page);
  }
  // Not the manager's.
  const page = await signedIn(browser, 'manager', { locale: 'en-US', path: '/staff' });
  await page.waitForSelector('.screen[data-screen="staff"]');
  assert.equal(await page.locator('#create-key').count(), 0);
  assert.equal(await page.locator('#nav-staff').count(), 0);
  await finish(page);
});
