//! The crate's one error type.
//!
//! Errors here reach shoppers and merchants through the Worker, so each one
//! has a stable machine code (`Error::code`, in `api` next to
//! `ErrorCode`, whose `status` is its HTTP status); the page localises by
//! code.

use soushou::Fen;

use crate::vocab::OrderStatus;

/// Everything the checkout domain can refuse.
///
/// `#[non_exhaustive]` so new refusals can be added without breaking the
/// Worker's and the page's matches; both must fall back on [`Error::code`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The link token is malformed, truncated, tampered with or signed with another secret.
    #[error("the checkout link is not valid")]
    InvalidLink,
    /// The link is authentic but its expiry has passed (`now >= expires_at`).
    #[error("the checkout link has expired")]
    LinkExpired,
    /// The merchant deactivated the link: it accepts no more payments.
    #[error("this code no longer accepts payments")]
    LinkInactive,
    /// An API amount is not a positive yuan string with at most two decimals up to 10,000,000.00.
    #[error("invalid amount: {reason}")]
    InvalidAmount {
        /// What is wrong with it, e.g. "more than two decimals".
        reason: &'static str,
    },
    /// A shopper's amount for an open-amount link is outside the link's bounds.
    #[error("invalid amount: enter between {} and {} yuan", min.to_yuan(), max.to_yuan())]
    AmountOutOfRange {
        /// The link's smallest amount.
        min: Fen,
        /// The link's largest amount.
        max: Fen,
    },
    /// A request field other than an amount is missing, too long or malformed.
    #[error("invalid field `{field}`: {reason}")]
    InvalidRequest {
        /// The API (JSON) name of the field, e.g. `return_url`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A refund would take the refunded total above the paid amount.
    #[error("refund exceeds the refundable amount of {refundable} yuan")]
    RefundExceeds {
        /// What could still be refunded.
        refundable: Fen,
    },
    /// The order is in a state that cannot be refunded (unpaid, closed, revoked, fully refunded).
    #[error("an order in state {} cannot be refunded", status.as_str())]
    NotRefundable {
        /// The order's current state.
        status: OrderStatus,
    },
    /// A wallet sign-in callback whose `state` is forged, expired or used
    /// before, or a signed shopper id that is not this link's or has
    /// expired: nothing is ordered, the shopper opens the link again.
    #[error("the wallet sign-in is not valid ({reason}); open the checkout link again")]
    SignInInvalid {
        /// `forged`, `expired`, `replayed`, `wrong_browser` (a callback
        /// opened in another browser than the one that started it) or
        /// `unsigned` (an id typed into the URL of a wallet whose sign-in is
        /// configured: `oauth::accept_id`).
        reason: &'static str,
    },
    /// WeChat or Alipay did not give the shopper's id (an error answer, a
    /// bad signature, a timeout): the shopper may retry or pay another way.
    #[error("the wallet sign-in did not complete: {reason}")]
    SignInFailed {
        /// What the provider did, without ids or codes.
        reason: &'static str,
    },
    /// The credential's role lacks the permission the route needs.
    #[error("this credential's role lacks the permission `{permission}`")]
    Forbidden {
        /// The permission, e.g. `refunds:write` (`error.permission`).
        permission: &'static str,
    },
    /// A role that is not one of the five.
    #[error("role must be one of owner, manager, cashier, accountant, viewer")]
    InvalidRole,
    /// A name that is empty, over 199 characters or holds control characters.
    #[error("name must be 1-199 characters without control characters")]
    InvalidName,
    /// An `expires_in` outside its range.
    #[error("expires_in must be an integer number of seconds from {range}")]
    InvalidExpiresIn {
        /// The allowed range, in words.
        range: &'static str,
    },
    /// Rolling a key that is revoked or expired.
    #[error("the key is revoked or expired and cannot be rolled")]
    KeyRevoked,
    /// Revoking a key or session a second time.
    #[error("already revoked")]
    AlreadyRevoked,
    /// A sign-in link opened a second time.
    #[error("this sign-in link has been used; ask the owner for a new one")]
    SigninLinkUsed,
    /// A sign-in link opened after its 15 minutes.
    #[error("this sign-in link has expired; ask the owner for a new one")]
    SigninLinkExpired,
    /// A mutating request from a console session without the console's own `Origin`.
    #[error("cross-site request refused: the Origin is not this deployment's")]
    CrossSite,
    /// The gateway answered `SUCCESS` without a field the caller cannot
    /// work without (WeChat's JSAPI parameters, Alipay's trade number, a
    /// `BAR_CODE`): the attempt exists, but the shopper cannot be sent to
    /// pay it. A fault of the gateway, so the shopper may try again.
    #[error("the gateway's answer lacks `{field}`")]
    GatewayIncomplete {
        /// The field's wire name, e.g. `BAR_CODE`.
        field: &'static str,
    },
    /// A webhook or return-URL signature does not verify (wrong key, altered
    /// message, or a timestamp outside the tolerance).
    #[error("invalid signature: {reason}")]
    InvalidSignature {
        /// What failed, e.g. "no v1 signature matches".
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_the_contract() {
        let cases = [
            (Error::InvalidLink, "INVALID_LINK", 400),
            (Error::LinkExpired, "LINK_EXPIRED", 410),
            (Error::LinkInactive, "LINK_INACTIVE", 410),
            (
                Error::InvalidAmount { reason: "zero" },
                "INVALID_AMOUNT",
                400,
            ),
            (
                Error::InvalidRequest {
                    field: "subject",
                    reason: "empty",
                },
                "INVALID_REQUEST",
                400,
            ),
            (
                Error::RefundExceeds {
                    refundable: Fen::from_fen(5),
                },
                "REFUND_EXCEEDS",
                400,
            ),
            (
                Error::NotRefundable {
                    status: OrderStatus::Pending,
                },
                "NOT_REFUNDABLE",
                409,
            ),
            (
                Error::SignInInvalid { reason: "replayed" },
                "SIGNIN_INVALID",
                400,
            ),
            (
                Error::SignInFailed { reason: "timeout" },
                "SIGNIN_FAILED",
                502,
            ),
            (
                Error::InvalidSignature { reason: "stale" },
                "INVALID_SIGNATURE",
                401,
            ),
            (
                Error::GatewayIncomplete { field: "BAR_CODE" },
                "GATEWAY_UNAVAILABLE",
                502,
            ),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code().as_str(), code);
            assert_eq!(err.code().status(), status, "{code}");
        }
    }

    #[test]
    fn messages_are_readable() {
        assert_eq!(
            Error::RefundExceeds {
                refundable: Fen::from_fen(1250)
            }
            .to_string(),
            "refund exceeds the refundable amount of 12.50 yuan"
        );
        assert_eq!(
            Error::NotRefundable {
                status: OrderStatus::PartiallyRefunded
            }
            .to_string(),
            "an order in state partially_refunded cannot be refunded"
        );
    }
}
