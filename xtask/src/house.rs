//! `cargo xtask house`: the figures issues 13 and 19 ask for, measured the
//! same way every time — the longest non-test functions of `crates/*/src`,
//! the import cycles between the modules of each crate, and the Worker's
//! layers: routes that import routes, SQL outside `store/`, and per flow
//! the call sites into `checkout` and into the store. The run fails (and
//! so does its host test) on a cycle, a route importing a route, or SQL
//! outside the store.
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

/// The crate whose layers `house` checks (`crates/worker`).
const WORKER: &str = "worker";

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
    if let Some((lines, name)) = fns.iter().find(|(_, n)| n.starts_with("worker ")) {
        println!("longest worker function: {lines} lines ({name}; at most 60)");
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
    let worker = crates.get(WORKER).map(Vec::as_slice).unwrap_or_default();
    let routes = route_imports(worker);
    println!("worker routes importing routes: {}", routes.len());
    for (from, to) in &routes {
        println!("  {from} -> {to}");
    }
    let sql = sql_outside_store(worker);
    println!("worker SQL outside store/: {}", sql.len());
    for (module, line) in &sql {
        println!("  {module}: {line}");
    }
    println!("worker flows, call sites into checkout / store:");
    for (flow, (into_checkout, into_store)) in flow_calls(worker) {
        println!("  {flow:24} {into_checkout:3} {into_store:3}");
    }
    if total > 0 || !routes.is_empty() || !sql.is_empty() {
        return Err(crate::fail!(
            "house: {total} cycles, {} route imports, {} SQL literals outside store/",
            routes.len(),
            sql.len()
        ));
    }
    Ok(())
}

/// One source file: its module path, its text with comments, strings
/// and test code blanked out, and its string literals outside comments and
/// test code (with their line numbers).
pub struct Source {
    module: String,
    code: String,
    literals: Vec<(usize, String)>,
}

impl Source {
    /// A file's source, read from its text.
    fn new(module: String, text: &str) -> Self {
        let code = without_tests(&blank(text));
        let literals = literals(text, &code);
        Source {
            module,
            code,
            literals,
        }
    }
}

/// Every crate under `crates/`, and `xtask`, with its source files.
fn crates(root: &Path) -> Result<BTreeMap<String, Vec<Source>>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.join("xtask")];
    for entry in fs::read_dir(root.join("crates"))? {
        dirs.push(entry?.path());
    }
    for dir in dirs {
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
            out.push(Source::new(module_name(rel), &text));
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

/// The string literals of `text` that `code` (its [`blank`]ed,
/// [`without_tests`] form) still shows as `"…"`: a literal's quotes survive
/// blanking, its inside and comments do not, and blanking keeps every
/// character's place, so the original between two surviving quotes is the
/// literal. With the line it starts on.
fn literals(text: &str, code: &str) -> Vec<(usize, String)> {
    let original: Vec<char> = text.chars().collect();
    let blanked: Vec<char> = code.chars().collect();
    if original.len() != blanked.len() {
        return Vec::new();
    }
    let quotes: Vec<usize> = (0..blanked.len()).filter(|&i| blanked[i] == '"').collect();
    quotes
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| {
            let line = 1 + original[..pair[0]].iter().filter(|&&c| c == '\n').count();
            (line, original[pair[0] + 1..pair[1]].iter().collect())
        })
        .collect()
}

/// Whether a string literal is SQL: upper-case keywords in SQL's order —
/// `SELECT … FROM|WHERE`, `INSERT [OR …] INTO`, `UPDATE <table> SET`,
/// `DELETE FROM`. Upper case only, as the Worker writes its SQL, so prose
/// in a message ("select a method", "update the link") is not SQL; a
/// `format!` piece (`"{INSERT} SELECT ?1 … FROM …"`) still is.
pub fn is_sql(literal: &str) -> bool {
    let words: Vec<&str> = literal
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let after = |i: usize, w: &str| words[i + 1..].contains(&w);
    words.iter().enumerate().any(|(i, &w)| match w {
        "SELECT" => after(i, "FROM") || after(i, "WHERE"),
        "INSERT" => match words.get(i + 1) {
            Some(&"INTO") => true,
            Some(&"OR") => words.get(i + 3) == Some(&"INTO"),
            _ => false,
        },
        "UPDATE" => words.get(i + 2) == Some(&"SET"),
        "DELETE" => words.get(i + 1) == Some(&"FROM"),
        _ => false,
    })
}

/// Issue 19: SQL lives in the Worker's `store` modules only. Every SQL
/// literal ([`is_sql`]) of another module, as (module, line).
fn sql_outside_store(files: &[Source]) -> Vec<(String, usize)> {
    files
        .iter()
        .filter(|f| f.module != "store" && !f.module.starts_with("store::"))
        .flat_map(|f| {
            f.literals
                .iter()
                .filter(|(_, l)| is_sql(l))
                .map(|(line, _)| (f.module.clone(), *line))
        })
        .collect()
}

/// Issue 19: a route module (`routes::x`) never imports another route
/// module; what two routes share belongs in a flow or the platform. The
/// router table (`routes`, i.e. `routes/mod.rs`) names them all and is
/// exempt. Every offending edge, as (from, to).
fn route_imports(files: &[Source]) -> Vec<(String, String)> {
    let is_route = |m: &str| m.starts_with("routes::");
    edges(files)
        .into_iter()
        .filter(|(from, _)| is_route(from))
        .flat_map(|(from, to)| {
            to.into_iter()
                .filter(|t| t == "routes" || is_route(t))
                .map(move |t| (from.clone(), t))
        })
        .collect()
}

/// Per module under `flows::`, its call sites into `checkout` and into the
/// Worker's store.
///
/// A static reading: the names a file binds by `use checkout::…` and by
/// `use crate::store::…` (a leaf, `self` as its module's name, or its
/// `as` alias) are that side's. A call site is a path followed by `(` (or a
/// turbofish, then `(`) whose first segment is `checkout`, `crate::store`
/// or such a name, and whose last segment is lower case (a function, not a
/// tuple variant in a pattern). Method calls (`.x(`) and calls through a
/// helper of another flow do not count; each site counts once however
/// often it runs.
fn flow_calls(files: &[Source]) -> BTreeMap<String, (usize, usize)> {
    files
        .iter()
        .filter(|f| f.module.starts_with("flows::"))
        .map(|f| (f.module.clone(), call_sites(&f.code)))
        .collect()
}

/// (into `checkout`, into the store) of one file's code; see [`flow_calls`].
pub fn call_sites(code: &str) -> (usize, usize) {
    let (mut into_checkout, mut into_store) = (BTreeSet::new(), BTreeSet::new());
    let mut body = String::with_capacity(code.len());
    for statement in code.split_inclusive(';') {
        // A `use` after an item's closing brace still starts its statement.
        let trimmed = statement.trim_start_matches(|c: char| c.is_whitespace() || c == '}');
        let is_use = trimmed.starts_with("use ") || trimmed.starts_with("pub use ");
        if !is_use {
            body.push_str(statement);
            continue;
        }
        let path = trimmed
            .trim_start_matches("pub ")
            .trim_start_matches("use ");
        let (root, side) = if path.starts_with("checkout::") {
            ("checkout", &mut into_checkout)
        } else if path.starts_with("crate::store") {
            ("crate", &mut into_store)
        } else {
            body.push_str(&" ".repeat(statement.len()));
            continue;
        };
        side.extend(bindings(path.trim_end_matches(';'), root));
        body.push_str(&" ".repeat(statement.len()));
    }
    let c: Vec<char> = body.chars().collect();
    let (mut to_checkout, mut to_store) = (0, 0);
    let mut i = 0;
    while i < c.len() {
        if !is_ident(c[i]) || (i > 0 && (is_ident(c[i - 1]) || c[i - 1] == '.' || c[i - 1] == ':'))
        {
            i += 1;
            continue;
        }
        let (segments, end) = path_at(&c, i);
        i = end.max(i + 1);
        let mut j = end;
        while c.get(j).is_some_and(|ch| ch.is_whitespace()) {
            j += 1;
        }
        let called = c.get(j) == Some(&'(');
        let last = segments.last().map(String::as_str).unwrap_or("");
        if !called || last.starts_with(|ch: char| ch.is_uppercase()) {
            continue;
        }
        let first = segments[0].as_str();
        if first == "checkout" || into_checkout.contains(first) {
            to_checkout += 1;
        } else if first == "crate" && segments.get(1).map(String::as_str) == Some("store")
            || into_store.contains(first)
        {
            to_store += 1;
        }
    }
    (to_checkout, to_store)
}

/// The names a `use` path binds (`checkout::settle::{self, Report as R}`
/// binds `settle` and `R`), read from its tree.
fn bindings(path: &str, root: &str) -> Vec<String> {
    let c: Vec<char> = path.chars().collect();
    let mut out = Vec::new();
    bind_tree(&c, 0, &[root.to_owned()], &mut out);
    out
}

/// Reads one use tree at `i` under `prefix`; returns where it ends.
fn bind_tree(c: &[char], mut i: usize, prefix: &[String], out: &mut Vec<String>) -> usize {
    let mut segments: Vec<String> = Vec::new();
    loop {
        while c.get(i).is_some_and(|ch| ch.is_whitespace()) {
            i += 1;
        }
        if c.get(i) == Some(&'{') {
            i += 1;
            let mut inner = prefix.to_vec();
            inner.extend(segments.iter().cloned());
            loop {
                i = bind_tree(c, i, &inner, out);
                while c.get(i).is_some_and(|ch| ch.is_whitespace() || *ch == ',') {
                    i += 1;
                }
                if c.get(i) == Some(&'}') || i >= c.len() {
                    return i + 1;
                }
            }
        }
        let ident: String = c[i.min(c.len())..]
            .iter()
            .take_while(|&&ch| is_ident(ch))
            .collect();
        i += ident.chars().count();
        if ident.is_empty() {
            return i;
        }
        if c.get(i) == Some(&':') && c.get(i + 1) == Some(&':') {
            segments.push(ident);
            i += 2;
            continue;
        }
        let mut name = if ident == "self" {
            segments
                .last()
                .or(prefix.last())
                .cloned()
                .unwrap_or_default()
        } else {
            ident
        };
        let rest: String = c[i..].iter().collect();
        let rest = rest.trim_start();
        if let Some(alias) = rest.strip_prefix("as ") {
            let alias: String = alias
                .trim_start()
                .chars()
                .take_while(|&ch| is_ident(ch))
                .collect();
            i = c.len() - alias_rest(rest, &alias);
            name = alias;
        }
        if name != "crate" && name != "checkout" {
            out.push(name);
        }
        return i;
    }
}

/// How many characters are left after `as alias` in `rest`.
fn alias_rest(rest: &str, alias: &str) -> usize {
    let after_as = rest["as ".len()..].trim_start();
    after_as[alias.len()..].chars().count()
}

/// The path (`a::b::c`, turbofish skipped) starting at `i`: its segments
/// and where it ends.
fn path_at(c: &[char], mut i: usize) -> (Vec<String>, usize) {
    let mut segments = Vec::new();
    loop {
        let ident: String = c[i..].iter().take_while(|&&ch| is_ident(ch)).collect();
        i += ident.chars().count();
        segments.push(ident);
        if c.get(i) == Some(&':') && c.get(i + 1) == Some(&':') {
            i += 2;
            if c.get(i) == Some(&'<') {
                // A turbofish: skip to its closing `>`.
                let mut depth = 0;
                while let Some(&ch) = c.get(i) {
                    i += 1;
                    match ch {
                        '<' => depth += 1,
                        '>' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                return (segments, i);
            }
            if !c.get(i).is_some_and(|&ch| is_ident(ch)) {
                return (segments, i);
            }
        } else {
            return (segments, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(module: &str, text: &str) -> Source {
        Source::new(module.into(), text)
    }

    fn worker() -> Vec<Source> {
        crates(&root()).unwrap().remove(WORKER).unwrap()
    }

    /// Issue 19: the Worker's layers hold — no route imports a route, no
    /// SQL outside `store/`.
    #[test]
    fn worker_layers_hold() {
        let files = worker();
        assert!(files.iter().any(|f| f.module.starts_with("routes::")));
        assert_eq!(route_imports(&files), Vec::<(String, String)>::new());
        assert_eq!(sql_outside_store(&files), Vec::<(String, usize)>::new());
        assert!(
            files
                .iter()
                .filter(|f| f.module.starts_with("store"))
                .any(|f| f.literals.iter().any(|(_, l)| is_sql(l))),
            "the rule must see the store's own SQL"
        );
    }

    /// Issue 19: no Worker function is over 60 lines.
    #[test]
    fn worker_functions_fit_in_sixty_lines() {
        let long: Vec<(String, usize)> = worker()
            .iter()
            .flat_map(|f| {
                functions(&f.code)
                    .into_iter()
                    .map(move |(name, lines)| (format!("{}::{name}", f.module), lines))
            })
            .filter(|(_, lines)| *lines > 60)
            .collect();
        assert_eq!(long, Vec::new());
    }

    #[test]
    fn a_route_importing_a_route_is_found() {
        let files = [
            src("routes", "use crate::routes::a; mod a; mod b;"),
            src("routes::a", "use crate::flows::x; fn f() { super::b::g() }"),
            src("routes::b", "use crate::platform::http::json;"),
            src("flows::x", "use crate::store::s;"),
            src("platform::http", ""),
            src("store::s", ""),
        ];
        assert_eq!(
            route_imports(&files),
            vec![("routes::a".to_owned(), "routes::b".to_owned())]
        );
    }

    #[test]
    fn sql_is_upper_case_keywords_in_order() {
        for sql in [
            "SELECT state FROM orders WHERE charge_code = ?1",
            "SELECT 0 WHERE 0",
            "{INSERT} SELECT ?1, ?2 FROM orders o",
            "INSERT INTO refunds (a) VALUES (?1)",
            "INSERT OR IGNORE INTO links (a) VALUES (?1)",
            "UPDATE orders SET state = ?2",
            "DELETE FROM idempotency_keys WHERE created_at <= ?1",
        ] {
            assert!(is_sql(sql), "{sql}");
        }
        for prose in [
            "select a method",
            "update the link from the page",
            "SELECT",
            "INSERT",
            "the UPDATE of a link",
            "DELETE the key",
            "orders",
        ] {
            assert!(!is_sql(prose), "{prose}");
        }
    }

    #[test]
    fn sql_outside_the_store_is_found_in_code_only() {
        let files = [
            src(
                "flows::a",
                "fn f() {\n    // \"SELECT x FROM t\"\n    g(\"DELETE FROM t\");\n}\n#[cfg(test)]\nmod tests { const Q: &str = \"UPDATE t SET a = 1\"; }\n",
            ),
            src("store::b", "const Q: &str = r#\"SELECT a FROM \"t\"\"#;"),
            src("routes::c", "fn h() { x(r\"INSERT INTO t VALUES (1)\") }"),
        ];
        assert_eq!(
            sql_outside_store(&files),
            vec![("flows::a".to_owned(), 3), ("routes::c".to_owned(), 1)]
        );
    }

    #[test]
    fn flow_call_sites_count_calls_through_imported_names() {
        let code = without_tests(&blank(
            "use checkout::settle::{self, Report as R};\n\
             use checkout::state;\n\
             use crate::store::attempts::{self, get_order};\n\
             use crate::platform::log::now_secs;\n\
             fn f() {\n\
                 let r = R::of_query(&q);\n\
                 match settle::evidence(&e, &r) { settle::Evidence::Apply(s) => {} }\n\
                 let o = get_order(db, c);\n\
                 attempts::transition::<u8>(db);\n\
                 crate::store::refunds::refunds(db);\n\
                 checkout::link::link_id(t);\n\
                 o.view(); now_secs(); state::Transition::Applied;\n\
             }\n",
        ));
        assert_eq!(call_sites(&code), (3, 3));
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
