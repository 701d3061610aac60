//! The merchant lists' SQL (crates/worker/src/store/list_sql.rs, the very
//! file the Worker compiles) against the migrations in SQLite
//! (tests/sqlite/harness.py): `EXPLAIN QUERY PLAN` of every statement the
//! lists can build — each combination of filters, with and without a
//! cursor — never scans a table, and goes through the index
//! `checkout::list` chose; and paging by the keyset while rows are being
//! inserted has no gaps and no repeats. Host only: no Worker needed.

#[path = "../../crates/worker/src/store/list_sql.rs"]
#[allow(dead_code)]
mod list_sql;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use checkout::list::{self, OrderIndex};
use list_sql::{Param, Query};
use serde_json::{json, Value};

/// The harness process: one request, one answer.
struct Sqlite {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Sqlite {
    fn open() -> Sqlite {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/sqlite/harness.py");
        let mut child = Command::new("python3")
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the SQLite harness");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut hello = String::new();
        stdout.read_line(&mut hello).unwrap();
        println!("SQLite {hello}");
        Sqlite {
            child,
            stdin,
            stdout,
        }
    }

    fn rows(&mut self, sql: &str, params: &[Param]) -> Vec<Vec<Value>> {
        let params: Vec<Value> = params
            .iter()
            .map(|p| match p {
                Param::Text(s) => json!(s),
                Param::Int(n) => json!(n),
            })
            .collect();
        let req = json!({"sql": sql, "params": params});
        writeln!(self.stdin, "{req}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        if let Some(e) = v.get("error") {
            panic!("{sql}: {e}");
        }
        serde_json::from_value(v).unwrap()
    }

    /// The plan's detail lines.
    fn plan(&mut self, q: &Query) -> Vec<String> {
        self.rows(&format!("EXPLAIN QUERY PLAN {}", q.sql), &q.params)
            .into_iter()
            .map(|r| r[3].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every subset of `params` as a query string.
fn subsets(params: &[&str]) -> Vec<Vec<(String, String)>> {
    (0..1u32 << params.len())
        .map(|bits| {
            params
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, p)| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect()
        })
        .collect()
}

/// A plan line that reads a whole table.
fn is_table_scan(line: &str, table: &str) -> bool {
    line == format!("SCAN {table}")
        || line.starts_with(&format!("SCAN {table} ")) && !line.contains("USING")
}

#[test]
fn every_list_query_uses_an_index() {
    let mut db = Sqlite::open();
    let mut seen = BTreeSet::new();
    let order_params = [
        "created_gte=100",
        "created_lt=200",
        "state=paid",
        "method=wap",
        "channel=alipay",
        "link=L1",
        "ref=R1",
        "q=ab",
        "starting_after=C1",
    ];
    let mut checked = 0;
    for (i, mut query) in subsets(&order_params).into_iter().enumerate() {
        // Half of them with the one-code channel (an IN of one).
        if i % 2 == 1 {
            for (k, v) in query.iter_mut() {
                if k == "channel" {
                    *v = "wechat".into();
                }
            }
        }
        let plan = list::orders(query.clone(), true).unwrap();
        // A page, and an export's chunk (below a key) where there is a cursor.
        let q = match &plan.page.starting_after {
            Some(c) if i % 4 >= 2 => list_sql::orders_rows(&plan, 1000, Some((150, c))),
            _ => list_sql::orders_page(&plan),
        };
        let lines = db.plan(&q);
        assert!(
            !lines.iter().any(|l| is_table_scan(l, "orders")),
            "{query:?} scans orders: {lines:#?}"
        );
        match plan.index.name() {
            Some(index) => assert!(
                lines[0].contains(&format!("USING INDEX {index} "))
                    || lines[0].ends_with(&format!("USING INDEX {index}"))
                    || lines[0].contains(&format!("USING COVERING INDEX {index}")),
                "{query:?} not through {index}: {lines:#?}"
            ),
            // `q` alone: its three ranges merged. With other filters,
            // SQLite may prefer one of their indexes (never a scan, above).
            None if query.len() == 1 => {
                assert_eq!(plan.index, OrderIndex::Prefix);
                let text = lines.join("\n");
                for index in [
                    "sqlite_autoindex_orders_1",
                    "orders_by_ref",
                    "orders_by_subject",
                ] {
                    assert!(text.contains(index), "{query:?} without {index}: {text}");
                }
            }
            None => assert_eq!(plan.index, OrderIndex::Prefix),
        }
        let shape = format!("{:?}: {}", plan.index, lines.join(" | "));
        if seen.insert(shape.clone()) {
            println!("orders {query:?}\n    {shape}");
        }
        checked += 1;
    }
    let refund_params = [
        "created_gte=100",
        "created_lt=200",
        "state=succeeded",
        "order=C1",
        "starting_after=R1",
    ];
    for query in subsets(&refund_params) {
        let plan = list::refunds(query.clone()).unwrap();
        let lines = db.plan(&list_sql::refunds_page(&plan));
        assert!(
            !lines.iter().any(|l| is_table_scan(l, "refunds")),
            "{query:?} scans refunds: {lines:#?}"
        );
        assert!(
            lines[0].contains(plan.index.name()),
            "{query:?} not through {}: {lines:#?}",
            plan.index.name()
        );
        let shape = format!("{:?}: {}", plan.index, lines.join(" | "));
        if seen.insert(shape.clone()) {
            println!("refunds {query:?}\n    {shape}");
        }
        checked += 1;
    }
    let link_params = ["kind=counter", "active=true", "ref=R1", "starting_after=L1"];
    for (i, mut query) in subsets(&link_params).into_iter().enumerate() {
        // The other spellings of kind and active, in half of them.
        if i % 2 == 1 {
            for (k, v) in query.iter_mut() {
                match k.as_str() {
                    "kind" => *v = "open".into(),
                    "active" => *v = "false".into(),
                    _ => {}
                }
            }
        }
        let plan = list::links(query.clone()).unwrap();
        let lines = db.plan(&list_sql::links_page(&plan));
        assert!(
            !lines.iter().any(|l| is_table_scan(l, "links")),
            "{query:?} scans links: {lines:#?}"
        );
        assert!(
            lines[0].contains(plan.index.name()),
            "{query:?} not through {}: {lines:#?}",
            plan.index.name()
        );
        // Read in the index's order: no sort of the page's rows.
        assert!(
            !lines.iter().any(|l| l.contains("TEMP B-TREE")),
            "{query:?} sorts: {lines:#?}"
        );
        let shape = format!("{:?}: {}", plan.index, lines.join(" | "));
        if seen.insert(shape.clone()) {
            println!("links {query:?}\n    {shape}");
        }
        checked += 1;
    }
    let event_params = ["order=C1", "delivery=failed", "after=evt_9"];
    for (i, mut query) in subsets(&event_params).into_iter().enumerate() {
        // The other delivery states, in half of them.
        if i % 2 == 1 {
            for (k, v) in query.iter_mut() {
                if k == "delivery" {
                    *v = "pending".into();
                }
            }
        }
        let q = checkout::events::list_query(query.clone()).unwrap();
        let lines = db.plan(&list_sql::events_page(&q, q.limit + 1));
        assert!(
            !lines.iter().any(|l| is_table_scan(l, "webhook_events")),
            "{query:?} scans webhook_events: {lines:#?}"
        );
        let through = q.index.name().unwrap_or("INTEGER PRIMARY KEY");
        assert!(
            lines[0].contains(through),
            "{query:?} not through {through}: {lines:#?}"
        );
        // Read in row order: no sort of the page's rows.
        assert!(
            !lines.iter().any(|l| l.contains("TEMP B-TREE")),
            "{query:?} sorts: {lines:#?}"
        );
        let shape = format!("{:?}: {}", q.index, lines.join(" | "));
        if seen.insert(shape.clone()) {
            println!("events {query:?}\n    {shape}");
        }
        checked += 1;
    }
    for (table, id) in [
        ("orders", "charge_code"),
        ("refunds", "out_refund_no"),
        ("links", "link_id"),
    ] {
        let lines = db.plan(&Query {
            sql: list_sql::cursor_exists(table, id),
            params: vec![Param::Text("x".into())],
        });
        assert!(!lines.iter().any(|l| is_table_scan(l, table)), "{lines:?}");
    }
    println!("{checked} list statements planned, none scans a table");
    assert_eq!(checked, 512 + 32 + 16 + 8);
}

/// An order row as the Worker inserts it (the columns the lists read).
fn insert(db: &mut Sqlite, code: &str, created_at: u64, state: &str) {
    db.rows(
        "INSERT INTO orders (charge_code, link_id, kind, method, channel_type, amount_fen, \
         subject, state, created_at, updated_at, merchant_ref) \
         VALUES (?1, 'L1', 'link', 'wap', '1', 100, 'tea', ?2, ?3, ?3, 'R1')",
        &[
            Param::Text(code.into()),
            Param::Text(state.into()),
            Param::Int(created_at),
        ],
    );
}

#[test]
fn keyset_pages_have_no_gaps_or_repeats_while_rows_are_inserted() {
    let mut db = Sqlite::open();
    // 60 orders over 6 seconds (ties on created_at), two states.
    let mut expected = BTreeSet::new();
    for i in 0..60u64 {
        let code = format!("C{:03}", (i * 37) % 100);
        let state = if i % 3 == 0 { "closed" } else { "paid" };
        insert(&mut db, &code, 1000 + i % 6, state);
        if state == "paid" {
            expected.insert(code);
        }
    }
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    let mut inserted = 0;
    loop {
        let mut query = vec![
            ("state".to_owned(), "paid".to_owned()),
            ("limit".to_owned(), "7".to_owned()),
        ];
        if let Some(c) = &cursor {
            query.push(("starting_after".into(), c.clone()));
        }
        let plan = list::orders(query, true).unwrap();
        let q = list_sql::orders_page(&plan);
        let rows = db.rows(&q.sql, &q.params);
        let page = list::List::from_rows(rows, plan.page.limit);
        let keys: Vec<(u64, String)> = page
            .data
            .iter()
            .map(|r| (r[10].as_u64().unwrap(), r[0].as_str().unwrap().to_owned()))
            .collect();
        // Newest first, strictly.
        assert!(keys.windows(2).all(|w| w[0] > w[1]), "{keys:?}");
        got.extend(keys.iter().map(|k| k.1.clone()));
        // Between pages: a newer order, and one in the same second as the
        // cursor (both sides of it).
        inserted += 1;
        insert(&mut db, &format!("N{inserted:03}"), 2000 + inserted, "paid");
        if let Some(last) = keys.last() {
            insert(&mut db, &format!("A{inserted:03}"), last.0, "paid");
            insert(&mut db, &format!("Z{inserted:03}"), last.0, "paid");
        }
        if !page.has_more {
            break;
        }
        cursor = keys.last().map(|k| k.1.clone());
    }
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "a row repeated: {got:?}");
    let missing: Vec<_> = expected.difference(&unique).collect();
    assert!(missing.is_empty(), "rows skipped: {missing:?}");
    // Rows inserted above the cursor were not pulled onto later pages.
    assert!(
        !got.iter().any(|c| c.starts_with('N') || c.starts_with('Z')),
        "{got:?}"
    );
}
