//! torch releases and their builds: which CUDA variant to install from which
//! index, and the check that the locked wheel really is that variant.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::framework::{
    Changes, CudaChoice, FrameworkRow, Hints, Refused, Why, check_python, find_row, parse_python,
};
use super::version::{CudaVersion, normalize_name, release, same_release, split_local};
use super::{Compat, Incompatible, default_true};

/// PyTorch's wheel index; a variant `cu124` lives under `<index>/cu124`.
const PYTORCH_INDEX: &str = "https://download.pytorch.org/whl";

/// One torch release (`data/torch.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TorchRow {
    /// The torch release, `2.5.1`.
    pub version: String,
    /// The matching torchvision release.
    pub torchvision: Option<String>,
    /// The matching torchaudio release, where one was made.
    pub torchaudio: Option<String>,
    /// CPython `3.X` versions with wheels.
    pub python: Vec<String>,
    /// CUDA builds on the index, as local versions: `cu118`, `cu124`.
    #[serde(default)]
    pub variants: Vec<String>,
    /// Whether `<index>/cpu` has a CPU build (`+cpu`).
    #[serde(default = "default_true")]
    pub cpu: bool,
    /// The CUDA variant of PyPI's default Linux x86_64 wheel, `cu124`.
    pub pypi_default: Option<String>,
    /// The suffix of the `nvidia-*` wheels that build depends on, `cu12`.
    pub pypi_nvidia_suffix: Option<String>,
    /// PyPI's default wheel carries its CUDA libraries inside and depends on
    /// no `nvidia-*` wheels (torch 1.12 and older).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pypi_bundles_cuda: bool,
    /// Base URL of the variant indexes; default `https://download.pytorch.org/whl`.
    pub index: Option<String>,
    /// Where the row comes from.
    pub source: Option<String>,
    /// The PyPI release page the row was checked against.
    pub pypi: Option<String>,
    /// `false` when part of the row was not checked against its source.
    #[serde(default = "default_true")]
    pub verified: bool,
    pub note: Option<String>,
}

impl TorchRow {
    fn index_url(&self, local: &str) -> String {
        let base = self.index.as_deref().unwrap_or(PYTORCH_INDEX);
        format!("{}/{local}", base.trim_end_matches('/'))
    }

    /// Every CUDA this release has a build for, index or PyPI default.
    fn cudas(&self) -> Vec<CudaVersion> {
        let mut out: Vec<CudaVersion> = self
            .variants
            .iter()
            .chain(&self.pypi_default)
            .filter_map(|v| CudaVersion::from_local(v))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn index_variant(&self, local: &str) -> TorchVariant {
        TorchVariant {
            torch: self.version.clone(),
            local: Some(local.to_owned()),
            cuda: CudaVersion::from_local(local).map(CudaVersion::minor_version),
            index_url: Some(self.index_url(local)),
            torchvision: self.torchvision.clone(),
            torchaudio: self.torchaudio.clone(),
            pypi_default: false,
            nvidia_suffix: None,
            pypi_bundles_cuda: self.pypi_bundles_cuda,
        }
    }

    fn pypi_variant(&self, cuda: CudaVersion) -> TorchVariant {
        TorchVariant {
            torch: self.version.clone(),
            local: None,
            cuda: Some(cuda.minor_version()),
            index_url: None,
            torchvision: self.torchvision.clone(),
            torchaudio: self.torchaudio.clone(),
            pypi_default: true,
            nvidia_suffix: (!self.pypi_bundles_cuda).then(|| {
                self.pypi_nvidia_suffix
                    .clone()
                    .unwrap_or_else(|| format!("cu{}", cuda.major))
            }),
            pypi_bundles_cuda: self.pypi_bundles_cuda,
        }
    }
}

/// The torch build to install for a torch version, CUDA and Python.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TorchVariant {
    /// `2.5.1`
    pub torch: String,
    /// `cu124` or `cpu` for index builds; `None` for PyPI's default build.
    pub local: Option<String>,
    /// `12.4`; `None` for the CPU build.
    pub cuda: Option<String>,
    /// The index the build comes from; `None` for PyPI.
    pub index_url: Option<String>,
    pub torchvision: Option<String>,
    pub torchaudio: Option<String>,
    /// Whether this is PyPI's default wheel (no local version).
    pub pypi_default: bool,
    /// For PyPI's default build: the suffix of its `nvidia-*` dependencies,
    /// which are what makes it a CUDA build (`cu12`).
    pub nvidia_suffix: Option<String>,
    /// PyPI's default wheel of this release carries its CUDA inside and
    /// depends on no `nvidia-*` wheels (torch 1.12 and older): for the PyPI
    /// build, a plain version without them is that build.
    pub pypi_bundles_cuda: bool,
}

impl FrameworkRow for TorchRow {
    const NAME: &'static str = "torch";

    fn fields(&self) -> (&str, &[String], &Option<String>) {
        (&self.version, &self.python, &self.source)
    }

    fn release_problems(&self, _what: &str) -> Vec<String> {
        if release(&self.version).is_none() {
            return vec![format!("torch `{}` is not a release version", self.version)];
        }
        Vec::new()
    }

    fn build_problems(&self, what: &str) -> Vec<String> {
        let mut out = Vec::new();
        for v in self.variants.iter().chain(&self.pypi_default) {
            if CudaVersion::from_local(v).is_none() {
                out.push(format!("{what}: variant `{v}` is not `cuXY`"));
            }
        }
        if let Some(s) = &self.pypi_nvidia_suffix {
            if CudaVersion::parse(s.trim_start_matches("cu")).is_none() || !s.starts_with("cu") {
                out.push(format!("{what}: nvidia suffix `{s}` is not `cuNN`"));
            }
        }
        if self.variants.is_empty() && self.pypi_default.is_none() && !self.cpu {
            out.push(format!("{what}: the row lists no build"));
        }
        if self.pypi_bundles_cuda && self.pypi_default.is_none() {
            out.push(format!("{what}: pypi_bundles_cuda needs pypi_default"));
        }
        if self.pypi_bundles_cuda && self.pypi_nvidia_suffix.is_some() {
            out.push(format!(
                "{what}: a wheel that bundles CUDA has no nvidia-* dependencies \
                 (pypi_bundles_cuda and pypi_nvidia_suffix)"
            ));
        }
        out
    }

    /// The releases sharing `asked`'s `MAJOR.MINOR` (`2.5` without a
    /// patch, or a typo'd patch).
    fn same_series<'a>(rows: &'a [TorchRow], asked: &str) -> Vec<&'a str> {
        let Some(rel) = release(asked).filter(|r| r.len() >= 2) else {
            return Vec::new();
        };
        rows.iter()
            .map(|r| r.version.as_str())
            .filter(|v| release(v).is_some_and(|r| r.len() >= 2 && r[..2] == rel[..2]))
            .collect()
    }
}

impl Compat {
    /// The CUDA (`12.4`) of PyPI's plain Linux wheel of torch `version`,
    /// what `pip install torch==VERSION` gets; `None` for a release the
    /// table does not know, or whose PyPI wheel is not a CUDA build.
    pub fn torch_pypi_cuda(&self, version: &str) -> Option<String> {
        let row = find_row(&self.torch, version).ok()?;
        let local = row.pypi_default.as_deref()?;
        CudaVersion::from_local(local).map(CudaVersion::minor_version)
    }

    /// The torch build for `torch` (optionally `2.5.1+cu121`), `cuda`
    /// (`12.4`/`12.4.1`, `None` for CPU) and `python` (`3.11`; `None`
    /// when it is not known yet: any Python of the release passes).
    ///
    /// A CUDA build comes from PyPI when PyPI's default wheel is that CUDA,
    /// else from its `cuXY` index. An explicit local version wins over
    /// `cuda` when they agree and is an error otherwise.
    pub fn torch(
        &self,
        torch: &str,
        cuda: Option<&str>,
        python: Option<&str>,
    ) -> Result<TorchVariant, Incompatible> {
        let wanted = cuda.map(parse_cuda).transpose()?;
        let python = python.map(parse_python).transpose()?;
        self.torch_build(torch, None, wanted, python.as_deref())
            .map_err(|refused| self.torch_hints(refused, torch, wanted, python))
    }

    /// The check itself, without hints; `row`, when given, is the row
    /// `torch` names.
    fn torch_build(
        &self,
        torch: &str,
        row: Option<&TorchRow>,
        wanted: Option<CudaVersion>,
        python: Option<&str>,
    ) -> Result<TorchVariant, Refused> {
        let torch = torch.trim();
        let (public, local) = split_local(torch);
        let row = match row {
            Some(row) => row,
            None => find_row(&self.torch, public)?,
        };
        let variant = match (local, wanted) {
            (Some("cpu"), Some(c)) => {
                return Err(Refused::new(
                    Why::Build,
                    format!("torch {torch} is the CPU build, but [cuda] version is {c}"),
                ));
            }
            (Some("cpu"), None) | (None, None) => torch_cpu(row)?,
            (Some(l), wanted) => {
                let Some(built) = CudaVersion::from_local(l) else {
                    return Err(Refused::new(
                        Why::Malformed,
                        format!(
                            "`{torch}`: `+{l}` is not a torch build (expected `+cuXY` or `+cpu`)"
                        ),
                    ));
                };
                if let Some(c) = wanted.filter(|c| !c.same_minor(built)) {
                    return Err(Refused::new(
                        Why::Build,
                        format!(
                            "torch {torch} is built for CUDA {built}, but [cuda] version is {c}"
                        ),
                    ));
                }
                if !row.variants.iter().any(|v| v == l) {
                    if row.pypi_default.as_deref() == Some(l) {
                        return Err(Refused::new(
                            Why::Build,
                            format!(
                                "torch {torch}: mlr's table lists no `+{l}` index build; PyPI's \
                                 default torch {} is the CUDA {built} build",
                                row.version
                            ),
                        ));
                    }
                    return Err(no_cuda_build(row, built));
                }
                row.index_variant(l)
            }
            (None, Some(c)) => {
                let local = c.local();
                if row.pypi_default.as_deref() == Some(local.as_str()) {
                    row.pypi_variant(c)
                } else if row.variants.contains(&local) {
                    row.index_variant(&local)
                } else {
                    return Err(no_cuda_build(row, c));
                }
            }
        };
        check_python(row, &row.version, python)?;
        Ok(variant)
    }

    /// The refusal with what would work instead: nearby combinations the
    /// same check accepts.
    fn torch_hints(
        &self,
        refused: Refused,
        torch: &str,
        cuda: Option<CudaVersion>,
        python: Option<String>,
    ) -> Incompatible {
        let torch = torch.trim();
        let accepts = |v: &str, row: Option<&_>, c: Option<CudaVersion>, p: Option<&str>| {
            self.torch_build(v, row, c, p).is_ok()
        };
        let h = Hints {
            rows: &self.torch,
            accepts: &accepts,
            cudas: self.torch_cudas(),
            by_major: false,
            cuda,
            python,
        };
        let (public, local) = split_local(torch);
        let row = find_row(&self.torch, public).ok();
        let plain = row.map_or(public, |r| r.version.as_str());
        let only = |c: CudaVersion| CudaChoice::Versions(vec![c.minor_version()]);
        let suggestions = match refused.why {
            Why::Malformed => Vec::new(),
            Why::Unknown => vec![h.series_of(public).or_else(|| h.newest())],
            Why::Python => vec![h.pythons_for(torch), h.releases_for_python()],
            Why::Build => match (local, local.and_then(CudaVersion::from_local), cuda) {
                (Some("cpu"), _, Some(c)) => vec![
                    h.exactly(
                        plain,
                        only(c),
                        Changes::Framework,
                        Some("without `+cpu`".into()),
                    ),
                    h.exactly(torch, CudaChoice::Without, Changes::Cuda, None),
                ],
                (Some(_), Some(built), Some(c)) if !c.same_minor(built) => vec![
                    h.exactly(torch, only(built), Changes::Cuda, None),
                    h.cudas_for(plain),
                    h.releases_for(Some(c)),
                ],
                (Some(l), Some(built), _)
                    if row.is_some_and(|r| r.pypi_default.as_deref() == Some(l)) =>
                {
                    vec![h.exactly(
                        plain,
                        only(built),
                        Changes::Framework,
                        Some(format!("without `+{l}`")),
                    )]
                }
                (Some(_), Some(built), _) => vec![h.cudas_for(plain), h.releases_for(Some(built))],
                (_, _, Some(c)) => vec![h.cudas_for(plain), h.releases_for(Some(c))],
                (_, _, None) => vec![h.cudas_for(plain)],
            },
        };
        suggestions
            .into_iter()
            .fold(Incompatible::new(refused.message), |err, s| {
                err.suggest(&self.torch, s)
            })
    }

    /// Every CUDA some torch release has a build for, oldest first.
    fn torch_cudas(&self) -> Vec<CudaVersion> {
        let mut out: Vec<CudaVersion> = self.torch.iter().flat_map(TorchRow::cudas).collect();
        out.sort();
        out.dedup();
        out
    }
}

fn torch_cpu(row: &TorchRow) -> Result<TorchVariant, Refused> {
    if !row.cpu {
        return Err(Refused::new(
            Why::Build,
            format!(
                "torch {} has no CPU build listed; set [cuda] version",
                row.version
            ),
        ));
    }
    Ok(TorchVariant {
        cuda: None,
        ..row.index_variant("cpu")
    })
}

fn no_cuda_build(row: &TorchRow, cuda: CudaVersion) -> Refused {
    Refused::new(
        Why::Build,
        format!(
            "torch {} has no build for CUDA {}",
            row.version,
            cuda.minor_version()
        ),
    )
}

/// A `[cuda] version` as the queries take it.
pub(crate) fn parse_cuda(cuda: &str) -> Result<CudaVersion, Incompatible> {
    CudaVersion::parse(cuda).ok_or_else(|| {
        Incompatible::new(format!(
            "`{cuda}` is not a CUDA version (expected MAJOR.MINOR or MAJOR.MINOR.PATCH)"
        ))
    })
}

/// After resolution: is the locked torch (`locked_version`, with the names of
/// the packages locked alongside it) really the build `variant` asked for?
/// The point is the silent CPU torch of cog#436: a CPU wheel where CUDA was
/// asked for is an error, never a warning.
pub fn check_torch_locked(
    variant: &TorchVariant,
    locked_version: &str,
    dependency_names: &[String],
) -> Result<(), String> {
    let locked = locked_version.trim();
    let (public, local) = split_local(locked);
    if !same_release(public, &variant.torch) {
        return Err(format!(
            "torch {locked} was locked, but torch {} was asked for",
            variant.torch
        ));
    }
    // The CUDA majors of the nvidia-*-cuNN wheels locked next to torch.
    let mut nvidia: Vec<String> = dependency_names
        .iter()
        .map(|n| normalize_name(n))
        .filter(|n| n.starts_with("nvidia-"))
        .filter_map(|n| n.rsplit('-').next().map(str::to_owned))
        .filter(|s| CudaVersion::parse(s.trim_start_matches("cu")).is_some() && s.starts_with("cu"))
        .collect();
    nvidia.sort();
    nvidia.dedup();

    let Some(cuda) = &variant.cuda else {
        return match local {
            Some(l) if l.starts_with("cu") => Err(format!(
                "torch {locked} is a CUDA build, but the CPU build (+cpu) was asked for"
            )),
            None if !nvidia.is_empty() => Err(format!(
                "torch {locked} is PyPI's CUDA build (it pulls nvidia-*-{} wheels), but the CPU \
                 build from {} was asked for",
                nvidia.join("/"),
                variant.index_url.as_deref().unwrap_or("the CPU index")
            )),
            _ => Ok(()),
        };
    };
    let cpu_only = |detail: &str| {
        format!(
            "torch {locked}{detail} is a CPU-only build: torch would not see the GPU; expected {}",
            expected(variant)
        )
    };

    match (&variant.local, local) {
        (Some(want), Some(got)) if got == want => Ok(()),
        (_, Some("cpu")) => Err(cpu_only("")),
        // PyPI's build was asked for and the index's build of the same
        // CUDA was locked (a lock made when mlr preferred the index, or a
        // default index that mirrors download.pytorch.org): the same build.
        (None, Some(got))
            if CudaVersion::from_local(got)
                .zip(CudaVersion::parse(cuda))
                .is_some_and(|(a, b)| a.same_minor(b)) =>
        {
            Ok(())
        }
        (_, Some(got)) => match CudaVersion::from_local(got) {
            Some(built) => Err(format!(
                "torch {locked} is built for CUDA {built}, not CUDA {cuda}; expected {}",
                expected(variant)
            )),
            None => Err(format!(
                "torch {locked} has an unknown local version `+{got}`; expected {}",
                expected(variant)
            )),
        },
        (Some(want), None) if nvidia.is_empty() && variant.pypi_bundles_cuda => Err(format!(
            "torch {locked} is PyPI's default build (its CUDA is inside the wheel), not the \
             `+{want}` build: it came from the wrong index; expected {}",
            expected(variant)
        )),
        (Some(want), None) if nvidia.is_empty() => Err(cpu_only(&format!(
            " (without `+{want}` and without nvidia-* dependencies)"
        ))),
        (Some(want), None) => Err(format!(
            "torch {locked} is PyPI's default build, not the `+{want}` build: it came from the \
             wrong index; expected {}",
            expected(variant)
        )),
        (None, None) if variant.pypi_bundles_cuda => {
            if nvidia.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "torch {locked} pulls nvidia-*-{} wheels, but PyPI's torch {} bundles its \
                     CUDA and depends on none: it is not that build; expected {}",
                    nvidia.join("/"),
                    variant.torch,
                    expected(variant)
                ))
            }
        }
        (None, None) => {
            let want = variant.nvidia_suffix.as_deref().unwrap_or("cu");
            if nvidia.iter().any(|s| s == want) {
                Ok(())
            } else if nvidia.is_empty() {
                Err(cpu_only(&format!(
                    " (without nvidia-*-{want} dependencies)"
                )))
            } else {
                Err(format!(
                    "torch {locked} pulls nvidia-*-{} wheels, not nvidia-*-{want}: it is not the \
                     CUDA {cuda} build; expected {}",
                    nvidia.join("/"),
                    expected(variant)
                ))
            }
        }
    }
}

fn expected(variant: &TorchVariant) -> String {
    match (&variant.local, &variant.index_url) {
        (Some(local), Some(index)) => format!("torch {}+{local} from {index}", variant.torch),
        _ if variant.pypi_bundles_cuda => format!(
            "PyPI's torch {} (CUDA {} inside the wheel, no nvidia-* dependencies)",
            variant.torch,
            variant.cuda.as_deref().unwrap_or("-")
        ),
        _ => format!(
            "PyPI's torch {} with nvidia-*-{} dependencies",
            variant.torch,
            variant.nvidia_suffix.as_deref().unwrap_or("cuNN")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compat() -> &'static Compat {
        Compat::builtin()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_cuda_pypi_builds_by_default_comes_from_pypi() {
        let v = compat().torch("2.5.1", Some("12.4"), Some("3.11")).unwrap();
        assert_eq!(
            v,
            TorchVariant {
                torch: "2.5.1".into(),
                local: None,
                cuda: Some("12.4".into()),
                index_url: None,
                torchvision: Some("0.20.1".into()),
                torchaudio: Some("2.5.1".into()),
                pypi_default: true,
                nvidia_suffix: Some("cu12".into()),
                pypi_bundles_cuda: false,
            }
        );
        // A patch version picks the same build.
        assert_eq!(
            compat()
                .torch("2.5.1", Some("12.4.1"), Some("3.11.9"))
                .unwrap(),
            v
        );
        // torch 1.12 and older: PyPI's wheel has CUDA 10.2 inside.
        let v = compat()
            .torch("1.12.1", Some("10.2"), Some("3.10"))
            .unwrap();
        assert!(v.pypi_default && v.pypi_bundles_cuda, "{v:?}");
        assert_eq!((v.local, v.index_url, v.nvidia_suffix), (None, None, None));
        assert_eq!(v.torchvision.as_deref(), Some("0.13.1"));
    }

    #[test]
    fn another_cuda_is_the_pytorch_index_build() {
        let v = compat().torch("2.5.1", Some("12.1"), Some("3.11")).unwrap();
        assert_eq!(
            v,
            TorchVariant {
                torch: "2.5.1".into(),
                local: Some("cu121".into()),
                cuda: Some("12.1".into()),
                index_url: Some("https://download.pytorch.org/whl/cu121".into()),
                torchvision: Some("0.20.1".into()),
                torchaudio: Some("2.5.1".into()),
                pypi_default: false,
                nvidia_suffix: None,
                pypi_bundles_cuda: false,
            }
        );
        let v = compat()
            .torch("1.12.1", Some("11.6"), Some("3.10"))
            .unwrap();
        assert_eq!(v.local.as_deref(), Some("cu116"));
        assert_eq!(
            v.index_url.as_deref(),
            Some("https://download.pytorch.org/whl/cu116")
        );
        // An explicit local version is the index build even where PyPI's
        // default is the same CUDA.
        let v = compat()
            .torch("1.12.1+cu102", Some("10.2"), Some("3.10"))
            .unwrap();
        assert_eq!(v.local.as_deref(), Some("cu102"));
    }

    #[test]
    fn torch_21_on_cuda_124_lists_what_would_work() {
        let err = compat()
            .torch("2.1.0", Some("12.4"), Some("3.11"))
            .unwrap_err();
        assert_eq!(err.message, "torch 2.1.0 has no build for CUDA 12.4");
        assert_eq!(
            err.alternatives,
            [
                "CUDA 11.8 or 12.1 with torch 2.1.0",
                "torch 2.4.0 to 2.6.0 with CUDA 12.4"
            ]
        );
        let err = compat()
            .torch("2.1.2", Some("12.4"), Some("3.11"))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("torch 2.1.2 has no build for CUDA 12.4; would work:")
        );
    }

    #[test]
    fn python_without_wheels_is_an_error_naming_both() {
        let err = compat()
            .torch("2.0.1", Some("11.8"), Some("3.13"))
            .unwrap_err();
        assert_eq!(err.message, "torch 2.0.1 has no wheels for Python 3.13");
        assert_eq!(
            err.alternatives[0],
            "Python 3.8, 3.9, 3.10 or 3.11 with torch 2.0.1"
        );
        assert!(err.alternatives[1].starts_with("torch 2.5.0 to "), "{err}");
        assert!(err.alternatives[1].ends_with(" with Python 3.13"), "{err}");
    }

    #[test]
    fn no_cuda_is_the_cpu_build() {
        let v = compat().torch("2.5.1", None, Some("3.11")).unwrap();
        assert_eq!(v.local.as_deref(), Some("cpu"));
        assert_eq!(v.cuda, None);
        assert_eq!(
            v.index_url.as_deref(),
            Some("https://download.pytorch.org/whl/cpu")
        );
        assert!(!v.pypi_default);
    }

    #[test]
    fn explicit_local_versions_win_when_consistent() {
        let v = compat()
            .torch("2.5.1+cu121", Some("12.1"), Some("3.11"))
            .unwrap();
        assert_eq!(v.local.as_deref(), Some("cu121"));
        let v = compat().torch("2.5.1+cu121", None, Some("3.11")).unwrap();
        assert_eq!(v.cuda.as_deref(), Some("12.1"));
        let v = compat().torch("2.5.1+cpu", None, Some("3.11")).unwrap();
        assert_eq!(v.local.as_deref(), Some("cpu"));

        let err = compat()
            .torch("2.5.1+cu121", Some("12.4"), Some("3.11"))
            .unwrap_err();
        assert_eq!(
            err.message,
            "torch 2.5.1+cu121 is built for CUDA 12.1, but [cuda] version is 12.4"
        );
        assert!(
            err.alternatives
                .contains(&"CUDA 12.1 with torch 2.5.1+cu121".to_owned())
        );
        let err = compat()
            .torch("2.5.1+cpu", Some("12.4"), Some("3.11"))
            .unwrap_err();
        assert!(err.message.contains("CPU build"), "{err}");
        let err = compat()
            .torch("2.5.1+cu126", None, Some("3.11"))
            .unwrap_err();
        assert_eq!(err.message, "torch 2.5.1 has no build for CUDA 12.6");
        let err = compat()
            .torch("2.5.1+rocm6.2", None, Some("3.11"))
            .unwrap_err();
        assert!(err.message.contains("not a torch build"), "{err}");
    }

    #[test]
    fn pypi_default_serves_a_cuda_without_an_index_build() {
        // torch 2.11.0's index variants are not in the table; PyPI's default is CUDA 13.0.
        let v = compat()
            .torch("2.11.0", Some("13.0"), Some("3.12"))
            .unwrap();
        assert!(v.pypi_default);
        assert_eq!(v.local, None);
        assert_eq!(v.index_url, None);
        assert_eq!(v.nvidia_suffix.as_deref(), Some("cu13"));
        assert_eq!(v.cuda.as_deref(), Some("13.0"));
    }

    #[test]
    fn unknown_releases_point_to_overrides() {
        let v = compat().torch("2.5", Some("12.4"), Some("3.11")).unwrap();
        assert_eq!(v.torch, "2.5.0");
        let err = compat()
            .torch("2.11.0+cu130", None, Some("3.12"))
            .unwrap_err();
        assert_eq!(
            err.alternatives,
            ["torch 2.11.0 (without `+cu130`) with CUDA 13.0"]
        );
        let err = compat()
            .torch("2.5.7", Some("12.4"), Some("3.11"))
            .unwrap_err();
        assert!(err.message.contains("[[compat.torch]]"), "{err}");
        assert_eq!(err.alternatives, ["torch 2.5.0 or 2.5.1"]);
        let err = compat().torch("99.0", None, Some("3.11")).unwrap_err();
        assert!(
            err.message
                .starts_with("torch 99.0 is not in mlr's compatibility table (1.4.0 to ")
        );
        let err = compat()
            .torch("2.5.1", Some("twelve"), Some("3.11"))
            .unwrap_err();
        assert!(err.message.contains("not a CUDA version"), "{err}");
    }

    #[test]
    fn locked_index_build_must_carry_its_local_version() {
        let v = compat().torch("2.5.1", Some("12.1"), Some("3.11")).unwrap();
        let deps = names(&["nvidia-cudnn-cu12", "filelock"]);
        assert_eq!(check_torch_locked(&v, "2.5.1+cu121", &deps), Ok(()));

        let err = check_torch_locked(&v, "2.5.1+cpu", &[]).unwrap_err();
        assert!(
            err.contains("CPU-only") && err.contains("would not see the GPU"),
            "{err}"
        );
        assert!(
            err.contains("torch 2.5.1+cu121 from https://download.pytorch.org/whl/cu121"),
            "{err}"
        );

        let err = check_torch_locked(&v, "2.5.1+cu118", &deps).unwrap_err();
        assert!(err.contains("built for CUDA 11.8, not CUDA 12.1"), "{err}");

        let err = check_torch_locked(&v, "2.5.1", &[]).unwrap_err();
        assert!(err.contains("would not see the GPU"), "{err}");
        let err = check_torch_locked(&v, "2.5.1", &deps).unwrap_err();
        assert!(err.contains("wrong index"), "{err}");

        let err = check_torch_locked(&v, "2.4.1+cu121", &deps).unwrap_err();
        assert!(
            err.contains("torch 2.4.1+cu121 was locked, but torch 2.5.1"),
            "{err}"
        );

        // torch 1.12.1's plain PyPI wheel is the CUDA 10.2 build, not the cu116 one.
        let v = compat()
            .torch("1.12.1", Some("11.6"), Some("3.10"))
            .unwrap();
        assert_eq!(check_torch_locked(&v, "1.12.1+cu116", &[]), Ok(()));
        let err = check_torch_locked(&v, "1.12.1", &names(&["typing-extensions"])).unwrap_err();
        assert!(
            err.contains("PyPI's default build (its CUDA is inside the wheel)")
                && err.contains("wrong index"),
            "{err}"
        );
    }

    #[test]
    fn locked_pypi_default_of_a_recent_torch_pulls_nvidia_wheels() {
        let v = compat().torch("2.5.1", Some("12.4"), Some("3.11")).unwrap();
        let deps = names(&["nvidia-cublas-cu12", "nvidia-cudnn-cu12", "filelock"]);
        assert_eq!(check_torch_locked(&v, "2.5.1", &deps), Ok(()));
        // The index's build of the same CUDA is the same build (a lock made
        // when mlr took CUDA 12.4 from the index stays good).
        assert_eq!(check_torch_locked(&v, "2.5.1+cu124", &deps), Ok(()));

        let err = check_torch_locked(&v, "2.5.1", &names(&["filelock"])).unwrap_err();
        assert!(err.contains("would not see the GPU"), "{err}");
        assert!(
            err.contains("PyPI's torch 2.5.1 with nvidia-*-cu12 dependencies"),
            "{err}"
        );
        let err = check_torch_locked(&v, "2.5.1+cu121", &deps).unwrap_err();
        assert!(err.contains("built for CUDA 12.1, not CUDA 12.4"), "{err}");
        assert!(check_torch_locked(&v, "2.5.1+cpu", &[]).is_err());
    }

    #[test]
    fn locked_pypi_default_of_torch_1_bundles_its_cuda() {
        // torch 1.7.1's CUDA 10.2 build is only PyPI's plain wheel.
        let v = compat().torch("1.7.1", Some("10.2"), Some("3.9")).unwrap();
        assert!(v.pypi_default && v.pypi_bundles_cuda, "{v:?}");
        assert_eq!(
            (&v.local, &v.index_url, &v.nvidia_suffix),
            (&None, &None, &None)
        );
        let deps = names(&["typing-extensions", "numpy"]);
        assert_eq!(check_torch_locked(&v, "1.7.1", &deps), Ok(()));

        let err = check_torch_locked(&v, "1.7.1", &names(&["nvidia-cublas-cu11"])).unwrap_err();
        assert!(err.contains("bundles its CUDA"), "{err}");
        assert!(
            err.contains("PyPI's torch 1.7.1 (CUDA 10.2 inside the wheel"),
            "{err}"
        );
        let err = check_torch_locked(&v, "1.7.1+cpu", &deps).unwrap_err();
        assert!(err.contains("would not see the GPU"), "{err}");
        let err = check_torch_locked(&v, "1.7.1+cu110", &deps).unwrap_err();
        assert!(err.contains("built for CUDA 11.0, not CUDA 10.2"), "{err}");
        let err = check_torch_locked(&v, "1.7.0", &deps).unwrap_err();
        assert!(err.contains("was locked, but torch 1.7.1"), "{err}");

        // Its plain wheel is not the `+cu110` build either.
        let v = compat().torch("1.7.1", Some("11.0"), Some("3.9")).unwrap();
        assert_eq!(check_torch_locked(&v, "1.7.1+cu110", &deps), Ok(()));
        let err = check_torch_locked(&v, "1.7.1", &deps).unwrap_err();
        assert!(
            err.contains("PyPI's default build (its CUDA is inside the wheel)")
                && err.contains("wrong index"),
            "{err}"
        );
    }

    #[test]
    fn torch_1_rows_pair_torchvision_and_torchaudio() {
        let v = compat()
            .torch("1.12.1", Some("11.6"), Some("3.10"))
            .unwrap();
        assert_eq!(
            (v.torchvision.as_deref(), v.torchaudio.as_deref()),
            (Some("0.13.1"), Some("0.12.1"))
        );
        // PyPI's torchvision 0.11.0 requires torch==1.10.0+cu102; 0.11.1 is the pair.
        let v = compat().torch("1.10.0", None, Some("3.9")).unwrap();
        assert_eq!(v.torchvision.as_deref(), Some("0.11.1"));
        let err = compat()
            .torch("1.12.1", Some("11.8"), Some("3.10"))
            .unwrap_err();
        assert_eq!(err.message, "torch 1.12.1 has no build for CUDA 11.8");
        assert_eq!(
            err.alternatives,
            [
                "CUDA 10.2, 11.3 or 11.6 with torch 1.12.1",
                "torch 2.0.0 to 2.7.1 with CUDA 11.8"
            ]
        );
        let err = compat().torch("1.4.0", None, Some("3.9")).unwrap_err();
        assert_eq!(err.message, "torch 1.4.0 has no wheels for Python 3.9");
    }

    #[test]
    fn locked_pypi_default_must_pull_its_nvidia_wheels() {
        let v = compat()
            .torch("2.11.0", Some("13.0"), Some("3.12"))
            .unwrap();
        let good = names(&["nvidia_cudnn_cu13", "cuda-toolkit", "triton"]);
        assert_eq!(check_torch_locked(&v, "2.11.0", &good), Ok(()));

        let err = check_torch_locked(&v, "2.11.0", &names(&["filelock"])).unwrap_err();
        assert!(
            err.contains("CPU-only") && err.contains("nvidia-*-cu13"),
            "{err}"
        );
        let err = check_torch_locked(&v, "2.11.0", &names(&["nvidia-cudnn-cu12"])).unwrap_err();
        assert!(err.contains("not nvidia-*-cu13"), "{err}");
        let err = check_torch_locked(&v, "2.11.0+cpu", &[]).unwrap_err();
        assert!(err.contains("would not see the GPU"), "{err}");
    }

    #[test]
    fn locked_cpu_build_must_not_be_a_cuda_build() {
        let v = compat().torch("2.5.1", None, Some("3.11")).unwrap();
        assert_eq!(check_torch_locked(&v, "2.5.1+cpu", &[]), Ok(()));
        // aarch64 CPU wheels carry no local version.
        assert_eq!(check_torch_locked(&v, "2.5.1", &names(&["sympy"])), Ok(()));
        assert!(check_torch_locked(&v, "2.5.1+cu124", &[]).is_err());
        assert!(check_torch_locked(&v, "2.5.1", &names(&["nvidia-cublas-cu12"])).is_err());
    }

    #[test]
    fn every_release_has_consistent_builds() {
        let c = compat();
        for row in &c.torch {
            for local in row.variants.iter().chain(&row.pypi_default) {
                let cuda = CudaVersion::from_local(local).unwrap().to_string();
                let py = &row.python[0];
                let v = c.torch(&row.version, Some(&cuda), Some(py)).unwrap();
                assert_eq!(v.cuda.as_deref(), Some(cuda.as_str()));
            }
            assert!(
                c.torch(&row.version, None, row.python.last().map(String::as_str))
                    .is_ok()
            );
        }
    }
}

/// The torch table of the book's Python page, generated from the rows.
#[cfg(test)]
mod book {
    use super::*;

    const PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/book/src/reference/python.md");
    const START: &str = "<!-- torch table: generated from src/compat/data/torch.toml -->\n";
    const END: &str = "<!-- end of the torch table -->\n";

    /// `3.7 to 3.10`, or the list when it has gaps.
    fn pythons(python: &[String]) -> String {
        let minor = |p: &String| p.strip_prefix("3.").and_then(|m| m.parse::<u32>().ok());
        let minors: Vec<u32> = python.iter().filter_map(minor).collect();
        let contiguous = minors.windows(2).all(|w| w[1] == w[0] + 1);
        match (python, contiguous) {
            ([first, .., last], true) if python.len() >= 3 => format!("{first} to {last}"),
            _ => python.join(", "),
        }
    }

    fn cuda(local: &str) -> String {
        CudaVersion::from_local(local).map_or_else(|| local.to_owned(), |c| c.to_string())
    }

    fn table(rows: &[TorchRow]) -> String {
        let mut out = String::from(
            "| torch | torchvision | torchaudio | Python | CUDA on the PyTorch index | PyPI's wheel | checked |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for r in rows {
            let mut index: Vec<String> = r.variants.iter().map(|v| cuda(v)).collect();
            if r.cpu {
                index.push("CPU".into());
            }
            let pypi = match (&r.pypi_default, &r.pypi_nvidia_suffix, r.pypi_bundles_cuda) {
                (Some(d), _, true) => format!("CUDA {} (inside)", cuda(d)),
                (Some(d), Some(s), false) => format!("CUDA {} (nvidia-\\*-{s})", cuda(d)),
                (Some(d), None, false) => format!("CUDA {}", cuda(d)),
                (None, _, _) => "-".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {pypi} | {} |\n",
                r.version,
                r.torchvision.as_deref().unwrap_or("-"),
                r.torchaudio.as_deref().unwrap_or("-"),
                pythons(&r.python),
                if index.is_empty() {
                    "-".into()
                } else {
                    index.join(", ")
                },
                if r.verified { "yes" } else { "partly" },
            ));
        }
        out
    }

    /// Fails when the page's table is not the data's; regenerate with
    /// `MLR_UPDATE_BOOK=1 cargo test --lib compat::torch::book`.
    #[test]
    fn the_books_torch_table_is_the_data() {
        let page = std::fs::read_to_string(PAGE).unwrap();
        let start = page.find(START).expect("the start marker") + START.len();
        let end = page.find(END).expect("the end marker");
        let generated = table(&Compat::builtin().torch);
        if page[start..end] == generated {
            return;
        }
        if std::env::var_os("MLR_UPDATE_BOOK").is_some_and(|v| v == "1") {
            let updated = format!("{}{generated}{}", &page[..start], &page[end..]);
            std::fs::write(PAGE, updated).unwrap();
            return;
        }
        panic!(
            "book/src/reference/python.md: the torch table is stale; run \
             `MLR_UPDATE_BOOK=1 cargo test --lib compat::torch::book`"
        );
    }
}
