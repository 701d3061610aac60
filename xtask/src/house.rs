//! `cargo xtask house`: the figures issue 13 asks for, measured the same way
//! every time — the longest non-test functions of `crates/*/src` and the
//! import cycles between the modules of each crate.
//!
//! A text reading, not a compiler's: comments and string literals are
//! blanked out, then braces and `crate::` / `super::` paths are read from
//! what is left. Test code (`#[cfg(test)]` items and `#[test]` functions)
//! does not count. A module is one file (`screens/pay.rs` is
//! `screens::pay`); the crate root (`lib.rs`, `main.rs`) is left out of
//! the graph, since every module is declared there. The host test
//! `no_module_cycles` keeps the tree free of cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::{root, Result};

/// How many functions `house` lists.
const LONGEST: usize = 10;

/// `cargo xtask house`.
pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        return Err(crate::fail!("`house` takes no arguments (got `{a}`)"));
    }
    let crates = crates(&root())?;
    let mut fns = Vec::new();
    for (name, files) in &crates {
        for f in files {
            for (func, lines) in functions(&f.code) {
                fns.push((lines, format!("{name} {}::{func}", f.module)));
            }
        }
    }
    fns.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    println!("longest non-test functions (lines):");
    for (lines, name) in fns.iter().take(LONGEST) {
        println!("  {lines:4}  {name}");
    }
    let mut total = 0;
    println!("import cycles between modules:");
    for (name, files) in &crates {
        for cycle in cycles(files) {
            total += 1;
            println!("  {name}: {}", cycle.join(" -> "));
        }
    }
    println!("cycles: {total}");
    Ok(())
}

/// One source file: its module path and its text with comments, strings
/// and test code blanked out.
pub struct Source {
    module: String,
    code: String,
}

/// Every crate under `crates/`, with its source files.
fn crates(root: &Path) -> Result<BTreeMap<String, Vec<Source>>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(root.join("crates"))? {
        let dir = entry?.path();
        let src = dir.join("src");
        if !src.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        collect(&src, &src, &mut files)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.insert(name, files);
    }
    Ok(out)
}

fn collect(src: &Path, dir: &Path, out: &mut Vec<Source>) -> Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::result::Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(src, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(src).unwrap_or(&path);
            let text = fs::read_to_string(&path)?;
            out.push(Source {
                module: module_name(rel),
                code: without_tests(&blank(&text)),
            });
        }
    }
    Ok(())
}

/// `screens/mod.rs` → `screens`, `screens/pay.rs` → `screens::pay`,
/// `lib.rs` / `main.rs` → `` (the root).
fn module_name(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The text with comments and the insides of string and char literals
/// replaced by spaces (newlines kept, so line numbers hold).
pub fn blank(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(keep(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !is_ident(b[i - 1]))
        {
            // A raw string: r"…" or r#…#"…"#…#.
            let mut j = i + 1;
            while b.get(j) == Some(&'#') {
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            out.push('"');
            out.extend(std::iter::repeat_n(' ', j - i));
            i = j + 1;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    out.push('"');
                    out.extend(std::iter::repeat_n(' ', hashes));
                    i += 1 + hashes;
                    break;
                }
                out.push(keep(b[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(keep(b[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && char_literal_len(&b[i..]).is_some() {
            let n = char_literal_len(&b[i..]).unwrap_or(1);
            out.push('\'');
            out.extend(std::iter::repeat_n(' ', n - 2));
            out.push('\'');
            i += n;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The length of a char literal starting at `b[0] == '\''`, if it is one
/// (and not a lifetime).
fn char_literal_len(b: &[char]) -> Option<usize> {
    if b.get(1) == Some(&'\\') {
        let close = b.iter().skip(2).position(|&c| c == '\'')?;
        return (close < 10).then_some(close + 3);
    }
    (b.get(2) == Some(&'\'')).then_some(3)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The index of the brace closing the one at `open`.
fn matching(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Blanks every item marked `#[cfg(test)]` or `#[test]` (up to the end of
/// its braces, or its `;`).
pub fn without_tests(code: &str) -> String {
    let mut b = code.as_bytes().to_vec();
    for marker in ["#[cfg(test)]", "#[test]"] {
        let mut from = 0;
        while let Some(at) = find(&b, marker.as_bytes(), from) {
            let end = item_end(&b, at + marker.len()).unwrap_or(b.len() - 1);
            for c in &mut b[at..=end] {
                if *c != b'\n' {
                    *c = b' ';
                }
            }
            from = end;
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Where the item starting after `from` ends: its closing brace or `;`.
fn item_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'{' => return matching(b, i),
            b';' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Every function with a body: (name, lines from `fn` to its closing brace).
pub fn functions(code: &str) -> Vec<(String, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = find(b, b"fn ", from) {
        from = at + 3;
        if at > 0 && is_ident(b[at - 1] as char) {
            continue;
        }
        let name: String = code[at + 3..]
            .trim_start()
            .chars()
            .take_while(|&c| is_ident(c))
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body is the first `{` at bracket depth 0 before any `;`.
        let mut depth = 0i32;
        let mut i = at + 3;
        let mut body = None;
        while i < b.len() {
            match b[i] {
                b'(' | b'[' | b'<' => depth += 1,
                b')' | b']' => depth -= 1,
                b'>' if b[i - 1] != b'-' && b[i - 1] != b'=' => depth -= 1,
                b'{' if depth <= 0 => {
                    body = Some(i);
                    break;
                }
                b';' if depth <= 0 => break,
                _ => {}
            }
            i += 1;
        }
        let Some(open) = body else { continue };
        let Some(close) = matching(b, open) else {
            continue;
        };
        let lines = code[at..=close].lines().count();
        out.push((name, lines));
    }
    out
}

/// The modules each module refers to (`crate::a::b…`, `super::…`), by
/// module path; the root and the module itself are left out.
fn edges(files: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<&str> = files.iter().map(|f| f.module.as_str()).collect();
    let mut out = BTreeMap::new();
    for f in files.iter().filter(|f| !f.module.is_empty()) {
        let mut to = BTreeSet::new();
        for path in paths(&f.code) {
            let absolute = absolute(&f.module, &path);
            // The longest prefix that is a module.
            let target = (1..=absolute.len())
                .rev()
                .map(|n| absolute[..n].join("::"))
                .find(|m| modules.contains(m.as_str()));
            if let Some(t) = target {
                if t != f.module && !f.module.starts_with(&format!("{t}::")) {
                    to.insert(t);
                }
            }
        }
        out.insert(f.module.clone(), to);
    }
    out
}

/// A path read relative to `module` (`super::x` in `a::b` is `a::x`;
/// `crate::x` is `x`).
fn absolute(module: &str, path: &[String]) -> Vec<String> {
    let mut base: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(str::to_owned).collect()
    };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => return Vec::new(),
    }
    base.extend(rest.iter().cloned());
    base
}

/// Every `crate::…` and `super::…` path in the code, use-groups expanded
/// (`crate::{a, b::c}` gives `crate::a` and `crate::b::c`).
pub fn paths(code: &str) -> Vec<Vec<String>> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let starts = |w: &str| {
            w.chars()
                .enumerate()
                .all(|(k, ch)| c.get(i + k) == Some(&ch))
                && (i == 0 || !is_ident(c[i - 1]) && c[i - 1] != ':')
        };
        if starts("crate::") || starts("super::") {
            let (mut found, end) = tree(&c, i);
            out.append(&mut found);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Reads a path tree at `i`; returns its leaves and where it ends.
fn tree(c: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        while c.get(i).is_some_and(|ch| ch.is_whitespace()) {
            i += 1;
        }
        if c.get(i) == Some(&'{') {
            i += 1;
            let mut leaves = Vec::new();
            loop {
                let (found, end) = tree(c, i);
                for f in found {
                    let mut p = prefix.clone();
                    p.extend(f);
                    leaves.push(p);
                }
                i = end;
                while c.get(i).is_some_and(|ch| ch.is_whitespace() || *ch == ',') {
                    i += 1;
                }
                if c.get(i) == Some(&'}') || i >= c.len() {
                    return (leaves, i + 1);
                }
            }
        }
        let ident: String = c[i.min(c.len())..]
            .iter()
            .take_while(|&&ch| is_ident(ch))
            .collect();
        if ident.is_empty() {
            return (vec![prefix], i);
        }
        i += ident.chars().count();
        prefix.push(ident);
        if c.get(i) == Some(&':') && c.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// The cycles of the module graph: one per strongly connected component
/// of more than one module, listed as its members.
fn cycles(files: &[Source]) -> Vec<Vec<String>> {
    let graph = edges(files);
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(m) = todo.pop() {
            for n in graph.get(&m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|m| (m, reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for m in graph.keys() {
        if done.contains(m) {
            continue;
        }
        let component: Vec<String> = graph
            .keys()
            .filter(|n| *n == m || reachable[m].contains(*n) && reachable[*n].contains(m.as_str()))
            .cloned()
            .collect();
        if component.len() > 1 {
            done.extend(component.iter().cloned());
            out.push(component);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(module: &str, text: &str) -> Source {
        Source {
            module: module.into(),
            code: without_tests(&blank(text)),
        }
    }

    /// Issue 13: no crate has an import cycle between its modules. A
    /// module that needs a word of another's should find it in a module
    /// both can use (`checkout::vocab`, `page::state`).
    #[test]
    fn no_module_cycles() {
        let crates = crates(&root()).unwrap();
        assert!(crates.len() >= 6, "{:?}", crates.keys());
        for (name, files) in &crates {
            assert_eq!(cycles(files), Vec::<Vec<String>>::new(), "{name}");
        }
    }

    #[test]
    fn comments_strings_and_tests_do_not_count() {
        let code = without_tests(&blank(
            "fn a() {\n let s = \"}{ crate::x\"; // crate::y }\n}\n#[cfg(test)]\nmod tests { fn t() { crate::z(); } }\n",
        ));
        assert_eq!(functions(&code), vec![("a".to_owned(), 3)]);
        assert!(paths(&code).is_empty());
    }

    #[test]
    fn use_groups_and_super_resolve_to_modules() {
        let files = [
            src("a", "use crate::{b::{X, Y}, c};"),
            src("b", "fn f() { super::a::g() }"),
            src("c", "use crate::d::Z;"),
        ];
        let e = edges(&files);
        assert_eq!(e["a"], ["b", "c"].map(String::from).into());
        assert_eq!(e["b"], ["a"].map(String::from).into());
        assert_eq!(cycles(&files), vec![vec!["a".to_owned(), "b".to_owned()]]);
    }

    #[test]
    fn signatures_with_generics_and_where_clauses_are_measured() {
        let code = blank("fn f<T: Into<u8>>(x: T) -> Vec<u8>\nwhere T: Copy,\n{\n    vec![x.into()]\n}\nfn g();\n");
        assert_eq!(functions(&code), vec![("f".to_owned(), 5)]);
    }
}
