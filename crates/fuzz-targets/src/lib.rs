//! The bodies of the coverage-guided fuzz targets of `soushou` and
//! `checkout`: every parser, decoder and verifier that sees bytes from the
//! network or from a merchant.
//!
//! Why a crate of its own: `fuzz/` is a cargo-fuzz crate with its own
//! workspace (it links libFuzzer and is built with coverage
//! instrumentation), so the root workspace's `cargo test` cannot see it. The
//! logic lives here instead, once: each file in `fuzz/fuzz_targets/` is a
//! one-line call into this crate, and `tests/replay.rs` runs the committed
//! seeds and regression inputs through the very same functions on every
//! `cargo xtask test`, so a target's properties cannot rot unnoticed.
//!
//! Each target takes raw bytes and panics when a property breaks; "no
//! panic" alone is the weakest property, and most targets check more:
//! round trips (sign → verify, encrypt → decrypt, parse → format → parse,
//! issue → verify), agreement between two paths that must agree (an
//! encrypted envelope opens to exactly what its plaintext decodes to), and
//! canonical forms (an accepted token or ciphertext has one spelling).
//!
//! Target names start with their family (`wire_`, `crypto_`, `money_`,
//! `link_`), which names the libFuzzer dictionary in `fuzz/dict/`.
#![deny(missing_docs)]

pub mod crypto;
pub mod link;
pub mod money;
pub mod wire;

use std::borrow::Cow;

/// A fuzz target: its name (as in `fuzz/Cargo.toml`) and its body.
pub struct Target {
    /// The cargo-fuzz target name, `<family>_<what>`.
    pub name: &'static str,
    /// Runs one input; panics when a property is violated.
    pub run: fn(&[u8]),
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "wire_notification",
        run: wire::notification,
    },
    Target {
        name: "wire_response",
        run: wire::response,
    },
    Target {
        name: "wire_request",
        run: wire::request,
    },
    Target {
        name: "wire_codec",
        run: wire::codec,
    },
    Target {
        name: "wire_xml",
        run: wire::xml,
    },
    Target {
        name: "crypto_sign",
        run: crypto::sign,
    },
    Target {
        name: "crypto_tdes",
        run: crypto::tdes,
    },
    Target {
        name: "money_yuan",
        run: money::yuan,
    },
    Target {
        name: "money_api",
        run: money::api,
    },
    Target {
        name: "link_token",
        run: link::token,
    },
    Target {
        name: "link_request",
        run: link::request,
    },
];

/// The merchant key of the gateway document's samples: the targets sign and
/// encrypt with it, so seeds made from the document verify.
pub const MERCHANT_KEY: &str = "98SDKFUO432HNODS098EEE07U9DUOIUE";

/// The signature timestamp the targets sign with (the document's sample).
pub const SIGN_TS: u64 = 1_473_431_447;

/// Splits an input at its first `\n`: a header line (a query string, a
/// `sign` value, a key) and the rest (a body). Without a `\n`, the header
/// is empty and everything is the body.
pub fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[], data),
    }
}

/// The input as text, the way an HTTP stack hands text to the Worker
/// (invalid UTF-8 replaced), so every byte string still exercises the
/// parsers that take `&str`.
pub fn text(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}
