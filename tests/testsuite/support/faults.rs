//! A fault-injecting HTTP/1.1 reverse proxy in front of one of the rig's
//! real servers (the registry, the Python index, the apt archive). Each
//! request is forwarded to the upstream as is; a path that matches a
//! queued fault gets that fault instead: an error status, a 429 with
//! `Retry-After`, a hang (the connection is accepted and never answered),
//! a body cut in the middle, or the upstream's answer with wrong bytes.
//!
//! Every answer closes its connection, so each fault hits exactly one
//! request; the proxy logs every request line it saw.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What a faulty request gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// An answer with this status and an empty body (500, 401, …).
    Status(u16),
    /// 429 Too Many Requests with `Retry-After: SECONDS`.
    TooManyRequests { retry_after: u32 },
    /// Accept the connection, read the request, never answer.
    Hang,
    /// The upstream's head (with its full `Content-Length`) and half of
    /// its body, then the connection is closed.
    CloseMidBody,
    /// The upstream's answer with every body byte inverted (same length).
    WrongBytes,
}

struct Rule {
    /// A substring of the request path.
    pattern: String,
    fault: Fault,
    /// How many more requests get it; `None`: every one.
    remaining: Option<usize>,
}

struct State {
    rules: Vec<Rule>,
    log: Vec<String>,
}

/// The proxy; stops accepting when dropped.
pub struct FaultProxy {
    addr: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 in front of `upstream` (`host:port`).
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address").to_string();
        let state = Arc::new(Mutex::new(State {
            rules: Vec::new(),
            log: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_owned();
        {
            let (state, stop) = (state.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (state, upstream, stop) = (state.clone(), upstream.clone(), stop.clone());
                    thread::spawn(move || {
                        let _ = serve(conn, &upstream, &state, &stop);
                    });
                }
            });
        }
        FaultProxy { addr, state, stop }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `times` requests whose path contains `pattern` get `fault`
    /// (after any fault queued earlier for the same requests).
    pub fn fail(&self, pattern: &str, fault: Fault, times: usize) -> &Self {
        self.push(pattern, fault, Some(times))
    }

    /// Every request whose path contains `pattern` gets `fault`.
    pub fn always(&self, pattern: &str, fault: Fault) -> &Self {
        self.push(pattern, fault, None)
    }

    fn push(&self, pattern: &str, fault: Fault, remaining: Option<usize>) -> &Self {
        self.state.lock().unwrap().rules.push(Rule {
            pattern: pattern.to_owned(),
            fault,
            remaining,
        });
        self
    }

    /// Every request line seen so far (`GET /path`).
    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// How many requests had a path containing `pattern`.
    pub fn hits(&self, pattern: &str) -> usize {
        self.log().iter().filter(|l| l.contains(pattern)).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
    }
}

/// One request head, as sent.
struct Head {
    /// `GET /v2/x HTTP/1.1`.
    request_line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn path(&self) -> &str {
        self.request_line.split(' ').nth(1).unwrap_or_default()
    }

    fn method(&self) -> &str {
        self.request_line.split(' ').next().unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_head(reader: &mut impl BufRead) -> std::io::Result<Option<Head>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            if lines.is_empty() {
                continue;
            }
            break;
        }
        lines.push(line);
    }
    let request_line = lines.remove(0);
    let headers = lines
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Some(Head {
        request_line,
        headers,
    }))
}

fn serve(
    conn: TcpStream,
    upstream: &str,
    state: &Mutex<State>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    let Some(head) = read_head(&mut reader)? else {
        return Ok(());
    };
    let length: usize = head
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let fault = {
        let mut state = state.lock().unwrap();
        let line = format!("{} {}", head.method(), head.path());
        state.log.push(line);
        let path = head.path().to_owned();
        let rule = state
            .rules
            .iter_mut()
            .find(|r| path.contains(&r.pattern) && r.remaining != Some(0));
        rule.map(|r| {
            if let Some(n) = &mut r.remaining {
                *n -= 1;
            }
            r.fault.clone()
        })
    };
    match fault {
        Some(Fault::Status(status)) => {
            write!(
                conn,
                "HTTP/1.1 {status} Fault\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return Ok(());
        }
        Some(Fault::TooManyRequests { retry_after }) => {
            write!(
                conn,
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {retry_after}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return Ok(());
        }
        Some(Fault::Hang) => {
            // Hold the connection until the client gives up (or the test
            // ends); never answer.
            conn.set_read_timeout(Some(Duration::from_millis(200)))?;
            let mut buf = [0u8; 1024];
            while !stop.load(Ordering::SeqCst) {
                match conn.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
            return Ok(());
        }
        _ => {}
    }
    let (status_line, headers, mut upstream_body) = forward(upstream, &head, &body)?;
    let head_only = head.method() == "HEAD";
    let mut out = format!("{status_line}\r\n");
    for (name, value) in &headers {
        let n = name.to_ascii_lowercase();
        if n == "connection" || n == "transfer-encoding" || n == "keep-alive" {
            continue;
        }
        if n == "content-length" && !head_only {
            continue;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !head_only {
        out.push_str(&format!("Content-Length: {}\r\n", upstream_body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    conn.write_all(out.as_bytes())?;
    if head_only {
        return Ok(());
    }
    match fault {
        Some(Fault::CloseMidBody) => {
            conn.write_all(&upstream_body[..upstream_body.len() / 2])?;
            conn.flush()?;
            conn.shutdown(Shutdown::Both)?;
        }
        Some(Fault::WrongBytes) => {
            for b in &mut upstream_body {
                *b = !*b;
            }
            conn.write_all(&upstream_body)?;
        }
        _ => conn.write_all(&upstream_body)?,
    }
    conn.flush()
}

/// An upstream answer: status line, headers, and the whole body.
type Answer = (String, Vec<(String, String)>, Vec<u8>);

/// The upstream's answer to `head` + `body` (the body de-chunked).
fn forward(upstream: &str, head: &Head, body: &[u8]) -> std::io::Result<Answer> {
    let mut up = TcpStream::connect(upstream)?;
    let mut out = format!("{}\r\n", head.request_line);
    for (name, value) in &head.headers {
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
            continue;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    up.write_all(out.as_bytes())?;
    up.write_all(body)?;
    let mut reader = BufReader::new(up);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    let no_body =
        head.method() == "HEAD" || status_line.contains(" 204 ") || status_line.contains(" 304 ");
    if no_body {
        // Nothing follows the head.
    } else if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = String::new();
            reader.read_line(&mut crlf)?;
        }
    } else if let Some(length) = header("content-length").and_then(|l| l.parse().ok()) {
        body = vec![0; length];
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok((
        status_line.trim_end_matches(['\r', '\n']).to_owned(),
        headers,
        body,
    ))
}
