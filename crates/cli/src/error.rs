//! The CLI's single error type: every failure becomes one line on stderr.

use std::path::PathBuf;

/// Everything that stops a command. `Display` is the whole message the
/// user sees after `soushou: `, so each variant says what to do as well.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong (unknown option, missing argument, …).
    #[error("{0} (see `soushou --help`)")]
    Usage(String),
    /// lexopt refused an argument (unknown option, missing or bad value).
    #[error("{0} (see `soushou --help`)")]
    Args(#[from] lexopt::Error),
    /// Neither `--key-file` nor `SOUSHOU_KEY` gave a key.
    #[error(
        "no merchant key: pass --key-file FILE or set SOUSHOU_KEY \
         (never on the command line: shell history keeps it)"
    )]
    NoKey,
    /// The key file or variable holds nothing but whitespace.
    #[error("the merchant key in {0} is empty")]
    EmptyKey(String),
    /// A file (key, body) cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file as given on the command line (`-` is stdin).
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The body to sign, verify, encrypt or decrypt is empty.
    #[error(
        "the body in {0} is empty (nothing piped in?): give the exact bytes that were sent, \
         or --allow-empty to sign or encrypt zero bytes"
    )]
    EmptyBody(String),
    /// A protocol rule failed (malformed `sign`, undecryptable body, gateway refusal…).
    #[error("{0}")]
    Protocol(#[from] soushou::Error),
    /// `--encrypted` was given but the body does not decrypt with the key.
    #[error(
        "cannot decrypt the body with this key ({0}): wrong key, or the body is not \
         encrypted (drop --encrypted)"
    )]
    Undecryptable(soushou::Error),
    /// The HTTP exchange with the gateway failed before an answer arrived.
    #[error("cannot reach the gateway at {url}: {reason}")]
    Http {
        /// The URL that was called (carries no secret: `sign` is public).
        url: String,
        /// The transport error, with its causes.
        reason: String,
    },
    /// Writing the result to stdout failed (e.g. a closed pipe).
    #[error("cannot write the output: {0}")]
    Write(std::io::Error),
}
