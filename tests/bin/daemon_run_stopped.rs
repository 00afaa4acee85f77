//! `daemon-run` for `tests/faults.rs`: exactly what its `main` does, after
//! stopping with SIGSTOP when `$PROBE_STOP_FOR_TRACER` is set, so that
//! strace attaches (`-p`) before the start and its per-process counters
//! count only `daemon-run`'s calls, not the loader's or std's start-up. The
//! production binary has no such knob; this one is not installed (the root
//! package is not published).

use clap::Parser;

fn main() {
    if std::env::var_os("PROBE_STOP_FOR_TRACER").is_some() {
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    }
    daemon_run::main(daemon_run::Cli::parse())
}
