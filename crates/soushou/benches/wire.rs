//! Wire-level micro-benchmark of the `soushou` protocol crate: signing, verifying, 3DES,
//! response decoding (JSON and XML) and building a request envelope.
//!
//! Only `std::time::Instant`, no framework, and no assertion on time: it prints a table
//! (ops/s and ns/op) for a person to read. Run it with
//! `cargo bench -p soushou --bench wire` (about 5 s in release on a busy 2-core machine).

use std::hint::black_box;
use std::time::Instant;

use soushou::codec::{self, Format};
use soushou::envelope::{self, Config};
use soushou::model::{Common, GoodsItem, OrderRequest, QueryResp};
use soushou::types::{ChannelType, TradeType};
use soushou::{sign, tdes, Fen, MerchantKey};

/// The document's public test key.
const KEY: &str = "98SDKFUO432HNODS098EEE07U9DUOIUE";
/// A millisecond timestamp, as the SDK signs with.
const TS: u64 = 1_444_797_505_000;

/// The document's sample QUERY_RESP (§9.3): a typical paid order with goods detail.
const QUERY_RESP_JSON: &str = r#"{
    "QUERY_RESP": {
        "RESULT": {"CODE": "SUCCESS", "INFO": "The query was successful"},
        "dynamic_ID_TYPE_STR": "",
        "realAMT": 0.01,
        "BUSI_ID": "0010000001",
        "CHANNEL_TYPE": 2,
        "CHARGE_CODE": "1FD7DA99-997C-4C27-99F9-40C1EC170D5C",
        "GOODS_DETAIL": [
            {"GOOD_SHOWURL": "WWW.****.COM", "GOOD_QUANTITY": 5, "GOOD_CLASS": "product type",
             "GOOD_ID": "product ID", "GOOD_PRICE": 2, "GOOD_SUBJECT": "product description",
             "GOOD_NAME": "product name"},
            {"GOOD_SHOWURL": "WWW.****.COM", "GOOD_QUANTITY": 5, "GOOD_CLASS": "product type",
             "GOOD_ID": "product ID", "GOOD_PRICE": 2, "GOOD_SUBJECT": "product description",
             "GOOD_NAME": "product name"}
        ],
        "DYNAMIC_ID": "130730865806264036",
        "END_TIME": "2015-10-14 04:43:29",
        "REGISTER_ID": "02016",
        "CHARGE_DOWN_CODE": "20151014100000000952",
        "FUND_BILL_LIST": {"TRADEFUNDBILL": [{"AMOUNT": "0.01", "FUND_CHANNEL": "11"}]},
        "PAY_SUBJECT": "SOUSHOU product 2",
        "STATE": 1,
        "OPER_ID": "TEST1",
        "BEGIN_TIME": "2015-10-14 04:38:25",
        "AMT": 1,
        "DEV_ID": "Cash Register 1"
    }
}"#;

fn config() -> Config {
    Config {
        gateway_url: "http://127.0.0.1:7300/openGateway/openService/".into(),
        busi_code: "01000001".into(),
        busi_id: "0010000001".into(),
        key: MerchantKey::new(KEY),
        encrypt: false,
        format: Format::Json,
        oper_id: "TEST1".into(),
        dev_id: "Cash Register 1".into(),
        register_id: Some("02016".into()),
    }
}

/// A typical NATIVE order: two goods lines, a notification URL, merchant data.
fn order(cfg: &Config) -> OrderRequest {
    let item = |id: &str, name: &str, fen: u64, quantity: u32| GoodsItem {
        id: id.into(),
        name: name.into(),
        class: "Drinks".into(),
        price: Fen::from_fen(fen),
        subject: format!("{name} 500ml"),
        quantity,
        show_url: Some(format!("https://shop.example.com/p/{id}")),
    };
    OrderRequest {
        common: Common {
            merchant_para: Some("b3JkZXItNDIxMTc=".into()),
            ..cfg.common()
        },
        amt: Fen::from_fen(2_350),
        channel_type: ChannelType::WeChat,
        trade_type: Some(TradeType::Native),
        sub_appid: None,
        sub_openid: None,
        charge_code: "ORD-20151014-1FD7DA99-997C-4C27".into(),
        nodify_url: Some("https://shop.example.com/notify".into()),
        pay_subject: "Green tea and oolong".into(),
        goods_detail: vec![
            item("SKU-1001", "Green tea", 350, 5),
            item("SKU-1002", "Oolong tea", 300, 2),
        ],
    }
}

/// One measured operation.
struct Row {
    name: &'static str,
    bytes: usize,
    iters: u32,
    nanos: u128,
}

/// Runs `f` `iters / 10` times to warm up, then `iters` times under the clock.
fn measure(name: &'static str, bytes: usize, iters: u32, mut f: impl FnMut()) -> Row {
    for _ in 0..iters / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    Row {
        name,
        bytes,
        iters,
        nanos: start.elapsed().as_nanos(),
    }
}

fn main() {
    let cfg = config();
    let key = MerchantKey::new(KEY);
    let req = order(&cfg);

    // The order body exactly as envelope::build sends it (plain JSON, no encryption).
    let body = envelope::build(&cfg, &req, TS).expect("valid order").body;
    let signature = sign::sign(&body, &key, TS);
    sign::verify(&signature, &body, &key).expect("own signature verifies");
    let cipher = tdes::encrypt(&body, &key);
    assert_eq!(
        tdes::decrypt(cipher.as_bytes(), &key).expect("decrypts"),
        body
    );
    let query: QueryResp = codec::decode(QUERY_RESP_JSON.as_bytes()).expect("sample decodes");
    let query_xml = codec::encode(&query, Format::Xml);
    let from_xml: QueryResp = codec::decode(&query_xml).expect("XML decodes");
    assert_eq!(
        from_xml.state, query.state,
        "XML round trip keeps the state"
    );

    let started = Instant::now();
    let rows = [
        measure("sign (MD5, order body)", body.len(), 50_000, || {
            black_box(sign::sign(black_box(&body), &key, black_box(TS)));
        }),
        measure("verify (order body)", body.len(), 50_000, || {
            let _ = black_box(sign::verify(black_box(&signature), black_box(&body), &key));
        }),
        measure("3DES encrypt (order body)", body.len(), 4_000, || {
            black_box(tdes::encrypt(black_box(&body), &key));
        }),
        measure("3DES decrypt (order body)", cipher.len(), 4_000, || {
            let _ = black_box(tdes::decrypt(black_box(cipher.as_bytes()), &key));
        }),
        measure(
            "decode QUERY_RESP (JSON)",
            QUERY_RESP_JSON.len(),
            20_000,
            || {
                let _ = black_box(codec::decode::<QueryResp>(black_box(
                    QUERY_RESP_JSON.as_bytes(),
                )));
            },
        ),
        measure("decode QUERY_RESP (XML)", query_xml.len(), 10_000, || {
            let _ = black_box(codec::decode::<QueryResp>(black_box(&query_xml)));
        }),
        measure("envelope::build OrderRequest", body.len(), 40_000, || {
            let _ = black_box(envelope::build(&cfg, black_box(&req), black_box(TS)));
        }),
    ];
    let total = started.elapsed();

    println!();
    println!(
        "{:<30} {:>7} {:>9} {:>12} {:>12}",
        "operation", "bytes", "iters", "ops/s", "ns/op"
    );
    println!("{}", "-".repeat(74));
    for r in &rows {
        let ns_per_op = r.nanos / u128::from(r.iters);
        let ops_per_s = u128::from(r.iters) * 1_000_000_000 / r.nanos.max(1);
        println!(
            "{:<30} {:>7} {:>9} {:>12} {:>12}",
            r.name, r.bytes, r.iters, ops_per_s, ns_per_op
        );
    }
    println!("{}", "-".repeat(74));
    println!(
        "measured in {:.2} s (plus warm-up); numbers only, nothing is asserted on time",
        total.as_secs_f64()
    );
}
