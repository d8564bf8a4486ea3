//! The small version grammar the compatibility tables need: dotted release
//! numbers with an optional PEP 440 local part (`2.5.1+cu121`), CUDA versions
//! (`12.4`, `12.4.1`, `cu124`) and Python `MAJOR.MINOR`.

use std::cmp::Ordering;
use std::fmt;

/// The numeric release parts of a version, local part dropped:
/// `2.5.1+cu121` -> `[2, 5, 1]`. `None` when a part is not a number.
pub(crate) fn release(version: &str) -> Option<Vec<u64>> {
    let (public, _) = split_local(version);
    if public.is_empty() {
        return None;
    }
    public.split('.').map(|p| p.parse().ok()).collect()
}

/// Orders versions by their release numbers, trailing zeros ignored
/// (`2.5` == `2.5.0`); unparsable versions sort first, then by text.
pub(crate) fn cmp_versions(a: &str, b: &str) -> Ordering {
    match (release(a), release(b)) {
        (Some(x), Some(y)) => cmp_release(&x, &y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

fn cmp_release(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let x = a.get(i).copied().unwrap_or(0);
            let y = b.get(i).copied().unwrap_or(0);
            x.cmp(&y)
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Whether two versions name the same release (`2.5` and `2.5.0` do).
/// Without allocating: the tables ask this of every row, many times over
/// when they build hints.
pub(crate) fn same_release(a: &str, b: &str) -> bool {
    let (a, _) = split_local(a);
    let (b, _) = split_local(b);
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let number = |part: Option<&str>| match part {
        None => Some(0),
        Some(p) => p.parse::<u64>().ok(),
    };
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    let mut equal = true;
    loop {
        let (p, q) = (x.next(), y.next());
        if p.is_none() && q.is_none() {
            return equal;
        }
        match (number(p), number(q)) {
            (Some(p), Some(q)) => equal &= p == q,
            // A part that is not a number: not a release at all.
            _ => return false,
        }
    }
}

/// `2.5.1+cu121` -> (`2.5.1`, `Some("cu121")`).
pub(crate) fn split_local(version: &str) -> (&str, Option<&str>) {
    match version.split_once('+') {
        Some((public, local)) => (public, Some(local)),
        None => (version, None),
    }
}

/// A CUDA version as written in `[cuda] version`: `12.4` or `12.4.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CudaVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: Option<u32>,
}

impl CudaVersion {
    /// `12`, `12.4` or `12.4.1`; a bare major reads as `.0`.
    pub fn parse(text: &str) -> Option<CudaVersion> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        let patch = match parts.next() {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(CudaVersion {
            major,
            minor,
            patch,
        })
    }

    /// `cu124` -> 12.4, `cu118` -> 11.8, `cu130` -> 13.0, `cu92` -> 9.2.
    pub fn from_local(local: &str) -> Option<CudaVersion> {
        let digits = local.strip_prefix("cu")?;
        if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (major, minor) = digits.split_at(digits.len() - 1);
        Some(CudaVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
            patch: None,
        })
    }

    /// The PyTorch local version of this CUDA: 12.4 -> `cu124`.
    pub fn local(self) -> String {
        format!("cu{}{}", self.major, self.minor)
    }

    /// `MAJOR.MINOR`, the key of every CUDA table.
    pub fn minor_version(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    pub fn same_minor(self, other: CudaVersion) -> bool {
        self.major == other.major && self.minor == other.minor
    }
}

impl fmt::Display for CudaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{p}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

/// `3.11` or `3.11.4` -> `3.11`.
pub(crate) fn python_minor(python: &str) -> Option<String> {
    let rel = release(python.trim())?;
    match rel.as_slice() {
        [major, minor, ..] => Some(format!("{major}.{minor}")),
        _ => None,
    }
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn join_or<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let head: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} or {}", head.join(", "), last.as_ref())
        }
    }
}

/// Names the `selected` entries of the sorted list `all` compactly: runs of
/// three or more neighbours read `first to last`.
pub(crate) fn describe_subset(all: &[&str], selected: &[&str]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, parts: &mut Vec<String>| {
        if run.len() >= 3 {
            parts.push(format!("{} to {}", run[0], run[run.len() - 1]));
        } else {
            parts.extend(run.iter().map(|s| (*s).to_owned()));
        }
        run.clear();
    };
    for item in all {
        if selected.contains(item) {
            run.push(item);
        } else {
            flush(&mut run, &mut parts);
        }
    }
    flush(&mut run, &mut parts);
    join_or(&parts)
}

pub(crate) use crate::package_name::normalize as normalize_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_compare_numerically_without_trailing_zeros() {
        assert!(same_release("2.5", "2.5.0"));
        assert!(same_release("2.5.1+cu121", "2.5.1"));
        assert!(!same_release("2.5.1", "2.5.10"));
        assert!(same_release("2.5.0.0", "2.5"));
        assert!(!same_release("2.5", "2.5.x"));
        assert!(!same_release("2.x", "2.x"));
        assert!(!same_release("", "0"));
        assert_eq!(cmp_versions("2.10.0", "2.9.1"), Ordering::Greater);
        assert_eq!(cmp_versions("0.9.0.1", "0.9.0"), Ordering::Greater);
        assert_eq!(release("2.x"), None);
    }

    #[test]
    fn cuda_versions_parse_from_both_spellings() {
        let v = CudaVersion::parse("12.4.1").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (12, 4, Some(1)));
        assert_eq!(v.local(), "cu124");
        assert_eq!(v.minor_version(), "12.4");
        assert_eq!(
            CudaVersion::from_local("cu118").unwrap().to_string(),
            "11.8"
        );
        assert_eq!(
            CudaVersion::from_local("cu130").unwrap().to_string(),
            "13.0"
        );
        assert_eq!(CudaVersion::from_local("cu92").unwrap().to_string(), "9.2");
        assert_eq!(CudaVersion::from_local("cpu"), None);
        assert_eq!(CudaVersion::parse("12.x"), None);
        assert_eq!(CudaVersion::parse("1.2.3.4"), None);
    }

    #[test]
    fn helpers() {
        assert_eq!(python_minor("3.11.4").as_deref(), Some("3.11"));
        assert_eq!(python_minor("3"), None);
        assert_eq!(join_or(&["a", "b", "c"]), "a, b or c");
        let all = ["1", "2", "3", "4", "5", "6"];
        assert_eq!(describe_subset(&all, &["2", "3", "4", "6"]), "2 to 4 or 6");
        assert_eq!(describe_subset(&all, &["1", "3"]), "1 or 3");
        assert_eq!(normalize_name("Nvidia_CUDNN.cu12"), "nvidia-cudnn-cu12");
    }
}
