//! OS releases: glibc (the manylinux level of the wheels that run there)
//! and the distribution's `python3`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::version::release;
use super::{Compat, source_problems};

/// One OS release (`data/os.toml`), keyed by `/etc/os-release` `ID` and
/// `VERSION_ID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OsRow {
    /// `debian`, `ubuntu`, `rhel`, `rocky`, `centos`
    pub id: String,
    /// `12`, `22.04`; a major-only `8` also matches `8.10`.
    pub version_id: String,
    pub codename: Option<String>,
    /// How `nvidia/cuda` tags spell this OS: `ubuntu22.04`, `ubi9`.
    pub image_os: Option<String>,
    /// glibc `MAJOR.MINOR`
    pub glibc: String,
    /// The `python3` package, `MAJOR.MINOR`
    pub python3: String,
    pub source: Option<String>,
    #[serde(default = "super::default_true")]
    pub verified: bool,
    pub note: Option<String>,
}

impl OsRow {
    pub(crate) fn same_key(a: &OsRow, b: &OsRow) -> bool {
        a.id == b.id && a.version_id == b.version_id
    }

    fn matches(&self, id: &str, version_id: &str) -> bool {
        let id = id.trim().trim_matches('"');
        let version_id = version_id.trim().trim_matches('"');
        if !self.id.eq_ignore_ascii_case(id) {
            return false;
        }
        self.version_id == version_id
            || (!self.version_id.contains('.')
                && version_id.split('.').next() == Some(self.version_id.as_str()))
    }

    pub(crate) fn problems(&self) -> Vec<String> {
        let what = format!("os {} {}", self.id, self.version_id);
        let mut out = Vec::new();
        for (field, v) in [("glibc", &self.glibc), ("python3", &self.python3)] {
            if release(v).is_none_or(|r| r.len() != 2) {
                out.push(format!("{what}: {field} `{v}` is not `MAJOR.MINOR`"));
            }
        }
        if release(&self.version_id).is_none() {
            out.push(format!("{what}: `{}` is not a version", self.version_id));
        }
        out.extend(source_problems(&what, &self.source));
        out
    }
}

impl Compat {
    fn os_row(&self, id: &str, version_id: &str) -> Option<&OsRow> {
        // An exact VERSION_ID row wins over a major-only one.
        let version_id = version_id.trim().trim_matches('"');
        self.os
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(id.trim()) && r.version_id == version_id)
            .or_else(|| self.os.iter().find(|r| r.matches(id, version_id)))
    }

    /// glibc of an OS release: (`debian`, `12`) -> (2, 36).
    pub fn os_glibc(&self, id: &str, version_id: &str) -> Option<(u32, u32)> {
        let (major, minor) = self.os_row(id, version_id)?.glibc.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    }

    /// The distribution's `python3`: (`debian`, `12`) -> `3.11`.
    pub fn os_python(&self, id: &str, version_id: &str) -> Option<&str> {
        self.os_row(id, version_id).map(|r| r.python3.as_str())
    }

    /// The `/etc/os-release` (`ID`, `VERSION_ID`) of an `nvidia/cuda` tag's OS
    /// part: `ubuntu22.04` -> (`ubuntu`, `22.04`), `ubi9` -> (`rhel`, `9`).
    pub fn os_of_image_os(&self, image_os: &str) -> Option<(&str, &str)> {
        self.os
            .iter()
            .find(|r| r.image_os.as_deref() == Some(image_os.trim()))
            .map(|r| (r.id.as_str(), r.version_id.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_and_python_of_the_common_bases() {
        let c = Compat::builtin();
        let cases = [
            ("debian", "11", (2, 31), "3.9"),
            ("debian", "12", (2, 36), "3.11"),
            ("debian", "13", (2, 41), "3.13"),
            ("ubuntu", "20.04", (2, 31), "3.8"),
            ("ubuntu", "22.04", (2, 35), "3.10"),
            ("ubuntu", "24.04", (2, 39), "3.12"),
            ("rhel", "8.10", (2, 28), "3.6"),
            ("rocky", "9.4", (2, 34), "3.9"),
        ];
        for (id, ver, glibc, py) in cases {
            assert_eq!(c.os_glibc(id, ver), Some(glibc), "{id} {ver}");
            assert_eq!(c.os_python(id, ver), Some(py), "{id} {ver}");
        }
        assert_eq!(c.os_glibc("\"debian\"", "\"12\""), Some((2, 36)));
        assert_eq!(c.os_glibc("ubuntu", "22"), None);
        assert_eq!(c.os_glibc("alpine", "3.20"), None);
    }

    #[test]
    fn image_os_names_map_to_os_release() {
        let c = Compat::builtin();
        assert_eq!(c.os_of_image_os("ubuntu22.04"), Some(("ubuntu", "22.04")));
        assert_eq!(c.os_of_image_os("ubi9"), Some(("rhel", "9")));
        assert_eq!(c.os_of_image_os("rockylinux8"), Some(("rocky", "8")));
        assert_eq!(c.os_of_image_os("plan9"), None);
        // Every OS a CUDA tag can have is known here, so its glibc is too.
        for row in &c.cuda_image {
            for os in &row.os {
                let (id, ver) = c.os_of_image_os(os).unwrap_or_else(|| panic!("{os}"));
                assert!(c.os_glibc(id, ver).is_some(), "{os}");
            }
        }
    }
}
