//! Wheel filename tags (PEP 425/427, manylinux PEP 600) and which wheel
//! suits a target interpreter and platform best.

/// What an image's Python can install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// CPython `(3, 11)`.
    pub python: (u32, u32),
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
    /// glibc of the image, `(2, 36)`.
    pub glibc: (u32, u32),
}

pub use crate::manifest::marker::python_machine as machine;

/// Lower is better; `None` when the wheel cannot be installed on `target`.
pub fn rank(filename: &str, target: &Target) -> Option<u32> {
    let stem = filename.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() < 5 {
        return None;
    }
    let n = parts.len();
    let (pys, abis, plats) = (parts[n - 3], parts[n - 2], parts[n - 1]);
    let mut best: Option<u32> = None;
    for py in pys.split('.') {
        for abi in abis.split('.') {
            let Some(interp) = interpreter_rank(py, abi, target) else {
                continue;
            };
            for plat in plats.split('.') {
                if let Some(p) = platform_rank(plat, target) {
                    let r = interp * 1000 + p;
                    best = Some(best.map_or(r, |b| b.min(r)));
                }
            }
        }
    }
    best
}

/// The manylinux levels uv's `--python-platform` names (uv 0.13).
const UV_MANYLINUX: &[u32] = &[17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40];

impl Target {
    /// uv's `--python-platform` for this target: the newest manylinux level
    /// uv knows that the image's glibc runs. uv names only some levels, so
    /// for glibc 2.23 it resolves at `manylinux_2_17`; mlr then ranks the
    /// artifacts against the real glibc. `None` below glibc 2.17.
    pub fn uv_platform(&self) -> Option<String> {
        let (major, minor) = self.glibc;
        let level = if major > 2 {
            UV_MANYLINUX.last().copied()
        } else {
            UV_MANYLINUX.iter().rev().find(|l| **l <= minor).copied()
        }?;
        Some(format!("{}-manylinux_2_{level}", self.arch))
    }
}

fn interpreter_rank(py: &str, abi: &str, t: &Target) -> Option<u32> {
    let (major, minor) = t.python;
    let cp = format!("cp{major}{minor}");
    // Before 3.8 the default build's ABI tag carries pymalloc's `m`.
    let old_abi = (major, minor) < (3, 8) && abi == format!("{cp}m");
    match abi {
        _ if py == cp && (abi == cp || old_abi) => Some(0),
        "abi3" => {
            let v: u32 = py.strip_prefix(&format!("cp{major}"))?.parse().ok()?;
            minor.checked_sub(v).map(|d| 1 + d)
        }
        "none" => {
            if py == cp {
                Some(100)
            } else if py == format!("py{major}{minor}") {
                Some(101)
            } else if py == format!("py{major}") {
                Some(103)
            } else {
                let v: u32 = py.strip_prefix(&format!("py{major}"))?.parse().ok()?;
                (v < minor).then_some(102)
            }
        }
        _ => None,
    }
}

fn platform_rank(plat: &str, t: &Target) -> Option<u32> {
    if plat == "any" {
        return Some(999);
    }
    let arch = &t.arch;
    let glibc = |maj: u32, min: u32| -> Option<u32> {
        ((maj, min) <= t.glibc).then(|| 100u32.saturating_sub(min))
    };
    if let Some(rest) = plat.strip_prefix("manylinux_") {
        let (ver, a) = rest.split_once(&format!("_{arch}"))?;
        if !a.is_empty() {
            return None;
        }
        let (maj, min) = ver.split_once('_')?;
        return glibc(maj.parse().ok()?, min.parse().ok()?);
    }
    for (legacy, min) in [
        ("manylinux2014", 17),
        ("manylinux2010", 12),
        ("manylinux1", 5),
    ] {
        if plat == format!("{legacy}_{arch}") {
            return glibc(2, min);
        }
    }
    if plat == format!("linux_{arch}") {
        return Some(500);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Target {
        Target {
            python: (3, 11),
            arch: "x86_64".into(),
            glibc: (2, 36),
        }
    }

    #[test]
    fn picks_the_most_specific_compatible_wheel() {
        let t = t();
        let specific = rank(
            "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            &t,
        );
        let abi3 = rank(
            "cn-3.5.2-cp37-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
            &t,
        );
        let pure = rank("requests-2.32.0-py3-none-any.whl", &t);
        assert!(specific.unwrap() < abi3.unwrap() && abi3.unwrap() < pure.unwrap());
        assert!(
            rank("x-1-cp311-cp311-manylinux_2_17_x86_64.whl", &t)
                < rank("x-1-cp311-cp311-manylinux_2_12_x86_64.whl", &t)
        );
        assert!(rank("torch-2.5.1+cu124-cp311-cp311-linux_x86_64.whl", &t).is_some());
    }

    #[test]
    fn rejects_what_cannot_install() {
        let t = t();
        assert_eq!(rank("x-1-cp312-cp312-manylinux_2_17_x86_64.whl", &t), None);
        assert_eq!(
            rank("x-1-cp311-cp311-manylinux_2_39_x86_64.whl", &t),
            None,
            "glibc too new"
        );
        assert_eq!(rank("x-1-cp311-cp311-manylinux_2_17_aarch64.whl", &t), None);
        assert_eq!(rank("x-1-cp311-cp311-musllinux_1_1_x86_64.whl", &t), None);
        assert_eq!(rank("x-1-cp311-cp311-win_amd64.whl", &t), None);
        assert_eq!(rank("x-1-cp312-abi3-manylinux_2_17_x86_64.whl", &t), None);
        assert_eq!(rank("not-a-wheel.tar.gz", &t), None);
    }

    #[test]
    fn uv_is_asked_at_the_newest_level_it_names_that_the_glibc_runs() {
        let at = |glibc| Target { glibc, ..t() }.uv_platform();
        assert_eq!(at((2, 36)).as_deref(), Some("x86_64-manylinux_2_36"));
        assert_eq!(at((2, 23)).as_deref(), Some("x86_64-manylinux_2_17"));
        assert_eq!(at((2, 27)).as_deref(), Some("x86_64-manylinux_2_17"));
        assert_eq!(at((2, 30)).as_deref(), Some("x86_64-manylinux_2_28"));
        assert_eq!(at((2, 41)).as_deref(), Some("x86_64-manylinux_2_40"));
        assert_eq!(at((2, 12)), None);
    }

    #[test]
    fn old_glibc_and_old_python_tags() {
        let t = Target {
            python: (3, 6),
            arch: "x86_64".into(),
            glibc: (2, 23),
        };
        assert!(
            rank(
                "x-1-cp36-cp36m-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                &t
            )
            .is_some()
        );
        assert!(rank("x-1-cp36-cp36m-manylinux1_x86_64.whl", &t).is_some());
        assert_eq!(rank("x-1-py3-none-manylinux_2_28_x86_64.whl", &t), None);
        assert!(
            rank("x-1-py3-none-manylinux_2_17_x86_64.whl", &t) < rank("x-1-py3-none-any.whl", &t)
        );
    }
}
