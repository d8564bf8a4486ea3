//! A real OCI registry (`docker-registry`, distribution 2.8) on 127.0.0.1,
//! and pushes to it over the registry HTTP API without any engine.

use std::fmt::Write as _;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use ureq::RequestBuilder;
use ureq::http::Response;

use super::image::{self, Blob, Layer, Platform};

const READY_TIMEOUT: Duration = Duration::from_secs(10);
const START_ATTEMPTS: usize = 5;

/// The manifest types a client may receive; sent as `Accept` on reads.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// A running registry with filesystem storage in its own tempdir and
/// deletes enabled. Killed on drop.
pub struct Registry {
    child: Child,
    addr: String,
    credentials: Option<(String, String)>,
    agent: ureq::Agent,
    dir: TempDir,
}

/// A single-platform image manifest in the registry.
#[derive(Clone, Debug)]
pub struct PushedImage {
    /// `sha256:…` of the manifest.
    pub digest: String,
    pub config_digest: String,
    /// The top layer (the only one, for most images).
    pub layer_digest: String,
    /// Every layer, bottom first.
    pub layer_digests: Vec<String>,
}

impl PushedImage {
    fn of(image: &image::Image) -> PushedImage {
        let layer_digests: Vec<String> = image.layers.iter().map(|l| l.digest.clone()).collect();
        PushedImage {
            digest: image.manifest.digest.clone(),
            config_digest: image.config.digest.clone(),
            layer_digest: layer_digests.last().cloned().unwrap_or_default(),
            layer_digests,
        }
    }
}

/// An image index and the platform manifests it lists.
#[derive(Clone, Debug)]
pub struct PushedIndex {
    /// `sha256:…` of the index.
    pub digest: String,
    /// `(platform, manifest digest)` in the order given to `push_index`.
    pub manifests: Vec<(String, String)>,
}

impl PushedIndex {
    /// The manifest digest for `platform` (e.g. `"linux/amd64"`).
    pub fn manifest_for(&self, platform: &str) -> &str {
        self.manifests
            .iter()
            .find(|(p, _)| p == platform)
            .map(|(_, digest)| digest.as_str())
            .unwrap_or_else(|| panic!("index has no manifest for {platform}"))
    }
}

impl Registry {
    /// An anonymous registry that allows pulls and pushes.
    pub fn start() -> Registry {
        Registry::spawn(None)
    }

    /// A registry behind `auth: htpasswd` (needs [`Service::Htpasswd`]).
    /// It answers anonymous requests with 401 and accepts Basic credentials.
    ///
    /// [`Service::Htpasswd`]: super::Service::Htpasswd
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        Registry::spawn(Some((user.to_owned(), password.to_owned())))
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference.
    pub fn addr(&self) -> String {
        self.addr.clone()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT/<repo>:<tag>`.
    pub fn reference(&self, repo: &str, tag: &str) -> String {
        format!("{}/{repo}:{tag}", self.addr)
    }

    /// The `Authorization` header value for an auth registry.
    pub fn basic_auth(&self) -> Option<String> {
        self.credentials.as_ref().map(|(user, password)| {
            format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
        })
    }

    /// A Docker `config.json` holding this registry's credentials (empty
    /// `auths` for an anonymous registry), for `DOCKER_CONFIG` directories.
    pub fn docker_config_json(&self) -> String {
        let mut auths = serde_json::Map::new();
        if let Some((user, password)) = &self.credentials {
            auths.insert(
                self.addr.clone(),
                serde_json::json!({ "auth": base64(format!("{user}:{password}").as_bytes()) }),
            );
        }
        serde_json::json!({ "auths": auths }).to_string()
    }

    /// What the registry logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Pushes a deterministic single-platform image and tags it. For the host
    /// platform the image is a runnable busybox rootfs; for any other it holds
    /// one text file.
    pub fn push_image(&self, repo: &str, tag: &str, platform: &str) -> PushedImage {
        self.push_image_marked(repo, tag, platform, None)
    }

    /// Like [`Registry::push_image`], with `/etc/mlr-marker` containing
    /// `marker`: a different marker moves the tag to a different digest.
    pub fn push_image_with(
        &self,
        repo: &str,
        tag: &str,
        platform: &str,
        marker: &str,
    ) -> PushedImage {
        self.push_image_marked(repo, tag, platform, Some(marker))
    }

    /// Pushes one image per platform (by digest), then an OCI image index
    /// listing them under `tag`.
    pub fn push_index(&self, repo: &str, tag: &str, platforms: &[&str]) -> PushedIndex {
        self.push_index_marked(repo, tag, platforms, None)
    }

    /// Like [`Registry::push_index`], with `marker` in every platform image.
    pub fn push_index_with(
        &self,
        repo: &str,
        tag: &str,
        platforms: &[&str],
        marker: &str,
    ) -> PushedIndex {
        self.push_index_marked(repo, tag, platforms, Some(marker))
    }

    /// Pushes the root filesystem directory `rootfs` (e.g. the Debian base
    /// of [`debian_rootfs`]) as a single-layer image for `platform` and
    /// tags it. The engine can run it: modes, numeric owners, symlinks and
    /// hard links are kept (see `image::rootfs_image` for what is left out).
    /// The platform is only a label: the files stay those of the directory.
    ///
    /// [`debian_rootfs`]: super::debian_rootfs
    pub fn push_rootfs(&self, repo: &str, tag: &str, rootfs: &Path, platform: &str) -> PushedImage {
        let image = image::rootfs_image(rootfs, &Platform::parse(platform));
        self.upload_image(repo, &image);
        self.put_manifest(repo, tag, &image.manifest);
        PushedImage::of(&image)
    }

    /// [`Registry::push_rootfs`] with `extra` layers on top.
    pub fn push_rootfs_with(
        &self,
        repo: &str,
        tag: &str,
        rootfs: &Path,
        platform: &str,
        extra: &[Layer],
    ) -> PushedImage {
        let image = image::rootfs_image_with(rootfs, &Platform::parse(platform), extra);
        self.upload_image(repo, &image);
        self.put_manifest(repo, tag, &image.manifest);
        PushedImage::of(&image)
    }

    /// The Debian `rootfs` as `repo:tag` (amd64) with `line` added to its
    /// `/etc/apt/sources.list` (Debian's mirror stays, for Python).
    pub fn push_debian_with_source(
        &self,
        repo: &str,
        tag: &str,
        rootfs: &Path,
        line: &str,
    ) -> PushedImage {
        let sources =
            std::fs::read_to_string(rootfs.join("etc/apt/sources.list")).unwrap_or_default();
        self.push_rootfs_with(
            repo,
            tag,
            rootfs,
            "linux/amd64",
            &[Layer::new().file("etc/apt/sources.list", &format!("{sources}{line}\n"))],
        )
    }

    /// Pushes one rootfs image per `(directory, platform)` by digest, then an
    /// OCI index listing them under `tag`. One directory may be given for
    /// several platforms when a test only needs the index's shape.
    pub fn push_rootfs_index(
        &self,
        repo: &str,
        tag: &str,
        images: &[(&Path, &str)],
    ) -> PushedIndex {
        let parsed: Vec<Platform> = images.iter().map(|(_, p)| Platform::parse(p)).collect();
        let built: Vec<_> = images
            .iter()
            .zip(&parsed)
            .map(|((rootfs, _), platform)| image::rootfs_image(rootfs, platform))
            .collect();
        for image in &built {
            self.upload_image(repo, image);
            self.put_manifest(repo, &image.manifest.digest, &image.manifest);
        }
        let entries: Vec<(&Platform, &Blob)> = parsed
            .iter()
            .zip(&built)
            .map(|(p, i)| (p, &i.manifest))
            .collect();
        let index = image::index(&entries);
        self.put_manifest(repo, tag, &index);
        PushedIndex {
            digest: index.digest,
            manifests: images
                .iter()
                .zip(&built)
                .map(|((_, p), i)| ((*p).to_owned(), i.manifest.digest.clone()))
                .collect(),
        }
    }

    /// Pushes an image made of `layers` (bottom first) for `platform`.
    pub fn push_layers(
        &self,
        repo: &str,
        tag: &str,
        platform: &str,
        layers: &[Layer],
    ) -> PushedImage {
        let image = image::layered_image(&Platform::parse(platform), layers);
        self.upload_image(repo, &image);
        self.put_manifest(repo, tag, &image.manifest);
        PushedImage::of(&image)
    }

    /// [`Registry::push_layers`] with `env` (`KEY=value` entries) as the
    /// config's `Env` instead of a Debian `PATH`.
    pub fn push_layers_with_env(
        &self,
        repo: &str,
        tag: &str,
        platform: &str,
        layers: &[Layer],
        env: &[&str],
    ) -> PushedImage {
        let image = image::layered_image_with_env(&Platform::parse(platform), layers, env);
        self.upload_image(repo, &image);
        self.put_manifest(repo, tag, &image.manifest);
        PushedImage::of(&image)
    }

    /// The digest `tag` (or a digest) currently resolves to, as a client
    /// accepting indexes and manifests sees it.
    pub fn resolve(&self, repo: &str, reference: &str) -> String {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.url());
        let response = self
            .authorize(self.agent.head(&url))
            .header("Accept", MANIFEST_ACCEPT)
            .call();
        expect_status(response, 200, "HEAD", &url)
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("HEAD {url}: no Docker-Content-Digest"))
            .to_owned()
    }

    /// The manifest or index stored under `reference`: (media type, bytes).
    pub fn manifest(&self, repo: &str, reference: &str) -> (String, Vec<u8>) {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.url());
        let response = self
            .authorize(self.agent.get(&url))
            .header("Accept", MANIFEST_ACCEPT)
            .call();
        let mut response = expect_status(response, 200, "GET", &url);
        let media_type = response
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.body_mut().read_to_vec().expect("read manifest");
        (media_type, bytes)
    }

    fn push_image_marked(
        &self,
        repo: &str,
        tag: &str,
        platform: &str,
        marker: Option<&str>,
    ) -> PushedImage {
        let image = image::image(&Platform::parse(platform), marker);
        self.upload_image(repo, &image);
        self.put_manifest(repo, tag, &image.manifest);
        PushedImage::of(&image)
    }

    fn push_index_marked(
        &self,
        repo: &str,
        tag: &str,
        platforms: &[&str],
        marker: Option<&str>,
    ) -> PushedIndex {
        let parsed: Vec<Platform> = platforms.iter().map(|p| Platform::parse(p)).collect();
        let images: Vec<image::Image> = parsed.iter().map(|p| image::image(p, marker)).collect();
        for image in &images {
            self.upload_image(repo, image);
            self.put_manifest(repo, &image.manifest.digest, &image.manifest);
        }
        let entries: Vec<(&Platform, &Blob)> = parsed
            .iter()
            .zip(&images)
            .map(|(p, i)| (p, &i.manifest))
            .collect();
        let index = image::index(&entries);
        self.put_manifest(repo, tag, &index);
        PushedIndex {
            digest: index.digest,
            manifests: platforms
                .iter()
                .zip(&images)
                .map(|(p, i)| ((*p).to_owned(), i.manifest.digest.clone()))
                .collect(),
        }
    }

    fn upload_image(&self, repo: &str, image: &image::Image) {
        for layer in &image.layers {
            self.upload_blob(repo, layer);
        }
        self.upload_blob(repo, &image.config);
    }

    /// The two-step upload every registry supports: POST for a session,
    /// then one PUT with the whole blob.
    fn upload_blob(&self, repo: &str, blob: &Blob) {
        let base = self.url();
        let url = format!("{base}/v2/{repo}/blobs/{}", blob.digest);
        let response = sent(self.authorize(self.agent.head(&url)).call(), "HEAD", &url);
        if response.status() == 200 {
            return;
        }
        let url = format!("{base}/v2/{repo}/blobs/uploads/");
        let response = self.authorize(self.agent.post(&url)).send_empty();
        let response = expect_status(response, 202, "POST", &url);
        let location = response
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("POST {url}: no Location"));
        let mut url = if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            location.to_owned()
        };
        let separator = if url.contains('?') { '&' } else { '?' };
        write!(url, "{separator}digest={}", blob.digest).unwrap();
        let response = self
            .authorize(self.agent.put(&url))
            .header("Content-Type", "application/octet-stream")
            .send(&blob.bytes[..]);
        expect_status(response, 201, "PUT", &url);
    }

    fn put_manifest(&self, repo: &str, reference: &str, manifest: &Blob) {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.url());
        let response = self
            .authorize(self.agent.put(&url))
            .header("Content-Type", manifest.media_type)
            .send(&manifest.bytes[..]);
        let response = expect_status(response, 201, "PUT", &url);
        let digest = response
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok());
        assert_eq!(
            digest,
            Some(manifest.digest.as_str()),
            "PUT {url}: registry stored another digest"
        );
    }

    /// Adds the credentials, if any, to a request.
    fn authorize<B>(&self, request: RequestBuilder<B>) -> RequestBuilder<B> {
        match self.basic_auth() {
            Some(auth) => request.header("Authorization", auth),
            None => request,
        }
    }

    fn spawn(credentials: Option<(String, String)>) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("mlr-registry-")
            .tempdir()
            .expect("create registry tempdir");
        let htpasswd = credentials
            .as_ref()
            .map(|(user, password)| write_htpasswd(dir.path(), user, password));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let log_path = dir.path().join("registry.log");
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            fs::write(&config, config_yaml(dir.path(), &addr, htpasswd.as_deref()))
                .expect("write registry config");
            let log = fs::File::create(&log_path).expect("create registry log");
            let mut command = Command::new("docker-registry");
            command
                .arg("serve")
                .arg(&config)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log handle"))
                .stderr(log);
            // The registry lets REGISTRY_* variables override its config.
            for (key, _) in std::env::vars_os() {
                if key.to_str().is_some_and(|k| k.starts_with("REGISTRY_")) {
                    command.env_remove(&key);
                }
            }
            let mut child = command
                .spawn()
                .unwrap_or_else(|e| panic!("spawn docker-registry: {e} (is it installed?)"));
            match wait_ready(&mut child, &agent, &addr, &log_path) {
                Ok(()) => {
                    return Registry {
                        child,
                        addr,
                        credentials,
                        agent,
                        dir,
                    };
                }
                Err(StartError::AddrInUse) => {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                Err(StartError::Failed(why)) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = fs::read_to_string(&log_path).unwrap_or_default();
                    panic!("docker-registry on {addr} {why}; its log:\n{log}");
                }
            }
        }
        panic!("docker-registry: no free port after {START_ATTEMPTS} attempts");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum StartError {
    AddrInUse,
    Failed(String),
}

/// Ready once the log says *this* process listens on `addr` (not another
/// one that took the port) and `/v2/` answers.
fn wait_ready(
    child: &mut Child,
    agent: &ureq::Agent,
    addr: &str,
    log_path: &Path,
) -> Result<(), StartError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let listening = format!("listening on {addr}");
    let url = format!("http://{addr}/v2/");
    loop {
        let log = fs::read_to_string(log_path).unwrap_or_default();
        if let Some(status) = child.try_wait().expect("poll docker-registry") {
            return Err(if log.contains("address already in use") {
                StartError::AddrInUse
            } else {
                StartError::Failed(format!("exited with {status}"))
            });
        }
        if log.contains(&listening) {
            if let Ok(response) = agent.get(&url).call() {
                if matches!(response.status().as_u16(), 200 | 401) {
                    return Ok(());
                }
            }
        }
        if Instant::now() > deadline {
            return Err(StartError::Failed(format!(
                "did not answer GET {url} within {READY_TIMEOUT:?}"
            )));
        }
        sleep(Duration::from_millis(20));
    }
}

fn config_yaml(dir: &Path, addr: &str, htpasswd: Option<&Path>) -> String {
    let data = dir.join("data");
    let mut yaml = format!(
        "version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {addr}
  secret: mlr-testsuite
",
        data = data.display()
    );
    if let Some(htpasswd) = htpasswd {
        write!(
            yaml,
            "auth:\n  htpasswd:\n    realm: mlr-testsuite\n    path: {}\n",
            htpasswd.display()
        )
        .unwrap();
    }
    yaml
}

fn write_htpasswd(dir: &Path, user: &str, password: &str) -> PathBuf {
    let out = Command::new("htpasswd")
        .args(["-Bbn", user, password])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run htpasswd: {e} (call require!(Service::Htpasswd) first)"));
    assert!(
        out.status.success(),
        "htpasswd -Bbn failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join("htpasswd");
    fs::write(&path, &out.stdout).expect("write htpasswd file");
    path
}

/// A port that was free a moment ago; the caller retries on collision.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

type Sent = Result<Response<ureq::Body>, ureq::Error>;

/// The response of any status; panics on transport errors.
fn sent(result: Sent, method: &str, url: &str) -> Response<ureq::Body> {
    result.unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// The response if it has status `expected`; panics otherwise.
fn expect_status(result: Sent, expected: u16, method: &str, url: &str) -> Response<ureq::Body> {
    let response = sent(result, method, url);
    if response.status().as_u16() == expected {
        return response;
    }
    let status = response.status();
    let mut response = response;
    let body = response.body_mut().read_to_string().unwrap_or_default();
    panic!("{method} {url}: expected {expected}, got {status}: {body}");
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
