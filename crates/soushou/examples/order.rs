//! Customer scans the merchant's QR code (`order`): build the signed,
//! encrypted request, then decode a (simulated) gateway answer.
//!
//! Run: `cargo run -p soushou --example order`

use soushou::envelope::{self, Config};
use soushou::model::{GoodsItem, OrderRequest, OrderResp, ResultInfo};
use soushou::types::{ChannelType, TradeType};
use soushou::Fen;

mod common;

fn main() -> Result<(), soushou::Error> {
    let cfg = Config {
        encrypt: true,
        ..common::config()
    };
    let req = OrderRequest {
        common: cfg.common(),
        amt: Fen::parse_yuan("158.00")?,
        channel_type: ChannelType::WeChat,
        trade_type: Some(TradeType::Native),
        sub_appid: None,
        sub_openid: None,
        charge_code: "D3820833-F310-4658-BF98-52959454FCA0".into(),
        nodify_url: Some("http://127.0.0.1:8787/notify?_type=json".into()),
        pay_subject: "QR Code to pay".into(),
        goods_detail: vec![GoodsItem {
            id: "2010".into(),
            name: "IPhone".into(),
            class: "Mobile phone".into(),
            price: Fen::parse_yuan("158")?,
            subject: "Digital products".into(),
            quantity: 1,
            show_url: None,
        }],
    };
    // The caller supplies the timestamp (milliseconds here, as the Java SDK does).
    let http = envelope::build(&cfg, &req, 1_764_028_800_123)?;
    println!("{} {}", http.method.as_str(), http.url(&cfg.gateway_url));
    println!(
        "body ({}): {}",
        http.content_type(),
        String::from_utf8_lossy(&http.body)
    );

    // What a gateway would answer (normally the body of the HTTP response).
    let answer = OrderResp {
        result: ResultInfo::success("Request was successful!"),
        charge_code: Some(req.charge_code.clone()),
        bar_code: Some("weixin://wxpay/bizpayurl?pr=59tFp8e".into()),
        ..Default::default()
    };
    let body = envelope::encode_response(&answer, cfg.format, http.encrypted, &cfg.key);
    let resp = envelope::decode_response::<OrderRequest>(&cfg, &http, 200, &body)?;
    println!(
        "show this as a QR code: {}",
        resp.bar_code.unwrap_or_default()
    );
    Ok(())
}
