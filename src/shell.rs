//! Status output on stderr, in cargo's style (`    Locking base …`), honouring
//! `--quiet`, `--verbose` and `--color`. Everything passes through credential
//! redaction.

use std::io::{IsTerminal, Write};

use crate::redact::redact_text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Where status and warnings go.
#[derive(Debug, Clone)]
pub struct Shell {
    verbosity: Verbosity,
    color: bool,
}

impl Shell {
    pub fn new(verbosity: Verbosity, choice: ColorChoice) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        Shell { verbosity, color }
    }

    pub fn color(&self) -> bool {
        self.color
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// `   Verb message`, right-aligned verb, green when coloured.
    pub fn status(&self, verb: &str, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            self.print_status(verb, message.as_ref(), "\x1b[1;32m");
        }
    }

    /// Printed only with `--verbose`.
    pub fn verbose(&self, verb: &str, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Verbose {
            self.print_status(verb, message.as_ref(), "\x1b[1;36m");
        }
    }

    /// `warning: message`, shown unless `--quiet`.
    pub fn warn(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            let (on, off) = if self.color {
                ("\x1b[1;33m", "\x1b[0m")
            } else {
                ("", "")
            };
            let _ = writeln!(
                std::io::stderr(),
                "{on}warning{off}: {}",
                redact_text(message.as_ref())
            );
        }
    }

    /// A line of a child process's output (docker build), shown unless quiet.
    pub fn passthrough(&self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            let _ = writeln!(std::io::stderr(), "{}", redact_text(line));
        }
    }

    fn print_status(&self, verb: &str, message: &str, style: &str) {
        let (on, off) = if self.color {
            (style, "\x1b[0m")
        } else {
            ("", "")
        };
        let _ = writeln!(
            std::io::stderr(),
            "{on}{verb:>12}{off} {}",
            redact_text(message)
        );
    }
}
