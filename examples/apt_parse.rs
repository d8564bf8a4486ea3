//! Benchmark of the apt index path: gunzip, parse and index whole
//! `Packages(.gz)` files, then resolve a closure against them. Driven by
//! `scripts/bench-apt.sh`; the figures live in the book's benchmarks chapter.
//!
//! ```sh
//! cargo run --release --example apt_parse -- Packages.gz            # 10 timed runs
//! cargo run --release --example apt_parse -- --once Packages.gz     # one pass, for hyperfine
//! cargo run --release --example apt_parse -- --runs 1 --status /var/lib/dpkg/status \
//!     --request git --request libgl1 --print Packages.gz updates_Packages.gz
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mlr::resolve::apt::index::{Index, Origin, gunzip, parse_packages};
use mlr::resolve::apt::solver::{Request, resolve};
use mlr::resolve::apt::status::parse_status;

const USAGE: &str = "usage: apt_parse [--once] [--runs N] [--arch ARCH] [--status FILE] [--request NAME[=VERSION]]... [--print] PACKAGES[.gz]...";

fn main() -> anyhow::Result<()> {
    let mut once = false;
    let mut print = false;
    let mut runs = 10usize;
    let mut arch = "amd64".to_string();
    let mut status = None;
    let mut requests = Vec::new();
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context(USAGE);
        match arg.as_str() {
            "--once" => once = true,
            "--print" => print = true,
            "--runs" => runs = value()?.parse().context("--runs takes a number")?,
            "--status" => status = Some(value()?),
            "--arch" => arch = value()?,
            "--request" => requests.push(Request::parse(&value()?)),
            _ if arg.starts_with("--") => bail!("{USAGE}"),
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        bail!("{USAGE}");
    }
    if requests.is_empty() {
        requests = vec![Request::parse("git"), Request::parse("libgl1")];
    }
    let inputs: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| {
            Ok((
                f.clone(),
                std::fs::read(f).with_context(|| format!("reading {f}"))?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let installed = match &status {
        Some(f) => {
            let text = std::fs::read_to_string(f).with_context(|| format!("reading {f}"))?;
            parse_status(&text).with_context(|| format!("parsing {f}"))?
        }
        None => Vec::new(),
    };
    let origin = |file: &str| Origin {
        source: "http://deb.debian.org/debian".into(),
        suite: file.to_string(),
        component: "main".into(),
    };
    let load = |timings: &mut [Duration; 3]| -> anyhow::Result<(Index, usize)> {
        let mut index = Index::default();
        let mut text_bytes = 0;
        for (file, bytes) in &inputs {
            let t0 = Instant::now();
            let text = if bytes.starts_with(&[0x1f, 0x8b]) {
                gunzip(bytes).with_context(|| format!("gunzipping {file}"))?
            } else {
                String::from_utf8_lossy(bytes).into_owned()
            };
            let t1 = Instant::now();
            let packages = parse_packages(&text).with_context(|| format!("parsing {file}"))?;
            let t2 = Instant::now();
            index.merge(Index::new(packages, origin(file)));
            let t3 = Instant::now();
            text_bytes += text.len();
            for (slot, d) in timings.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
                *slot += d;
            }
        }
        Ok((index, text_bytes))
    };

    if once {
        let (index, _) = load(&mut Default::default())?;
        println!("{} packages", index.len());
        return Ok(());
    }

    let mut phases: [Vec<Duration>; 5] = Default::default();
    let mut summary = String::new();
    let mut closure = Vec::new();
    for _ in 0..runs.max(1) {
        let mut t = [Duration::ZERO; 3];
        let (index, text_bytes) = load(&mut t)?;
        let t0 = Instant::now();
        closure = resolve(&index, &installed, &arch, &requests, &[])?;
        let resolve_time = t0.elapsed();
        for (phase, d) in
            phases
                .iter_mut()
                .zip([t[0], t[1], t[2], t[0] + t[1] + t[2], resolve_time])
        {
            phase.push(d);
        }
        summary = format!(
            "{}: {} bytes read, {text_bytes} bytes of text, {} packages; closure of {} on {}: {} packages",
            files.join(" "),
            inputs.iter().map(|(_, b)| b.len()).sum::<usize>(),
            index.len(),
            requests
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            status.as_deref().unwrap_or("an empty base"),
            closure.len()
        );
    }
    if print {
        for r in &closure {
            println!(
                "{}={} via {}",
                r.package.name,
                r.package.version,
                r.via.join(",")
            );
        }
    }
    println!("{summary}");
    println!(
        "{:<28} {:>9} {:>9} {:>9}   ({} runs)",
        "phase",
        "min",
        "median",
        "max",
        runs.max(1)
    );
    let names = [
        "gunzip",
        "parse",
        "index",
        "gunzip + parse + index",
        "resolve",
    ];
    for (name, samples) in names.iter().zip(phases.iter_mut()) {
        samples.sort();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        println!(
            "{name:<28} {:>9} {:>9} {:>9}",
            ms(samples[0]),
            ms(samples[samples.len() / 2]),
            ms(samples[samples.len() - 1])
        );
    }
    Ok(())
}
