//! The merchant key, kept out of logs.

use std::fmt;

/// The shared secret SOUSHOU assigns to a merchant. It keys both the MD5
/// signature and 3DES, so its `Debug` and `Display` never print it: a key in
/// a log line is a key anyone can sign payments with.
#[derive(Clone, PartialEq, Eq)]
pub struct MerchantKey(String);

impl MerchantKey {
    /// Wraps the key string exactly as configured (no trimming: the gateway
    /// hashes it byte for byte).
    pub fn new(s: impl Into<String>) -> Self {
        MerchantKey(s.into())
    }

    /// The raw key, for the few places that must hash or derive from it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MerchantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MerchantKey(****)")
    }
}

impl fmt::Display for MerchantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MerchantKey(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::MerchantKey;

    #[test]
    fn never_prints_the_secret() {
        let k = MerchantKey::new("98SDKFUO432HNODS098EEE07U9DUOIUE");
        assert_eq!(format!("{k:?}"), "MerchantKey(****)");
        assert_eq!(format!("{k}"), "MerchantKey(****)");
        assert_eq!(k.expose(), "98SDKFUO432HNODS098EEE07U9DUOIUE");
    }
}
