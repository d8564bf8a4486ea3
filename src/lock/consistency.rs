//! The lock's internal consistency, checked offline: values of one entry
//! that are each well-formed but disagree with each other, as a hand edit
//! leaves them (a pip version that is not its wheel's, an apt version that
//! is not its `.deb`'s). Each is a [`Finding::Inconsistent`] located at
//! `ml.lock:LINE:COL`.
//!
//! Values that break their own grammar and duplicate entries are read
//! errors, not findings.

use super::read::ReadLock;
use super::satisfies::{Finding, Kind};
use crate::package_name::normalize;

/// Every disagreement inside `read`'s entries.
pub fn check(read: &ReadLock) -> Vec<Finding> {
    let mut out = Vec::new();
    let locate = read.locator();
    for (i, pin) in read.lock.pip.iter().enumerate() {
        for artifact in &pin.artifacts {
            let detail = match wheel_or_sdist(&artifact.filename) {
                Some((name, _)) if normalize(&name) != pin.name => Some(format!(
                    "the file `{}` is not a file of `{}`",
                    artifact.filename, pin.name
                )),
                Some((_, version)) if !same_version(&version, &pin.version) => Some(format!(
                    "version `{}` disagrees with its file `{}` (version `{version}`)",
                    pin.version, artifact.filename
                )),
                None => Some(format!(
                    "`{}` is neither a wheel nor an sdist file name",
                    artifact.filename
                )),
                _ => None,
            };
            let url_file = url_file_name(&artifact.url);
            let detail = detail.or_else(|| {
                (url_file != artifact.filename).then(|| {
                    format!(
                        "the file `{}` disagrees with its URL, which names `{url_file}`",
                        artifact.filename
                    )
                })
            });
            if let Some(detail) = detail {
                out.push(Finding::Inconsistent {
                    kind: Kind::Pip,
                    name: pin.name.clone(),
                    location: locate("pip", i, "version"),
                    detail,
                });
                break;
            }
        }
    }
    for (i, pin) in read.lock.apt.iter().enumerate() {
        let file = pin.filename.rsplit('/').next().unwrap_or(&pin.filename);
        let mut parts = file.strip_suffix(".deb").unwrap_or("").splitn(3, '_');
        let (name, version, arch) = (parts.next(), parts.next(), parts.next());
        // Pool file names leave out the epoch (`1:2.3-1` → `_2.3-1_`).
        let unepoched = pin
            .version
            .split_once(':')
            .map_or(&*pin.version, |(_, v)| v);
        let decoded = version.map(|v| v.replace("%3a", ":").replace("%3A", ":"));
        let agrees = name == Some(pin.name.as_str())
            && arch == Some(pin.architecture.as_str())
            && decoded
                .as_deref()
                .is_some_and(|v| v == unepoched || v == pin.version);
        if !agrees {
            out.push(Finding::Inconsistent {
                kind: Kind::Apt,
                name: pin.name.clone(),
                location: locate("apt", i, "version"),
                detail: format!(
                    "version `{}` ({}) disagrees with its file `{}`",
                    pin.version, pin.architecture, pin.filename
                ),
            });
        }
    }
    out
}

/// `(name, version)` of a wheel (`name-version(-build)?-py-abi-plat.whl`)
/// or an sdist (`name-version.tar.gz`, `.zip`, ...).
fn wheel_or_sdist(filename: &str) -> Option<(String, String)> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let mut parts = stem.splitn(3, '-');
        let name = parts.next()?;
        let version = parts.next()?;
        parts.next()?;
        return Some((name.to_string(), version.to_string()));
    }
    let stem = [".tar.gz", ".tar.bz2", ".tar.xz", ".zip", ".tgz", ".tar"]
        .iter()
        .find_map(|ext| filename.strip_suffix(ext))?;
    // sdist names may hold `-` (`python-dateutil-2.8.2`): the version
    // starts at the last `-` that a digit follows.
    let at = stem
        .rmatch_indices('-')
        .map(|(i, _)| i)
        .find(|i| stem[i + 1..].starts_with(|c: char| c.is_ascii_digit()))?;
    Some((stem[..at].to_string(), stem[at + 1..].to_string()))
}

/// The file a URL names: its last path segment, percent-decoded, without
/// query or fragment.
pub fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or(path);
    percent_decode(last)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Two spellings of one PEP 440 version, as file names and resolvers write
/// them: case, a leading `v`, `_` for `-`, and the separators and long
/// forms of pre-, post- and dev-release markers do not matter.
pub(crate) fn same_version(a: &str, b: &str) -> bool {
    canonical_version(a) == canonical_version(b)
}

fn canonical_version(v: &str) -> String {
    let v = v.trim().to_ascii_lowercase().replace('_', "-");
    let v = v.strip_prefix('v').unwrap_or(&v).to_string();
    let (public, local) = match v.split_once('+') {
        Some((p, l)) => (p.to_string(), Some(l.replace(['-', '_'], "."))),
        None => (v, None),
    };
    let mut s = public;
    for (long, short) in [
        ("alpha", "a"),
        ("beta", "b"),
        ("preview", "rc"),
        ("pre", "rc"),
        ("c", "rc"),
        ("rev", "post"),
        ("r", "post"),
    ] {
        s = replace_word(&s, long, short);
    }
    // Separators before a marker go: `1.0-rc1`, `1.0.rc1` → `1.0rc1`.
    for marker in ["a", "b", "rc", "post", "dev"] {
        for sep in ["-", "."] {
            s = s.replace(&format!("{sep}{marker}"), marker);
        }
    }
    // `1.0-1` is the implicit post-release `1.0.post1`.
    if let Some((head, tail)) = s.split_once('-') {
        if tail.chars().all(|c| c.is_ascii_digit()) {
            s = format!("{head}post{tail}");
        }
    }
    let s = s.replace("post", ".post").replace("dev", ".dev");
    let s = match local {
        Some(l) => format!("{s}+{l}"),
        None => s,
    };
    // Numbers are numbers: `nv25.01` is `nv25.1`, `1.010` is `1.10`.
    let mut out = String::with_capacity(s.len());
    let mut digits = String::new();
    for c in s.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            let trimmed = digits.trim_start_matches('0');
            out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
            digits.clear();
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// `s` with `word` replaced where it stands between a digit or separator
/// and a digit or the end (`1.0alpha1` → `1.0a1`), never inside `post`.
fn replace_word(s: &str, word: &str, with: &str) -> String {
    let separator = |c: char| c.is_ascii_digit() || c == '.' || c == '-';
    let mut out = String::new();
    let mut i = 0;
    while let Some(found) = s[i..].find(word) {
        let at = i + found;
        let bounded = s[..at].chars().last().is_some_and(separator)
            && s[at + word.len()..].chars().next().is_none_or(separator);
        out.push_str(&s[i..at]);
        out.push_str(if bounded { with } else { word });
        i = at + word.len();
    }
    out.push_str(&s[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_their_name_and_version() {
        assert_eq!(
            wheel_or_sdist("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl"),
            Some(("numpy".into(), "1.26.4".into()))
        );
        assert_eq!(
            wheel_or_sdist("torch-2.5.1+cu124-cp311-cp311-linux_x86_64.whl"),
            Some(("torch".into(), "2.5.1+cu124".into()))
        );
        assert_eq!(
            wheel_or_sdist("python-dateutil-2.8.2.tar.gz"),
            Some(("python-dateutil".into(), "2.8.2".into()))
        );
        assert_eq!(
            wheel_or_sdist("PyYAML-5.4.1.tar.gz"),
            Some(("PyYAML".into(), "5.4.1".into()))
        );
        assert_eq!(wheel_or_sdist("README"), None);
    }

    #[test]
    fn spellings_of_one_version_agree_and_others_do_not() {
        assert!(same_version("2.6.0a0+nv25.01", "2.6.0a0+nv25.1"));
        assert!(same_version("1.010", "1.10"));
        assert!(!same_version("1.10", "1.1"));
        assert!(!same_version("2.0.10", "2.0.1"));
        for (a, b) in [
            ("1.0rc1", "1.0-rc1"),
            ("1.0rc1", "1.0.RC1"),
            ("1.0a1", "1.0alpha1"),
            ("1.0b2", "1.0-beta2"),
            ("1.0.post1", "1.0-1"),
            ("1.0.post1", "1.0post1"),
            ("1.0.dev0", "1.0dev0"),
            ("2.5.1+cu124", "2.5.1+CU124"),
            ("1.26.4", "v1.26.4"),
        ] {
            assert!(same_version(a, b), "{a} = {b}");
        }
        for (a, b) in [
            ("1.26.3", "1.26.4"),
            ("2.5.1+cu124", "2.5.1+cu121"),
            ("1.0", "1.0rc1"),
            ("1.0.post1", "1.0.post2"),
        ] {
            assert!(!same_version(a, b), "{a} != {b}");
        }
    }

    #[test]
    fn urls_name_their_file() {
        assert_eq!(
            url_file_name(
                "https://files.example/p/torch-2.5.1%2Bcu124-cp311-cp311-linux_x86_64.whl#sha256=00"
            ),
            "torch-2.5.1+cu124-cp311-cp311-linux_x86_64.whl"
        );
    }
}
