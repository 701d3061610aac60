//! Command line and start-up configuration.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use soushou::MerchantKey;

use crate::error::Error;
use crate::faults::{self, FaultMode, FaultTarget};
use crate::notifier::NotifyMode;
use crate::oauth::Providers;
use crate::state::PRE_ORDER_TIMEOUT_MS;

/// busiCode of the merchant registered when no `--merchant` is given.
pub const DEFAULT_BUSI_CODE: &str = "01000001";
/// BUSI_ID of the default merchant (the document's samples).
pub const DEFAULT_BUSI_ID: &str = "0010000001";
/// Key of the default merchant: public test data, printed at start-up on purpose.
pub const DEFAULT_KEY: &str = "98SDKFUO432HNODS098EEE07U9DUOIUE";
/// Default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7300";

/// A merchant registered with the gateway.
#[derive(Clone, Debug)]
pub struct Merchant {
    /// `busiCode` in the query string and path.
    pub busi_code: String,
    /// `BUSI_ID` in bodies.
    pub busi_id: String,
    /// The shared signing/encryption key.
    pub key: MerchantKey,
    /// Whether this is the built-in default merchant (whose key is public and may be printed).
    pub is_default: bool,
}

impl Merchant {
    /// The built-in demo merchant.
    pub fn default_merchant() -> Merchant {
        Merchant {
            busi_code: DEFAULT_BUSI_CODE.into(),
            busi_id: DEFAULT_BUSI_ID.into(),
            key: MerchantKey::new(DEFAULT_KEY),
            is_default: true,
        }
    }

    /// Parses `BUSICODE=KEY` or `BUSICODE=KEY,BUSI_ID`.
    pub fn parse(s: &str) -> Result<Merchant, Error> {
        let bad = || {
            Error::Config(format!(
                "--merchant {:?}: expected BUSICODE=KEY[,BUSI_ID]",
                mask_spec(s)
            ))
        };
        let (code, rest) = s.split_once('=').ok_or_else(bad)?;
        let (key, busi_id) = match rest.split_once(',') {
            Some((k, id)) => (k, id),
            None => (rest, code),
        };
        let (code, key, busi_id) = (code.trim(), key.trim(), busi_id.trim());
        if code.is_empty() || key.is_empty() || busi_id.is_empty() {
            return Err(bad());
        }
        Ok(Merchant {
            busi_code: code.into(),
            busi_id: busi_id.into(),
            key: MerchantKey::new(key),
            is_default: false,
        })
    }

    /// The key as it may appear in logs: in full for the public demo key, masked otherwise.
    pub fn printable_key(&self) -> String {
        if self.is_default {
            self.key.expose().to_owned()
        } else {
            mask_secret(self.key.expose())
        }
    }
}

/// Masks a secret, keeping only its length visible.
pub fn mask_secret(s: &str) -> String {
    format!("****({} chars)", s.chars().count())
}

fn mask_spec(s: &str) -> String {
    match s.split_once('=') {
        Some((code, _)) => format!("{code}=****"),
        None => "****".into(),
    }
}

/// Everything the sandbox needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Base URL used in BAR_CODE links; `None` means `http://{bound address}`.
    pub public_url: Option<String>,
    /// Registered merchants.
    pub merchants: Vec<Merchant>,
    /// Pause between notification attempts (document: 5 s).
    pub notify_interval: Duration,
    /// Maximum notification attempts per notification (document: 30).
    pub notify_attempts: u32,
    /// Faults active from start-up.
    pub faults: Vec<(FaultTarget, FaultMode)>,
    /// Whether preOrder leaves orders pending (state 0) instead of completing them at once.
    pub pre_order_pending: bool,
    /// How long a pending preOrder waits before it is revoked (document: 80 s).
    pub pre_order_auto_revoke: Duration,
    /// How long revocations take (see [`crate::Settings::revoke_delay_ms`]).
    pub revoke_delay: Duration,
    /// Automatic or manual (driver-sent) notifications.
    pub notify_mode: NotifyMode,
    /// How long the `timeout` fault holds a connection before giving up.
    pub timeout_hold: Duration,
    /// How many requests and notification attempts the control API remembers.
    pub history: usize,
    /// Whether to print one JSON line per request on stdout.
    pub log_requests: bool,
    /// The apps of the simulated WeChat and Alipay sign-in (none by default).
    pub oauth: Providers,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            public_url: None,
            merchants: vec![Merchant::default_merchant()],
            notify_interval: Duration::from_secs(5),
            notify_attempts: 30,
            faults: Vec::new(),
            pre_order_pending: false,
            pre_order_auto_revoke: Duration::from_millis(PRE_ORDER_TIMEOUT_MS),
            revoke_delay: Duration::ZERO,
            notify_mode: NotifyMode::Auto,
            timeout_hold: Duration::from_secs(600),
            history: 1000,
            log_requests: true,
            oauth: Providers::default(),
        }
    }
}

/// `soushou-sandbox` command line.
#[derive(Debug, Parser)]
#[command(
    name = "soushou-sandbox",
    version,
    about = "A faithful local simulator of the SOUSHOU payment gateway"
)]
pub struct Cli {
    /// Address to listen on (port 0 = any free port; the chosen URL is printed first on stdout).
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Base URL for links handed to shoppers (BAR_CODE); defaults to the listening URL.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Register a merchant: BUSICODE=KEY or BUSICODE=KEY,BUSI_ID (repeatable).
    /// Without any, merchant 01000001 / BUSI_ID 0010000001 with the document's test key is registered.
    #[arg(long, value_name = "BUSICODE=KEY[,BUSI_ID]")]
    pub merchant: Vec<String>,
    /// Milliseconds between notification attempts.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub notify_interval_ms: u64,
    /// Maximum attempts per notification (stops earlier on HTTP 200).
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub notify_attempts: u32,
    /// Activate a fault: INTERFACE=MODE (repeatable), e.g. order=http500, notify=duplicate:3,
    /// cancelTrade=reject:FAIL.
    #[arg(long, value_name = "INTERFACE=MODE")]
    pub fault: Vec<String>,
    /// Leave preOrder (merchant scans shopper) payments pending until paid via the control API.
    #[arg(long)]
    pub pre_order_pending: bool,
    /// Milliseconds after which a pending preOrder is revoked (the document's 80 s).
    #[arg(long, default_value_t = PRE_ORDER_TIMEOUT_MS, value_name = "MS")]
    pub pre_order_auto_revoke_ms: u64,
    /// Milliseconds a real-time cancelTrade is held before the revocation is decided (a
    /// payment landing meanwhile is revoked and returned); also how long an opType=ACO
    /// revocation stays applied (3) before it completes (2). 0: at once / stays 3.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub revoke_delay_ms: u64,
    /// auto: notify payments as the gateway does; manual: only when the control API says
    /// (POST /sandbox/notify/{code}), so a driver decides delays, copies and order.
    #[arg(long, value_enum, default_value_t = NotifyMode::Auto, value_name = "MODE")]
    pub notify_mode: NotifyMode,
    /// How long the `timeout` fault holds a connection, in milliseconds.
    #[arg(long, default_value_t = 600_000, value_name = "MS")]
    pub timeout_hold_ms: u64,
    /// How many recent requests and notification attempts the control API keeps.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub history: usize,
    /// Do not print the per-request JSON log lines.
    #[arg(long)]
    pub quiet: bool,
    /// Simulate WeChat web authorization for this app (repeatable); JSAPI
    /// `order` then only takes a `subOpenid` signed in here for its app.
    #[arg(long, value_name = "APPID=SECRET")]
    pub wechat_app: Vec<String>,
    /// Simulate Alipay user authorization for this app, whose requests are
    /// verified with the PEM public key in FILE (repeatable); `creatOrder`
    /// then only takes a `buyerId` signed in here.
    #[arg(long, value_name = "APPID=FILE")]
    pub alipay_app: Vec<String>,
    /// Alipay's own private key (PKCS#8 PEM file) that signs its answers.
    #[arg(long, value_name = "FILE")]
    pub alipay_private_key: Option<String>,
}

impl Cli {
    /// Validates the command line into a [`Config`].
    pub fn into_config(self) -> Result<Config, Error> {
        let mut merchants = self
            .merchant
            .iter()
            .map(|m| Merchant::parse(m))
            .collect::<Result<Vec<_>, _>>()?;
        if merchants.is_empty() {
            merchants.push(Merchant::default_merchant());
        }
        let mut seen = std::collections::HashSet::new();
        for m in &merchants {
            if !seen.insert(m.busi_code.clone()) {
                return Err(Error::Config(format!(
                    "merchant {} given twice",
                    m.busi_code
                )));
            }
        }
        if self.notify_attempts == 0 {
            return Err(Error::Config("--notify-attempts must be at least 1".into()));
        }
        let faults = self
            .fault
            .iter()
            .map(|f| faults::parse_assignment(f))
            .collect::<Result<Vec<_>, _>>()?;
        let public_url = self.public_url.map(|u| u.trim_end_matches('/').to_owned());
        Ok(Config {
            listen: self.listen,
            public_url,
            merchants,
            notify_interval: Duration::from_millis(self.notify_interval_ms),
            notify_attempts: self.notify_attempts,
            faults,
            pre_order_pending: self.pre_order_pending,
            pre_order_auto_revoke: Duration::from_millis(self.pre_order_auto_revoke_ms),
            revoke_delay: Duration::from_millis(self.revoke_delay_ms),
            notify_mode: self.notify_mode,
            timeout_hold: Duration::from_millis(self.timeout_hold_ms),
            history: self.history.max(1),
            log_requests: !self.quiet,
            oauth: Providers::from_cli(
                &self.wechat_app,
                &self.alipay_app,
                self.alipay_private_key.as_deref(),
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_specs() {
        let m = Merchant::parse("02000002=SECRETKEY").unwrap();
        assert_eq!(
            (m.busi_code.as_str(), m.busi_id.as_str()),
            ("02000002", "02000002")
        );
        assert_eq!(m.key.expose(), "SECRETKEY");
        assert!(!m.printable_key().contains("SECRET"));
        let m = Merchant::parse("02000002=K,0020000002").unwrap();
        assert_eq!(m.busi_id, "0020000002");
        assert!(Merchant::parse("nokey").is_err());
        assert!(Merchant::parse("=K").is_err());
        let err = Merchant::parse("X=SECRETKEY,").unwrap_err().to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn defaults_register_demo_merchant() {
        let cfg = Cli::parse_from(["soushou-sandbox"]).into_config().unwrap();
        assert_eq!(cfg.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(cfg.merchants.len(), 1);
        assert_eq!(cfg.merchants[0].printable_key(), DEFAULT_KEY);
        assert_eq!(cfg.notify_attempts, 30);
        assert_eq!(cfg.notify_interval, Duration::from_secs(5));
        assert_eq!(cfg.revoke_delay, Duration::ZERO);
        assert_eq!(cfg.notify_mode, NotifyMode::Auto);
        assert_eq!(cfg.pre_order_auto_revoke, Duration::from_secs(80));
        let cfg = Cli::parse_from([
            "soushou-sandbox",
            "--listen",
            "127.0.0.1:0",
            "--merchant",
            "A=K1",
            "--merchant",
            "B=K2,BID",
            "--fault",
            "order=timeout",
            "--notify-interval-ms",
            "50",
            "--notify-attempts",
            "3",
            "--revoke-delay-ms",
            "250",
            "--notify-mode",
            "manual",
            "--pre-order-auto-revoke-ms",
            "1500",
        ])
        .into_config()
        .unwrap();
        assert_eq!(cfg.merchants.len(), 2);
        assert_eq!(cfg.faults.len(), 1);
        assert_eq!(cfg.notify_interval, Duration::from_millis(50));
        assert_eq!(cfg.revoke_delay, Duration::from_millis(250));
        assert_eq!(cfg.notify_mode, NotifyMode::Manual);
        assert_eq!(cfg.pre_order_auto_revoke, Duration::from_millis(1500));
        assert!(Cli::try_parse_from(["x", "--notify-mode", "sometimes"]).is_err());
        assert!(
            Cli::parse_from(["x", "--merchant", "A=K", "--merchant", "A=L"])
                .into_config()
                .is_err()
        );
    }
}
