//! The contenders: each does the same job (detach, umask 027, cwd `/`, write
//! the daemon's pid to `$BENCH_PID_FILE`, sleep) through a different library.
//! Their sources are in `bench/contenders/`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One way to start a daemon.
#[derive(Debug, Clone)]
pub struct Contender {
    /// Name in the tables.
    pub name: &'static str,
    /// Program and arguments of the launcher.
    pub argv: Vec<OsString>,
    /// The launcher for figure 4's missing working directory (also given
    /// `BENCH_CHDIR`); differs only where `chdir` is a compile-time literal.
    pub bad_chdir_argv: Vec<OsString>,
    /// The stripped binary, for figure 5; `None` for an interpreted one.
    pub binary: Option<PathBuf>,
    /// The same program built unstripped, for figure 5's second VmHWM.
    pub unstripped: Option<PathBuf>,
}

/// The floor comes first: every ratio is taken to it.
pub const FLOOR: &str = "floor (raw syscalls)";

/// The floor whose launcher waits on a pipe for its daemon's one byte: the
/// reference for launcher latency (time to ready plus one pipe wake-up).
pub const WAITING_FLOOR: &str = "waiting floor (+ pipe)";

/// The Rust contenders, built in `bin_dir` (unstripped in `unstripped_dir`),
/// then python-daemon when a venv interpreter is given.
pub fn all(bin_dir: &Path, unstripped_dir: &Path, python: Option<&Path>) -> Vec<Contender> {
    let rust = |name: &'static str, bin: &str, bad: &str| Contender {
        name,
        argv: vec![bin_dir.join(bin).into()],
        bad_chdir_argv: vec![bin_dir.join(bad).into()],
        binary: Some(bin_dir.join(bin)),
        unstripped: Some(unstripped_dir.join(bin)),
    };
    let mut list = vec![
        rust(FLOOR, "floor", "floor"),
        rust(WAITING_FLOOR, "floor-wait", "floor-wait"),
        rust("glibc daemon(3)", "libc-daemon", "libc-daemon"),
        rust("daemonize 0.5", "daemonize", "daemonize"),
        rust("blivet 0.15", "blivet", "blivet"),
        rust("fork 0.11 checked_daemon", "fork", "fork"),
        rust("#[daemon] attribute", "attribute", "attribute-bad-chdir"),
        rust("Daemon builder", "builder", "builder"),
    ];
    if let Some(python) = python {
        let script: OsString =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("contenders/python_daemon.py").into();
        let argv = vec![python.into(), script];
        list.push(Contender {
            name: "python-daemon 3.1",
            argv: argv.clone(),
            bad_chdir_argv: argv,
            binary: None,
            unstripped: None,
        });
    }
    list
}
