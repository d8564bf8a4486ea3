//! The HTTP side shared by the rig's small std-only servers (the
//! Python index, the apt archive, the Python downloads): reading one
//! request head off a connection, header lookup, keep-alive,
//! percent-decoding of paths, and the kept-alive connection loop.

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

/// A server whose connections are kept alive (the apt archive, the
/// standalone Python downloads): what it answers and where it logs.
pub(crate) trait KeptAlive: Send + Sync + 'static {
    /// Set once the server is dropped: no new connection is served.
    fn stopping(&self) -> bool;
    /// Writes the answer to `request`; its status.
    fn answer(
        &self,
        request: &Request,
        stream: &mut TcpStream,
        keep_alive: bool,
    ) -> std::io::Result<u16>;
    fn log(&self, entry: super::pyindex::LoggedRequest);
}

/// A stalled or idle connection is closed after this long.
const IO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Accepts connections until the server stops, each on a thread named
/// `name` that answers its requests in order.
pub(crate) fn accept_loop<S: KeptAlive>(
    listener: &std::net::TcpListener,
    server: &std::sync::Arc<S>,
    name: &str,
) {
    for stream in listener.incoming() {
        if server.stopping() {
            break;
        }
        let Ok(stream) = stream else { continue };
        let server = std::sync::Arc::clone(server);
        let _ = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = serve(stream, &*server);
            });
    }
}

/// Answers requests on one connection in order (apt pipelines several on a
/// kept-alive connection) until the client closes it or asks to.
fn serve<S: KeptAlive>(stream: TcpStream, server: &S) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some(request) = Request::read(&mut reader)? {
        let keep_alive = request.keep_alive() && !server.stopping();
        let status = server.answer(&request, &mut writer, keep_alive)?;
        server.log(super::pyindex::LoggedRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            accept: request.header("accept").map(str::to_owned),
            range: request.header("range").map(str::to_owned),
            status,
        });
        if !keep_alive {
            break;
        }
    }
    // Lets the client read everything before the close.
    let _ = writer.shutdown(std::net::Shutdown::Write);
    Ok(())
}
