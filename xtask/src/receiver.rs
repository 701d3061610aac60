//! The demo's own webhook receiver: when `cargo xtask demo` runs without
//! `--webhook-url`, the demo Worker's webhooks come here (127.0.0.1, a free
//! port) and each one is appended to a log file as one JSON line
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`, the body), then
//! answered 204. It shows what a merchant receives; it does not verify
//! (that is the merchant's job: README, *Webhooks*).

use crate::Result;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A running receiver; dropping it stops the accept loop.
pub struct Receiver {
    /// `http://127.0.0.1:PORT/webhook`.
    pub url: String,
    /// Where deliveries are logged.
    pub log: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Starts the receiver on a free port, logging to `log`.
pub fn start(log: &Path) -> Result<Receiver> {
    start_holding(log, Duration::ZERO)
}

/// [`start`], each delivery logged as soon as it is read and answered
/// `hold` later (the chaos run's crash window inside a delivery); each
/// connection on its own thread, so holding does not queue deliveries.
pub fn start_holding(log: &Path, hold: Duration) -> Result<Receiver> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/webhook", listener.local_addr()?);
    std::fs::write(log, "")?;
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, path) = (stop.clone(), log.to_path_buf());
    std::thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let path = path.clone();
                    std::thread::spawn(move || serve(stream, &path, hold));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    Ok(Receiver {
        url,
        log: log.to_path_buf(),
        stop,
    })
}

/// Reads one request, logs it, answers 204 after `hold`.
fn serve(stream: TcpStream, log: &Path, hold: Duration) -> Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = serde_json::Map::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            if k.starts_with("webhook-") {
                headers.insert(k, v.into());
            }
        }
    }
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let entry = serde_json::json!({
        "request": line.trim(),
        "headers": headers,
        "body": serde_json::from_str::<serde_json::Value>(&body).unwrap_or(body.into()),
    });
    // One write per line: deliveries are served side by side, and an
    // appending write is atomic only as a whole.
    let mut file = std::fs::OpenOptions::new().append(true).open(log)?;
    file.write_all(format!("{entry}\n").as_bytes())?;
    drop(file);
    std::thread::sleep(hold);
    let mut stream = stream;
    stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")?;
    Ok(())
}
