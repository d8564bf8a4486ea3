//! HTTP downloads (Python indexes, apt archives, tools) over rustls with
//! the system certificate store, each checked against its expected sha256,
//! and the retry loop every request of mlr's own goes through (the
//! registry client's too): an attempt fails when no byte arrives for
//! [`Net::timeout`]; connection failures, stalls, cut bodies, 5xx, 408 and
//! 429 (after its `Retry-After`, up to [`RETRY_AFTER_CAP`]) are retried with
//! backoff, at most [`Net::retries`] times and never past [`Net::budget`].

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};
use crate::redact::redact_url;
use crate::settings::Net;

/// Basic credentials for one origin (scheme, host and port): never
/// printed, never written.
#[derive(Clone)]
pub struct BasicAuth {
    pub origin: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuth({}, ***)", self.origin)
    }
}

/// `scheme://host[:port]` of a URL.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    ))
}

/// A blocking facade over one async client whose every request has the
/// timeouts and retries of [`Net`].
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    net: Net,
}

impl Http {
    pub fn new(net: &Net) -> anyhow::Result<Http> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("mlr/", env!("CARGO_PKG_VERSION")))
            // A read timeout is a stall timeout: it restarts with every
            // byte, so a 3 GB wheel still downloads, and it also bounds the
            // wait for the connection and the answer's head.
            .connect_timeout(net.timeout)
            .read_timeout(net.timeout)
            .build()
            .context("creating the HTTP client")?;
        Ok(Http {
            runtime,
            client,
            net: *net,
        })
    }

    /// GET `url` with optional `Accept`, returning the body.
    pub fn get(&self, url: &str, accept: Option<&str>) -> anyhow::Result<Vec<u8>> {
        self.get_as(url, accept, None)
    }

    /// [`Http::get`] with Basic credentials, if any.
    pub fn get_as(
        &self,
        url: &str,
        accept: Option<&str>,
        auth: Option<&BasicAuth>,
    ) -> anyhow::Result<Vec<u8>> {
        let what = format!("GET {}", redact_url(url));
        self.runtime.block_on(retrying(&self.net, &what, || async {
            let mut resp = self.send(url, accept, auth).await?;
            let expected = resp.content_length();
            let mut body = Vec::with_capacity(expected.unwrap_or(0).min(1 << 26) as usize);
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) => break,
                    Err(e) => return Err(self.body_failure(e, body.len() as u64, expected)),
                }
            }
            Ok(body)
        }))
    }

    /// Download `url` to `dest` if its sha256 is `sha256`. The bytes go to
    /// a temporary file beside `dest`, which only becomes `dest` once they
    /// hash right: nothing partial or wrong is ever left at `dest`. A body
    /// that hashes wrong counts as a failed attempt (a cut or mangled
    /// transfer), so it is fetched again.
    pub fn download_verified(
        &self,
        url: &str,
        sha256: &str,
        dest: &Path,
        auth: Option<&BasicAuth>,
    ) -> anyhow::Result<()> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let what = format!("GET {}", redact_url(url));
        let tmp = self.runtime.block_on(retrying(&self.net, &what, || async {
            let mut tmp = crate::atomic_file::AtomicFile::create(dest).map_err(Attempt::Fatal)?;
            let mut resp = self.send(url, None, auth).await?;
            let expected = resp.content_length();
            let mut hasher = Sha256::new();
            let mut got = 0u64;
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        hasher.update(&chunk);
                        got += chunk.len() as u64;
                        std::io::Write::write_all(&mut tmp, &chunk)
                            .with_context(|| format!("writing {}", dest.display()))
                            .map_err(Attempt::Fatal)?;
                    }
                    Ok(None) => break,
                    Err(e) => return Err(self.body_failure(e, got, expected)),
                }
            }
            let actual = hex::encode(hasher.finalize());
            if actual != sha256 {
                return Err(Attempt::retry(anyhow::anyhow!(
                    "{} has sha256 {actual}, but {sha256} was expected; refusing to use it",
                    redact_url(url)
                )));
            }
            Ok(tmp)
        }))?;
        tmp.commit()
    }

    /// One request, up to the answer's head; an error status is a failed
    /// attempt, retried or not by [`Attempt::of_status`].
    async fn send(
        &self,
        url: &str,
        accept: Option<&str>,
        auth: Option<&BasicAuth>,
    ) -> Result<reqwest::Response, Attempt> {
        let mut req = self.client.get(url);
        if let Some(a) = accept {
            req = req.header(reqwest::header::ACCEPT, a);
        }
        if let Some(auth) = auth {
            req = req.basic_auth(&auth.username, Some(&auth.password));
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_builder() {
                Attempt::Fatal(anyhow::Error::new(e).context(Error::new(
                    ErrorKind::Network,
                    format!("requesting {}", redact_url(url)),
                )))
            } else if e.is_timeout() {
                Attempt::retry(anyhow::anyhow!(
                    "no answer within {} s",
                    self.net.timeout.as_secs()
                ))
            } else {
                Attempt::retry(anyhow::Error::new(e))
            }
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        Err(Attempt::of_status(
            HttpStatus {
                url: redact_url(url),
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or(""),
            },
            retry_after,
        ))
    }

    /// A body that stopped before its end: stalled or cut.
    fn body_failure(&self, e: reqwest::Error, got: u64, expected: Option<u64>) -> Attempt {
        let of = expected.map(|n| format!(" of {n}")).unwrap_or_default();
        if e.is_timeout() {
            Attempt::retry(anyhow::anyhow!(
                "read stalled for {} s after {got}{of} bytes",
                self.net.timeout.as_secs()
            ))
        } else {
            Attempt::retry(
                anyhow::Error::new(e).context(format!("the body stopped after {got}{of} bytes")),
            )
        }
    }
}

/// How one attempt at a request failed.
#[derive(Debug)]
pub enum Attempt {
    /// Worth another try: no connection, a stall, a cut body, a 5xx, a
    /// 408 or 429 (after `after`, when the server said).
    Retry {
        cause: anyhow::Error,
        after: Option<Duration>,
    },
    /// Another try would get the same answer (a 404, refused credentials,
    /// a local failure).
    Fatal(anyhow::Error),
}

impl Attempt {
    pub fn retry(cause: anyhow::Error) -> Attempt {
        Attempt::Retry { cause, after: None }
    }

    /// A status answer: 408, 429 and 5xx are retried; 401 and 403 say
    /// that credentials are the problem; every other status is final and
    /// typed for callers ([`HttpStatus::of`]).
    pub fn of_status(answer: HttpStatus, retry_after: Option<Duration>) -> Attempt {
        match answer.status {
            408 | 429 | 500..=599 => Attempt::Retry {
                cause: anyhow::Error::new(answer),
                after: retry_after,
            },
            401 | 403 => {
                let message = format!("{answer}: credentials are missing or were refused");
                Attempt::Fatal(anyhow::Error::new(answer).context(
                    Error::new(ErrorKind::Network, message).with_hint(
                        "give mlr credentials for this server: for a Python index, in the \
                         index URL or UV_INDEX_<NAME>_USERNAME/_PASSWORD; for a registry, \
                         `docker login`",
                    ),
                ))
            }
            _ => {
                let kind = Error::new(ErrorKind::Network, answer.to_string());
                Attempt::Fatal(anyhow::Error::new(answer).context(kind))
            }
        }
    }
}

/// The longest `Retry-After` mlr waits; a server asking for longer is
/// retried after this.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(10);

/// `Retry-After` in seconds (an HTTP date is ignored: the backoff applies).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The wait before attempt `attempts + 1`, or `None` to give up: after
/// `net.retries` retries, or when that attempt could not end within
/// [`Net::budget`] of the first one's start (`elapsed` ago).
pub fn next_wait(
    net: &Net,
    attempts: u32,
    elapsed: Duration,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    if attempts > net.retries {
        return None;
    }
    let backoff = Duration::from_secs(1 << attempts.saturating_sub(1).min(3));
    let wait = retry_after.map_or(backoff, |d| d.min(RETRY_AFTER_CAP));
    (elapsed + wait + net.timeout <= net.budget()).then_some(wait)
}

/// Run `attempt` until it succeeds, fails for good, or [`next_wait`] gives
/// up; the last error says what was tried and how many times.
pub async fn retrying<T, F, Fut>(net: &Net, what: &str, mut attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Attempt>>,
{
    let start = std::time::Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Retry { cause, after }) => {
                match next_wait(net, attempts, start.elapsed(), after) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(gave_up(what, attempts, cause)),
                }
            }
        }
    }
}

/// The error after the last attempt.
fn gave_up(what: &str, attempts: u32, cause: anyhow::Error) -> anyhow::Error {
    let plural = if attempts == 1 { "" } else { "s" };
    cause.context(
        Error::new(
            ErrorKind::Network,
            format!("{what} failed after {attempts} attempt{plural}"),
        )
        .with_hint(
            "if the server is down or slow, point mlr at a mirror ([mirrors] in \
             ~/.config/mlr/config.toml, or MLR_REGISTRY_MIRRORS / MLR_INDEX_MIRRORS), \
             work from the cache with --offline, or wait longer with [net] retries and \
             timeout (MLR_HTTP_RETRIES, MLR_HTTP_TIMEOUT)",
        ),
    )
}

/// A server answered with an error status: callers decide on `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpStatus {
    /// Redacted of credentials.
    pub url: String,
    pub status: u16,
    pub reason: &'static str,
}

impl std::fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} answered {} {}", self.url, self.status, self.reason)
    }
}

impl std::error::Error for HttpStatus {}

impl HttpStatus {
    /// The status of a failed request, if the server answered at all.
    pub fn of(err: &anyhow::Error) -> Option<u16> {
        err.chain()
            .find_map(|c| c.downcast_ref::<HttpStatus>())
            .map(|s| s.status)
    }
}

/// sha256 hex of a file's contents.
pub fn file_sha256(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// A file mlr fetches by hash (a wheel, a Python archive), kept under
/// `<cache>/<area>/<sha256>/<filename>`: the cached copy when its bytes still
/// match, else downloaded from `url` (canonical; mirrors applied) and
/// checked; with `--offline`, never downloaded. `http` is created on first
/// use and kept for the caller's next file.
pub fn cached_file(
    config: &crate::config::Config,
    area: &str,
    url: &str,
    sha256: &str,
    filename: &str,
    auth: Option<&BasicAuth>,
    http: &mut Option<Http>,
) -> anyhow::Result<std::path::PathBuf> {
    if filename.is_empty() || filename.contains('/') || filename.starts_with('.') {
        anyhow::bail!("refusing the locked file name `{filename}`");
    }
    let cached = config.cache_dir.join(area).join(sha256).join(filename);
    if cached.is_file() && file_sha256(&cached)? == sha256 {
        return Ok(cached);
    }
    if config.offline {
        return Err(crate::error::hinted(
            ErrorKind::Usage,
            format!("{filename} is not in the cache"),
            "run it once without --offline",
        ));
    }
    config.shell.status("Downloading", filename);
    if http.is_none() {
        *http = Some(Http::new(&config.net)?);
    }
    http.as_ref()
        .expect("just set")
        .download_verified(&config.mirrors.url(url), sha256, &cached, auth)
        .with_context(|| format!("downloading {filename}"))?;
    Ok(cached)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The waits a server that never answers gets: each attempt ends after
    /// a whole stall timeout.
    fn dead_server(net: &Net) -> (u32, Duration) {
        let mut elapsed = Duration::ZERO;
        let mut attempts = 0;
        loop {
            attempts += 1;
            elapsed += net.timeout;
            match next_wait(net, attempts, elapsed, None) {
                Some(wait) => elapsed += wait,
                None => return (attempts, elapsed),
            }
        }
    }

    #[test]
    fn a_dead_server_fails_within_the_budget() {
        let net = Net::default();
        assert_eq!(net.budget(), Duration::from_secs(60));
        // 15 s, 1 s, 15 s, 2 s, 15 s: a fourth attempt could end at 67 s.
        assert_eq!(dead_server(&net), (3, Duration::from_secs(48)));
        // Shorter timeouts shrink the budget, and the backoff takes more of it.
        for (seconds, want) in [(5, 3), (2, 2)] {
            let fast = Net {
                timeout: Duration::from_secs(seconds),
                ..Net::default()
            };
            let (attempts, elapsed) = dead_server(&fast);
            assert!(elapsed <= fast.budget(), "{elapsed:?}");
            assert_eq!(attempts, want, "timeout {seconds} s");
        }
        let once = Net {
            retries: 0,
            ..Net::default()
        };
        assert_eq!(dead_server(&once), (1, Duration::from_secs(15)));
    }

    #[test]
    fn quick_failures_get_every_retry_with_backoff() {
        let net = Net::default();
        let waits: Vec<Option<Duration>> = (1..=4)
            .map(|n| next_wait(&net, n, Duration::from_millis(100), None))
            .collect();
        assert_eq!(
            waits,
            [1, 2, 4]
                .map(|s| Some(Duration::from_secs(s)))
                .into_iter()
                .chain([None])
                .collect::<Vec<_>>()
        );
        // Retry-After is honoured, up to the cap.
        let one = Some(Duration::from_secs(1));
        assert_eq!(next_wait(&net, 3, Duration::ZERO, one), one);
        assert_eq!(
            next_wait(&net, 1, Duration::ZERO, Some(Duration::from_secs(3600))),
            Some(RETRY_AFTER_CAP)
        );
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn statuses_decide_retries_and_credentials_are_named() {
        let answer = |status| HttpStatus {
            url: "http://x/y".into(),
            status,
            reason: "",
        };
        for status in [408, 429, 500, 502, 503] {
            assert!(
                matches!(
                    Attempt::of_status(answer(status), None),
                    Attempt::Retry { .. }
                ),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 410] {
            let Attempt::Fatal(e) = Attempt::of_status(answer(status), None) else {
                panic!("{status} is not retried");
            };
            assert_eq!(HttpStatus::of(&e), Some(status));
            assert_eq!(crate::error::kind_of(&e), ErrorKind::Network);
            let text = crate::error::render(&e, false);
            assert_eq!(
                text.contains("credentials are missing or were refused"),
                status == 401 || status == 403,
                "{text}"
            );
        }
    }
}
