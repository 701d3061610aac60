// `cargo xtask bench`, page part: the checkout page as a shopper on a slow
// phone gets it. Numbers are printed, never asserted.
//
// The stand-in edge (brotli) and the Slow 4G + CPU×4 profile are
// `slow.mjs`'s, shared with the console's figures (`console.mjs`); every
// run is a fresh context (cold cache) on a fresh link.
//
// Figures per run, from the page's own clock (ms since navigation start):
//   content — merchant and amount on screen: the later of the first
//             contentful paint and the moment #amount holds the amount
//   pay     — the pay button present and enabled
//   wasm    — the page's wasm fully downloaded (its resource timing), the
//             part of `pay` that is bytes on the wire
//   qr      — desktop: the QR drawn after pressing pay as soon as it is enabled
//   bytes   — response bodies as sent on the wire (brotli) during the load
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as t from '../browser/lib.mjs';
import { edge, fmt, p50, throttle } from './slow.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 5);
const SHOTS = join(t.SCREENSHOTS, '..', 'bench');
/** Records, from the page's own clock, when content, the pay button and the QR appear. */
function probe() {
  window.__bench = {};
  const check = () => {
    const b = window.__bench;
    const now = performance.now();
    const amount = document.getElementById('amount');
    if (!b.content && amount && amount.textContent.trim()) b.content = now;
    const pay = document.getElementById('pay');
    if (!b.pay && pay && !pay.disabled) b.pay = now;
    const qr = document.querySelector('#qr svg');
    if (!b.qr && qr) b.qr = now;
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
}

async function fcp(page) {
  return page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
}

async function run(browser, base, counter, kind, i) {
  const link = await t.createLink({ amount: '12.50', subject: 'Slow phone bench' });
  const page = await t.open(browser, { kind, ua: kind === 'desktop' ? t.UA.desktop : t.UA.mobile, locale: 'zh-CN' });
  await page.addInitScript(probe);
  await throttle(page);
  counter.bytes = 0;
  counter.requests = [];
  await page.goto(`${base}/c/${link.token}`, { waitUntil: 'commit' });
  try {
    await page.waitForFunction(() => window.__bench.content && window.__bench.pay, null, { polling: 50, timeout: 60_000 });
  } catch (err) {
    const seen = await page.evaluate(() => ({ bench: window.__bench, main: document.body.innerText.slice(0, 300) }));
    console.error(`${kind} run ${i + 1}: ${JSON.stringify(seen)}; requests: ${counter.requests.join(' | ')}; problems: ${page.problems}`);
    await page.context().close();
    throw err;
  }
  if (i === 0) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `first-paint-${kind}.png`) });
  }
  const bytes = counter.bytes;
  const requests = counter.requests.slice();
  const b = await page.evaluate(() => ({ ...window.__bench }));
  const paint = await fcp(page);
  const wasm = await page.evaluate(() => performance.getEntriesByType('resource').find((e) => e.name.endsWith('_bg.wasm'))?.responseEnd ?? NaN);
  const r = { content: Math.max(b.content, paint ?? 0), pay: b.pay, fcp: paint, wasm, bytes, requests };
  if (kind === 'desktop') {
    const clicked = await page.evaluate(() => performance.now());
    await page.click('#pay');
    await page.waitForFunction(() => window.__bench.qr, null, { polling: 50, timeout: 60_000 });
    const qr = await page.evaluate(() => window.__bench.qr);
    r.qr = qr;
    r.clickToQr = qr - clicked;
  }
  await t.finish(page);
  return r;
}

/**
 * What the HTML alone paints (scripts off): the first paint before any
 * script has run, written as first-paint-html-only-{kind}.png.
 */
async function htmlOnlyShot(browser, base, kind) {
  const link = await t.createLink({ amount: '12.50', subject: 'Slow phone bench' });
  const context = await browser.newContext({
    javaScriptEnabled: false,
    userAgent: kind === 'desktop' ? t.UA.desktop : t.UA.mobile,
    viewport: kind === 'desktop' ? { width: 1280, height: 800 } : { width: 390, height: 844 },
  });
  const page = await context.newPage();
  await page.goto(`${base}/c/${link.token}`);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `first-paint-html-only-${kind}.png`) });
  await context.close();
}

/**
 * Fetches the page's static files once through the stand-in edge before the
 * runs: the edge keeps static files compressed, so no measured run waits for
 * a quality-11 compression (~1 s for the wasm) that a real edge did long ago.
 */
async function warm(base) {
  const link = await t.createLink({ amount: '1.00', subject: 'Warm the edge' });
  const get = (path) => fetch(base + path, { headers: { 'accept-encoding': 'br' } }).then((r) => r.text());
  const html = await get(`/c/${link.token}`);
  await Promise.all(html.split('"').filter((s) => s.startsWith('/a/')).map(get));
}

async function main() {
  const e = t.env();
  const { server, counter, url } = await edge(e.worker);
  await warm(url);
  const browser = await t.launch();
  const results = { mobile: [], desktop: [] };
  try {
    for (const kind of ['mobile', 'desktop']) {
      for (let i = 0; i < RUNS; i++) {
        // A failed run is reported with the others, never the end of the bench.
        results[kind].push(await run(browser, url, counter, kind, i).catch((err) => ({ failed: String(err.message ?? err).split('\n')[0] })));
      }
      await htmlOnlyShot(browser, url, kind);
    }
  } finally {
    await browser.close();
    server.close();
  }
  const failed = [...results.mobile, ...results.desktop].filter((r) => r.failed);
  const m = results.mobile.filter((r) => !r.failed);
  const d = results.desktop.filter((r) => !r.failed);
  const row = (label, xs, f = fmt) => console.log(xs.length
    ? `  ${label.padEnd(46)} p50 ${f(p50(xs)).padStart(10)}   runs: ${xs.map(f).join(', ')}`
    : `  ${label.padEnd(46)} no successful run`);
  console.log(`\npage under Slow 4G (150 ms RTT, 1.6 Mbps down, 750 kbps up, CPU 4×), ${RUNS} cold runs each, brotli edge`);
  row('first load, brotli bytes (mobile, all bodies)', m.map((r) => r.bytes), (x) => `${x} B`);
  if (failed.length) console.log(`  failed runs: ${failed.length} of ${2 * RUNS} (left out of the figures): ${failed.map((r) => r.failed).join('; ')}`);
  if (m.length) console.log(`    requests of mobile run 1: ${m[0].requests.join(' | ')}`);
  row('first contentful paint (mobile)', m.map((r) => r.fcp ?? NaN));
  row('merchant and amount visible (mobile)', m.map((r) => r.content));
  row('mobile: wasm downloaded (resource timing)', m.map((r) => r.wasm));
  row('mobile: pay button enabled', m.map((r) => r.pay));
  row('desktop: merchant and amount visible', d.map((r) => r.content));
  row('desktop: pay button enabled', d.map((r) => r.pay));
  row('desktop: QR drawn (pay pressed when enabled)', d.map((r) => r.qr));
  row('desktop: press → QR drawn', d.map((r) => r.clickToQr));
  console.log(`  screenshots: ${SHOTS}/first-paint-html-only-{mobile,desktop}.png (the HTML alone, scripts off),`);
  console.log(`               ${SHOTS}/first-paint-{mobile,desktop}.png (when the pay button is enabled)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
