//! The CSV of the exports (`GET /v1/orders.csv`, `GET
//! /v1/statements/{date}.csv`), cell by cell, so that a spreadsheet reads
//! each value as the merchant means it:
//!
//! - UTF-8 with a byte order mark ([`BOM`]; Excel reads a file without one
//!   as the system code page and garbles Chinese), rows ending in CRLF,
//!   RFC 4180 quoting (a cell with `,`, `"`, CR or LF is quoted, `"`
//!   doubled);
//! - [`Cell::Text`] from outside (a subject, a ref, a reason) is guarded:
//!   one starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`
//!   (OWASP's CSV injection advice), so a subject `=1+1` (or a
//!   `=HYPERLINK(...)`) is shown, never evaluated;
//! - [`Cell::Code`] (charge codes, ids, the merchant's ref): spreadsheets turn a cell of digits
//!   into a number (a 20-digit code loses its last digits, `0012` its
//!   zeros), quoted or not; written as the text formula `="…"`, which
//!   Excel, LibreOffice and Numbers show as that text. Only for a code of
//!   letters, digits, `-` and `_` — nothing a formula could run — any
//!   other value is a guarded [`Cell::Text`];
//! - [`Cell::Amount`]: exact yuan from fen (`12.30`), unquoted, so the
//!   spreadsheet sums it; never negative (the guard would turn `-` text);
//! - [`Cell::Time`]: ISO 8601 in Beijing time (`2026-12-07T09:30:00+08:00`).

use soushou::Fen;

use crate::format::{civil, BEIJING_OFFSET_SECS};
use crate::list::{Channel, OrderItem};
use crate::statement::Movement;

/// UTF-8's byte order mark, the first thing of every export.
pub const BOM: &str = "\u{FEFF}";

/// One cell of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Free text, guarded against formulas.
    Text(&'a str),
    /// A code or id, kept as text.
    Code(&'a str),
    /// An amount in yuan.
    Amount(Fen),
    /// Unix seconds, in Beijing time.
    Time(u64),
    /// Nothing.
    Empty,
}

/// The characters that start a formula (or, tab and CR, that some
/// spreadsheets strip before looking for one).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// RFC 4180: quoted when it holds a separator, a quote or a line break.
fn quoted(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A text cell: guarded, then quoted.
fn text(s: &str) -> String {
    if s.starts_with(FORMULA_START) {
        quoted(&format!("'{s}"))
    } else {
        quoted(s)
    }
}

/// A code cell: `="…"` when it is a plain code, else text.
fn code(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plain {
        quoted(&format!("=\"{s}\""))
    } else {
        text(s)
    }
}

/// Unix seconds as ISO 8601 in Beijing time.
pub fn beijing_time(unix: u64) -> String {
    let c = civil(unix, BEIJING_OFFSET_SECS);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

impl Cell<'_> {
    /// The cell as written.
    pub fn encode(self) -> String {
        match self {
            Cell::Text(s) => text(s),
            Cell::Code(s) => code(s),
            Cell::Amount(f) => f.to_yuan(),
            Cell::Time(t) => beijing_time(t),
            Cell::Empty => String::new(),
        }
    }
}

/// A text cell of an optional value.
pub fn opt_text(s: Option<&str>) -> Cell<'_> {
    s.map_or(Cell::Empty, Cell::Text)
}

/// A code cell of an optional value.
pub fn opt_code(s: Option<&str>) -> Cell<'_> {
    s.map_or(Cell::Empty, Cell::Code)
}

/// A time cell of an optional value.
pub fn opt_time(t: Option<u64>) -> Cell<'static> {
    t.map_or(Cell::Empty, Cell::Time)
}

/// One row, CRLF-terminated.
pub fn row(cells: &[Cell]) -> String {
    let mut out = cells
        .iter()
        .map(|c| c.encode())
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// The header row (names are plain text).
pub fn header(names: &[&str]) -> String {
    row(&names.iter().map(|n| Cell::Text(n)).collect::<Vec<_>>())
}

/// The columns of `GET /v1/orders.csv`.
pub const ORDER_COLUMNS: [&str; 13] = [
    "charge_code",
    "created_at",
    "paid_at",
    "state",
    "amount",
    "refunded",
    "subject",
    "ref",
    "link_id",
    "kind",
    "method",
    "channel",
    "duplicate_of",
];

/// An order as a row of [`ORDER_COLUMNS`].
pub fn order_row(o: &OrderItem) -> String {
    row(&[
        Cell::Code(&o.charge_code),
        Cell::Time(o.created_at),
        opt_time(o.paid_at),
        Cell::Text(o.state.as_str()),
        Cell::Amount(Fen::from_fen(o.amount_fen)),
        Cell::Amount(Fen::from_fen(o.refunded_fen)),
        Cell::Text(&o.subject),
        opt_code(o.reference.as_deref()),
        opt_code(o.link_id.as_deref()),
        Cell::Text(o.kind.as_str()),
        Cell::Text(o.method.as_str()),
        Cell::Text(o.channel),
        opt_code(o.duplicate_of.as_deref()),
    ])
}

/// The columns of `GET /v1/statements/{date}.csv`.
pub const STATEMENT_COLUMNS: [&str; 9] = [
    "type",
    "time",
    "charge_code",
    "out_refund_no",
    "channel",
    "method",
    "amount",
    "subject",
    "ref",
];

/// One money movement of a statement's day.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// Payment, refund or duplicate refund.
    pub movement: Movement,
    /// When the money moved.
    pub at: u64,
    /// The order.
    pub charge_code: &'a str,
    /// The refund, for a refund.
    pub out_refund_no: Option<&'a str>,
    /// The wallet.
    pub channel: Channel,
    /// The order's method.
    pub method: &'a str,
    /// The money moved (never negative: `type` says its direction).
    pub amount: Fen,
    /// The order's subject.
    pub subject: &'a str,
    /// The order's merchant reference.
    pub reference: Option<&'a str>,
}

/// A movement as a row of [`STATEMENT_COLUMNS`].
pub fn statement_row(l: &Line) -> String {
    let kind = match l.movement {
        Movement::Payment => "payment",
        Movement::Refund => "refund",
        Movement::DuplicateRefund => "duplicate_refund",
    };
    row(&[
        Cell::Text(kind),
        Cell::Time(l.at),
        Cell::Code(l.charge_code),
        opt_code(l.out_refund_no),
        Cell::Text(l.channel.as_str()),
        Cell::Text(l.method),
        Cell::Amount(l.amount),
        Cell::Text(l.subject),
        opt_code(l.reference),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        for (cell, want) in [
            (Cell::Text("tea"), "tea"),
            (Cell::Text("咖啡 大杯"), "咖啡 大杯"),
            (Cell::Text("a,b"), "\"a,b\""),
            (Cell::Text("say \"hi\""), "\"say \"\"hi\"\"\""),
            (Cell::Text("two\r\nlines"), "\"two\r\nlines\""),
            (Cell::Text("line\nfeed"), "\"line\nfeed\""),
            (Cell::Text("=1+1"), "'=1+1"),
            (Cell::Text("+86 138"), "'+86 138"),
            (Cell::Text("-5"), "'-5"),
            (Cell::Text("@SUM(A1)"), "'@SUM(A1)"),
            (Cell::Text("\tx"), "'\tx"),
            (Cell::Text("\rx"), "\"'\rx\""),
            (
                Cell::Text("=HYPERLINK(\"http://x\",\"y\")"),
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            (Cell::Text("a=b"), "a=b"),
            (Cell::Text(""), ""),
            (
                Cell::Code("12345678901234567890"),
                "\"=\"\"12345678901234567890\"\"\"",
            ),
            (Cell::Code("0012"), "\"=\"\"0012\"\"\""),
            (Cell::Code("dup-abc_1"), "\"=\"\"dup-abc_1\"\"\""),
            (Cell::Code("=1+1"), "'=1+1"),
            (Cell::Code("a\"b"), "\"a\"\"b\""),
            (Cell::Code("订单1"), "订单1"),
            (Cell::Code(""), ""),
            (Cell::Amount(Fen::from_fen(1230)), "12.30"),
            (Cell::Amount(Fen::from_fen(1)), "0.01"),
            (Cell::Amount(Fen::from_fen(0)), "0.00"),
            (Cell::Amount(Fen::from_fen(1_000_000_000)), "10000000.00"),
            (Cell::Time(0), "1970-01-01T08:00:00+08:00"),
            (Cell::Time(1_765_065_600), "2025-12-07T08:00:00+08:00"),
            (Cell::Time(1_765_123_199), "2025-12-07T23:59:59+08:00"),
            (Cell::Empty, ""),
        ] {
            assert_eq!(cell.encode(), want, "{cell:?}");
        }
    }

    #[test]
    fn rows_end_in_crlf() {
        assert_eq!(
            row(&[
                Cell::Code("1"),
                Cell::Text("a,b"),
                Cell::Empty,
                Cell::Amount(Fen::from_fen(5))
            ]),
            "\"=\"\"1\"\"\",\"a,b\",,0.05\r\n"
        );
        assert_eq!(header(&["a", "b"]), "a,b\r\n");
        assert_eq!(opt_text(None), Cell::Empty);
        assert_eq!(opt_code(Some("x")), Cell::Code("x"));
        assert_eq!(opt_time(Some(3)), Cell::Time(3));
    }

    #[test]
    fn an_order_row() {
        use crate::vocab::{OrderKind, OrderMethod, OrderStatus};
        let o = OrderItem {
            charge_code: "12345678901234567890".into(),
            link_id: Some("ab12".into()),
            reference: Some("=1+1".into()),
            subject: "咖啡, 大杯".into(),
            kind: OrderKind::Link,
            method: OrderMethod::Wap,
            channel: "alipay",
            state: OrderStatus::PartiallyRefunded,
            amount: "12.30".into(),
            amount_fen: 1230,
            refunded_fen: 100,
            created_at: 1_765_065_600,
            paid_at: None,
            duplicate_of: None,
        };
        assert_eq!(
            order_row(&o),
            "\"=\"\"12345678901234567890\"\"\",2025-12-07T08:00:00+08:00,,partially_refunded,\
             12.30,1.00,\"咖啡, 大杯\",'=1+1,\"=\"\"ab12\"\"\",link,wap,alipay,\r\n"
        );
        assert_eq!(ORDER_COLUMNS.len(), order_row(&o).matches(',').count());
    }

    #[test]
    fn a_statement_row() {
        let l = Line {
            movement: Movement::DuplicateRefund,
            at: 1_765_065_600,
            charge_code: "C1",
            out_refund_no: Some("dup-C1"),
            channel: Channel::Wechat,
            method: "wechat_jsapi",
            amount: Fen::from_fen(250),
            subject: "-奶茶",
            reference: None,
        };
        assert_eq!(
            statement_row(&l),
            "duplicate_refund,2025-12-07T08:00:00+08:00,\"=\"\"C1\"\"\",\"=\"\"dup-C1\"\"\",\
             wechat,wechat_jsapi,2.50,'-奶茶,\r\n"
        );
    }

    /// Whatever a text holds, its cell parses back (RFC 4180) to the text,
    /// with `'` in front exactly when it starts a formula.
    #[test]
    fn text_cells_round_trip() {
        fn unquote(cell: &str) -> String {
            match cell.strip_prefix('"') {
                Some(inner) => inner.strip_suffix('"').unwrap().replace("\"\"", "\""),
                None => {
                    assert!(!cell.contains([',', '"', '\r', '\n']), "{cell:?}");
                    cell.to_owned()
                }
            }
        }
        for s in [
            "", "a", "a\"", "\"", ",", "=x", "-", "\r\n", "x\ny", "咖,啡", "'q", " =x",
        ] {
            let back = unquote(&Cell::Text(s).encode());
            if s.starts_with(FORMULA_START) {
                assert_eq!(back, format!("'{s}"));
            } else {
                assert_eq!(back, s);
            }
        }
    }
}
