//! Reading the merchant key and the bodies: the CLI's only file input.

use std::io::Read;
use std::path::Path;

use crate::args::Opts;
use crate::error::Error;

/// The merchant key as read and as used.
pub struct Key {
    /// Exactly what the file or variable holds: the doctor tries it as is,
    /// since a stray newline in a key is a classic cause of `INVALID_SIGN`.
    pub as_read: String,
    /// Without surrounding whitespace (and a byte-order mark): what every
    /// command signs and encrypts with, like `cargo xtask demo
    /// --merchant-key-file` does, since key files normally end in a newline.
    pub key: String,
    /// Where it came from, for messages (never the key itself).
    pub source: String,
}

/// Loads the key from `--key-file`, else `SOUSHOU_KEY`.
pub fn key(opts: &Opts) -> Result<Key, Error> {
    let (as_read, source) = match &opts.key_file {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?,
            path.display().to_string(),
        ),
        None => match std::env::var("SOUSHOU_KEY") {
            Ok(k) => (k, "SOUSHOU_KEY".to_owned()),
            Err(std::env::VarError::NotPresent) => return Err(Error::NoKey),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::Usage("SOUSHOU_KEY is not valid UTF-8".into()))
            }
        },
    };
    let key = as_read
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_owned();
    if key.is_empty() {
        return Err(Error::EmptyKey(source));
    }
    Ok(Key {
        as_read,
        key,
        source,
    })
}

/// Reads a body byte for byte from `file`, or stdin for `-` or `None`.
/// An empty body is refused unless `allow_empty`: it is almost always an
/// empty pipe or a truncated file, and its signature would be meaningless.
pub fn body(file: Option<&str>, allow_empty: bool) -> Result<Vec<u8>, Error> {
    let (bytes, name) = match file {
        None | Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|source| Error::Read {
                    path: "stdin".into(),
                    source,
                })?;
            (buf, "stdin")
        }
        Some(path) => (
            std::fs::read(path).map_err(|source| Error::Read {
                path: Path::new(path).to_path_buf(),
                source,
            })?,
            path,
        ),
    };
    if bytes.is_empty() && !allow_empty {
        return Err(Error::EmptyBody(name.to_owned()));
    }
    Ok(bytes)
}
