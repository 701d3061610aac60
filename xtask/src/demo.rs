//! `cargo xtask demo`: from a fresh clone to a payable checkout link.

use crate::stack::{Gateway, Stack};
use crate::{fail, http, Result};

/// Command-line options of `demo`.
pub struct Options {
    gateway: Option<String>,
    busi_code: Option<String>,
    busi_id: Option<String>,
    key_file: Option<String>,
    encrypt: bool,
    port: Option<u16>,
    public_url: Option<String>,
    /// Skip the build: use the page and Worker already built (the test harness
    /// builds once and then runs the demo's start-up path).
    prebuilt: bool,
    /// Where the Worker sends webhooks; `None`: the demo's own receiver.
    webhook_url: Option<String>,
    /// `--epay-pid`.
    epay_pid: Option<String>,
    /// `--epay-key-file`.
    epay_key_file: Option<String>,
}

impl Options {
    /// Parse `demo`'s flags.
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            gateway: None,
            busi_code: None,
            busi_id: None,
            key_file: None,
            encrypt: true,
            port: None,
            public_url: None,
            prebuilt: false,
            webhook_url: None,
            epay_pid: None,
            epay_key_file: None,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| fail!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--gateway" => o.gateway = Some(value()?),
                "--busi-code" => o.busi_code = Some(value()?),
                "--busi-id" => o.busi_id = Some(value()?),
                "--merchant-key-file" => o.key_file = Some(value()?),
                "--no-encrypt" => o.encrypt = false,
                "--port" => {
                    o.port = Some(
                        value()?
                            .parse()
                            .map_err(|_| fail!("--port takes a number"))?,
                    )
                }
                "--public-url" => o.public_url = Some(value()?),
                "--prebuilt" => o.prebuilt = true,
                "--webhook-url" => o.webhook_url = Some(value()?),
                "--epay-pid" => o.epay_pid = Some(value()?),
                "--epay-key-file" => o.epay_key_file = Some(value()?),
                other => return Err(fail!("unknown demo option `{other}`")),
            }
        }
        Ok(o)
    }

    /// The epay app of `--epay-pid PID --epay-key-file FILE` (both or
    /// neither); `None`: the stack makes one up.
    fn epay(&self) -> Result<Option<(String, String)>> {
        match (&self.epay_pid, &self.epay_key_file) {
            (None, None) => Ok(None),
            (Some(pid), Some(file)) => {
                let key = std::fs::read_to_string(file)
                    .map_err(|e| fail!("cannot read {file}: {e}"))?
                    .trim()
                    .to_string();
                if key.len() < 16 {
                    return Err(fail!("{file}: the epay key needs at least 16 characters"));
                }
                Ok(Some((pid.clone(), key)))
            }
            _ => Err(fail!("--epay-pid and --epay-key-file go together")),
        }
    }

    fn gateway(&self) -> Result<Gateway> {
        let Some(url) = &self.gateway else {
            if self.busi_code.is_some() || self.key_file.is_some() {
                return Err(fail!("--busi-code/--merchant-key-file need --gateway URL"));
            }
            return Ok(Gateway::Sandbox);
        };
        let need = |v: &Option<String>, flag: &str| {
            v.clone()
                .ok_or_else(|| fail!("--gateway needs {flag} as well"))
        };
        let key_file = need(&self.key_file, "--merchant-key-file")?;
        let key = std::fs::read_to_string(&key_file)
            .map_err(|e| fail!("cannot read {key_file}: {e}"))?
            .trim()
            .to_string();
        if key.is_empty() {
            return Err(fail!("{key_file} is empty"));
        }
        let mut url = url.clone();
        if !url.ends_with('/') {
            url.push('/');
        }
        Ok(Gateway::External {
            url,
            busi_code: need(&self.busi_code, "--busi-code")?,
            busi_id: need(&self.busi_id, "--busi-id")?,
            key,
            encrypt: self.encrypt,
        })
    }
}

/// Run the demo until Ctrl-C.
pub fn run(opts: Options) -> Result<()> {
    let gateway = opts.gateway()?;
    let epay = opts.epay()?;
    if !opts.prebuilt {
        let tools = crate::tools::ensure_all()?;
        crate::build::all(&tools)?;
    }
    // Without --webhook-url, a receiver of our own logs what a merchant gets.
    let receiver = match &opts.webhook_url {
        Some(_) => None,
        None => {
            let dir = crate::build::target_dir().join("xtask");
            std::fs::create_dir_all(&dir)?;
            Some(crate::receiver::start(&dir.join(format!(
                "demo-webhooks-{}.jsonl",
                std::process::id()
            )))?)
        }
    };
    let stack = Stack::start(crate::stack::Options {
        gateway,
        port: opts.port,
        public_url: opts.public_url.clone(),
        fast: false,
        echo: false,
        name: "demo",
        sandbox_args: &[],
        // With the sandbox, WeChat and Alipay sign-in work out of the box.
        wallets: true,
        webhook_url: opts
            .webhook_url
            .clone()
            .or_else(|| receiver.as_ref().map(|r| r.url.clone())),
        settings: Vec::new(),
        epay,
    })?;
    let owner_key = create_owner_key(&stack)?;
    let link = create_link(&stack, &owner_key)?;
    let api = format!("{}/v1", stack.worker_url);
    println!();
    println!("SOUSHOU edge checkout is running.");
    println!();
    println!("Checkout link: {link}");
    match &stack.sandbox_url {
        Some(s) => {
            println!("Sandbox gateway: {s}");
            println!(
                "  Open the link on a desktop browser: it shows a QR code. The shopper's side is\n  \
                 the sandbox page the QR points to ({s}/sandbox/shopper/<CHARGE_CODE>, listed at\n  \
                 {s}/sandbox/): press \"Confirm payment\" there and the checkout turns to paid."
            );
            if let Some(w) = &stack.wallets {
                println!(
                    "  Open it with a WeChat or Alipay User-Agent (phone emulation in the browser's dev\n  \
                     tools, e.g. \"... MicroMessenger/8.0.47 ...\" or \"... AlipayClient/10.5.36 ...\"): the\n  \
                     sandbox's sign-in page (WeChat app {}, Alipay app {}) asks to allow or deny,\n  \
                     then the page pays through the wallet bridge with that shopper's id.",
                    w.wechat_app_id, w.alipay_app_id
                );
            }
        }
        None => println!(
            "Gateway: your own (see --gateway); notifications go to {}/notify",
            opts.public_url.as_deref().unwrap_or(&stack.worker_url)
        ),
    }
    println!("Merchant API: {api}");
    println!("Owner key: {owner_key} (local and throwaway; shown once by POST /v1/keys)");
    println!(
        "  e.g. curl -s -H 'Authorization: Bearer {owner_key}' -H 'content-type: application/json' \\\n       \
         -d '{{\"amount\":\"0.01\",\"subject\":\"Tea\"}}' {api}/links"
    );
    println!(
        "  (bootstrap ADMIN_TOKEN: {}; a real deployment deletes it once it has an owner key)",
        stack.admin_token
    );
    println!(
        "Webhook secret: {} (local and throwaway)",
        stack.webhook_secret
    );
    match &receiver {
        Some(r) => println!(
            "Webhooks: received by the demo's own receiver ({}), logged to {}",
            r.url,
            r.log.display()
        ),
        None => println!("Webhooks: sent to {}", stack.webhook_url),
    }
    println!("  events: curl -s -H 'Authorization: Bearer {owner_key}' {api}/events");
    println!(
        "Epay (易支付) apps: API URL {}/epay/  pid {}  key {} (set these three in the app)",
        stack.worker_url, stack.epay_pid, stack.epay_key
    );
    println!("Logs: {}", stack.run_dir.display());
    println!();
    println!("Press Ctrl-C to stop everything.");
    crate::stack::wait_for_ctrl_c()?;
    drop(stack);
    drop(receiver);
    println!("Stopped.");
    Ok(())
}

/// The demo's owner key, created as a merchant would: `POST /v1/keys`
/// with the bootstrap `ADMIN_TOKEN`.
fn create_owner_key(stack: &Stack) -> Result<String> {
    let auth = format!("Bearer {}", stack.admin_token);
    let resp = http::request(
        "POST",
        &format!("{}/v1/keys", stack.worker_url),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        r#"{"name":"demo owner","role":"owner"}"#,
    )?;
    if resp.status != 201 {
        return Err(fail!(
            "creating the demo's owner key failed: HTTP {} {}",
            resp.status,
            resp.body
        ));
    }
    let v: serde_json::Value = serde_json::from_str(&resp.body)?;
    v["key"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| fail!("the key answer has no key: {}", resp.body))
}

/// Create the demo's checkout link through the merchant API, with `key`.
fn create_link(stack: &Stack, key: &str) -> Result<String> {
    let auth = format!("Bearer {key}");
    let resp = http::request(
        "POST",
        &format!("{}/v1/links", stack.worker_url),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        r#"{"amount":"88.88","subject":"SOUSHOU demo order","ref":"demo-1","expires_in":86400}"#,
    )?;
    if resp.status != 200 && resp.status != 201 {
        return Err(fail!(
            "creating the demo link failed: HTTP {} {}",
            resp.status,
            resp.body
        ));
    }
    let v: serde_json::Value = serde_json::from_str(&resp.body)?;
    v["url"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| fail!("no url in {}", resp.body))
}
