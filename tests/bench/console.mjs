// `cargo xtask bench --lists N`, console part: the merchant console on the
// bench's slow phone (`slow.mjs`: the brotli edge, Slow 4G, CPU×4, mobile
// viewport), against the stack xtask seeded with N orders (`seed.rs`; the
// last seeded day ended at today's start, so "Today" reads an empty day
// and the orders list pages through all N). Numbers printed, never
// asserted (issue 22's budgets: "Today" usable ≤ 2.0 s p50, the orders
// screen interactive ≤ 1.0 s after navigation).
//
// Per run, a fresh context (cold cache) signed in as a manager with an API
// key on every request (the console acts the same on a key as on a
// session; the test stack's sessions last 8 s), figures from the page's
// own clock:
//   today  — navigation start → Today's figures on screen (its reads of
//            the day's orders and refunds answered and drawn)
//   orders — the tap on "Orders" in the navigation → the list's first page
//            drawn, not busy, with "load more" (an app navigation: the
//            bundle is loaded, the API read is the cost)
//   bytes  — response bodies as sent on the wire (brotli) until Today is usable
import * as t from '../browser/lib.mjs';
import { edge, fmt, p50, p95, throttle } from './slow.mjs';

const RUNS = Number(process.env.BENCH_CONSOLE_RUNS || 10);
const ROWS = process.env.BENCH_ROWS || '?';

/** Records, from the page's own clock, when Today and the orders list are usable. */
function probe() {
  window.__bench = {};
  const check = () => {
    const b = window.__bench;
    const now = performance.now();
    if (!b.today && document.querySelector('[data-screen="today"] #figures')) b.today = now;
    if (b.clicked && !b.orders) {
      const list = document.querySelector('[data-screen="orders"] #orders');
      if (list && !list.hasAttribute('aria-busy') && list.querySelector('li') && document.getElementById('more')) b.orders = now;
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
  document.addEventListener('click', (ev) => {
    if (ev.target.closest?.('#nav-orders')) window.__bench.clicked = performance.now();
  }, true);
}

async function run(browser, base, counter, key, i) {
  const page = await t.open(browser, { kind: 'mobile', ua: t.UA.mobile, locale: 'zh-CN' });
  await page.context().setExtraHTTPHeaders({ authorization: `Bearer ${key}` });
  await page.addInitScript(probe);
  await throttle(page);
  counter.bytes = 0;
  counter.requests = [];
  try {
    await page.goto(`${base}/console`, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__bench.today, null, { polling: 50, timeout: 90_000 });
    const bytes = counter.bytes;
    const requests = counter.requests.slice();
    await page.click('#nav-orders');
    await page.waitForFunction(() => window.__bench.orders, null, { polling: 50, timeout: 90_000 });
    const b = await page.evaluate(() => ({ ...window.__bench }));
    return { today: b.today, orders: b.orders - b.clicked, bytes, requests };
  } catch (err) {
    const seen = await page.evaluate(() => ({ bench: window.__bench, main: document.body.innerText.slice(0, 300) })).catch(() => null);
    console.error(`run ${i + 1}: ${JSON.stringify(seen)}; requests: ${counter.requests.join(' | ')}`);
    throw err;
  } finally {
    await page.context().close();
  }
}

async function main() {
  const e = t.env();
  const { server, counter, url } = await edge(e.worker);
  const { key } = await t.admin('POST', '/v1/keys', { name: 'bench console', role: 'manager' });
  const browser = await t.launch();
  const results = [];
  try {
    // One unmeasured run: the edge compresses the static files once, as a
    // real edge did long ago.
    await run(browser, url, counter, key, -1).catch(() => {});
    for (let i = 0; i < RUNS; i++) {
      results.push(await run(browser, url, counter, key, i).catch((err) => ({ failed: String(err.message ?? err).split('\n')[0] })));
    }
  } finally {
    await browser.close();
    server.close();
  }
  const ok = results.filter((r) => !r.failed);
  const failed = results.filter((r) => r.failed);
  const row = (label, xs, f = fmt) => console.log(xs.length
    ? `  ${label.padEnd(52)} p50 ${f(p50(xs)).padStart(9)}  p95 ${f(p95(xs)).padStart(9)}   runs: ${xs.map(f).join(', ')}`
    : `  ${label.padEnd(52)} no successful run`);
  console.log(`\nconsole under Slow 4G (150 ms RTT, 1.6 Mbps down, 750 kbps up, CPU 4×), mobile, ${RUNS} cold runs, brotli edge, ${ROWS} orders in D1`);
  if (failed.length) console.log(`  failed runs: ${failed.length} of ${RUNS} (left out): ${failed.map((r) => r.failed).join('; ')}`);
  row('"Today" usable, from navigation (budget 2.0 s p50)', ok.map((r) => r.today));
  row(`orders screen interactive after the tap (budget 1.0 s)`, ok.map((r) => r.orders));
  row('bytes until "Today" is usable (brotli, all bodies)', ok.map((r) => r.bytes), (x) => `${x} B`);
  if (ok.length) console.log(`    requests of run 1: ${ok[0].requests.join(' | ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
