//! CUDA itself: the minimum Linux driver per CUDA version, and the
//! `nvidia/cuda` image tag for a CUDA version, cuDNN, flavor and OS.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::torch::parse_cuda;
use super::version::{CudaVersion, cmp_versions, describe_subset, join_or, release};
use super::{Compat, Incompatible, source_problems};

/// CUDA -> driver (`data/cuda_driver.toml`). `cuda` is a major (`12`: every
/// 12.x, under minor-version compatibility) or a minor (`12.4`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriverRow {
    pub cuda: String,
    /// The oldest driver that runs this CUDA.
    pub min_driver: Option<String>,
    /// The driver shipped with this minor's first toolkit release.
    pub toolkit_driver: Option<String>,
    pub source: Option<String>,
    #[serde(default = "super::default_true")]
    pub verified: bool,
    pub note: Option<String>,
}

/// The `nvidia/cuda` tags of one CUDA minor (`data/cuda_image.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CudaImageRow {
    /// `12.4`
    pub cuda: String,
    /// The version written in tags: `12.4.1` (`10.2` before CUDA 11.1).
    pub version: String,
    /// cuDNN majors with `-runtime`/`-devel` images.
    #[serde(default)]
    pub cudnn: Vec<String>,
    /// `cudnn8` (true) or NVIDIA's newer plain `cudnn` (false).
    #[serde(default = "super::default_true")]
    pub cudnn_digit: bool,
    /// OS flavours: `ubuntu22.04`, `ubi9`, `rockylinux9`.
    pub os: Vec<String>,
    pub source: Option<String>,
    #[serde(default = "super::default_true")]
    pub verified: bool,
    pub note: Option<String>,
}

/// Which `nvidia/cuda` image: CUDA runtime only, plus libraries, or plus
/// the compiler (`nvcc`) and headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "CudaFlavor")]
pub enum Flavor {
    Base,
    Runtime,
    Devel,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Base => "base",
            Flavor::Runtime => "runtime",
            Flavor::Devel => "devel",
        }
    }
}

impl DriverRow {
    pub(crate) fn same_key(a: &DriverRow, b: &DriverRow) -> bool {
        a.cuda.trim() == b.cuda.trim()
    }

    pub(crate) fn problems(&self) -> Vec<String> {
        let what = format!("driver for CUDA {}", self.cuda);
        let mut out = Vec::new();
        if release(&self.cuda).is_none_or(|r| r.len() > 2) {
            out.push(format!(
                "{what}: `{}` is not `MAJOR` or `MAJOR.MINOR`",
                self.cuda
            ));
        }
        for d in [&self.min_driver, &self.toolkit_driver]
            .into_iter()
            .flatten()
        {
            if release(d).is_none() {
                out.push(format!("{what}: `{d}` is not a driver version"));
            }
        }
        if self.min_driver.is_none() && self.toolkit_driver.is_none() {
            out.push(format!("{what}: the row gives no driver"));
        }
        out.extend(source_problems(&what, &self.source));
        out
    }
}

impl CudaImageRow {
    pub(crate) fn same_key(a: &CudaImageRow, b: &CudaImageRow) -> bool {
        a.cuda.trim() == b.cuda.trim()
    }

    fn cuda_version(&self) -> Option<CudaVersion> {
        CudaVersion::parse(&self.cuda)
    }

    /// The newest Ubuntu, else the first flavour listed.
    fn default_os(&self) -> Option<&str> {
        self.os
            .iter()
            .filter_map(|o| o.strip_prefix("ubuntu").map(|v| (o, v)))
            .max_by(|a, b| cmp_versions(a.1, b.1))
            .map(|(o, _)| o.as_str())
            .or_else(|| self.os.first().map(String::as_str))
    }

    fn cudnn_part(&self, cudnn: &str) -> String {
        if self.cudnn_digit {
            format!("cudnn{cudnn}-")
        } else {
            "cudnn-".to_owned()
        }
    }

    pub(crate) fn problems(&self) -> Vec<String> {
        let what = format!("nvidia/cuda tags for CUDA {}", self.cuda);
        let mut out = Vec::new();
        match (self.cuda_version(), CudaVersion::parse(&self.version)) {
            (Some(c), Some(v)) if c.same_minor(v) => {}
            _ => out.push(format!(
                "{what}: version `{}` is not a release of CUDA `{}`",
                self.version, self.cuda
            )),
        }
        for c in &self.cudnn {
            if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) {
                out.push(format!("{what}: cudnn `{c}` is not a cuDNN major"));
            }
        }
        if self.os.is_empty() {
            out.push(format!("{what}: no OS flavour listed"));
        }
        for os in &self.os {
            let name_len = os.find(|c: char| c.is_ascii_digit()).unwrap_or(os.len());
            let (name, ver) = os.split_at(name_len);
            if name.is_empty()
                || !name.bytes().all(|b| b.is_ascii_lowercase())
                || release(ver).is_none()
            {
                out.push(format!(
                    "{what}: `{os}` is not an OS flavour like `ubuntu22.04`"
                ));
            }
        }
        out.extend(source_problems(&what, &self.source));
        out
    }
}

impl Compat {
    /// The oldest Linux driver that runs `cuda` (`12.4` or `12.4.1`): the
    /// minor's own minimum where it has one, else its major's under
    /// minor-version compatibility.
    pub fn min_driver(&self, cuda: &str) -> Option<&str> {
        let c = CudaVersion::parse(cuda)?;
        self.driver_row(&c.minor_version())
            .and_then(|r| r.min_driver.as_deref())
            .or_else(|| {
                self.driver_row(&c.major.to_string())
                    .and_then(|r| r.min_driver.as_deref())
            })
    }

    /// The driver shipped with the first toolkit release of `cuda`'s minor.
    pub fn toolkit_driver(&self, cuda: &str) -> Option<&str> {
        let c = CudaVersion::parse(cuda)?;
        self.driver_row(&c.minor_version())
            .and_then(|r| r.toolkit_driver.as_deref())
    }

    fn driver_row(&self, key: &str) -> Option<&DriverRow> {
        self.driver.iter().find(|r| r.cuda.trim() == key)
    }

    /// The full CUDA version `nvidia/cuda` tags use for `cuda`'s minor:
    /// `12.4` -> `12.4.1`.
    pub fn cuda_full_version(&self, cuda: &str) -> Option<&str> {
        let c = CudaVersion::parse(cuda)?;
        self.cuda_image_row(c).map(|r| r.version.as_str())
    }

    /// The OS flavours `nvidia/cuda` has for `cuda`'s minor, newest first.
    pub fn cuda_image_oses(&self, cuda: &str) -> Option<&[String]> {
        let c = CudaVersion::parse(cuda)?;
        self.cuda_image_row(c).map(|r| r.os.as_slice())
    }

    fn cuda_image_row(&self, c: CudaVersion) -> Option<&CudaImageRow> {
        self.cuda_image
            .iter()
            .find(|r| r.cuda_version().is_some_and(|v| v.same_minor(c)))
    }

    /// The `nvidia/cuda` tag for `cuda` (`12.4`, or `12.4.1` to choose the
    /// patch), `cudnn` (a major, `8`), `flavor` and `os` (default: the newest
    /// Ubuntu that has this CUDA): `12.4.1-cudnn-devel-ubuntu22.04`.
    ///
    /// The tag still has to be confirmed in the registry before it is
    /// pinned: NVIDIA removes and renames tags.
    pub fn cuda_image_tag(
        &self,
        cuda: &str,
        cudnn: Option<&str>,
        flavor: Flavor,
        os: Option<&str>,
    ) -> Result<String, Incompatible> {
        let c = parse_cuda(cuda)?;
        let known: Vec<&str> = self.cuda_image.iter().map(|r| r.cuda.as_str()).collect();
        let row = self.cuda_image_row(c).ok_or_else(|| {
            Incompatible::new(format!(
                "mlr knows no nvidia/cuda tags for CUDA {}; set [base] image, or describe them \
                 with a [[compat.cuda_image]] row in ml.toml",
                c.minor_version()
            ))
            .with(nearest_cudas(&known, c))
        })?;
        // A written patch is taken as is; tags before 11.1 have none.
        let version = match (c.patch, CudaVersion::parse(&row.version)) {
            (Some(_), Some(v)) if v.patch.is_some() => c.to_string(),
            _ => row.version.clone(),
        };

        let cudnn_part = match cudnn.map(str::trim) {
            None => String::new(),
            Some(n) => {
                let major = n.split('.').next().unwrap_or(n);
                if flavor == Flavor::Base {
                    return Err(Incompatible::new(format!(
                        "nvidia/cuda has no `base` image with cuDNN (CUDA {})",
                        c.minor_version()
                    ))
                    .with(format!("flavor `runtime` or `devel` with cuDNN {major}"))
                    .with("flavor `base` without cudnn".to_owned()));
                }
                if !row.cudnn.iter().any(|x| x == major) {
                    let mut err = Incompatible::new(format!(
                        "nvidia/cuda has no image with cuDNN {major} for CUDA {}",
                        c.minor_version()
                    ));
                    for have in &row.cudnn {
                        err = err.with(format!(
                            "cuDNN {have} with CUDA {} ({version}-{}{})",
                            c.minor_version(),
                            row.cudnn_part(have),
                            flavor.as_str()
                        ));
                    }
                    let fits: Vec<&str> = self
                        .cuda_image
                        .iter()
                        .filter(|r| r.cudnn.iter().any(|x| x == major))
                        .map(|r| r.cuda.as_str())
                        .collect();
                    if !fits.is_empty() {
                        err = err.with(format!(
                            "CUDA {} with cuDNN {major}",
                            describe_subset(&known, &fits)
                        ));
                    }
                    return Err(err);
                }
                row.cudnn_part(major)
            }
        };

        let os = match os {
            Some(o) => {
                let o = o.trim();
                if !row.os.iter().any(|x| x == o) {
                    return Err(Incompatible::new(format!(
                        "nvidia/cuda has no {o} image for CUDA {}",
                        c.minor_version()
                    ))
                    .with(format!(
                        "{} with CUDA {}",
                        join_or(&row.os),
                        c.minor_version()
                    )));
                }
                o.to_owned()
            }
            None => row
                .default_os()
                .ok_or_else(|| Incompatible::new("no OS flavour listed"))?
                .to_owned(),
        };
        Ok(format!("{version}-{cudnn_part}{}-{os}", flavor.as_str()))
    }
}

/// The known CUDA minors just below and above `c`: `CUDA 12.6 or 12.8`.
fn nearest_cudas(known: &[&str], c: CudaVersion) -> String {
    let mut below: Option<CudaVersion> = None;
    let mut above: Option<CudaVersion> = None;
    for k in known.iter().filter_map(|k| CudaVersion::parse(k)) {
        if k < c && below.is_none_or(|b| k > b) {
            below = Some(k);
        }
        if k > c && above.is_none_or(|a| k < a) {
            above = Some(k);
        }
    }
    let near: Vec<String> = [below, above]
        .into_iter()
        .flatten()
        .map(|v| v.minor_version())
        .collect();
    if near.is_empty() {
        String::new()
    } else {
        format!("CUDA {}", join_or(&near))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(cuda: &str, cudnn: Option<&str>, flavor: Flavor, os: Option<&str>) -> String {
        Compat::builtin()
            .cuda_image_tag(cuda, cudnn, flavor, os)
            .unwrap()
    }

    #[test]
    fn tags_with_and_without_the_cudnn_digit() {
        assert_eq!(
            tag("11.8", Some("8"), Flavor::Devel, None),
            "11.8.0-cudnn8-devel-ubuntu22.04"
        );
        assert_eq!(
            tag("12.4", Some("9"), Flavor::Devel, None),
            "12.4.1-cudnn-devel-ubuntu22.04"
        );
        assert_eq!(
            tag("12.1", Some("8"), Flavor::Runtime, None),
            "12.1.1-cudnn8-runtime-ubuntu22.04"
        );
        assert_eq!(
            tag("12.4.1", None, Flavor::Runtime, None),
            "12.4.1-runtime-ubuntu22.04"
        );
        assert_eq!(
            tag("12.6", None, Flavor::Base, None),
            "12.6.3-base-ubuntu24.04"
        );
        assert_eq!(
            tag("12.4.0", Some("9"), Flavor::Runtime, Some("ubi9")),
            "12.4.0-cudnn-runtime-ubi9"
        );
        assert_eq!(
            tag("10.2", Some("7"), Flavor::Devel, None),
            "10.2-cudnn7-devel-ubuntu18.04"
        );
    }

    #[test]
    fn impossible_tags_say_what_exists() {
        let c = Compat::builtin();
        let err = c
            .cuda_image_tag("12.4", Some("8"), Flavor::Devel, None)
            .unwrap_err();
        assert_eq!(
            err.message,
            "nvidia/cuda has no image with cuDNN 8 for CUDA 12.4"
        );
        assert_eq!(
            err.alternatives[0],
            "cuDNN 9 with CUDA 12.4 (12.4.1-cudnn-devel)"
        );
        assert!(err.alternatives[1].ends_with("12.2 with cuDNN 8"), "{err}");
        let err = c
            .cuda_image_tag("12.4", Some("9"), Flavor::Base, None)
            .unwrap_err();
        assert!(err.message.contains("no `base` image with cuDNN"), "{err}");
        let err = c
            .cuda_image_tag("12.4", None, Flavor::Devel, Some("ubuntu24.04"))
            .unwrap_err();
        assert!(
            err.alternatives[0].starts_with("ubuntu22.04, ubuntu20.04, "),
            "{err}"
        );
        let err = c
            .cuda_image_tag("12.7", None, Flavor::Devel, None)
            .unwrap_err();
        assert!(err.message.contains("[[compat.cuda_image]]"), "{err}");
        assert_eq!(err.alternatives, ["CUDA 12.6 or 12.8"]);
    }

    #[test]
    fn drivers() {
        let c = Compat::builtin();
        assert_eq!(c.min_driver("12.4"), Some("525.60.13"));
        assert_eq!(c.min_driver("12.4.1"), Some("525.60.13"));
        assert_eq!(c.min_driver("11.8"), Some("450.80.02"));
        assert_eq!(c.min_driver("11.0"), Some("450.36.06"));
        assert_eq!(c.min_driver("13.0"), Some("580"));
        assert_eq!(c.min_driver("10.2"), Some("440.33"));
        assert_eq!(c.min_driver("10.1"), Some("418.39"));
        assert_eq!(c.min_driver("10.0"), Some("410.48"));
        assert_eq!(c.min_driver("9.2"), None);
        assert_eq!(c.min_driver("nope"), None);
        assert_eq!(c.toolkit_driver("12.4"), Some("550.54.14"));
        assert_eq!(c.toolkit_driver("11.8.0"), Some("520.61.05"));
        assert_eq!(c.cuda_full_version("12.6"), Some("12.6.3"));
        assert_eq!(c.cuda_full_version("12.8"), Some("12.8.1"));
    }

    #[test]
    fn every_listed_cuda_has_a_driver_minimum_and_a_default_tag() {
        let c = Compat::builtin();
        for row in &c.cuda_image {
            assert!(c.min_driver(&row.cuda).is_some(), "CUDA {}", row.cuda);
            let t = c
                .cuda_image_tag(&row.cuda, None, Flavor::Devel, None)
                .unwrap();
            assert!(t.starts_with(&row.version), "{t}");
            for cudnn in &row.cudnn {
                c.cuda_image_tag(&row.cuda, Some(cudnn), Flavor::Runtime, None)
                    .unwrap();
            }
        }
    }
}
