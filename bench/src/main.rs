//! The benchmark driver: builds every contender, launches each many times
//! (round-robin), and prints one table per figure. See `bench/README.md`.
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml -- [--runs N] [--no-build-cost]
//! ```

mod buildcost;
mod cli;
mod contenders;
mod correctness;
mod launch;
mod launchers;
mod measure;
mod procfs;
mod reaper;
mod report;
mod setup;
mod stats;
mod syscalls;
mod timing;
mod upgrades;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use launch::Launcher;
use measure::Probe;
use reaper::Reaper;

/// Removes the scratch directory however the driver leaves `main`.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn main() -> ExitCode {
    let options = cli::parse();
    if let Err(error) = launch::close_on_exec_all() {
        eprintln!("error: marking inherited descriptors close-on-exec: {error}");
        return ExitCode::FAILURE;
    }
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &cli::Options) -> Result<(), Box<dyn std::error::Error>> {
    if options.launchers_only {
        println!("machine: {}", setup::machine());
        return service_launchers(options, &mut Reaper::new()?);
    }
    eprintln!("building the contenders …");
    let bin_dir = setup::build_contenders()?;
    if options.upgrades_only {
        println!("machine: {}", setup::machine());
        return upgrades(options, &bin_dir, &mut Reaper::new()?);
    }
    let target_dir = bin_dir.parent().unwrap_or(&bin_dir).to_owned();
    let python = setup::python_daemon(&target_dir);
    if let Err(reason) = &python {
        println!("SKIPPED python-daemon 3.1: {reason}");
    }
    let unstripped_dir = target_dir.join("unstripped");
    let contenders = contenders::all(&bin_dir, &unstripped_dir, python.as_deref().ok());

    let mut reaper = Reaper::new()?;
    let scratch = Scratch(std::env::temp_dir().join(format!("daemon-bench-{}", std::process::id())));
    let pid_dir = scratch.0.join("pids");
    fs::create_dir_all(&pid_dir)?;
    let marker = scratch.0.join("inherited-marker");
    fs::write(&marker, b"")?;
    let launcher = Launcher::new(fs::File::open(&marker)?.into())?;
    let mut probe = Probe::new(&pid_dir)?;

    println!("machine: {}", setup::machine());
    println!(
        "runs: {} per contender and mode, round-robin; RLIMIT_NOFILE soft {} (base) / {} (hostile, the hard limit)",
        options.runs,
        launch::BASE_NOFILE,
        launcher.hard_nofile()
    );
    println!(
        "method: inotify on the pid file's directory + a pidfd for the launcher, one poll(2); \
         CLOCK_MONOTONIC resolution {:?}",
        measure::clock_resolution()
    );

    eprintln!("figures 1-3, 5: {} launches …", options.runs * contenders.len() * 2);
    let measured = timing::run(&contenders, options.runs, &launcher, &mut probe, &mut reaper, &marker)?;
    eprintln!("figure 4 …");
    let seen = correctness::run(&contenders, &launcher, &mut probe, &mut reaper)?;
    eprintln!("figure 8: strace -f -c …");
    let syscalls = syscalls::run(&contenders, &pid_dir, &mut reaper);
    let build_cost = if options.build_cost {
        eprintln!("figure 6: builds …");
        Some(buildcost::run(&target_dir)?)
    } else {
        None
    };
    reaper.sweep();

    figures::print(&contenders, &measured, &seen, launcher.hard_nofile());
    match build_cost {
        Some(costs) => figures::print_build_cost(&costs),
        None => println!("\n6. Build cost: not measured (--no-build-cost)"),
    }
    figures::print_syscalls(&contenders, &syscalls);
    service_launchers(options, &mut reaper)?;
    upgrades(options, &bin_dir, &mut reaper)
}

/// Figure 9: builds `daemon-run` and `hello_activated`, then replaces a
/// server under load each way, `--upgrade-runs` times.
fn upgrades(
    options: &cli::Options,
    bin_dir: &Path,
    reaper: &mut Reaper,
) -> Result<(), Box<dyn std::error::Error>> {
    eprintln!("figure 9: building daemon-run and hello_activated …");
    let daemon_run = setup::build_daemon_run()?;
    let hello_activated = setup::build_hello_activated()?;
    let ways = upgrades::ways(bin_dir, &daemon_run, &hello_activated);
    let scratch = Scratch(std::env::temp_dir().join(format!("daemon-bench-upgrades-{}", std::process::id())));
    fs::create_dir_all(&scratch.0)?;
    eprintln!("figure 9: {} rounds …", options.upgrade_runs);
    let measured = upgrades::run(&ways, options.upgrade_runs, &scratch.0, reaper);
    reaper.sweep();
    upgrades::print(&ways, &measured);
    Ok(())
}

/// Figure 7: builds `daemon-run`, then starts and stops `/bin/sleep` with
/// it and with each peer found.
fn service_launchers(options: &cli::Options, reaper: &mut Reaper) -> Result<(), Box<dyn std::error::Error>> {
    eprintln!("figure 7: building daemon-run …");
    let daemon_run = setup::build_daemon_run()?;
    let tools = launchers::tools(&daemon_run);
    let scratch =
        Scratch(std::env::temp_dir().join(format!("daemon-bench-launchers-{}", std::process::id())));
    fs::create_dir_all(&scratch.0)?;
    eprintln!("figure 7: {} rounds …", options.launcher_rounds);
    let measured = launchers::run(&tools, options.launcher_rounds, &scratch.0, reaper)?;
    reaper.sweep();
    figures::print_launchers(&tools, &measured);
    Ok(())
}

mod figures;
