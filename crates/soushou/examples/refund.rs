//! Refund part of a paid order, and decode the gateway's XML answer.
//!
//! Run: `cargo run -p soushou --example refund`

use soushou::codec::Format;
use soushou::envelope::{self, Config};
use soushou::model::RefundRequest;
use soushou::Fen;

mod common;

fn main() -> Result<(), soushou::Error> {
    let cfg = Config {
        format: Format::Xml, // the gateway's default: no `_type=json`
        ..common::config()
    };
    let req = RefundRequest {
        busi_id: cfg.busi_id.clone(),
        oper_id: cfg.oper_id.clone(),
        dev_id: cfg.dev_id.clone(),
        charge_refund_fee: Fen::parse_yuan("0.01")?,
        refund_subject: "Refund".into(),
        charge_code: "B67B2AEF-058B-45D1-9397-85DD9B1BD84E".into(),
        charge_down_code: None,
        out_refund_no: Some("BBB10898-4D12-4109-8AFD-D0EB1C37C998".into()),
    };
    let http = envelope::build(&cfg, &req, 1_473_431_447)?;
    println!("{} {}", http.method.as_str(), http.url(&cfg.gateway_url));

    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><REFUND_RESP>\
        <RESULT><CODE>SUCCESS</CODE><INFO>ok</INFO></RESULT>\
        <FUND_BILL_LIST><TRADEFUNDBILL><FUND_CHANNEL>10</FUND_CHANNEL><AMOUNT>0.01</AMOUNT></TRADEFUNDBILL></FUND_BILL_LIST>\
        <CHANNEL_TYPE>1</CHANNEL_TYPE></REFUND_RESP>";
    let resp = envelope::decode_response::<RefundRequest>(&cfg, &http, 200, xml.as_bytes())?;
    for bill in &resp.fund_bill_list {
        println!(
            "refunded {} yuan via fund channel {}",
            bill.amount, bill.fund_channel
        );
    }
    Ok(())
}
