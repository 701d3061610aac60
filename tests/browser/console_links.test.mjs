// The merchant console's links screens (issue 22) against the real Worker,
// D1 and sandbox: a cashier's counter code in two taps from Today, its QR
// decoded and paid; a manager's fixed link with the refusals next to their
// fields, the live preview, SVG and PNG downloads, the embed snippet, the
// A6 print card as a PDF rendered by Chromium; the list's filters and
// deactivation; what each role may do here. axe-core on every screen, in
// both languages, screenshots mobile and desktop.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCREENSHOTS, admin, decodeQr, finish, launch } from './lib.mjs';
import { accessible, consoleScreen, consoleShot, consoleUrl, signedIn } from './console.mjs';
import { pdfHasText, readPdf } from './pdf.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The QR image the console shows has loaded (a real image, not a broken one). */
async function qrLoaded(page) {
  await page.waitForFunction(() => {
    const img = document.querySelector('#qr');
    return img && img.complete && img.naturalWidth > 0;
  });
}

test('a cashier creates a counter code and shows its QR in two taps from Today', async () => {
  for (const [locale, kind] of [['zh-CN', 'mobile'], ['en-US', 'desktop']]) {
    const page = await signedIn(browser, 'cashier', { locale, kind });
    await consoleScreen(page, 'today');
    let taps = 0;
    await page.click('#new-counter');
    taps += 1;
    await consoleScreen(page, 'new-link');
    assert.equal(await page.isChecked('#kind-counter'), true);
    // Bounds and subject are filled in: the subject is the shop's name,
    // which arrives with GET /v1/settings just after the form opens.
    await page.waitForFunction(() => document.querySelector('#link-subject')?.value !== '');
    assert.notEqual(await page.inputValue('#link-subject'), '');
    await accessible(page, `new counter code ${locale} ${kind}`);
    await consoleShot(page, `new-link-counter-${locale}`);
    await page.click('#create-link');
    taps += 1;
    await page.waitForSelector('#created-heading');
    await qrLoaded(page);
    assert.ok(taps <= 3, `${taps} taps`);
    const url = await decodeQr(page);
    assert.equal(url, await page.inputValue('#link-url'));
    assert.match(url, /\/c\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    await accessible(page, `counter code created ${locale} ${kind}`);
    await consoleShot(page, `link-created-counter-${locale}`);
    // The QR is the Worker's public image, cacheable.
    const qr = await fetch(`${url}/qr.svg`);
    assert.equal(qr.status, 200);
    assert.equal(qr.headers.get('cache-control'), 'public, max-age=300');
    // Listed as an active counter code; a cashier may deactivate (charges).
    await page.click('#nav-links');
    await consoleScreen(page, 'links');
    await page.waitForSelector('.link-row');
    const id = url.split('/c/')[1];
    const links = await admin('GET', '/v1/links?kind=counter&limit=5');
    const mine = links.data.find((l) => l.token === id);
    assert.ok(mine, 'the new counter code is listed');
    await page.waitForSelector(`.link-row[data-id="${mine.id}"] .badge.on`);
    await accessible(page, `links ${locale} ${kind}`);
    await consoleShot(page, `links-${locale}`);
    await finish(page);
  }
});

test('a manager creates a fixed link: refusals at their fields, a live preview, downloads, the embed snippet and the A6 print card', async () => {
  // A key on every request: this flow (and its PDF) outlasts the test
  // stack's 8 s sessions (console.mjs, `signedIn`).
  const page = await signedIn(browser, 'manager', { locale: 'en-US', kind: 'desktop', path: '/links/new?kind=fixed', bearer: true });
  await consoleScreen(page, 'new-link');
  assert.equal(await page.isChecked('#kind-fixed'), true);
  // Nothing typed: the amount is refused before anything is sent.
  await page.click('#create-link');
  await page.waitForSelector('#link-amount-error');
  assert.equal(await page.getAttribute('#link-amount', 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'link-amount');
  await page.fill('#link-amount', '12.345');
  await page.click('#create-link');
  await page.waitForSelector('#link-amount-error');
  await page.fill('#link-amount', '12.30');
  await page.fill('#link-subject', 'Jasmine tea 茉莉花茶');
  await page.fill('#link-return-url', 'javascript:alert(1)');
  await page.click('#create-link');
  await page.waitForSelector('#link-return-url-error');
  await page.fill('#link-return-url', 'https://shop.example/thanks');
  await page.fill('#link-ref', `console-${Date.now()}`);
  await page.fill('#link-goods', 'Tea, 6.15, 2');
  // The preview follows the form.
  assert.equal((await page.textContent('#preview-amount')).trim(), '¥12.30');
  assert.equal((await page.textContent('#preview-subject')).trim(), 'Jasmine tea 茉莉花茶');
  assert.match(await page.textContent('#link-preview .goods'), /Tea × 2 · ¥6.15/);
  await accessible(page, 'new fixed link with errors fixed');
  await consoleShot(page, 'new-link-fixed-en-US');
  await page.click('#create-link');
  await page.waitForSelector('#created-heading');
  await qrLoaded(page);
  const url = await page.inputValue('#link-url');
  assert.equal(await decodeQr(page), url);

  // SVG and PNG downloads.
  const [svg] = await Promise.all([page.waitForEvent('download'), page.click('#download-svg')]);
  const svgText = readFileSync(await svg.path(), 'utf8');
  assert.match(svgText, /<svg/);
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('#download-png')]);
  assert.match(png.suggestedFilename(), /\.png$/);
  const pngBytes = readFileSync(await png.path());
  assert.deepEqual([...pngBytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG file');
  assert.ok(pngBytes.length > 1000);

  // The embed snippet: plain HTML, the link and its public QR image.
  await page.click('#embed summary');
  const snippet = await page.inputValue('#embed-code');
  assert.ok(snippet.includes(`href="${url}"`), snippet);
  assert.ok(snippet.includes(`src="${url}/qr.svg"`), snippet);
  assert.doesNotMatch(snippet, /<script/i);
  await page.waitForFunction(() => document.querySelector('#embed-preview img').naturalWidth > 0);
  await accessible(page, 'link created with embed');
  await consoleShot(page, 'link-created-fixed-en-US');
  // The snippet works on another page without JavaScript.
  const other = await browser.newContext({ javaScriptEnabled: false });
  const host = await other.newPage();
  await host.setContent(`<!doctype html><title>shop</title>${snippet}`);
  await host.waitForFunction(() => document.querySelector('img').naturalWidth > 0);
  assert.equal(await host.getAttribute('a', 'href'), url);
  mkdirSync(join(SCREENSHOTS, 'console'), { recursive: true });
  await host.screenshot({ path: join(SCREENSHOTS, 'console', 'embed-on-a-page-desktop.png') });
  await other.close();

  // The print view: only the A6 card, rendered to PDF by Chromium.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('#print-card'), true);
  const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
  assert.equal(pdf.subarray(0, 4).toString(), '%PDF');
  writeFileSync(join(SCREENSHOTS, 'console', 'print-card.pdf'), pdf);
  // One page of A6 (105 × 148 mm = 297.6 × 419.5 pt; Chromium rounds to
  // whole CSS pixels), the print CSS's @page, with the card's words in it.
  const printed = readPdf(pdf);
  assert.equal(printed.pages, 1, 'one page');
  assert.equal(printed.mediaBoxes.length, 1);
  const [x0, y0, x1, y1] = printed.mediaBoxes[0];
  assert.ok(Math.abs(x1 - x0 - 297.64) < 1.5 && Math.abs(y1 - y0 - 419.53) < 1.5, `A6, not ${printed.mediaBoxes[0]}`);
  const shop = (await page.textContent('#print-card .a6-shop')).trim();
  for (const words of [shop, 'Jasmine tea', '¥12.30', 'WeChat · Alipay · UnionPay']) {
    assert.ok(pdfHasText(printed, words), `"${words}" in the PDF: ${printed.texts.join(' | ')}`);
  }
  await page.screenshot({ path: join(SCREENSHOTS, 'console', 'print-card-desktop.png') });
  await page.emulateMedia({ media: 'screen' });
  const card = await page.textContent('#print-card');
  assert.match(card, /Jasmine tea/);
  assert.match(card, /¥12\.30/);
  assert.match(card, /WeChat · Alipay · UnionPay/);

  // The list: filtered by kind, then deactivated inline.
  await page.goto(consoleUrl('/links'));
  await consoleScreen(page, 'links');
  await page.selectOption('#filter-kind', 'fixed');
  const listed = await admin('GET', '/v1/links?kind=fixed&limit=5');
  const mine = listed.data.find((l) => l.url === url);
  assert.ok(mine);
  const row = `.link-row[data-id="${mine.id}"]`;
  await page.waitForSelector(row);
  await page.click(`${row} .deactivate`);
  await page.click(`${row} .confirm-deactivate`);
  await page.waitForSelector(`${row} .badge.off`);
  const after = await fetch(`${url}/qr.svg`);
  assert.equal(after.status, 410);
  await finish(page);
});

test('roles on the links screens: a viewer and an accountant list links but create and deactivate nothing', async () => {
  for (const [role, locale] of [['viewer', 'zh-CN'], ['accountant', 'en-US']]) {
    const page = await signedIn(browser, role, { locale, path: '/links' });
    await consoleScreen(page, 'links');
    await page.waitForSelector('.link-row');
    assert.equal(await page.locator('#new-counter-link').count(), 0, role);
    assert.equal(await page.locator('.deactivate').count(), 0, role);
    await accessible(page, `links as ${role}`);
    // Typed by hand, the form is not theirs.
    await page.goto(consoleUrl('/links/new?kind=counter'));
    await page.waitForSelector('.screen[data-screen="new-link"]');
    assert.equal(await page.locator('#create-link').count(), 0, role);
    await finish(page);
  }
});
