//! Code enums of the gateway's data dictionaries (appendices 2–5).
//!
//! Each tolerant enum keeps unrecognised codes in `Unknown(String)` so that
//! a new channel or state on the gateway side never breaks parsing, and
//! deserializes from a string or a number (the gateway sends both).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A scalar read as text: strings verbatim, numbers and booleans printed.
/// The gateway sends codes and identifiers either way; `expecting` names
/// what was wanted in the error for anything else.
pub(crate) fn scalar_text<'de, D: Deserializer<'de>>(
    d: D,
    expecting: &'static str,
) -> Result<String, D::Error> {
    struct V(&'static str);
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V(expecting))
}

/// A wire code as it arrived, normalised to a trimmed string.
fn code_from_any<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    scalar_text(d, "a code as a string or a number").map(|c| c.trim().to_owned())
}

/// Defines a dictionary enum: `code()` gives the wire spelling,
/// `from_code()` the tolerant parse, `Unknown(String)` the fallback.
/// `numeric` enums serialize known codes as JSON numbers (as the gateway
/// does in responses); the others as strings.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident, numeric = $numeric:expr, {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal $(| $alias:literal)* ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A code this crate does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The wire code.
            pub fn code(&self) -> &str {
                match self {
                    $( $name::$variant => $code, )*
                    $name::Unknown(s) => s,
                }
            }

            /// Parses a wire code; unrecognised codes become `Unknown`.
            pub fn from_code(code: &str) -> Self {
                match code.trim() {
                    $( $code $(| $alias)* => $name::$variant, )*
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            /// Same as `from_code`: never fails, unknown codes become `Unknown`.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from_code(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let code = self.code();
                match code.parse::<u64>() {
                    Ok(n) if $numeric && !matches!(self, $name::Unknown(_)) => s.serialize_u64(n),
                    _ => s.serialize_str(code),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                code_from_any(d).map(|c| $name::from_code(&c))
            }
        }
    };
}

code_enum! {
    /// Payment channel, `CHANNEL_TYPE` (appendix 2).
    ChannelType, numeric = true, {
        /// 0: let the gateway pick from the scanned code (preOrder only).
        Auto = "0",
        /// 1: Alipay.
        Alipay = "1",
        /// 2: WeChat Pay.
        WeChat = "2",
        /// 3: China Merchants Bank.
        Cmb = "3",
        /// 5: China Construction Bank.
        Ccb = "5",
        /// 9: Agricultural Bank of China.
        Abc = "9",
        /// 10: Shanghai Pudong Development Bank.
        Spdb = "10",
        /// 24: Baidu Wallet.
        BaiduWallet = "24",
        /// 27: China Telecom Best Pay.
        BestPay = "27",
        /// 31: QQ Wallet.
        QqWallet = "31",
        /// 32: UnionPay.
        UnionPay = "32",
        /// 34: Alipay mobile web pay.
        AlipayWap = "34",
    }
}

code_enum! {
    /// Funding source of a payment part, `FUND_CHANNEL` (appendix 3).
    /// Always written as a string: `"00"` and `"0"` must not collide.
    FundChannel, numeric = false, {
        /// 00: Alipay red packet (bonus).
        AlipayBonus = "00" | "0",
        /// 10: Alipay balance.
        AlipayBalance = "10",
        /// 60: Alipay prepaid card.
        AlipayPrepaidCard = "60",
        /// 30: Alipay Jifenbao points.
        AlipayPoints = "30",
        /// 70: Alipay credit (Huabei).
        AlipayCredit = "70",
        /// 40: discount voucher.
        DiscountVoucher = "40",
        /// 80: prepaid card.
        PrepaidCard = "80",
        /// 90: consumer-loan credit.
        ConsumerCredit = "90",
        /// 11: WeChat Pay.
        WeChat = "11",
        /// 12: QQ Wallet.
        QqWallet = "12",
        /// 13: Baidu Wallet.
        BaiduWallet = "13",
        /// 14: Best Pay.
        BestPay = "14",
        /// 41: WeChat cash coupon.
        WeChatCoupon = "41",
        /// 42: QQ Wallet cash coupon.
        QqWalletCoupon = "42",
        /// 43: Baidu Wallet cash coupon.
        BaiduWalletCoupon = "43",
        /// 44: Best Pay cash coupon.
        BestPayCoupon = "44",
        /// 100: Alipay financial account.
        AlipayFinancialAccount = "100",
        /// 101: merchant store card.
        MerchantStoreCard = "101",
        /// 102: merchant coupon.
        MerchantCoupon = "102",
        /// 103: bank card via Alipay.
        AlipayBankCard = "103",
        /// 104: merchant bonus.
        MerchantBonus = "104",
        /// 9001: bank card via the bank (debit or credit).
        BankCard = "9001",
        /// 9002: random discount.
        RandomDiscount = "9002",
        /// 9003: free of charge.
        Free = "9003",
        /// 9004: discount once a merchant threshold is reached.
        ThresholdDiscount = "9004",
        /// 9005: single-item discount.
        SingleItemDiscount = "9005",
        /// 9006: gift once the order reaches an amount.
        GiftOnThreshold = "9006",
    }
}

code_enum! {
    /// Order or refund-record state, `STATE` (appendix 4 plus 10/11 for refund records).
    OrderState, numeric = true, {
        /// 0: awaiting payment.
        Pending = "0",
        /// 1: paid.
        Paid = "1",
        /// 2: revoked.
        Revoked = "2",
        /// 3: revocation applied for.
        RevocationApplied = "3",
        /// 4: partially refunded.
        PartiallyRefunded = "4",
        /// 5: fully refunded.
        Refunded = "5",
        /// 6: closed.
        Closed = "6",
        /// 7: reserved.
        Reserved = "7",
        /// 8: refund in progress.
        Refunding = "8",
        /// 9: refund failed.
        RefundFailed = "9",
        /// 10: refund record pending.
        RefundPending = "10",
        /// 11: refund record succeeded.
        RefundSucceeded = "11",
    }
}

code_enum! {
    /// `RESULT.CODE` (appendix 5). Written as `SUCCESS`; the appendix's
    /// `SUCESS` is accepted too.
    ResultCode, numeric = false, {
        /// Success.
        Success = "SUCCESS" | "SUCESS",
        /// Generic failure.
        Fail = "FAIL",
        /// A parameter is wrong.
        IllegalParameter = "ILLEGAL_PARAMETER",
        /// The signature did not verify.
        InvalidSign = "INVALID_SIGN",
        /// The amount is wrong (e.g. refund above the paid amount).
        AmtError = "AMT_ERROR",
        /// Gateway database error.
        DatabaseError = "DATABASE_ERROR",
        /// The merchant contract is not active.
        InvalidContract = "INVALID_CONTRACT",
        /// The merchant is not registered.
        UnregisteredBusi = "UNREGISTERED_BUSI",
        /// Unknown gateway exception.
        Exception = "EXCEPTION",
        /// The transaction does not exist.
        ChargeNonexistent = "CHARGE_NONEXISTENT",
        /// The service is unavailable.
        ServiceUnavailable = "SERVICE_UNAVAILABLE",
        /// Upstream HTTP failure.
        HttpException = "HTTP_EXCEPTION",
        /// Upstream I/O failure.
        IoException = "IO_EXCEPTION",
        /// Could not open a secure upstream connection.
        CreateSecurityConnectionError = "CREATE_SECURITY_CONNECTION_ERROR",
        /// The order was already revoked (the wire spelling is `AREADY`).
        AreadyRevoked = "AREADY_REVOKED",
        /// The serial number (`CHARGE_CODE`) was used before.
        SerialRepeat = "SERIAL_REPEAT",
    }
}

/// Adds number conversions to the dictionaries whose codes are integers.
macro_rules! numeric_codes {
    ($($name:ident),*) => {$(
        impl $name {
            /// Parses a numeric wire code; unrecognised numbers become `Unknown`.
            pub fn from_number(n: u32) -> Self {
                $name::from_code(&n.to_string())
            }

            /// The numeric wire code, or `None` for a non-numeric `Unknown`.
            pub fn number(&self) -> Option<u32> {
                self.code().parse().ok()
            }
        }
    )*};
}

numeric_codes!(ChannelType, OrderState, DynamicIdType);

impl Default for ChannelType {
    /// `Auto` (0): let the gateway pick; what an unset channel means.
    fn default() -> Self {
        ChannelType::Auto
    }
}

impl Default for OrderState {
    /// `Pending` (0): the state every order starts in.
    fn default() -> Self {
        OrderState::Pending
    }
}

impl Default for ResultCode {
    /// `Success`, so `..Default::default()` builds a successful response.
    fn default() -> Self {
        ResultCode::Success
    }
}

impl ResultCode {
    /// Every code of appendix 5 other than success, in the document's
    /// order: what clients must classify and tests must cover.
    pub const APPENDIX_5: [ResultCode; 15] = [
        ResultCode::Fail,
        ResultCode::IllegalParameter,
        ResultCode::InvalidSign,
        ResultCode::AmtError,
        ResultCode::DatabaseError,
        ResultCode::InvalidContract,
        ResultCode::UnregisteredBusi,
        ResultCode::Exception,
        ResultCode::ChargeNonexistent,
        ResultCode::ServiceUnavailable,
        ResultCode::HttpException,
        ResultCode::IoException,
        ResultCode::CreateSecurityConnectionError,
        ResultCode::AreadyRevoked,
        ResultCode::SerialRepeat,
    ];

    /// The wire spelling (`SUCCESS` for success).
    pub fn as_str(&self) -> &str {
        self.code()
    }

    /// Whether this is the success code.
    pub fn is_success(&self) -> bool {
        *self == ResultCode::Success
    }
}

code_enum! {
    /// WeChat `TRADE_TYPE` of the order interface.
    TradeType, numeric = false, {
        /// In-app browser / official account (needs `subOpenid`).
        Jsapi = "JSAPI",
        /// QR code (the gateway's default).
        Native = "NATIVE",
        /// Native app.
        App = "APP",
    }
}

code_enum! {
    /// `DYNAMIC_ID_TYPE`: how the customer's code was captured (preOrder).
    DynamicIdType, numeric = true, {
        /// 1: barcode / QR code.
        Barcode = "1",
        /// 2: sonic (sound wave).
        Sonic = "2",
        /// 3: NFC.
        Nfc = "3",
    }
}

/// `serType` of query and refundQuery: whose serial number the path carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SerType {
    /// 0: the merchant's `CHARGE_CODE` (the gateway's default).
    #[default]
    Merchant,
    /// 1: the gateway's `CHARGE_DOWN_CODE`.
    Gateway,
}

impl SerType {
    /// The query-string value.
    pub fn code(&self) -> &'static str {
        match self {
            SerType::Merchant => "0",
            SerType::Gateway => "1",
        }
    }

    /// Parses the query-string value; absent or anything but `1` means merchant.
    pub fn from_code(code: Option<&str>) -> SerType {
        match code.map(str::trim) {
            Some("1") => SerType::Gateway,
            _ => SerType::Merchant,
        }
    }
}

/// How `cancelTrade` revokes: `opType=ACO` applies for revocation, anything
/// else revokes in real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum CancelMode {
    /// `opType=ACO`: apply for revocation (state 3 until the channel confirms).
    Apply,
    /// No `opType`: revoke immediately.
    #[default]
    RealTime,
}

impl CancelMode {
    /// Parses the `opType` query value.
    pub fn from_op_type(op: Option<&str>) -> CancelMode {
        match op.map(str::trim) {
            Some("ACO") => CancelMode::Apply,
            _ => CancelMode::RealTime,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_codes() {
        let c: ChannelType = serde_json::from_str("2").unwrap();
        assert_eq!(c, ChannelType::WeChat);
        let c: ChannelType = serde_json::from_str("\"2\"").unwrap();
        assert_eq!(c, ChannelType::WeChat);
        let c: ChannelType = serde_json::from_str("77").unwrap();
        assert_eq!(c, ChannelType::Unknown("77".into()));
        assert_eq!(serde_json::to_string(&ChannelType::WeChat).unwrap(), "2");
        let r: ResultCode = serde_json::from_str("\"SUCESS\"").unwrap();
        assert_eq!(r, ResultCode::Success);
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"SUCCESS\"");
        let f: FundChannel = serde_json::from_str("10").unwrap();
        assert_eq!(f, FundChannel::AlipayBalance);
        assert_eq!(
            serde_json::to_string(&FundChannel::AlipayBonus).unwrap(),
            "\"00\""
        );
        let s: OrderState = serde_json::from_str("\"42\"").unwrap();
        assert_eq!(s, OrderState::Unknown("42".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"42\"");
    }
}
