//! The running product on one machine: the sandbox gateway (or a real one)
//! and the Worker under `wrangler dev` with local D1, wired together.
//! Used by `demo`, by `test` and by `cargo xtask stack` for development.

use crate::proc::{self, Service};
use crate::wallets::Wallets;
use crate::{fail, http, root, step, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Which gateway the Worker talks to.
pub enum Gateway {
    /// Start the bundled sandbox on a free port.
    Sandbox,
    /// Use a gateway that is already running (e.g. SOUSHOU's UAT).
    External {
        /// Base URL ending in `/openGateway/openService/`.
        url: String,
        /// `busiCode`.
        busi_code: String,
        /// `BUSI_ID`.
        busi_id: String,
        /// The merchant key.
        key: String,
        /// Whether to send `encrypt=3DES`.
        encrypt: bool,
    },
}

/// What runs the Worker.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// `wrangler dev --local`: what developers and the tests use. Requests
    /// pass wrangler's ProxyWorker (a second workerd) before the Worker's.
    WranglerDev,
    /// The Worker's workerd under Miniflare from Node
    /// (`tests/bench/workerd.mjs`), the bindings wrangler derives from
    /// wrangler.toml, no ProxyWorker: what the Worker itself costs, for
    /// `cargo xtask bench`. No cron trigger endpoint.
    Workerd,
}

impl Runner {
    /// How the bench labels figures measured through this runner.
    pub fn label(self) -> &'static str {
        match self {
            Runner::WranglerDev => "through wrangler dev (ProxyWorker in front)",
            Runner::Workerd => "direct to the Worker's workerd (Miniflare, no ProxyWorker)",
        }
    }
}

/// How to start the stack.
pub struct Options {
    /// The gateway.
    pub gateway: Gateway,
    /// The Worker's port (free one if `None`).
    pub port: Option<u16>,
    /// The Worker's public origin as the gateway must see it (NODIFY_URL).
    pub public_url: Option<String>,
    /// Short reconcile delays and gateway timeout, so tests run fast.
    pub fast: bool,
    /// Copy the services' output to our stderr.
    pub echo: bool,
    /// A name for the run folder under target/xtask/.
    pub name: &'static str,
    /// Extra command-line flags of the sandbox (e.g. a longer request log).
    pub sandbox_args: &'static [&'static str],
    /// Configure WeChat and Alipay sign-in against the sandbox (generated
    /// apps and keys); off, the Worker runs without those settings.
    pub wallets: bool,
    /// Where the Worker sends webhooks (`None`: a free 127.0.0.1 port the
    /// tests' receiver listens on, `E2E_WEBHOOK_URL`).
    pub webhook_url: Option<String>,
    /// Settings that replace the test tuning's (e.g. the outage run's
    /// retry schedule).
    pub settings: Vec<(&'static str, String)>,
    /// The epay app's `pid` and key (`None`: pid `1001` and a throwaway key).
    pub epay: Option<(String, String)>,
}

/// The sandbox's default merchant (public test data printed by the sandbox itself).
pub const SANDBOX_BUSI_CODE: &str = "01000001";
/// The sandbox's default BUSI_ID.
pub const SANDBOX_BUSI_ID: &str = "0010000001";
/// The sandbox's default merchant key.
pub const SANDBOX_KEY: &str = "98SDKFUO432HNODS098EEE07U9DUOIUE";

/// A running stack; dropping it stops every process it started.
pub struct Stack {
    // Field order is drop order: the Worker stops before the gateway.
    worker: Service,
    /// How the Worker was started (to start it again on the same D1).
    launch: Launch,
    /// How many times [`Stack::restart_worker_if_dead`] started it again.
    restarts: u32,
    sandbox: Option<Service>,
    /// The Worker's origin, e.g. `http://127.0.0.1:8787`.
    pub worker_url: String,
    /// The sandbox's origin when it runs.
    pub sandbox_url: Option<String>,
    /// The throwaway merchant-API bearer token.
    pub admin_token: String,
    /// The throwaway link secret.
    pub link_secret: String,
    /// The throwaway webhook secret (`whsec_…`).
    pub webhook_secret: String,
    /// Where the Worker sends webhooks.
    pub webhook_url: String,
    /// `busiCode` in use.
    pub busi_code: String,
    /// `BUSI_ID` in use.
    pub busi_id: String,
    /// The merchant key in use.
    pub merchant_key: String,
    /// The epay app's `pid` (`EPAY_PID`).
    pub epay_pid: String,
    /// The epay app's key (`EPAY_KEY`).
    pub epay_key: String,
    /// Logs and local state of this run.
    pub run_dir: PathBuf,
    /// The simulated wallet apps, when sign-in is configured.
    pub wallets: Option<Wallets>,
}

fn random_bytes(n: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf)
}

fn random_hex(bytes: usize) -> Result<String> {
    Ok(random_bytes(bytes)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Standard base64 (with padding), for the `whsec_` secret.
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(v >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Stack {
    /// Start the gateway (if sandbox) and the Worker under `wrangler dev`;
    /// return once both answer. The page and the Worker must have been built.
    pub fn start(opts: Options) -> Result<Stack> {
        Stack::start_on(opts, Runner::WranglerDev)
    }

    /// [`Stack::start`] with the Worker run by `runner`.
    pub fn start_on(opts: Options, runner: Runner) -> Result<Stack> {
        let root = root();
        let run_dir = crate::build::target_dir().join("xtask").join(format!(
            "{}-{}",
            opts.name,
            std::process::id()
        ));
        if run_dir.exists() {
            std::fs::remove_dir_all(&run_dir)?;
        }
        std::fs::create_dir_all(&run_dir)?;

        let wallets = match (&opts.gateway, opts.wallets) {
            (Gateway::Sandbox, true) => {
                step("generating throwaway WeChat and Alipay apps (RSA keys)");
                Some(Wallets::generate(&run_dir, random_hex)?)
            }
            _ => None,
        };
        let (sandbox, sandbox_url, gw_url, busi_code, busi_id, key, encrypt) = match opts.gateway {
            Gateway::Sandbox => {
                step("starting the sandbox gateway");
                proc::run(
                    Command::new("cargo")
                        .args(["build", "--quiet", "--package", "soushou-sandbox"])
                        .current_dir(&root),
                )?;
                let bin = crate::build::target_dir().join("debug/soushou-sandbox");
                let interval = if opts.fast { "200" } else { "1000" };
                let mut svc = Service::start(
                    "sandbox",
                    Command::new(bin)
                        .args([
                            "--listen",
                            "127.0.0.1:0",
                            "--notify-interval-ms",
                            interval,
                            "--notify-attempts",
                            "30",
                        ])
                        .args(opts.sandbox_args)
                        .args(wallets.iter().flat_map(Wallets::sandbox_args)),
                    &run_dir.join("sandbox.log"),
                    opts.echo,
                )?;
                let url = svc.wait_for_line(Duration::from_secs(30), |l| {
                    l.strip_prefix("soushou-sandbox listening on ")
                        .map(|u| u.trim().to_string())
                })?;
                let gw = format!("{url}/openGateway/openService/");
                (
                    Some(svc),
                    Some(url),
                    gw,
                    SANDBOX_BUSI_CODE.to_string(),
                    SANDBOX_BUSI_ID.to_string(),
                    SANDBOX_KEY.to_string(),
                    true,
                )
            }
            Gateway::External {
                url,
                busi_code,
                busi_id,
                key,
                encrypt,
            } => (None, None, url, busi_code, busi_id, key, encrypt),
        };

        let port = match opts.port {
            Some(p) => p,
            None => proc::free_port()?,
        };
        let worker_url = format!("http://127.0.0.1:{port}");
        let public_url = opts.public_url.unwrap_or_else(|| worker_url.clone());
        let admin_token = random_hex(24)?;
        let link_secret = random_hex(32)?;
        // Standard Webhooks secret: whsec_ + base64 of 32 random bytes.
        let webhook_secret = format!("whsec_{}", base64_of(&random_bytes(32)?));
        let (epay_pid, epay_key) = match opts.epay.clone() {
            Some(pair) => pair,
            None => ("1001".to_owned(), random_hex(16)?),
        };
        let webhook_url = match &opts.webhook_url {
            Some(url) => url.clone(),
            None => format!("http://127.0.0.1:{}/webhook", proc::free_port()?),
        };

        // Secrets go to a generated .dev.vars-style file of this run only.
        let dev_vars = run_dir.join(".dev.vars");
        std::fs::write(
            &dev_vars,
            format!(
                "# generated by cargo xtask: throwaway local secrets\n\
                 SOUSHOU_MERCHANT_KEY=\"{key}\"\nLINK_SECRET=\"{link_secret}\"\nADMIN_TOKEN=\"{admin_token}\"\n\
                 WEBHOOK_SECRET=\"{webhook_secret}\"\nEPAY_KEY=\"{epay_key}\"\n{}",
                wallets.as_ref().map(Wallets::dev_vars).unwrap_or_default()
            ),
        )?;
        let persist = run_dir.join("state");
        let wrangler = root.join("node_modules/.bin/wrangler");
        step("applying D1 migrations (local)");
        proc::run(
            wrangler_cmd(&wrangler)
                .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
                .arg(&persist)
                .current_dir(&root),
        )?;

        let mut vars = vec![
            ("SOUSHOU_GATEWAY_URL", gw_url),
            ("SOUSHOU_BUSI_CODE", busi_code.clone()),
            ("SOUSHOU_BUSI_ID", busi_id.clone()),
            (
                "SOUSHOU_ENCRYPT",
                if encrypt {
                    "3DES".into()
                } else {
                    String::new()
                },
            ),
            ("PUBLIC_BASE_URL", public_url),
            ("MERCHANT_WEBHOOK_URL", webhook_url.clone()),
            ("EPAY_PID", epay_pid.clone()),
        ];
        if let (Some(w), Some(url)) = (&wallets, &sandbox_url) {
            vars.extend(w.vars(url));
        }
        if opts.fast {
            vars.push(("RECONCILE_AFTER_SECS", "2".into()));
            vars.push(("RECONCILE_MIN_INTERVAL_SECS", "1".into()));
            vars.push(("GATEWAY_TIMEOUT_MS", "3000".into()));
            // A POS charge polls for 3 s instead of a minute; pending refunds
            // are retried after 2 s instead of a minute.
            vars.push(("POS_GATEWAY_TIMEOUT_MS", "5000".into()));
            vars.push(("POS_POLL_INTERVAL_MS", "300".into()));
            vars.push(("POS_POLL_FOR_MS", "3000".into()));
            vars.push(("REFUND_RETRY_AFTER_SECS", "2".into()));
            // Webhook retries after 1, 2, 4, 4 s, then the dead-letter queue.
            vars.push(("WEBHOOK_RETRY_BASE_SECS", "1".into()));
            vars.push(("WEBHOOK_RETRY_FACTOR", "2".into()));
            vars.push(("WEBHOOK_RETRY_CAP_SECS", "4".into()));
            vars.push(("WEBHOOK_MAX_ATTEMPTS", "5".into()));
            // The current Beijing day's statement is built (and revised)
            // by every cron run, so tests see statements without waiting
            // for midnight.
            vars.push(("STATEMENT_DELAY_SECS", "-86400".into()));
            // Sign-in links last 3 s, console sessions idle after 4 s and
            // end after 8 s (tests/tests/staff.rs waits them out).
            vars.push(("SIGNIN_LINK_SECS", "3".into()));
            vars.push(("SESSION_IDLE_SECS", "4".into()));
            vars.push(("SESSION_MAX_SECS", "8".into()));
        }
        vars.retain(|(k, _)| opts.settings.iter().all(|(s, _)| s != k));
        vars.extend(opts.settings.iter().cloned());
        let launch = Launch {
            runner,
            port,
            persist,
            dev_vars,
            vars,
            echo: opts.echo,
        };
        let mut worker = launch.start(&run_dir, "wrangler.log")?;
        http::wait_ok(&format!("{worker_url}/healthz"), Duration::from_secs(60))?;
        worker.check_alive()?;

        std::fs::write(run_dir.join("worker.pgid"), worker.pid().to_string())?;
        Ok(Stack {
            worker,
            launch,
            restarts: 0,
            sandbox,
            worker_url,
            sandbox_url,
            admin_token,
            link_secret,
            webhook_secret,
            webhook_url,
            busi_code,
            busi_id,
            merchant_key: key,
            epay_pid,
            epay_key,
            run_dir,
            wallets,
        })
    }

    /// The environment the end-to-end and browser tests read.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("E2E_WORKER_URL", self.worker_url.clone()),
            ("E2E_ADMIN_TOKEN", self.admin_token.clone()),
            ("E2E_LINK_SECRET", self.link_secret.clone()),
            ("E2E_MERCHANT_KEY", self.merchant_key.clone()),
            ("E2E_BUSI_CODE", self.busi_code.clone()),
            ("E2E_BUSI_ID", self.busi_id.clone()),
            ("E2E_RUN_DIR", self.run_dir.display().to_string()),
            ("E2E_WEBHOOK_URL", self.webhook_url.clone()),
            ("E2E_WEBHOOK_SECRET", self.webhook_secret.clone()),
            ("E2E_EPAY_PID", self.epay_pid.clone()),
            ("E2E_EPAY_KEY", self.epay_key.clone()),
            // The Worker's process group (wrangler or node, and their
            // workerd processes): the bench reads its CPU time.
            ("E2E_WORKER_PGID", self.worker.pid().to_string()),
        ];
        if let Some(s) = &self.sandbox_url {
            env.push(("E2E_SANDBOX_URL", s.clone()));
        }
        if let Some(w) = &self.wallets {
            env.push(("E2E_WECHAT_APPID", w.wechat_app_id.clone()));
            env.push(("E2E_ALIPAY_APP_ID", w.alipay_app_id.clone()));
        }
        env
    }

    /// Starts the Worker again on the same port and local D1 if it has
    /// died (a crash run kills it with SIGKILL); its new process group id
    /// goes to `worker.pgid` in the run folder, where the crash driver
    /// reads whom to kill. `Ok(true)` when it was restarted.
    pub fn restart_worker_if_dead(&mut self) -> Result<bool> {
        if self.worker.check_alive().is_ok() {
            return Ok(false);
        }
        // Whatever of its group is left goes too (the old Service's drop).
        self.restarts += 1;
        let log = format!("wrangler-restart-{}.log", self.restarts);
        self.worker = self.launch.start(&self.run_dir, &log)?;
        std::fs::write(
            self.run_dir.join("worker.pgid"),
            self.worker.pid().to_string(),
        )?;
        Ok(true)
    }

    /// Fail if either service has died.
    pub fn check_alive(&mut self) -> Result<()> {
        self.worker.check_alive()?;
        if let Some(s) = &mut self.sandbox {
            s.check_alive()?;
        }
        Ok(())
    }
}

/// How the Worker is started: kept by the [`Stack`] so a crash run can
/// start it again on the same port and the same local D1 (`--persist-to`).
struct Launch {
    runner: Runner,
    port: u16,
    persist: PathBuf,
    dev_vars: PathBuf,
    vars: Vec<(&'static str, String)>,
    echo: bool,
}

impl Launch {
    /// Starts the Worker, its output in `run_dir/log`; returns once it is ready.
    fn start(&self, run_dir: &std::path::Path, log: &str) -> Result<Service> {
        let root = root();
        let wrangler = root.join("node_modules/.bin/wrangler");
        match self.runner {
            Runner::WranglerDev => {
                step(&format!(
                    "starting the Worker under wrangler dev on 127.0.0.1:{}",
                    self.port
                ));
                // A port picked free can be taken before wrangler binds it
                // (its inspector port here, its internal ports in workerd):
                // start again on fresh ones rather than fail the run.
                let mut tries = 1;
                loop {
                    let mut cmd = wrangler_cmd(&wrangler);
                    cmd.args([
                        "dev",
                        "--local",
                        "--ip",
                        "127.0.0.1",
                        "--port",
                        &self.port.to_string(),
                    ])
                    .args(["--inspector-port", &proc::free_port()?.to_string()])
                    .arg("--persist-to")
                    .arg(&self.persist)
                    .arg("--env-file")
                    .arg(&self.dev_vars)
                    .args(["--test-scheduled", "--show-interactive-dev-session=false"])
                    .current_dir(&root);
                    for (k, v) in &self.vars {
                        cmd.arg("--var").arg(format!("{k}:{v}"));
                    }
                    match start_worker("wrangler", &mut cmd, run_dir, log, self.echo, "Ready on") {
                        Ok(worker) => break Ok(worker),
                        Err(e) if tries < 3 && port_taken(&run_dir.join(log)) => {
                            eprintln!("    wrangler dev lost a port race ({e}); starting it again");
                            tries += 1;
                        }
                        Err(e) => break Err(e),
                    }
                }
            }
            Runner::Workerd => {
                step(&format!(
                    "starting the Worker's workerd directly (Miniflare) on 127.0.0.1:{}",
                    self.port
                ));
                // The same bindings as the .dev.vars and --var flags above,
                // in one JSON object (this run's folder only).
                let secrets = std::fs::read_to_string(&self.dev_vars)?;
                let mut bindings = serde_json::Map::new();
                for (k, v) in dotenv_pairs(&secrets) {
                    bindings.insert(k.to_owned(), v.into());
                }
                for (k, v) in &self.vars {
                    bindings.insert((*k).to_owned(), v.clone().into());
                }
                let file = run_dir.join("bindings.json");
                std::fs::write(&file, serde_json::Value::Object(bindings).to_string())?;
                let mut node = Command::new("node");
                quiet_wrangler(&mut node)
                    .arg("tests/bench/workerd.mjs")
                    .arg(self.port.to_string())
                    .arg(&self.persist)
                    .arg(&file)
                    .current_dir(&root);
                start_worker(
                    "workerd",
                    &mut node,
                    run_dir,
                    log,
                    self.echo,
                    "workerd ready on",
                )
            }
        }
    }
}

/// Builds the e2e crate's program `bin` (a driver such as `chaos` or
/// `bench`, run from `target/debug/{bin}`), then starts a quiet stack with
/// test tuning named after it, the Worker run by `runner`, its webhooks
/// sent to `webhook_url` (`None`: a free port nobody listens on), with
/// `settings` over the test tuning. The page and the Worker must have
/// been built.
pub fn for_driver_on(
    bin: &'static str,
    sandbox_args: &'static [&'static str],
    runner: Runner,
    webhook_url: Option<String>,
    settings: Vec<(&'static str, String)>,
) -> Result<Stack> {
    step(&format!("building the {bin} driver"));
    proc::run(
        Command::new("cargo")
            .args(["build", "--quiet", "-p", "e2e", "--bin", bin])
            .current_dir(root()),
    )?;
    Stack::start_on(
        Options {
            gateway: Gateway::Sandbox,
            port: None,
            public_url: None,
            fast: true,
            echo: false,
            name: bin,
            sandbox_args,
            // Drivers send made-up openids and buyer ids straight to /api/pay.
            wallets: false,
            webhook_url,
            settings,
            epay: None,
        },
        runner,
    )
}

/// wrangler with metrics and the cf-fetch off: tests must not reach out.
pub fn wrangler_cmd(wrangler: &std::path::Path) -> Command {
    let mut cmd = Command::new(wrangler);
    quiet_wrangler(&mut cmd);
    cmd
}

/// The environment that keeps wrangler (as a CLI or as a library) local and quiet.
fn quiet_wrangler(cmd: &mut Command) -> &mut Command {
    cmd.env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("CI", "true")
        .env("NO_COLOR", "1")
}

/// The `NAME="value"` lines of the .dev.vars file [`Stack::start_on`]
/// writes (values never contain quotes: hex, base64 and PEM-less keys).
fn dotenv_pairs(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim(), v.trim().trim_matches('"')))
        })
        .collect()
}

/// Start the Worker's process (logging to the run's `log`: `wrangler.log`,
/// the name the e2e tests read whichever runner wrote it, except after a
/// crash run's restart) and wait for `ready`.
fn start_worker(
    name: &str,
    cmd: &mut Command,
    run_dir: &std::path::Path,
    log: &str,
    echo: bool,
    ready: &str,
) -> Result<Service> {
    let log = run_dir.join(log);
    let mut worker = Service::start(name, cmd, &log, echo)?;
    worker
        .wait_for_line(Duration::from_secs(120), |l| {
            l.contains(ready).then_some(())
        })
        .map_err(|e| fail!("{e}; see {}", log.display()))?;
    Ok(worker)
}

/// Whether the Worker's last start failed because a port it was to listen
/// on was taken (workerd's `bind` error in its `log`).
fn port_taken(log: &std::path::Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|log| log.contains("Address already in use"))
}

/// Wait for Ctrl-C (or SIGTERM).
pub fn wait_for_ctrl_c() -> Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| fail!("cannot install the Ctrl-C handler: {e}"))?;
    let _ = rx.recv();
    eprintln!("\nstopping…");
    Ok(())
}

/// `cargo xtask stack`: build, start with test tuning, print the env, wait.
pub fn run_foreground() -> Result<()> {
    let tools = crate::tools::ensure_all()?;
    crate::build::all(&tools)?;
    let stack = Stack::start(Options {
        gateway: Gateway::Sandbox,
        port: None,
        public_url: None,
        fast: true,
        echo: true,
        name: "stack",
        sandbox_args: &[],
        wallets: true,
        webhook_url: None,
        settings: Vec::new(),
        epay: None,
    })?;
    println!("# stack is up; paste into a shell to run `cargo test -p e2e` or the browser tests:");
    for (k, v) in stack.env() {
        println!("export {k}={v}");
    }
    wait_for_ctrl_c()
}

#[cfg(test)]
mod tests {
    use super::{base64_of, dotenv_pairs, port_taken};

    #[test]
    fn dotenv_pairs_reads_the_generated_dev_vars() {
        let text = "# comment\nA=\"1\"\nB_C=\"whsec_ab+/=\"\n\n";
        assert_eq!(dotenv_pairs(text), vec![("A", "1"), ("B_C", "whsec_ab+/=")]);
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (input, want) in cases {
            assert_eq!(base64_of(input), want);
        }
        assert_eq!(base64_of(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn a_lost_port_race_is_told_from_other_failures() {
        let dir = std::env::temp_dir().join(format!("xtask-port-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("wrangler.log");
        assert!(!port_taken(&log), "no log yet");
        std::fs::write(&log, "*** Fatal uncaught kj::Exception: kj/async-io-unix.c++:945: failed: ::bind(sockfd, &addr.generic, addrlen): Address already in use; toString() = 127.0.0.1:36499\n").unwrap();
        assert!(port_taken(&log));
        std::fs::write(&log, "X [ERROR] Build failed with 1 error\n").unwrap();
        assert!(!port_taken(&log));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
