//! Revoke an order (`cancelTrade`): the signature covers
//! `chargeCode=..&busiCode=..`; the gateway side verifies it with `open_cancel`.
//!
//! Run: `cargo run -p soushou --example cancel`

use soushou::codec::Format;
use soushou::envelope::{self, Config};
use soushou::model::{CancelTradeRequest, CancelTradeResp};
use soushou::types::CancelMode;

mod common;

fn main() -> Result<(), soushou::Error> {
    let cfg = Config {
        busi_code: "0010000001".into(),
        ..common::config()
    };
    let req = CancelTradeRequest {
        charge_code: "D3820833-F310-4658-BF98-52959454FCA0".into(),
        mode: CancelMode::Apply,
    };
    let http = envelope::build(&cfg, &req, 1_473_431_447)?;
    let url = http.url(&cfg.gateway_url);
    println!("GET {url}");

    // Gateway side: route the path, verify the cancel signature.
    let route = envelope::route(&url).expect("a gateway path");
    let query = envelope::parse_query(url.split_once('?').map_or("", |(_, q)| q));
    let (mode, verified) = envelope::open_cancel(&query, &route.args[0], &route.args[1], &cfg.key)?;
    println!("verified {mode:?} signed at {}", verified.unix_seconds());

    let body =
        envelope::encode_response(&CancelTradeResp::default(), Format::Json, false, &cfg.key);
    let resp = envelope::decode_response::<CancelTradeRequest>(&cfg, &http, 200, &body)?;
    println!("result: {}", resp.result.code);
    Ok(())
}
