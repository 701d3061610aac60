//! `soushou`: the SOUSHOU protocol from any shell, for merchants whose
//! backend is Java, PHP or Go and who need to check a signature, a 3DES
//! body or a whole call without writing Rust. Every wire rule comes from
//! the `soushou` crate; this binary only reads files, talks HTTP and prints.
#![deny(missing_docs)]

mod args;
mod call;
mod doctor;
mod error;
mod input;

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use soushou::sign::{self, SignRule};
use soushou::{tdes, MerchantKey};

use crate::args::{Command, Opts};
use crate::error::Error;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("soushou: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, Error> {
    let (command, opts) = args::parse(std::env::args_os().skip(1))?;
    match command {
        Command::Help => print(args::USAGE.as_bytes()),
        Command::Sign => sign_cmd(&opts),
        Command::Verify => verify_cmd(&opts),
        Command::Encrypt => {
            let key = key(&opts)?;
            let body = input::body(opts.file()?, opts.allow_empty)?;
            print(format!("{}\n", tdes::encrypt(&body, &key)).as_bytes())
        }
        Command::Decrypt => {
            let key = key(&opts)?;
            let body = input::body(opts.file()?, opts.allow_empty)?;
            print(&tdes::decrypt(&body, &key)?)
        }
        Command::Call => call::run(&opts, now_ms()),
        Command::Doctor => doctor_cmd(&opts),
    }
}

/// Unix time in milliseconds, the Java SDK's default timestamp.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn key(opts: &Opts) -> Result<MerchantKey, Error> {
    Ok(MerchantKey::new(input::key(opts)?.key))
}

/// What `sign` and `verify` cover: the cancelTrade payload or a body.
/// Called after the command line and the key were checked, so a mistake
/// there is reported before anything waits on stdin.
fn signed_bytes(opts: &Opts, cancel: Option<(&str, &str)>) -> Result<Vec<u8>, Error> {
    match cancel {
        Some((charge_code, busi_code)) => {
            if let Some(extra) = opts.args.first() {
                return Err(Error::Usage(format!(
                    "unexpected argument {extra:?}: cancelTrade signs no body"
                )));
            }
            Ok(sign::cancel_payload(charge_code, busi_code).into_bytes())
        }
        None => input::body(opts.file()?, opts.allow_empty),
    }
}

fn sign_cmd(opts: &Opts) -> Result<ExitCode, Error> {
    let cancel = opts.cancel()?;
    let key = key(opts)?;
    let bytes = signed_bytes(opts, cancel)?;
    let ts = opts.ts.unwrap_or_else(now_ms);
    print(format!("{}\n", sign::sign(&bytes, &key, ts)).as_bytes())
}

fn verify_cmd(opts: &Opts) -> Result<ExitCode, Error> {
    let signature = opts.sign()?;
    let cancel = opts.cancel()?;
    let key = key(opts)?;
    let bytes = signed_bytes(opts, cancel)?;
    match sign::verify(signature, &bytes, &key) {
        Ok(v) => {
            let rule = match v.rule {
                SignRule::JavaWhitespace => "java-whitespace",
                SignRule::BackslashStripped => "backslashes-stripped",
            };
            print(format!("ok: {rule}\n").as_bytes())
        }
        Err(soushou::Error::SignMismatch) => {
            eprintln!(
                "soushou: signature mismatch: run `soushou doctor` with the same arguments to see why"
            );
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

fn doctor_cmd(opts: &Opts) -> Result<ExitCode, Error> {
    let signature = opts.sign()?;
    let cancel_args = opts.cancel()?;
    let key = input::key(opts)?;
    let (plain, sent_ciphertext, cancel);
    let subject = match cancel_args {
        Some((charge_code, busi_code)) => {
            cancel = opts
                .file()?
                .map(|f| input::body(Some(f), opts.allow_empty))
                .transpose()?;
            doctor::Subject::Cancel {
                charge_code,
                busi_code,
                body: cancel.as_deref(),
            }
        }
        None => {
            let sent = input::body(opts.file()?, opts.allow_empty)?;
            if opts.encrypted {
                plain = tdes::decrypt(&sent, &MerchantKey::new(key.key.as_str()))
                    .map_err(Error::Undecryptable)?;
                sent_ciphertext = sent;
                doctor::Subject::Body {
                    plain: &plain,
                    sent_ciphertext: Some(&sent_ciphertext),
                }
            } else {
                plain = sent;
                doctor::Subject::Body {
                    plain: &plain,
                    sent_ciphertext: None,
                }
            }
        }
    };
    let diagnosis = doctor::diagnose(&doctor::Input {
        sign: signature,
        key: &key.key,
        key_as_read: &key.as_read,
        subject,
        now: opts.now.unwrap_or_else(|| now_ms() / 1000),
        window: opts.window.unwrap_or(doctor::WORKER_REPLAY_WINDOW_SECS),
    })?;
    print(diagnosis.to_string().as_bytes())?;
    Ok(if diagnosis.found.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Writes `bytes` to stdout; a command's whole output goes through here.
fn print(bytes: &[u8]) -> Result<ExitCode, Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(Error::Write)?;
    Ok(ExitCode::SUCCESS)
}
