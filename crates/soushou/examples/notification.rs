//! Payment notification: the gateway builds it for `NODIFY_URL`, the
//! merchant opens (decrypts, verifies, parses) it.
//!
//! Run: `cargo run -p soushou --example notification`

use soushou::envelope;
use soushou::model::{FundBill, PayNotify};
use soushou::types::{ChannelType, FundChannel, OrderState};
use soushou::Fen;

mod common;

fn main() -> Result<(), soushou::Error> {
    // The gateway notifies about an order of the examples' merchant.
    let cfg = common::config();
    let key = cfg.key;
    let notify = PayNotify {
        busi_id: cfg.busi_id,
        oper_id: cfg.oper_id,
        dev_id: cfg.dev_id,
        amt: Fen::from_fen(1),
        channel_type: ChannelType::Alipay,
        charge_code: "1C88FADB-75D2-4517-9C38-F273D423FFF3".into(),
        charge_down_code: "20151123100000095182".into(),
        pay_subject: "SOSO product 1".into(),
        state: OrderState::Paid,
        fund_bill_list: vec![FundBill {
            fund_channel: FundChannel::AlipayBalance,
            amount: Fen::from_fen(1),
        }],
        ..Default::default()
    };
    // Gateway side: format and encryption come from the merchant's URL.
    let n = envelope::build_notification(
        "http://127.0.0.1:8787/notify?_type=json&encrypt=3DES",
        &notify,
        &key,
        1_764_028_800_123,
    )?;
    println!("POST {} ({})", n.url, n.content_type);
    println!("{}", String::from_utf8_lossy(&n.body));

    // Merchant side: the query of the URL it was called on, and the body.
    let query = envelope::parse_query(n.url.split_once('?').map_or("", |(_, q)| q));
    let (got, verified) = envelope::open_notification(&query, &n.body, &key)?;
    println!(
        "order {} paid {} yuan (signed at {}, rule {:?}); answer HTTP 200 to stop retries",
        got.charge_code,
        got.amt,
        verified.unix_seconds(),
        verified.rule
    );
    Ok(())
}
