//! Which real services this machine offers, checked once per test binary.

use std::env;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A real peer a test can depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// `docker-registry` (distribution 2.8) to serve, and `/bin/busybox`
    /// (busybox-static) to build the runnable images pushed to it.
    Registry,
    /// A reachable container engine: `docker info` succeeds.
    Docker,
    /// The `git` CLI.
    Git,
    /// `htpasswd` (apache2-utils), for registries behind basic auth.
    Htpasswd,
    /// A debootstrapped Debian bookworm rootfs named by
    /// `MLR_TEST_DEBIAN_ROOTFS` (see `support::debian_rootfs`), and the
    /// GNU `tar` that packs it into an image.
    DebianRootfs,
    /// PyPI over HTTPS (the system certificate store, as mlr uses it), for
    /// fetching uv and for the live smoke test.
    PyPI,
    /// Debian's archive tools for `support::AptRepo`: `dpkg-deb`, and
    /// `dpkg-scanpackages` (dpkg-dev) or `apt-ftparchive` (apt-utils) to
    /// write the indexes; `apt-get` to read them as a client.
    AptTools,
    /// `buildah` (apt-get install buildah), able to build: `buildah version`
    /// runs. Tests give it their own `--root`/`--runroot` through
    /// `MLR_BUILDAH_ROOT`/`MLR_BUILDAH_RUNROOT`.
    Buildah,
    /// `openssl` and `python3` (apt-get install openssl python3), for a
    /// test CA and an HTTPS server (`support::TestCa`).
    OpenSsl,
    /// `podman` (apt-get install podman), able to build: `podman version`
    /// runs. Tests give it their own `--root`/`--runroot` through
    /// `MLR_PODMAN_ROOT`/`MLR_PODMAN_RUNROOT`.
    Podman,
    /// A standalone CPython tarball (python-build-standalone's
    /// `install_only` layout) named by `MLR_TEST_STANDALONE_PYTHON` (see
    /// `support::standalone_python`), and the GNU `tar` that unpacks it.
    StandalonePython,
    /// A host `python3` that makes venvs with pip in them (apt-get install
    /// python3-venv), its C headers (`Python.h`; apt-get install
    /// python3-dev) and the C compiler it builds extensions with (its
    /// `sysconfig` `CC`; apt-get install gcc): what setuptools needs to
    /// build a C extension from an sdist.
    PythonDev,
}

impl Service {
    fn check(self) -> Result<(), String> {
        match self {
            Service::Registry => {
                find_program("docker-registry")
                    .ok_or("`docker-registry` is not on PATH (apt-get install docker-registry)")?;
                busybox()
                    .ok_or("no static busybox at /bin/busybox (apt-get install busybox-static)")?;
                Ok(())
            }
            Service::Docker => runs(
                "docker",
                &["info", "--format", "{{.ServerVersion}}"],
                "the docker CLI: apt-get install docker.io; dockerd must answer",
            ),
            Service::Git => find_program("git")
                .map(drop)
                .ok_or_else(|| "`git` is not on PATH (apt-get install git)".to_owned()),
            Service::Htpasswd => find_program("htpasswd").map(drop).ok_or_else(|| {
                "`htpasswd` is not on PATH (apt-get install apache2-utils)".to_owned()
            }),
            Service::DebianRootfs => {
                find_program("tar").ok_or("`tar` is not on PATH (apt-get install tar)")?;
                super::debian::debian_rootfs_checked().map(drop)
            }
            Service::PyPI => runs(
                "curl",
                &[
                    "-fsS",
                    "-o",
                    "/dev/null",
                    "--max-time",
                    "30",
                    "https://pypi.org/simple/uv/",
                ],
                "curl: apt-get install curl; PyPI must be reachable",
            ),
            Service::AptTools => {
                find_program("dpkg-deb")
                    .ok_or("`dpkg-deb` is not on PATH (apt-get install dpkg)")?;
                find_program("apt-get").ok_or("`apt-get` is not on PATH (a Debian host has it)")?;
                super::aptrepo::IndexTool::available()
                    .map(drop)
                    .ok_or_else(|| {
                        "neither `dpkg-scanpackages` nor `apt-ftparchive` is on PATH \
                     (apt-get install dpkg-dev apt-utils)"
                            .to_owned()
                    })
            }
            Service::Buildah => runs("buildah", &["version"], "apt-get install buildah"),
            Service::Podman => runs("podman", &["version"], "apt-get install podman"),
            Service::StandalonePython => {
                find_program("tar").ok_or("`tar` is not on PATH (apt-get install tar)")?;
                super::standalone_python::standalone_python_checked().map(drop)
            }
            Service::PythonDev => python_dev(),
            Service::OpenSsl => {
                find_program("openssl")
                    .ok_or("`openssl` is not on PATH (apt-get install openssl)")?;
                find_program("python3")
                    .map(drop)
                    .ok_or_else(|| "`python3` is not on PATH (apt-get install python3)".to_owned())
            }
        }
    }

    fn availability(self) -> &'static Result<(), String> {
        static CELLS: [OnceLock<Result<(), String>>; 12] = [const { OnceLock::new() }; 12];
        let index = match self {
            Service::Registry => 0,
            Service::Docker => 1,
            Service::Git => 2,
            Service::Htpasswd => 3,
            Service::DebianRootfs => 4,
            Service::PyPI => 5,
            Service::AptTools => 6,
            Service::Buildah => 7,
            Service::Podman => 8,
            Service::OpenSsl => 9,
            Service::StandalonePython => 10,
            Service::PythonDev => 11,
        };
        CELLS[index].get_or_init(|| self.check())
    }
}

/// True when `service` is usable. Otherwise prints `SKIP <test>: <reason>`
/// and returns false, or panics when `MLR_TEST_SERVICES=1` demands every
/// service.
pub fn require(service: Service) -> bool {
    let Err(reason) = service.availability() else {
        return true;
    };
    if env::var_os("MLR_TEST_SERVICES").is_some_and(|v| v == "1") {
        panic!("MLR_TEST_SERVICES=1 but {reason}");
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<test>");
    // Straight to stderr, past libtest's capture, so skips show in every run.
    let _ = writeln!(std::io::stderr(), "SKIP {test}: {reason}");
    false
}

/// `program` is on PATH and `program args…` succeeds.
fn runs(program: &str, args: &[&str], needs: &str) -> Result<(), String> {
    find_program(program).ok_or_else(|| format!("`{program}` is not on PATH ({needs})"))?;
    let shown = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{shown}` failed ({needs}): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// [`Service::PythonDev`]: `python3` makes a venv whose pip runs, its
/// `Python.h` exists, and its compiler is on PATH.
fn python_dev() -> Result<(), String> {
    const CHECK: &str = "import os, sysconfig\n\
        h = os.path.join(sysconfig.get_paths()['include'], 'Python.h')\n\
        print(h if os.path.isfile(h) else '')\n\
        print((sysconfig.get_config_var('CC') or 'cc').split()[0])\n";
    find_program("python3").ok_or("`python3` is not on PATH (apt-get install python3)")?;
    let run = |program: &Path, args: &[&std::ffi::OsStr]| {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))
    };
    let out = run(Path::new("python3"), &["-c".as_ref(), CHECK.as_ref()])?;
    if !out.status.success() {
        return Err(format!(
            "`python3 -c 'import sysconfig'` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    if lines.next().unwrap_or_default().is_empty() {
        return Err("python3 has no Python.h (apt-get install python3-dev)".to_owned());
    }
    let cc = lines.next().unwrap_or("cc");
    if find_program(cc).is_none() && !Path::new(cc).is_file() {
        return Err(format!(
            "`{cc}`, the C compiler of python3, is not on PATH (apt-get install gcc)"
        ));
    }
    // Debian's python3 has `venv` but makes no venv without python3-venv.
    let dir = tempfile::tempdir().map_err(|e| format!("create a tempdir: {e}"))?;
    let venv = dir.path().join("venv");
    let made = run(
        Path::new("python3"),
        &["-m".as_ref(), "venv".as_ref(), venv.as_ref()],
    )?;
    let pip = run(
        &venv.join("bin/python"),
        &["-m".as_ref(), "pip".as_ref(), "--version".as_ref()],
    );
    if !made.status.success() || !pip.is_ok_and(|out| out.status.success()) {
        return Err(format!(
            "`python3 -m venv` makes no venv with pip in it (apt-get install python3-venv): {}",
            String::from_utf8_lossy(&made.stderr).trim()
        ));
    }
    Ok(())
}

/// The static busybox used as the rootfs of pushed images.
pub(crate) fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
