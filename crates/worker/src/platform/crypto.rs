//! WebCrypto (`crypto.subtle`) for what the Worker signs and verifies
//! outside the gateway protocol: Alipay's RSA2 (sign-in); and the
//! runtime's `crypto.getRandomValues` for API keys and session secrets.

use worker::js_sys::{Array, Object, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{Crypto, CryptoKey, SubtleCrypto};

/// `N` bytes from `crypto.getRandomValues` (through getrandom's `wasm_js`
/// back end, which fails only where no crypto object exists; the Workers
/// runtime always has one).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("crypto.getRandomValues is available in Workers");
    buf
}

/// Standard base64 with padding (Alipay's `sign`).
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The runtime's WebCrypto (`crypto.subtle`).
fn subtle() -> Result<SubtleCrypto, JsValue> {
    let crypto = Reflect::get(&worker::js_sys::global(), &JsValue::from_str("crypto"))?;
    Ok(crypto.unchecked_into::<Crypto>().subtle())
}

/// `{name: "RSASSA-PKCS1-v1_5", hash: "SHA-256"}`: Alipay's RSA2.
fn rsa2() -> Result<Object, JsValue> {
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"RSASSA-PKCS1-v1_5".into())?;
    Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
    Ok(algorithm)
}

async fn import(format: &str, der: &[u8], usage: &str) -> Result<CryptoKey, JsValue> {
    let data = Uint8Array::from(der);
    let usages = Array::of1(&JsValue::from_str(usage));
    let promise = subtle()?.import_key_with_object(format, &data, &rsa2()?, false, &usages)?;
    Ok(JsFuture::from(promise).await?.unchecked_into())
}

/// RSA2 signature of `data` with a PKCS#8 private key, by WebCrypto.
pub async fn rsa2_sign(pkcs8: &[u8], data: &[u8]) -> Result<Vec<u8>, JsValue> {
    let key = import("pkcs8", pkcs8, "sign").await?;
    let promise = subtle()?.sign_with_object_and_u8_array(&rsa2()?, &key, data)?;
    let signature = JsFuture::from(promise).await?;
    Ok(Uint8Array::new(&signature).to_vec())
}

/// Whether `signature` is RSA2 of `data` under an SPKI public key, by WebCrypto.
pub async fn rsa2_verify(spki: &[u8], signature: &[u8], data: &[u8]) -> Result<bool, JsValue> {
    let key = import("spki", spki, "verify").await?;
    let promise =
        subtle()?.verify_with_object_and_u8_array_and_u8_array(&rsa2()?, &key, signature, data)?;
    Ok(JsFuture::from(promise).await?.as_bool().unwrap_or(false))
}
