// What one D1 round trip costs in this local workerd, with none of the
// Worker's code: the floor under every D1 figure `cargo xtask bench` prints
// for the Worker. A throwaway worker in the pinned Miniflare (the workerd
// and D1 simulator `wrangler dev` runs) times `SELECT 1`, a batch of five
// `SELECT 1`, a one-row insert, and, for comparison, a Durable Object call
// with and without the storage bookmark that Miniflare's D1 awaits on
// every query (`getCurrentBookmark`). Then 16 concurrent callers: D1 is one
// Durable Object, so its round trips queue one after another.
//
// Last, the CPU time one `SELECT 1` round trip costs this workerd (its
// processes' user + system time around sequential ones, from /proc): the
// bench subtracts it per D1 call from a route's CPU, since D1 runs inside
// the Worker's own workerd and no process boundary separates them.
//
// usage: node tests/bench/d1floor.mjs <scratch dir> [<cpu file>]
// (prints a small table; writes the CPU ms per round trip to <cpu file>)

import { Miniflare } from "miniflare";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";

// CPU ms (user + system) of this process's descendants (workerd), from /proc.
function childrenCpuMs(pid = process.pid) {
  let ms = 0;
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean);
  } catch {
    return 0;
  }
  for (const kid of kids) {
    try {
      const stat = readFileSync(`/proc/${kid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ms += (Number(f[11]) + Number(f[12])) * 10; // USER_HZ 100
    } catch {}
    ms += childrenCpuMs(kid);
  }
  return ms;
}

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node tests/bench/d1floor.mjs <scratch dir>");
  process.exit(2);
}
const ROUNDS = 100;

const script = `
import { DurableObject } from "cloudflare:workers";
export class Probe extends DurableObject {
  async fetch(req) {
    if (new URL(req.url).searchParams.has("bookmark")) await this.ctx.storage.getCurrentBookmark();
    return new Response("ok");
  }
}
// Date.now() in workerd advances at I/O, which every step here is.
async function time(n, f) {
  const t = Date.now();
  for (let i = 0; i < n; i++) await f(i);
  return (Date.now() - t) / n;
}
export default {
  async fetch(req, env) {
    const u = new URL(req.url), n = Number(u.searchParams.get("n"));
    if (u.pathname === "/loop") {
      await time(n, () => env.DB.prepare("SELECT 1").first());
      return new Response("ok");
    }
    const db = env.DB, probe = env.PROBE.get(env.PROBE.idFromName("probe"));
    await db.prepare("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER)").run();
    return Response.json({
      "D1 SELECT 1": await time(n, () => db.prepare("SELECT 1").first()),
      "D1 batch of 5 x SELECT 1": await time(n, () =>
        db.batch([1, 2, 3, 4, 5].map(() => db.prepare("SELECT 1")))),
      "D1 INSERT one row": await time(n, (i) =>
        db.prepare("INSERT INTO t (v) VALUES (?1)").bind(i).run()),
      "Durable Object fetch": await time(n, () => probe.fetch("http://probe/").then((r) => r.text())),
      "Durable Object fetch + getCurrentBookmark": await time(n, () =>
        probe.fetch("http://probe/?bookmark").then((r) => r.text())),
    });
  },
};`;

const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  compatibilityDate: "2025-09-01",
  modules: [{ type: "ESModule", path: "probe.mjs", contents: script }],
  d1Databases: ["DB"],
  durableObjects: { PROBE: { className: "Probe", useSQLite: true } },
  d1Persist: join(dir, "d1"),
  durableObjectsPersist: join(dir, "do"),
});
try {
  const url = await mf.ready;
  await (await fetch(`${url}?n=5`)).text(); // warm up
  const each = await (await fetch(`${url}?n=${ROUNDS}`)).json();
  console.log(`one round trip in this workerd, mean of ${ROUNDS} sequential`);
  for (const [what, ms] of Object.entries(each)) {
    console.log(`  ${what.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms`);
  }
  const callers = 16;
  const t = Date.now();
  await Promise.all(
    Array.from({ length: callers }, () => fetch(`${url}loop?n=${ROUNDS / 4}`).then((r) => r.text())),
  );
  const perSec = (callers * ROUNDS) / 4 / ((Date.now() - t) / 1000);
  console.log(`  ${`D1 SELECT 1, ${callers} concurrent callers`.padEnd(44)} ${perSec.toFixed(0).padStart(8)} /s`);
  const n = 1000, before = childrenCpuMs();
  await (await fetch(`${url}loop?n=${n}`)).text();
  const cpu = (childrenCpuMs() - before) / n;
  console.log(`  ${"workerd CPU per D1 SELECT 1 (sequential)".padEnd(44)} ${cpu.toFixed(2).padStart(8)} ms`);
  if (process.argv[3]) writeFileSync(process.argv[3], String(cpu));
} finally {
  await mf.dispose();
}
