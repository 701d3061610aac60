// Counter codes (issue 21): a shop's printed code that many shoppers pay at
// once, each their own amount. Three shoppers in three browsers (three
// contexts: three cookie jars, three devices) scan the same code at the
// same moment: each sees only their own attempt and receipt, every payment
// is kept (three `order.paid`, no duplicate), and the code stays open. A
// deactivated code says it takes no more payments, and `POST /api/pay` is
// refused with 410 `LINK_INACTIVE`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());

/** One shopper: opens the code, types `amount`, pays on the desktop QR path; returns {page, code}. */
async function startPaying(token, amount) {
  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  await page.goto(t.pageUrl(token));
  await t.screen(page, 'ready');
  await page.fill('#amount-input', amount);
  const { status, body } = await t.clickPay(page);
  assert.equal(status, 200, JSON.stringify(body));
  await t.screen(page, 'qr');
  return { page, code: await t.chargeCode(page) };
}

test('a counter code paid by three shoppers at once: each their own receipt', async () => {
  const link = await t.createLink({
    kind: 'counter',
    amount: undefined,
    min_amount: '1',
    max_amount: '500',
    subject: 'Tea house counter',
  });
  assert.equal(link.kind, 'counter');
  assert.equal(link.active, true);
  assert.equal(link.expires_at, null, 'a counter code has no expiry unless asked');
  const amounts = ['1.11', '22.22', '333.33'];
  const shoppers = await Promise.all(amounts.map((a) => startPaying(link.token, a)));
  const codes = shoppers.map((s) => s.code);
  assert.equal(new Set(codes).size, 3, 'three attempts');

  // Nobody sees another's attempt: the link shows none, and another
  // device's poll of it is "not found".
  const view = await (await fetch(`${t.env().worker}/api/checkout/${link.token}`)).json();
  assert.equal(view.state, 'open');
  assert.equal(view.charge_code, null);
  const [a, b] = shoppers;
  const peek = await b.page.context().request.get(`${t.env().worker}/api/orders/${a.code}?token=${link.token}`);
  assert.equal(peek.status(), 404, 'shopper B cannot poll shopper A');
  const own = await a.page.context().request.get(`${t.env().worker}/api/orders/${a.code}?token=${link.token}`);
  assert.equal(own.status(), 200, 'shopper A polls their own');

  await Promise.all(codes.map((c) => t.sandbox.pay(c)));
  for (const [i, s] of shoppers.entries()) {
    await t.screen(s.page, 'done', 'paid');
    assert.equal(await t.text(s.page, '#result-amount'), `¥${amounts[i]}`);
    assert.equal(await t.chargeCode(s.page), s.code, 'the receipt names their own attempt');
    assert.ok(await s.page.locator('#paid-at').count(), 'the receipt has the time');
    await t.shot(s.page, `counter-receipt-${i + 1}`);
  }
  for (const c of codes) {
    assert.deepEqual(await t.eventsOf(c), ['order.paid'], `${c}: one order.paid, kept`);
  }
  // Still open: the next scan starts fresh.
  const again = await (await fetch(`${t.env().worker}/api/checkout/${link.token}`)).json();
  assert.equal(again.state, 'open');
  const next = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  await next.goto(t.pageUrl(link.token));
  await t.screen(next, 'ready');
  await t.finish(next);
  for (const s of shoppers) await t.finish(s.page);
});

test('a deactivated code is refused', async () => {
  const link = await t.createLink({ kind: 'counter', amount: undefined, min_amount: '1', max_amount: '50', subject: 'Closed counter' });
  const off = await t.admin('POST', `/v1/links/${link.id}/deactivate`);
  assert.equal(off.active, false);
  assert.equal(off.id, link.id);
  const page = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  await page.goto(t.pageUrl(link.token));
  await t.screen(page, 'inactive');
  assert.match(await t.text(page, 'h1'), /no longer accepts payments/);
  await t.shot(page, 'counter-inactive');
  const res = await fetch(`${t.env().worker}/api/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': t.UA.desktop },
    body: JSON.stringify({ token: link.token, method: 'native', amount: '5.00' }),
  });
  assert.equal(res.status, 410);
  assert.equal((await res.json()).error.code, 'LINK_INACTIVE');
  await t.finish(page);
});
