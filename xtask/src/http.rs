//! A minimal HTTP/1.1 client for 127.0.0.1 only: health checks and the
//! demo's one merchant-API call. Enough for a plain local server; not a
//! general client (no TLS, no chunked uploads, `Connection: close`).

use crate::{fail, Result};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A response: status code and body.
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Body as text (chunked bodies are de-chunked).
    pub body: String,
}

/// Send one request to `url` (`http://127.0.0.1:PORT/path`).
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Result<Response> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| fail!("only http:// URLs: {url}"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| fail!("malformed HTTP response from {url}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| fail!("no status in response from {url}"))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(Response { status, body })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Poll `url` until it answers 200 or `timeout` passes.
pub fn wait_ok(url: &str, timeout: Duration) -> Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match request("GET", url, &[], "") {
            Ok(r) if r.status == 200 => return Ok(()),
            _ if std::time::Instant::now() > deadline => {
                return Err(fail!("{url} did not answer 200 within {timeout:?}"))
            }
            _ => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}
