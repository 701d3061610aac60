//! The Worker's one error type and its mapping to HTTP responses.
//!
//! Every failure a route can meet ends here, so the stable codes of API.md
//! (the page localises by them) are decided in exactly one place:
//! [`ApiError::code`], which delegates gateway failures to
//! [`ErrorCode::of_gateway`];
//! the HTTP status is the code's ([`ErrorCode::status`]).

use checkout::access::Refusal;
use checkout::api::{ErrorBody, ErrorCode, ErrorDetail};
use soushou::types::ResultCode;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A domain refusal from the `checkout` crate (invalid link, expired link, bad amount, ...).
    #[error(transparent)]
    Domain(#[from] checkout::Error),
    /// A required configuration value (var or secret) is missing or malformed; names the variable only.
    #[error("server misconfigured: {0} is missing or invalid")]
    Misconfigured(&'static str),
    /// The request body or parameters are unusable.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The thing named in the path does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The merchant API was called without a credential that works
    /// (`error.reason` says why).
    #[error("missing, unknown, revoked or expired credential ({})", .0.as_str())]
    Unauthorized(Refusal),
    /// The link already has a paid attempt.
    #[error("this checkout link has already been paid")]
    AlreadyPaid,
    /// The gateway did not answer within `GATEWAY_TIMEOUT_MS`.
    #[error("the payment gateway did not answer in time")]
    GatewayTimeout,
    /// The gateway could not be reached at all (connection refused, DNS, TLS).
    #[error("the payment gateway could not be reached")]
    GatewayUnreachable,
    /// The gateway answered, but the protocol layer refused the answer or the request.
    #[error("payment gateway: {0}")]
    Gateway(#[from] soushou::Error),
    /// The gateway said success but left out a field the page needs.
    #[error("the payment gateway's answer lacks {0}")]
    GatewayIncomplete(&'static str),
    /// A notification was refused; `code` says why (logged, answered 4xx, nothing changed).
    #[error("notification rejected: {reason}")]
    NotifyRejected {
        /// Stable code for the log and the body (its status is the answer's).
        code: ErrorCode,
        /// Why, for the log line.
        reason: String,
    },
    /// D1 failed; the caller may retry (the gateway does, for notifications).
    #[error("storage error")]
    Storage(String),
    /// The body is larger than `checkout::guard::MAX_BODY_BYTES` (declared or read).
    #[error("request body larger than 65536 bytes")]
    PayloadTooLarge,
    /// The link started too many attempts in the window; retry after `retry_after` seconds.
    #[error("too many payment attempts for this link; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until an attempt is allowed again (the `Retry-After` header).
        retry_after: u64,
    },
    /// The client's IP made too many failed authentications in the window;
    /// retry after `retry_after` seconds.
    #[error("too many failed authentications from this address; retry in {retry_after} s")]
    AuthRateLimited {
        /// Seconds until the window ends (the `Retry-After` header).
        retry_after: u64,
    },
    /// The `Idempotency-Key` was first used with another route or body.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still running.
    #[error("a request with this Idempotency-Key is still in progress; retry later")]
    IdempotencyKeyInUse,
    /// The gateway's redirect URL has a scheme or host the page must not follow.
    #[error("the payment gateway's redirect address is not allowed")]
    UnsafeRedirect,
    /// The Workers runtime failed outside storage (a URL, a header, a
    /// response body); the detail goes to the log only.
    #[error("internal error")]
    Internal(String),
}

/// A runtime failure outside D1. D1's own failures are
/// [`ApiError::Storage`], mapped where D1 is called (`store`), so that only
/// they say "storage, retry".
impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ApiError {
    /// The stable code of this error; its HTTP status is `code().status()`.
    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            ApiError::Domain(e) => e.code(),
            ApiError::Misconfigured(_) => C::Misconfigured,
            ApiError::InvalidRequest(_) => C::InvalidRequest,
            ApiError::NotFound(_) => C::NotFound,
            ApiError::Unauthorized(_) => C::Unauthorized,
            ApiError::AlreadyPaid => C::AlreadyPaid,
            ApiError::GatewayTimeout => C::GatewayTimeout,
            ApiError::GatewayUnreachable | ApiError::GatewayIncomplete(_) => C::GatewayUnavailable,
            ApiError::Gateway(e) => C::of_gateway(e),
            ApiError::NotifyRejected { code, .. } => *code,
            ApiError::Storage(_) => C::StorageError,
            ApiError::PayloadTooLarge => C::PayloadTooLarge,
            ApiError::RateLimited { .. } | ApiError::AuthRateLimited { .. } => C::RateLimited,
            ApiError::IdempotencyKeyReused => C::IdempotencyKeyReused,
            ApiError::IdempotencyKeyInUse => C::IdempotencyKeyInUse,
            ApiError::UnsafeRedirect => C::GatewayUnsafeRedirect,
            ApiError::Internal(_) => C::InternalError,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.code().status()
    }

    /// The gateway's `RESULT.CODE`, when the gateway refused.
    pub fn gateway_result(&self) -> Option<&ResultCode> {
        match self {
            ApiError::Gateway(soushou::Error::Gateway { code, .. }) => Some(code),
            _ => None,
        }
    }

    /// The public message: storage and runtime details stay in the log,
    /// never in a response.
    fn public_message(&self) -> String {
        match self {
            ApiError::Storage(_) => "temporary storage failure, please retry".to_owned(),
            ApiError::Internal(_) => "internal error, please retry".to_owned(),
            other => other.to_string(),
        }
    }

    /// The JSON error body of API.md.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.public_message(),
                gateway_code: self.gateway_result().map(|c| c.as_str().to_owned()),
                permission: match self {
                    ApiError::Domain(checkout::Error::Forbidden { permission }) => {
                        Some((*permission).to_owned())
                    }
                    _ => None,
                },
                reason: match self {
                    ApiError::Unauthorized(r) => Some(r.as_str().to_owned()),
                    _ => None,
                },
            },
        }
    }
}

/// Result alias of the Worker's handlers.
pub type ApiResult<T> = Result<T, ApiError>;
