//! Pinned tools, installed only when missing. A fresh Debian machine with
//! Rust, Node 20 and Python gets everything the build and the tests need;
//! a machine that already has them skips every install.

use crate::{fail, proc, root, step, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// worker-build, pinned (0.8.x matches the `worker` crate).
const WORKER_BUILD_VERSION: &str = "0.8.7";
/// cargo-fuzz, pinned; only `cargo xtask fuzz` needs it.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// twiggy, pinned; only the Worker's size breakdown (`cargo xtask size`,
/// `cargo xtask bench`) needs it.
const TWIGGY_VERSION: &str = "0.8.0";
/// Debian packages the browser tests need.
const APT_PACKAGES: &[&str] = &["chromium", "chromium-driver", "fonts-wqy-microhei"];

/// Paths of the tools the build and the tests call.
pub struct Tools {
    /// `wasm-bindgen` CLI, the exact version of the `wasm-bindgen` crate in Cargo.lock.
    pub wasm_bindgen: PathBuf,
    /// `worker-build` CLI.
    pub worker_build: PathBuf,
    /// `wasm-opt` from npm binaryen (never Debian's binaryen 108: it breaks the wasm).
    pub wasm_opt: PathBuf,
    /// `esbuild` from npm (wrangler's own copy).
    pub esbuild: PathBuf,
    /// `wrangler` from npm.
    pub wrangler: PathBuf,
    /// The system Chromium.
    pub chromium: PathBuf,
}

fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin").join(name)
}

fn node_bin(name: &str) -> PathBuf {
    root().join("node_modules/.bin").join(name)
}

/// The `wasm-bindgen` version Cargo.lock pins; the CLI must equal it exactly.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err(fail!("wasm-bindgen is not in Cargo.lock"))
}

fn version_of(bin: &PathBuf) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn timed(what: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    step(&format!("installing {what}"));
    let t = Instant::now();
    f()?;
    eprintln!("    installed {what} in {:.0?}", t.elapsed());
    Ok(())
}

/// Install whatever is missing; return the tool paths.
pub fn ensure_all() -> Result<Tools> {
    ensure_wasm_target()?;
    let wb_version = locked_wasm_bindgen_version()?;
    let wasm_bindgen = cargo_bin("wasm-bindgen");
    if !version_of(&wasm_bindgen).is_some_and(|v| v.ends_with(&format!(" {wb_version}"))) {
        // Not --locked: one of its locked dependencies is gone from the registry.
        timed(
            &format!("wasm-bindgen-cli {wb_version} (takes ~6 min)"),
            || {
                proc::run(Command::new("cargo").args([
                    "install",
                    "wasm-bindgen-cli",
                    "--version",
                    &wb_version,
                    "--force",
                ]))
            },
        )?;
    }
    let worker_build = cargo_bin("worker-build");
    if !version_of(&worker_build).is_some_and(|v| v.contains(WORKER_BUILD_VERSION)) {
        timed(&format!("worker-build {WORKER_BUILD_VERSION}"), || {
            proc::run(Command::new("cargo").args([
                "install",
                "worker-build",
                "--version",
                WORKER_BUILD_VERSION,
                "--locked",
                "--force",
            ]))
        })?;
    }
    ensure_npm()?;
    patch_wrangler_proxy()?;
    let chromium = ensure_chromium()?;
    Ok(Tools {
        wasm_bindgen,
        worker_build,
        wasm_opt: node_bin("wasm-opt"),
        esbuild: node_bin("esbuild"),
        wrangler: node_bin("wrangler"),
        chromium,
    })
}

/// cargo-fuzz for `cargo xtask fuzz`, installed `--locked` when missing.
/// Kept out of [`ensure_all`]: the demo and the tests do not fuzz.
pub fn ensure_cargo_fuzz() -> Result<()> {
    ensure_cargo_tool("cargo-fuzz", CARGO_FUZZ_VERSION).map(|_| ())
}

/// twiggy for the Worker's wasm by crate and by function, installed
/// `--locked` when missing. Kept out of [`ensure_all`]: the tests do not
/// need it. Returns its path.
pub fn ensure_twiggy() -> Result<PathBuf> {
    ensure_cargo_tool("twiggy", TWIGGY_VERSION)
}

/// `cargo install NAME --version VERSION --locked` unless `NAME --version`
/// already ends with that version.
fn ensure_cargo_tool(name: &str, version: &str) -> Result<PathBuf> {
    let bin = cargo_bin(name);
    if version_of(&bin).is_some_and(|v| v.ends_with(&format!(" {version}"))) {
        return Ok(bin);
    }
    timed(&format!("{name} {version}"), || {
        proc::run(Command::new("cargo").args([
            "install",
            name,
            "--version",
            version,
            "--locked",
            "--force",
        ]))
    })?;
    Ok(bin)
}

fn ensure_wasm_target() -> Result<()> {
    let installed = proc::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        timed("the wasm32-unknown-unknown target", || {
            proc::run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
        })?;
    }
    Ok(())
}

/// `npm ci` from package-lock.json when node_modules does not match it.
fn ensure_npm() -> Result<()> {
    let lock = std::fs::read(root().join("package-lock.json"))?;
    let stamp = root().join("node_modules/.xtask-lock");
    if std::fs::read(&stamp).ok().as_deref() == Some(&lock[..]) && node_bin("wrangler").exists() {
        return Ok(());
    }
    timed(
        "npm packages from package-lock.json (wrangler, binaryen, playwright-core)",
        || {
            proc::run(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(root()),
            )
        },
    )?;
    std::fs::write(stamp, lock)?;
    Ok(())
}

/// The dev server's ProxyWorker (wrangler 4.86.0), as npm installs it.
const PROXY_WORKER: &str = "node_modules/wrangler/wrangler-dist/ProxyWorker.js";
/// Its one line that forwards a request to the Worker.
const PROXY_FETCH: &str =
    "      void fetch(userWorkerUrl, new Request(request, { headers })).then(async (res) => {\n";
/// What forwards it instead.
const PROXY_FETCH_RETRIED: &str =
    "      void fetchUserWorkerRetried(userWorkerUrl, request, headers).then(async (res) => {\n";
/// The function that does, appended to the file.
const PROXY_RETRY_FN: &str = r#"
// Added by `cargo xtask` (xtask/src/tools.rs), cloudflare/workers-sdk#14641:
// the ProxyWorker's pooled connection to the Worker and the Worker's server
// both drop an idle keep-alive connection after 5 s, and a request written
// at that moment fails before the Worker reads it. Unpatched, a POST then
// answers 503 "Your worker restarted mid-request" (it never did) and a GET
// waits until some other request arrives. Send it again on a new connection;
// the body is buffered so a POST can be.
async function fetchUserWorkerRetried(url, request, headers) {
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, new Request(request, { headers, body }));
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
    }
  }
}
"#;

/// Patches the dev server's ProxyWorker so a request that meets a closing
/// keep-alive connection is sent again instead of failing or hanging
/// ([`PROXY_RETRY_FN`]). Only the local dev hop in front of the Worker
/// changes; the Worker, workerd and D1 are untouched. Idempotent, and it
/// fails loudly if a new wrangler no longer has the line it replaces.
fn patch_wrangler_proxy() -> Result<()> {
    let path = root().join(PROXY_WORKER);
    let text = std::fs::read_to_string(&path)?;
    if text.contains(PROXY_FETCH_RETRIED) {
        return Ok(());
    }
    if !text.contains(PROXY_FETCH) {
        return Err(fail!(
            "{PROXY_WORKER} no longer forwards requests the way wrangler 4.86.0 did; \
             check whether workers-sdk#14641 is fixed in it and drop or redo the patch"
        ));
    }
    let patched = text.replacen(PROXY_FETCH, PROXY_FETCH_RETRIED, 1) + PROXY_RETRY_FN;
    std::fs::write(&path, patched)?;
    step("patched wrangler's dev ProxyWorker to resend requests cut by a closing keep-alive connection (workers-sdk#14641)");
    Ok(())
}

fn ensure_chromium() -> Result<PathBuf> {
    let chromium = PathBuf::from("/usr/bin/chromium");
    if chromium.exists() && PathBuf::from("/usr/bin/chromedriver").exists() {
        return Ok(chromium);
    }
    let is_root = proc::output(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0");
    if !is_root {
        return Err(fail!(
            "Chromium is missing: run `sudo apt-get install -y {}`",
            APT_PACKAGES.join(" ")
        ));
    }
    timed("Chromium from Debian (apt-get)", || {
        proc::run(Command::new("apt-get").args(["update", "-qq"]))?;
        proc::run(
            Command::new("apt-get")
                .args(["install", "-y", "-qq"])
                .args(APT_PACKAGES)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    })?;
    Ok(chromium)
}
