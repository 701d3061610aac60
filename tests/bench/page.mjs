// `cargo xtask bench`, page part: the checkout page as a shopper on a slow
// phone gets it. Numbers are printed, never asserted.
//
// The edge is stood in for by a local proxy in front of the Worker that
// compresses every compressible answer with brotli when the browser asks
// for it (as Cloudflare does): static files at quality 11 (compressed once
// per content, as the edge keeps them), no-store answers at quality 5
// (compressed per request, as the edge does for dynamic HTML and JSON).
// Chromium gets the Lighthouse "Slow 4G" profile through CDP: 150 ms RTT,
// 1.6 Mbps down, 750 kbps up, CPU slowed 4×; every run is a fresh context
// (cold cache) on a fresh link.
//
// Figures per run, from the page's own clock (ms since navigation start):
//   content — merchant and amount on screen: the later of the first
//             contentful paint and the moment #amount holds the amount
//   pay     — the pay button present and enabled
//   wasm    — the page's wasm fully downloaded (its resource timing), the
//             part of `pay` that is bytes on the wire
//   qr      — desktop: the QR drawn after pressing pay as soon as it is enabled
//   bytes   — response bodies as sent on the wire (brotli) during the load
import http from 'node:http';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as t from '../browser/lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 5);
const SHOTS = join(t.SCREENSHOTS, '..', 'bench');
const COMPRESSIBLE = /text\/|javascript|json|wasm|svg|xml/;

/** The stand-in edge: brotli in front of the Worker, counting body bytes sent. */
function edge(origin) {
  const cache = new Map();
  const counter = { bytes: 0, requests: [] };
  const server = http.createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const headers = { ...req.headers };
      for (const h of ['host', 'accept-encoding', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length']) {
        delete headers[h];
      }
      const up = await fetch(origin + req.url, {
        method: req.method,
        headers,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
        redirect: 'manual',
      });
      let body = Buffer.from(await up.arrayBuffer());
      const out = {};
      up.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
      });
      const type = up.headers.get('content-type') || '';
      if (/\bbr\b/.test(req.headers['accept-encoding'] || '') && COMPRESSIBLE.test(type) && body.length > 0) {
        const dynamic = /no-store/.test(up.headers.get('cache-control') || '');
        const quality = dynamic ? 5 : 11;
        const key = `${quality}:${createHash('sha256').update(body).digest('hex')}`;
        let packed = cache.get(key);
        if (!packed) {
          packed = zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality } });
          if (!dynamic) cache.set(key, packed);
        }
        body = packed;
        out['content-encoding'] = 'br';
        out.vary = 'accept-encoding';
      }
      out['content-length'] = String(body.length);
      counter.bytes += body.length;
      counter.requests.push(`${req.method} ${req.url.replace(/\/c\/[^?]+/, '/c/{token}').replace(/\/api\/checkout\/.+/, '/api/checkout/{token}')} ${body.length}`);
      res.writeHead(up.status, out);
      res.end(body);
    } catch (err) {
      res.writeHead(502);
      res.end(String(err));
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, counter, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

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

async function throttle(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1e6) / 8,
    uploadThroughput: (750 * 1e3) / 8,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
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

const p50 = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

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
