//! `cargo xtask bench --lists N`: the lists, statements and CSV at scale
//! (issue 21). Starts a stack, seeds its local D1 with N orders — 50,000
//! per Beijing day, the last day being yesterday, inserted in batches of
//! one day by `wrangler d1 execute` (one `INSERT … SELECT` over a
//! recursive counter each) — runs the driver (`tests/bench/lists.rs`),
//! then the console's "Today" and orders screen on the bench's slow phone
//! over those orders (`tests/bench/console.mjs`, issue 22), and prints the
//! D1 bytes per order.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::stack::{wrangler_cmd, Runner};
use crate::{build, proc, root, step, Result};

/// Orders per seeded day (and per batch).
pub const PER_DAY: u64 = 50_000;

/// The INSERT of orders `from..to` (codes `B{i:011}`), day `i / PER_DAY`
/// starting at `first_day_start`: 70 % paid, 10 % each closed, partially
/// refunded, refunded; three channels, four methods, a third on links
/// (7 orders a link), a fifth with a ref.
pub fn batch_sql(from: u64, to: u64, first_day_start: u64) -> String {
    format!(
        "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {to}), \
         o(i, at, amount) AS (SELECT i, {first_day_start} + (i / {PER_DAY}) * 86400 \
           + (i % {PER_DAY}) * 86400 / {PER_DAY}, 100 + (i * 7919) % 99900 FROM n) \
         INSERT INTO orders (charge_code, link_id, kind, method, channel_type, amount_fen, \
           refunded_fen, subject, state, created_at, updated_at, paid_at, merchant_ref) \
         SELECT printf('B%011d', i), CASE WHEN i % 3 = 0 THEN 'L' || i END, \
           CASE WHEN i % 3 = 0 THEN 'link' ELSE 'qr' END, \
           CASE i % 4 WHEN 0 THEN 'wechat_jsapi' WHEN 1 THEN 'alipay_jsapi' WHEN 2 THEN 'wap' \
             ELSE 'native' END, \
           CASE i % 3 WHEN 0 THEN '2' WHEN 1 THEN '1' ELSE '34' END, amount, \
           CASE i % 10 WHEN 8 THEN amount / 2 WHEN 9 THEN amount ELSE 0 END, \
           'bench order ' || i, \
           CASE i % 10 WHEN 7 THEN 'closed' WHEN 8 THEN 'partially_refunded' \
             WHEN 9 THEN 'refunded' ELSE 'paid' END, \
           at, at + 5, CASE WHEN i % 10 = 7 THEN NULL ELSE at + 5 END, \
           CASE WHEN i % 5 = 0 THEN 'R' || i END \
         FROM o"
    )
}

/// Size of the local D1 database files under `state` (not their `-wal`
/// and `-shm` companions).
fn d1_bytes(state: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        let Ok(dir) = std::fs::read_dir(p) else {
            return 0;
        };
        dir.flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() {
                    walk(&path)
                } else if path.extension().is_some_and(|x| x == "sqlite") {
                    e.metadata().map_or(0, |m| m.len())
                } else {
                    0
                }
            })
            .sum()
    }
    walk(&state.join("v3").join("d1"))
}

/// Seeds `rows` orders and runs the driver, then the console's figures
/// on the slow phone (`tests/bench/console.mjs`, Chromium at `chromium`).
pub fn run(rows: u64, chromium: &Path) -> Result<()> {
    // wrangler dev: its `/__scheduled` runs the cron (the statement build).
    let stack =
        crate::stack::for_driver_on("bench-lists", &[], Runner::WranglerDev, None, Vec::new())?;
    let state = stack.run_dir.join("state");
    let wrangler = root().join("node_modules/.bin/wrangler");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Yesterday's end is today's start, in Beijing time (UTC+8, no DST).
    let last_day_end = (now + 8 * 3600) / 86_400 * 86_400 - 8 * 3600;
    let days = rows.div_ceil(PER_DAY);
    let first_day_start = last_day_end - days * 86_400;
    step(&format!(
        "seeding {rows} orders ({days} days) into local D1"
    ));
    let t = Instant::now();
    for day in 0..days {
        let (from, to) = (day * PER_DAY, ((day + 1) * PER_DAY).min(rows));
        proc::run(
            wrangler_cmd(&wrangler)
                .args(["d1", "execute", "DB", "--local", "--persist-to"])
                .arg(&state)
                .arg("--command")
                .arg(batch_sql(from, to, first_day_start))
                .current_dir(root())
                .stdout(std::process::Stdio::null()),
        )?;
    }
    println!("    seeded in {:.0?}", t.elapsed());
    let env = stack.env();
    proc::run(
        Command::new(build::target_dir().join("debug/bench-lists"))
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .env("BENCH_ROWS", rows.to_string())
            .env("BENCH_LAST_DAY_END", last_day_end.to_string())
            .current_dir(root()),
    )?;
    step(&format!(
        "the console on the slow phone over {rows} orders (10 cold runs)"
    ));
    proc::run(
        Command::new("node")
            .arg("tests/bench/console.mjs")
            .env("CHROMIUM_PATH", chromium)
            .env("BENCH_ROWS", rows.to_string())
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .current_dir(root()),
    )?;
    // The database file once the stack has stopped (its write-ahead log
    // folded in): what the orders take, indexes included.
    drop(stack);
    let bytes = d1_bytes(&state);
    let per_order = bytes as f64 / rows as f64;
    println!(
        "  D1 database {:.1} MB: {per_order:.0} bytes per order, indexes included \
         (D1's 10 GB per database ≈ {:.0} M orders)",
        bytes as f64 / 1e6,
        10e9 / per_order / 1e6
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeding SQL runs on the migrations (Python's SQLite) and lays
    /// the orders out as the driver assumes.
    #[test]
    fn a_seed_batch_inserts_its_day() {
        let script = format!(
            "import glob, sqlite3\n\
             db = sqlite3.connect(':memory:')\n\
             for p in sorted(glob.glob('{root}/migrations/*.sql')): db.executescript(open(p).read())\n\
             db.execute(\"\"\"{sql}\"\"\")\n\
             print(db.execute('SELECT COUNT(*), MIN(charge_code), MAX(charge_code), MIN(created_at), \
               MAX(created_at), SUM(state = \\'paid\\') FROM orders').fetchone())\n",
            root = root().display(),
            sql = batch_sql(PER_DAY, PER_DAY + 1000, 1_000_000)
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        let start = 1_000_000 + 86_400;
        let last = start + 999 * 86_400 / PER_DAY;
        assert_eq!(
            line.trim(),
            format!("(1000, 'B00000050000', 'B00000050999', {start}, {last}, 700)")
        );
    }
}
