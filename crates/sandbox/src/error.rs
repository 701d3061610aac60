//! The sandbox's one error type.

use soushou::types::ResultCode;

/// Everything that can go wrong inside the sandbox.
///
/// `Rejected` is not a malfunction: it is the gateway refusing a request, and is
/// answered with HTTP 200 and `RESULT.CODE`, as the real gateway does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A command-line value or control-API setting could not be understood.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A fault mode string or fault target could not be parsed or does not apply.
    #[error("invalid fault: {0}")]
    Fault(String),
    /// The listening socket could not be bound or served.
    #[error("cannot serve on {addr}: {source}")]
    Serve {
        /// The address we tried.
        addr: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The gateway rejects the request with this result code (HTTP 200, `RESULT.CODE`).
    #[error("{}: {info}", code.as_str())]
    Rejected {
        /// The appendix-5 result code.
        code: ResultCode,
        /// Human-readable reason, shown in `RESULT.INFO` and the request log.
        info: String,
    },
    /// The control API named an order the sandbox does not hold.
    #[error("no order with CHARGE_CODE {0}")]
    UnknownOrder(String),
    /// A notification was asked for an order that has no `NODIFY_URL` to send it to.
    #[error("order {0} has no NODIFY_URL")]
    NoNotifyUrl(String),
    /// The control API asked for a state change the order's current state forbids.
    #[error("order {charge_code} is in state {state}; cannot {action}")]
    InvalidTransition {
        /// The order.
        charge_code: String,
        /// Its current appendix-4 state code.
        state: u32,
        /// What was asked ("pay", "close", ...).
        action: &'static str,
    },
}

impl Error {
    /// Shorthand for a gateway rejection.
    pub fn rejected(code: ResultCode, info: impl Into<String>) -> Self {
        Error::Rejected {
            code,
            info: info.into(),
        }
    }
}
