//! The HTTP request side shared by the rig's small std-only servers (the
//! Python index and the apt archive): reading one request head off a
//! connection, header lookup, keep-alive, and percent-decoding of paths.

use std::io::{BufRead, BufReader, Read as _};
use std::net::TcpStream;

/// Request heads larger than this are refused (the connection is closed).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// One request head.
pub(crate) struct Request {
    pub method: String,
    /// Percent-decoded, without the query.
    pub path: String,
    pub version: String,
    /// Lowercased names.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The next request head; `None` when the client closed the connection.
    pub fn read(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
        let mut lines = Vec::new();
        let mut total = 0;
        loop {
            let mut line = String::new();
            let n = reader.by_ref().take(8192).read_line(&mut line)?;
            total += n;
            if n == 0 || total > MAX_HEAD_BYTES {
                return Ok(None);
            }
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            if line.is_empty() {
                if lines.is_empty() {
                    continue; // Stray CRLF between requests (RFC 9112 §2.2).
                }
                break;
            }
            lines.push(line);
        }
        let mut request_line = lines[0].split(' ');
        let method = request_line.next().unwrap_or_default().to_owned();
        let target = request_line.next().unwrap_or_default();
        let version = request_line.next().unwrap_or_default().to_owned();
        // An absolute-form target, as a proxy-minded client may send.
        let target = match target.split_once("://") {
            Some((_, rest)) => &rest[rest.find('/').unwrap_or(rest.len())..],
            None => target,
        };
        let path = target.split(['?', '#']).next().unwrap_or_default();
        let headers = lines[1..]
            .iter()
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Ok(Some(Request {
            method,
            path: percent_decode(path),
            version,
            headers,
        }))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// HTTP/1.1 keeps the connection unless told otherwise; a request
    /// with a body (never GET or HEAD from apt) is not worth reading past.
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or_default();
        self.version == "HTTP/1.1"
            && !connection.eq_ignore_ascii_case("close")
            && matches!(self.method.as_str(), "GET" | "HEAD")
            && self
                .header("content-length")
                .is_none_or(|l| l.trim() == "0")
    }
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
