//! Container images: a tag or digest reference is resolved through the OCI
//! distribution API to its index digest and one manifest digest per locked
//! platform. Credentials come from the docker config (`DOCKER_CONFIG`,
//! `~/.docker/config.json`, credential helpers) and never reach the lock.

use anyhow::{Context, anyhow, bail};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciErrorCode;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::Source;
use crate::config::Config;
use crate::error::{ErrorKind, HintExt, hinted};
use crate::http::{Attempt, retrying};
use crate::lock::{ImagePin, PlatformDigest};
use crate::manifest::{ImageRef, Platform};
pub use crate::requests::ImageRequest;
use crate::settings::Net;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Resolves image requests against OCI registries.
pub struct ImageResolver<'a> {
    pub config: &'a Config,
}

impl Source for ImageResolver<'_> {
    type Request = ImageRequest;
    type Pin = ImagePin;

    fn name(request: &ImageRequest) -> &str {
        &request.name
    }

    fn resolve(&self, request: &ImageRequest) -> anyhow::Result<ImagePin> {
        self.config
            .shell
            .status("Resolving", format!("image {}", request.reference));
        runtime()?
            .block_on(resolve_image(request, self.config))
            .with_context(|| format!("resolving image {}", request.reference))
    }
}

/// The parts of an image index or manifest that resolution reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
    config: Option<Descriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    digest: String,
    platform: Option<WirePlatform>,
}

#[derive(Debug, Deserialize)]
struct Descriptor {
    digest: String,
}

#[derive(Debug, Deserialize)]
struct WirePlatform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ImageConfigDoc {
    os: String,
    architecture: String,
    variant: Option<String>,
}

async fn resolve_image(request: &ImageRequest, config: &Config) -> anyhow::Result<ImagePin> {
    let r = &request.reference;
    let net = &config.net;
    // A mirror changes where the bytes come from, never what is pinned.
    let (registry, repository) = config.mirrors.registry(&r.registry, &r.repository);
    let source = ImageRef {
        registry,
        repository,
        ..r.clone()
    };
    let client = client_for(&source, net);
    let auth = registry_auth(&source.registry)?;
    let reference = oci_reference(&source);
    if request.confirm_tag {
        if let Some(tag) = &r.tag {
            confirm_tag(&client, &auth, &reference, tag, r, net).await?;
        }
    }
    let manifest_ref = reference
        .digest()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_string();
    let (bytes, digest) = retrying(
        net,
        &registry_get(&source, &format!("manifests/{manifest_ref}")),
        || async {
            client
                .pull_manifest_raw(
                    &reference,
                    &auth,
                    &[OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST],
                )
                .await
                .map_err(|e| registry_attempt(e, r, net))
        },
    )
    .await?;
    let computed = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    if !digest.is_empty() && digest != computed {
        bail!("the registry said the manifest is {digest}, but its content hashes to {computed}");
    }
    if let Some(want) = &r.digest {
        if *want != computed {
            bail!("asked for {want}, but the registry returned content hashing to {computed}");
        }
    }
    let doc: ManifestDoc = serde_json::from_slice(&bytes).context("parsing the image manifest")?;
    let mut platforms = Vec::new();
    let media_type;
    if let Some(entries) = &doc.manifests {
        media_type = doc
            .media_type
            .clone()
            .unwrap_or_else(|| OCI_INDEX.to_string());
        for want in &request.platforms {
            let found = entries
                .iter()
                .find(|e| {
                    e.platform
                        .as_ref()
                        .is_some_and(|p| platform_matches(want, p))
                })
                .ok_or_else(|| {
                    let available: Vec<String> = entries
                        .iter()
                        .filter_map(|e| e.platform.as_ref())
                        .filter(|p| p.os != "unknown")
                        .map(|p| match &p.variant {
                            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                            None => format!("{}/{}", p.os, p.architecture),
                        })
                        .collect();
                    hinted(
                        ErrorKind::Resolution,
                        format!("image {r} has no manifest for {want}"),
                        format!(
                            "it provides {}; change `project.platforms` or the image",
                            available.join(", ")
                        ),
                    )
                })?;
            platforms.push(PlatformDigest {
                platform: want.to_string(),
                digest: found.digest.clone(),
            });
        }
    } else {
        media_type = doc
            .media_type
            .clone()
            .unwrap_or_else(|| OCI_MANIFEST.to_string());
        let config = doc
            .config
            .as_ref()
            .ok_or_else(|| anyhow!("the manifest has neither `manifests` nor `config`"))?;
        let config_ref = reference.clone_with_digest(computed.clone());
        let blob = retrying(
            net,
            &registry_get(&source, &format!("blobs/{}", config.digest)),
            || async {
                let mut blob = Vec::new();
                client
                    .pull_blob(&config_ref, config.digest.as_str(), &mut blob)
                    .await
                    .map_err(|e| registry_attempt(e, r, net))?;
                Ok(blob)
            },
        )
        .await
        .context("fetching the image config")?;
        let blob_digest = format!("sha256:{}", hex::encode(Sha256::digest(&blob)));
        if blob_digest != config.digest {
            bail!(
                "the image config hashes to {blob_digest}, not {}",
                config.digest
            );
        }
        let cfg: ImageConfigDoc =
            serde_json::from_slice(&blob).context("parsing the image config")?;
        let have = WirePlatform {
            os: cfg.os,
            architecture: cfg.architecture,
            variant: cfg.variant,
        };
        for want in &request.platforms {
            if !platform_matches(want, &have) {
                return Err(hinted(
                    ErrorKind::Resolution,
                    format!(
                        "image {r} is a single-platform image for {}/{}, not {want}",
                        have.os, have.architecture
                    ),
                    "use a multi-platform image, or change `project.platforms`",
                ));
            }
            platforms.push(PlatformDigest {
                platform: want.to_string(),
                digest: computed.clone(),
            });
        }
    }
    Ok(ImagePin {
        name: request.name.clone(),
        requested: r.to_string(),
        registry: r.registry.clone(),
        repository: r.repository.clone(),
        tag: r.tag.clone(),
        digest: computed,
        media_type,
        platforms,
    })
}

fn platform_matches(want: &Platform, have: &WirePlatform) -> bool {
    if want.os != have.os || want.architecture != have.architecture {
        return false;
    }
    match (&want.variant, &have.variant) {
        (None, _) => true,
        (Some(w), Some(h)) => w == h,
        // arm64 images often omit the default variant.
        (Some(w), None) => want.architecture == "arm64" && w == "v8",
    }
}

/// Fail unless `tag` is in the repository's tag list, naming near tags.
async fn confirm_tag(
    client: &Client,
    auth: &RegistryAuth,
    reference: &Reference,
    tag: &str,
    canonical: &ImageRef,
    net: &Net,
) -> anyhow::Result<()> {
    let source = ImageRef {
        registry: reference.registry().to_string(),
        repository: reference.repository().to_string(),
        tag: None,
        digest: None,
    };
    let tags = retrying(net, &registry_get(&source, "tags/list"), || async {
        client
            .list_tags(reference, auth, None, None)
            .await
            .map_err(|e| registry_attempt(e, canonical, net))
    })
    .await
    .with_context(|| format!("listing the tags of {}", canonical.name()))?;
    if tags.tags.iter().any(|t| t == tag) {
        return Ok(());
    }
    let prefix: String = tag.chars().take(4).collect();
    let mut near: Vec<&String> = tags
        .tags
        .iter()
        .filter(|t| t.starts_with(&prefix))
        .collect();
    near.sort();
    near.truncate(8);
    Err(hinted(
        ErrorKind::Resolution,
        format!("{} has no tag `{tag}`", canonical.name()),
        if near.is_empty() {
            "set `[base] image` explicitly".to_string()
        } else {
            format!(
                "tags there include {}; set `[base] image` or change `[cuda]`",
                near.iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    ))
}

/// A current-thread runtime for one blocking call into the async OCI client.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `r` as the OCI client names it: tag and/or digest, `latest` when neither.
pub(crate) fn oci_reference(r: &ImageRef) -> Reference {
    match (&r.tag, &r.digest) {
        (Some(t), Some(d)) => Reference::with_tag_and_digest(
            r.registry.clone(),
            r.repository.clone(),
            t.clone(),
            d.clone(),
        ),
        (None, Some(d)) => {
            Reference::with_digest(r.registry.clone(), r.repository.clone(), d.clone())
        }
        (Some(t), None) => Reference::with_tag(r.registry.clone(), r.repository.clone(), t.clone()),
        (None, None) => {
            Reference::with_tag(r.registry.clone(), r.repository.clone(), "latest".into())
        }
    }
}

/// A client for `r`'s registry: plain HTTP for loopback registries only.
/// Its read timeout is a stall timeout (it restarts with every byte).
pub(crate) fn client_for(r: &ImageRef, net: &Net) -> Client {
    let protocol = if r.is_loopback() {
        ClientProtocol::HttpsExcept(vec![r.registry.clone()])
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        platform_resolver: None,
        connect_timeout: Some(net.timeout),
        read_timeout: Some(net.timeout),
        ..Default::default()
    })
}

/// Credentials for `registry` from the docker config, or anonymous.
pub fn registry_auth(registry: &str) -> anyhow::Result<RegistryAuth> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let server = if registry == crate::manifest::image_ref::DOCKER_HUB {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    match docker_credential::get_credential(server) {
        Ok(DockerCredential::UsernamePassword(u, p)) => Ok(RegistryAuth::Basic(u, p)),
        Ok(DockerCredential::IdentityToken(t)) => Ok(RegistryAuth::Bearer(t)),
        Err(E::ConfigNotFound | E::NoCredentialConfigured | E::ConfigReadError) => {
            Ok(RegistryAuth::Anonymous)
        }
        Err(e) => Err(anyhow!("{e:?}"))
            .with_context(|| format!("reading docker credentials for {registry}"))
            .hint("check DOCKER_CONFIG / ~/.docker/config.json and its credential helper"),
    }
}

/// The registry refused access to `r`: `why` (may be empty), then its words.
fn refused_access(r: &ImageRef, why: &str, text: &str) -> anyhow::Error {
    hinted(
        ErrorKind::Network,
        format!("registry {} refused access: {why}{text}", r.registry),
        format!(
            "log in with `docker login {}` (mlr reads DOCKER_CONFIG or ~/.docker/config.json)",
            r.registry
        ),
    )
}

/// A registry failure with a hint for the common causes (auth, missing tag).
pub(crate) fn registry_error(
    e: oci_client::errors::OciDistributionError,
    r: &ImageRef,
) -> anyhow::Error {
    use oci_client::errors::OciDistributionError as E;
    let text = e.to_string();
    match e {
        E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => refused_access(r, "", &text),
        E::ServerError {
            code: 401 | 403, ..
        } => refused_access(r, "credentials are missing or were refused: ", &text),
        E::RegistryError { ref envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|e| matches!(e.code, OciErrorCode::Denied | OciErrorCode::Unauthorized)) =>
        {
            refused_access(r, "credentials are missing or were refused: ", &text)
        }
        E::ImageManifestNotFoundError(_) => hinted(
            ErrorKind::Resolution,
            format!("{r} does not exist in the registry: {text}"),
            "check the tag; if it was deleted upstream, pin another tag or a digest",
        ),
        other => anyhow::Error::new(other),
    }
}

/// One registry call's failure as an attempt: what another try may fix (no
/// connection, a stall, a cut or mangled body, 5xx, 408, 429) or not. The
/// client hides `Retry-After`, so a 429 waits the backoff.
pub(crate) fn registry_attempt(
    e: oci_client::errors::OciDistributionError,
    r: &ImageRef,
    net: &Net,
) -> Attempt {
    use oci_client::errors::OciDistributionError as E;
    match e {
        E::RequestError(re) if re.is_timeout() => {
            Attempt::retry(anyhow!("read stalled for {} s", net.timeout.as_secs()))
        }
        E::RequestError(re)
            if !re.is_builder()
                && re
                    .status()
                    .is_none_or(|s| matches!(s.as_u16(), 408 | 429 | 500..=599)) =>
        {
            Attempt::retry(anyhow::Error::new(re))
        }
        E::ServerError {
            code: 408 | 429 | 500..=599,
            ..
        }
        | E::DigestError(_) => Attempt::retry(anyhow::Error::new(e)),
        E::RegistryError { ref envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|e| e.code == OciErrorCode::Toomanyrequests) =>
        {
            Attempt::retry(anyhow::Error::new(e))
        }
        other => Attempt::Fatal(registry_error(other, r)),
    }
}

/// `GET URL` of a registry API `path` (`manifests/…`, `blobs/…`), as the
/// messages after the last retry name it.
pub(crate) fn registry_get(source: &ImageRef, path: &str) -> String {
    let scheme = if source.is_loopback() {
        "http"
    } else {
        "https"
    };
    let host = oci_reference(source).resolve_registry().to_string();
    format!("GET {scheme}://{host}/v2/{}/{path}", source.repository)
}
