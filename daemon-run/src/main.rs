//! `daemon-run [OPTIONS] -- PROGRAM [ARGS]...`: see the crate's README.

use clap::Parser;

fn main() {
    daemon_run::main(daemon_run::Cli::parse())
}
