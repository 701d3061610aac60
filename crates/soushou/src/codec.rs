//! JSON and XML encoding of gateway messages.
//!
//! Responses and notifications travel as `{"ROOT":{...}}` or
//! `<ROOT>...</ROOT>`; request bodies are a bare JSON object. Decoding
//! sniffs the format, so callers never need to know which one arrived.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{snippet, Error};
pub use crate::model::Message;
use crate::xml;

/// Wire format of a response or notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// JSON (`_type=json`).
    #[default]
    Json,
    /// XML: the gateway's default when `_type` is absent.
    Xml,
}

impl Format {
    /// The format a `_type` query value asks for: `json` (any case) is JSON,
    /// anything else or nothing is XML, as the gateway behaves.
    pub fn from_type_param(v: Option<&str>) -> Format {
        match v {
            Some(t) if t.trim().eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Xml,
        }
    }

    /// The HTTP `Content-Type` for a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json;charset=UTF-8",
            Format::Xml => "application/xml;charset=UTF-8",
        }
    }
}

/// Guesses the format of a body: `{` is JSON, `<` is XML unless it is an
/// HTML page; anything else (HTML, base64, garbage) is `None`.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = b.iter().position(|c| !c.is_ascii_whitespace())?;
    let b = &b[start..];
    match b[0] {
        b'{' => Some(Format::Json),
        b'<' => {
            let head: Vec<u8> = b.iter().take(16).map(u8::to_ascii_lowercase).collect();
            let html = [&b"<!doctype html"[..], b"<html", b"<head", b"<body"]
                .iter()
                .any(|p| head.starts_with(p));
            (!html).then_some(Format::Xml)
        }
        _ => None,
    }
}

/// Most significant digits a JSON number serde_json reads as `f64` keeps
/// exactly: any decimal with at most 15 survives the round trip through a
/// double (`f64::DIGITS`).
const EXACT_DIGITS: usize = 15;

/// Refuses a JSON body with a number serde_json would round: one with a
/// fraction or an exponent (or too large for `u64`/`i64`), read as `f64`,
/// with more than [`EXACT_DIGITS`] significant digits. Such a yuan amount
/// (`0.0100000000000000001`) would reach the amount parser already rounded
/// (`0.01`) and be taken as what the sender never wrote (issue 24, defect
/// 10); integers within `u64` are exact and pass, so do strings. Scans the
/// bytes once, skipping string contents.
fn exact_numbers(bytes: &[u8]) -> Result<(), Error> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let token = &bytes[start..i];
                if !float_is_exact(token) {
                    return Err(Error::InvalidAmount {
                        input: String::from_utf8_lossy(&token[..token.len().min(40)]).into_owned(),
                        reason:
                            "a JSON number with more than 15 significant digits would be rounded",
                    });
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Whether serde_json reads the number `token` without rounding.
fn float_is_exact(token: &[u8]) -> bool {
    let integral = !token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
    let text = std::str::from_utf8(token).unwrap_or_default();
    if integral && (text.parse::<u64>().is_ok() || text.parse::<i64>().is_ok()) {
        return true;
    }
    let mantissa = token
        .iter()
        .take_while(|b| !matches!(b, b'e' | b'E'))
        .filter(|b| b.is_ascii_digit());
    let significant: Vec<u8> = mantissa.copied().skip_while(|&b| b == b'0').collect();
    let trailing_zeros = significant.iter().rev().take_while(|&&b| b == b'0').count();
    let has_exponent = token.iter().any(|b| matches!(b, b'e' | b'E'));
    let digits = significant.len() - trailing_zeros;
    // An exponent moves the digits: a tiny or huge number is not a yuan
    // amount the gateway sends; refuse rather than trust the double.
    digits <= EXACT_DIGITS && (!has_exponent || digits == 0)
}

/// Parses a body into `(format, {"ROOT": content})`.
fn tree(bytes: &[u8]) -> Result<(Format, Map<String, Value>), Error> {
    match sniff(bytes).ok_or(Error::NotGatewayMessage)? {
        Format::Json => match exact_numbers(bytes).and_then(|()| {
            serde_json::from_slice::<Value>(bytes).map_err(|e| Error::Decode(format!("JSON: {e}")))
        }) {
            Ok(Value::Object(m)) => Ok((Format::Json, m)),
            Ok(_) => Err(Error::Decode("JSON body is not an object".into())),
            Err(e) => Err(e),
        },
        Format::Xml => {
            let (root, content) = xml::to_json(bytes)?;
            if root.eq_ignore_ascii_case("html") {
                return Err(Error::NotGatewayMessage);
            }
            let mut m = Map::new();
            m.insert(root, content);
            Ok((Format::Xml, m))
        }
    }
}

/// Whether two bodies parse to the same message (same format, same tree);
/// false when either is not a JSON or XML message.
pub(crate) fn same_message(a: &[u8], b: &[u8]) -> bool {
    matches!((tree(a), tree(b)), (Ok(x), Ok(y)) if x == y)
}

/// Finds the content under `root` in a parsed body.
fn take_root(mut m: Map<String, Value>, root: &'static str) -> Result<Value, Error> {
    if let Some(v) = m.remove(root) {
        return Ok(v);
    }
    let found = m.keys().cloned().collect::<Vec<_>>().join(",");
    Err(Error::UnexpectedRoot {
        expected: root,
        found: snippet(&found),
    })
}

/// Parses a body and returns the content under `M::ROOT` with its format.
pub(crate) fn root_value<M: Message>(bytes: &[u8]) -> Result<(Format, Value), Error> {
    let (format, m) = tree(bytes)?;
    Ok((format, take_root(m, M::ROOT)?))
}

/// Deserializes a typed value from a parsed tree.
pub(crate) fn from_value<T: DeserializeOwned>(v: Value) -> Result<T, Error> {
    serde_json::from_value(v).map_err(|e| Error::Decode(e.to_string()))
}

/// Encodes a message as `{"ROOT":{...}}` or `<ROOT>...</ROOT>`.
///
/// # Panics
/// Only if `M`'s `Serialize` implementation itself fails, which none of the
/// crate's message types can.
pub fn encode<M: Message>(msg: &M, format: Format) -> Vec<u8> {
    match format {
        // Serialised directly (not via a `Value`) so fields keep the
        // documented order, `RESULT` first.
        Format::Json => {
            serde_json::to_vec(&Rooted(msg)).expect("gateway messages serialise to JSON")
        }
        Format::Xml => {
            let content = serde_json::to_value(msg).expect("gateway messages serialise to JSON");
            xml::from_json(M::ROOT, &content).into_bytes()
        }
    }
}

/// `{"ROOT": msg}` without building an intermediate tree.
struct Rooted<'a, M>(&'a M);

impl<M: Message> Serialize for Rooted<'_, M> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(M::ROOT, self.0)?;
        m.end()
    }
}

/// Decodes a message in either format. HTML pages and garbage give
/// [`Error::NotGatewayMessage`], a different root gives
/// [`Error::UnexpectedRoot`], a bad field gives [`Error::Decode`].
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M, Error> {
    let (_, v) = root_value::<M>(bytes)?;
    from_value(v)
}

/// Encodes a request body: a bare, compact JSON object.
///
/// # Panics
/// Only if `T`'s `Serialize` implementation itself fails, which none of the
/// crate's request types can.
pub fn encode_body<T: Serialize>(req: &T) -> Vec<u8> {
    serde_json::to_vec(req).expect("request bodies serialise to JSON")
}

/// Decodes a request body: a bare JSON object, or (tolerated) an XML
/// document whose root element holds the fields.
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match sniff(bytes).ok_or(Error::NotGatewayMessage)? {
        Format::Json => {
            exact_numbers(bytes)?;
            serde_json::from_slice(bytes).map_err(|e| Error::Decode(format!("JSON: {e}")))
        }
        Format::Xml => {
            let (root, content) = xml::to_json(bytes)?;
            if root.eq_ignore_ascii_case("html") {
                return Err(Error::NotGatewayMessage);
            }
            from_value(content)
        }
    }
}
