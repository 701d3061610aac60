//! The JSON types of the Worker's HTTP API (`shared/design/API.md`, contract v1).
//!
//! The Worker serialises them and the page deserialises them, so both sides
//! agree by construction. Field names are the contract: do not rename.

use serde::{Deserialize, Serialize};
use soushou::Fen;

use crate::amount::parse_api_amount;
use crate::gateway::{classify, Verdict};
use crate::link::{self, LinkAmount, LinkGoods, LinkPayload};
use crate::merchant::{PosChannel, ScanKind};
use crate::vocab::Spelled;
pub use crate::vocab::{
    EventSource, GoodsLine, LinkChannel, LinkKind, LinkState, OrderKind, OrderMethod, OrderStatus,
    PayMethod, RefundState,
};
use crate::Error;

/// Money as the API shows it where it is read: the exact yuan string and the
/// integer fen, side by side (`"amount": "12.50", "amount_fen": 1250`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Yuan with exactly two decimals, e.g. `"12.50"`.
    pub amount: String,
    /// The same amount in fen, e.g. `1250`.
    pub amount_fen: u64,
}

impl From<Fen> for Money {
    fn from(fen: Fen) -> Self {
        Money {
            amount: fen.to_yuan(),
            amount_fen: fen.fen(),
        }
    }
}

impl Money {
    /// The amount as `Fen` (the integer is authoritative).
    pub fn fen(&self) -> Fen {
        Fen::from_fen(self.amount_fen)
    }
}

/// Every error body: `{"error": {"code", "message", "gateway_code"?}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// A stable error code plus a readable message; gateway failures keep the
/// gateway's `RESULT.CODE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `INVALID_LINK`, `ALREADY_PAID`, `GATEWAY_TIMEOUT`.
    pub code: ErrorCode,
    /// Human-readable explanation (English; the page localises by `code`).
    pub message: String,
    /// The gateway's `RESULT.CODE` when the gateway refused the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_code: Option<String>,
    /// The permission a 403 `FORBIDDEN` lacked, e.g. `refunds:write`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// Why a 401 `UNAUTHORIZED` refused the credential
    /// (`checkout::access::Refusal`: `revoked`, `expired`, `idle`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The stable error codes of every error body (`error.code`), and the one
/// HTTP status each is answered with ([`ErrorCode::status`]).
///
/// These names are contract: the page and merchants' systems match on
/// them, so a released code never changes. The Worker, the `/notify`
/// rejections, `checkout::Error` and the page all use this enum; none
/// spells a code by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The link token is not genuine.
    InvalidLink,
    /// The link's expiry has passed.
    LinkExpired,
    /// The merchant deactivated the link: it takes no more payments.
    LinkInactive,
    /// An API amount is malformed or out of range.
    InvalidAmount,
    /// The request body or a parameter is unusable.
    InvalidRequest,
    /// A refund above what is still refundable.
    RefundExceeds,
    /// The order's state cannot be refunded.
    NotRefundable,
    /// The link already has a kept payment.
    AlreadyPaid,
    /// The thing named in the path (or a notification's order) does not exist.
    NotFound,
    /// Wrong or missing bearer token.
    Unauthorized,
    /// The gateway did not answer in time.
    GatewayTimeout,
    /// The gateway failed or could not be reached; the caller may retry.
    GatewayUnavailable,
    /// The gateway refused (a final refusal).
    GatewayRejected,
    /// The gateway's answer failed its signature check.
    GatewayBadSignature,
    /// The gateway's redirect address is not one the page may follow.
    GatewayUnsafeRedirect,
    /// D1 failed; retry.
    StorageError,
    /// The Workers runtime failed outside D1; retry.
    InternalError,
    /// A required var, secret or binding is missing or invalid.
    Misconfigured,
    /// A body above 64 KiB.
    PayloadTooLarge,
    /// Too many attempts for one link in the window.
    RateLimited,
    /// An `Idempotency-Key` reused with another request.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still running.
    IdempotencyKeyInUse,
    /// `/notify`: the signature did not verify.
    InvalidSignature,
    /// `/notify`: undecryptable, unparseable or incomplete.
    MalformedNotification,
    /// `/notify`: signed outside the replay window.
    StaleNotification,
    /// `/notify`: another merchant's `BUSI_ID`.
    BusiIdMismatch,
    /// `/notify`: `AMT` differs from the attempt's amount.
    AmountMismatch,
    /// A wallet sign-in's `state` (or a signed shopper id) is forged,
    /// expired, replayed or another link's.
    SigninInvalid,
    /// WeChat or Alipay did not give the shopper's id (error, bad
    /// signature, timeout); the shopper may retry or pay another way.
    SigninFailed,
    /// The credential's role lacks the route's permission (`error.permission`).
    Forbidden,
    /// A mutating console request without the deployment's own `Origin`.
    CrossSite,
    /// A role that is not one of the five.
    InvalidRole,
    /// A key's or sign-in link's name that is empty or too long.
    InvalidName,
    /// An `expires_in` out of range.
    InvalidExpiresIn,
    /// Rolling a revoked or expired key.
    KeyRevoked,
    /// Revoking a key or session twice.
    AlreadyRevoked,
    /// A sign-in link opened a second time.
    SigninLinkUsed,
    /// A sign-in link opened after its expiry.
    SigninLinkExpired,
    /// A code this build does not know (a newer Worker): read, never written.
    #[serde(other)]
    Unknown,
}

impl Error {
    /// The stable API error code (`error.code` in every error body); its
    /// HTTP status is [`ErrorCode::status`].
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidLink => ErrorCode::InvalidLink,
            Error::LinkExpired => ErrorCode::LinkExpired,
            Error::LinkInactive => ErrorCode::LinkInactive,
            Error::InvalidAmount { .. } | Error::AmountOutOfRange { .. } => {
                ErrorCode::InvalidAmount
            }
            Error::InvalidRequest { .. } => ErrorCode::InvalidRequest,
            Error::RefundExceeds { .. } => ErrorCode::RefundExceeds,
            Error::NotRefundable { .. } => ErrorCode::NotRefundable,
            Error::SignInInvalid { .. } => ErrorCode::SigninInvalid,
            Error::SignInFailed { .. } => ErrorCode::SigninFailed,
            Error::InvalidSignature { .. } => ErrorCode::InvalidSignature,
            Error::GatewayIncomplete { .. } => ErrorCode::GatewayUnavailable,
            Error::Forbidden { .. } => ErrorCode::Forbidden,
            Error::InvalidRole => ErrorCode::InvalidRole,
            Error::InvalidName => ErrorCode::InvalidName,
            Error::InvalidExpiresIn { .. } => ErrorCode::InvalidExpiresIn,
            Error::KeyRevoked => ErrorCode::KeyRevoked,
            Error::AlreadyRevoked => ErrorCode::AlreadyRevoked,
            Error::SigninLinkUsed => ErrorCode::SigninLinkUsed,
            Error::SigninLinkExpired => ErrorCode::SigninLinkExpired,
            Error::CrossSite => ErrorCode::CrossSite,
        }
    }
}

impl ErrorCode {
    /// The one mapping of protocol failures to stable codes.
    ///
    /// Faults of the gateway (5xx, HTML, garbage, truncated or
    /// undecryptable bodies, an outcome-unknown `RESULT.CODE` such as
    /// `SERVICE_UNAVAILABLE`) are `GATEWAY_UNAVAILABLE`; a final refusal is
    /// `GATEWAY_REJECTED` (`gateway::classify`); a request we could not even
    /// build (a method-specific field missing) is the caller's
    /// `INVALID_REQUEST`. None of them is ever "paid".
    pub fn of_gateway(e: &soushou::Error) -> ErrorCode {
        use soushou::Error as E;
        match e {
            E::Gateway { code, .. } => match classify(code) {
                Verdict::Refused => ErrorCode::GatewayRejected,
                // The gateway failed rather than declined: the shopper may retry.
                Verdict::Unknown => ErrorCode::GatewayUnavailable,
            },
            E::MissingField(_) | E::InvalidField { .. } | E::InvalidAmount { .. } => {
                ErrorCode::InvalidRequest
            }
            E::MissingSign | E::MalformedSign(_) | E::SignMismatch => {
                ErrorCode::GatewayBadSignature
            }
            _ => ErrorCode::GatewayUnavailable,
        }
    }

    /// The HTTP status this code is answered with: the one table of
    /// API.md's statuses.
    pub fn status(self) -> u16 {
        use ErrorCode as C;
        match self {
            C::InvalidLink
            | C::InvalidAmount
            | C::InvalidRequest
            | C::RefundExceeds
            | C::MalformedNotification
            | C::StaleNotification
            | C::BusiIdMismatch
            | C::AmountMismatch
            | C::SigninInvalid
            | C::InvalidRole
            | C::InvalidName
            | C::InvalidExpiresIn => 400,
            C::Unauthorized | C::InvalidSignature => 401,
            C::Forbidden | C::CrossSite => 403,
            C::NotFound => 404,
            C::AlreadyPaid
            | C::NotRefundable
            | C::IdempotencyKeyReused
            | C::IdempotencyKeyInUse
            | C::KeyRevoked
            | C::AlreadyRevoked => 409,
            C::LinkExpired | C::LinkInactive | C::SigninLinkUsed | C::SigninLinkExpired => 410,
            C::PayloadTooLarge => 413,
            C::RateLimited => 429,
            C::StorageError | C::InternalError | C::Misconfigured | C::Unknown => 500,
            C::GatewayUnavailable
            | C::GatewayRejected
            | C::GatewayBadSignature
            | C::GatewayUnsafeRedirect
            | C::SigninFailed => 502,
            C::GatewayTimeout => 504,
        }
    }

    /// The wire spelling (for log lines; the JSON uses serde).
    pub fn as_str(self) -> &'static str {
        use ErrorCode as C;
        match self {
            C::InvalidLink => "INVALID_LINK",
            C::LinkExpired => "LINK_EXPIRED",
            C::LinkInactive => "LINK_INACTIVE",
            C::InvalidAmount => "INVALID_AMOUNT",
            C::InvalidRequest => "INVALID_REQUEST",
            C::RefundExceeds => "REFUND_EXCEEDS",
            C::NotRefundable => "NOT_REFUNDABLE",
            C::AlreadyPaid => "ALREADY_PAID",
            C::NotFound => "NOT_FOUND",
            C::Unauthorized => "UNAUTHORIZED",
            C::GatewayTimeout => "GATEWAY_TIMEOUT",
            C::GatewayUnavailable => "GATEWAY_UNAVAILABLE",
            C::GatewayRejected => "GATEWAY_REJECTED",
            C::GatewayBadSignature => "GATEWAY_BAD_SIGNATURE",
            C::GatewayUnsafeRedirect => "GATEWAY_UNSAFE_REDIRECT",
            C::StorageError => "STORAGE_ERROR",
            C::InternalError => "INTERNAL_ERROR",
            C::Misconfigured => "MISCONFIGURED",
            C::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            C::RateLimited => "RATE_LIMITED",
            C::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            C::IdempotencyKeyInUse => "IDEMPOTENCY_KEY_IN_USE",
            C::InvalidSignature => "INVALID_SIGNATURE",
            C::MalformedNotification => "MALFORMED_NOTIFICATION",
            C::StaleNotification => "STALE_NOTIFICATION",
            C::BusiIdMismatch => "BUSI_ID_MISMATCH",
            C::AmountMismatch => "AMOUNT_MISMATCH",
            C::SigninInvalid => "SIGNIN_INVALID",
            C::SigninFailed => "SIGNIN_FAILED",
            C::Forbidden => "FORBIDDEN",
            C::CrossSite => "CROSS_SITE",
            C::InvalidRole => "INVALID_ROLE",
            C::InvalidName => "INVALID_NAME",
            C::InvalidExpiresIn => "INVALID_EXPIRES_IN",
            C::KeyRevoked => "KEY_REVOKED",
            C::AlreadyRevoked => "ALREADY_REVOKED",
            C::SigninLinkUsed => "SIGNIN_LINK_USED",
            C::SigninLinkExpired => "SIGNIN_LINK_EXPIRED",
            C::Unknown => "UNKNOWN",
        }
    }
}

/// A reader that finds no variant for a spelling takes [`ErrorCode::Unknown`],
/// as the serde derive's `#[serde(other)]` does.
impl Spelled for ErrorCode {
    const ALL: &'static [Self] = {
        use ErrorCode as C;
        &[
            C::InvalidLink,
            C::LinkExpired,
            C::LinkInactive,
            C::InvalidAmount,
            C::InvalidRequest,
            C::RefundExceeds,
            C::NotRefundable,
            C::AlreadyPaid,
            C::NotFound,
            C::Unauthorized,
            C::GatewayTimeout,
            C::GatewayUnavailable,
            C::GatewayRejected,
            C::GatewayBadSignature,
            C::GatewayUnsafeRedirect,
            C::StorageError,
            C::InternalError,
            C::Misconfigured,
            C::PayloadTooLarge,
            C::RateLimited,
            C::IdempotencyKeyReused,
            C::IdempotencyKeyInUse,
            C::InvalidSignature,
            C::MalformedNotification,
            C::StaleNotification,
            C::BusiIdMismatch,
            C::AmountMismatch,
            C::SigninInvalid,
            C::SigninFailed,
            C::Forbidden,
            C::CrossSite,
            C::InvalidRole,
            C::InvalidName,
            C::InvalidExpiresIn,
            C::KeyRevoked,
            C::AlreadyRevoked,
            C::SigninLinkUsed,
            C::SigninLinkExpired,
            C::Unknown,
        ]
    };
    fn spelling(self) -> &'static str {
        self.as_str()
    }
}

/// `GET /api/checkout/{token}` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutView {
    /// Merchant's display name.
    pub merchant: String,
    /// What is being paid for.
    pub subject: String,
    /// The amount to pay.
    #[serde(flatten)]
    pub money: Money,
    /// Always `"CNY"`.
    pub currency: String,
    /// Unix seconds after which the link cannot be paid.
    pub expires_at: u64,
    /// Open, paid or expired.
    pub state: LinkState,
    /// The charge code of the paid (or latest pending) attempt, if any.
    pub charge_code: Option<String>,
    /// Where to send the shopper after payment.
    pub return_url: Option<String>,
    /// Goods lines, if the merchant gave any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goods: Vec<GoodsLine>,
    /// The link's restriction to one payment app, so the page can route
    /// (e.g. show "open in browser" for an Alipay-only link inside WeChat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<LinkChannel>,
    /// Set for an open-amount link: the shopper types an amount within
    /// these bounds and sends it as [`PayRequest::amount`]. `amount` above
    /// is then the shown attempt's amount, or `min_amount` before any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_amount: Option<AmountBounds>,
}

/// The bounds of an open-amount link, as yuan strings and fen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountBounds {
    /// Smallest amount, e.g. `"1.00"`.
    pub min_amount: String,
    /// The same in fen.
    pub min_amount_fen: u64,
    /// Largest amount.
    pub max_amount: String,
    /// The same in fen.
    pub max_amount_fen: u64,
}

impl AmountBounds {
    /// The bounds of `amount`, `None` for a fixed link.
    pub fn of(amount: &LinkAmount) -> Option<AmountBounds> {
        match *amount {
            LinkAmount::Fixed { .. } => None,
            LinkAmount::Open { min, max } => Some(AmountBounds {
                min_amount: min.to_yuan(),
                min_amount_fen: min.fen(),
                max_amount: max.to_yuan(),
                max_amount_fen: max.fen(),
            }),
        }
    }

    /// Checks a typed amount (`amount::parse_in_range`).
    pub fn parse(&self, typed: &str) -> Result<Fen, Error> {
        crate::amount::parse_in_range(
            typed,
            Fen::from_fen(self.min_amount_fen),
            Fen::from_fen(self.max_amount_fen),
        )
    }
}

impl CheckoutView {
    /// The view of a verified link. Everything the shopper sees about the
    /// payment comes from the signed payload, never from the request, except
    /// an open-amount link's `attempt_amount`: the stored amount of the
    /// attempt named by `charge_code`, fixed when it was created.
    pub fn from_link(
        merchant: impl Into<String>,
        link: &LinkPayload,
        state: LinkState,
        charge_code: Option<String>,
        attempt_amount: Option<Fen>,
    ) -> Self {
        let amount = match link.amount {
            LinkAmount::Fixed { amount } => amount,
            LinkAmount::Open { min, .. } => attempt_amount.unwrap_or(min),
        };
        CheckoutView {
            merchant: merchant.into(),
            subject: link.subject.clone(),
            money: Money::from(amount),
            open_amount: AmountBounds::of(&link.amount),
            currency: "CNY".to_owned(),
            expires_at: link.expires_at,
            state,
            charge_code,
            return_url: link.return_url.clone(),
            goods: link.goods.iter().map(LinkGoods::to_line).collect(),
            channel: link.channel,
        }
    }
}

/// `POST /api/pay` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayRequest {
    /// The checkout link's token.
    pub token: String,
    /// The payment method the page chose.
    pub method: PayMethod,
    /// WeChat openid (required for `wechat_jsapi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Alipay buyer id (`alipay_jsapi`: this or `buyer_logon_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_id: Option<String>,
    /// Alipay logon id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
    /// The shopper's amount (yuan string) for an open-amount link; must be
    /// absent or equal to the amount for a fixed link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

/// The six WeChat JSAPI parameters, named exactly as `getBrandWCPayRequest` wants them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatPayParams {
    /// `appId`.
    #[serde(rename = "appId")]
    pub app_id: String,
    /// `timeStamp` (a string, as WeChat requires).
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    /// `nonceStr`.
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    /// `package` (the gateway's `packageData`, `prepay_id=...`).
    pub package: String,
    /// `signType`.
    #[serde(rename = "signType")]
    pub sign_type: String,
    /// `paySign` (the gateway's `sign`).
    #[serde(rename = "paySign")]
    pub pay_sign: String,
}

/// What the page must do next to let the shopper pay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PayAction {
    /// Invoke `WeixinJSBridge.invoke('getBrandWCPayRequest', params, cb)`.
    WechatJsapi {
        /// The bridge arguments.
        params: WechatPayParams,
    },
    /// Invoke `AlipayJSBridge.call('tradePay', {tradeNO}, cb)`.
    AlipayTradePay {
        /// Alipay trade number (`CHARGE_THIRD_CODE`).
        trade_no: String,
    },
    /// Navigate to the payment app's link (`BAR_CODE` of `wapOrder`).
    Redirect {
        /// Where to go.
        url: String,
    },
    /// Show a QR code of this content (`BAR_CODE` of NATIVE `order`).
    Qr {
        /// The QR payload.
        content: String,
        /// The QR code of `content` as SVG markup ([`crate::qr::svg`]),
        /// drawn by the Worker so the page carries no QR encoder (an
        /// addition to API v1). `None` when `content` is too long for a QR code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        svg: Option<String>,
    },
}

/// `POST /api/pay` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayResponse {
    /// The new attempt's `CHARGE_CODE`; poll `/api/orders/{charge_code}`.
    pub charge_code: String,
    /// The method used (may differ from the requested one after routing fallbacks).
    pub method: PayMethod,
    /// What the page does next.
    pub action: PayAction,
}

/// `GET /api/orders/{charge_code}` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// The attempt's `CHARGE_CODE`.
    pub charge_code: String,
    /// Current state.
    pub state: OrderStatus,
    /// The attempt's amount.
    #[serde(flatten)]
    pub money: Money,
    /// When it was paid (unix seconds).
    pub paid_at: Option<u64>,
    /// Where to send the shopper after payment.
    pub return_url: Option<String>,
}

// ---------------------------------------------------------------------------
// Merchant-facing (`Authorization: Bearer ADMIN_TOKEN`)
// ---------------------------------------------------------------------------

/// `POST /v1/links` body: the merchant asks for a checkout link.
///
/// Validated and turned into a signed [`crate::link::LinkPayload`] by
/// [`CreateLinkRequest::to_payload`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLinkRequest {
    /// Yuan string, at most two decimals (`"12.50"`); absent for an
    /// open-amount link, which gives `min_amount` and `max_amount` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Open-amount link: the smallest amount the shopper may pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_amount: Option<String>,
    /// Open-amount link: the largest amount the shopper may pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<String>,
    /// What the shopper pays for (shown on the page, sent as `PAY_SUBJECT`).
    pub subject: String,
    /// The merchant's own reference (order number), echoed back in order views.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#ref: Option<String>,
    /// Lifetime in seconds; default 86400 (one day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Where to send the shopper after payment (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Goods lines to show and to send as `GOODS_DETAIL`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goods: Vec<GoodsLine>,
    /// Restrict the link to one payment app (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<LinkChannel>,
    /// `fixed` (the default with `amount`), `open` (the default with
    /// bounds) or `counter` (bounds; many payments; no expiry unless
    /// `expires_in` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<LinkKind>,
}

impl CreateLinkRequest {
    /// Validate a merchant's `POST /v1/links` body and build the payload.
    ///
    /// `now` (unix seconds) anchors the expiry; `nonce` must be fresh
    /// randomness from the caller (this crate has none). Goods prices are
    /// normalised to two decimals. `return_url` must be `http(s)://` so the
    /// page can never be made to navigate to `javascript:` or another scheme.
    pub fn to_payload(&self, now: u64, nonce: String) -> Result<LinkPayload, Error> {
        use link::{goods_line, return_url, text};
        let req = self;
        let amount = match (&req.amount, &req.min_amount, &req.max_amount) {
            (Some(a), None, None) => LinkAmount::Fixed {
                amount: parse_api_amount(a)?,
            },
            (None, Some(min), Some(max)) => {
                let (min, max) = crate::amount::parse_bounds(min, max)?;
                LinkAmount::Open { min, max }
            }
            _ => {
                return Err(Error::InvalidAmount {
                    reason: "give either amount, or both min_amount and max_amount",
                })
            }
        };
        let subject = text("subject", &req.subject, link::MAX_SUBJECT_CHARS)?;
        let merchant_ref = req
            .r#ref
            .as_deref()
            .map(|r| text("ref", r, link::MAX_REF_CHARS))
            .transpose()?;
        let many = match (req.kind, amount) {
            (None, _) => false,
            (Some(LinkKind::Fixed), LinkAmount::Fixed { .. })
            | (Some(LinkKind::Open), LinkAmount::Open { .. }) => false,
            (Some(LinkKind::Counter), LinkAmount::Open { .. }) => true,
            (Some(_), _) => {
                return Err(Error::InvalidRequest {
                    field: "kind",
                    reason: "fixed takes amount; open and counter take min_amount and max_amount",
                })
            }
        };
        let expires_at = match (req.expires_in, many) {
            // A printed counter code lasts until deactivated.
            (None, true) => link::NEVER,
            (given, _) => {
                let expires_in = given.unwrap_or(link::DEFAULT_EXPIRES_IN);
                if expires_in == 0 || expires_in > link::MAX_EXPIRES_IN {
                    return Err(Error::InvalidRequest {
                        field: "expires_in",
                        reason: "must be between 1 and 2592000 seconds",
                    });
                }
                now.checked_add(expires_in).ok_or(Error::InvalidRequest {
                    field: "expires_in",
                    reason: "expiry out of range",
                })?
            }
        };
        let return_url = req.return_url.as_deref().map(return_url).transpose()?;
        if req.goods.len() > link::MAX_GOODS {
            return Err(Error::InvalidRequest {
                field: "goods",
                reason: "at most 20 goods lines",
            });
        }
        let goods = req
            .goods
            .iter()
            .map(goods_line)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LinkPayload {
            amount,
            subject,
            merchant_ref,
            expires_at,
            return_url,
            goods,
            channel: req.channel,
            many,
            nonce,
        })
    }
}

/// A link as the merchant API answers it (`POST /v1/links` → 200, `POST
/// /v1/links/{id}/deactivate`): contract v1.1's `id`, `kind`, `url`,
/// `active`, and v1's `token`, `expires_at` and `link_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLinkResponse {
    /// The link's id (`checkout::link::link_id`).
    #[serde(default)]
    pub id: String,
    /// Its kind.
    pub kind: LinkKind,
    /// The checkout page's URL to hand to the shopper (`{PUBLIC_BASE_URL}/c/{token}`).
    pub url: String,
    /// The signed token itself.
    pub token: String,
    /// Unix seconds from which the link can no longer be paid; `null` for
    /// a counter code without expiry.
    pub expires_at: Option<u64>,
    /// Whether it accepts payments (not deactivated).
    pub active: bool,
    /// The same as `id` (v1's name), for `GET /v1/links/{id}/qr.svg`.
    #[serde(default)]
    pub link_id: String,
}

impl CreateLinkResponse {
    /// The answer for the link `token` (with its `url`), which says
    /// `payload`, `active` or not.
    pub fn of(payload: &LinkPayload, token: String, url: String, active: bool) -> Self {
        let id = link::link_id(&token);
        CreateLinkResponse {
            link_id: id.clone(),
            id,
            kind: payload.kind(),
            url,
            token,
            expires_at: (payload.expires_at != link::NEVER).then_some(payload.expires_at),
            active,
        }
    }
}

/// `POST /v1/orders/{charge_code}/refunds` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// Yuan string to refund; the total may not exceed the paid amount.
    pub amount: String,
    /// Why (sent as `REFUND_SUBJECT`).
    pub reason: String,
    /// The merchant's refund number, for idempotent retries (`OUT_REFUND_NO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_refund_no: Option<String>,
}

/// `POST /v1/orders/{charge_code}/cancel` body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    /// `true`: apply for revocation (`opType=ACO`); `false`: revoke in real time.
    pub apply: bool,
}

/// `POST /v1/pos/charges` body: charge a code the shopper shows (`preOrder`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosChargeRequest {
    /// The scanned payment code (`DYNAMIC_ID`).
    pub dynamic_id: String,
    /// `DYNAMIC_ID_TYPE`: 1 (barcode, the default), 2 (sonic) or 3 (NFC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_id_type: Option<ScanKind>,
    /// Yuan string, at most two decimals.
    pub amount: String,
    /// What is being paid for.
    pub subject: String,
    /// `"auto"` (CHANNEL_TYPE 0, the gateway decides), `"alipay"` or `"wechat"`; default auto.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<PosChannel>,
}

/// `POST /v1/qr-orders` body: a NATIVE order whose QR the merchant shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrOrderRequest {
    /// Yuan string, at most two decimals.
    pub amount: String,
    /// What is being paid for.
    pub subject: String,
    /// Which app's QR code to create.
    pub channel: LinkChannel,
}

/// `POST /v1/qr-orders` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrOrderResponse {
    /// The new order's `CHARGE_CODE`.
    pub charge_code: String,
    /// The QR content (`BAR_CODE`).
    pub qr: String,
}

// ---------------------------------------------------------------------------
// Merchant answers: what `/v1` routes return. Typed here, not `soushou`'s
// wire structs, so the public API does not follow the protocol crate's
// layout; `crates/worker/README.md` documents each.
// ---------------------------------------------------------------------------

/// One state-history entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    /// Previous state.
    pub from_state: OrderStatus,
    /// New state.
    pub to_state: OrderStatus,
    /// What caused it.
    pub source: EventSource,
    /// Unix seconds.
    pub at: u64,
}

/// Processed notifications of an order, per gateway state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRecord {
    /// The gateway's state code in the notification.
    pub gateway_state: String,
    /// `AMT` of the notification, fen.
    pub amount_fen: u64,
    /// Outcome of the first one: applied, duplicate or stale.
    pub outcome: String,
    /// How many verified copies arrived.
    pub received: u64,
    /// Unix seconds.
    pub first_at: u64,
    /// Unix seconds.
    pub last_at: u64,
}

/// One refund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecord {
    /// `OUT_REFUND_NO`.
    pub out_refund_no: String,
    /// Refunded attempt.
    pub charge_code: String,
    /// Amount, fen.
    pub amount_fen: u64,
    /// Merchant's reason (`REFUND_SUBJECT`).
    pub reason: String,
    /// Where it stands.
    pub state: RefundState,
    /// Gateway code when it refused.
    pub gateway_code: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds it last changed (settled, refused or retried).
    #[serde(default)]
    pub updated_at: u64,
}

/// The gateway's word on an order (`query`, or a `preOrder`'s answer):
/// the `"gateway"` of `GET /v1/orders/{code}` and `POST /v1/pos/charges`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayOrder {
    /// The gateway's `STATE` code (appendix 4), when it gave one.
    pub state: Option<String>,
    /// `AMT` in yuan, when given.
    pub amount: Option<String>,
    /// `AMT` in fen, when given.
    pub amount_fen: Option<u64>,
    /// `CHANNEL_TYPE` code, when given.
    pub channel_type: Option<String>,
    /// The gateway's serial number.
    pub charge_down_code: Option<String>,
    /// The payment channel's serial number (`preOrder` answers only).
    pub charge_third_code: Option<String>,
    /// `END_TIME` as the gateway wrote it.
    pub end_time: Option<String>,
}

/// The live part of `GET /v1/orders/{code}`: the gateway's answer, or why
/// there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LiveQuery {
    /// The query failed; the stored order is still shown.
    Failed {
        /// The error, as in an error body.
        error: ErrorDetail,
    },
    /// The gateway answered.
    Answered(GatewayOrder),
}

/// `GET /v1/orders/{charge_code}` → 200: the stored order, its history,
/// notifications and refunds, and the gateway's live view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantOrder {
    /// What the shopper sees.
    pub order: OrderView,
    /// What created the attempt.
    pub kind: OrderKind,
    /// How it is paid.
    pub method: OrderMethod,
    /// `CHANNEL_TYPE` code.
    pub channel_type: String,
    /// `PAY_SUBJECT`.
    pub subject: String,
    /// Refunded so far, yuan.
    pub refunded: String,
    /// Refunded so far, fen.
    pub refunded_fen: u64,
    /// The gateway's serial number.
    pub charge_down_code: Option<String>,
    /// The payment channel's serial number.
    pub charge_third_code: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
    /// State changes, oldest first.
    pub history: Vec<OrderEvent>,
    /// Verified notifications, per gateway state.
    pub notifications: Vec<NotificationRecord>,
    /// Refunds, oldest first.
    pub refunds: Vec<RefundRecord>,
    /// The gateway's live view; `null` with `?live=false`.
    pub gateway: Option<LiveQuery>,
}

/// One part of a refund by source (`FUND_BILL_LIST`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundPart {
    /// `FUND_CHANNEL` code (appendix 3).
    pub fund_channel: String,
    /// Yuan.
    pub amount: String,
    /// Fen.
    pub amount_fen: u64,
}

/// The gateway's answer to a refund.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayRefund {
    /// `CHANNEL_TYPE` code, when given.
    pub channel_type: Option<String>,
    /// What went back to which source, when the gateway said.
    pub fund_bills: Vec<FundPart>,
}

/// `POST /v1/orders/{charge_code}/refunds` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResponse {
    /// The refund's number.
    pub out_refund_no: String,
    /// The refunded attempt.
    pub charge_code: String,
    /// This refund, yuan.
    pub amount: String,
    /// This refund, fen.
    pub amount_fen: u64,
    /// Always `succeeded` (anything else is an error answer).
    pub state: RefundState,
    /// The order's state after it.
    pub order_state: OrderStatus,
    /// The order's refunded total, yuan.
    pub refunded: String,
    /// The order's refunded total, fen.
    pub refunded_fen: u64,
    /// The gateway's answer; `null` when a retry found the refund done.
    pub gateway: Option<GatewayRefund>,
}

/// One refund as the gateway's `refundQuery` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayRefundLine {
    /// `REFUND_CODE` (our `out_refund_no`).
    pub refund_code: Option<String>,
    /// The gateway's serial number of the refund.
    pub refund_down_code: Option<String>,
    /// Yuan.
    pub amount: Option<String>,
    /// Fen.
    pub amount_fen: Option<u64>,
    /// The gateway's `STATE` code.
    pub state: Option<String>,
    /// `END_TIME` as the gateway wrote it.
    pub end_time: Option<String>,
}

/// `GET /v1/orders/{charge_code}/refunds` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundList {
    /// The attempt.
    pub charge_code: String,
    /// Paid, yuan.
    pub amount: String,
    /// Paid, fen.
    pub amount_fen: u64,
    /// Refunded so far, yuan.
    pub refunded: String,
    /// Refunded so far, fen.
    pub refunded_fen: u64,
    /// The stored refunds.
    pub refunds: Vec<RefundRecord>,
    /// `REFUND_COUNT` of the gateway's answer.
    pub gateway_refund_count: Option<u32>,
    /// The gateway's list.
    pub gateway_refunds: Vec<GatewayRefundLine>,
}

/// `POST /v1/orders/{charge_code}/cancel` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelResponse {
    /// The attempt.
    pub charge_code: String,
    /// `apply` (opType=ACO) or `real_time`.
    pub mode: String,
    /// The stored state after the call.
    pub state: OrderStatus,
}

/// `POST /v1/pos/charges` → 200: the charge's final state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosChargeResponse {
    /// The attempt.
    pub charge_code: String,
    /// Its final state (`pending` only if even the revocation's outcome is unknown).
    pub state: OrderStatus,
    /// Yuan.
    pub amount: String,
    /// Fen.
    pub amount_fen: u64,
    /// `CHANNEL_TYPE` code of the `preOrder` answer.
    pub channel_type: Option<String>,
    /// The gateway's serial number.
    pub charge_down_code: Option<String>,
    /// The payment channel's serial number.
    pub charge_third_code: Option<String>,
    /// The `preOrder` answer; `null` when none arrived (a resumed charge, a timeout).
    pub gateway: Option<GatewayOrder>,
}

/// `GET /healthz` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// Always `true` when the Worker answers.
    pub ok: bool,
    /// The deployed version.
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_codes_spell_and_answer_as_api_md_says() {
        use ErrorCode as C;
        let table = [
            (C::InvalidLink, "INVALID_LINK", 400),
            (C::LinkExpired, "LINK_EXPIRED", 410),
            (C::LinkInactive, "LINK_INACTIVE", 410),
            (C::InvalidAmount, "INVALID_AMOUNT", 400),
            (C::InvalidRequest, "INVALID_REQUEST", 400),
            (C::RefundExceeds, "REFUND_EXCEEDS", 400),
            (C::NotRefundable, "NOT_REFUNDABLE", 409),
            (C::AlreadyPaid, "ALREADY_PAID", 409),
            (C::NotFound, "NOT_FOUND", 404),
            (C::Unauthorized, "UNAUTHORIZED", 401),
            (C::GatewayTimeout, "GATEWAY_TIMEOUT", 504),
            (C::GatewayUnavailable, "GATEWAY_UNAVAILABLE", 502),
            (C::GatewayRejected, "GATEWAY_REJECTED", 502),
            (C::GatewayBadSignature, "GATEWAY_BAD_SIGNATURE", 502),
            (C::GatewayUnsafeRedirect, "GATEWAY_UNSAFE_REDIRECT", 502),
            (C::StorageError, "STORAGE_ERROR", 500),
            (C::InternalError, "INTERNAL_ERROR", 500),
            (C::Misconfigured, "MISCONFIGURED", 500),
            (C::PayloadTooLarge, "PAYLOAD_TOO_LARGE", 413),
            (C::RateLimited, "RATE_LIMITED", 429),
            (C::IdempotencyKeyReused, "IDEMPOTENCY_KEY_REUSED", 409),
            (C::IdempotencyKeyInUse, "IDEMPOTENCY_KEY_IN_USE", 409),
            (C::InvalidSignature, "INVALID_SIGNATURE", 401),
            (C::MalformedNotification, "MALFORMED_NOTIFICATION", 400),
            (C::StaleNotification, "STALE_NOTIFICATION", 400),
            (C::BusiIdMismatch, "BUSI_ID_MISMATCH", 400),
            (C::AmountMismatch, "AMOUNT_MISMATCH", 400),
            (C::SigninInvalid, "SIGNIN_INVALID", 400),
            (C::SigninFailed, "SIGNIN_FAILED", 502),
        ];
        for (code, wire, status) in table {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(wire));
            assert_eq!(code.as_str(), wire);
            assert_eq!(code.status(), status, "{wire}");
            assert_eq!(
                serde_json::from_value::<ErrorCode>(json!(wire)).unwrap(),
                code
            );
        }
    }

    #[test]
    fn gateway_failures_map_to_codes() {
        use soushou::types::ResultCode;
        use soushou::Error as E;
        let refusal = |code| E::Gateway {
            code,
            info: String::new(),
        };
        let table = [
            (refusal(ResultCode::AmtError), ErrorCode::GatewayRejected),
            (
                refusal(ResultCode::ServiceUnavailable),
                ErrorCode::GatewayUnavailable,
            ),
            (E::MissingField("SUB_OPENID"), ErrorCode::InvalidRequest),
            (E::SignMismatch, ErrorCode::GatewayBadSignature),
            (E::MissingSign, ErrorCode::GatewayBadSignature),
            (E::Http { status: 503 }, ErrorCode::GatewayUnavailable),
            (E::NotGatewayMessage, ErrorCode::GatewayUnavailable),
            (E::Decode("x".into()), ErrorCode::GatewayUnavailable),
        ];
        for (e, code) in table {
            assert_eq!(ErrorCode::of_gateway(&e), code, "{e}");
        }
    }

    #[test]
    fn an_unknown_error_code_is_read_not_refused() {
        let body: ErrorBody =
            serde_json::from_value(json!({"error": {"code": "SOMETHING_NEW", "message": "m"}}))
                .unwrap();
        assert_eq!(body.error.code, ErrorCode::Unknown);
    }

    #[test]
    fn create_link_request_minimal_and_full() {
        let min: CreateLinkRequest =
            serde_json::from_value(json!({"amount": "12.50", "subject": "Tea"})).unwrap();
        assert_eq!(min.amount.as_deref(), Some("12.50"));
        assert_eq!(min.r#ref, None);
        assert_eq!(min.expires_in, None);
        assert!(min.goods.is_empty());
        assert_eq!(min.channel, None);
        assert_eq!(
            serde_json::to_value(&min).unwrap(),
            json!({"amount": "12.50", "subject": "Tea"})
        );

        let full = json!({"amount": "3", "subject": "S", "ref": "R-1", "expires_in": 600,
            "return_url": "https://shop.example/done",
            "goods": [{"id": "g1", "name": "Green tea", "price": "1.50", "quantity": 2}],
            "channel": "alipay"});
        let req: CreateLinkRequest = serde_json::from_value(full.clone()).unwrap();
        assert_eq!(req.r#ref.as_deref(), Some("R-1"));
        assert_eq!(req.channel, Some(LinkChannel::Alipay));
        assert_eq!(req.goods[0].quantity, 2);
        assert_eq!(serde_json::to_value(&req).unwrap(), full);
    }

    #[test]
    fn link_channel_spelling() {
        assert_eq!(
            serde_json::to_string(&LinkChannel::Wechat).unwrap(),
            "\"wechat\""
        );
        assert_eq!(
            serde_json::from_str::<LinkChannel>("\"alipay\"").unwrap(),
            LinkChannel::Alipay
        );
        assert!(serde_json::from_str::<LinkChannel>("\"WeChat\"").is_err());
        assert_eq!(LinkChannel::Alipay.as_str(), "alipay");
    }

    #[test]
    fn merchant_bodies() {
        let r: RefundRequest =
            serde_json::from_value(json!({"amount": "1.00", "reason": "broken"})).unwrap();
        assert_eq!(r.out_refund_no, None);
        let c: CancelRequest = serde_json::from_value(json!({"apply": true})).unwrap();
        assert!(c.apply);
        let p: PosChargeRequest = serde_json::from_value(
            json!({"dynamic_id": "134", "amount": "1", "subject": "x", "channel": "auto"}),
        )
        .unwrap();
        assert_eq!(p.dynamic_id_type, None);
        assert_eq!(p.channel, Some(crate::merchant::PosChannel::Auto));
        let q: QrOrderRequest =
            serde_json::from_value(json!({"amount": "1", "subject": "x", "channel": "wechat"}))
                .unwrap();
        assert_eq!(q.channel, LinkChannel::Wechat);
        assert!(
            serde_json::from_value::<QrOrderRequest>(json!({"amount": "1", "subject": "x"}))
                .is_err()
        );
        assert_eq!(
            serde_json::to_value(QrOrderResponse {
                charge_code: "C1".into(),
                qr: "weixin://x".into()
            })
            .unwrap(),
            json!({"charge_code": "C1", "qr": "weixin://x"})
        );
        assert_eq!(
            serde_json::to_value(HealthResponse {
                ok: true,
                version: "0.1.0".into()
            })
            .unwrap(),
            json!({"ok": true, "version": "0.1.0"})
        );
        assert_eq!(
            serde_json::to_value(CreateLinkResponse {
                id: "l".into(),
                kind: LinkKind::Fixed,
                url: "u".into(),
                token: "t".into(),
                expires_at: Some(5),
                active: true,
                link_id: "l".into(),
            })
            .unwrap(),
            json!({"id": "l", "kind": "fixed", "url": "u", "token": "t", "expires_at": 5,
                "active": true, "link_id": "l"})
        );
    }

    #[test]
    fn shopper_views_flatten_money() {
        let view = OrderView {
            charge_code: "C1".into(),
            state: OrderStatus::PartiallyRefunded,
            money: Money::from(Fen::from_fen(1250)),
            paid_at: Some(1_795_650_000),
            return_url: None,
        };
        let v = serde_json::to_value(&view).unwrap();
        assert_eq!(
            v,
            json!({"charge_code": "C1", "state": "partially_refunded", "amount": "12.50",
                "amount_fen": 1250, "paid_at": 1_795_650_000u64, "return_url": null})
        );
        assert_eq!(serde_json::from_value::<OrderView>(v).unwrap(), view);
        for s in OrderStatus::ALL {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                json!(s.as_str()),
                "as_str and serde agree"
            );
        }
    }

    #[test]
    fn checkout_view_from_link() {
        let link = LinkPayload {
            amount: LinkAmount::Fixed {
                amount: Fen::from_fen(1250),
            },
            subject: "Tea".into(),
            merchant_ref: Some("R".into()),
            expires_at: 1_795_650_000,
            return_url: Some("https://shop.example/".into()),
            goods: vec![],
            channel: Some(LinkChannel::Alipay),
            many: false,
            nonce: "n".into(),
        };
        let view = CheckoutView::from_link("Shop", &link, LinkState::Open, None, None);
        let v = serde_json::to_value(&view).unwrap();
        assert_eq!(
            v,
            json!({"merchant": "Shop", "subject": "Tea", "amount": "12.50", "amount_fen": 1250,
                "currency": "CNY", "expires_at": 1_795_650_000u64, "state": "open",
                "charge_code": null, "return_url": "https://shop.example/", "channel": "alipay"})
        );
        assert_eq!(serde_json::from_value::<CheckoutView>(v).unwrap(), view);
        // Without a restriction the field is absent, as in API.md.
        let open = LinkPayload {
            channel: None,
            ..link
        };
        let v = serde_json::to_value(CheckoutView::from_link(
            "Shop",
            &open,
            LinkState::Paid,
            Some("C".into()),
            Some(Fen::from_fen(99)),
        ))
        .unwrap();
        assert!(v.get("channel").is_none());
        assert!(v.get("open_amount").is_none());
        assert_eq!(v["state"], "paid");
        assert_eq!(v["charge_code"], "C");
        // A fixed link shows its own amount whatever the attempt says.
        assert_eq!(v["amount_fen"], 1250);
    }

    #[test]
    fn checkout_view_of_open_amount_link() {
        let link = LinkPayload {
            amount: LinkAmount::Open {
                min: Fen::from_fen(100),
                max: Fen::from_fen(50_000),
            },
            subject: "Counter".into(),
            merchant_ref: None,
            expires_at: 1_795_650_000,
            return_url: None,
            goods: vec![],
            channel: None,
            many: false,
            nonce: "n".into(),
        };
        let before = CheckoutView::from_link("Shop", &link, LinkState::Open, None, None);
        let v = serde_json::to_value(&before).unwrap();
        assert_eq!(
            v["open_amount"],
            json!({"min_amount": "1.00", "min_amount_fen": 100,
                "max_amount": "500.00", "max_amount_fen": 50_000})
        );
        assert_eq!(v["amount_fen"], 100);
        assert_eq!(serde_json::from_value::<CheckoutView>(v).unwrap(), before);
        let paid = CheckoutView::from_link(
            "Shop",
            &link,
            LinkState::Paid,
            Some("C".into()),
            Some(Fen::from_fen(1234)),
        );
        assert_eq!(paid.money, Money::from(Fen::from_fen(1234)));
        let bounds = paid.open_amount.unwrap();
        assert_eq!(bounds.parse("12.34"), Ok(Fen::from_fen(1234)));
        assert_eq!(
            bounds.parse("0.5"),
            Err(Error::AmountOutOfRange {
                min: Fen::from_fen(100),
                max: Fen::from_fen(50_000)
            })
        );
    }

    #[test]
    fn pay_action_is_tagged() {
        let a = PayAction::Qr {
            content: "weixin://q".into(),
            svg: None,
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({"type": "qr", "content": "weixin://q"})
        );
        let with_svg = PayAction::Qr {
            content: "weixin://q".into(),
            svg: Some("<svg/>".into()),
        };
        assert_eq!(
            serde_json::to_value(&with_svg).unwrap(),
            json!({"type": "qr", "content": "weixin://q", "svg": "<svg/>"})
        );
        let t: PayAction =
            serde_json::from_value(json!({"type": "alipay_trade_pay", "trade_no": "T"})).unwrap();
        assert_eq!(
            t,
            PayAction::AlipayTradePay {
                trade_no: "T".into()
            }
        );
        for m in [
            PayMethod::WechatJsapi,
            PayMethod::AlipayJsapi,
            PayMethod::Wap,
            PayMethod::Native,
        ] {
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
        }
    }
}
