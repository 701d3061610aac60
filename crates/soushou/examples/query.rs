//! Query an order and its refunds (GET, no body, no sign).
//!
//! Run: `cargo run -p soushou --example query`

use soushou::codec::Format;
use soushou::envelope::{self, Config};
use soushou::model::{QueryRequest, QueryResp, RefundQueryRequest, ResultInfo};
use soushou::types::{OrderState, SerType};
use soushou::{Error, Fen};

mod common;

fn main() -> Result<(), Error> {
    let cfg = Config {
        encrypt: true,
        ..common::config()
    };
    let query = QueryRequest {
        code: "1FD7DA99-997C-4C27-99F9-40C1EC170D5C".into(),
        ser_type: SerType::Merchant,
    };
    let http = envelope::build(&cfg, &query, 0)?;
    println!("GET {}", http.url(&cfg.gateway_url));

    let answer = QueryResp {
        result: ResultInfo::success("The query was successful"),
        amt: Some(Fen::from_fen(1)),
        state: Some(OrderState::Paid),
        ..Default::default()
    };
    let body = envelope::encode_response(&answer, Format::Json, true, &cfg.key);
    let resp = envelope::decode_response::<QueryRequest>(&cfg, &http, 200, &body)?;
    println!(
        "state {:?}, amount {}",
        resp.state,
        resp.amt.unwrap_or(Fen::ZERO)
    );

    let refunds = RefundQueryRequest {
        code: "20170622100000235524".into(),
        ser_type: SerType::Gateway,
    };
    let http = envelope::build(&cfg, &refunds, 0)?;
    println!("GET {}", http.url(&cfg.gateway_url));
    // A gateway failure surfaces as Error::Gateway.
    let fail =
        br#"{"REFUND_QUERY_RESP":{"RESULT":{"CODE":"CHARGE_NONEXISTENT","INFO":"no such trade"}}}"#;
    match envelope::decode_response::<RefundQueryRequest>(&cfg, &http, 200, fail) {
        Err(Error::Gateway { code, info }) => println!("gateway said {code}: {info}"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
