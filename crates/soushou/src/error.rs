//! The crate's single error type.
//!
//! One enum for everything so that callers (the Worker and the sandbox) can
//! map protocol failures to their own responses with one `match`.

use crate::types::ResultCode;

/// Why a 3DES body could not be decrypted.
///
/// Kept separate from [`Error`] so callers can tell "not base64 at all" from
/// "the key does not match" when diagnosing a merchant's configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// The body is not standard padded base64.
    #[error("body is not valid base64")]
    Base64,
    /// The ciphertext is empty or not a whole number of 8-byte blocks.
    #[error("ciphertext length is not a positive multiple of 8")]
    Length,
    /// PKCS5 padding is invalid: the body was corrupted or encrypted with another key.
    #[error("invalid PKCS5 padding (corrupted body or wrong key)")]
    Padding,
    /// The plaintext decrypted cleanly but is not a gateway message, which
    /// almost always means the merchant key is wrong.
    #[error("decrypted body is not a JSON or XML message (wrong key?)")]
    WrongKey,
}

/// Every failure the protocol crate can report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A yuan amount string is not `digits[.d[d]]` or does not fit in `u64` fen.
    #[error("invalid amount {input:?}: {reason}")]
    InvalidAmount {
        /// The rejected input (truncated to 40 characters).
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A required wire field is absent or empty (named by its wire name).
    #[error("missing required field {0}")]
    MissingField(&'static str),
    /// A wire field is present but its value breaks the gateway's rules.
    #[error("invalid field {field}: {reason}")]
    InvalidField {
        /// The wire name of the field, e.g. `TIME_EXPIRE`.
        field: &'static str,
        /// The rule that was broken.
        reason: &'static str,
    },
    /// The `sign` query parameter is absent.
    #[error("missing sign parameter")]
    MissingSign,
    /// The `sign` parameter is not `<32 hex digits>:<timestamp>`.
    #[error("malformed sign parameter: {0}")]
    MalformedSign(&'static str),
    /// The signature does not match the body under any accepted rule.
    #[error("signature mismatch")]
    SignMismatch,
    /// A 3DES body could not be decrypted.
    #[error("decryption failed: {0}")]
    Decrypt(DecryptError),
    /// The body is neither JSON nor XML (an HTML error page, a proxy banner, garbage).
    #[error("response is not a gateway message")]
    NotGatewayMessage,
    /// A success answer arrived in clear although the request asked for
    /// 3DES. The gateway encrypts every answer it gives a known merchant, so
    /// a clear "success" did not come from it (a proxy, a captive portal, a
    /// forgery): its content must not be trusted, and the outcome of the
    /// request is unknown. Clear *error* answers are normal (the gateway
    /// answers an unknown merchant in clear) and are reported as
    /// [`Error::Gateway`].
    #[error("success answer not encrypted although 3DES was requested")]
    UnencryptedSuccess,
    /// The body is a JSON or XML document, but not the expected message.
    #[error("unexpected root element: expected {expected}, found {found}")]
    UnexpectedRoot {
        /// The root the caller asked for, e.g. `ORDER_RESP`.
        expected: &'static str,
        /// The root that arrived (truncated to 40 characters).
        found: String,
    },
    /// The body is JSON or XML but does not decode into the expected type.
    #[error("cannot decode message: {0}")]
    Decode(String),
    /// The gateway answered with a non-2xx HTTP status.
    #[error("gateway returned HTTP {status}")]
    Http {
        /// The HTTP status code.
        status: u16,
    },
    /// The gateway answered, but `RESULT.CODE` is not success.
    #[error("gateway refused: {code} {info}")]
    Gateway {
        /// The gateway's result code.
        code: ResultCode,
        /// The gateway's human-readable explanation (`RESULT.INFO`).
        info: String,
    },
}

/// Truncates user-controlled input before it is stored in an error, so
/// errors stay small even when the input is huge.
pub(crate) fn snippet(s: &str) -> String {
    s.chars().take(40).collect()
}
