//! Building the wasm artefacts, each once per run: the checkout page
//! (`dist/page/`), the merchant console (`dist/page/console/`, its own
//! bundle: the page's first load does not carry it) and the Worker
//! (`crates/worker/build/`).

use crate::tools::Tools;
use crate::{fail, proc, root, step, Result};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Where the built page goes; wrangler.toml serves it as the Worker's assets.
pub const PAGE_DIR: &str = "dist/page";

/// One Leptos app the build makes: its crate, its static files and where
/// it goes among the Worker's assets.
pub struct App {
    /// What the steps print.
    pub label: &'static str,
    /// The cargo package.
    package: &'static str,
    /// Its library name: wasm-bindgen names the glue and the wasm after it.
    pub lib: &'static str,
    /// Its static files (`index.html`, `app.css`), relative to the root.
    www: &'static str,
    /// Where it goes, relative to the root.
    pub dir: &'static str,
    /// The URL of `dir` (the Worker serves the assets at their paths).
    url: &'static str,
}

/// The shopper's checkout page, served at `/c/{token}`.
pub const PAGE: App = App {
    label: "checkout page",
    package: "checkout-page",
    lib: "checkout_page",
    www: "www",
    dir: PAGE_DIR,
    url: "/",
};

/// The merchant console, served at `/console`; inside the page's folder
/// (the one assets directory), built after it. Its `boot.js` is the page's,
/// importing its own glue.
pub const CONSOLE: App = App {
    label: "merchant console",
    package: "merchant-console",
    lib: "merchant_console",
    www: "crates/console/www",
    dir: "dist/page/console",
    url: "/console/",
};

/// The console's folder name inside [`PAGE_DIR`], kept when the page alone
/// is rebuilt.
const CONSOLE_SUBDIR: &str = "console";

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
/// `--one-caller-inline-max-function-size=20`: binaryen inlines every
/// function that has one caller, whatever its size; keeping those over 20
/// bytes out of line leaves the raw size about the same (±0.3 KB) but the
/// wasm compresses better: −3.9 KB brotli (94,550 → 90,572 B; 10 gave
/// 90,504, 40 91,388, 100 92,530, 0 91,628), −3.1 KB on a page with a
/// different view structure, so not a fluke of one layout.
/// `--always-inline-max-function-size=6` (binaryen's default 2): −377 B
/// (−159 B on that other layout) and 7 KB less raw wasm to compile; 4 gave
/// −321 B, 8 +167 B, 12 +797 B.
/// Then `--flatten --rereloop -Oz`: the control flow rebuilt by binaryen's
/// relooper and shrunk again, −429 B (76,711 → 76,282; −277 B on the
/// page before its one-signal rework) for 6 s more of wasm-opt.
/// Measured and not kept: `-Os` (+3.8 KB), `--gufa` (+77 B),
/// `--zero-filled-memory`, `--strip-debug` (±0: wasm-opt writes no debug
/// info without `-g`), `-O3` first (+174 B),
/// `--merge-similar-functions` (+202 B), `--ignore-implicit-traps` (−43 B)
/// and `--traps-never-happen` (−194 B: not worth assuming a Rust panic can
/// never happen).
const PAGE_OPT: &[&str] = &[
    "-Oz",
    "--converge",
    "--low-memory-unused",
    "--one-caller-inline-max-function-size=20",
    "--always-inline-max-function-size=6",
    "--flatten",
    "--rereloop",
    "-Oz",
];

/// wasm-opt passes for the Worker (worker-build's own pass is off, see
/// crates/worker/Cargo.toml), each kept for the gzip bytes it saves on
/// the Worker's wasm (README, "The Worker's size", has the table): `-O`,
/// worker-build's own choice, beats `-Oz` here (−0.7 KB; `-Oz --converge`
/// +0.9 KB more), the opposite of the page; `--low-memory-unused` and
/// `--one-caller-inline-max-function-size=20`, for the page's reasons
/// (see [`PAGE_OPT`]), −4.1 KB together.
const WORKER_OPT: &[&str] = &[
    "-O",
    "--low-memory-unused",
    "--one-caller-inline-max-function-size=20",
];

/// The Worker's wasm with its name section, kept beside the target for
/// twiggy (`cargo xtask size`): the shipped copy has no names, and twiggy
/// without them can only say "code[1234]".
pub const WORKER_NAMED_WASM: &str = "xtask/worker-named.wasm";

/// Exports wasm-opt removes before [`PAGE_OPT`] runs, so the code only they
/// reach goes too. Leptos always enables server_fn's `browser` feature,
/// which links wasm-streams, whose `#[wasm_bindgen]` classes (readable and
/// writable stream adapters for server functions the page does not have)
/// are exported whatever the page uses: −1.5 KB brotli of wasm. Their JS
/// classes go in [`minify_js`]; nothing else in the glue calls them.
const UNUSED_EXPORTS: &str = "remove-exports@*intounderlying*";

/// `cargo xtask build [page|console|worker|all]`.
pub fn run(args: &[String]) -> Result<()> {
    let tools = crate::tools::ensure_all()?;
    match args.first().map(String::as_str).unwrap_or("all") {
        "page" => app(&tools, &PAGE),
        "console" => app(&tools, &CONSOLE),
        "worker" => worker(&tools),
        "all" => all(&tools),
        other => Err(fail!(
            "unknown build target `{other}` (page, console, worker, all)"
        )),
    }
}

/// Build the page, the console and the Worker.
pub fn all(tools: &Tools) -> Result<()> {
    app(tools, &PAGE)?;
    app(tools, &CONSOLE)?;
    worker(tools)
}

/// Empties `out` for a new build, but for the console's folder when `out`
/// is the page's (the page alone may be rebuilt; the console stays).
fn clean(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    let keep = (out == root().join(PAGE_DIR)).then_some(CONSOLE_SUBDIR);
    for entry in std::fs::read_dir(out)? {
        let entry = entry?;
        if keep.is_some_and(|k| entry.file_name() == k) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Release-build a Leptos app, bind it for the web, shrink it with
/// wasm-opt ([`PAGE_OPT`]), and lay it out with its static files,
/// minified ([`minify`]).
pub fn app(tools: &Tools, app: &App) -> Result<()> {
    let t = Instant::now();
    step(&format!(
        "building the {} (release wasm, first build takes a few minutes)",
        app.label
    ));
    let root = root();
    proc::run(
        Command::new("cargo")
            .args([
                "build",
                "--package",
                app.package,
                "--target",
                "wasm32-unknown-unknown",
                "--release",
            ])
            .current_dir(&root),
    )?;
    let out = root.join(app.dir);
    clean(&out)?;
    std::fs::create_dir_all(out.join("pkg"))?;
    let lib = app.lib;
    let wasm = target_dir().join(format!("wasm32-unknown-unknown/release/{lib}.wasm"));
    proc::run(
        Command::new(&tools.wasm_bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(out.join("pkg"))
            .arg(&wasm),
    )?;
    let bg = out.join(format!("pkg/{lib}_bg.wasm"));
    proc::run(
        Command::new(&tools.wasm_opt)
            .arg("--remove-exports")
            .arg(format!("--pass-arg={UNUSED_EXPORTS}"))
            .args(PAGE_OPT)
            .args(WASM_FEATURES)
            .arg(&bg)
            .arg("-o")
            .arg(&bg),
    )?;
    minify_names(tools, &out.join("pkg"), lib)?;
    copy_dir(&root.join(app.www), &out)?;
    if app.www != PAGE.www {
        // The page's boot.js, importing this app's glue.
        let boot = std::fs::read_to_string(root.join(PAGE.www).join("boot.js"))?;
        let import = format!("'./{}.js'", PAGE.lib);
        if !boot.contains(&import) {
            return Err(fail!("www/boot.js does not import {import}"));
        }
        std::fs::write(
            out.join("boot.js"),
            boot.replace(&import, &format!("'./{lib}.js'")),
        )?;
    }
    minify(tools, &out, lib)?;
    inline_css(&out, app.url)?;
    let hash = hash_assets(&out, app)?;
    eprintln!(
        "    assets under {}{ASSETS_PREFIX}{hash}/ (immutable)",
        app.url
    );
    eprintln!(
        "    {} built in {:.0?} → {}/",
        app.label,
        t.elapsed(),
        app.dir
    );
    Ok(())
}

/// wasm-bindgen names each import and export after its Rust path and a
/// 16-hex-digit hash (`__wbg_createElement_de4a31ed2fb252be`), written once
/// in the wasm and once in the glue, where brotli cannot share them.
/// wasm-opt's `--minify-imports-and-exports-and-modules` renames them to
/// one or two letters and prints the map; the glue is rewritten to match
/// ([`rename_in_glue`]): −1.8 KB brotli of wasm, −1.5 KB of JS.
fn minify_names(tools: &Tools, pkg: &Path, lib: &str) -> Result<()> {
    let bg = pkg.join(format!("{lib}_bg.wasm"));
    let map = proc::output(
        Command::new(&tools.wasm_opt)
            .arg("--minify-imports-and-exports-and-modules")
            // rustc's `producers` and `target_features` custom sections:
            // browsers ignore both (−194 B brotli).
            .args(["--strip-producers", "--strip-target-features"])
            .args(WASM_FEATURES)
            .arg(&bg)
            .arg("-o")
            .arg(&bg),
    )?;
    let map: serde_json::Value =
        serde_json::from_str(&map).map_err(|e| fail!("wasm-opt's name map is not JSON: {e}"))?;
    let glue = pkg.join(format!("{lib}.js"));
    let js = rename_in_glue(&std::fs::read_to_string(&glue)?, &map, lib)?;
    std::fs::write(glue, js)?;
    Ok(())
}

/// The import module wasm-bindgen's glue provides (after the app's
/// library name), and the one name wasm-opt's module minifying merges
/// every import module into.
fn glue_module(lib: &str) -> (String, &'static str) {
    (format!("\"./{lib}_bg.js\": import0"), "a: import0")
}

/// Applies wasm-opt's name map (`{"imports": [[module, old, new]…],
/// "exports": [[old, new]…]}`) to the glue: each import is one key of the
/// import object (`old: function…`, exactly once), each export is read as
/// `wasm.old`. Fails, rather than write a page that cannot start, if the
/// glue does not have the expected shape.
fn rename_in_glue(js: &str, map: &serde_json::Value, lib: &str) -> Result<String> {
    let names = |key: &str| -> Result<Vec<Vec<String>>> {
        map[key]
            .as_array()
            .ok_or_else(|| fail!("wasm-opt's name map has no `{key}`"))?
            .iter()
            .map(|entry| {
                entry
                    .as_array()
                    .map(|e| {
                        e.iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect()
                    })
                    .ok_or_else(|| fail!("bad `{key}` entry in wasm-opt's name map: {entry}"))
            })
            .collect()
    };
    let (module, merged) = glue_module(lib);
    if js.matches(&module).count() != 1 {
        return Err(fail!("the glue does not import from `{module}` once"));
    }
    let mut js = js.replacen(&module, merged, 1);
    for import in names("imports")? {
        let [_, old, new] = &import[..] else {
            return Err(fail!("bad import in wasm-opt's name map: {import:?}"));
        };
        let key = format!(" {old}: ");
        if js.matches(&key).count() != 1 {
            return Err(fail!("the glue does not define the import `{old}` once"));
        }
        js = js.replacen(&key, &format!(" {new}: "), 1);
    }
    for export in names("exports")? {
        let [old, new] = &export[..] else {
            return Err(fail!("bad export in wasm-opt's name map: {export:?}"));
        };
        js = replace_member(&js, &format!("wasm.{old}"), &format!("wasm.{new}"));
    }
    Ok(js)
}

/// Replaces `from` where it is a whole member access (not followed by
/// more of an identifier: `wasm.start` but not `wasm.start2`).
fn replace_member(js: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(js.len());
    let mut rest = js;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        let whole = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The browsers the page's wasm needs anyway (reference types, bulk
/// memory): esbuild writes no newer syntax than they read.
const BROWSERS: &str = "--target=chrome96,safari15";

/// Minifies the page's JS and CSS with esbuild (wrangler's pinned copy,
/// already used for the Worker), for [`BROWSERS`]:
/// the wasm-bindgen glue 6,778 → 4,983 B brotli, 4,709 without the stream
/// classes ([`minify_js`]); `boot.js` 293 → 197; the inlined CSS 258 B
/// less in `index.html`.
fn minify(tools: &Tools, out: &Path, lib: &str) -> Result<()> {
    minify_js(tools, &out.join("pkg"), lib)?;
    for (file, extra) in [("boot.js", &["--format=esm"][..]), ("app.css", &[])] {
        let path = out.join(file);
        proc::run(
            Command::new(&tools.esbuild)
                .arg(&path)
                .args([
                    "--minify",
                    "--charset=utf8",
                    BROWSERS,
                    "--log-level=warning",
                ])
                .args(extra)
                .arg("--allow-overwrite")
                .arg(format!("--outfile={}", path.display())),
        )?;
    }
    Ok(())
}

/// The glue, minified and cut to what `boot.js` imports (its default
/// export, `init`): bundled from an entry that re-exports only that, so
/// esbuild drops the other exports, among them the wasm-streams classes
/// whose wasm exports [`UNUSED_EXPORTS`] removed, once
/// [`drop_stream_classes`] has cut the statements that keep them alive.
fn minify_js(tools: &Tools, pkg: &Path, lib: &str) -> Result<()> {
    let glue = pkg.join(format!("{lib}.js"));
    std::fs::write(&glue, drop_stream_classes(&std::fs::read_to_string(&glue)?))?;
    let entry = pkg.join("entry.js");
    std::fs::write(&entry, format!("export {{ default }} from './{lib}.js';\n"))?;
    let min = pkg.join(format!("{lib}.min.js"));
    proc::run(
        Command::new(&tools.esbuild)
            .arg(&entry)
            .args([
                "--bundle",
                "--minify",
                "--format=esm",
                "--charset=utf8",
                BROWSERS,
                "--log-level=warning",
            ])
            .arg(format!("--outfile={}", min.display())),
    )?;
    std::fs::remove_file(entry)?;
    let js = std::fs::read_to_string(&min)?;
    // Member names survive minifying: none of the classes' may be left.
    if js.contains("intounderlying") || !js.contains("import.meta.url") {
        return Err(fail!("{}: unexpected minified glue", min.display()));
    }
    std::fs::rename(min, glue)?;
    Ok(())
}

/// Removes the top-level statements of the glue that use the wasm-streams
/// classes (`IntoUnderlying…`) without being them: the `Symbol.dispose`
/// alias set on each class and each class's `FinalizationRegistry`
/// (a statement over several lines, up to its `;`). esbuild keeps both as
/// possible side effects, and with them the classes.
fn drop_stream_classes(js: &str) -> String {
    let mut out = String::with_capacity(js.len());
    let mut in_registry = false;
    for line in js.split_inclusive('\n') {
        let dropped = in_registry
            || line.starts_with("if (Symbol.dispose) IntoUnderlying")
            || line.starts_with("const IntoUnderlying");
        if dropped {
            in_registry = !line.trim_end().ends_with(';');
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Where the content-hashed assets go under the page: the Worker serves
/// every path below it `Cache-Control: immutable`.
pub const ASSETS_PREFIX: &str = "a/";

/// The stylesheet an app's `index.html` links, as it links it (`url`: the
/// app's folder's URL).
fn css_link(url: &str) -> String {
    format!(r#"<link rel="stylesheet" href="{url}app.css">"#)
}

/// Puts `app.css` into `index.html` as its one `<style>` block, in place of
/// the `<link>`: on a slow network the first paint then needs only the HTML,
/// not a second round trip. The Worker's CSP allows that block by its hash
/// (`checkout::shell::content_security_policy`), so inline scripts stay
/// forbidden. Costs ~1.7 KB brotli per visit that a cached file would not.
fn inline_css(out: &Path, url: &str) -> Result<()> {
    let index = out.join("index.html");
    let html = std::fs::read_to_string(&index)?;
    let link = css_link(url);
    if !html.contains(&link) {
        return Err(fail!(
            "{} does not link the stylesheet as {link}",
            index.display()
        ));
    }
    let css = std::fs::read_to_string(out.join("app.css"))?;
    if css.contains("</style") {
        return Err(fail!("app.css must not contain </style"));
    }
    let html = html.replacen(&link, &format!("<style>{}</style>", css.trim_end()), 1);
    std::fs::write(index, html)?;
    std::fs::remove_file(out.join("app.css"))?;
    Ok(())
}

/// An app's first-load assets, as built (before hashing) and as its
/// `index.html` names them (below the app's URL).
fn hashed(lib: &str) -> [String; 3] {
    [
        "boot.js".to_owned(),
        format!("pkg/{lib}.js"),
        format!("pkg/{lib}_bg.wasm"),
    ]
}

/// Moves the first-load assets into `a/{hash}/`, the hash being over
/// their contents, and points `index.html` at them: a new build gets new
/// URLs, so the old ones can be cached forever and a second visit loads
/// nothing but the HTML. `boot.js` imports the JS relatively and the JS
/// finds the wasm next to itself, so only `index.html` names the folder.
/// Returns the hash.
fn hash_assets(out: &Path, app: &App) -> Result<String> {
    use sha2::{Digest, Sha256};
    let files = hashed(app.lib);
    let mut hasher = Sha256::new();
    for f in &files {
        hasher.update(std::fs::read(out.join(f))?);
    }
    let digest = hasher.finalize();
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let dir = out.join(ASSETS_PREFIX).join(&hash);
    std::fs::create_dir_all(&dir)?;
    let index = out.join("index.html");
    let mut html = std::fs::read_to_string(&index)?;
    let url = app.url;
    for f in &files {
        let name = Path::new(f)
            .file_name()
            .ok_or_else(|| fail!("{f} has no file name"))?;
        std::fs::rename(out.join(f), dir.join(name))?;
        let old = format!("\"{url}{f}\"");
        if !html.contains(&old) {
            return Err(fail!("{}/index.html does not reference {old}", app.www));
        }
        html = html.replace(
            &old,
            &format!("\"{url}{ASSETS_PREFIX}{hash}/{}\"", name.to_string_lossy()),
        );
    }
    std::fs::remove_dir(out.join("pkg"))?;
    std::fs::write(index, html)?;
    Ok(hash)
}

/// The folder of a built app's hashed assets (`dist/page/a/{hash}/`).
pub fn hashed_assets_dir(app: &App) -> Result<std::path::PathBuf> {
    let base = root().join(app.dir).join(ASSETS_PREFIX);
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
    shrink_worker(tools)?;
    eprintln!(
        "    Worker built in {:.0?} → crates/worker/build/",
        t.elapsed()
    );
    Ok(())
}

/// Run [`WORKER_OPT`] over worker-build's unoptimised wasm, keeping the
/// names (`--debuginfo`) in [`WORKER_NAMED_WASM`], then ship that wasm
/// without its name section (`--strip-debug`). A panic's message and
/// location still reach the log (they are strings in the data, not
/// names); only a trap's wasm backtrace shows function indices instead of
/// names, which the named copy translates back.
fn shrink_worker(tools: &Tools) -> Result<()> {
    let wasm = root().join("crates/worker/build/index_bg.wasm");
    let named = target_dir().join(WORKER_NAMED_WASM);
    std::fs::create_dir_all(named.parent().expect("a file has a parent"))?;
    let opt = |args: &[&str], from: &Path, to: &Path| {
        proc::run(
            Command::new(&tools.wasm_opt)
                .args(args)
                .args(WASM_FEATURES)
                // wasm-bindgen's catch wrappers, as worker-build enables.
                .arg("--enable-exception-handling")
                .arg(from)
                .arg("-o")
                .arg(to),
        )
    };
    opt(&[WORKER_OPT, &["--debuginfo"]].concat(), &wasm, &named)?;
    opt(&["--strip-debug"], &named, &wasm)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape wasm-bindgen 0.2.130 writes, cut down.
    const GLUE: &str = r#"function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_createElement_de4a31ed2fb252be: function(arg0, arg1) {
            const ret = arg0.createElement(arg1);
            return ret;
        },
        __wbindgen_init_externref_table: function() {
            const table = wasm.__wbindgen_externrefs;
        },
    };
    return {
        __proto__: null,
        "./checkout_page_bg.js": import0,
    };
}
export function start() {
    wasm.start();
    wasm.start2();
}
"#;

    #[test]
    fn the_stream_classes_lose_what_keeps_them() {
        let glue = "export class IntoUnderlyingSink {
    free() {
        wasm.__wbg_intounderlyingsink_free(ptr, 0);
    }
}
if (Symbol.dispose) IntoUnderlyingSink.prototype[Symbol.dispose] = IntoUnderlyingSink.prototype.free;
export class Other {}
if (Symbol.dispose) Other.prototype[Symbol.dispose] = Other.prototype.free;
const CLOSURE_DTORS = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(state => state.dtor(state.a, state.b));
const IntoUnderlyingSinkFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_intounderlyingsink_free(ptr, 1));
function after() {}
";
        let kept = drop_stream_classes(glue);
        assert_eq!(
            kept,
            "export class IntoUnderlyingSink {
    free() {
        wasm.__wbg_intounderlyingsink_free(ptr, 0);
    }
}
export class Other {}
if (Symbol.dispose) Other.prototype[Symbol.dispose] = Other.prototype.free;
const CLOSURE_DTORS = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(state => state.dtor(state.a, state.b));
function after() {}
"
        );
    }

    fn map() -> serde_json::Value {
        serde_json::json!({
            "imports": [
                ["./checkout_page_bg.js", "__wbg_createElement_de4a31ed2fb252be", "B"],
                ["./checkout_page_bg.js", "__wbindgen_init_externref_table", "$a"],
            ],
            "exports": [["__wbindgen_externrefs", "Nb"], ["start", "zb"], ["memory", "xb"]],
        })
    }

    #[test]
    fn the_glue_follows_the_name_map() {
        let js = rename_in_glue(GLUE, &map(), "checkout_page").unwrap();
        assert!(js.contains("        B: function(arg0, arg1) {"), "{js}");
        assert!(js.contains("        $a: function() {"), "{js}");
        assert!(js.contains("const table = wasm.Nb;"), "{js}");
        assert!(js.contains("        a: import0,"), "{js}");
        // Whole member names only: `start2` is another export.
        assert!(js.contains("wasm.zb();\n    wasm.start2();"), "{js}");
        assert!(
            !js.contains("de4a31ed2fb252be") && !js.contains("checkout_page_bg.js"),
            "{js}"
        );
    }

    #[test]
    fn a_glue_of_another_shape_is_refused() {
        // An import the glue does not define, or defines twice.
        let mut missing = map();
        missing["imports"][0][1] = "__wbg_other_0000000000000000".into();
        assert!(rename_in_glue(GLUE, &missing, "checkout_page").is_err());
        let twice = GLUE.replace(
            "        __proto__: null,\n        __wbg",
            "        __wbg_createElement_de4a31ed2fb252be: null,\n        __wbg",
        );
        assert!(rename_in_glue(&twice, &map(), "checkout_page").is_err());
        // Another import module.
        let module = GLUE.replace("./checkout_page_bg.js", "./other_bg.js");
        assert!(rename_in_glue(&module, &map(), "checkout_page").is_err());
        // Not a map at all.
        assert!(rename_in_glue(GLUE, &serde_json::json!({"imports": 1}), "checkout_page").is_err());
    }
}
