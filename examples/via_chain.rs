//! A project whose pip lock is one long `via` chain: `ml.toml` asks for one
//! package, which pulls in the next, and so on, N deep. The lock is what
//! `mlr lock` would write for it (canonical, the manifest's fingerprint,
//! wheel names, URLs and hashes that agree), so `mlr dockerfile` accepts
//! it. Driven by `scripts/bench-via.sh`; also writes the fuzz seeds.
//!
//! ```sh
//! cargo run --release --example via_chain -- --len 10000 DIR
//! cargo run --example via_chain -- --len 3 --profile --extras DIR
//! ```
//!
//! `--profile` adds a `[profile.dev]` pip package (and apt, with `--extras`);
//! `--extras` adds apt packages from a snapshot (one pulled in, plus the
//! implicit Python), a git source with a build step, `[env]` and `[image]`
//! settings: the seeds of the `dockerfile` fuzz target use both.
//!
//! The chain runs against the lock's sorted order (`pkg-00009` is
//! requested and pulls in `pkg-00008`, ...), the worst case for a renderer
//! that sweeps the pins until nothing changes.

use std::path::PathBuf;

use anyhow::{Context, bail};
use mlr::lock::{
    AptPin, GitPin, ImagePin, Lockfile, PipArtifact, PipPin, PlatformDigest, PythonPin,
    read::ReadLock,
};
use sha2::{Digest, Sha256};

const USAGE: &str = "usage: via_chain [--len N] [--profile] [--extras] DIR";

fn main() -> anyhow::Result<()> {
    let mut len = 10_000usize;
    let mut profile = false;
    let mut extras = false;
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--len" => len = args.next().context(USAGE)?.parse().context(USAGE)?,
            "--profile" => profile = true,
            "--extras" => extras = true,
            _ if arg.starts_with('-') => bail!("{USAGE}"),
            _ => dir = Some(PathBuf::from(arg)),
        }
    }
    let Some(dir) = dir else { bail!("{USAGE}") };
    if len == 0 {
        bail!("--len must be at least 1");
    }
    let (manifest, lock) = project(len, profile, extras)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("ml.toml"), manifest)?;
    std::fs::write(dir.join("ml.lock"), lock)?;
    Ok(())
}

/// `(ml.toml, ml.lock)` texts for a chain of `len` packages.
fn project(len: usize, profile: bool, extras: bool) -> anyhow::Result<(String, String)> {
    let name = |i: usize| format!("pkg-{i:05}");
    let top = name(len - 1);
    let mut toml = format!(
        "[base]\nimage = \"127.0.0.1:5000/debian:bookworm\"\n\n\
         [python]\nversion = \"3.11\"\n\n\
         [pip]\npackages = [\"{top}\"]\n"
    );
    if extras {
        toml.push_str(
            "\n[apt]\npackages = [\"git\"]\nsnapshot = \"20250520T000000Z\"\n\n\
             [git.kernels]\nurl = \"https://example.com/kernels.git\"\nrev = \"v1\"\n\
             build = [\"make\", \"make install\"]\n\n\
             [env]\nHF_HOME = \"/cache/hf\"\n\n\
             [image]\nworkdir = \"/app\"\nentrypoint = [\"python\", \"run.py\"]\n\
             copy = [{ src = \"src\", dst = \"/app/src\" }]\n",
        );
    }
    if profile {
        toml.push_str("\n[profile.dev]\npip = [\"dev-tool\"]\n");
        if extras {
            toml.push_str("apt = [\"vim\"]\n");
        }
    }
    let manifest = mlr::manifest::parse(&toml, "ml.toml").map_err(|e| anyhow::anyhow!("{e}"))?;
    let requests = mlr::requests::Requests::of(&manifest);
    let image = match &requests.images {
        Ok(images) => images
            .iter()
            .find(|i| i.name == "base")
            .context("no base image")?,
        Err(e) => bail!("{e}"),
    };
    let digest = |seed: &str| format!("sha256:{}", hex::encode(Sha256::digest(seed.as_bytes())));
    let mut lock = Lockfile::new(manifest.fingerprint());
    lock.python = Some(PythonPin::distro(
        "3.11".into(),
        "2.36".into(),
        "debian 12".into(),
    ));
    lock.images.push(ImagePin {
        name: "base".into(),
        requested: image.reference.to_string(),
        registry: image.reference.registry.clone(),
        repository: image.reference.repository.clone(),
        tag: image.reference.tag.clone(),
        digest: digest("index"),
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        platforms: image
            .platforms
            .iter()
            .map(|p| PlatformDigest {
                platform: p.to_string(),
                digest: digest(&p.to_string()),
            })
            .collect(),
    });
    let pin = |name: String, requested: Option<String>, via: Vec<String>| {
        let file = format!("{}-1.0.0-py3-none-any.whl", name.replace('-', "_"));
        PipPin {
            git: None,
            path: None,
            build_requires: None,
            version: "1.0.0".into(),
            index: "pypi".into(),
            requested,
            via,
            artifacts: vec![PipArtifact {
                platform: "linux/amd64".into(),
                url: format!("https://files.example.com/packages/{file}"),
                sha256: hex::encode(Sha256::digest(file.as_bytes())),
                filename: file,
                size: 1234,
                sdist: false,
            }],
            name,
        }
    };
    for i in 0..len {
        let (requested, via) = if i == len - 1 {
            (Some(top.clone()), Vec::new())
        } else {
            (None, vec![name(i + 1)])
        };
        lock.pip.push(pin(name(i), requested, via));
    }
    if profile {
        lock.pip
            .push(pin("dev-tool".into(), Some("dev-tool".into()), Vec::new()));
    }
    if extras {
        let snapshot = "https://snapshot.debian.org/archive/debian/20250520T000000Z";
        let apt = |name: &str, version: &str, requested: Option<&str>, via: &[&str]| {
            let file = format!(
                "{name}_{}_amd64.deb",
                version.split_once(':').map_or(version, |(_, v)| v)
            );
            AptPin {
                name: name.into(),
                version: version.into(),
                architecture: "amd64".into(),
                source: snapshot.into(),
                suite: "bookworm".into(),
                component: "main".into(),
                filename: format!("pool/main/{}/{name}/{file}", &name[..1]),
                sha256: hex::encode(Sha256::digest(file.as_bytes())),
                requested: requested.map(Into::into),
                via: via.iter().map(|v| v.to_string()).collect(),
            }
        };
        lock.apt
            .push(apt("git", "1:2.39.5-0+deb12u2", Some("git"), &[]));
        lock.apt
            .push(apt("libcurl3-gnutls", "7.88.1-10+deb12u12", None, &["git"]));
        lock.apt.push(apt(
            "python3-venv",
            "3.11.2-1+b1",
            None,
            &[mlr::lock::PYTHON_APT_REQUEST],
        ));
        if profile {
            lock.apt.push(apt("vim", "2:9.0.1378-2", Some("vim"), &[]));
        }
        lock.git.push(GitPin {
            name: "kernels".into(),
            url: "https://example.com/kernels.git".into(),
            requested: "v1".into(),
            commit: hex::encode(&Sha256::digest(b"commit")[..20]),
            tree: hex::encode(&Sha256::digest(b"tree")[..20]),
            submodules: Vec::new(),
        });
    }
    let read = ReadLock::canonical(lock, "ml.lock");
    let findings = mlr::lock::satisfies(&manifest, &read);
    if !findings.is_empty() {
        bail!("the generated lock is stale: {findings:?}");
    }
    Ok((toml, read.source))
}
