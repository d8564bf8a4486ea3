//! Python distribution names, normalized once (PEP 503): the one type every
//! stage compares names with, so `Foo_Bar`, `foo.bar` and `foo-bar` are one
//! package everywhere.

use std::fmt;

/// A PEP 503 normalized distribution name: lowercase, each run of `-`, `_`
/// and `.` as one `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(String);

impl PackageName {
    /// Normalize a name as written (`re.sub(r"[-_.]+", "-", name).lower()`).
    pub fn new(raw: &str) -> PackageName {
        PackageName(normalize(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for PackageName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for PackageName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for PackageName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl AsRef<str> for PackageName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// PEP 503 normalization of a name as written; surrounding whitespace is
/// not part of a name.
pub fn normalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The distribution name a PEP 508 requirement starts with, normalized
/// (`Torch==2.5.1` → `torch`, `mycorp_utils ; python_version>='3.9'` →
/// `mycorp-utils`).
pub fn requirement_name(requirement: &str) -> PackageName {
    let requirement = requirement.trim_start();
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .unwrap_or(requirement.len());
    PackageName::new(&requirement[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_as_pep_503_says() {
        assert_eq!(normalize("Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(normalize("Nvidia_CUDNN.cu12"), "nvidia-cudnn-cu12");
        // PEP 503's regex keeps a leading separator as `-`.
        assert_eq!(normalize("_private"), "-private");
        assert_eq!(normalize(" numpy "), "numpy");
        assert_eq!(requirement_name("Torch==2.5.1+cu124"), "torch");
        assert_eq!(
            requirement_name("mycorp_utils ; python_version>='3.9'"),
            "mycorp-utils"
        );
    }
}
