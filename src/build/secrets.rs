//! Extra CA certificates for the build, as secret files outside the build
//! context: the host's trust store plus the extra certificates in one
//! bundle, and an apt configuration that points apt at it. The backends
//! mount them into each `RUN` step (BuildKit and buildah secret mounts), so
//! they are in no layer, no history entry and no Dockerfile.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::{ErrorKind, hinted};
use crate::render::CaMounts;

/// The secret files of one build; removed when dropped.
pub struct CaSecrets {
    dir: tempfile::TempDir,
}

impl CaSecrets {
    /// The bundle for `extra` certificates (none: no secrets). Each file
    /// must hold at least one PEM certificate.
    pub fn prepare(extra: &[PathBuf]) -> anyhow::Result<Option<CaSecrets>> {
        if extra.is_empty() {
            return Ok(None);
        }
        let mut bundle = host_trust_store();
        for path in extra {
            let pem = std::fs::read_to_string(path).map_err(|e| {
                hinted(
                    ErrorKind::Usage,
                    format!("cannot read the CA certificate {}: {e}", path.display()),
                    "pass a PEM file with --ca-cert or MLR_CA_CERTS",
                )
            })?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(hinted(
                    ErrorKind::Usage,
                    format!("{} holds no PEM certificate", path.display()),
                    "a CA certificate file starts with `-----BEGIN CERTIFICATE-----`",
                ));
            }
            if !bundle.is_empty() && !bundle.ends_with('\n') {
                bundle.push('\n');
            }
            bundle.push_str(&pem);
        }
        let dir = tempfile::Builder::new()
            .prefix("mlr-secrets-")
            .tempdir()
            .context("creating a directory for build secrets")?;
        let mounts = CaMounts::default();
        write_private(&dir.path().join(&mounts.bundle.id), bundle.as_bytes())?;
        write_private(
            &dir.path().join(&mounts.apt_config.id),
            format!("Acquire::https::CAInfo \"{}\";\n", mounts.bundle.target).as_bytes(),
        )?;
        Ok(Some(CaSecrets { dir }))
    }

    /// Where the rendered `RUN` steps mount the secrets.
    pub fn mounts(&self) -> CaMounts {
        CaMounts::default()
    }

    /// `(id, file)` for each secret, for the backend's `--secret` flags.
    pub fn files(&self) -> Vec<(String, PathBuf)> {
        let mounts = self.mounts();
        [mounts.bundle.id, mounts.apt_config.id]
            .into_iter()
            .map(|id| {
                let file = self.dir.path().join(&id);
                (id, file)
            })
            .collect()
    }
}

/// The certificates the host trusts (`SSL_CERT_FILE`, else the Debian or
/// Red Hat bundle), so the build still reaches public servers.
fn host_trust_store() -> String {
    let candidates = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
            PathBuf::from("/etc/pki/tls/certs/ca-bundle.crt"),
        ]);
    for path in candidates {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return text;
        }
    }
    String::new()
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}
