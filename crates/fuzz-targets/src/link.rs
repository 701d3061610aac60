//! Checkout links: token verification, link creation from a merchant's
//! request, and the shopper's pay request with its routing.

use checkout::amount::parse_api_amount;
use checkout::api::{CreateLinkRequest, LinkChannel, PayRequest};
use checkout::link::{self, LinkAmount, LinkPayload, MAX_EXPIRES_IN, MAX_SUBJECT_CHARS};
use checkout::routing::{self, Flags, Route, Shopper};
use checkout::Error;

use crate::{split_line, text};

/// The LINK_SECRET of the targets and their seeds.
const LINK_SECRET: &[u8] = b"fuzz-link-secret-0123456789abcdef";

/// The `now` of the targets (Unix seconds, 2026-11-26).
const NOW: u64 = 1_795_600_000;

/// `link::verify` and `link::verify_ignoring_expiry`, the Worker's reading
/// of `/c/{token}` and of every pay request.
///
/// As received: the input is a token. Anything not issued with the secret
/// is `InvalidLink`; an authentic token is exactly the token `issue` makes
/// of its payload (one spelling), and expiry is decided by `now` alone.
/// Minted here: a JSON payload, issued, verifies back to itself, not under
/// another secret, and no longer once any one byte of the token changes.
pub fn token(data: &[u8]) {
    let s = text(data);
    match link::verify_ignoring_expiry(&s, LINK_SECRET) {
        Ok(p) => {
            assert_eq!(
                link::issue(&p, LINK_SECRET),
                s,
                "a second spelling verified"
            );
            let expected = if p.is_expired(NOW) {
                Err(Error::LinkExpired)
            } else {
                Ok(p)
            };
            assert_eq!(link::verify(&s, LINK_SECRET, NOW), expected);
        }
        Err(e) => {
            assert_eq!(e, Error::InvalidLink);
            assert_eq!(link::verify(&s, LINK_SECRET, NOW), Err(Error::InvalidLink));
        }
    }

    let Ok(p) = serde_json::from_slice::<LinkPayload>(data) else {
        return;
    };
    let t = link::issue(&p, LINK_SECRET);
    assert_eq!(link::verify_ignoring_expiry(&t, LINK_SECRET), Ok(p.clone()));
    assert_eq!(
        link::verify_ignoring_expiry(&t, b"another secret"),
        Err(Error::InvalidLink)
    );
    let mut bytes = t.into_bytes();
    let i = data.len() % bytes.len();
    // Any other ASCII byte: the token stays a string, only one byte differs.
    bytes[i] ^= 1 + data[0] % 127;
    let tampered = String::from_utf8(bytes).expect("ASCII stays ASCII");
    assert_eq!(
        link::verify_ignoring_expiry(&tampered, LINK_SECRET),
        Err(Error::InvalidLink),
        "byte {i} changed, token still valid: {tampered}"
    );
}

/// The merchant's `POST /v1/links` body and the shopper's `POST /api/pay`
/// body (after a first line that is the shopper's User-Agent).
///
/// A link request is refused with a field error, or becomes a payload whose
/// every field obeys the API's rules and whose token verifies now. A pay
/// request is routed to a method that can work where the shopper is.
pub fn request(data: &[u8]) {
    let (ua, body) = split_line(data);
    if let Ok(req) = serde_json::from_slice::<CreateLinkRequest>(body) {
        match req.to_payload(NOW, "nonce".into()) {
            Ok(p) => {
                match p.amount {
                    LinkAmount::Fixed { amount } => {
                        assert_eq!(
                            req.amount.as_deref().map(parse_api_amount),
                            Some(Ok(amount))
                        );
                    }
                    LinkAmount::Open { min, max } => {
                        assert!(req.amount.is_none() && min <= max);
                        assert_eq!(
                            req.min_amount.as_deref().map(parse_api_amount),
                            Some(Ok(min))
                        );
                        assert_eq!(
                            req.max_amount.as_deref().map(parse_api_amount),
                            Some(Ok(max))
                        );
                    }
                }
                assert!(p.expires_at > NOW && p.expires_at <= NOW + MAX_EXPIRES_IN);
                assert!(!p.subject.is_empty() && p.subject.chars().count() <= MAX_SUBJECT_CHARS);
                if let Some(u) = &p.return_url {
                    let u = u.to_ascii_lowercase();
                    assert!(u.starts_with("https://") || u.starts_with("http://"), "{u}");
                }
                for g in &p.goods {
                    assert_eq!(parse_api_amount(&g.price.to_yuan()), Ok(g.price));
                    assert!(g.quantity > 0);
                }
                let t = link::issue(&p, LINK_SECRET);
                assert_eq!(link::verify(&t, LINK_SECRET, NOW), Ok(p));
            }
            Err(e) => assert!(
                matches!(
                    e,
                    Error::InvalidAmount { .. } | Error::InvalidRequest { .. }
                ),
                "{e:?}"
            ),
        }
    }

    let Ok(req) = serde_json::from_slice::<PayRequest>(body) else {
        return;
    };
    let _ = link::verify(&req.token, LINK_SECRET, NOW);
    let ua = text(ua);
    for bits in 0..8u8 {
        let flags = Flags {
            wechat_bridge: bits & 1 != 0,
            alipay_bridge: bits & 2 != 0,
            touch: bits & 4 != 0,
        };
        let shopper = Shopper {
            env: routing::detect_with(&ua, flags),
            openid: req.openid.clone(),
            buyer_id: req.buyer_id.clone(),
        };
        for channel in [None, Some(LinkChannel::Wechat), Some(LinkChannel::Alipay)] {
            for r in [
                routing::route(&shopper, channel),
                routing::resolve(req.method, &shopper, channel),
            ] {
                if let Route::Pay(m) = r {
                    assert!(
                        routing::is_possible(m, &shopper, channel),
                        "{m:?} chosen for {shopper:?} on {channel:?}"
                    );
                }
            }
        }
    }
}
