//! Signed checkout links.
//!
//! A link carries everything needed to pay it (amount, subject, expiry, ...)
//! inside its token, so the Worker needs no lookup to render the page, and
//! the shopper cannot change any of it: the token is
//!
//! ```text
//! base64url(payload JSON) "." base64url(HMAC-SHA256(LINK_SECRET, <first part as ASCII>))
//! ```
//!
//! both parts URL-safe base64 without padding, so a token can be put into a
//! path segment as-is. The MAC covers the encoded text (not the decoded
//! JSON), so there is exactly one accepted spelling of every payload.
//!
//! Verification checks the MAC first, in constant time, and only then looks
//! at the payload: a forged token learns nothing, not even whether it would
//! have expired. Expiry is checked against an injected `now`, because this
//! crate has no clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use soushou::model::GoodsItem;
use soushou::Fen;
use subtle::ConstantTimeEq;

use crate::amount::{parse_api_amount, parse_in_range};
use crate::error::Error;
use crate::vocab::{GoodsLine, LinkChannel, LinkKind, LinkState};

/// Link lifetime when the merchant gives no `expires_in`: one day (API.md).
pub const DEFAULT_EXPIRES_IN: u64 = 86_400;
/// Longest lifetime a merchant may ask for: 30 days. Long-lived payable
/// tokens are a liability if LINK_SECRET ever has to be rotated.
pub const MAX_EXPIRES_IN: u64 = 30 * 86_400;
/// Longest `subject`, in characters; it becomes the gateway's `PAY_SUBJECT`.
pub const MAX_SUBJECT_CHARS: usize = 128;
/// Longest merchant reference, in characters.
pub const MAX_REF_CHARS: usize = 64;
/// Longest `return_url`, in characters.
pub const MAX_RETURN_URL_CHARS: usize = 512;
/// Most goods lines per link; the token travels in a URL, which must stay short.
pub const MAX_GOODS: usize = 20;
/// Longest goods `id` / `name`, in characters.
pub const MAX_GOODS_TEXT_CHARS: usize = 64;

/// What a checkout link says. Serialised (with short keys, to keep URLs
/// short) as the first part of the token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPayload {
    /// What the link charges: a fixed amount (`a`, the only kind before
    /// open-amount links, so every older token still reads as fixed) or
    /// bounds for the shopper's own amount (`lo`/`hi`).
    #[serde(flatten)]
    pub amount: LinkAmount,
    /// What is being paid for.
    #[serde(rename = "s")]
    pub subject: String,
    /// The merchant's reference (`ref` in the API).
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub merchant_ref: Option<String>,
    /// Unix seconds from which the link can no longer be paid.
    #[serde(rename = "e")]
    pub expires_at: u64,
    /// Where to send the shopper after payment.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Goods lines to show and to send as `GOODS_DETAIL`.
    #[serde(rename = "g", default, skip_serializing_if = "Vec::is_empty")]
    pub goods: Vec<LinkGoods>,
    /// Restricts the link to one payment app.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<LinkChannel>,
    /// A counter code (`"kind": "counter"`): many payments, each kept.
    /// Absent (false) in every other token, so fixed and open tokens are
    /// spelled as before kinds existed.
    #[serde(rename = "m", default, skip_serializing_if = "std::ops::Not::not")]
    pub many: bool,
    /// Caller-supplied randomness: two links for the same amount and subject
    /// get different tokens (and different [`link_id`]s), so paying one does
    /// not mark the other as paid.
    #[serde(rename = "n")]
    pub nonce: String,
}

/// What a link charges.
///
/// Untagged and flattened into the payload, so a fixed link's token is
/// spelled exactly as before open-amount links existed (`"a": fen`), and an
/// open one carries `"lo"`/`"hi"` instead; no token carries both, because
/// only [`crate::api::CreateLinkRequest::to_payload`] builds payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LinkAmount {
    /// The merchant set the amount; the Worker never takes it from a pay request.
    Fixed {
        /// Amount to pay.
        #[serde(rename = "a", with = "fen_int")]
        amount: Fen,
    },
    /// The shopper types the amount (the store counter code); each attempt's
    /// amount is fixed when the attempt is created and stored on its row.
    Open {
        /// Smallest amount accepted.
        #[serde(rename = "lo", with = "fen_int")]
        min: Fen,
        /// Largest amount accepted.
        #[serde(rename = "hi", with = "fen_int")]
        max: Fen,
    },
}

impl LinkAmount {
    /// The amount of a new attempt: a fixed link's own amount (a pay request
    /// naming another amount is refused, so a page bug cannot pay a
    /// different sum unnoticed), or the shopper's `asked` yuan string checked
    /// by [`crate::amount::parse_in_range`] for an open link.
    pub fn charge(&self, asked: Option<&str>) -> Result<Fen, Error> {
        match (*self, asked) {
            (LinkAmount::Fixed { amount }, None) => Ok(amount),
            (LinkAmount::Fixed { amount }, Some(a)) => match parse_api_amount(a) {
                Ok(fen) if fen == amount => Ok(amount),
                _ => Err(Error::InvalidAmount {
                    reason: "this link's amount is fixed",
                }),
            },
            (LinkAmount::Open { .. }, None) => Err(Error::InvalidAmount {
                reason: "enter the amount to pay",
            }),
            (LinkAmount::Open { min, max }, Some(a)) => parse_in_range(a, min, max),
        }
    }

    /// The largest amount the link can charge: the `links` row's
    /// `amount_fen` (for an open link its upper bound; attempts store their
    /// own amount).
    pub fn ceiling(&self) -> Fen {
        match *self {
            LinkAmount::Fixed { amount } => amount,
            LinkAmount::Open { max, .. } => max,
        }
    }
}

/// A goods line inside a signed link: the request's [`GoodsLine`] after its
/// price was parsed once, so nothing downstream re-parses a yuan string.
/// The keys and the price's yuan string (`"6.25"`) are those of
/// [`GoodsLine`], so tokens issued before the price was typed still verify
/// and decode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkGoods {
    /// Merchant's product id.
    pub id: String,
    /// Product name.
    pub name: String,
    /// Unit price.
    #[serde(with = "fen_yuan")]
    pub price: Fen,
    /// Quantity (at least 1).
    pub quantity: u32,
}

impl LinkGoods {
    /// The line as the page shows it (`CheckoutView.goods`).
    pub fn to_line(&self) -> GoodsLine {
        GoodsLine {
            id: self.id.clone(),
            name: self.name.clone(),
            price: self.price.to_yuan(),
            quantity: self.quantity,
        }
    }

    /// The line as the gateway's `GOODS_DETAIL` item.
    pub fn to_gateway(&self) -> GoodsItem {
        GoodsItem {
            id: self.id.clone(),
            name: self.name.clone(),
            class: "goods".to_owned(),
            price: self.price,
            subject: self.name.clone(),
            quantity: self.quantity,
            show_url: None,
        }
    }
}

/// `Fen` as the yuan string links have always carried for goods prices
/// (`"6.25"`): written with `Fen::to_yuan`, read with `Fen`'s tolerant
/// parser, so old and new tokens decode alike.
mod fen_yuan {
    use serde::{Deserialize, Deserializer, Serializer};
    use soushou::Fen;

    pub fn serialize<S: Serializer>(fen: &Fen, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fen.to_yuan())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        let yuan = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        yuan.parse::<Fen>().map_err(serde::de::Error::custom)
    }
}

/// `Fen` as a plain integer inside the token, independent of how `soushou`
/// chooses to (de)serialise money on the gateway's wire.
mod fen_int {
    use serde::{Deserialize, Deserializer, Serializer};
    use soushou::Fen;

    pub fn serialize<S: Serializer>(fen: &Fen, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(fen.fen())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        u64::deserialize(d).map(Fen::from_fen)
    }
}

/// The expiry of a counter code created without `expires_in`: none, spelled
/// as the last second of year 9999 (`expires_at` is an integer everywhere,
/// in D1 and in JSON, and this one is exact in both).
pub const NEVER: u64 = 253_402_300_799;

/// The base64url spelling of `{"lo":`, which starts every open-amount
/// token's payload (its bounds are its first keys) and no other's: what
/// migration 0006 backfills stored links' `kind` by.
pub const OPEN_TOKEN_PREFIX: &str = "eyJsbyI6";

impl LinkPayload {
    /// The link's kind: a counter code says so; otherwise its amount does.
    pub fn kind(&self) -> LinkKind {
        match (self.many, self.amount) {
            (true, _) => LinkKind::Counter,
            (false, LinkAmount::Fixed { .. }) => LinkKind::Fixed,
            (false, LinkAmount::Open { .. }) => LinkKind::Open,
        }
    }

    /// The goods as the gateway's `GOODS_DETAIL` lines.
    pub fn goods_detail(&self) -> Vec<GoodsItem> {
        self.goods.iter().map(LinkGoods::to_gateway).collect()
    }

    /// Whether the link has expired at `now`: the link is payable while
    /// `now < expires_at`, so at `now == expires_at` it is already expired
    /// (like a JWT's `exp`, "on or after which" it must not be accepted).
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// The attempt a link's page is shown (`CheckoutView.charge_code`):
    /// the kept payment, else the latest `pending` attempt — none for a
    /// counter code, whose attempts are each their own shopper's (a page
    /// resumes its own from its address, polled with its device).
    pub fn shown_attempt<'a>(
        &self,
        kept: Option<&'a str>,
        pending: Option<&'a str>,
    ) -> Option<&'a str> {
        if self.kind().keeps_every_payment() {
            return None;
        }
        kept.or(pending)
    }

    /// The link's state for `GET /api/checkout/{token}`. A paid link stays
    /// `paid` after its expiry: the shopper who paid must see the receipt,
    /// not "expired".
    pub fn state(&self, now: u64, paid: bool) -> LinkState {
        if paid && !self.kind().keeps_every_payment() {
            LinkState::Paid
        } else if self.is_expired(now) {
            LinkState::Expired
        } else {
            LinkState::Open
        }
    }
}

/// Trimmed, non-empty, bounded, free of control characters.
pub(crate) fn text(field: &'static str, s: &str, max_chars: usize) -> Result<String, Error> {
    let s = s.trim();
    let invalid = |reason| Err(Error::InvalidRequest { field, reason });
    if s.is_empty() {
        return invalid("must not be empty");
    }
    if s.chars().count() > max_chars {
        return invalid("too long");
    }
    if s.chars().any(char::is_control) {
        return invalid("must not contain control characters");
    }
    Ok(s.to_owned())
}

pub(crate) fn return_url(url: &str) -> Result<String, Error> {
    http_url("return_url", url)
}

/// An absolute `http(s)://` URL naming a host (a return or notify address:
/// never `javascript:` or another scheme), at most [`MAX_RETURN_URL_CHARS`].
pub(crate) fn http_url(field: &'static str, url: &str) -> Result<String, Error> {
    let invalid = |reason| Err(Error::InvalidRequest { field, reason });
    if url.chars().count() > MAX_RETURN_URL_CHARS {
        return invalid("too long");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid("must not contain whitespace");
    }
    let lower = url.to_ascii_lowercase();
    let rest = match lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    {
        Some(rest) => rest,
        None => return invalid("must be an http:// or https:// URL"),
    };
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
        return invalid("must name a host");
    }
    Ok(url.to_owned())
}

pub(crate) fn goods_line(g: &GoodsLine) -> Result<LinkGoods, Error> {
    let price = parse_api_amount(&g.price).map_err(|e| match e {
        Error::InvalidAmount { reason } => Error::InvalidRequest {
            field: "goods.price",
            reason,
        },
        other => other,
    })?;
    if g.quantity == 0 {
        return Err(Error::InvalidRequest {
            field: "goods.quantity",
            reason: "must be at least 1",
        });
    }
    Ok(LinkGoods {
        id: text("goods.id", &g.id, MAX_GOODS_TEXT_CHARS)?,
        name: text("goods.name", &g.name, MAX_GOODS_TEXT_CHARS)?,
        price,
        quantity: g.quantity,
    })
}

/// The MAC of the token's first part.
fn tag(secret: &[u8], body: &str) -> [u8; 32] {
    // HMAC is defined for keys of every length; `new_from_slice` only fails
    // for MACs with fixed key sizes, which HMAC is not.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Sign a payload into a URL-safe token.
///
/// `secret` is LINK_SECRET; the Worker must refuse to run with an empty or
/// short one (use at least 32 random bytes), since anyone knowing it can
/// mint payable links for any amount.
pub fn issue(payload: &LinkPayload, secret: &[u8]) -> String {
    // Serialising strings, integers and unit enums cannot fail.
    let json = serde_json::to_vec(payload).expect("link payload serialises");
    let body = URL_SAFE_NO_PAD.encode(json);
    let sig = URL_SAFE_NO_PAD.encode(tag(secret, &body));
    format!("{body}.{sig}")
}

/// Verify a token's MAC (in constant time) and then its expiry against `now`
/// (unix seconds).
///
/// [`Error::InvalidLink`] for anything not issued with `secret`, including
/// garbage and the empty string; [`Error::LinkExpired`] for an authentic link
/// with `now >= expires_at`. Never panics, whatever the input.
pub fn verify(token: &str, secret: &[u8], now: u64) -> Result<LinkPayload, Error> {
    unexpired(verify_ignoring_expiry(token, secret)?, now)
}

/// An authentic payload, refused as [`Error::LinkExpired`] from its expiry on.
fn unexpired(payload: LinkPayload, now: u64) -> Result<LinkPayload, Error> {
    if payload.is_expired(now) {
        return Err(Error::LinkExpired);
    }
    Ok(payload)
}

/// Like [`verify`], but also returns authentic links that have expired, so the
/// page can show "this link expired" with the merchant's subject and amount
/// instead of a generic error.
pub fn verify_ignoring_expiry(token: &str, secret: &[u8]) -> Result<LinkPayload, Error> {
    verify_any_ignoring_expiry(token, &[secret])
}

/// [`verify_ignoring_expiry`] against several secrets: authentic when the MAC
/// matches any of them (each compared in constant time).
fn verify_any_ignoring_expiry(token: &str, secrets: &[&[u8]]) -> Result<LinkPayload, Error> {
    let (body, sig) = token.split_once('.').ok_or(Error::InvalidLink)?;
    // The decoder rejects non-canonical encodings (trailing bits, padding),
    // so every accepted token has exactly one spelling.
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| Error::InvalidLink)?;
    // Length is public (always 32); the bytes are compared in constant time.
    let authentic = secrets.iter().any(|secret| {
        let expected = tag(secret, body);
        sig.len() == expected.len() && bool::from(expected.ct_eq(&sig[..]))
    });
    if !authentic {
        return Err(Error::InvalidLink);
    }
    // Authentic from here on; a payload that still fails to decode was made
    // by an incompatible version and is treated as invalid.
    let json = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| Error::InvalidLink)?;
    serde_json::from_slice(&json).map_err(|_| Error::InvalidLink)
}

/// Stable short id of a token: the first 32 hex characters (128 bits) of its
/// SHA-256. The Worker's D1 key for the link, so the store never holds
/// whole tokens and lookups do not depend on token length.
pub fn link_id(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    hex(&digest[..16])
}

/// The checkout page's URL for a token: `{public_base_url}/c/{token}`.
///
/// Tokens are URL-safe, so no escaping is needed; a trailing `/` on the base
/// is tolerated so `PUBLIC_BASE_URL` can be written either way.
pub fn url(public_base_url: &str, token: &str) -> String {
    format!("{}/c/{token}", public_base_url.trim_end_matches('/'))
}

/// Shortest accepted link secret, in bytes: an HMAC-SHA256 key shorter
/// than the hash is guessable sooner than the MAC, and anyone holding it can
/// mint payable links for any amount.
pub const MIN_SECRET_BYTES: usize = 32;

/// The link secrets in force, for rotation: the first signs new links, any
/// of them verifies. Rotating is setting `LINK_SECRETS` to `new,old` until
/// every link signed with `old` has expired (at most [`MAX_EXPIRES_IN`]),
/// then to `new`.
#[derive(Clone)]
pub struct LinkKeys {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for LinkKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkKeys({} keys, ****)", self.keys.len())
    }
}

impl LinkKeys {
    /// The keys from the Worker's configuration: `LINK_SECRETS`
    /// (comma-separated, surrounding spaces ignored) when set and not blank,
    /// else `LINK_SECRET` (used exactly as stored). `Err` names the variable
    /// that is missing, empty or holds a secret shorter than
    /// [`MIN_SECRET_BYTES`] (never its value).
    pub fn from_config(
        link_secrets: Option<&str>,
        link_secret: Option<&str>,
    ) -> Result<LinkKeys, &'static str> {
        let (name, keys): (&'static str, Vec<&str>) =
            match link_secrets.filter(|s| !s.trim().is_empty()) {
                Some(list) => ("LINK_SECRETS", list.split(',').map(str::trim).collect()),
                None => ("LINK_SECRET", link_secret.into_iter().collect()),
            };
        if keys.is_empty()
            || keys
                .iter()
                .any(|k| k.len() < MIN_SECRET_BYTES || crate::secret::is_placeholder_secret(k))
        {
            return Err(name);
        }
        Ok(LinkKeys {
            keys: keys.into_iter().map(|k| k.as_bytes().to_vec()).collect(),
        })
    }

    /// Signs with the first key.
    pub fn issue(&self, payload: &LinkPayload) -> String {
        issue(payload, &self.keys[0])
    }

    /// [`verify`] with any of the keys.
    pub fn verify(&self, token: &str, now: u64) -> Result<LinkPayload, Error> {
        unexpired(self.verify_ignoring_expiry(token)?, now)
    }

    /// [`verify_ignoring_expiry`] with any of the keys.
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<LinkPayload, Error> {
        let keys: Vec<&[u8]> = self.keys.iter().map(Vec::as_slice).collect();
        verify_any_ignoring_expiry(token, &keys)
    }

    /// The first `n` bytes (at most 32) of HMAC-SHA256 of `message` under the
    /// signing key. Values bound to a link (`oauth`'s `state` and signed
    /// shopper ids) use the link secret too, so rotation covers them.
    pub(crate) fn mac(&self, message: &str, n: usize) -> Vec<u8> {
        tag(&self.keys[0], message)[..n.min(32)].to_vec()
    }

    /// Whether `mac` is [`LinkKeys::mac`] of `message` under any key,
    /// compared in constant time (its length is public).
    pub(crate) fn mac_matches(&self, message: &str, mac: &[u8]) -> bool {
        self.key_of(message, mac).is_some()
    }

    /// Which key (its index) made `mac` of `message`, if any: what else
    /// that key derived (an encrypted id's keystream) is derived again with
    /// [`LinkKeys::mac_with`].
    pub(crate) fn key_of(&self, message: &str, mac: &[u8]) -> Option<usize> {
        self.keys.iter().position(|key| {
            let expected = tag(key, message);
            (16..=32).contains(&mac.len()) && bool::from(expected[..mac.len()].ct_eq(mac))
        })
    }

    /// HMAC-SHA256 of `message` under key `index` ([`LinkKeys::key_of`]).
    pub(crate) fn mac_with(&self, index: usize, message: &str) -> [u8; 32] {
        tag(&self.keys[index], message)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CreateLinkRequest;
    use proptest::prelude::*;

    const SECRET: &[u8] = b"link-secret-0123456789abcdef0123";
    const NOW: u64 = 1_795_600_000;

    fn payload() -> LinkPayload {
        LinkPayload {
            amount: LinkAmount::Fixed {
                amount: Fen::from_fen(1250),
            },
            subject: "Oolong tea 乌龙茶".into(),
            merchant_ref: Some("ORDER-42".into()),
            expires_at: NOW + 3600,
            return_url: Some("https://shop.example/done?o=42".into()),
            goods: vec![LinkGoods {
                id: "g1".into(),
                name: "Oolong".into(),
                price: Fen::from_fen(625),
                quantity: 2,
            }],
            channel: Some(LinkChannel::Wechat),
            many: false,
            nonce: "n0nce-AAAA".into(),
        }
    }

    /// Issued before goods prices were typed (prices as yuan strings in the
    /// payload); must still verify and decode to the same lines.
    const PRE_TYPED_GOODS_TOKEN: &str = "eyJhIjoxMjUwLCJzIjoiT29sb25nIiwiZSI6MTc5NTYwMzYwMCwiZyI6W3siaWQiOiJnMSIsIm5hbWUiOiJPb2xvbmciLCJwcmljZSI6IjYuMjUiLCJxdWFudGl0eSI6Mn0seyJpZCI6ImcyIiwibmFtZSI6IkN1cCIsInByaWNlIjoiMzAuMDAiLCJxdWFudGl0eSI6MX1dLCJuIjoibjBuY2UifQ.3rrOhbJL1T7w_ywVwjnrMeuQ67Pvta_H_elhwR54D24";

    #[test]
    fn tokens_with_yuan_string_prices_still_verify_and_reissue_byte_for_byte() {
        let p = verify(PRE_TYPED_GOODS_TOKEN, SECRET, NOW).unwrap();
        let prices: Vec<(&str, Fen, u32)> = p
            .goods
            .iter()
            .map(|g| (g.id.as_str(), g.price, g.quantity))
            .collect();
        assert_eq!(
            prices,
            [
                ("g1", Fen::from_fen(625), 2),
                ("g2", Fen::from_fen(3000), 1)
            ]
        );
        // Same payload, same bytes: the typed price writes the old yuan string.
        assert_eq!(issue(&p, SECRET), PRE_TYPED_GOODS_TOKEN);
    }

    #[test]
    fn goods_prices_are_yuan_strings_inside_the_token() {
        let cases = [
            (1, "0.01"),
            (10, "0.10"),
            (625, "6.25"),
            (3000, "30.00"),
            (1_000_000_000, "10000000.00"),
        ];
        for (fen, yuan) in cases {
            let g = LinkGoods {
                id: "g".into(),
                name: "n".into(),
                price: Fen::from_fen(fen),
                quantity: 1,
            };
            let json = serde_json::to_value(&g).unwrap();
            assert_eq!(json["price"], yuan, "{fen}");
            assert_eq!(serde_json::from_value::<LinkGoods>(json).unwrap(), g);
        }
        // Tolerant reader: what `Fen` parses, a token may carry.
        for (yuan, fen) in [("2", 200), ("2.5", 250), ("0.05", 5)] {
            let g: LinkGoods = serde_json::from_value(serde_json::json!(
                {"id": "g", "name": "n", "price": yuan, "quantity": 1}
            ))
            .unwrap();
            assert_eq!(g.price, Fen::from_fen(fen), "{yuan}");
        }
        for bad in ["", "abc", "-1.00", "1.234"] {
            let r = serde_json::from_value::<LinkGoods>(serde_json::json!(
                {"id": "g", "name": "n", "price": bad, "quantity": 1}
            ));
            assert!(r.is_err(), "{bad:?} must not decode");
        }
    }

    #[test]
    fn goods_lines_become_page_lines_and_gateway_items() {
        let g = LinkGoods {
            id: "g1".into(),
            name: "Oolong".into(),
            price: Fen::from_fen(650),
            quantity: 3,
        };
        assert_eq!(
            g.to_line(),
            GoodsLine {
                id: "g1".into(),
                name: "Oolong".into(),
                price: "6.50".into(),
                quantity: 3
            }
        );
        let item = g.to_gateway();
        assert_eq!(
            (
                item.id.as_str(),
                item.name.as_str(),
                item.class.as_str(),
                item.subject.as_str()
            ),
            ("g1", "Oolong", "goods", "Oolong")
        );
        assert_eq!(
            (item.price, item.quantity, item.show_url),
            (Fen::from_fen(650), 3, None)
        );
        let mut p = payload();
        p.goods.push(g);
        let detail = p.goods_detail();
        assert_eq!(detail.len(), 2);
        assert_eq!(detail[0].price, Fen::from_fen(625));
        assert_eq!(detail[1].quantity, 3);
    }

    #[test]
    fn hmac_is_hmac_sha256() {
        // RFC 4231, test case 2.
        let t = tag(b"Jefe", "what do ya want for nothing?");
        assert_eq!(
            hex(&t),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn round_trip_and_url_safe() {
        let p = payload();
        let token = issue(&p, SECRET);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        assert_eq!(token.matches('.').count(), 1);
        assert_eq!(verify(&token, SECRET, NOW), Ok(p.clone()));
        assert_eq!(verify_ignoring_expiry(&token, SECRET), Ok(p.clone()));
        // Deterministic: same payload and secret, same token.
        assert_eq!(issue(&p, SECRET), token);
    }

    #[test]
    fn minimal_payload_round_trips() {
        let p = LinkPayload {
            amount: LinkAmount::Fixed {
                amount: Fen::from_fen(1),
            },
            subject: String::new(),
            merchant_ref: None,
            expires_at: 0,
            return_url: None,
            goods: vec![],
            channel: None,
            many: false,
            nonce: String::new(),
        };
        let token = issue(&p, SECRET);
        assert_eq!(verify_ignoring_expiry(&token, SECRET), Ok(p));
    }

    #[test]
    fn every_flipped_byte_is_invalid() {
        let token = issue(&payload(), SECRET);
        let mut checked = 0;
        for i in 0..token.len() {
            for mask in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40] {
                let mut bytes = token.clone().into_bytes();
                bytes[i] ^= mask;
                let tampered = String::from_utf8(bytes).expect("ASCII stays ASCII");
                assert_eq!(
                    verify(&tampered, SECRET, NOW),
                    Err(Error::InvalidLink),
                    "byte {i} ^ {mask:#04x}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, token.len() * 7);
    }

    #[test]
    fn truncated_extended_and_reordered_tokens_are_invalid() {
        let token = issue(&payload(), SECRET);
        for end in 0..token.len() {
            assert_eq!(verify(&token[..end], SECRET, NOW), Err(Error::InvalidLink));
        }
        for extra in ["A", "=", ".", "..", "%3D", " ", "\n"] {
            assert_eq!(
                verify(&format!("{token}{extra}"), SECRET, NOW),
                Err(Error::InvalidLink),
                "{extra:?} appended"
            );
            assert_eq!(
                verify(&format!("{extra}{token}"), SECRET, NOW),
                Err(Error::InvalidLink),
                "{extra:?} prepended"
            );
        }
        let (body, sig) = token.split_once('.').unwrap();
        assert_eq!(
            verify(&format!("{sig}.{body}"), SECRET, NOW),
            Err(Error::InvalidLink)
        );
        // Padded spellings of the same bytes are not accepted either.
        assert_eq!(
            verify(&format!("{body}.{sig}="), SECRET, NOW),
            Err(Error::InvalidLink)
        );
    }

    #[test]
    fn payload_swapped_between_tokens_is_invalid() {
        let cheap = LinkPayload {
            amount: LinkAmount::Fixed {
                amount: Fen::from_fen(1),
            },
            ..payload()
        };
        let dear = payload();
        let t_cheap = issue(&cheap, SECRET);
        let t_dear = issue(&dear, SECRET);
        let (body_cheap, sig_cheap) = t_cheap.split_once('.').unwrap();
        let (body_dear, sig_dear) = t_dear.split_once('.').unwrap();
        assert_eq!(
            verify(&format!("{body_cheap}.{sig_dear}"), SECRET, NOW),
            Err(Error::InvalidLink)
        );
        assert_eq!(
            verify(&format!("{body_dear}.{sig_cheap}"), SECRET, NOW),
            Err(Error::InvalidLink)
        );
    }

    #[test]
    fn wrong_secret_is_invalid() {
        let token = issue(&payload(), SECRET);
        for other in [
            &b""[..],
            b"link-secret-0123456789abcdef0124",
            b"link-secret-0123456789abcdef012",
            b"link-secret-0123456789abcdef01234",
        ] {
            assert_eq!(verify(&token, other, NOW), Err(Error::InvalidLink));
            assert_eq!(
                verify_ignoring_expiry(&token, other),
                Err(Error::InvalidLink)
            );
        }
    }

    #[test]
    fn garbage_and_empty_are_invalid() {
        for g in [
            "",
            ".",
            "..",
            "a.",
            ".a",
            "a.b",
            "a.b.c",
            "not a token",
            "eyJhIjoxfQ",
            "eyJhIjoxfQ.",
            "%%%.%%%",
            "тест.тест",
            "\u{0}.\u{0}",
        ] {
            assert_eq!(verify(g, SECRET, NOW), Err(Error::InvalidLink), "{g:?}");
        }
        // A correctly signed body that is not a payload is invalid, too.
        for body in ["", "e30", "bm90IGpzb24", "eyJhIjoxfQ"] {
            let forged = format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag(SECRET, body)));
            assert_eq!(
                verify_ignoring_expiry(&forged, SECRET),
                Err(Error::InvalidLink)
            );
        }
        // A correctly signed body that is not base64 at all.
        let forged = format!("!!.{}", URL_SAFE_NO_PAD.encode(tag(SECRET, "!!")));
        assert_eq!(
            verify_ignoring_expiry(&forged, SECRET),
            Err(Error::InvalidLink)
        );
    }

    #[test]
    fn expiry_boundary() {
        let p = payload();
        let token = issue(&p, SECRET);
        let at = p.expires_at;
        assert_eq!(verify(&token, SECRET, 0), Ok(p.clone()));
        assert_eq!(verify(&token, SECRET, at - 1), Ok(p.clone()));
        assert_eq!(verify(&token, SECRET, at), Err(Error::LinkExpired));
        assert_eq!(verify(&token, SECRET, at + 1), Err(Error::LinkExpired));
        assert_eq!(verify(&token, SECRET, u64::MAX), Err(Error::LinkExpired));
        assert!(!p.is_expired(at - 1));
        assert!(p.is_expired(at));
        // The expired screen still gets the authentic payload.
        assert_eq!(verify_ignoring_expiry(&token, SECRET), Ok(p.clone()));
        assert_eq!(p.state(at - 1, false), LinkState::Open);
        assert_eq!(p.state(at, false), LinkState::Expired);
        assert_eq!(p.state(at - 1, true), LinkState::Paid);
        assert_eq!(p.state(at, true), LinkState::Paid);
    }

    #[test]
    fn forged_expired_token_says_invalid_not_expired() {
        let token = issue(&payload(), b"another secret");
        assert_eq!(verify(&token, SECRET, u64::MAX), Err(Error::InvalidLink));
    }

    #[test]
    fn nonce_makes_tokens_unique() {
        let a = payload();
        let b = LinkPayload {
            many: false,
            nonce: "n0nce-BBBB".into(),
            ..payload()
        };
        let (ta, tb) = (issue(&a, SECRET), issue(&b, SECRET));
        assert_ne!(ta, tb);
        assert_ne!(link_id(&ta), link_id(&tb));
    }

    #[test]
    fn link_id_is_truncated_sha256_hex() {
        assert_eq!(link_id("abc"), "ba7816bf8f01cfea414140de5dae2223");
        let token = issue(&payload(), SECRET);
        let id = link_id(&token);
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        assert_eq!(link_id(&token), id);
    }

    #[test]
    fn url_joins_base_and_token() {
        assert_eq!(
            url("https://pay.example", "T.S"),
            "https://pay.example/c/T.S"
        );
        assert_eq!(
            url("https://pay.example/", "T.S"),
            "https://pay.example/c/T.S"
        );
    }

    const OLD: &str = "old-secret-0123456789abcdef012345";
    const NEW: &str = "new-secret-0123456789abcdef012345";

    #[test]
    fn link_keys_from_config() {
        let short = "x".repeat(MIN_SECRET_BYTES - 1);
        let exact = "x".repeat(MIN_SECRET_BYTES);
        let list = format!("{NEW}, {OLD}");
        let trailing_comma = format!("{NEW},");
        /// (LINK_SECRETS, LINK_SECRET, key count or the variable named).
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Result<usize, &'a str>);
        let cases: Vec<Case> = vec![
            (None, None, Err("LINK_SECRET")),
            (None, Some(""), Err("LINK_SECRET")),
            (None, Some(&short), Err("LINK_SECRET")),
            (None, Some(&exact), Ok(1)),
            (Some("  "), Some(&exact), Ok(1)),
            (Some(&list), None, Ok(2)),
            (Some(&list), Some(&short), Ok(2)),
            (Some(&exact), Some(&short), Ok(1)),
            (Some(&short), Some(&exact), Err("LINK_SECRETS")),
            (Some("a,b"), None, Err("LINK_SECRETS")),
            (Some(&trailing_comma), None, Err("LINK_SECRETS")),
        ];
        for (secrets, secret, want) in cases {
            let got = LinkKeys::from_config(secrets, secret).map(|k| k.keys.len());
            assert_eq!(got, want, "{secrets:?} {secret:?}");
        }
        let keys = LinkKeys::from_config(Some(&list), None).unwrap();
        assert!(!format!("{keys:?}").contains("secret"));
    }

    #[test]
    fn rotation_signs_with_the_first_and_verifies_with_any() {
        let p = payload();
        let old_only = LinkKeys::from_config(None, Some(OLD)).unwrap();
        let rotated = LinkKeys::from_config(Some(&format!("{NEW},{OLD}")), None).unwrap();
        let new_only = LinkKeys::from_config(Some(NEW), None).unwrap();

        let old_token = old_only.issue(&p);
        let new_token = rotated.issue(&p);
        assert_eq!(new_token, issue(&p, NEW.as_bytes()));
        assert_eq!(rotated.verify(&old_token, NOW), Ok(p.clone()));
        assert_eq!(rotated.verify(&new_token, NOW), Ok(p.clone()));
        assert_eq!(new_only.verify(&old_token, NOW), Err(Error::InvalidLink));
        assert_eq!(old_only.verify(&new_token, NOW), Err(Error::InvalidLink));
        assert_eq!(
            rotated.verify(&old_token, p.expires_at),
            Err(Error::LinkExpired)
        );
        assert_eq!(rotated.verify_ignoring_expiry(&old_token), Ok(p));
        assert_eq!(rotated.verify("garbage", NOW), Err(Error::InvalidLink));
    }

    fn request() -> CreateLinkRequest {
        CreateLinkRequest {
            amount: Some("12.5".into()),
            min_amount: None,
            max_amount: None,
            subject: "  Oolong tea ".into(),
            r#ref: Some("ORDER-42".into()),
            expires_in: None,
            return_url: Some("https://shop.example/done".into()),
            goods: vec![GoodsLine {
                id: "g1".into(),
                name: "Oolong".into(),
                price: "6.250".into(),
                quantity: 2,
            }],
            channel: Some(LinkChannel::Alipay),
            kind: None,
        }
    }

    fn field_error(req: &CreateLinkRequest) -> &'static str {
        match req.to_payload(NOW, "n".into()) {
            Err(Error::InvalidRequest { field, .. }) => field,
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    }

    #[test]
    fn from_request_builds_a_normalised_payload() {
        let mut req = request();
        req.goods[0].price = "6.5".into();
        let p = req.to_payload(NOW, "nonce".into()).unwrap();
        assert_eq!(
            p.amount,
            LinkAmount::Fixed {
                amount: Fen::from_fen(1250)
            }
        );
        assert_eq!(p.subject, "Oolong tea");
        assert_eq!(p.merchant_ref.as_deref(), Some("ORDER-42"));
        assert_eq!(p.expires_at, NOW + DEFAULT_EXPIRES_IN);
        assert_eq!(p.return_url.as_deref(), Some("https://shop.example/done"));
        assert_eq!(p.goods[0].price, Fen::from_fen(650));
        assert_eq!(p.channel, Some(LinkChannel::Alipay));
        assert_eq!(p.nonce, "nonce");

        req.expires_in = Some(MAX_EXPIRES_IN);
        let p = req.to_payload(NOW, "n".into()).unwrap();
        assert_eq!(p.expires_at, NOW + MAX_EXPIRES_IN);
        req.expires_in = Some(1);
        let p = req.to_payload(NOW, "n".into()).unwrap();
        assert!(!p.is_expired(NOW) && p.is_expired(NOW + 1));
    }

    #[test]
    fn tokens_from_before_open_amounts_still_verify_as_fixed() {
        // Spelled exactly as the payload was serialised before `LinkAmount`.
        let body = URL_SAFE_NO_PAD
            .encode(br#"{"a":1250,"s":"Tea","r":"R-1","e":1795603600,"c":"wechat","n":"abc"}"#);
        let token = format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag(SECRET, &body)));
        let p = verify(&token, SECRET, NOW).unwrap();
        assert_eq!(
            p.amount,
            LinkAmount::Fixed {
                amount: Fen::from_fen(1250)
            }
        );
        assert_eq!(p.channel, Some(LinkChannel::Wechat));
        // And a fixed link is still spelled that way.
        let json = serde_json::to_value(payload()).unwrap();
        assert_eq!(json["a"], 1250);
        assert!(json.get("lo").is_none() && json.get("hi").is_none());
    }

    #[test]
    fn open_amount_links_round_trip_with_bounds() {
        let open = LinkPayload {
            amount: LinkAmount::Open {
                min: Fen::from_fen(100),
                max: Fen::from_fen(50_000),
            },
            ..payload()
        };
        let json = serde_json::to_value(&open).unwrap();
        assert_eq!(
            (json["lo"].as_u64(), json["hi"].as_u64()),
            (Some(100), Some(50_000))
        );
        assert!(json.get("a").is_none());
        assert_eq!(verify(&issue(&open, SECRET), SECRET, NOW), Ok(open.clone()));

        let mut r = request();
        r.goods.clear();
        r.amount = None;
        r.min_amount = Some("1".into());
        r.max_amount = Some("500.00".into());
        let p = r.to_payload(NOW, "n".into()).unwrap();
        assert_eq!(p.amount, open.amount);
        assert_eq!(p.amount.ceiling(), Fen::from_fen(50_000));
    }

    #[test]
    fn kinds_and_the_open_token_prefix() {
        let open = LinkPayload {
            amount: LinkAmount::Open {
                min: Fen::from_fen(100),
                max: Fen::from_fen(50_000),
            },
            ..payload()
        };
        let counter = LinkPayload {
            many: true,
            ..open.clone()
        };
        assert_eq!(payload().kind(), LinkKind::Fixed);
        assert_eq!(open.kind(), LinkKind::Open);
        assert_eq!(counter.kind(), LinkKind::Counter);
        // Migration 0006 tells stored open tokens by their first characters.
        for (p, open_prefix) in [(&payload(), false), (&open, true), (&counter, true)] {
            let token = issue(p, SECRET);
            assert_eq!(token.starts_with(OPEN_TOKEN_PREFIX), open_prefix, "{p:?}");
        }
        // A counter code is never paid, however many payments it took,
        // and its page never shows another shopper's attempt.
        assert_eq!(counter.state(NOW, true), LinkState::Open);
        assert_eq!(counter.shown_attempt(Some("K"), Some("P")), None);
        assert_eq!(open.shown_attempt(Some("K"), Some("P")), Some("K"));
        assert_eq!(open.shown_attempt(None, Some("P")), Some("P"));
        assert_eq!(open.state(NOW, true), LinkState::Paid);
        // Its flag is spelled only where set: older tokens are unchanged.
        assert!(serde_json::to_value(&open).unwrap().get("m").is_none());
        assert_eq!(serde_json::to_value(&counter).unwrap()["m"], true);
    }

    #[test]
    fn kinds_in_requests() {
        let bounds = |kind| CreateLinkRequest {
            amount: None,
            min_amount: Some("1".into()),
            max_amount: Some("500".into()),
            kind,
            goods: vec![],
            ..request()
        };
        let counter = bounds(Some(LinkKind::Counter))
            .to_payload(NOW, "n".into())
            .unwrap();
        assert_eq!(counter.kind(), LinkKind::Counter);
        // No expiry unless asked for; with expires_in, as any link.
        assert_eq!(counter.expires_at, NEVER);
        let answer = crate::api::CreateLinkResponse::of(&counter, "t".into(), "u".into(), true);
        assert_eq!((answer.kind, answer.expires_at), (LinkKind::Counter, None));
        let brief = CreateLinkRequest {
            expires_in: Some(60),
            ..bounds(Some(LinkKind::Counter))
        };
        assert_eq!(
            brief.to_payload(NOW, "n".into()).unwrap().expires_at,
            NOW + 60
        );
        assert_eq!(
            bounds(None).to_payload(NOW, "n".into()).unwrap().kind(),
            LinkKind::Open
        );
        let open = bounds(Some(LinkKind::Open))
            .to_payload(NOW, "n".into())
            .unwrap();
        assert_eq!(
            (open.kind(), open.expires_at),
            (LinkKind::Open, NOW + DEFAULT_EXPIRES_IN)
        );
        let fixed = CreateLinkRequest {
            kind: Some(LinkKind::Fixed),
            goods: vec![],
            ..request()
        };
        assert_eq!(
            fixed.to_payload(NOW, "n".into()).unwrap().kind(),
            LinkKind::Fixed
        );
        // A kind that does not fit the amount fields.
        assert_eq!(field_error(&bounds(Some(LinkKind::Fixed))), "kind");
        let fixed_counter = CreateLinkRequest {
            kind: Some(LinkKind::Counter),
            ..request()
        };
        assert_eq!(field_error(&fixed_counter), "kind");
        let fixed_open = CreateLinkRequest {
            kind: Some(LinkKind::Open),
            ..request()
        };
        assert_eq!(field_error(&fixed_open), "kind");
    }

    #[test]
    fn link_amount_bounds_in_requests() {
        /// (amount, min_amount, max_amount, fixed fen / (min, max) fen or the reason).
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            Result<LinkAmount, &'static str>,
        );
        let both = "give either amount, or both min_amount and max_amount";
        let open = |min, max| {
            Ok(LinkAmount::Open {
                min: Fen::from_fen(min),
                max: Fen::from_fen(max),
            })
        };
        let cases: Vec<Case> = vec![
            (
                Some("5"),
                None,
                None,
                Ok(LinkAmount::Fixed {
                    amount: Fen::from_fen(500),
                }),
            ),
            (None, Some("0.01"), Some("10000000"), open(1, 1_000_000_000)),
            (None, Some("3"), Some("3"), open(300, 300)),
            (None, None, None, Err(both)),
            (None, Some("1"), None, Err(both)),
            (None, None, Some("1"), Err(both)),
            (Some("5"), Some("1"), Some("9"), Err(both)),
            (Some("5"), None, Some("9"), Err(both)),
            (
                None,
                Some("9"),
                Some("1"),
                Err("min_amount is above max_amount"),
            ),
            (None, Some("0"), Some("1"), Err("zero")),
            (
                None,
                Some("1"),
                Some("10000000.01"),
                Err("above the maximum of 10000000.00"),
            ),
            (
                None,
                Some("1.001"),
                Some("2"),
                Err("more than two decimals"),
            ),
            (
                None,
                Some("x"),
                Some("2"),
                Err("not a yuan amount like 12.50"),
            ),
        ];
        for (amount, min, max, want) in cases {
            let mut r = request();
            r.goods.clear();
            r.amount = amount.map(Into::into);
            r.min_amount = min.map(Into::into);
            r.max_amount = max.map(Into::into);
            let got = r.to_payload(NOW, "n".into()).map(|p| p.amount);
            let want = want.map_err(|reason| Error::InvalidAmount { reason });
            assert_eq!(got, want, "{amount:?} {min:?} {max:?}");
        }
    }

    #[test]
    fn the_amount_an_attempt_charges() {
        let fixed = LinkAmount::Fixed {
            amount: Fen::from_fen(1250),
        };
        let (min, max) = (Fen::from_fen(100), Fen::from_fen(50_000));
        let open = LinkAmount::Open { min, max };
        let fixed_only = Err(Error::InvalidAmount {
            reason: "this link's amount is fixed",
        });
        let out = Err(Error::AmountOutOfRange { min, max });
        let cases: Vec<(LinkAmount, Option<&str>, Result<Fen, Error>)> = vec![
            (fixed, None, Ok(Fen::from_fen(1250))),
            (fixed, Some("12.50"), Ok(Fen::from_fen(1250))),
            (fixed, Some("12.5"), Ok(Fen::from_fen(1250))),
            (fixed, Some("1"), fixed_only.clone()),
            (fixed, Some("junk"), fixed_only),
            (open, Some("1"), Ok(min)),
            (open, Some("500"), Ok(max)),
            (open, Some("88.88"), Ok(Fen::from_fen(8888))),
            (open, Some("0.99"), out.clone()),
            (open, Some("500.01"), out),
            (
                open,
                Some("1.005"),
                Err(Error::InvalidAmount {
                    reason: "more than two decimals",
                }),
            ),
            (
                open,
                Some("0"),
                Err(Error::InvalidAmount { reason: "zero" }),
            ),
            (
                open,
                Some("1e2"),
                Err(Error::InvalidAmount {
                    reason: "exponent notation is not allowed",
                }),
            ),
            (
                open,
                None,
                Err(Error::InvalidAmount {
                    reason: "enter the amount to pay",
                }),
            ),
        ];
        for (amount, asked, want) in cases {
            assert_eq!(amount.charge(asked), want, "{amount:?} {asked:?}");
        }
    }

    #[test]
    fn from_request_rejects_bad_fields() {
        let mut r = request();
        r.amount = Some("0".into());
        assert_eq!(
            r.to_payload(NOW, "n".into()),
            Err(Error::InvalidAmount { reason: "zero" })
        );

        let mut r = request();
        r.goods[0].price = "6.250".into();
        assert_eq!(field_error(&r), "goods.price");

        type Mutation = Box<dyn Fn(&mut CreateLinkRequest)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("subject", Box::new(|r| r.subject = "   ".into())),
            ("subject", Box::new(|r| r.subject = "x".repeat(129))),
            ("subject", Box::new(|r| r.subject = "a\u{7}b".into())),
            ("ref", Box::new(|r| r.r#ref = Some(String::new()))),
            ("ref", Box::new(|r| r.r#ref = Some("r".repeat(65)))),
            ("expires_in", Box::new(|r| r.expires_in = Some(0))),
            (
                "expires_in",
                Box::new(|r| r.expires_in = Some(MAX_EXPIRES_IN + 1)),
            ),
            (
                "return_url",
                Box::new(|r| r.return_url = Some("javascript:alert(1)".into())),
            ),
            (
                "return_url",
                Box::new(|r| r.return_url = Some("//evil.example".into())),
            ),
            (
                "return_url",
                Box::new(|r| r.return_url = Some("https://".into())),
            ),
            (
                "return_url",
                Box::new(|r| r.return_url = Some("https:///x".into())),
            ),
            (
                "return_url",
                Box::new(|r| r.return_url = Some("ftp://x".into())),
            ),
            (
                "return_url",
                Box::new(|r| r.return_url = Some("https://a b".into())),
            ),
            (
                "return_url",
                Box::new(|r| r.return_url = Some(format!("https://x/{}", "a".repeat(600)))),
            ),
            (
                "goods",
                Box::new(|r| r.goods = vec![r.goods[0].clone(); 21]),
            ),
            ("goods.quantity", Box::new(|r| r.goods[0].quantity = 0)),
            ("goods.id", Box::new(|r| r.goods[0].id = String::new())),
            ("goods.name", Box::new(|r| r.goods[0].name = "n".repeat(65))),
        ];
        for (field, mutate) in cases {
            let mut r = request();
            r.goods[0].price = "6.25".into();
            mutate(&mut r);
            assert_eq!(field_error(&r), field, "{r:?}");
        }

        let mut r = request();
        r.goods[0].price = "6.25".into();
        r.return_url = Some("HTTP://Shop.Example/".into());
        assert!(r.to_payload(NOW, "n".into()).is_ok());
        assert_eq!(
            r.to_payload(u64::MAX - 10, "n".into()).map(|_| ()),
            Err(Error::InvalidRequest {
                field: "expires_in",
                reason: "expiry out of range"
            })
        );
    }

    fn arb_goods() -> impl Strategy<Value = LinkGoods> {
        (".{0,12}", ".{0,12}", 0..u64::MAX / 1000, any::<u32>()).prop_map(
            |(id, name, price, quantity)| LinkGoods {
                id,
                name,
                price: Fen::from_fen(price),
                quantity,
            },
        )
    }

    fn arb_payload() -> impl Strategy<Value = LinkPayload> {
        (
            prop_oneof![
                any::<u64>().prop_map(|a| LinkAmount::Fixed {
                    amount: Fen::from_fen(a)
                }),
                (any::<u64>(), any::<u64>()).prop_map(|(lo, hi)| LinkAmount::Open {
                    min: Fen::from_fen(lo),
                    max: Fen::from_fen(hi)
                }),
            ],
            ".{0,40}",
            proptest::option::of(".{0,20}"),
            any::<u64>(),
            proptest::option::of(".{0,40}"),
            proptest::collection::vec(arb_goods(), 0..4),
            proptest::option::of(prop_oneof![
                Just(LinkChannel::Wechat),
                Just(LinkChannel::Alipay)
            ]),
            ".{0,24}",
        )
            .prop_map(
                |(amount, subject, merchant_ref, expires_at, return_url, goods, channel, nonce)| {
                    LinkPayload {
                        amount,
                        subject,
                        merchant_ref,
                        expires_at,
                        return_url,
                        goods,
                        channel,
                        // Both spellings: counter codes and the others.
                        many: nonce.len() % 2 == 1,
                        nonce,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn issue_verify_round_trip(p in arb_payload(), secret in proptest::collection::vec(any::<u8>(), 0..80)) {
            let token = issue(&p, &secret);
            prop_assert_eq!(verify_ignoring_expiry(&token, &secret), Ok(p.clone()));
            if p.expires_at > 0 {
                prop_assert_eq!(verify(&token, &secret, p.expires_at - 1), Ok(p.clone()));
            }
            prop_assert_eq!(verify(&token, &secret, p.expires_at), Err(Error::LinkExpired));
        }

        #[test]
        fn verify_never_panics_on_arbitrary_strings(s in "\\PC*", now in any::<u64>()) {
            let r = verify(&s, SECRET, now);
            prop_assert_eq!(r, Err(Error::InvalidLink));
        }

        #[test]
        fn verify_never_panics_on_token_shaped_strings(
            s in "[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,60}",
            now in any::<u64>(),
        ) {
            prop_assert_eq!(verify(&s, SECRET, now), Err(Error::InvalidLink));
        }

        #[test]
        fn any_single_byte_change_is_invalid(p in arb_payload(), idx in any::<proptest::sample::Index>(), mask in 1u8..0x80) {
            let token = issue(&p, SECRET);
            let mut bytes = token.into_bytes();
            let i = idx.index(bytes.len());
            bytes[i] ^= mask;
            let tampered = String::from_utf8(bytes).expect("ASCII stays ASCII");
            prop_assert_eq!(verify_ignoring_expiry(&tampered, SECRET), Err(Error::InvalidLink));
        }
    }
}
