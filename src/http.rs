//! HTTP downloads (Python indexes, tools) over rustls with the system
//! certificate store, each checked against its expected sha256.

use std::path::Path;

use anyhow::{Context, bail};

use crate::error::{Error, ErrorKind};
use sha2::{Digest, Sha256};

use crate::redact::redact_url;

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

/// A blocking facade over one async client.
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    pub fn new() -> anyhow::Result<Http> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("mlr/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(30))
            .build()
            .context("creating the HTTP client")?;
        Ok(Http { runtime, client })
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
        self.runtime.block_on(async {
            let mut req = self.client.get(url);
            if let Some(a) = accept {
                req = req.header(reqwest::header::ACCEPT, a);
            }
            if let Some(auth) = auth {
                req = req.basic_auth(&auth.username, Some(&auth.password));
            }
            let resp = req.send().await.map_err(|e| {
                anyhow::Error::new(e).context(Error::new(
                    ErrorKind::Network,
                    format!("requesting {}", redact_url(url)),
                ))
            })?;
            let status = resp.status();
            if !status.is_success() {
                let answer = HttpStatus {
                    url: redact_url(url),
                    status: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or(""),
                };
                let kind = Error::new(ErrorKind::Network, answer.to_string());
                return Err(anyhow::Error::new(answer).context(kind));
            }
            let bytes = resp
                .bytes()
                .await
                .with_context(|| format!("reading {}", redact_url(url)))?;
            Ok(bytes.to_vec())
        })
    }

    /// Download `url` to `dest` (atomically) if its sha256 is `sha256`.
    pub fn download_verified(
        &self,
        url: &str,
        sha256: &str,
        dest: &Path,
        auth: Option<&BasicAuth>,
    ) -> anyhow::Result<()> {
        let bytes = self.get_as(url, None, auth)?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != sha256 {
            bail!(
                "{} has sha256 {actual}, but {sha256} was expected; refusing to use it",
                redact_url(url)
            );
        }
        let dir = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        crate::atomic_file::write(dest, &bytes)
    }
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
