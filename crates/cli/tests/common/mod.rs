//! Test helpers: run the built `soushou` binary, write its input files, an
//! independent MD5 (coreutils `md5sum`) to forge signatures by hand, and
//! the real `soushou-sandbox` binary on a free port.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The sandbox's demo merchant (public test data from the gateway document).
pub const KEY: &str = "98SDKFUO432HNODS098EEE07U9DUOIUE";
/// Its `busiCode`.
pub const BUSI_CODE: &str = "01000001";
/// Its `BUSI_ID`.
pub const BUSI_ID: &str = "0010000001";

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
    /// stdout as bytes (decrypt prints arbitrary plaintext).
    pub raw: Vec<u8>,
}

impl Run {
    /// The first stdout line.
    pub fn first_line(&self) -> &str {
        self.stdout.lines().next().unwrap_or("")
    }
}

/// `soushou` with a clean environment: no key variable, no proxy (only
/// 127.0.0.1 is ever contacted).
pub fn soushou() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_soushou"));
    for var in [
        "SOUSHOU_KEY",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        c.env_remove(var);
    }
    c
}

/// Runs `cmd` with `stdin` (empty when `None`) and collects everything.
pub fn run_cmd(cmd: &mut Command, stdin: Option<&[u8]>) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn soushou");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        input.write_all(bytes).expect("write stdin");
    }
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait");
    Run {
        code: status.code().expect("exit code (not a signal)"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        raw: stdout,
    }
}

/// `soushou ARGS` with nothing on stdin.
pub fn run(args: &[&str]) -> Run {
    run_cmd(soushou().args(args), None)
}

/// A scratch directory under cargo's per-target tmp dir, removed on drop.
pub struct Dir(PathBuf);

impl Dir {
    /// A fresh, empty directory.
    pub fn new() -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "soushou-cli-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create scratch dir");
        Dir(p)
    }

    /// Writes `bytes` to `name`; returns the path as a string argument.
    pub fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write scratch file");
        p.to_str().expect("UTF-8 path").to_owned()
    }

    /// A path in the directory that does not exist.
    pub fn missing(&self, name: &str) -> String {
        self.0.join(name).to_str().expect("UTF-8 path").to_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The gateway's rule written out independently of the crate: remove the
/// six ASCII characters of Java's `\s`.
pub fn java_strip(body: &[u8]) -> Vec<u8> {
    body.iter()
        .copied()
        .filter(|b| !b" \t\n\x0B\x0C\r".contains(b))
        .collect()
}

/// `md5_hex(ts + key + bytes) + ":" + sent_ts`, hashed by coreutils
/// `md5sum` (not by the code under test): forges signatures made under
/// any rule, right or wrong.
pub fn forge(hashed_ts: u64, key: &str, bytes: &[u8], sent_ts: u64) -> String {
    let mut input = format!("{hashed_ts}{key}").into_bytes();
    input.extend_from_slice(bytes);
    let out = run_cmd(&mut Command::new("md5sum"), Some(&input));
    assert_eq!(out.code, 0, "md5sum failed: {}", out.stderr);
    let hex = out.stdout.split_whitespace().next().expect("md5sum output");
    assert_eq!(hex.len(), 32, "md5sum printed {:?}", out.stdout);
    format!("{hex}:{sent_ts}")
}

/// Builds the sandbox once per test binary (a no-op when `cargo test
/// --workspace` already did) and returns its path: a binary of another
/// package has no `CARGO_BIN_EXE_*`, so cargo itself is asked where it is.
fn sandbox_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--package",
                "soushou-sandbox",
                "--bin",
                "soushou-sandbox",
                "--message-format=json",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build -p soushou-sandbox");
        assert!(
            out.status.success(),
            "cargo build -p soushou-sandbox failed"
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["target"]["name"] == "soushou-sandbox")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported the soushou-sandbox executable")
    })
}

/// A running `soushou-sandbox` (demo merchant), killed on drop.
pub struct Sandbox {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Sandbox {
    /// Starts the real binary on `127.0.0.1:0` and reads the port from
    /// its first stdout line, as the sandbox's own tests and xtask do.
    pub fn start() -> Sandbox {
        let mut child = Command::new(sandbox_bin())
            .args(["--listen", "127.0.0.1:0", "--quiet"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn soushou-sandbox");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        out.read_line(&mut first).expect("read the first line");
        // Keep draining stdout so the sandbox never writes to a closed pipe.
        std::thread::spawn(move || out.lines().map_while(Result::ok).for_each(drop));
        let url = first
            .trim()
            .strip_prefix("soushou-sandbox listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Sandbox { child, url }
    }

    /// The gateway base URL.
    pub fn gateway(&self) -> String {
        format!("{}/openGateway/openService/", self.url)
    }

    /// The sandbox's log of the last gateway request (control API).
    pub fn last_request(&self) -> serde_json::Value {
        let text = reqwest::blocking::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
            .get(format!("{}/sandbox/requests", self.url))
            .send()
            .expect("GET /sandbox/requests")
            .text()
            .expect("body");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        v.as_array()
            .and_then(|a| a.last())
            .cloned()
            .expect("a logged request")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
