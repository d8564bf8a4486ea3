//! From `ml.toml` to what uv is asked: the direct requirements (framework
//! packages turned into the right CUDA variant, `[pip]`, profiles), the
//! indexes and their routing, and the Python environment of the base image.

use anyhow::Context;

use super::{IndexSpec, PYPI};
use crate::compat::{Compat, TorchVariant};
use crate::config::Config;
use crate::error::{ErrorKind, hinted};
use crate::lock::ImagePin;
use crate::manifest::{ImageRef, Manifest};
use crate::requests::{PipOrigin, Requests};
use crate::resolve::base_python::BaseFacts;

/// What uv is asked, for one manifest and interpreter.
#[derive(Debug, Clone)]
pub struct PipPlan {
    /// `(requested as in the lock, requirement given to uv)`; today the
    /// same string, kept apart so uv may be asked more than the lock records.
    pub requirements: Vec<(String, String)>,
    pub default_index: IndexSpec,
    pub indexes: Vec<IndexSpec>,
    /// The torch build the lock must contain, checked after resolution.
    pub torch: Option<TorchVariant>,
}

impl PipPlan {
    pub fn uv_requirements(&self) -> Vec<String> {
        self.requirements.iter().map(|(_, r)| r.clone()).collect()
    }
}

/// Plan the resolution: framework versions become exact requirements for
/// the CUDA variant `[cuda]` asks for, from PyPI when PyPI's default build
/// is that variant, else from the variant's index.
pub fn plan(manifest: &Manifest, compat: &Compat, python: &str) -> anyhow::Result<PipPlan> {
    let pip = manifest.pip.as_ref();
    let default_url = pip
        .and_then(|p| p.index_url.clone())
        .unwrap_or_else(|| PYPI.to_string());
    let default_index = IndexSpec {
        name: if default_url == PYPI {
            "pypi".into()
        } else {
            "default".into()
        },
        url: default_url,
        patterns: Vec::new(),
    };
    let mut indexes: Vec<IndexSpec> = pip
        .map(|p| {
            p.indexes
                .iter()
                .map(|i| IndexSpec {
                    name: i.name.clone(),
                    url: i.url.clone(),
                    patterns: i.packages.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let FrameworkBuilds {
        mut requirements,
        torch,
    } = framework_builds(manifest, compat, Some(python))?;
    // A torch build from PyPI (its default wheel is the CUDA asked for)
    // needs no routing: the whole family comes from the default index.
    if let Some(TorchVariant {
        index_url: Some(url),
        local: Some(local),
        ..
    }) = &torch
    {
        indexes.insert(
            0,
            IndexSpec {
                name: format!("pytorch-{local}"),
                url: url.clone(),
                patterns: vec!["torch".into(), "torchvision".into(), "torchaudio".into()],
            },
        );
    }
    for r in Requests::of(manifest)
        .pip
        .iter()
        .filter(|r| r.origin != PipOrigin::Framework)
    {
        requirements.push((r.written.clone(), r.written.clone()));
    }
    Ok(PipPlan {
        requirements,
        default_index,
        indexes,
        torch,
    })
}

/// Checks `[framework]` with `[cuda]` against the compatibility tables
/// before anything is fetched, with `[python] version` when the manifest
/// gives one (the base image's Python is checked again once it is known).
/// A refused combination is the same error online and offline.
pub fn check_framework(manifest: &Manifest, compat: &Compat) -> anyhow::Result<()> {
    let python = manifest.python.as_ref().and_then(|p| p.version.as_deref());
    framework_builds(manifest, compat, python).map(drop)
}

/// The framework packages as uv is asked for them, and the torch build
/// the lock must contain.
struct FrameworkBuilds {
    requirements: Vec<(String, String)>,
    torch: Option<TorchVariant>,
}

/// The build of each `[framework]` package for `[cuda]` and `python`
/// (`None`: not known yet, any Python of the release passes).
fn framework_builds(
    manifest: &Manifest,
    compat: &Compat,
    python: Option<&str>,
) -> anyhow::Result<FrameworkBuilds> {
    let mut out = FrameworkBuilds {
        requirements: Vec::new(),
        torch: None,
    };
    let Some(framework) = &manifest.framework else {
        return Ok(out);
    };
    let cuda = manifest.cuda.as_ref().map(|c| c.version.as_str());
    let packages = &framework.packages;
    if let Some(v) = packages.get("torch") {
        out.torch = Some(
            compat
                .torch(v, cuda, python)
                .map_err(|e| incompatible("torch", v, &e))?,
        );
    }
    // The variant's index serves the torch family; the requirement stays
    // as written, and the locked build is checked after resolution, so
    // an index that serves the wrong build is caught, not trusted.
    // TensorFlow and JAX get their CUDA extras (`tensorflow[and-cuda]`,
    // `jax[cuda12]`) from the data tables.
    for (name, version) in packages {
        let requested = format!("{name}=={version}");
        let to_uv = match name.as_str() {
            "tensorflow" => {
                compat
                    .tensorflow(version, cuda, python)
                    .map_err(|e| incompatible(name, version, &e))?
                    .requirement
            }
            "jax" => {
                compat
                    .jax(version, cuda, python)
                    .map_err(|e| incompatible(name, version, &e))?
                    .requirement
            }
            _ => requested.clone(),
        };
        out.requirements.push((requested, to_uv));
    }
    Ok(out)
}

fn incompatible(name: &str, version: &str, e: &crate::compat::Incompatible) -> anyhow::Error {
    hinted(
        ErrorKind::Resolution,
        format!("[framework] {name} = \"{version}\": {}", e.message),
        if e.alternatives.is_empty() {
            "change the framework, CUDA or Python version".to_string()
        } else {
            format!("these would work: {}", e.alternatives.join("; "))
        },
    )
}

/// What the base image holds for Python, read from its layers through the
/// registry (no pull, no run). Every locked platform is read; they must
/// agree (one `[python]` pin serves them all).
pub fn inspect_base(config: &Config, base: &ImagePin) -> anyhow::Result<BaseFacts> {
    let reference = ImageRef {
        registry: base.registry.clone(),
        repository: base.repository.clone(),
        tag: None,
        digest: Some(base.digest.clone()),
    };
    let mut read = base
        .platforms
        .iter()
        .map(|p| facts_of(config, base, &reference, &p.digest).map(|f| (p.platform.as_str(), f)));
    let (first_platform, first) = read
        .next()
        .context("the base image pin has no platform")??;
    for other in read {
        let (platform, facts) = other?;
        if let Err(difference) = crate::resolve::interpreter::same_python(&first, &facts) {
            return Err(hinted(
                ErrorKind::Resolution,
                format!(
                    "the base image {} differs between {first_platform} and {platform}: {difference}",
                    base.requested
                ),
                "lock the platforms separately (project.platforms), or use a base whose platforms carry the same Python",
            ));
        }
    }
    Ok(first)
}

/// The facts of one platform's manifest. They are a function of its
/// digest: kept in the cache, so a large base (an NGC image's 10 GB of
/// layers) is scanned once.
fn facts_of(
    config: &Config,
    base: &ImagePin,
    reference: &ImageRef,
    digest: &str,
) -> anyhow::Result<BaseFacts> {
    use crate::resolve::base_python::{capture, discover};
    use crate::resolve::image_files::read_image_tree;
    let (facts, read) = crate::resolve::image_files::cached_by_digest(
        config,
        "base-facts",
        FACTS_FORMAT,
        digest,
        || {
            config.shell.status(
                "Inspecting",
                format!("{} for its Python and glibc", base.requested),
            );
            discover(&read_image_tree(config, reference, digest, &capture)?)
        },
    )?;
    if !read {
        config.shell.verbose(
            "Fresh",
            format!("{} (its Python, read before)", base.requested),
        );
    }
    Ok(facts)
}

/// Bumped whenever what `discover` finds changes, so older cached facts are
/// not used.
const FACTS_FORMAT: u32 = 1;

/// `"3.11"` → `(3, 11)`.
pub fn parse_pair(v: &str) -> anyhow::Result<(u32, u32)> {
    let mut it = v.split('.');
    let a = it.next().and_then(|x| x.parse().ok());
    let b = it.next().and_then(|x| x.parse().ok());
    match (a, b) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => anyhow::bail!("`{v}` is not MAJOR.MINOR"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_for(torch: &str, cuda: &str) -> PipPlan {
        let manifest = crate::manifest::parse(
            &format!(
                "[base]\nimage = \"debian:12\"\n[cuda]\nversion = \"{cuda}\"\n\
                 [framework]\ntorch = \"{torch}\"\ntorchvision = \"0.20.1\"\n"
            ),
            "ml.toml",
        )
        .expect("a valid manifest");
        plan(&manifest, &manifest.compat(), "3.10").expect("a plan")
    }

    #[test]
    fn pypi_serves_the_torch_family_when_its_default_is_the_cuda_asked() {
        let p = plan_for("2.5.1", "12.4");
        assert!(p.indexes.is_empty(), "{:?}", p.indexes);
        assert_eq!(p.default_index.url, PYPI);
        let torch = p.torch.expect("a torch build");
        assert!(torch.pypi_default && torch.local.is_none());
        assert!(
            p.requirements
                .iter()
                .any(|(r, uv)| r == "torch==2.5.1" && uv == "torch==2.5.1")
        );
        // torch 1.12.1's PyPI wheel is its CUDA 10.2 build.
        assert!(plan_for("1.12.1", "10.2").indexes.is_empty());
    }

    #[test]
    fn another_cuda_routes_the_torch_family_to_its_pytorch_index() {
        let p = plan_for("1.12.1", "11.6");
        let [index] = p.indexes.as_slice() else {
            panic!("one index: {:?}", p.indexes);
        };
        assert_eq!(index.name, "pytorch-cu116");
        assert_eq!(index.url, "https://download.pytorch.org/whl/cu116");
        assert_eq!(index.patterns, ["torch", "torchvision", "torchaudio"]);
        assert_eq!(plan_for("2.5.1", "12.1").indexes[0].name, "pytorch-cu121");
    }

    fn manifest(text: &str) -> Manifest {
        crate::manifest::parse(text, "ml.toml").expect("a valid manifest")
    }

    #[test]
    fn the_framework_is_checked_without_the_interpreter() {
        let m = manifest(
            "[base]\nimage = \"debian:12\"\n[cuda]\nversion = \"11.8\"\n\
             [framework]\ntorch = \"1.12.1\"\n",
        );
        let err = check_framework(&m, &m.compat()).unwrap_err();
        let e = err
            .downcast_ref::<crate::error::Error>()
            .expect("an mlr error");
        assert_eq!(e.kind, ErrorKind::Resolution);
        assert_eq!(
            e.message,
            "[framework] torch = \"1.12.1\": torch 1.12.1 has no build for CUDA 11.8"
        );
        assert_eq!(
            e.hint.as_deref(),
            Some(
                "these would work: CUDA 10.2, 11.3 or 11.6 with torch 1.12.1; \
                 torch 2.0.0 to 2.7.1 with CUDA 11.8"
            )
        );
        // Any Python of the release passes until one is known...
        let m = manifest(
            "[base]\nimage = \"debian:12\"\n[cuda]\nversion = \"11.6\"\n\
             [framework]\ntorch = \"1.12.1\"\n",
        );
        check_framework(&m, &m.compat()).unwrap();
        // ... and `[python] version` is one.
        let m = manifest(
            "[base]\nimage = \"debian:12\"\n[python]\nversion = \"3.11\"\n\
             [cuda]\nversion = \"11.6\"\n[framework]\ntorch = \"1.12.1\"\n",
        );
        let err = check_framework(&m, &m.compat()).unwrap_err();
        assert!(
            err.to_string()
                .contains("torch 1.12.1 has no wheels for Python 3.11"),
            "{err}"
        );
        let m = manifest(
            "[base]\nimage = \"debian:12\"\n[cuda]\nversion = \"12.4\"\n\
             [framework]\ntensorflow = \"2.12.0\"\n",
        );
        assert!(check_framework(&m, &m.compat()).is_err());
    }
}
