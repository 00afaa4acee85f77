//! Command-line options of the driver.

/// What one invocation measures.
#[derive(Debug, Clone)]
pub struct Options {
    /// Launches per contender and per mode (base, hostile).
    pub runs: usize,
    /// Measure figure 6 (build cost: about 20 s of `cargo build` on a 2-CPU
    /// machine once the dependencies are fetched); `--no-build-cost` skips it.
    pub build_cost: bool,
    /// Rounds of figure 7 (one start and one stop of each service launcher).
    pub launcher_rounds: usize,
    /// Only figure 7 (`--launchers-only`).
    pub launchers_only: bool,
    /// Runs of figure 9 per way (one replacement of a server under load).
    pub upgrade_runs: usize,
    /// Only figure 9 (`--upgrades-only`).
    pub upgrades_only: bool,
}

const USAGE: &str =
    "usage: daemon-bench [--runs N] [--no-build-cost] [--launcher-rounds N] [--launchers-only]
                    [--upgrade-runs N] [--upgrades-only]

  --runs N         launches per contender in each of the base and hostile
                   modes (default 200, at least 1)
  --no-build-cost  skip figure 6, the clean and incremental builds of a
                   one-file daemon (about 20 s once dependencies are fetched)
  --launcher-rounds N
                   rounds of figure 7, one start and one stop of each
                   service launcher (default 40, at least 1)
  --launchers-only only figure 7 (no contender is built or launched)
  --upgrade-runs N runs of figure 9 per way, one replacement of a server
                   under load each (default 15, at least 1)
  --upgrades-only  only figure 9";

/// Parses `std::env::args`; prints the usage and exits on `--help` or an error.
pub fn parse() -> Options {
    let mut options = Options {
        runs: 200,
        build_cost: true,
        launcher_rounds: 40,
        launchers_only: false,
        upgrade_runs: 15,
        upgrades_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => options.runs = n,
                _ => fail("--runs needs a positive number"),
            },
            "--no-build-cost" => options.build_cost = false,
            "--launcher-rounds" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => options.launcher_rounds = n,
                _ => fail("--launcher-rounds needs a positive number"),
            },
            "--launchers-only" => options.launchers_only = true,
            "--upgrade-runs" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => options.upgrade_runs = n,
                _ => fail("--upgrade-runs needs a positive number"),
            },
            "--upgrades-only" => options.upgrades_only = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => fail(&format!("unknown argument `{other}`")),
        }
    }
    options
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}\n\n{USAGE}");
    std::process::exit(2);
}
