//! XML form of gateway messages, converted to and from the JSON tree.
//!
//! The gateway's XML mirrors its JSON: the root element is the JSON root key,
//! objects are child elements, lists are repeated elements, and every leaf is
//! text. Converting XML into a `serde_json::Value` (leaves as strings) lets
//! one set of tolerant serde models decode both formats to the same value.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

use crate::error::Error;

/// Deeper nesting than this is rejected: gateway messages are 4 levels deep,
/// and a bound keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 64;

struct Node {
    name: String,
    children: Vec<(String, Value)>,
    text: String,
}

impl Node {
    /// A leaf becomes its text; an element with children becomes an object
    /// whose repeated child names become arrays. Text between child
    /// elements (indentation) is dropped.
    fn finish(self) -> Value {
        if self.children.is_empty() {
            return Value::String(self.text);
        }
        let mut map = Map::new();
        for (k, v) in self.children {
            match map.get_mut(&k) {
                None => {
                    map.insert(k, v);
                }
                Some(Value::Array(items)) => items.push(v),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, v]);
                }
            }
        }
        Value::Object(map)
    }
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::Decode(format!("XML: {msg}"))
}

/// Parses an XML document into `(root element name, content)`, where the
/// content is a string for a leaf or an object of children. Attributes,
/// comments, processing instructions and the declaration are ignored.
pub fn to_json(bytes: &[u8]) -> Result<(String, Value), Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<(String, Value)> = None;

    fn attach(
        stack: &mut [Node],
        root: &mut Option<(String, Value)>,
        name: String,
        v: Value,
    ) -> Result<(), Error> {
        match stack.last_mut() {
            Some(parent) => parent.children.push((name, v)),
            None if root.is_none() => *root = Some((name, v)),
            None => return Err(bad("more than one root element")),
        }
        Ok(())
    }

    loop {
        match reader.read_event().map_err(bad)? {
            Event::Start(e) => {
                if root.is_some() {
                    return Err(bad("more than one root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(bad("nested too deeply"));
                }
                stack.push(Node {
                    name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    children: Vec::new(),
                    text: String::new(),
                });
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                attach(&mut stack, &mut root, name, Value::String(String::new()))?;
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| bad("unexpected end tag"))?;
                let name = node.name.clone();
                attach(&mut stack, &mut root, name, node.finish())?;
            }
            Event::Text(t) => {
                let s = t.xml10_content().map_err(bad)?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(bad("text outside the root element")),
                }
            }
            Event::CData(c) => {
                let s = c.decode().map_err(bad)?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None => return Err(bad("CDATA outside the root element")),
                }
            }
            Event::GeneralRef(r) => {
                let top = stack
                    .last_mut()
                    .ok_or_else(|| bad("entity outside the root element"))?;
                if let Some(c) = r.resolve_char_ref().map_err(bad)? {
                    top.text.push(c);
                } else {
                    let name = r.decode().map_err(bad)?;
                    let s = resolve_predefined_entity(&name)
                        .ok_or_else(|| bad(format!("unknown entity &{name};")))?;
                    top.text.push_str(s);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(bad("unclosed element"));
    }
    root.ok_or_else(|| bad("no root element"))
}

/// Whether `name` can be written as an element name unchanged.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A raw \r would be normalised to \n by any XML reader.
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\0' => {
                out.push_str(&format!("&#{};", c as u32));
            }
            c => out.push(c),
        }
    }
}

fn write_elem(out: &mut String, name: &str, v: &Value) {
    if !valid_name(name) {
        return;
    }
    match v {
        Value::Null => {}
        Value::Array(items) => items.iter().for_each(|i| write_elem(out, name, i)),
        Value::Object(m) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, c) in m {
                write_elem(out, k, c);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::String(s) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            escape_into(out, s);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Bool(_) | Value::Number(_) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            out.push_str(&v.to_string());
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

/// Writes `content` as an XML document with root element `root` (with an
/// XML declaration). Arrays become repeated elements, `null` is omitted,
/// and keys that are not valid XML names are skipped.
pub fn from_json(root: &str, content: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_elem(&mut out, root, content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repeated_elements_become_arrays() {
        let x = b"<?xml version=\"1.0\"?><R><L><B><A>1</A></B><B><A>2</A></B></L><E/><T> a&amp;b&#13;</T></R>";
        let (root, v) = to_json(x).unwrap();
        assert_eq!(root, "R");
        assert_eq!(
            v,
            json!({"L": {"B": [{"A": "1"}, {"A": "2"}]}, "E": "", "T": " a&b\r"})
        );
        let back = from_json("R", &v);
        assert_eq!(to_json(back.as_bytes()).unwrap(), ("R".into(), v));
    }

    #[test]
    fn rejects_malformed() {
        for x in [
            &b""[..],
            b"<a>",
            b"<a></b>",
            b"<a/><b/>",
            b"text",
            b"<a>&bogus;</a>",
            b"\xff<a/>",
        ] {
            assert!(to_json(x).is_err(), "{:?}", String::from_utf8_lossy(x));
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(to_json(deep.as_bytes()).is_err());
    }
}
