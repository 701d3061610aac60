//! Size reports: numbers printed, never asserted. The page's first-load
//! transfer (HTML + CSS + JS + wasm, gzip and brotli) and the Worker bundle
//! that `wrangler deploy --dry-run` would upload.

use crate::tools::Tools;
use crate::{build, fail, proc, root, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `cargo xtask size`: build, then report.
pub fn run() -> Result<()> {
    let tools = crate::tools::ensure_all()?;
    build::all(&tools)?;
    dry_run(&tools)?;
    report(&tools)
}

fn bundle_dir() -> PathBuf {
    build::target_dir().join("xtask/bundle")
}

/// `wrangler deploy --dry-run --outdir`: proves the Worker bundles for upload.
pub fn dry_run(tools: &Tools) -> Result<()> {
    let out = bundle_dir();
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    proc::run(
        crate::stack::wrangler_cmd(&tools.wrangler)
            .args(["deploy", "--dry-run", "--outdir"])
            .arg(&out)
            .current_dir(root()),
    )
}

/// Compressed size of a file with a compressor reading stdin (gzip -9, brotli via node's zlib).
fn compressed(path: &Path, algo: &str) -> Result<u64> {
    let script = format!(
        "const z=require('zlib'),f=require('fs');const b=f.readFileSync(process.argv[1]);\
         const o={};process.stdout.write(String(o.length));",
        match algo {
            "gzip" => "z.gzipSync(b,{level:9})",
            _ => "z.brotliCompressSync(b,{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}})",
        }
    );
    let out = proc::output(Command::new("node").args(["-e", &script]).arg(path))?;
    out.trim()
        .parse()
        .map_err(|_| fail!("bad size output `{out}`"))
}

fn row(label: &str, path: &Path) -> Result<(u64, u64, u64)> {
    let raw = std::fs::metadata(path)
        .map_err(|e| fail!("{}: {e}", path.display()))?
        .len();
    let gz = compressed(path, "gzip")?;
    let br = compressed(path, "brotli")?;
    println!("{label:<34} {raw:>9} {gz:>9} {br:>9}");
    Ok((raw, gz, br))
}

/// Print the size tables.
pub fn report(_tools: &Tools) -> Result<()> {
    let page = root().join(build::PAGE_DIR);
    println!();
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "page first load (bytes)", "raw", "gzip", "brotli"
    );
    let mut total = (0, 0, 0);
    let assets = build::hashed_assets_dir()?;
    let files = [
        ("index.html (CSS inlined)", page.join("index.html")),
        ("boot.js", assets.join("boot.js")),
        ("checkout_page.js", assets.join("checkout_page.js")),
        (
            "checkout_page_bg.wasm",
            assets.join("checkout_page_bg.wasm"),
        ),
    ];
    for (f, p) in files {
        let (r, g, b) = row(f, &p)?;
        total = (total.0 + r, total.1 + g, total.2 + b);
    }
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "total", total.0, total.1, total.2
    );
    let bundle = bundle_dir();
    if bundle.exists() {
        println!();
        println!(
            "{:<34} {:>9} {:>9} {:>9}",
            "Worker bundle (bytes)", "raw", "gzip", "brotli"
        );
        let mut files: Vec<_> = std::fs::read_dir(&bundle)?.filter_map(|e| e.ok()).collect();
        files.sort_by_key(|e| e.file_name());
        for e in files {
            if e.file_type()?.is_file() {
                row(&e.file_name().to_string_lossy(), &e.path())?;
            }
        }
    }
    Ok(())
}
