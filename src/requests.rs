//! What `ml.toml` asks of each source kind, derived once from the validated
//! manifest: typed requests for images, apt, pip and git, which of them
//! the prod image and each profile wants, which pip packages are the
//! framework, and the implicit requests (the distribution's Python).
//!
//! Pure: no network, disk or processes. The staleness check
//! ([`crate::lock::satisfies`]), the resolvers and the renderer all read
//! these values; nothing downstream splits a request string again.

use std::fmt;

use crate::compat::Flavor;
use crate::manifest::{Cuda, GitSource, ImageRef, Manifest, Platform};
use crate::package_name::{PackageName, requirement_name};

/// The apt request that brings the distribution's Python when pip packages
/// need it and the base lacks it: pins it pulls in have no `requested` and
/// carry it in `via`.
pub const PYTHON_APT_REQUEST: &str = "python3-venv";

/// The apt requests that bring compilers and headers to the stage that
/// builds pip packages from source: pins only they pull in have no
/// `requested`, carry them in `via`, and reach no image.
pub const BUILD_APT_REQUESTS: [&str; 2] = ["build-essential", "python3-dev"];

/// Which image a request belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// The prod image (and so every profile).
    Prod,
    /// Only `[profile.NAME]`.
    Profile(String),
}

/// An image to pin, for the locked platforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    /// Role in the lock: `base`, or `builder` (the CUDA `devel` image
    /// source builds run on).
    pub name: String,
    pub reference: ImageRef,
    pub platforms: Vec<Platform>,
    /// Check the registry's tag list for the tag before pinning it (for
    /// tags mlr chose itself, such as an `nvidia/cuda` tag from `[cuda]`).
    pub confirm_tag: bool,
}

/// `[cuda]` names no `nvidia/cuda` image mlr knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChoiceError {
    pub flavor: Flavor,
    pub message: String,
    /// Settings that would work.
    pub alternatives: Vec<String>,
}

impl ImageChoiceError {
    pub fn hint(&self) -> String {
        if self.alternatives.is_empty() {
            "set `[base] image` explicitly".to_string()
        } else {
            format!("these would work: {}", self.alternatives.join("; "))
        }
    }
}

impl fmt::Display for ImageChoiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[cuda] cannot pick an nvidia/cuda {} image: {}",
            self.flavor.as_str(),
            self.message
        )
    }
}

impl std::error::Error for ImageChoiceError {}

/// One apt request: `name` or `name=version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptRequest {
    pub name: String,
    pub version: Option<String>,
    /// As written in `ml.toml` (what the lock records as `requested`).
    pub written: String,
    pub membership: Membership,
}

impl AptRequest {
    /// A validated request as written.
    pub fn parse(written: &str, membership: Membership) -> AptRequest {
        let (name, version) = match written.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (written.to_string(), None),
        };
        AptRequest {
            name,
            version,
            written: written.to_string(),
            membership,
        }
    }
}

/// One `deb` line (or deb822 stanza) of the image's apt sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    pub uri: String,
    pub suite: String,
    pub components: Vec<String>,
}

/// `deb [opts] uri suite comp...` lines.
pub fn parse_one_line_sources(text: &str) -> Vec<SourceEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&"deb") {
            continue;
        }
        words.remove(0);
        if words.first().is_some_and(|w| w.starts_with('[')) {
            while let Some(w) = words.first() {
                let done = w.ends_with(']');
                words.remove(0);
                if done {
                    break;
                }
            }
        }
        if words.len() >= 2 {
            out.push(SourceEntry {
                uri: words[0].trim_end_matches('/').to_string(),
                suite: words[1].to_string(),
                components: words[2..].iter().map(|c| c.to_string()).collect(),
            });
        }
    }
    out
}

/// Where a pip requirement comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipOrigin {
    /// `[framework]`: written `name = "version"`, requested as `name==version`.
    Framework,
    /// `[pip] packages`.
    Pip,
    /// `[profile.NAME] pip`.
    Profile(String),
}

/// One direct Python requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipRequirement {
    pub name: PackageName,
    /// The PEP 508 text the lock records as `requested`.
    pub written: String,
    pub origin: PipOrigin,
}

/// `[git.NAME]` as a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRequest {
    pub name: String,
    pub source: GitSource,
}

/// Everything `ml.toml` asks to be pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requests {
    /// `base` and, for source builds on a non-`devel` CUDA image,
    /// `builder`; an error when `[cuda]` names no known image.
    pub images: Result<Vec<ImageRequest>, ImageChoiceError>,
    /// Prod requests first, then each profile's, in the order written.
    pub apt: Vec<AptRequest>,
    /// Framework first, then `[pip]`, then profiles, in the order written.
    pub pip: Vec<PipRequirement>,
    pub git: Vec<GitRequest>,
    pub platforms: Vec<Platform>,
    /// `[apt] sources`: one-line `deb` sources that replace the base
    /// image's own (empty: the image's).
    pub apt_sources: Vec<SourceEntry>,
}

impl Requests {
    /// The requests of a validated manifest.
    pub fn of(manifest: &Manifest) -> Requests {
        let platforms = manifest.project.platforms.clone();
        let images = wanted_images(manifest).map(|wanted| {
            wanted
                .into_iter()
                .map(|(name, reference, confirm_tag)| ImageRequest {
                    name: name.to_string(),
                    reference,
                    platforms: platforms.clone(),
                    confirm_tag,
                })
                .collect()
        });
        let apt = manifest
            .apt
            .iter()
            .flat_map(|a| a.packages.iter())
            .map(|r| AptRequest::parse(r, Membership::Prod))
            .chain(manifest.profiles.iter().flat_map(|(name, p)| {
                p.apt
                    .iter()
                    .map(|r| AptRequest::parse(r, Membership::Profile(name.clone())))
            }))
            .collect();
        let framework = manifest
            .framework
            .iter()
            .flat_map(|f| f.packages.iter())
            .map(|(n, v)| PipRequirement {
                name: PackageName::new(n),
                written: format!("{n}=={v}"),
                origin: PipOrigin::Framework,
            });
        let pip = manifest
            .pip
            .iter()
            .flat_map(|p| p.packages.iter())
            .map(|r| PipRequirement {
                name: requirement_name(r),
                written: r.clone(),
                origin: PipOrigin::Pip,
            });
        let profiles = manifest.profiles.iter().flat_map(|(name, p)| {
            p.pip.iter().map(|r| PipRequirement {
                name: requirement_name(r),
                written: r.clone(),
                origin: PipOrigin::Profile(name.clone()),
            })
        });
        let git = manifest
            .git
            .iter()
            .map(|(name, source)| GitRequest {
                name: name.clone(),
                source: source.clone(),
            })
            .collect();
        Requests {
            images,
            apt,
            pip: framework.chain(pip).chain(profiles).collect(),
            git,
            platforms,
            apt_sources: manifest
                .apt
                .as_ref()
                .map(|a| parse_one_line_sources(&a.sources.join("\n")))
                .unwrap_or_default(),
        }
    }

    /// Whether any Python package is asked for (and so an interpreter).
    pub fn wants_python(&self) -> bool {
        !self.pip.is_empty()
    }

    /// Whether any apt package is asked for.
    pub fn wants_apt(&self) -> bool {
        !self.apt.is_empty()
    }

    /// Whether `ml.toml` asks for `name` itself (not only as a dependency).
    pub fn asks_apt(&self, name: &str) -> bool {
        self.apt.iter().any(|r| r.name == name)
    }

    /// The apt requests as written, as the lock records them.
    pub fn apt_written(&self) -> Vec<&str> {
        self.apt.iter().map(|r| r.written.as_str()).collect()
    }

    /// Names of the apt packages the prod image asks for.
    pub fn prod_apt_names(&self) -> Vec<&str> {
        self.apt
            .iter()
            .filter(|r| r.membership == Membership::Prod)
            .map(|r| r.name.as_str())
            .collect()
    }

    /// The pip requirements as written, as the lock records them.
    pub fn pip_written(&self) -> Vec<&str> {
        self.pip.iter().map(|r| r.written.as_str()).collect()
    }

    /// The `[framework]` packages.
    pub fn framework_names(&self) -> Vec<PackageName> {
        self.pip
            .iter()
            .filter(|r| r.origin == PipOrigin::Framework)
            .map(|r| r.name.clone())
            .collect()
    }

    /// Packages requested only by `[profile.*] pip`, never by the prod image.
    pub fn profile_only_pip(&self) -> Vec<PackageName> {
        let prod: Vec<&PackageName> = self
            .pip
            .iter()
            .filter(|r| !matches!(r.origin, PipOrigin::Profile(_)))
            .map(|r| &r.name)
            .collect();
        self.pip
            .iter()
            .filter(|r| matches!(r.origin, PipOrigin::Profile(_)) && !prod.contains(&&r.name))
            .map(|r| r.name.clone())
            .collect()
    }

    /// Every name `--update` may take: images, git sources, direct pip and
    /// apt requests.
    pub fn entry_names(&self) -> Vec<String> {
        let images: Vec<String> = match &self.images {
            Ok(images) => images.iter().map(|i| i.name.clone()).collect(),
            Err(_) => Vec::new(),
        };
        images
            .into_iter()
            .chain(self.git.iter().map(|g| g.name.clone()))
            .chain(self.pip.iter().map(|r| r.name.to_string()))
            .chain(self.apt.iter().map(|r| r.name.clone()))
            .collect()
    }
}

/// The images a manifest needs pinned, by lock name: `base` (from `[base]`
/// or the tag `[cuda]` picks) and, when `[cuda] flavor` is `runtime` or
/// `base` and git sources have `build` steps, `builder`: the `devel` flavor
/// of the same CUDA, whose `nvcc` compiles the sources in a stage that the
/// runtime image never contains. The bool says whether the tag must be
/// confirmed in the registry's tag list (mlr computed it).
fn wanted_images(
    manifest: &Manifest,
) -> Result<Vec<(&'static str, ImageRef, bool)>, ImageChoiceError> {
    if let Some(b) = &manifest.base {
        return Ok(vec![("base", b.image.clone(), false)]);
    }
    let Some(cuda) = &manifest.cuda else {
        return Ok(Vec::new());
    };
    let builds = manifest.git.values().any(|g| !g.build.is_empty());
    let flavor = match cuda.flavor {
        Some(f) => f,
        // Source builds need nvcc.
        None if builds => Flavor::Devel,
        None => Flavor::Runtime,
    };
    let mut wanted = vec![("base", cuda_reference(manifest, cuda, flavor)?, true)];
    if builds && flavor != Flavor::Devel {
        wanted.push((
            "builder",
            cuda_reference(manifest, cuda, Flavor::Devel)?,
            true,
        ));
    }
    Ok(wanted)
}

/// The `nvidia/cuda` image of one flavor for `[cuda]`.
fn cuda_reference(
    manifest: &Manifest,
    cuda: &Cuda,
    flavor: Flavor,
) -> Result<ImageRef, ImageChoiceError> {
    let tag = manifest
        .compat()
        .cuda_image_tag(&cuda.version, cuda.cudnn.as_deref(), flavor, None)
        .map_err(|e| ImageChoiceError {
            flavor,
            message: e.message,
            alternatives: e.alternatives,
        })?;
    ImageRef::parse(&format!("nvidia/cuda:{tag}")).map_err(|e| ImageChoiceError {
        flavor,
        message: format!("the computed tag `{tag}` is not a valid reference: {e}"),
        alternatives: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests(toml: &str) -> Requests {
        Requests::of(&crate::manifest::parse(toml, "ml.toml").expect("a valid manifest"))
    }

    #[test]
    fn each_kind_is_parsed_once_with_its_membership() {
        let r = requests(
            "[base]\nimage = \"debian:12\"\n\
             [framework]\ntorch = \"2.5.1\"\n\
             [apt]\npackages = [\"git\", \"libgl1=1.6.0-1\"]\n\
             [pip]\npackages = [\"Numpy<2\", \"ruff_x\"]\n\
             [profile.dev]\napt = [\"vim\"]\npip = [\"ipykernel\"]\n",
        );
        assert_eq!(r.apt_written(), ["git", "libgl1=1.6.0-1", "vim"]);
        assert_eq!(r.apt[1].name, "libgl1");
        assert_eq!(r.apt[1].version.as_deref(), Some("1.6.0-1"));
        assert_eq!(r.prod_apt_names(), ["git", "libgl1"]);
        assert_eq!(
            r.pip_written(),
            ["torch==2.5.1", "Numpy<2", "ruff_x", "ipykernel"]
        );
        assert_eq!(r.framework_names(), [PackageName::new("torch")]);
        assert_eq!(r.pip[1].name, "numpy");
        assert_eq!(r.pip[2].name, "ruff-x");
        assert_eq!(r.profile_only_pip(), [PackageName::new("ipykernel")]);
        let images = r.images.as_ref().unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].name, "base");
        assert!(!images[0].confirm_tag);
    }

    #[test]
    fn a_runtime_cuda_image_with_source_builds_also_wants_a_builder() {
        let r = requests(
            "[cuda]\nversion = \"12.4\"\nflavor = \"runtime\"\n\
             [git.k]\nurl = \"https://example.com/k.git\"\nrev = \"v1\"\nbuild = [\"make\"]\n",
        );
        let images = r.images.unwrap();
        let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["base", "builder"]);
        assert!(images[1].reference.to_string().contains("devel"));
        assert!(images.iter().all(|i| i.confirm_tag));
    }
}
