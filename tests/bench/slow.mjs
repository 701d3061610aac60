// The bench's slow phone, shared by the page's figures (`page.mjs`) and
// the console's (`console.mjs`): a stand-in edge and the network and CPU
// profile. Numbers are printed, never asserted.
//
// The edge is stood in for by a local proxy in front of the Worker that
// compresses every compressible answer with brotli when the browser asks
// for it (as Cloudflare does): static files at quality 11 (compressed once
// per content, as the edge keeps them), no-store answers at quality 5
// (compressed per request, as the edge does for dynamic HTML and JSON).
// Chromium gets the Lighthouse "Slow 4G" profile through CDP: 150 ms RTT,
// 1.6 Mbps down, 750 kbps up, CPU slowed 4×.
import http from 'node:http';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';

const COMPRESSIBLE = /text\/|javascript|json|wasm|svg|xml/;

/** The stand-in edge: brotli in front of the Worker, counting body bytes sent. */
export function edge(origin) {
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

/** Slow 4G and CPU×4 on `page`, its cache off (a cold load). */
export async function throttle(page) {
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

export const p50 = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
export const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

export const p95 = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.round((s.length - 1) * 0.95)];
};
