//! The `mlr` binary: parse arguments, run, render errors, map exit codes
//! (0 success, 1 drift, 2 error).

use clap::Parser;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let color = mlr::cli::color_for_errors(&args);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match mlr::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match mlr::cli::run(cli) {
        Ok(()) => 0,
        Err(err) => {
            eprint!("{}", mlr::error::render(&err, color));
            mlr::error::kind_of(&err).exit_code()
        }
    };
    std::process::exit(code);
}
