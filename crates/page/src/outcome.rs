//! What a wallet bridge said, as one small enum.
//!
//! A bridge result is only the wallet's opinion: the page always confirms
//! with `GET /api/orders/{code}` afterwards. The outcome only decides what to
//! say while waiting (and whether to offer "Pay again" straight away).

/// A wallet bridge's answer, normalised across WeChat and Alipay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BridgeOutcome {
    /// The wallet says the payment went through (WeChat `ok`, Alipay 9000).
    Ok,
    /// The wallet is still processing (Alipay 8000).
    Processing,
    /// The shopper closed the payment sheet (WeChat `cancel`, Alipay 6001).
    Cancelled,
    /// The wallet could not reach its server (Alipay 6002).
    NetworkError,
    /// The payment failed; carries the wallet's raw answer for the record
    /// (WeChat `fail`, Alipay 4000, anything unknown).
    Failed(String),
}

impl BridgeOutcome {
    /// Whether the shopper should be offered "Pay again" right away.
    pub fn offers_retry(&self) -> bool {
        !matches!(self, BridgeOutcome::Ok | BridgeOutcome::Processing)
    }
}

/// Maps `WeixinJSBridge.invoke('getBrandWCPayRequest', ..)`'s `res.err_msg`.
pub fn wechat(err_msg: &str) -> BridgeOutcome {
    match err_msg.strip_prefix("get_brand_wcpay_request:") {
        Some("ok") => BridgeOutcome::Ok,
        Some("cancel") => BridgeOutcome::Cancelled,
        _ => BridgeOutcome::Failed(err_msg.to_owned()),
    }
}

/// Maps `AlipayJSBridge.call('tradePay', ..)`'s `result.resultCode`
/// (a string in current clients, a number in some old ones: pass its text).
pub fn alipay(result_code: &str) -> BridgeOutcome {
    match result_code.trim() {
        "9000" => BridgeOutcome::Ok,
        "8000" => BridgeOutcome::Processing,
        "6001" => BridgeOutcome::Cancelled,
        "6002" => BridgeOutcome::NetworkError,
        other => BridgeOutcome::Failed(format!("resultCode {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wechat_results() {
        assert_eq!(wechat("get_brand_wcpay_request:ok"), BridgeOutcome::Ok);
        assert_eq!(
            wechat("get_brand_wcpay_request:cancel"),
            BridgeOutcome::Cancelled
        );
        assert_eq!(
            wechat("get_brand_wcpay_request:fail"),
            BridgeOutcome::Failed("get_brand_wcpay_request:fail".into())
        );
        assert!(matches!(wechat("chooseWXPay:ok"), BridgeOutcome::Failed(_)));
        assert!(matches!(wechat(""), BridgeOutcome::Failed(_)));
    }

    #[test]
    fn alipay_results() {
        assert_eq!(alipay("9000"), BridgeOutcome::Ok);
        assert_eq!(alipay("8000"), BridgeOutcome::Processing);
        assert_eq!(alipay("6001"), BridgeOutcome::Cancelled);
        assert_eq!(alipay("6002"), BridgeOutcome::NetworkError);
        assert_eq!(
            alipay("4000"),
            BridgeOutcome::Failed("resultCode 4000".into())
        );
        assert!(matches!(alipay("7777"), BridgeOutcome::Failed(_)));
    }

    #[test]
    fn retry_offered_only_when_wallet_did_not_succeed() {
        assert!(!BridgeOutcome::Ok.offers_retry());
        assert!(!BridgeOutcome::Processing.offers_retry());
        assert!(BridgeOutcome::Cancelled.offers_retry());
        assert!(BridgeOutcome::NetworkError.offers_retry());
        assert!(BridgeOutcome::Failed("x".into()).offers_retry());
    }
}
