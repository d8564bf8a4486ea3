//! The grammar of every `ml.lock` field. A lock is untrusted input (it
//! arrives in pull requests), so the reader holds each value to the shape
//! mlr writes — Debian names and versions, PEP 503 names and PEP 440
//! versions, file names, hashes, digests, commits, URLs, relative paths —
//! and refuses duplicates, before anything renders, fetches or builds from
//! it. A value that passes can be written into a Dockerfile or a shell
//! word by the renderer's quoting without changing its structure.

use std::collections::BTreeSet;

use super::Lockfile;
use crate::error::{ErrorKind, FileError};
use crate::manifest::syntax;

/// One step of the way from the document's root to a value.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A rule a value broke: where (as a path into the document) and why.
struct Broken {
    at: Vec<Seg<'static>>,
    message: String,
}

/// Check every field of `lock` (as read, in text order) against its
/// grammar. The first value that breaks a rule is an error at its
/// `path:LINE:COL`.
pub fn check(lock: &Lockfile, source: &str, path: &str) -> Result<(), FileError> {
    let Err(broken) = rules(lock) else {
        return Ok(());
    };
    let offset = toml_edit::Document::parse(source)
        .ok()
        .and_then(|doc| span_of(doc.as_table(), &broken.at));
    let error = match offset {
        Some(offset) => FileError::at_offset(path, source, offset, broken.message),
        None => FileError::whole_file(path, broken.message),
    };
    Err(error.with_kind(ErrorKind::LockInvalid).with_hint(
        "ml.lock is written by mlr, never by hand: run `mlr lock` to re-resolve it from ml.toml, and review the change with `mlr diff`",
    ))
}

/// The byte offset of the value at `at`.
fn span_of(root: &toml_edit::Table, at: &[Seg<'_>]) -> Option<usize> {
    use toml_edit::{Item, Table, Value};
    #[derive(Clone, Copy)]
    enum Node<'d> {
        Table(&'d Table),
        Item(&'d Item),
        Value(&'d Value),
    }
    let mut node = Node::Table(root);
    for seg in at {
        node = match (node, *seg) {
            (Node::Table(t), Seg::Key(k)) => Node::Item(t.get(k)?),
            (Node::Item(Item::Table(t)), Seg::Key(k)) => Node::Item(t.get(k)?),
            (Node::Item(Item::ArrayOfTables(a)), Seg::Index(i)) => Node::Table(a.get(i)?),
            (
                Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)),
                Seg::Index(i),
            ) => Node::Value(a.get(i)?),
            (
                Node::Item(Item::Value(Value::InlineTable(t))) | Node::Value(Value::InlineTable(t)),
                Seg::Key(k),
            ) => Node::Value(t.get(k)?),
            _ => return None,
        };
    }
    match node {
        Node::Table(t) => t.span().map(|s| s.start),
        Node::Item(i) => i.span().map(|s| s.start),
        Node::Value(v) => v.span().map(|s| s.start),
    }
}

/// Where a value is: `[[table]]` entry `index`, `key`, then an optional
/// element of an inline array and a key of it.
fn at(table: &'static str, index: usize, key: &'static str) -> Vec<Seg<'static>> {
    vec![Seg::Key(table), Seg::Index(index), Seg::Key(key)]
}

fn within(mut base: Vec<Seg<'static>>, index: usize, key: &'static str) -> Vec<Seg<'static>> {
    base.push(Seg::Index(index));
    base.push(Seg::Key(key));
    base
}

/// `Ok` when `value` fits; else what was wrong, naming the field.
fn field(at: Vec<Seg<'static>>, what: &str, value: &str, ok: Rule) -> Result<(), Broken> {
    match ok(value) {
        Ok(()) => Ok(()),
        Err(expected) => Err(Broken {
            at,
            message: format!("{what} {} is not {expected}", syntax::Shown(value)),
        }),
    }
}

/// A grammar: `Err` names what was expected.
type Rule = fn(&str) -> Result<(), &'static str>;

/// `Ok` when no key comes twice; else `twice` of the second one's index.
fn once<K: Ord>(
    keys: impl IntoIterator<Item = K>,
    twice: impl FnOnce(usize) -> Broken,
) -> Result<(), Broken> {
    let mut seen = BTreeSet::new();
    match keys.into_iter().position(|key| !seen.insert(key)) {
        Some(index) => Err(twice(index)),
        None => Ok(()),
    }
}

/// The second `[[table]]` entry with the same key, as an error at its
/// `key_name`.
fn unique<K: Ord>(
    table: &'static str,
    key_name: &'static str,
    keys: &[(K, &str)],
) -> Result<(), Broken> {
    once(keys.iter().map(|(key, _)| key), |index| Broken {
        at: at(table, index, key_name),
        message: format!(
            "`[[{table}]]` {} appears twice; mlr writes each once",
            syntax::Shown(keys[index].1)
        ),
    })
}

/// The rules of a `[[pip]]` or `[[pip-build]]` table.
fn pip_table(table: &'static str, pins: &[super::PipPin]) -> Result<(), Broken> {
    for (i, p) in pins.iter().enumerate() {
        let at = |k| at(table, i, k);
        field(at("name"), "package name", &p.name, pep503_name)?;
        field(at("version"), "version", &p.version, pep440_version)?;
        field(at("index"), "index name", &p.index, index_name)?;
        if let Some(r) = &p.requested {
            field(at("requested"), "requirement", r, requirement)?;
        }
        for (j, v) in p.via.iter().enumerate() {
            let mut at = at("via");
            at.push(Seg::Index(j));
            field(at, "package name", v, pep503_name)?;
        }
        if let Some(g) = &p.git {
            let at = |k| {
                let mut at = at("git");
                at.push(Seg::Key(k));
                at
            };
            field(at("url"), "git URL", &g.url, git_url)?;
            field(at("commit"), "commit", &g.commit, git_object)?;
            field(at("tree"), "tree", &g.tree, git_object)?;
            for (j, sub) in g.submodules.iter().enumerate() {
                let at = |k| within(at("submodules"), j, k);
                field(at("path"), "submodule path", &sub.path, relative_path)?;
                field(at("commit"), "commit", &sub.commit, git_object)?;
            }
        }
        if let Some(d) = &p.path {
            let at = |k| {
                let mut at = at("path");
                at.push(Seg::Key(k));
                at
            };
            field(at("path"), "project path", &d.path, relative_path)?;
            field(at("sha256"), "sha256", &d.sha256, sha256_hex)?;
        }
        for (j, b) in p.build_requires.iter().flatten().enumerate() {
            let mut at = at("build-requires");
            at.push(Seg::Index(j));
            field(at, "build requirement", b, exact_pin)?;
        }
        let sources = usize::from(p.git.is_some()) + usize::from(p.path.is_some());
        if p.artifacts.is_empty() && sources == 0 {
            return Err(Broken {
                at: at("artifacts"),
                message: format!("pip `{}` pins no file", p.name),
            });
        }
        if (!p.artifacts.is_empty() && sources > 0) || sources > 1 {
            return Err(Broken {
                at: at("artifacts"),
                message: format!("pip `{}` pins more than one source", p.name),
            });
        }
        for (j, a) in p.artifacts.iter().enumerate() {
            let at = |k| within(at("artifacts"), j, k);
            field(at("platform"), "platform", &a.platform, platform)?;
            field(at("filename"), "file name", &a.filename, distribution_file)?;
            field(at("url"), "URL", &a.url, url)?;
            field(at("sha256"), "sha256", &a.sha256, sha256_hex)?;
        }
        let files = p.artifacts.iter().map(|a| (&a.platform, &a.filename));
        once(files, |j| Broken {
            at: within(at("artifacts"), j, "filename"),
            message: format!(
                "{} appears twice for {}",
                syntax::Shown(&p.artifacts[j].filename),
                p.artifacts[j].platform
            ),
        })?;
    }
    Ok(())
}

/// `name==version`: one `[[pip-build]]` pin.
fn exact_pin(s: &str) -> Result<(), &'static str> {
    let expected = "`name==version`";
    let (name, version) = s.split_once("==").ok_or(expected)?;
    pep503_name(name).map_err(|_| expected)?;
    pep440_version(version).map_err(|_| expected)
}

fn rules(lock: &Lockfile) -> Result<(), Broken> {
    field(
        vec![Seg::Key("fingerprint")],
        "fingerprint",
        &lock.fingerprint,
        oci_digest,
    )?;
    if let Some(d) = &lock.dockerignore {
        field(
            vec![Seg::Key("dockerignore")],
            "dockerignore",
            d,
            oci_digest,
        )?;
    }
    if let Some(p) = &lock.python {
        let at = |k| vec![Seg::Key("python"), Seg::Key(k)];
        field(at("version"), "Python version", &p.version, python_version)?;
        field(at("glibc"), "glibc version", &p.glibc, glibc_version)?;
        field(at("os"), "os", &p.os, os_release)?;
        if let Some(path) = &p.path {
            field(at("path"), "interpreter path", path, interpreter_path)?;
        }
        if let Some(release) = &p.release {
            field(at("release"), "CPython release", release, cpython_release)?;
        }
        for (j, d) in p.downloads.iter().enumerate() {
            let at = |k| within(at("downloads"), j, k);
            field(at("platform"), "platform", &d.platform, platform)?;
            field(at("url"), "URL", &d.url, url)?;
            field(at("sha256"), "sha256", &d.sha256, sha256_hex)?;
        }
        once(p.downloads.iter().map(|d| &d.platform), |j| Broken {
            at: within(at("downloads"), j, "platform"),
            message: format!("platform `{}` appears twice", p.downloads[j].platform),
        })?;
    }
    for (i, b) in lock.base_python.iter().enumerate() {
        let at = |k| at("base-python", i, k);
        field(at("name"), "name", &b.name, pep503_name)?;
        field(at("version"), "version", &b.version, pep440_version)?;
    }
    for (i, f) in lock.requirement_file.iter().enumerate() {
        let at = |k| at("requirement-file", i, k);
        field(at("path"), "path", &f.path, relative_path)?;
        field(at("sha256"), "sha256", &f.sha256, sha256_hex)?;
    }
    let files: Vec<_> = lock
        .requirement_file
        .iter()
        .map(|f| (&f.path, f.path.as_str()))
        .collect();
    unique("requirement-file", "path", &files)?;
    let base: Vec<_> = lock
        .base_python
        .iter()
        .map(|b| (&b.name, b.name.as_str()))
        .collect();
    unique("base-python", "name", &base)?;
    for (i, image) in lock.images.iter().enumerate() {
        let at = |k| at("image", i, k);
        field(at("name"), "image role", &image.name, image_role)?;
        field(
            at("requested"),
            "image reference",
            &image.requested,
            image_reference,
        )?;
        field(at("registry"), "registry", &image.registry, registry_host)?;
        field(
            at("repository"),
            "repository",
            &image.repository,
            repository,
        )?;
        if let Some(tag) = &image.tag {
            field(at("tag"), "tag", tag, image_tag)?;
        }
        field(at("digest"), "digest", &image.digest, oci_digest)?;
        field(
            at("media-type"),
            "media type",
            &image.media_type,
            media_type,
        )?;
        for (j, p) in image.platforms.iter().enumerate() {
            let at = |k| within(at("platforms"), j, k);
            field(at("platform"), "platform", &p.platform, platform)?;
            field(at("digest"), "digest", &p.digest, oci_digest)?;
        }
        if image.platforms.is_empty() {
            return Err(Broken {
                at: at("platforms"),
                message: format!("image `{}` pins no platform", image.name),
            });
        }
        once(image.platforms.iter().map(|p| &p.platform), |j| Broken {
            at: within(at("platforms"), j, "platform"),
            message: format!("platform `{}` appears twice", image.platforms[j].platform),
        })?;
    }
    let images: Vec<_> = lock
        .images
        .iter()
        .map(|i| (&i.name, i.name.as_str()))
        .collect();
    unique("image", "name", &images)?;
    for (i, a) in lock.apt.iter().enumerate() {
        let at = |k| at("apt", i, k);
        field(at("name"), "Debian package name", &a.name, debian_name)?;
        field(at("version"), "Debian version", &a.version, debian_version)?;
        field(
            at("architecture"),
            "architecture",
            &a.architecture,
            debian_arch,
        )?;
        field(at("source"), "apt source", &a.source, url)?;
        field(at("suite"), "suite", &a.suite, debian_dist_part)?;
        field(at("component"), "component", &a.component, debian_dist_part)?;
        field(at("filename"), "archive path", &a.filename, deb_path)?;
        field(at("sha256"), "sha256", &a.sha256, sha256_hex)?;
        if let Some(r) = &a.requested {
            field(at("requested"), "apt request", r, apt_request)?;
        }
        for (j, v) in a.via.iter().enumerate() {
            let mut at = at("via");
            at.push(Seg::Index(j));
            field(at, "apt request", v, apt_request)?;
        }
    }
    let apt: Vec<_> = lock
        .apt
        .iter()
        .map(|a| ((&a.name, &a.architecture), a.name.as_str()))
        .collect();
    unique("apt", "name", &apt)?;
    for (i, c) in lock.build_constraints.iter().enumerate() {
        field(
            vec![Seg::Key("build-constraints"), Seg::Index(i)],
            "constraint",
            c,
            requirement,
        )?;
    }
    pip_table("pip", &lock.pip)?;
    pip_table("pip-build", &lock.pip_build)?;
    let pip: Vec<_> = lock
        .pip
        .iter()
        .map(|p| (&p.name, p.name.as_str()))
        .collect();
    unique("pip", "name", &pip)?;
    let build: Vec<_> = lock
        .pip_build
        .iter()
        .map(|p| ((&p.name, &p.version), p.name.as_str()))
        .collect();
    unique("pip-build", "name", &build)?;
    for (i, g) in lock.git.iter().enumerate() {
        let at = |k| at("git", i, k);
        field(at("name"), "git source name", &g.name, source_name)?;
        field(at("url"), "git URL", &g.url, git_url)?;
        field(at("requested"), "git revision", &g.requested, git_rev)?;
        field(at("commit"), "commit", &g.commit, git_object)?;
        field(at("tree"), "tree", &g.tree, git_object)?;
        for (j, s) in g.submodules.iter().enumerate() {
            let at = |k| within(at("submodules"), j, k);
            field(at("path"), "submodule path", &s.path, relative_path)?;
            field(at("commit"), "commit", &s.commit, git_object)?;
        }
        once(g.submodules.iter().map(|s| &s.path), |j| Broken {
            at: within(at("submodules"), j, "path"),
            message: format!(
                "submodule {} appears twice",
                syntax::Shown(&g.submodules[j].path)
            ),
        })?;
    }
    let git: Vec<_> = lock
        .git
        .iter()
        .map(|g| (&g.name, g.name.as_str()))
        .collect();
    unique("git", "name", &git)
}

// The grammars. Each is a pure function of one value.

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn sha256_hex(s: &str) -> Result<(), &'static str> {
    lower_hex(s, 64)
        .then_some(())
        .ok_or("a sha256 (64 lowercase hex digits)")
}

fn oci_digest(s: &str) -> Result<(), &'static str> {
    s.strip_prefix("sha256:")
        .is_some_and(|hex| lower_hex(hex, 64))
        .then_some(())
        .ok_or("a digest (`sha256:` and 64 lowercase hex digits)")
}

/// A full git object name: SHA-1 (40 hex digits) or SHA-256 (64).
fn git_object(s: &str) -> Result<(), &'static str> {
    (lower_hex(s, 40) || lower_hex(s, 64))
        .then_some(())
        .ok_or("a full git object name (40 lowercase hex digits)")
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit())
}

fn python_version(s: &str) -> Result<(), &'static str> {
    s.split_once('.')
        .is_some_and(|(major, minor)| digits(major) && digits(minor))
        .then_some(())
        .ok_or("a Python version (`3.11`)")
}

/// An absolute path in the image made of characters no shell or
/// Dockerfile context treats specially.
fn interpreter_path(s: &str) -> Result<(), &'static str> {
    let ok = s.starts_with('/')
        && s.len() < 4096
        && !s.split('/').any(|c| c == "..")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("an absolute path of letters, digits and `/._+-` (`/usr/bin/python3.12`)")
    }
}

/// `3.13.5`: three dot-separated numbers.
fn cpython_release(s: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() == 3 && parts.iter().all(|p| digits(p)) && parts[0] == "3" {
        Ok(())
    } else {
        Err("a CPython release (`3.13.5`)")
    }
}

fn glibc_version(s: &str) -> Result<(), &'static str> {
    python_version(s).map_err(|_| "a glibc version (`2.36`)")
}

/// `/etc/os-release`'s `ID VERSION_ID` (`debian 12`, `ubuntu 22.04`).
fn os_release(s: &str) -> Result<(), &'static str> {
    let word = |w: &str| {
        !w.is_empty()
            && w.len() <= 64
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+~-".contains(&b))
    };
    let mut words = s.split(' ');
    (words.next().is_some_and(word) && words.all(word))
        .then_some(())
        .ok_or("an os release (`debian 12`)")
}

fn image_role(s: &str) -> Result<(), &'static str> {
    matches!(s, "base" | "builder")
        .then_some(())
        .ok_or("an image role (`base` or `builder`)")
}

fn image_reference(s: &str) -> Result<(), &'static str> {
    crate::manifest::ImageRef::parse(s)
        .map(|_| ())
        .map_err(|_| "an image reference (`registry/repository:tag`)")
}

/// `host[:port]`: a DNS name or IPv4 address, or a bracketed IPv6 one.
fn registry_host(s: &str) -> Result<(), &'static str> {
    const EXPECTED: &str = "a registry host (`host[:port]`)";
    let (host, port) = match s.strip_prefix('[') {
        Some(v6) => {
            let (addr, rest) = v6.split_once(']').ok_or(EXPECTED)?;
            if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                return Err(EXPECTED);
            }
            ("v6", rest.strip_prefix(':'))
        }
        None => match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        },
    };
    let host_ok = host == "v6"
        || (!host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
    let port_ok = port.is_none_or(|p| digits(p) && p.len() <= 5);
    (host_ok && port_ok).then_some(()).ok_or(EXPECTED)
}

/// The distribution spec's repository name: lowercase path components.
fn repository(s: &str) -> Result<(), &'static str> {
    (s.len() <= 255 && s.split('/').all(syntax::repository_component))
        .then_some(())
        .ok_or("a repository name (lowercase path, `library/debian`)")
}

fn image_tag(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    (!b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || b"._-".contains(&x)))
    .then_some(())
    .ok_or("a tag (letters, digits, `.`, `_`, `-`)")
}

fn media_type(s: &str) -> Result<(), &'static str> {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
    };
    s.split_once('/')
        .is_some_and(|(kind, sub)| token(kind) && token(sub))
        .then_some(())
        .ok_or("a media type (`application/vnd.oci.image.index.v1+json`)")
}

/// `os/architecture[/variant]`.
fn platform(s: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = s.split('/').collect();
    ((2..=3).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
        }))
    .then_some(())
    .ok_or("a platform (`linux/amd64`)")
}

/// Debian Policy §5.6.1: at least two of lowercase letters, digits, `+`,
/// `-`, `.`, starting with a letter or digit.
fn debian_name(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    (b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+-.".contains(&c)))
    .then_some(())
    .ok_or("a Debian package name (Policy §5.6.1)")
}

/// Debian Policy §5.6.12: `[epoch:]upstream[-revision]`; the epoch is a
/// number, the upstream version starts with a digit and may hold `-` only
/// when there is a revision, the revision has no `-`.
fn debian_version(s: &str) -> Result<(), &'static str> {
    const EXPECTED: &str = "a Debian version (Policy §5.6.12, `[epoch:]upstream[-revision]`)";
    let (epoch, rest) = match s.split_once(':') {
        Some((e, r)) => (Some(e), r),
        None => (None, s),
    };
    if epoch.is_some_and(|e| !digits(e)) {
        return Err(EXPECTED);
    }
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, Some(r)),
        None => (rest, None),
    };
    let upstream_ok = upstream.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && upstream.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b".+~".contains(&b) || (b == b'-' && revision.is_some())
        });
    let revision_ok = revision.is_none_or(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".+~".contains(&b))
    });
    (upstream_ok && revision_ok && s.len() <= 255)
        .then_some(())
        .ok_or(EXPECTED)
}

fn debian_arch(s: &str) -> Result<(), &'static str> {
    (!s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    .then_some(())
    .ok_or("a Debian architecture (`amd64`, `all`)")
}

/// A suite (`bookworm`, `bookworm-updates`, `bookworm-security`) or a
/// component (`main`, `non-free-firmware`, `updates/main`).
fn debian_dist_part(s: &str) -> Result<(), &'static str> {
    (!s.is_empty()
        && s.len() <= 128
        && s.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && !seg.starts_with('-')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+~-".contains(&b))
        }))
    .then_some(())
    .ok_or("a suite or component name (letters, digits, `.`, `_`, `+`, `~`, `-`)")
}

/// The path of a `.deb` in its archive (`pool/main/h/hello/hello_2.10-3_amd64.deb`).
fn deb_path(s: &str) -> Result<(), &'static str> {
    let segment = |seg: &str| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+~%:-".contains(&b))
    };
    (s.ends_with(".deb") && s.len() <= 1024 && s.split('/').all(segment))
        .then_some(())
        .ok_or("a path inside an apt archive (`pool/…/name_version_arch.deb`, no `..`)")
}

/// A wheel or sdist file name: one path component.
fn distribution_file(s: &str) -> Result<(), &'static str> {
    let ends = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz"];
    (s.len() <= 255
        && ends.iter().any(|e| s.ends_with(e) && s.len() > e.len())
        && !s.starts_with(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+!~-".contains(&b)))
    .then_some(())
    .ok_or("a wheel or sdist file name (one path component, no `/`)")
}

/// An `http`, `https` or `file` URL of RFC 3986 characters, without
/// credentials (`user:password@`): the lock is committed.
fn url(s: &str) -> Result<(), &'static str> {
    const EXPECTED: &str = "an http(s) or file URL without credentials";
    let (scheme, rest) = s.split_once("://").ok_or(EXPECTED)?;
    if !matches!(scheme, "http" | "https" | "file") {
        return Err(EXPECTED);
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') || (scheme != "file" && authority.is_empty()) {
        return Err(EXPECTED);
    }
    let rfc3986 = |b: u8| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
    (s.len() <= 4096 && s.bytes().all(rfc3986))
        .then_some(())
        .ok_or(EXPECTED)
}

fn index_name(s: &str) -> Result<(), &'static str> {
    (!s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
    .then_some(())
    .ok_or("an index name (letters, digits, `.`, `_`, `-`)")
}

/// A PEP 503 normalized name: what `mlr lock` writes.
fn pep503_name(s: &str) -> Result<(), &'static str> {
    (crate::manifest::pep508::is_name(s) && crate::package_name::normalize(s) == s)
        .then_some(())
        .ok_or("a normalized package name (PEP 503: lowercase, `-` between words)")
}

fn pep440_version(s: &str) -> Result<(), &'static str> {
    (s.len() <= 128 && crate::manifest::pep508::is_version(s))
        .then_some(())
        .ok_or("a PEP 440 version")
}

fn requirement(s: &str) -> Result<(), &'static str> {
    (!s.chars().any(char::is_control) && crate::manifest::pep508::Requirement::parse(s).is_ok())
        .then_some(())
        .ok_or("a PEP 508 requirement")
}

fn apt_request(s: &str) -> Result<(), &'static str> {
    syntax::apt_request(s)
        .map(|_| ())
        .map_err(|_| "an apt request (`name` or `name=version`)")
}

fn source_name(s: &str) -> Result<(), &'static str> {
    syntax::dir_name(s, "git source")
        .map_err(|_| "a git source name (letters, digits, `.`, `_`, `-`)")
}

fn git_url(s: &str) -> Result<(), &'static str> {
    syntax::git_url(s).map_err(|_| "a git URL without credentials")
}

fn git_rev(s: &str) -> Result<(), &'static str> {
    syntax::git_rev(s).map_err(|_| "a git revision")
}

/// A relative path that stays inside its root: no leading `/`, no `..`
/// or empty component, no backslash or control character.
fn relative_path(s: &str) -> Result<(), &'static str> {
    (!s.is_empty()
        && s.len() <= 1024
        && s.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && !seg.starts_with('-')
                && !seg.chars().any(|c| c.is_control() || c == '\\')
        }))
    .then_some(())
    .ok_or("a relative path inside the repository (no `..`, no leading `/`)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{AptPin, GitPin, PipArtifact, PipPin, render};

    fn hex(c: char, n: usize) -> String {
        c.to_string().repeat(n)
    }

    fn valid() -> Lockfile {
        let mut lock = Lockfile::new(format!("sha256:{}", hex('f', 64)));
        lock.apt.push(AptPin {
            name: "hello".into(),
            version: "2.10-3".into(),
            architecture: "amd64".into(),
            source: "http://deb.debian.org/debian".into(),
            suite: "bookworm".into(),
            component: "main".into(),
            filename: "pool/main/h/hello/hello_2.10-3_amd64.deb".into(),
            sha256: hex('a', 64),
            requested: Some("hello".into()),
            via: vec![],
        });
        lock.pip.push(PipPin {
            git: None,
            path: None,
            build_requires: None,
            name: "six".into(),
            version: "1.16.0".into(),
            index: "pypi".into(),
            requested: Some("six>=1.16; python_version < \"3.13\"".into()),
            via: vec![],
            artifacts: vec![PipArtifact {
                platform: "linux/amd64".into(),
                filename: "six-1.16.0-py2.py3-none-any.whl".into(),
                url: "https://files.example/packages/six-1.16.0-py2.py3-none-any.whl".into(),
                sha256: hex('b', 64),
                size: 1,
                sdist: false,
            }],
        });
        lock.git.push(GitPin {
            name: "flash-attention".into(),
            url: "https://example.com/fa.git".into(),
            requested: "v2.7.4".into(),
            commit: hex('1', 40),
            tree: hex('2', 40),
            submodules: vec![crate::lock::SubmodulePin {
                path: "csrc/cutlass".into(),
                commit: hex('3', 40),
            }],
        });
        lock
    }

    /// The error for `lock` as mlr writes it: message and `LINE:COL`.
    fn error(lock: &Lockfile) -> Option<(String, usize, usize)> {
        let text = render(lock);
        check(lock, &text, "ml.lock")
            .err()
            .map(|e| (e.message, e.line.unwrap_or(0), e.column.unwrap_or(0)))
    }

    fn line_of(lock: &Lockfile, needle: &str) -> usize {
        render(lock)
            .lines()
            .position(|l| l.contains(needle))
            .expect("needle in lock")
            + 1
    }

    #[test]
    fn a_lock_as_mlr_writes_it_passes() {
        assert_eq!(error(&valid()), None);
    }

    #[test]
    fn injections_found_by_the_probe_are_refused_where_they_stand() {
        let mut lock = valid();
        lock.apt[0].version = "1.0-1'\"$(echo pwned > /pwned-apt)\"'".into();
        let (message, line, column) = error(&lock).unwrap();
        assert!(message.starts_with("Debian version"), "{message}");
        assert_eq!((line, column), (line_of(&lock, "version = \"1.0-1"), 11));

        let mut lock = valid();
        lock.apt[0].name = "hello\nRUN touch /pwned".into();
        let (message, ..) = error(&lock).unwrap();
        assert!(message.starts_with("Debian package name"), "{message}");

        let mut lock = valid();
        lock.python = Some(crate::lock::PythonPin::distro(
            "3.11'; import os; os.system('id'); '".into(),
            "2.36".into(),
            "debian 12".into(),
        ));
        let (message, line, column) = error(&lock).unwrap();
        assert!(message.starts_with("Python version"), "{message}");
        assert_eq!((line, column), (line_of(&lock, "[python]") + 1, 11));

        // A multi-byte fingerprint once panicked in the staleness check.
        let mut lock = valid();
        lock.fingerprint = "sha256:0123456789aé".into();
        let (message, line, column) = error(&lock).unwrap();
        assert!(message.starts_with("fingerprint"), "{message}");
        assert_eq!((line, column), (4, 15));
    }

    #[test]
    fn nested_values_are_located_in_their_inline_tables() {
        let mut lock = valid();
        lock.pip[0].artifacts[0].url = "https://user:secret@files.example/six.whl".into();
        let (message, line, column) = error(&lock).unwrap();
        assert!(message.starts_with("URL"), "{message}");
        let text = render(&lock);
        let row = &text.lines().nth(line - 1).unwrap();
        assert!(row[column - 1..].starts_with("\"https://user:"), "{row}");

        let mut lock = valid();
        lock.git[0].submodules[0].path = "../../../tmp/x".into();
        let (message, line, _) = error(&lock).unwrap();
        assert!(message.starts_with("submodule path"), "{message}");
        assert_eq!(line, line_of(&lock, "../../../tmp/x"));
    }

    #[test]
    fn what_the_probe_got_past_verify_is_refused() {
        type Edit = Box<dyn Fn(&mut Lockfile)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("commit", Box::new(|l| l.git[0].commit = hex('1', 12))),
            (
                "archive path",
                Box::new(|l| {
                    l.apt[0].filename = "pool/../../../etc/hello_2.10-3_amd64.deb".into();
                }),
            ),
            (
                "file name",
                Box::new(|l| {
                    l.pip[0].artifacts[0].filename = "../../six-1.16.0-py3-none-any.whl".into();
                }),
            ),
            (
                "URL",
                Box::new(|l| l.pip[0].artifacts[0].url = "ftp://x/six.whl".into()),
            ),
            (
                "apt source",
                Box::new(|l| l.apt[0].source = "http://h/deb ian".into()),
            ),
            ("git URL", Box::new(|l| l.git[0].url = "-uhttps://x".into())),
            ("sha256", Box::new(|l| l.apt[0].sha256 = hex('A', 64))),
            ("package name", Box::new(|l| l.pip[0].name = "Six".into())),
            (
                "version",
                Box::new(|l| l.pip[0].version = "1.16.0$(id)".into()),
            ),
            (
                "`[[pip]]` `six` appears twice",
                Box::new(|l| {
                    let mut twin = l.pip[0].clone();
                    twin.artifacts[0].sha256 = hex('c', 64);
                    l.pip.push(twin);
                }),
            ),
            (
                "`[[git]]` `flash-attention` appears twice",
                Box::new(|l| {
                    let twin = l.git[0].clone();
                    l.git.push(twin);
                }),
            ),
        ];
        for (expected, edit) in cases {
            let mut lock = valid();
            edit(&mut lock);
            let (message, line, column) =
                error(&lock).unwrap_or_else(|| panic!("{expected}: accepted"));
            assert!(message.starts_with(expected), "{expected}: {message}");
            assert!(line > 0 && column > 0, "{expected}: not located");
        }
    }

    #[test]
    fn grammars_accept_what_real_archives_and_indexes_use() {
        for v in [
            "2.10-3",
            "1:2.39.2-1.1",
            "1.2.3~rc1+dfsg-0ubuntu1",
            "0.1",
            "2.36-9+deb12u4",
        ] {
            assert_eq!(debian_version(v), Ok(()), "{v}");
        }
        for v in ["a1.0", "1.0-", ":1.0", "1.0 -1", "x:1.0", "1.0-1'"] {
            assert!(debian_version(v).is_err(), "{v}");
        }
        for n in ["libstdc++6", "python3.11", "g++-12", "0ad"] {
            assert_eq!(debian_name(n), Ok(()), "{n}");
        }
        for n in ["a", "Hello", "-x", "x y"] {
            assert!(debian_name(n).is_err(), "{n}");
        }
        for v in [
            "2.5.1+cu121",
            "1!2.0",
            "1.0rc1",
            "2.1.0.post1",
            "0.0.1.dev3",
        ] {
            assert_eq!(pep440_version(v), Ok(()), "{v}");
        }
        for f in [
            "torch-2.5.1+cu121-cp311-cp311-linux_x86_64.whl",
            "pkg-1.0.tar.gz",
        ] {
            assert_eq!(distribution_file(f), Ok(()), "{f}");
        }
        for r in ["nvcr.io", "127.0.0.1:5000", "[::1]:5000", "localhost"] {
            assert_eq!(registry_host(r), Ok(()), "{r}");
        }
        for r in ["nvcr.io/x", "h:port", "-h", "h:5000\nRUN"] {
            assert!(registry_host(r).is_err(), "{r}");
        }
        assert_eq!(repository("nvidia/cuda"), Ok(()));
        assert_eq!(repository("library/python_3.11-x"), Ok(()));
        assert!(repository("Nvidia/cuda").is_err());
        assert_eq!(git_object(&hex('a', 64)), Ok(()));
        assert_eq!(url("file:///srv/apt"), Ok(()));
        assert_eq!(os_release("ubuntu 22.04"), Ok(()));
        assert!(os_release("debian 12\nRUN x").is_err());
    }
}
