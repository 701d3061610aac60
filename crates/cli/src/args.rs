//! The command line: `soushou COMMAND [OPTIONS] [ARGS]`, parsed with lexopt.
//!
//! One flat option set for all commands; each command lists the options it
//! accepts and anything else is refused by name, so a typo or an option of
//! another command never silently does nothing.

use std::ffi::OsString;
use std::path::PathBuf;

use lexopt::prelude::*;
use soushou::codec::Format;
use soushou::types::SerType;

use crate::error::Error;

/// `soushou --help`.
pub const USAGE: &str = "\
soushou: sign, verify, encrypt, decrypt, call and diagnose SOUSHOU gateway requests

USAGE:
  soushou sign    --key-file F [--ts TS] [BODY_FILE|-]
  soushou sign    --key-file F [--ts TS] --cancel CHARGE_CODE --busi-code B
  soushou verify  --key-file F --sign HEX:TS [BODY_FILE|-]
  soushou verify  --key-file F --sign HEX:TS --cancel CHARGE_CODE --busi-code B
  soushou encrypt --key-file F [FILE|-]
  soushou decrypt --key-file F [FILE|-]
  soushou call INTERFACE --gateway URL --busi-code B --key-file F
               [--json|--xml] [--no-encrypt] [-v] [BODY_FILE|-]
      INTERFACE: order, creatOrder, wapOrder, preOrder, refund (POST a JSON body),
                 query CODE, refundQuery CODE [--ser-type 0|1],
                 cancelTrade CHARGE_CODE [--apply]
  soushou doctor  --key-file F --sign HEX:TS [--now UNIX] [--window SECS]
                  [--encrypted] [BODY_FILE|-]
  soushou doctor  --key-file F --sign HEX:TS --cancel CHARGE_CODE --busi-code B [BODY_FILE]

The merchant key comes from --key-file or the SOUSHOU_KEY variable (surrounding
whitespace removed), never from an argument: shell history would keep it.
Bodies are read byte for byte from the file, or stdin for `-` or no file; an
empty body is refused unless --allow-empty (sign, verify, encrypt, doctor).
TS: Unix seconds or milliseconds (default: now, in milliseconds).
Exit status: 0 ok / match; 1 signature mismatch, no match, gateway refusal; 2 error.
";

/// The commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print `--help`.
    Help,
    /// `sign`.
    Sign,
    /// `verify`.
    Verify,
    /// `encrypt`.
    Encrypt,
    /// `decrypt`.
    Decrypt,
    /// `call`.
    Call,
    /// `doctor`.
    Doctor,
}

impl Command {
    /// The options this command accepts.
    fn accepts(self, option: &str) -> bool {
        let allowed: &[&str] = match self {
            Command::Help => &[],
            Command::Sign => &["key-file", "ts", "cancel", "busi-code", "allow-empty"],
            Command::Verify => &["key-file", "sign", "cancel", "busi-code", "allow-empty"],
            Command::Encrypt => &["key-file", "allow-empty"],
            Command::Decrypt => &["key-file"],
            Command::Call => &[
                "key-file",
                "gateway",
                "busi-code",
                "json",
                "xml",
                "no-encrypt",
                "verbose",
                "ser-type",
                "apply",
            ],
            Command::Doctor => &[
                "key-file",
                "sign",
                "now",
                "window",
                "encrypted",
                "cancel",
                "busi-code",
                "allow-empty",
            ],
        };
        allowed.contains(&option)
    }
}

/// Everything the command line can say.
#[derive(Debug, Default)]
pub struct Opts {
    /// `--key-file`.
    pub key_file: Option<PathBuf>,
    /// `--ts`.
    pub ts: Option<u64>,
    /// `--sign`.
    pub sign: Option<String>,
    /// `--now`.
    pub now: Option<u64>,
    /// `--window`.
    pub window: Option<u64>,
    /// `--encrypted`.
    pub encrypted: bool,
    /// `--cancel`.
    pub cancel: Option<String>,
    /// `--busi-code`.
    pub busi_code: Option<String>,
    /// `--gateway`.
    pub gateway: Option<String>,
    /// `--json` / `--xml` (the last one wins).
    pub format: Option<Format>,
    /// `--no-encrypt`.
    pub no_encrypt: bool,
    /// `-v` / `--verbose`.
    pub verbose: bool,
    /// `--ser-type`.
    pub ser_type: Option<SerType>,
    /// `--apply`.
    pub apply: bool,
    /// `--allow-empty`.
    pub allow_empty: bool,
    /// Positional arguments after the command.
    pub args: Vec<String>,
}

impl Opts {
    /// The one optional file argument of `sign`, `verify`, `encrypt`,
    /// `decrypt` and `doctor`.
    pub fn file(&self) -> Result<Option<&str>, Error> {
        match self.args.as_slice() {
            [] => Ok(None),
            [f] => Ok(Some(f)),
            [_, extra, ..] => Err(Error::Usage(format!("unexpected argument {extra:?}"))),
        }
    }

    /// `--cancel C --busi-code B`, both or neither.
    pub fn cancel(&self) -> Result<Option<(&str, &str)>, Error> {
        match (&self.cancel, &self.busi_code) {
            (Some(c), Some(b)) => Ok(Some((c, b))),
            (Some(_), None) => Err(Error::Usage(
                "--cancel needs --busi-code: cancelTrade signs chargeCode=…&busiCode=…".into(),
            )),
            _ => Ok(None),
        }
    }

    /// `--sign`, which the command requires.
    pub fn sign(&self) -> Result<&str, Error> {
        self.sign
            .as_deref()
            .ok_or_else(|| Error::Usage("--sign HEX:TS is required".into()))
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<(Command, Opts), Error> {
    let mut p = lexopt::Parser::from_args(args);
    let command = match p.next()? {
        Some(Value(v)) => match v.to_string_lossy().as_ref() {
            "sign" => Command::Sign,
            "verify" => Command::Verify,
            "encrypt" => Command::Encrypt,
            "decrypt" => Command::Decrypt,
            "call" => Command::Call,
            "doctor" => Command::Doctor,
            "help" => Command::Help,
            other => return Err(Error::Usage(format!("unknown command {other:?}"))),
        },
        Some(Short('h') | Long("help")) => return Ok((Command::Help, Opts::default())),
        Some(other) => return Err(other.unexpected().into()),
        None => return Err(Error::Usage("no command given".into())),
    };
    let mut o = Opts::default();
    while let Some(arg) = p.next()? {
        let name = match &arg {
            Long(l) => *l,
            Short('v') => "verbose",
            Short('h') => "help",
            _ => "",
        };
        if name == "help" {
            return Ok((Command::Help, Opts::default()));
        }
        if name == "key" {
            return Err(Error::Usage(
                "the key is never taken from the command line (shell history keeps it): \
                 use --key-file FILE or SOUSHOU_KEY"
                    .into(),
            ));
        }
        if !name.is_empty() && !command.accepts(name) {
            return Err(arg.unexpected().into());
        }
        match arg {
            Long("key-file") => o.key_file = Some(p.value()?.into()),
            Long("ts") => o.ts = Some(p.value()?.parse()?),
            Long("sign") => o.sign = Some(p.value()?.string()?),
            Long("now") => o.now = Some(p.value()?.parse()?),
            Long("window") => o.window = Some(p.value()?.parse()?),
            Long("encrypted") => o.encrypted = true,
            Long("cancel") => o.cancel = Some(p.value()?.string()?),
            Long("busi-code") => o.busi_code = Some(p.value()?.string()?),
            Long("gateway") => o.gateway = Some(p.value()?.string()?),
            Long("json") => o.format = Some(Format::Json),
            Long("xml") => o.format = Some(Format::Xml),
            Long("no-encrypt") => o.no_encrypt = true,
            Long("verbose") | Short('v') => o.verbose = true,
            Long("ser-type") => {
                o.ser_type = Some(match p.value()?.string()?.as_str() {
                    "0" => SerType::Merchant,
                    "1" => SerType::Gateway,
                    v => {
                        return Err(Error::Usage(format!(
                        "--ser-type is 0 (merchant CHARGE_CODE) or 1 (gateway serial), not {v:?}"
                    )))
                    }
                })
            }
            Long("apply") => o.apply = true,
            Long("allow-empty") => o.allow_empty = true,
            Value(v) => o.args.push(v.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    Ok((command, o))
}
