//! Building the two wasm artefacts, each once per run: the page
//! (`dist/page/`) and the Worker (`crates/worker/build/`).

use crate::tools::Tools;
use crate::{fail, proc, root, step, Result};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Where the built page goes; wrangler.toml serves it as the Worker's assets.
pub const PAGE_DIR: &str = "dist/page";

/// Wasm features rustc 1.95 emits for wasm32-unknown-unknown; wasm-opt must
/// accept them (and emit nothing newer).
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-mutable-globals",
];

/// wasm-opt passes for the page, each kept for the brotli bytes it saves
/// (measured on the page, `-Oz` alone = 100,611 B): `--converge` repeats
/// `-Oz` until it stops shrinking (−641 B); `--low-memory-unused` lets
/// wasm-opt fold constant address offsets into loads and stores (−526 B),
/// which assumes the low 1 KiB of memory is never addressed: rustc puts
/// the 1 MiB stack first (growing down towards 0) and the data above it,
/// so only a stack already 1023 KiB deep could reach it.
/// Measured and not kept: `-Os` (+3.8 KB), `--gufa` (+77 B),
/// `--zero-filled-memory`, `--strip-debug`/`--strip-producers` (±0: wasm-opt
/// writes neither without `-g`).
const PAGE_OPT: &[&str] = &["-Oz", "--converge", "--low-memory-unused"];

/// `cargo xtask build [page|worker|all]`.
pub fn run(args: &[String]) -> Result<()> {
    let tools = crate::tools::ensure_all()?;
    match args.first().map(String::as_str).unwrap_or("all") {
        "page" => page(&tools),
        "worker" => worker(&tools),
        "all" => all(&tools),
        other => Err(fail!("unknown build target `{other}` (page, worker, all)")),
    }
}

/// Build the page and the Worker.
pub fn all(tools: &Tools) -> Result<()> {
    page(tools)?;
    worker(tools)
}

/// Release-build the Leptos page, bind it for the web, shrink it with
/// wasm-opt ([`PAGE_OPT`]), and lay it out with the static files of `www/`.
pub fn page(tools: &Tools) -> Result<()> {
    let t = Instant::now();
    step("building the checkout page (release wasm, first build takes a few minutes)");
    let root = root();
    proc::run(
        Command::new("cargo")
            .args([
                "build",
                "--package",
                "checkout-page",
                "--target",
                "wasm32-unknown-unknown",
                "--release",
            ])
            .current_dir(&root),
    )?;
    let out = root.join(PAGE_DIR);
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    std::fs::create_dir_all(out.join("pkg"))?;
    let wasm = target_dir().join("wasm32-unknown-unknown/release/checkout_page.wasm");
    proc::run(
        Command::new(&tools.wasm_bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(out.join("pkg"))
            .arg(&wasm),
    )?;
    minify(tools, &out.join("pkg/checkout_page.js"))?;
    let bg = out.join("pkg/checkout_page_bg.wasm");
    proc::run(
        Command::new(&tools.wasm_opt)
            .args(PAGE_OPT)
            .args(WASM_FEATURES)
            .arg(&bg)
            .arg("-o")
            .arg(&bg),
    )?;
    copy_dir(&root.join("www"), &out)?;
    minify(tools, &out.join("app.css"))?;
    inline_css(&out)?;
    let hash = hash_assets(&out)?;
    eprintln!("    assets under /{ASSETS_PREFIX}{hash}/ (immutable)");
    eprintln!("    page built in {:.0?} → {PAGE_DIR}/", t.elapsed());
    Ok(())
}

/// The browsers the page's wasm needs anyway (reference types, bulk
/// memory): esbuild writes no newer syntax than they read.
const BROWSERS: &str = "--target=chrome96,safari15";

/// Minifies a page file in place with esbuild (wrangler's pinned copy,
/// already used for the Worker): only whitespace, local names and
/// spellings change (the wasm's import names are object keys, which
/// esbuild keeps). wasm-bindgen's glue 6,665 → 4,988 B brotli, the
/// stylesheet inlined into every HTML answer 1,674 → 1,413 B (issue 12).
fn minify(tools: &Tools, file: &Path) -> Result<()> {
    proc::run(
        Command::new(&tools.esbuild)
            .arg(file)
            .args([
                "--minify",
                BROWSERS,
                "--allow-overwrite",
                "--log-level=warning",
            ])
            .arg(format!("--outfile={}", file.display())),
    )
}

/// Where the content-hashed assets go under the page: the Worker serves
/// every path below it `Cache-Control: immutable`.
pub const ASSETS_PREFIX: &str = "a/";

/// The stylesheet `www/index.html` links, as it links it.
const CSS_LINK: &str = r#"<link rel="stylesheet" href="/app.css">"#;

/// Puts `app.css` into `index.html` as its one `<style>` block, in place of
/// the `<link>`: on a slow network the first paint then needs only the HTML,
/// not a second round trip. The Worker's CSP allows that block by its hash
/// (`checkout::shell::content_security_policy`), so inline scripts stay
/// forbidden. Costs ~1.7 KB brotli per visit that a cached file would not.
fn inline_css(out: &Path) -> Result<()> {
    let index = out.join("index.html");
    let html = std::fs::read_to_string(&index)?;
    if !html.contains(CSS_LINK) {
        return Err(fail!(
            "www/index.html does not link the stylesheet as {CSS_LINK}"
        ));
    }
    let css = std::fs::read_to_string(out.join("app.css"))?;
    if css.contains("</style") {
        return Err(fail!("app.css must not contain </style"));
    }
    let html = html.replacen(CSS_LINK, &format!("<style>{}</style>", css.trim_end()), 1);
    std::fs::write(index, html)?;
    std::fs::remove_file(out.join("app.css"))?;
    Ok(())
}

/// The page's first-load assets, as built (before hashing) and as named in
/// `www/index.html`.
const HASHED: &[&str] = &[
    "boot.js",
    "pkg/checkout_page.js",
    "pkg/checkout_page_bg.wasm",
];

/// Moves the first-load assets into `a/{hash}/`, the hash being over
/// their contents, and points `index.html` at them: a new build gets new
/// URLs, so the old ones can be cached forever and a second visit loads
/// nothing but the HTML. `boot.js` imports the JS relatively and the JS
/// finds the wasm next to itself, so only `index.html` names the folder.
/// Returns the hash.
fn hash_assets(out: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for f in HASHED {
        hasher.update(std::fs::read(out.join(f))?);
    }
    let digest = hasher.finalize();
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let dir = out.join(ASSETS_PREFIX).join(&hash);
    std::fs::create_dir_all(&dir)?;
    let index = out.join("index.html");
    let mut html = std::fs::read_to_string(&index)?;
    for f in HASHED {
        let name = Path::new(f)
            .file_name()
            .ok_or_else(|| fail!("{f} has no file name"))?;
        std::fs::rename(out.join(f), dir.join(name))?;
        let old = format!("\"/{f}\"");
        if !html.contains(&old) {
            return Err(fail!("www/index.html does not reference {old}"));
        }
        html = html.replace(
            &old,
            &format!("\"/{ASSETS_PREFIX}{hash}/{}\"", name.to_string_lossy()),
        );
    }
    std::fs::remove_dir(out.join("pkg"))?;
    std::fs::write(index, html)?;
    Ok(hash)
}

/// The folder of the built page's hashed assets (`dist/page/a/{hash}/`).
pub fn hashed_assets_dir() -> Result<std::path::PathBuf> {
    let base = root().join(PAGE_DIR).join(ASSETS_PREFIX);
    std::fs::read_dir(&base)
        .map_err(|e| fail!("{}: {e} (build the page first)", base.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .ok_or_else(|| fail!("no hashed assets under {}", base.display()))
}

/// Build the Worker with worker-build, pointing it at the pinned local tools
/// (it would otherwise try to download them).
pub fn worker(tools: &Tools) -> Result<()> {
    let t = Instant::now();
    step("building the Worker (worker-build --release)");
    proc::run(
        Command::new(&tools.worker_build)
            .arg("--release")
            .current_dir(root().join("crates/worker"))
            .env("WASM_BINDGEN_BIN", &tools.wasm_bindgen)
            .env("WASM_OPT_BIN", &tools.wasm_opt)
            .env("ESBUILD_BIN", &tools.esbuild)
            .env("CARGO_TARGET_DIR", target_dir()),
    )?;
    eprintln!(
        "    Worker built in {:.0?} → crates/worker/build/",
        t.elapsed()
    );
    Ok(())
}

/// The workspace's cargo target directory.
pub fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&dest)?;
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}
