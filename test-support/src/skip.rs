//! Tests that cannot run here say so, one way: `SKIPPED <test>: <why>`.

use std::fmt::Display;
use std::io::Write;
use std::path::PathBuf;

/// Says on stderr that `test` is skipped and why: `SKIPPED <test>: <why>`.
///
/// The line is written to the process's stderr itself, past libtest's
/// capture (which takes only what `eprint!` and `print!` write, and shows
/// it for failed tests only), so that a passing run still shows what it did
/// not test. It is formatted first and written in one `write`, so that the
/// other tests' threads cannot cut it.
pub fn skip(test: &str, why: impl Display) {
    let line = format!("SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// True when the tests run as root; otherwise [`skip`]s `test`, which
/// needs root for what `needs` says, and returns false.
pub fn root_or_skip(test: &str, needs: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    skip(test, format_args!("needs root to {needs}"));
    false
}

/// Where `program` is installed: the first found in `$PATH`, then in the
/// `sbin` directories a user's `$PATH` may lack.
pub fn installed(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain(["/usr/local/sbin".into(), "/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// Where `program` is [`installed`]; otherwise [`skip`]s `test`, naming
/// the package that installs it, and returns `None`.
pub fn installed_or_skip(test: &str, program: &str, package: &str) -> Option<PathBuf> {
    let found = installed(program);
    if found.is_none() {
        skip(test, format_args!("{program} is not installed (package {package})"));
    }
    found
}
