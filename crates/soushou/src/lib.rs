//! Sans-IO implementation of the SOUSHOU aggregated payment gateway
//! protocol (WeChat Pay / Alipay), for both sides of the wire.
//!
//! The crate does no HTTP, reads no clock and draws no randomness: callers
//! pass timestamps and identifiers in and move bytes themselves. That keeps
//! it usable from a Cloudflare Worker (`wasm32-unknown-unknown`, the client
//! side) and from a native sandbox gateway (the server side) alike.
//!
//! - [`money`]: [`Fen`], exact yuan parsing, wire-unit serde helpers.
//! - [`key`], [`sign`], [`tdes`]: the merchant key, MD5 signatures, 3DES.
//! - [`types`], [`model`]: dictionaries and typed bodies with wire names.
//! - [`codec`], [`xml`]: JSON and XML forms of every message.
//! - [`envelope`]: requests, responses and notifications around the bodies.
//!
//! ```
//! use soushou::{sign, tdes, Fen, MerchantKey};
//!
//! let key = MerchantKey::new("98SDKFUO432HNODS098EEE07U9DUOIUE");
//! let body = br#"{"AMT":"0.01","BUSI_ID":"0010000001"}"#;
//! // The caller picks the timestamp; the document's sample uses seconds.
//! let s = sign::sign(body, &key, 1473431447);
//! assert_eq!(s, "b193b39fd7baebc460b3fe7df803778d:1473431447");
//! assert_eq!(sign::verify(&s, body, &key)?.ts, 1473431447);
//!
//! let wire = tdes::encrypt(body, &key);
//! assert_eq!(tdes::decrypt(wire.as_bytes(), &key)?, body);
//!
//! assert_eq!(Fen::parse_yuan("158.5")?.fen(), 15850);
//! assert_eq!(format!("{key:?}"), "MerchantKey(****)");
//! # Ok::<(), soushou::Error>(())
//! ```
#![deny(missing_docs)]

pub mod codec;
pub mod envelope;
pub mod error;
pub mod key;
pub mod model;
pub mod money;
pub mod sign;
pub mod tdes;
pub mod types;
pub mod xml;

pub use error::Error;
pub use key::MerchantKey;
pub use money::Fen;
