//! Body encryption: DESede/ECB/PKCS5Padding, standard base64.
//!
//! ECB 3DES is weak, but it is what the gateway speaks (`encrypt=3DES`);
//! this module only reproduces it bit for bit.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use des::TdesEde3;

use crate::error::{DecryptError, Error};
use crate::key::MerchantKey;

/// The Java SDK's key derivation: the first 24 UTF-16 units of the key,
/// each truncated to a byte (`(byte) key.charAt(i)`), zero-padded to 24.
fn cipher(key: &MerchantKey) -> TdesEde3 {
    let mut k = [0u8; 24];
    for (slot, unit) in k.iter_mut().zip(key.expose().encode_utf16()) {
        *slot = unit as u8; // deliberate truncation, as Java's (byte) cast
    }
    TdesEde3::new(GenericArray::from_slice(&k))
}

/// Encrypts `plain` and returns standard padded base64 (no line breaks).
pub fn encrypt(plain: &[u8], key: &MerchantKey) -> String {
    let c = cipher(key);
    let pad = 8 - plain.len() % 8;
    let mut buf = Vec::with_capacity(plain.len() + pad);
    buf.extend_from_slice(plain);
    buf.resize(plain.len() + pad, pad as u8);
    for block in buf.chunks_exact_mut(8) {
        c.encrypt_block(GenericArray::from_mut_slice(block));
    }
    STANDARD.encode(buf)
}

/// Decrypts a base64 body. Surrounding ASCII whitespace (and line breaks
/// some senders insert) is ignored. Errors are typed, never panics.
pub fn decrypt(b64: &[u8], key: &MerchantKey) -> Result<Vec<u8>, Error> {
    let compact: Vec<u8> = b64
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let mut buf = STANDARD
        .decode(&compact)
        .map_err(|_| Error::Decrypt(DecryptError::Base64))?;
    if buf.is_empty() || buf.len() % 8 != 0 {
        return Err(Error::Decrypt(DecryptError::Length));
    }
    let c = cipher(key);
    for block in buf.chunks_exact_mut(8) {
        c.decrypt_block(GenericArray::from_mut_slice(block));
    }
    let pad = usize::from(buf[buf.len() - 1]);
    if pad == 0
        || pad > 8
        || buf[buf.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return Err(Error::Decrypt(DecryptError::Padding));
    }
    buf.truncate(buf.len() - pad);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_typed_errors() {
        let k = MerchantKey::new("98SDKFUO432HNODS098EEE07U9DUOIUE");
        let c = encrypt(b"hello", &k);
        assert_eq!(decrypt(c.as_bytes(), &k).unwrap(), b"hello");
        assert_eq!(
            decrypt(b"not base64!", &k),
            Err(Error::Decrypt(DecryptError::Base64))
        );
        assert_eq!(decrypt(b"", &k), Err(Error::Decrypt(DecryptError::Length)));
        assert_eq!(
            decrypt(b"AAAA", &k),
            Err(Error::Decrypt(DecryptError::Length))
        );
        let other = MerchantKey::new("another key entirely....");
        assert!(
            decrypt(c.as_bytes(), &other).is_err()
                || decrypt(c.as_bytes(), &other).unwrap() != b"hello"
        );
    }
}
