//! The page's one error type, and how each error reads to the shopper.

use checkout::api::{ErrorCode, ErrorDetail};

/// Everything that can go wrong between the page and the Worker or a wallet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request never got an answer (offline, DNS, connection reset).
    #[error("network error: {0}")]
    Network(String),
    /// The Worker answered with its documented error body.
    #[error("HTTP {status} {}: {}", detail.code.as_str(), detail.message)]
    Api {
        /// HTTP status.
        status: u16,
        /// The stable code, message and gateway code.
        detail: ErrorDetail,
    },
    /// An error status without the Worker's error body (a proxy, a crash).
    #[error("HTTP {0}")]
    Http(u16),
    /// A 2xx body that is not the documented JSON.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// A wallet bridge could not be called (missing or threw).
    #[error("wallet bridge: {0}")]
    Bridge(String),
    /// The QR content does not fit a QR code.
    #[error("the payment address is too long for a QR code")]
    QrTooLong,
    /// The page URL carries no `/c/{token}`.
    #[error("no checkout token in the page address")]
    NoToken,
    /// The amount the shopper typed for an open-amount link is refused
    /// (`checkout::api::AmountBounds::parse`, the Worker's own rule).
    #[error("{0}")]
    Amount(checkout::Error),
    /// The redirect the page was given is not one it may follow
    /// (`checkout::guard::is_safe_redirect`).
    #[error("refused to open an unsafe payment address")]
    UnsafeRedirect,
}

/// What the shopper is told, chosen by the API's stable error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// `INVALID_LINK` (or no token): the link is not genuine.
    InvalidLink,
    /// `LINK_EXPIRED`.
    LinkExpired,
    /// `LINK_INACTIVE`: the merchant deactivated the code.
    LinkInactive,
    /// `ALREADY_PAID`.
    AlreadyPaid,
    /// `SIGNIN_INVALID`: the wallet id the page holds cannot be used
    /// (unsigned once sign-in is configured, expired, another link's):
    /// the shopper signs in again.
    SignIn,
    /// `NOT_FOUND`.
    NotFound,
    /// `GATEWAY_TIMEOUT`.
    GatewayTimeout,
    /// `GATEWAY_UNAVAILABLE`.
    GatewayUnavailable,
    /// `GATEWAY_REJECTED`, with the gateway's `RESULT.CODE` when given.
    GatewayRejected(Option<String>),
    /// `STORAGE_ERROR`.
    Storage,
    /// `MISCONFIGURED`.
    Misconfigured,
    /// `INVALID_AMOUNT`, or a typed amount the page refused before asking.
    InvalidAmount,
    /// `INVALID_REQUEST` and other 4xx the page did not expect.
    BadRequest,
    /// Another server failure, with its HTTP status.
    Server(u16),
    /// No answer at all.
    Network,
    /// The wallet bridge is not usable here.
    Wallet,
    /// The page got something it cannot understand.
    Unexpected,
}

impl Error {
    /// The shopper-facing category of this error.
    pub fn problem(&self) -> Problem {
        match self {
            Error::Network(_) => Problem::Network,
            Error::NoToken => Problem::InvalidLink,
            Error::Http(status) => Problem::Server(*status),
            Error::UnsafeRedirect => Problem::GatewayUnavailable,
            Error::Bridge(_) => Problem::Wallet,
            Error::Amount(_) => Problem::InvalidAmount,
            Error::Decode(_) | Error::QrTooLong => Problem::Unexpected,
            Error::Api { status, detail } => match detail.code {
                ErrorCode::InvalidLink => Problem::InvalidLink,
                ErrorCode::LinkExpired => Problem::LinkExpired,
                ErrorCode::LinkInactive => Problem::LinkInactive,
                ErrorCode::AlreadyPaid => Problem::AlreadyPaid,
                ErrorCode::SigninInvalid => Problem::SignIn,
                ErrorCode::NotFound => Problem::NotFound,
                ErrorCode::GatewayTimeout => Problem::GatewayTimeout,
                // A gateway answer whose signature did not verify is, to the
                // shopper, a gateway that cannot be used right now.
                ErrorCode::GatewayUnavailable
                | ErrorCode::GatewayBadSignature
                | ErrorCode::GatewayUnsafeRedirect => Problem::GatewayUnavailable,
                ErrorCode::GatewayRejected => Problem::GatewayRejected(detail.gateway_code.clone()),
                ErrorCode::StorageError => Problem::Storage,
                ErrorCode::Misconfigured => Problem::Misconfigured,
                ErrorCode::InvalidAmount => Problem::InvalidAmount,
                _ if *status >= 500 => Problem::Server(*status),
                _ => Problem::BadRequest,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str, gateway_code: Option<&str>) -> Error {
        Error::Api {
            status,
            detail: ErrorDetail {
                // As the wire spells it, so an unknown code is tested too.
                code: serde_json::from_value(serde_json::json!(code)).unwrap(),
                message: "m".into(),
                gateway_code: gateway_code.map(Into::into),
                permission: None,
                reason: None,
            },
        }
    }

    #[test]
    fn problems_follow_stable_codes() {
        assert_eq!(
            api(400, "INVALID_LINK", None).problem(),
            Problem::InvalidLink
        );
        assert_eq!(
            api(410, "LINK_EXPIRED", None).problem(),
            Problem::LinkExpired
        );
        assert_eq!(
            api(409, "ALREADY_PAID", None).problem(),
            Problem::AlreadyPaid
        );
        assert_eq!(api(404, "NOT_FOUND", None).problem(), Problem::NotFound);
        assert_eq!(
            api(504, "GATEWAY_TIMEOUT", None).problem(),
            Problem::GatewayTimeout
        );
        assert_eq!(
            api(502, "GATEWAY_UNAVAILABLE", None).problem(),
            Problem::GatewayUnavailable
        );
        assert_eq!(
            api(502, "GATEWAY_BAD_SIGNATURE", None).problem(),
            Problem::GatewayUnavailable
        );
        assert_eq!(
            api(502, "GATEWAY_REJECTED", Some("AMT_ERROR")).problem(),
            Problem::GatewayRejected(Some("AMT_ERROR".into()))
        );
        assert_eq!(api(500, "STORAGE_ERROR", None).problem(), Problem::Storage);
        assert_eq!(
            api(500, "MISCONFIGURED", None).problem(),
            Problem::Misconfigured
        );
        assert_eq!(
            api(400, "INVALID_REQUEST", None).problem(),
            Problem::BadRequest
        );
        assert_eq!(
            api(503, "SOMETHING_NEW", None).problem(),
            Problem::Server(503)
        );
        assert_eq!(Error::Network("x".into()).problem(), Problem::Network);
        assert_eq!(Error::Http(502).problem(), Problem::Server(502));
        assert_eq!(Error::NoToken.problem(), Problem::InvalidLink);
        assert_eq!(
            api(502, "GATEWAY_UNSAFE_REDIRECT", None).problem(),
            Problem::GatewayUnavailable
        );
        assert_eq!(Error::UnsafeRedirect.problem(), Problem::GatewayUnavailable);
        // The Worker's refusal and the page's own read the same to the shopper.
        assert_eq!(
            api(400, "INVALID_AMOUNT", None).problem(),
            Problem::InvalidAmount
        );
        assert_eq!(
            Error::Amount(checkout::Error::InvalidAmount { reason: "zero" }).problem(),
            Problem::InvalidAmount
        );
    }
}
