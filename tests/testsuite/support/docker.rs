//! The `docker` CLI against the machine's engine (Docker 20.10, classic
//! builder only: there is no buildx plugin).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `docker <args>` with empty stdin and returns its output, whatever
/// the exit status.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run docker {}: {e}", args.join(" ")))
}

/// `docker run --rm <image> <cmd>` (pulling the image if needed); returns
/// stdout, panics with stderr on failure.
pub fn docker_run(image: &str, cmd: &[&str]) -> String {
    let mut args = vec!["run", "--rm", image];
    args.extend_from_slice(cmd);
    let out = docker(&args);
    assert!(
        out.status.success(),
        "docker {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("docker run printed UTF-8")
}

/// `docker build` with the classic builder: the Dockerfile text comes on
/// stdin, the context is `context`, the result is tagged `tag`. Returns the
/// build log; panics with it on failure.
pub fn docker_build(context: &Path, dockerfile: &str, tag: &str) -> String {
    docker_build_with(context, dockerfile, tag, &[])
}

/// [`docker_build`] with `extra_args` before the context, e.g.
/// `["--network", "host"]` so the build reaches services on 127.0.0.1.
pub fn docker_build_with(
    context: &Path,
    dockerfile: &str,
    tag: &str,
    extra_args: &[&str],
) -> String {
    let mut child = Command::new("docker")
        .args(["build", "-t", tag, "-f", "-"])
        .args(extra_args)
        .arg(context)
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run docker build");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(dockerfile.as_bytes())
        .expect("send Dockerfile to docker build");
    let out = child.wait_with_output().expect("wait for docker build");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "docker build -t {tag} failed ({}):\n{log}",
        out.status
    );
    log
}

/// Removes the named images from the engine when dropped, so tests do not
/// fill the engine's storage; removal failures are ignored.
pub struct ImageCleanup(Vec<String>);

impl ImageCleanup {
    pub fn new<I, S>(images: I) -> ImageCleanup
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ImageCleanup(images.into_iter().map(Into::into).collect())
    }

    pub fn add(&mut self, image: impl Into<String>) {
        self.0.push(image.into());
    }

    /// `tag`, and every image `project`'s ml.lock pins
    /// (`registry/repository@digest`), which the engine pulls by digest
    /// for the build and keeps otherwise.
    pub fn for_build(tag: &str, project: &super::Project) -> ImageCleanup {
        let mut cleanup = ImageCleanup::new([tag]);
        let text = project.read("ml.lock");
        let lock = mlr::lock::parse(&text, "ml.lock").expect("the lock mlr wrote reads");
        for image in &lock.lock.images {
            cleanup.add(format!(
                "{}/{}@{}",
                image.registry, image.repository, image.digest
            ));
        }
        cleanup
    }
}

impl Drop for ImageCleanup {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let mut args = vec!["image", "rm", "--force"];
        args.extend(self.0.iter().map(String::as_str));
        let _ = docker(&args);
    }
}
