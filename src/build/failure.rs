//! A failed build, diagnosed from the failure markers the `RUN` steps mlr
//! renders print ([`crate::render::FAILURE_MARKER`]), never from the text
//! of the commands that failed: a build step may print anything, including
//! words apt uses.

use std::fmt;

use crate::error::{Error, ErrorKind};
use crate::render::{FAILURE_MARKER, FailureKind};

/// How many lines of a failed step's output an error shows.
const TAIL_LINES: usize = 15;

/// The stream of the engine a line of its output came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A `RUN` step mlr rendered that reported its own failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepFailure {
    /// Step `step` (from 1) of `[git.SOURCE] build` exited non-zero.
    BuildStep {
        source: String,
        step: usize,
        /// The step as written in `ml.toml`, when the manifest has it.
        command: Option<String>,
        status: i32,
        /// The last lines of the step's output.
        tail: Vec<String>,
    },
    /// `apt-get download` of the locked versions failed.
    AptDownload {
        status: i32,
        /// The lock's apt snapshot, when its packages come from one.
        snapshot: Option<String>,
        tail: Vec<String>,
    },
    /// A downloaded `.deb` does not match its sha256 in `ml.lock`.
    AptHash { status: i32, tail: Vec<String> },
    /// The `build` steps of git source `source` wrote `path` (the first,
    /// sorted) under `/root` or `/home`.
    UserInstall { source: String, path: String },
    /// pip package `package`, built from source, did not build.
    SourceBuild {
        package: String,
        status: i32,
        tail: Vec<String>,
    },
}

impl StepFailure {
    /// The failure the first marker line in a failed build's `output`
    /// reports (the lines of both streams of the engine, in the order they
    /// came), or `None` when no step mlr rendered reported one. A marker
    /// line starts with [`FAILURE_MARKER`], after the engine's own prefix
    /// at most. `git_builds` gives each git source's `build` steps, to
    /// name the failing command; `apt_snapshot` the lock's apt snapshot.
    pub fn from_output(
        output: &[(Stream, String)],
        git_builds: &[(String, Vec<String>)],
        apt_snapshot: Option<&str>,
    ) -> Option<StepFailure> {
        let lines: Vec<EngineLine> = output
            .iter()
            .map(|(stream, line)| EngineLine::parse(*stream, line))
            .collect();
        lines.iter().enumerate().find_map(|(i, line)| {
            let marker = line.output()?.strip_prefix(FAILURE_MARKER)?;
            let fields = MarkerFields::parse(marker)?;
            let status = || -> Option<i32> { fields.get("status")?.parse().ok() };
            let tail = || step_tail(&lines, i);
            Some(match FailureKind::parse(fields.get("kind")?)? {
                FailureKind::BuildStep => {
                    let source = fields.get("source")?.to_string();
                    let step: usize = fields.get("step")?.parse().ok()?;
                    let status = status()?;
                    let command = git_builds
                        .iter()
                        .find(|(name, _)| *name == source)
                        .and_then(|(_, steps)| steps.get(step.checked_sub(1)?))
                        .cloned();
                    StepFailure::BuildStep {
                        source,
                        step,
                        command,
                        status,
                        tail: tail(),
                    }
                }
                FailureKind::AptDownload => StepFailure::AptDownload {
                    status: status()?,
                    snapshot: apt_snapshot.map(str::to_string),
                    tail: tail(),
                },
                FailureKind::AptHash => StepFailure::AptHash {
                    status: status()?,
                    tail: tail(),
                },
                // The path says what went wrong; the steps' output, which
                // succeeded, adds nothing.
                FailureKind::UserInstall => StepFailure::UserInstall {
                    source: fields.get("source")?.to_string(),
                    path: fields.get("path").filter(|p| !p.is_empty())?.to_string(),
                },
                FailureKind::SourceBuild => StepFailure::SourceBuild {
                    package: fields.get("package")?.to_string(),
                    status: status()?,
                    tail: tail(),
                },
            })
        })
    }

    /// The error, with the remedy where there is one.
    pub fn into_error(self) -> anyhow::Error {
        let hint = match &self {
            StepFailure::BuildStep { .. } => None,
            StepFailure::AptDownload { snapshot: None, .. } => Some(
                "exact apt versions expire on a live mirror; set [apt] snapshot = \"auto\" in \
                 ml.toml and run `mlr lock --update`",
            ),
            StepFailure::AptDownload {
                snapshot: Some(_), ..
            } => Some(
                "a snapshot archive keeps every version it ever served: check that the build \
                 reaches it (an index mirror, a proxy that needs --ca-cert)",
            ),
            StepFailure::AptHash { .. } => Some(
                "the archive serves other bytes under a version ml.lock pins; find out why \
                 before trusting them (`mlr lock --update` pins what it serves now)",
            ),
            StepFailure::UserInstall { .. } => Some(
                "install into the environment: `pip install .` instead of `--user`, or \
                 `python setup.py install` without `--user`",
            ),
            StepFailure::SourceBuild { .. } => Some(
                "the build had only its locked build requirements and the pinned compilers; \
                 a missing module or tool names what to add (`[apt] packages` for a system \
                 library), or pin a version with a wheel",
            ),
        };
        // The typed failure stays in the chain; its kind is a build step's.
        let mut kind = Error::new(ErrorKind::BuildStep, self.to_string());
        kind.hint = hint.map(str::to_string);
        anyhow::Error::new(self).context(kind)
    }

    fn tail(&self) -> &[String] {
        match self {
            StepFailure::BuildStep { tail, .. }
            | StepFailure::AptDownload { tail, .. }
            | StepFailure::AptHash { tail, .. }
            | StepFailure::SourceBuild { tail, .. } => tail,
            StepFailure::UserInstall { .. } => &[],
        }
    }
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepFailure::BuildStep {
                source,
                step,
                command,
                status,
                ..
            } => {
                write!(f, "git source `{source}`: build step {step}")?;
                if let Some(command) = command {
                    write!(f, " (`{command}`)")?;
                }
                write!(f, " exited with status {status}")?;
            }
            StepFailure::AptDownload {
                status,
                snapshot: None,
                ..
            } => write!(
                f,
                "a locked apt package could not be downloaded: `apt-get download` exited with status {status}"
            )?,
            StepFailure::AptDownload {
                status,
                snapshot: Some(snapshot),
                ..
            } => write!(
                f,
                "the apt snapshot archive ({snapshot}) did not serve a locked apt package: \
                 `apt-get download` exited with status {status}"
            )?,
            StepFailure::AptHash { status, .. } => write!(
                f,
                "a downloaded apt package does not match its sha256 in ml.lock: \
                 `sha256sum -c` exited with status {status}"
            )?,
            StepFailure::UserInstall { source, path } => write!(
                f,
                "git source `{source}`: a build step wrote `{path}`, under a home directory; \
                 build steps run as root, not as the image's user, so mlr refuses outputs under \
                 /root and /home"
            )?,
            StepFailure::SourceBuild {
                package, status, ..
            } => write!(
                f,
                "pip package `{package}` did not build from source: `pip wheel` exited with status {status}"
            )?,
        }
        let tail = self.tail();
        if !tail.is_empty() {
            f.write_str("; its last lines of output:")?;
            for line in tail {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for StepFailure {}

/// One line of an engine's build output, with the engine's own decoration
/// taken off: colour codes (docker's classic builder colours a step's
/// stderr) and BuildKit's `#12 0.345 ` prefix of step output.
#[derive(Debug)]
struct EngineLine {
    stream: Stream,
    /// The BuildKit step the line belongs to (`#12`).
    step: Option<u32>,
    /// Whether the line is a step's own output (not BuildKit's
    /// `#12 [stage 2/4] RUN …`, `#12 DONE 0.3s`).
    is_output: bool,
    text: String,
}

impl EngineLine {
    fn parse(stream: Stream, line: &str) -> EngineLine {
        let text = without_escape_codes(line.trim_end_matches('\r'));
        let Some((step, rest)) = buildkit_step(&text) else {
            return EngineLine {
                stream,
                step: None,
                is_output: true,
                text,
            };
        };
        match buildkit_time(rest) {
            Some(output) => EngineLine {
                stream,
                step: Some(step),
                is_output: true,
                text: output.to_string(),
            },
            None => EngineLine {
                stream,
                step: Some(step),
                is_output: false,
                text: rest.to_string(),
            },
        }
    }

    fn output(&self) -> Option<&str> {
        self.is_output.then_some(self.text.as_str())
    }

    /// A line the engine writes between steps: a step's start in the
    /// classic builder (`Step 3/9 : RUN`, ` ---> Running in …`) or in
    /// buildah (`STEP 3/9: RUN`, `[2/3] STEP 1/4: FROM`), or the classic
    /// builder removing a step's container (`Removing intermediate
    /// container …`, also after a failed step with `--force-rm`).
    fn starts_a_step(&self) -> bool {
        let t = self.text.as_str();
        let t = match t.strip_prefix('[').and_then(|r| r.split_once("] ")) {
            Some((stage, rest)) if is_fraction(stage) => rest,
            _ => t,
        };
        let numbered = |prefix: &str, sep: &str| {
            t.strip_prefix(prefix)
                .and_then(|r| r.split_once(sep))
                .is_some_and(|(n, _)| is_fraction(n))
        };
        numbered("Step ", " : ")
            || numbered("STEP ", ": ")
            || t.starts_with(" ---> ")
            || t.starts_with("Removing intermediate container ")
    }
}

/// The last lines the step whose marker is `lines[marker]` printed.
///
/// A step's stdout and stderr travel apart from the container to the
/// engine and arrive in no fixed order, so some of the step's output may
/// come after its marker (which the step prints last, on stderr).
/// BuildKit tags each line with its step: that step's output lines around
/// the marker. The classic builder and buildah (and podman) print a header
/// before each step: the lines from the step's header, and after the
/// marker those on the engine's stdout, where the step's output goes (the
/// classic builder sends all of it there; buildah the step's stdout),
/// while the engine's own report of the failure is on its stderr.
fn step_tail(lines: &[EngineLine], marker: usize) -> Vec<String> {
    let (before, after) = (&lines[..marker], &lines[marker + 1..]);
    let mut tail: Vec<&EngineLine> = Vec::new();
    if let Some(step) = lines[marker].step {
        let of_step = |l: &&EngineLine| l.step == Some(step);
        tail.extend(
            before
                .iter()
                .rev()
                .filter(of_step)
                .take_while(|l| l.is_output),
        );
        tail.reverse();
        tail.extend(after.iter().filter(of_step).take_while(|l| l.is_output));
    } else {
        let starts = |l: &EngineLine| l.step.is_some() || l.starts_a_step();
        let start = before
            .iter()
            .rposition(starts)
            .map_or(0, |header| header + 1);
        tail.extend(&before[start..]);
        tail.extend(
            after
                .iter()
                .take_while(|l| !starts(l))
                .filter(|l| l.stream == Stream::Stdout),
        );
    }
    let tail: Vec<String> = tail
        .into_iter()
        .map(|l| l.text.as_str())
        .filter(|t| !t.trim().is_empty() && !t.starts_with(FAILURE_MARKER))
        .map(str::to_string)
        .collect();
    tail[tail.len().saturating_sub(TAIL_LINES)..].to_vec()
}

/// `key=value` words after the marker; a `path=` field comes last and
/// runs to the end of the line (a path may hold spaces).
struct MarkerFields<'a>(Vec<(&'a str, &'a str)>);

impl<'a> MarkerFields<'a> {
    fn parse(rest: &'a str) -> Option<MarkerFields<'a>> {
        let mut fields = Vec::new();
        let mut rest = rest.trim_start();
        while !rest.is_empty() {
            if let Some(path) = rest.strip_prefix("path=") {
                fields.push(("path", path.trim_end()));
                break;
            }
            let (word, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            fields.push(word.split_once('=')?);
            rest = after.trim_start();
        }
        Some(MarkerFields(fields))
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// `line` without ANSI CSI sequences (`ESC [ … final`).
fn without_escape_codes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// BuildKit's `#12 ` step prefix: the step and the rest of the line.
fn buildkit_step(line: &str) -> Option<(u32, &str)> {
    let (id, rest) = line.strip_prefix('#')?.split_once(' ')?;
    Some((id.parse().ok()?, rest))
}

/// The output after BuildKit's `0.345 ` time prefix, if there is one.
fn buildkit_time(rest: &str) -> Option<&str> {
    let (time, output) = rest.split_once(' ').unwrap_or((rest, ""));
    let (secs, frac) = time.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(secs) && digits(frac)).then_some(output)
}

/// `3/9`.
fn is_fraction(s: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    s.split_once('/')
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines on one stream.
    fn on(stream: Stream, text: &str) -> Vec<(Stream, String)> {
        text.lines().map(|l| (stream, l.to_string())).collect()
    }

    fn lines(text: &str) -> Vec<(Stream, String)> {
        on(Stream::Stdout, text)
    }

    fn builds() -> Vec<(String, Vec<String>)> {
        vec![(
            "kernels".to_string(),
            vec![
                "echo compiling".to_string(),
                "echo \"E: Unable to locate package foo (libfoo.deb not found by apt)\"; exit 1"
                    .to_string(),
            ],
        )]
    }

    const RUN: &str = r#"RUN set -e;     trap 'mlr_status=$?; trap - EXIT; if [ "$mlr_status" -ne 0 ]; then echo "mlr-failure: kind=build-step source=kernels step=$mlr_step status=$mlr_status" >&2; fi; exit "$mlr_status"' EXIT;     mlr_step=1; (cd /opt/mlr/git/kernels; echo compiling);     mlr_step=2; (cd /opt/mlr/git/kernels; echo "E: Unable to locate package foo (libfoo.deb not found by apt)"; exit 1);     trap - EXIT"#;

    fn expected() -> StepFailure {
        StepFailure::BuildStep {
            source: "kernels".into(),
            step: 2,
            command: Some(builds()[0].1[1].clone()),
            status: 1,
            tail: vec![
                "compiling".into(),
                "E: Unable to locate package foo (libfoo.deb not found by apt)".into(),
            ],
        }
    }

    /// docker's classic builder: the step's stdout and stderr (in colour)
    /// on the client's stdout, in either order; the command (with the
    /// marker's text in it) echoed around them.
    #[test]
    fn docker_classic_output() {
        let header = lines(&format!(
            "Sending build context to Docker daemon  3.584kB\n\
             Step 1/4 : FROM mlr-probe:busybox AS first\n\
             \x20---> 7beb7e5f6217\n\
             Step 2/4 : RUN echo first stage\n\
             \x20---> Running in 997fd37fc9a1\n\
             first stage\n\
             Removing intermediate container 997fd37fc9a1\n\
             \x20---> b831a97777fb\n\
             Step 4/4 : {RUN}\n\
             \x20---> Running in 75f08ac76510\n"
        ));
        let step_stdout = lines(
            "compiling\n\
             E: Unable to locate package foo (libfoo.deb not found by apt)\n",
        );
        let marker = lines(
            "\x1b[91mmlr-failure: kind=build-step source=kernels step=2 status=1\n\
             \x1b[0m",
        );
        // With `--force-rm` the failed step's container goes too.
        let removed = lines("Removing intermediate container 75f08ac76510\n");
        // The client's own report, on stderr.
        let report = on(
            Stream::Stderr,
            &format!(
                "The command '/bin/sh -c {}' returned a non-zero code: 1\n",
                &RUN[4..]
            ),
        );
        for order in [
            [&header, &step_stdout, &marker, &removed, &report],
            [&header, &marker, &step_stdout, &removed, &report],
        ] {
            let output: Vec<(Stream, String)> = order.into_iter().flatten().cloned().collect();
            assert_eq!(
                StepFailure::from_output(&output, &builds(), None),
                Some(expected()),
                "{output:?}"
            );
        }
    }

    /// BuildKit's plain progress: step output prefixed with `#N time`
    /// (the step's stderr may overtake its stdout), and the failed command
    /// repeated in the summary.
    #[test]
    fn buildkit_plain_output() {
        let output = on(
            Stream::Stderr,
            &format!(
                "#5 [first 2/2] RUN echo first stage\n\
                 #5 sha256:1ec3213620620e2a9712086c2fa054e88e93ca377fbf113286da72f0d97f9a9a\n\
                 #5 0.133 first stage\n\
                 #5 DONE 0.2s\n\
                 \n\
                 #6 [stage-1 1/1] {RUN}\n\
                 #6 sha256:ece4436afde04d8c81cd94b01d763e27c54dff1e10a0145133a749ed82b29974\n\
                 #7 [mlr-pip-packages 1/2] COPY pip/packages /tmp/mlr-pip\n\
                 #6 0.229 compiling\n\
                 #7 0.230 interleaved from another stage\n\
                 #6 0.229 mlr-failure: kind=build-step source=kernels step=2 status=1\n\
                 #6 0.229 E: Unable to locate package foo (libfoo.deb not found by apt)\n\
                 #6 ERROR: executor failed running [/bin/sh -c {0}]: exit code: 1\n\
                 ------\n\
                 \x20> [stage-1 1/1] {RUN}:\n\
                 ------\n\
                 executor failed running [/bin/sh -c {0}]: exit code: 1\n",
                &RUN[4..]
            ),
        );
        assert_eq!(
            StepFailure::from_output(&output, &builds(), None),
            Some(expected())
        );
    }

    /// buildah: the step's stdout and stderr on buildah's own two
    /// streams, which arrive in either order; the failed command repeated
    /// after.
    #[test]
    fn buildah_output() {
        let header = |output: &mut Vec<(Stream, String)>| {
            output.extend(lines(&format!(
                "[1/2] STEP 1/2: FROM localhost/mlr-probe:busybox AS first\n\
                 [1/2] STEP 2/2: RUN echo first stage\n\
                 first stage\n\
                 --> eb5dcf31ed2\n\
                 [2/2] STEP 1/2: FROM eb5dcf31ed235f715f24d0074845f761c3fd126e5c7802a565890afb61ee6ded\n\
                 [2/2] STEP 2/2: {RUN}\n"
            )));
        };
        let step_stdout = lines(
            "compiling\n\
             E: Unable to locate package foo (libfoo.deb not found by apt)\n",
        );
        let step_stderr = on(
            Stream::Stderr,
            &format!(
                "mlr-failure: kind=build-step source=kernels step=2 status=1\n\
                 subprocess exited with status 1\n\
                 Error: building at STEP \"{RUN}\": exit status 1\n"
            ),
        );
        // The step's stdout first, or after buildah's report on stderr.
        let mut in_order = Vec::new();
        header(&mut in_order);
        in_order.extend(step_stdout.clone());
        in_order.extend(step_stderr.clone());
        let mut late = Vec::new();
        header(&mut late);
        late.extend(step_stderr);
        late.extend(step_stdout);
        for output in [in_order, late] {
            assert_eq!(
                StepFailure::from_output(&output, &builds(), None),
                Some(expected()),
                "{output:?}"
            );
        }
    }

    #[test]
    fn the_text_of_a_failing_command_is_no_diagnosis() {
        // apt's own words, printed by anything, and the marker's text in
        // the middle of a line (an echoed command) are not markers.
        let output = lines(
            "Step 4/4 : RUN make\n\
             E: Version '1.2-1' for 'mlr-dep' was not found\n\
             E: Can't find a source to download version '1.2-1' of 'mlr-dep:all'\n\
             + echo \"mlr-failure: kind=apt-download status=100\"\n\
             \x20 mlr-failure: kind=apt-download status=100\n\
             The command '/bin/sh -c make' returned a non-zero code: 2\n",
        );
        assert_eq!(StepFailure::from_output(&output, &builds(), None), None);
        // A malformed marker is no marker either.
        let output = lines("mlr-failure: kind=apt-download\nmlr-failure: kind=nope status=1\n");
        assert_eq!(StepFailure::from_output(&output, &builds(), None), None);
    }

    #[test]
    fn apt_markers_and_their_messages() {
        let output = lines(
            "Step 5/9 : RUN set -eu; ...\n\
             \x20---> Running in 0123456789ab\n\
             Get:1 http://127.0.0.1:8080/debian bookworm InRelease\n\
             E: Version '1.2-1' for 'mlr-dep' was not found\n\
             \x1b[91mmlr-failure: kind=apt-download status=100\n",
        );
        let failure = StepFailure::from_output(&output, &[], None).unwrap();
        assert_eq!(
            failure,
            StepFailure::AptDownload {
                status: 100,
                snapshot: None,
                tail: vec![
                    "Get:1 http://127.0.0.1:8080/debian bookworm InRelease".into(),
                    "E: Version '1.2-1' for 'mlr-dep' was not found".into(),
                ],
            }
        );
        assert_eq!(
            crate::error::render(&failure.into_error(), false),
            "error: a locked apt package could not be downloaded: `apt-get download` exited with status 100; its last lines of output:\n\
             \x20   Get:1 http://127.0.0.1:8080/debian bookworm InRelease\n\
             \x20   E: Version '1.2-1' for 'mlr-dep' was not found\n\
             hint: exact apt versions expire on a live mirror; set [apt] snapshot = \"auto\" in ml.toml and run `mlr lock --update`\n"
        );

        // From a snapshot: no advice to use one.
        let failure = StepFailure::from_output(&output, &[], Some("20250520T000000Z")).unwrap();
        let text = crate::error::render(&failure.into_error(), false);
        assert!(
            text.starts_with(
                "error: the apt snapshot archive (20250520T000000Z) did not serve a locked apt package"
            ),
            "{text}"
        );
        assert!(!text.contains("[apt] snapshot"), "{text}");

        let output = lines(
            "#9 12.5 git_1%3a2.39.2-1.1_amd64.deb: FAILED\n\
             #9 12.5 sha256sum: WARNING: 1 computed checksum did NOT match\n\
             #9 12.5 mlr-failure: kind=apt-hash status=1\n",
        );
        let failure = StepFailure::from_output(&output, &[], None).unwrap();
        assert!(matches!(failure, StepFailure::AptHash { status: 1, .. }));
        let text = crate::error::render(&failure.into_error(), false);
        assert!(
            text.starts_with(
                "error: a downloaded apt package does not match its sha256 in ml.lock"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n    git_1%3a2.39.2-1.1_amd64.deb: FAILED\n"),
            "{text}"
        );
        assert!(!text.contains("snapshot"), "{text}");
    }

    #[test]
    fn a_build_step_failure_names_the_source_the_step_and_the_command() {
        let text = crate::error::render(&expected().into_error(), false);
        assert_eq!(
            text,
            "error: git source `kernels`: build step 2 (`echo \"E: Unable to locate package foo (libfoo.deb not found by apt)\"; exit 1`) exited with status 1; its last lines of output:\n\
             \x20   compiling\n\
             \x20   E: Unable to locate package foo (libfoo.deb not found by apt)\n"
        );
        // A step the manifest does not have (an edited ml.toml): no command.
        let output = lines("mlr-failure: kind=build-step source=kernels step=7 status=2\n");
        let failure = StepFailure::from_output(&output, &builds(), None).unwrap();
        assert_eq!(
            failure.to_string(),
            "git source `kernels`: build step 7 exited with status 2"
        );
    }

    #[test]
    fn a_home_directory_output_names_the_source_the_path_and_the_remedy() {
        let output = lines(
            "STEP 9/12: RUN set -e; ...\n\
             compiling\n\
             \x1b[91mmlr-failure: kind=user-install source=ext path=/root/.local/lib/python3.11/site-packages/my ext.py\n",
        );
        let failure = StepFailure::from_output(&output, &builds(), None).unwrap();
        assert_eq!(
            failure,
            StepFailure::UserInstall {
                source: "ext".into(),
                path: "/root/.local/lib/python3.11/site-packages/my ext.py".into(),
            }
        );
        // No status and no output lines: the path is the diagnosis.
        assert_eq!(
            crate::error::render(&failure.into_error(), false),
            "error: git source `ext`: a build step wrote `/root/.local/lib/python3.11/site-packages/my ext.py`, \
             under a home directory; build steps run as root, not as the image's user, so mlr refuses \
             outputs under /root and /home\n\
             hint: install into the environment: `pip install .` instead of `--user`, or \
             `python setup.py install` without `--user`\n"
        );
        // Without a source or a path it is no marker.
        for line in [
            "mlr-failure: kind=user-install path=/root/x\n",
            "mlr-failure: kind=user-install source=ext path=\n",
            "mlr-failure: kind=user-install source=ext\n",
        ] {
            assert_eq!(
                StepFailure::from_output(&lines(line), &[], None),
                None,
                "{line}"
            );
        }
    }
}
