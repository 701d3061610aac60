// Cold start: the time from starting a fresh runtime (a new workerd under
// the pinned Miniflare, as tests/bench/workerd.mjs starts the Worker) to the
// first answer of one request, once per request given, each in its own
// runtime: what a shopper waits for on a cold isolate, less the network.
// `cargo xtask bench` runs it for the built Worker (GET /c/{token}, POST
// /api/pay) and for the floor, a minimal workers-rs Worker built by the
// same pipeline (tests/bench/floor-worker), whose difference is what the
// Worker's own size and start-up cost.
//
// usage: node tests/bench/coldstart.mjs <plan.json>
// plan.json: {"script": "<path to the bundle's entry>", "wrangler": bool
//   (the Worker's bindings from wrangler.toml), "persist": "<D1 dir>"|null,
//   "bindings": {...}, "requests": [{"method", "path", "headers", "body"}]}.
// Prints one line per request, `coldstart {"path", "status", "ready_ms",
// "first_ms"}` (the prefix: the Worker's own log lines share stdout) (ready: Miniflare's `ready`, workerd listening; first: the
// answer's last byte, both from the start).

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Miniflare, Log, LogLevel } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = plan.wrangler
  ? unstable_getMiniflareWorkerOptions("wrangler.toml").workerOptions
  : {
      compatibilityDate: "2025-09-01",
      // worker-build's entry imports its wasm as a module, as wrangler's
      // default rules do for the Worker.
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    };

for (const r of plan.requests) {
  const start = performance.now();
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    log: new Log(LogLevel.WARN),
    // The placeholder `Request.cf`: no fetch of Cloudflare's (traffic to
    // 127.0.0.1 only).
    cf: false,
    ...(plan.persist
      ? {
          d1Persist: join(plan.persist, "v3", "d1"),
          kvPersist: join(plan.persist, "v3", "kv"),
          cachePersist: join(plan.persist, "v3", "cache"),
          durableObjectsPersist: join(plan.persist, "v3", "do"),
        }
      : {}),
    workers: [
      {
        ...base,
        name: "coldstart",
        modules: true,
        scriptPath: resolve(plan.script),
        bindings: { ...(base.bindings ?? {}), ...(plan.bindings ?? {}) },
      },
    ],
  });
  try {
    const url = await mf.ready;
    const ready = performance.now() - start;
    const resp = await fetch(new URL(r.path, url), {
      method: r.method,
      headers: r.headers ?? {},
      body: r.body ?? undefined,
    });
    await resp.arrayBuffer();
    const first = performance.now() - start;
    console.log(
      "coldstart " +
        JSON.stringify({ path: r.path, status: resp.status, ready_ms: ready, first_ms: first }),
    );
  } finally {
    await mf.dispose();
  }
}
