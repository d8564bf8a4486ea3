//! Command-line arguments. Thin: each subcommand's flags become the options
//! of one operation in [`crate::ops`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::ops::{self, Format, Workspace};
use crate::shell::{ColorChoice, Shell, Verbosity};

#[derive(Debug, Parser)]
#[command(
    name = "mlr",
    version,
    about = "Reproducible machine-learning container environments",
    long_about = "mlr pins every moving part of an ML container environment.\n\n\
        Write ml.toml (base image, git sources, env, image settings), run `mlr lock` \
        to pin digests and commits into ml.lock, `mlr build` to build the image from \
        the lock alone, and `mlr verify` in CI to fail on drift.",
    after_help = "Exit codes: 0 success, 1 drift or stale lock found, 2 error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Path to ml.toml [default: the nearest ml.toml upward from the current directory]
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// When to use colours
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
    /// Print nothing but errors and requested output
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Do not use the network; work from the lock and the cache
    #[arg(long, global = true)]
    pub offline: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    Docker,
    Buildah,
    Podman,
}

impl From<BackendArg> for crate::build::BackendKind {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Docker => Self::Docker,
            BackendArg::Buildah => Self::Buildah,
            BackendArg::Podman => Self::Podman,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FromKindArg {
    Dockerfile,
    Requirements,
    Pyproject,
    Conda,
}

impl From<FromKindArg> for crate::import::SourceKind {
    fn from(k: FromKindArg) -> Self {
        match k {
            FromKindArg::Dockerfile => Self::Dockerfile,
            FromKindArg::Requirements => Self::Requirements,
            FromKindArg::Pyproject => Self::Pyproject,
            FromKindArg::Conda => Self::Conda,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum FormatArg {
    #[default]
    Text,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented ml.toml in the current directory
    #[command(long_about = "Write a commented ml.toml in the current directory.\n\n\
        With --from, translate an existing project's file: a Dockerfile, a pip requirements \
        file, a pyproject.toml or a conda environment.yml. What has no ml.toml equivalent \
        is kept as comments that quote the file's lines.")]
    Init {
        /// Overwrite an existing ml.toml
        #[arg(long)]
        force: bool,
        /// Translate this Dockerfile, requirements file, pyproject.toml or environment.yml
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        /// What --from is, when its name does not say [default: from the name, then the content]
        #[arg(long, value_enum, value_name = "KIND", requires = "from")]
        from_kind: Option<FromKindArg>,
    },
    /// Resolve ml.toml and write ml.lock, keeping every pin that still satisfies it
    #[command(long_about = "Resolve ml.toml and write ml.lock.\n\n\
        Existing pins that still satisfy ml.toml are kept (minimal change); only new or \
        changed requirements are resolved. Nothing is written when the lock is unchanged.")]
    Lock(LockArgs),
    /// Render the Dockerfile from ml.lock (no network)
    Dockerfile {
        /// Write to PATH instead of standard output
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
    },
    /// Render the Dockerfile and build the image from ml.lock
    Build(BuildArgs),
    /// Check offline that ml.lock satisfies ml.toml, is canonical, and matches a committed Dockerfile
    Verify {
        /// Output format
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
    },
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Re-resolve only these entries (`base`, git source names), or everything when no name is given
    #[arg(long, num_args = 0.., value_name = "NAME")]
    pub update: Option<Vec<String>>,
    /// Resolve but write nothing; exit 1 if ml.lock would change
    #[arg(long, conflicts_with_all = ["locked", "frozen"])]
    pub check: bool,
    /// Fail with exit 1 instead of changing ml.lock
    #[arg(long)]
    pub locked: bool,
    /// --locked and --offline
    #[arg(long)]
    pub frozen: bool,
    /// Output format (with --check)
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Image tag [default: <project name>:<lock hash>]
    #[arg(short, long, value_name = "REF")]
    pub tag: Option<String>,
    /// Container engine to build with [default: docker if its engine answers, else buildah, else podman]
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub backend: Option<BackendArg>,
    /// Build every layer afresh (also re-fetches apt packages from their archive)
    #[arg(long)]
    pub no_cache: bool,
    /// Profile to build: prod (default) or a [profile.NAME] of ml.toml, whose packages come in layers after prod's
    #[arg(long, value_name = "PROFILE", default_value = "prod")]
    pub profile: String,
    /// Extra CA certificate (PEM) the build must trust, e.g. a corporate
    /// proxy's; repeatable, added to those in MLR_CA_CERTS (a path list).
    /// It reaches every RUN step through a secret mount (BuildKit or
    /// buildah) and no layer of the image
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<std::path::PathBuf>,
    /// After the build, push the tag to the registry it names (host[:port]/repo:tag); prints `repo@sha256:…` of the pushed manifest on stdout
    #[arg(long)]
    pub push: bool,
    /// Locked platform to build (linux/amd64, linux/arm64): its pip files and base manifest [default: the host's, when locked]
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
}

/// Run the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    let verbosity = if g.quiet {
        Verbosity::Quiet
    } else if g.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let color = match g.color {
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    };
    let frozen = matches!(&cli.command, Command::Lock(a) if a.frozen);
    let mut config = Config::new(g.offline || frozen, Shell::new(verbosity, color));
    let settings = crate::settings::load()?;
    config.mirrors = settings.mirrors;
    config.net = settings.net;
    let workspace = || Workspace::locate(g.manifest_path.as_deref());
    match &cli.command {
        Command::Init {
            force,
            from,
            from_kind,
        } => match from {
            Some(path) => ops::init::run_from(&config, *force, path, from_kind.map(Into::into)),
            None => ops::init::run(&config, *force),
        },
        Command::Lock(a) => {
            let mode = if a.check {
                ops::lock::LockMode::Check
            } else if a.frozen {
                ops::lock::LockMode::Frozen
            } else if a.locked {
                ops::lock::LockMode::Locked
            } else {
                ops::lock::LockMode::Write
            };
            ops::lock::run(
                &workspace()?,
                &config,
                &ops::lock::LockOptions {
                    mode,
                    update: a.update.clone(),
                    format: a.format.into(),
                },
            )
        }
        Command::Dockerfile { output } => {
            ops::dockerfile::run(&workspace()?, &config, output.as_deref())
        }
        Command::Build(a) => ops::build::run(
            &workspace()?,
            &config,
            &ops::build::BuildOptions {
                tag: a.tag.clone(),
                backend: a.backend.map(Into::into),
                no_cache: a.no_cache,
                profile: (a.profile != "prod").then(|| a.profile.clone()),
                ca_certs: a
                    .ca_certs
                    .iter()
                    .cloned()
                    .chain(
                        std::env::var_os("MLR_CA_CERTS")
                            .map(|v| std::env::split_paths(&v).collect::<Vec<_>>())
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|p| !p.as_os_str().is_empty()),
                    )
                    .collect(),
                platform: a.platform.clone(),
                push: a.push,
            },
        ),
        Command::Verify { format } => ops::verify::run(&workspace()?, &config, (*format).into()),
    }
}

/// Whether errors should be coloured, decided before parsing succeeds.
pub fn color_for_errors(args: &[std::ffi::OsString]) -> bool {
    let always = args.iter().any(|a| a == "--color=always")
        || args
            .windows(2)
            .any(|w| w[0] == "--color" && w[1] == "always");
    let never = args.iter().any(|a| a == "--color=never")
        || args
            .windows(2)
            .any(|w| w[0] == "--color" && w[1] == "never");
    if always {
        return true;
    }
    !never && Shell::new(Verbosity::Normal, ColorChoice::Auto).color()
}
