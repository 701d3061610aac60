//! Setup shared by the examples (not an example itself: Cargo only picks up
//! `examples/*.rs` and `examples/*/main.rs`).

use soushou::codec::Format;
use soushou::envelope::Config;
use soushou::MerchantKey;

/// The document's sample merchant and key, talking to a gateway on
/// 127.0.0.1 in plain JSON. Examples override what they demonstrate with
/// struct update syntax: `Config { encrypt: true, ..common::config() }`.
pub fn config() -> Config {
    Config {
        gateway_url: "http://127.0.0.1:9000/openGateway/openService/".into(),
        busi_code: "01000001".into(),
        busi_id: "0010000001".into(),
        key: MerchantKey::new("98SDKFUO432HNODS098EEE07U9DUOIUE"),
        encrypt: false,
        format: Format::Json,
        oper_id: "oper01".into(),
        dev_id: "dev01".into(),
        register_id: None,
    }
}
