// The built Worker under Miniflare's workerd directly, without the ProxyWorker
// that `wrangler dev` puts in front of it (a second workerd process and hop).
// `cargo xtask bench` measures the Worker both ways; this is the direct one.
//
// Same pinned wrangler and miniflare (node_modules), same wrangler.toml:
// wrangler's own `unstable_getMiniflareWorkerOptions` turns it into
// Miniflare's options (D1, queues with their consumers, assets), so the
// bindings are the ones `wrangler dev` makes. D1 is the persist directory
// xtask migrated with `wrangler d1 migrations apply --local --persist-to`.
//
// usage: node tests/bench/workerd.mjs <port> <persist dir> <bindings.json>
// bindings.json: {"NAME": "value", ...} (vars and this run's throwaway secrets).
// Prints `workerd ready on http://127.0.0.1:<port>` once it answers; the
// Worker's console output follows on stdout/stderr. With
// WORKERD_INSPECTOR_PORT set, workerd's DevTools inspector listens there
// (127.0.0.1) for profiling.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Miniflare, Log, LogLevel } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const [port, persist, bindingsFile] = process.argv.slice(2);
if (!port || !persist || !bindingsFile) {
  console.error("usage: node tests/bench/workerd.mjs <port> <persist dir> <bindings.json>");
  process.exit(2);
}
const { workerOptions, main } = unstable_getMiniflareWorkerOptions("wrangler.toml");
const bindings = JSON.parse(readFileSync(bindingsFile, "utf8"));

const mf = new Miniflare({
  host: "127.0.0.1",
  port: Number(port),
  log: new Log(LogLevel.WARN),
  inspectorPort: process.env.WORKERD_INSPECTOR_PORT
    ? Number(process.env.WORKERD_INSPECTOR_PORT)
    : undefined,
  // wrangler dev's layout under --persist-to: <dir>/v3/<plugin>.
  d1Persist: join(persist, "v3", "d1"),
  kvPersist: join(persist, "v3", "kv"),
  cachePersist: join(persist, "v3", "cache"),
  durableObjectsPersist: join(persist, "v3", "do"),
  workers: [
    {
      ...workerOptions,
      name: "soushou-checkout",
      modules: true,
      scriptPath: resolve(main),
      bindings: { ...workerOptions.bindings, ...bindings },
    },
  ],
});
const url = await mf.ready;
console.log(`workerd ready on ${url.origin}`);

const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
