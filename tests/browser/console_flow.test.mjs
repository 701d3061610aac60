// The merchant console end to end: a link created with the API and paid by
// a shopper in a second browser context (sandbox) arrives on Today without
// a reload; refunded from the order page (the confirmation names the
// amount; a double tap refunds once; an answer lost on the network leaves
// no doubt); the orders list's filters, paging and CSV; statements; each
// role sees only what it may do; axe on every screen; screenshots.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as t from './lib.mjs';
import { accessible, consoleScreen, consoleShot, consoleUrl, navEntries, signedIn } from './console.mjs';

let browser;
before(async () => {
  t.env();
  browser = await t.launch();
});
after(async () => browser?.close());

/** A shopper pays a new link in their own browser context; returns the charge code. */
async function shopperPays(fields) {
  const link = await t.createLink(fields);
  const shopper = await t.open(browser, { kind: 'desktop', ua: t.UA.desktop, locale: 'en-US' });
  await shopper.goto(t.pageUrl(link.token));
  await t.screen(shopper, 'ready');
  await shopper.click('#pay');
  await t.screen(shopper, 'qr');
  const code = await t.chargeCode(shopper);
  await t.sandbox.pay(code);
  await t.screen(shopper, 'done', 'paid');
  await t.finish(shopper);
  return code;
}

const refundsOf = async (code) => (await t.admin('GET', `/v1/orders/${code}/refunds`)).refunds;

test('a payment arrives on Today live, is refunded once from its order page, then in full', async () => {
  const page = await signedIn(browser, 'manager', { kind: 'mobile', locale: 'en-US' });
  await consoleScreen(page, 'today');
  await page.waitForSelector('#figures, #latest-none, #latest');
  const code = await shopperPays({ amount: '12.50', subject: 'Console flow tea' });
  // No reload: Today reads the day again by itself.
  await page.waitForSelector(`#latest li[data-code="${code}"]`, { timeout: 30_000 });
  assert.match(await page.textContent(`#latest li[data-code="${code}"]`), /¥12\.50/);
  assert.ok(Number(await page.getAttribute('#payments', 'data-fen')) >= 1250);
  await accessible(page, 'today with payments');
  await consoleShot(page, 'today-payments');

  await page.click(`#latest li[data-code="${code}"] a`);
  await consoleScreen(page, 'order');
  await page.waitForSelector('#state[data-state="paid"]');
  assert.equal(await page.inputValue('#refund-amount'), '12.50');
  // Refused before sending: more than paid, three decimals, no reason.
  for (const [amount, reason] of [['12.51', 'r'], ['1.234', 'r'], ['1', '']]) {
    await page.fill('#refund-amount', amount);
    await page.fill('#refund-reason', reason);
    await page.click('#refund');
    await page.waitForSelector('#refund-error');
  }
  assert.equal((await refundsOf(code)).length, 0, 'nothing was sent');
  await page.fill('#refund-amount', '2.50');
  await page.fill('#refund-reason', 'Spilled');
  await page.click('#refund');
  assert.match(await page.textContent('#refund-question'), /¥2\.50\?$/);
  await accessible(page, 'refund confirmation');
  await consoleShot(page, 'order-refund-confirm');
  // A double tap: one refund.
  await page.dblclick('#refund-confirm').catch(() => {});
  await page.waitForSelector('#outcome');
  await page.waitForSelector('#state[data-state="partially_refunded"]');
  const once = await refundsOf(code);
  assert.equal(once.length, 1, JSON.stringify(once));
  assert.equal(once[0].amount_fen, 250);
  assert.equal(await page.locator('#refunds tr').count(), 1);

  // The answer lost on the network: the refund happens, the page says so
  // and reads the order again.
  await page.route('**/v1/orders/*/refunds', async (route) => {
    await route.fetch();
    await route.abort('connectionreset');
  });
  assert.equal(await page.inputValue('#refund-amount'), '10.00');
  await page.fill('#refund-reason', 'Whole order');
  await page.click('#refund');
  assert.match(await page.textContent('#refund-question'), /¥10\.00\?$/);
  await page.click('#refund-confirm');
  await page.waitForSelector('#state[data-state="refunded"]');
  assert.match(await page.textContent('#outcome'), /network dropped/);
  await page.unroute('**/v1/orders/*/refunds');
  assert.equal((await refundsOf(code)).length, 2);
  assert.equal(await page.locator('#refunds tr').count(), 2);
  assert.equal(await page.locator('#refund').count(), 0, 'nothing left to refund');
  await accessible(page, 'order refunded');
  await consoleShot(page, 'order');
  await t.finish(page);
});

test('orders: filters in the address, cursor paging, the CSV of the filters; cancel a pending order', async () => {
  const page = await signedIn(browser, 'owner', { kind: 'desktop', locale: 'zh-CN', path: '/orders' });
  await consoleScreen(page, 'orders');
  const code = await shopperPays({ amount: '3.20', subject: 'Filter me' });
  await page.fill('#f-q', code);
  await page.selectOption('#f-state', 'paid');
  await page.click('#apply');
  await page.waitForSelector(`#orders li[data-code="${code}"]`);
  assert.equal(await page.locator('#orders li').count(), 1);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('q'), code);
  assert.equal(url.searchParams.get('state'), 'paid');
  await accessible(page, 'orders filtered');
  await consoleShot(page, 'orders');
  // The CSV of these filters.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#orders-csv')]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.ok(csv.startsWith('\ufeff'), 'BOM');
  const lines = csv.slice(1).trim().split('\r\n');
  assert.equal(lines.length, 2, csv);
  assert.match(lines[1], new RegExp(code));
  // A bad day is refused before asking.
  await page.goto(consoleUrl('/orders?from=2026-13-45'));
  await page.waitForSelector('#filters-error');
  // Paging: one page of 50, then "more" reads the next (no repeats).
  for (let i = 0; i < 51; i += 1) await t.createLink({ amount: '1.00' });
  await page.goto(consoleUrl('/orders'));
  await consoleScreen(page, 'orders');
  await page.waitForSelector('#orders li');
  if (await page.locator('#more').count()) {
    const first = await page.locator('#orders li').count();
    await page.click('#more');
    await page.waitForFunction((n) => document.querySelectorAll('#orders li').length > n, first);
    const codes = await page.$$eval('#orders li', (lis) => lis.map((li) => li.dataset.code));
    assert.equal(new Set(codes).size, codes.length, 'no repeats');
  }
  // Cancel a pending order (created, not paid).
  const link = await t.createLink({ amount: '4.00' });
  const res = await fetch(`${t.env().worker}/api/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': t.UA.desktop },
    body: JSON.stringify({ token: link.token, method: 'native' }),
  });
  const { charge_code: pending } = await res.json();
  await page.goto(consoleUrl(`/orders/${pending}`));
  await page.waitForSelector('#state[data-state="pending"]');
  await page.click('#cancel');
  await page.click('#cancel-confirm');
  await page.waitForSelector('#outcome');
  await page.waitForSelector('#state:not([data-state="pending"])');
  await t.finish(page);
});

test('statements: by day with totals and the CSV; each screen accessible in both languages', async () => {
  for (const locale of ['en-US', 'zh-CN']) {
    const page = await signedIn(browser, 'accountant', { kind: 'mobile', locale, path: '/statements' });
    await consoleScreen(page, 'statements');
    await page.waitForSelector('#statements, #no-statements');
    await accessible(page, `statements ${locale}`);
    await consoleShot(page, `statements-${locale}`);
    await t.finish(page);
  }
});

test('each role sees only what it may do', async () => {
  const code = await shopperPays({ amount: '5.00', subject: 'Roles' });
  const expect = {
    owner: { nav: ['today', 'orders', 'links', 'statements', 'webhooks', 'staff', 'settings'], refund: true, counter: true, csv: true },
    manager: { nav: ['today', 'orders', 'links', 'statements', 'webhooks', 'settings'], refund: true, counter: true, csv: true },
    cashier: { nav: ['today', 'orders', 'links', 'webhooks', 'settings'], refund: false, counter: true, csv: false },
    accountant: { nav: ['today', 'orders', 'links', 'statements', 'webhooks', 'settings'], refund: false, counter: false, csv: true },
    viewer: { nav: ['today', 'orders', 'links', 'webhooks', 'settings'], refund: false, counter: false, csv: false },
  };
  for (const [role, want] of Object.entries(expect)) {
    for (const kind of ['mobile', 'desktop']) {
      const page = await signedIn(browser, role, { kind, locale: kind === 'mobile' ? 'zh-CN' : 'en-US' });
      await consoleScreen(page, 'today');
      assert.deepEqual(await navEntries(page), want.nav, role);
      assert.equal(await page.locator('#new-counter').count(), want.counter ? 1 : 0, `${role} counter`);
      if (want.counter) {
        // The cashier's counter code: Today → new counter code (console-b's form).
        assert.equal(await page.getAttribute('#new-counter', 'href'), '/console/links/new?kind=counter');
      }
      await page.goto(consoleUrl(`/orders/${code}`));
      await page.waitForSelector('#state[data-state="paid"]');
      assert.equal(await page.locator('#refund').count(), want.refund ? 1 : 0, `${role} refund`);
      await accessible(page, `order as ${role}`);
      await page.goto(consoleUrl('/orders'));
      await page.waitForSelector('#orders li');
      assert.equal(await page.locator('#orders-csv').count(), want.csv ? 1 : 0, `${role} csv`);
      if (!want.nav.includes('staff')) {
        await page.goto(consoleUrl('/staff'));
        await consoleScreen(page, 'staff');
        assert.match(await page.textContent('h1'), /Your role cannot use this page|你的角色不能使用此页面/);
      }
      if (kind === 'mobile') await consoleShot(page, `orders-${role}`);
      await t.finish(page);
    }
  }
});
