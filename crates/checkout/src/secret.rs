//! Configured secrets that are not secret (issue 24, defect 6): values
//! published where anybody can read them. The configuration checks
//! (`link::LinkKeys::from_config`, `webhook::Keys::from_config`, the
//! Worker's `ADMIN_TOKEN`) refuse them like a missing secret, so a
//! deployment that copied `.dev.vars.example` fails loudly
//! (`MISCONFIGURED`) instead of signing with public keys.

/// Secret values published where anybody can read them: the examples of
/// `.dev.vars.example` and the Standard Webhooks specification's test
/// secret (its base64, with or without `whsec_`). A deployment that copied
/// one signs links, answers the merchant API or signs webhooks with a key
/// that is not secret (issue 24, defect 6).
const PUBLISHED_SECRETS: &[&str] = &[
    "change-me-to-at-least-32-random-bytes-openssl-rand-hex-32",
    "change-me-to-a-long-random-token",
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
];

/// Whether a configured secret is a known placeholder: a published value
/// ([`PUBLISHED_SECRETS`]) or anything still saying "change me". The
/// configuration checks refuse it like a missing secret (`MISCONFIGURED`).
pub fn is_placeholder_secret(value: &str) -> bool {
    let v = value.trim();
    let bare = v.strip_prefix("whsec_").unwrap_or(v);
    PUBLISHED_SECRETS.contains(&bare) || v.to_ascii_lowercase().contains("change-me")
}
