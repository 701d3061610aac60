//! Issue 19: the repository is self-contained — a clone on its own, with no
//! `../shared` beside it, builds and passes every test. What the project
//! needs from the shared design folder is vendored under `spec/`.
//!
//! Read from the working tree (not `git ls-files`, so it also holds in an
//! exported tree), skipping what `.gitignore` keeps out of a commit
//! (`target/`, `node_modules/`, build outputs). Two checks on every
//! non-Markdown text file (Markdown is prose and may name the design
//! folder): no path into the shared folder, and every `include_str!` /
//! `include_bytes!` / `CARGO_MANIFEST_DIR`-relative path literal in Rust
//! resolves inside the repository.

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::root;

/// Paths into the shared design folder, spelled so that this file does not
/// contain them itself.
const SHARED: [&str; 2] = [concat!("..", "/shared"), concat!("/work", "/shared")];

/// Folders that are never committed (build outputs, installed packages).
const SKIPPED_DIRS: [&str; 9] = [
    ".git",
    "target",
    "node_modules",
    ".wrangler",
    "build",
    "dist",
    "artifacts",
    "corpus",
    "coverage",
];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("folder entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_ref()) {
                walk(&path, out);
            }
        } else if !name.ends_with(".md") && !name.ends_with(".log") && name != ".dev.vars" {
            out.push(path);
        }
    }
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The string literals that follow each `marker` in `code` (up to the
/// closing parenthesis of the macro call).
fn literals_after<'a>(code: &'a str, marker: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices(marker) {
        let rest = &code[at + marker.len()..];
        let call = &rest[..rest.find(')').unwrap_or(rest.len())];
        let mut quoted = call.split('"').skip(1).step_by(2);
        if let Some(lit) = quoted.next() {
            found.push(lit);
        }
    }
    found
}

/// What is wrong with one file at `path` (under `root`) holding `text`.
fn problems(root: &Path, path: &Path, text: &str) -> Vec<String> {
    let rel = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let mut out: Vec<String> = SHARED
        .iter()
        .filter(|needle| text.contains(*needle))
        .map(|needle| format!("{rel}: names `{needle}`, outside the repository"))
        .collect();
    if path.extension().is_some_and(|e| e == "rs") {
        let dir = path.parent().unwrap_or(root);
        let crate_dir = path
            .ancestors()
            .find(|a| a.join("Cargo.toml").is_file())
            .unwrap_or(root);
        let relative = ["include_str!(", "include_bytes!("]
            .iter()
            .flat_map(|m| literals_after(text, m))
            .map(|lit| (lit, dir.join(lit)));
        let manifest = literals_after(text, "env!(\"CARGO_MANIFEST_DIR\"),")
            .into_iter()
            .map(|lit| (lit, crate_dir.join(lit.trim_start_matches('/'))));
        for (lit, target) in relative.chain(manifest) {
            if !normalise(&target).starts_with(root) {
                out.push(format!("{rel}: `{lit}` resolves outside the repository"));
            }
        }
    }
    out
}

#[test]
fn no_file_reads_outside_the_repository() {
    let root = root();
    let mut files = Vec::new();
    walk(&root, &mut files);
    assert!(files.len() > 100, "only {} files read", files.len());
    // This file spells what it looks for in its samples.
    let this = root.join(file!());
    assert!(files.contains(&this), "{} not found", this.display());
    let found: Vec<String> = files
        .iter()
        .filter(|f| **f != this)
        .filter_map(|f| fs::read_to_string(f).ok().map(|text| (f, text)))
        .flat_map(|(f, text)| problems(&root, f, &text))
        .collect();
    assert!(
        found.is_empty(),
        "vendor what is needed under spec/ instead:\n{}",
        found.join("\n")
    );
}

/// The checks catch what they are for: the vectors test as it was, a
/// relative include that climbs out, an absolute path; and let the
/// vendored copy, paths inside the crate and prose naming the design
/// folder through.
#[test]
fn the_checks_catch_paths_out_and_let_paths_in_through() {
    let root = Path::new("/repo");
    let file = root.join("crates/soushou/tests/vectors.rs");
    let check = |text: &str| problems(root, &file, text);
    let old = format!(
        "let path = concat!(\n    env!(\"CARGO_MANIFEST_DIR\"),\n    \"/../../{}/vectors/wire.json\"\n);",
        SHARED[0]
    );
    assert_eq!(check(&old).len(), 2, "{:?}", check(&old));
    assert_eq!(
        check("include_str!(\"../../../../elsewhere/wire.json\")").len(),
        1
    );
    assert_eq!(check(&format!("fs::read(\"{}/x\")", SHARED[1])).len(), 1);
    assert_eq!(
        check("include_str!(\"../../../spec/vectors/wire.json\")"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/tests/fixtures\")"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("//! The API (`shared/design/API.md`), the team's contract."),
        Vec::<String>::new()
    );
}
