//! Does a lock still satisfy a manifest? Answered offline, requirement by
//! requirement, from the requested values stored beside each pin.

use std::fmt;

use serde::Serialize;

use super::{GitPin, ImagePin, Lockfile};
use crate::manifest::{GitSource, ImageRef, Manifest, Platform};

/// The kind of a pinned thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Image,
    Apt,
    Pip,
    Git,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Image => "image",
            Kind::Apt => "apt",
            Kind::Pip => "pip",
            Kind::Git => "git",
        })
    }
}

/// One reason a lock does not satisfy a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum Finding {
    /// `ml.toml` asks for something the lock has no pin for.
    NewRequirement {
        kind: Kind,
        name: String,
        requested: String,
    },
    /// The lock pins something `ml.toml` no longer asks for.
    RemovedRequirement {
        kind: Kind,
        name: String,
        locked: String,
    },
    /// The requirement changed and its pin no longer satisfies it.
    NotSatisfied {
        kind: Kind,
        name: String,
        requested: String,
        locked: String,
    },
    /// The normalized manifest differs from the one the lock was made from.
    FingerprintChanged { locked: String, current: String },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::NewRequirement {
                kind,
                name,
                requested,
            } => write!(
                f,
                "{kind} `{name}`: new requirement `{requested}` is not in the lock"
            ),
            Finding::RemovedRequirement { kind, name, locked } => write!(
                f,
                "{kind} `{name}`: locked as `{locked}` but no longer in ml.toml"
            ),
            Finding::NotSatisfied {
                kind,
                name,
                requested,
                locked,
            } => write!(
                f,
                "{kind} `{name}`: requirement `{requested}` is not satisfied by the lock (`{locked}`)"
            ),
            Finding::FingerprintChanged { locked, current } => write!(
                f,
                "ml.toml changed since the lock was written (fingerprint {} → {})",
                short(locked),
                short(current)
            ),
        }
    }
}

fn short(fp: &str) -> &str {
    let end = fp.len().min("sha256:".len() + 12);
    &fp[..end]
}

/// Every reason `lock` does not satisfy `manifest`; empty when it does.
/// Requirement findings come first, sorted by kind and name; a changed
/// fingerprint is reported last.
pub fn satisfies(manifest: &Manifest, lock: &Lockfile) -> Vec<Finding> {
    let mut findings = Vec::new();

    // The base image (`[base] image`, or the tag `[cuda]` picks) and the
    // CUDA builder image source builds need.
    match crate::resolve::image::wanted_images(manifest) {
        Err(e) => findings.push(Finding::NotSatisfied {
            kind: Kind::Image,
            name: "base".into(),
            requested: format!("{e}"),
            locked: lock
                .image("base")
                .map_or_else(|| "nothing".to_string(), |p| p.requested.clone()),
        }),
        Ok(wanted) => {
            for (name, reference, _) in &wanted {
                match lock.image(name) {
                    Some(pin) => {
                        if let Err(why) =
                            image_satisfies(reference, &manifest.project.platforms, pin)
                        {
                            findings.push(Finding::NotSatisfied {
                                kind: Kind::Image,
                                name: (*name).into(),
                                requested: why.0,
                                locked: why.1,
                            });
                        }
                    }
                    None => findings.push(Finding::NewRequirement {
                        kind: Kind::Image,
                        name: (*name).into(),
                        requested: reference.to_string(),
                    }),
                }
            }
            for pin in &lock.images {
                if !wanted.iter().any(|(name, _, _)| *name == pin.name) {
                    findings.push(Finding::RemovedRequirement {
                        kind: Kind::Image,
                        name: pin.name.clone(),
                        locked: format!("{}@{}", pin.requested, pin.digest),
                    });
                }
            }
        }
    }

    // Git sources.
    for (name, source) in &manifest.git {
        match lock.git_pin(name) {
            None => findings.push(Finding::NewRequirement {
                kind: Kind::Git,
                name: name.clone(),
                requested: format!("{}#{}", source.url, source.rev),
            }),
            Some(pin) => {
                if !git_satisfies(source, pin) {
                    findings.push(Finding::NotSatisfied {
                        kind: Kind::Git,
                        name: name.clone(),
                        requested: format!("{}#{}", source.url, source.rev),
                        locked: format!("{}#{} ({})", pin.url, pin.requested, pin.commit),
                    });
                }
            }
        }
    }
    for pin in &lock.git {
        if !manifest.git.contains_key(&pin.name) {
            findings.push(Finding::RemovedRequirement {
                kind: Kind::Git,
                name: pin.name.clone(),
                locked: format!("{}#{}", pin.url, pin.commit),
            });
        }
    }

    // apt and pip: direct requests are compared as written.
    let apt_requests: Vec<&String> = manifest
        .apt
        .iter()
        .flat_map(|a| a.packages.iter())
        .chain(manifest.profiles.values().flat_map(|p| p.apt.iter()))
        .collect();
    let apt_locked: Vec<&String> = lock
        .apt
        .iter()
        .filter_map(|p| p.requested.as_ref())
        .collect();
    direct_requests(Kind::Apt, &apt_requests, &apt_locked, &mut findings);
    let pip_wanted = crate::resolve::pip::plan::manifest_requests(manifest);
    let pip_requests: Vec<&String> = pip_wanted.iter().collect();
    let pip_locked: Vec<&String> = lock
        .pip
        .iter()
        .filter_map(|p| p.requested.as_ref())
        .collect();
    direct_requests(Kind::Pip, &pip_requests, &pip_locked, &mut findings);

    findings.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let current = manifest.fingerprint();
    if current != lock.fingerprint {
        findings.push(Finding::FingerprintChanged {
            locked: lock.fingerprint.clone(),
            current,
        });
    }
    findings
}

fn sort_key(f: &Finding) -> (Kind, &str) {
    match f {
        Finding::NewRequirement { kind, name, .. }
        | Finding::RemovedRequirement { kind, name, .. }
        | Finding::NotSatisfied { kind, name, .. } => (*kind, name),
        Finding::FingerprintChanged { .. } => (Kind::Git, "\u{10FFFF}"),
    }
}

fn direct_requests(kind: Kind, requested: &[&String], locked: &[&String], out: &mut Vec<Finding>) {
    for r in requested {
        if !locked.contains(r) {
            out.push(Finding::NewRequirement {
                kind,
                name: request_name(r),
                requested: (*r).clone(),
            });
        }
    }
    for l in locked {
        if !requested.contains(l) {
            out.push(Finding::RemovedRequirement {
                kind,
                name: request_name(l),
                locked: (*l).clone(),
            });
        }
    }
}

/// The package name at the start of an apt or PEP 508 request.
fn request_name(r: &str) -> String {
    r.split(|c: char| !(c.is_ascii_alphanumeric() || "._+-".contains(c)))
        .next()
        .unwrap_or(r)
        .to_string()
}

/// Whether an image pin satisfies a reference on the given platforms.
/// On failure: (what is requested, what is locked).
pub fn image_satisfies(
    wanted: &ImageRef,
    platforms: &[Platform],
    pin: &ImagePin,
) -> Result<(), (String, String)> {
    let locked_ref = ImageRef::parse(&pin.requested).ok();
    let same_ref = locked_ref.as_ref() == Some(wanted)
        && wanted.registry == pin.registry
        && wanted.repository == pin.repository;
    let digest_ok = wanted.digest.as_ref().is_none_or(|d| *d == pin.digest);
    if !same_ref || !digest_ok {
        return Err((
            wanted.to_string(),
            format!("{}@{}", pin.requested, pin.digest),
        ));
    }
    let want: Vec<String> = platforms.iter().map(|p| p.to_string()).collect();
    let have: Vec<String> = pin.platforms.iter().map(|p| p.platform.clone()).collect();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    if want_sorted != have {
        return Err((
            format!("{wanted} for {}", want.join(", ")),
            format!("{} for {}", pin.requested, have.join(", ")),
        ));
    }
    Ok(())
}

/// Whether a git pin satisfies a source: same URL and rev (a SHA rev must
/// prefix the pinned commit).
pub fn git_satisfies(source: &GitSource, pin: &GitPin) -> bool {
    if source.url != pin.url || source.rev != pin.requested {
        return false;
    }
    if is_hex_sha(&source.rev) && !pin.commit.starts_with(&source.rev.to_ascii_lowercase()) {
        return false;
    }
    true
}

/// A full or abbreviated (7+ hex digits) commit SHA.
pub fn is_hex_sha(rev: &str) -> bool {
    (7..=40).contains(&rev.len()) && rev.bytes().all(|b| b.is_ascii_hexdigit())
}
