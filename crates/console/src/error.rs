//! The console's one error type: what went wrong talking to the API, with
//! the request id the merchant quotes to support.

use checkout::api::{ErrorCode, ErrorDetail};

use crate::decode::{error_detail, Json};

/// A failed API call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No answer (offline, connection reset): whether a write happened is
    /// unknown, so the screen re-reads before saying anything.
    #[error("network error: {0}")]
    Network(String),
    /// An error answer: its status, the documented body when it has one
    /// (a proxy's or a crash's has not), and its `X-Request-Id`.
    #[error("HTTP {status}: {}", detail.as_ref().map_or("", |d| d.message.as_str()))]
    Answer {
        /// HTTP status.
        status: u16,
        /// Code, message, the missing permission, the refusal's reason.
        detail: Option<ErrorDetail>,
        /// The request id to quote.
        request_id: Option<String>,
    },
    /// A 2xx answer that is not the documented JSON.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// A field the console checked before sending (the API's own rule).
    #[error("{0}")]
    Invalid(checkout::Error),
}

impl Error {
    /// Whether the session is gone (401: expired, revoked, signed out
    /// elsewhere): the app goes to sign-in and comes back afterwards.
    pub fn signed_out(&self) -> bool {
        matches!(self, Error::Answer { status: 401, .. })
    }

    /// The API's stable code, if the Worker answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Answer {
                detail: Some(d), ..
            } => Some(d.code),
            _ => None,
        }
    }

    /// The request id to quote, if the Worker gave one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Answer { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }
}

/// The page's decoding toolkit (`checkout_page::decode`, which the
/// console's decoders use) fails only with its `Decode`.
impl From<checkout_page::Error> for Error {
    fn from(e: checkout_page::Error) -> Self {
        match e {
            checkout_page::Error::Decode(why) => Error::Decode(why),
            _ => Error::Decode("unexpected answer".into()),
        }
    }
}

/// Reads an error answer: the documented body (`{"error": {...}}`, parsed
/// if it was JSON) or only the status.
pub fn from_answer<J: Json>(status: u16, body: Option<&J>, request_id: Option<String>) -> Error {
    Error::Answer {
        status,
        detail: body.and_then(error_detail),
        request_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn json(text: &str) -> Option<Value> {
        serde_json::from_str(text).ok()
    }

    #[test]
    fn the_documented_body_becomes_a_typed_error_with_its_request_id() {
        let e = from_answer(
            403,
            json(r#"{"error":{"code":"FORBIDDEN","message":"no","permission":"refunds:write"}}"#)
                .as_ref(),
            Some("abc123".into()),
        );
        assert_eq!(e.code(), Some(ErrorCode::Forbidden));
        assert_eq!(e.request_id(), Some("abc123"));
        assert!(!e.signed_out());
        let Error::Answer {
            detail: Some(detail),
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(detail.permission.as_deref(), Some("refunds:write"));
        let gone = from_answer(
            401,
            json(r#"{"error":{"code":"UNAUTHORIZED","message":"x"}}"#).as_ref(),
            None,
        );
        assert!(gone.signed_out());
        assert_eq!(
            from_answer(
                502,
                json("<html>bad gateway</html>").as_ref(),
                Some("r".into())
            ),
            Error::Answer {
                status: 502,
                detail: None,
                request_id: Some("r".into())
            }
        );
    }
}
