//! Signatures (`md5hex:ts`) and 3DES + base64 bodies.

use soushou::sign::{self, SignRule, Verified};
use soushou::{tdes, Error, MerchantKey};

use crate::{split_line, text, MERCHANT_KEY, SIGN_TS};

/// The characters the signature ignores (Java's `\s`) and the one the
/// fallback rule also ignores (`\`): changing one of these is not
/// necessarily a change of the signed message.
fn unsigned_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b'\\')
}

/// `sign::verify` and `sign::sign`.
///
/// As received: the first line is a `sign` parameter, the rest the body it
/// claims to cover; only a digest made with the key verifies. Signed here:
/// the whole input verifies under its own signature (either hex case,
/// seconds or milliseconds), not under another key, still after Java
/// whitespace is inserted, and no longer after any other byte changes.
pub fn sign(data: &[u8]) {
    let key = MerchantKey::new(MERCHANT_KEY);
    let (param, body) = split_line(data);
    let param = text(param);
    if let Ok(v) = sign::verify(&param, body, &key) {
        if v.rule == SignRule::JavaWhitespace {
            let ours = sign::sign(body, &key, v.ts);
            assert!(
                param.trim()[..32].eq_ignore_ascii_case(&ours[..32]),
                "{param:?} verified but the digest is not {ours}"
            );
        }
    }

    let ok = |ts| {
        Ok(Verified {
            ts,
            rule: SignRule::JavaWhitespace,
        })
    };
    let millis = SIGN_TS * 1000 + 123;
    assert_eq!(
        sign::verify(&sign::sign(data, &key, millis), data, &key),
        ok(millis)
    );
    let s = sign::sign(data, &key, SIGN_TS);
    assert_eq!(sign::verify(&s, data, &key), ok(SIGN_TS));
    assert_eq!(sign::verify(&s.to_uppercase(), data, &key), ok(SIGN_TS));
    let other = MerchantKey::new("another merchant's key, 32 bytes");
    assert_eq!(sign::verify(&s, data, &other), Err(Error::SignMismatch));

    let Some((&first, _)) = data.split_first() else {
        return;
    };
    let i = usize::from(first) % data.len();
    let mut spaced = data.to_vec();
    spaced.insert(i, b' ');
    spaced.insert(0, b'\n');
    assert!(
        sign::verify(&s, &spaced, &key).is_ok(),
        "whitespace is not signed"
    );

    let mut tampered = data.to_vec();
    tampered[i] ^= 1 | data[data.len() - 1];
    if !unsigned_byte(data[i]) && !unsigned_byte(tampered[i]) {
        assert_eq!(
            sign::verify(&s, &tampered, &key),
            Err(Error::SignMismatch),
            "byte {i} changed, signature still valid"
        );
    }
}

/// `tdes::decrypt` and `tdes::encrypt`.
///
/// The first line is the merchant key (the document's key when there is no
/// line), the rest the body. Any body decrypts or fails with a typed error;
/// an accepted ciphertext is exactly the one `encrypt` makes of its
/// plaintext (one spelling); `encrypt` → `decrypt` is the identity, also
/// with MIME line breaks in the base64.
pub fn tdes(data: &[u8]) {
    let (k, body) = split_line(data);
    let key = if k.is_empty() {
        MerchantKey::new(MERCHANT_KEY)
    } else {
        MerchantKey::new(text(k))
    };
    if let Ok(plain) = tdes::decrypt(body, &key) {
        let compact: Vec<u8> = body
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        assert_eq!(
            tdes::encrypt(&plain, &key).as_bytes(),
            &compact[..],
            "a second spelling of a ciphertext was accepted"
        );
    }

    let wire = tdes::encrypt(body, &key);
    assert_eq!(tdes::decrypt(wire.as_bytes(), &key).as_deref(), Ok(body));
    let wrapped = wire
        .as_bytes()
        .chunks(76)
        .collect::<Vec<_>>()
        .join(&b"\r\n"[..]);
    assert_eq!(tdes::decrypt(&wrapped, &key).as_deref(), Ok(body));
}
