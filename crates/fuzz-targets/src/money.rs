//! Amounts: the wire's yuan and fen readers and the merchant API's parser.

use checkout::amount::{parse_api_amount, MAX_AMOUNT};
use serde_json::Value;
use soushou::money::{serde_fen, serde_yuan};
use soushou::Fen;

use crate::text;

/// The two-decimal form of an accepted `digits[.d[d]]` string, derived by
/// string manipulation alone (a second derivation to check `to_yuan`).
fn two_decimals(s: &str) -> String {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let int = int.trim_start_matches('0');
    format!("{}.{frac:0<2}", if int.is_empty() { "0" } else { int })
}

/// A JSON number written without exponent and with at most 15 significant
/// digits: the numbers an `f64` holds exactly as written, so the wire
/// reader must read their exact value. `None` for anything else.
fn plain_decimal(s: &str) -> Option<&str> {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let plain = s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let significant = s
        .trim_start_matches(['0', '.'])
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    (plain && digits > 0 && significant <= 15).then_some(s)
}

/// `Fen::parse_yuan` and the wire helpers `serde_yuan` / `serde_fen`.
///
/// An accepted yuan string formats back to its two-decimal form and parses
/// again to the same fen. On the wire, a yuan string reads exactly as
/// `parse_yuan` of its trimmed text; a yuan JSON number that an `f64` holds
/// exactly reads to its exact value or is refused, never rounded; a fen
/// string or number reads as the integer it spells.
pub fn yuan(data: &[u8]) {
    let s = text(data);
    let parsed = Fen::parse_yuan(&s);
    if let Ok(f) = parsed {
        assert_eq!(f.to_yuan(), two_decimals(&s));
        assert_eq!(f.to_string(), f.to_yuan());
        assert_eq!(Fen::parse_yuan(&f.to_yuan()), Ok(f));
        assert_eq!(s.parse::<Fen>(), Ok(f));
    }

    let as_string = Value::String(s.to_string());
    assert_eq!(
        serde_yuan::deserialize(as_string.clone()).ok(),
        Fen::parse_yuan(s.trim()).ok(),
        "a yuan string reads as parse_yuan of its trimmed text"
    );
    if let Ok(f) = serde_fen::deserialize(as_string) {
        assert_eq!(s.trim().parse::<u64>(), Ok(f.fen()));
    }

    let Ok(number @ Value::Number(_)) = serde_json::from_str::<Value>(&s) else {
        return;
    };
    if let Ok(f) = serde_fen::deserialize(number.clone()) {
        assert_eq!(number.as_u64(), Some(f.fen()));
    }
    let read = serde_yuan::deserialize(number).ok();
    if let Some(t) = plain_decimal(s.trim()) {
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let frac = frac.trim_end_matches('0');
        let exact = if frac.is_empty() {
            Fen::parse_yuan(int).ok()
        } else {
            Fen::parse_yuan(&format!("{int}.{frac}")).ok()
        };
        assert_eq!(read, exact, "{t} read as {read:?}");
    }
}

/// `checkout::amount::parse_api_amount`, the merchant API's amounts.
///
/// It accepts exactly the yuan strings the wire reader accepts with a
/// value above zero and at most `MAX_AMOUNT`, with the same value; what it
/// accepts formats back and parses again to the same fen.
pub fn api(data: &[u8]) {
    let s = text(data);
    let api = parse_api_amount(&s);
    let wire = Fen::parse_yuan(&s)
        .ok()
        .filter(|f| *f > Fen::ZERO && *f <= MAX_AMOUNT);
    assert_eq!(
        api.clone().ok(),
        wire,
        "{s:?}: API and wire parsers disagree"
    );
    if let Ok(f) = api {
        assert_eq!(parse_api_amount(&f.to_yuan()), Ok(f));
    }
}
