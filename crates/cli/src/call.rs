//! `soushou call`: curl for SOUSHOU. Builds the request with the protocol
//! crate exactly as the Worker does (validate, sign the plaintext, encrypt),
//! sends it, and prints the answer's plaintext.
//!
//! POST bodies are decoded into the interface's typed request first, so a
//! missing or malformed field is reported here, before the gateway sees it,
//! in the same words the Worker would use.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use soushou::codec::{self, Format};
use soushou::envelope::{self, Config, GatewayRequest, Interface, Method};
use soushou::model::{
    CancelTradeRequest, CreatOrderRequest, OrderRequest, PreOrderRequest, QueryRequest,
    RefundQueryRequest, RefundRequest, WapOrderRequest,
};
use soushou::types::{CancelMode, SerType};
use soushou::{tdes, MerchantKey};

use crate::args::Opts;
use crate::error::Error;
use crate::input;

/// How long one call may take: the gateway answers in seconds or not at all.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `soushou call INTERFACE …`.
pub fn run(opts: &Opts, ts: u64) -> Result<ExitCode, Error> {
    let (name, rest) = opts
        .args
        .split_first()
        .ok_or_else(|| Error::Usage("call needs an INTERFACE".into()))?;
    let iface = Interface::ALL
        .into_iter()
        .find(|i| i.path_name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<&str> = Interface::ALL.iter().map(Interface::path_name).collect();
            Error::Usage(format!(
                "unknown interface {name:?}: one of {}",
                names.join(", ")
            ))
        })?;
    let gateway = opts
        .gateway
        .clone()
        .ok_or_else(|| Error::Usage("call needs --gateway URL".into()))?;
    if !gateway.starts_with("http://") {
        return Err(Error::Usage(format!(
            "--gateway must be an http:// URL, not {gateway:?}: this tool carries no TLS stack \
             (use the UAT gateway, the sandbox, or a local TLS proxy)"
        )));
    }
    let busi_code = opts
        .busi_code
        .clone()
        .ok_or_else(|| Error::Usage("call needs --busi-code B".into()))?;
    let key = input::key(opts)?;
    let cfg = Config {
        gateway_url: gateway,
        busi_code,
        // BUSI_ID, OPER_ID, DEV_ID and REGISTER_ID travel inside the body
        // given on the command line; `envelope::build` only reads the rest.
        busi_id: String::new(),
        key: MerchantKey::new(key.key),
        encrypt: !opts.no_encrypt,
        format: opts.format.unwrap_or(Format::Json),
        oper_id: String::new(),
        dev_id: String::new(),
        register_id: None,
    };
    let call = Call {
        cfg: &cfg,
        ts,
        verbose: opts.verbose,
        key_source: &key.source,
    };
    let code = || -> Result<String, Error> {
        match rest {
            [code] => Ok(code.clone()),
            _ => Err(Error::Usage(format!(
                "call {} needs exactly one CODE argument",
                iface.path_name()
            ))),
        }
    };
    let body = || -> Result<Vec<u8>, Error> {
        match rest {
            [] => input::body(None, false),
            [file] => input::body(Some(file), false),
            [_, extra, ..] => Err(Error::Usage(format!("unexpected argument {extra:?}"))),
        }
    };
    let ser_type = opts.ser_type.unwrap_or(SerType::Merchant);
    match iface {
        Interface::PreOrder => call.send(&codec::decode_body::<PreOrderRequest>(&body()?)?),
        Interface::Order => call.send(&codec::decode_body::<OrderRequest>(&body()?)?),
        Interface::CreatOrder => call.send(&codec::decode_body::<CreatOrderRequest>(&body()?)?),
        Interface::WapOrder => call.send(&codec::decode_body::<WapOrderRequest>(&body()?)?),
        Interface::Refund => call.send(&codec::decode_body::<RefundRequest>(&body()?)?),
        Interface::Query => call.send(&QueryRequest {
            code: code()?,
            ser_type,
        }),
        Interface::RefundQuery => call.send(&RefundQueryRequest {
            code: code()?,
            ser_type,
        }),
        Interface::CancelTrade => call.send(&CancelTradeRequest {
            charge_code: code()?,
            mode: if opts.apply {
                CancelMode::Apply
            } else {
                CancelMode::RealTime
            },
        }),
    }
}

/// One exchange with the gateway.
struct Call<'a> {
    cfg: &'a Config,
    ts: u64,
    verbose: bool,
    key_source: &'a str,
}

impl Call<'_> {
    /// Builds, sends and prints. Exit 0 on success, 1 when the gateway
    /// refused (its answer is printed all the same).
    fn send<R: GatewayRequest>(&self, req: &R) -> Result<ExitCode, Error> {
        let cfg = self.cfg;
        let http_req = envelope::build(cfg, req, self.ts)?;
        let url = http_req.url(&cfg.gateway_url);
        if self.verbose {
            eprintln!("> {} {url}", http_req.method.as_str());
            eprintln!("> key: **** (from {})", self.key_source);
            if http_req.method == Method::Post {
                eprintln!("> Content-Type: {}", http_req.content_type());
                if http_req.encrypted {
                    let plain = tdes::decrypt(&http_req.body, &cfg.key)?;
                    eprintln!("> plaintext (signed): {}", String::from_utf8_lossy(&plain));
                }
                eprintln!("> body: {}", String::from_utf8_lossy(&http_req.body));
            }
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| http_error(&url, &e))?;
        let builder = match http_req.method {
            Method::Get => client.get(&url),
            Method::Post => client
                .post(&url)
                .header("Content-Type", http_req.content_type())
                .body(http_req.body.clone()),
        };
        let resp = builder.send().map_err(|e| http_error(&url, &e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().map_err(|e| http_error(&url, &e))?;
        if self.verbose {
            eprintln!("< HTTP {status}");
            eprintln!("< body: {}", String::from_utf8_lossy(&body));
        }
        let outcome = envelope::decode_response::<R>(cfg, &http_req, status, &body);
        match outcome {
            Ok(_) | Err(soushou::Error::Gateway { .. }) => {
                let plain = envelope::response_plaintext(&http_req, &body, &cfg.key)?;
                let mut out = std::io::stdout().lock();
                out.write_all(&plain)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(Error::Write)?;
            }
            Err(e) => return Err(e.into()),
        }
        match outcome {
            Ok(_) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("soushou: {e}");
                Ok(ExitCode::from(1))
            }
        }
    }
}

/// The transport error with its causes (reqwest's top line alone says only
/// "error sending request").
fn http_error(url: &str, e: &dyn std::error::Error) -> Error {
    let mut reason = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        reason.push_str(": ");
        reason.push_str(&c.to_string());
        cause = c.source();
    }
    Error::Http {
        url: url.to_owned(),
        reason,
    }
}
