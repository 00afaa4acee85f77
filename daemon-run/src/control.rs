//! `--stop`, `--status`, `--signal`, `--upgrade`: operating a running daemon
//! by its pid file's lock. Each is one call of the runtime
//! (`daemon_runtime::status`, `stop`, `signal`, `request_upgrade`), which proves the lock holder and signals it through a
//! pidfd, so a stale file naming a reused pid never gets anyone signalled;
//! this module only prints, and turns the outcome into an LSB exit code.

use std::io;
use std::path::Path;

use std::time::Duration;

use daemon_runtime::{Requested, Status};
use nix::sys::signal::Signal;

use crate::parse::Schedule;
use crate::respawn::ChildPidFile;

/// Exit code: done (running, for `--status`).
pub const OK: i32 = 0;
/// Exit code: `--stop` ran its schedule out and the process still runs;
/// `--status`: dead, but its pid file is left.
pub const FAILED: i32 = 1;
/// Exit code: not running (`--status`, `--signal`).
pub const NOT_RUNNING: i32 = 3;
/// Exit code: the pid file or the kernel's list of locks could not be
/// read, the lock is held by a process that cannot be told (outside this
/// pid namespace, or one this user may not inspect: never "not running"),
/// a signal could not be sent, or the pid file left could not be removed.
pub const UNKNOWN: i32 = 4;

/// `--status`: prints the state on standard output and returns its LSB code:
/// 0 running, 1 dead with a pid file left, 3 not running, 4 unknown (the
/// error printed on standard error says why: "cannot tell whether the
/// daemon runs: …" when the lock's holder cannot be told).
pub fn status(pid_file: &Path) -> i32 {
    let status = match daemon_runtime::status(pid_file) {
        Ok(status) => status,
        Err(error) => return fail("status", pid_file, &error, UNKNOWN),
    };
    match status {
        Status::Running { pid } => println!("running (pid {pid})"),
        Status::Stale => println!("not running, but {} is left", pid_file.display()),
        Status::Absent => println!("not running"),
    }
    status.lsb_code()
}

/// `--signal`: sends `signal` to the lock holder. 0 sent, 3 not running (0
/// with `oknodo`, start-stop-daemon's `--oknodo`: nothing to do), 4 the pid
/// file could not be read, its lock's holder cannot be told, or the signal
/// was not sent.
pub fn signal(pid_file: &Path, signal: Signal, oknodo: bool) -> i32 {
    match daemon_runtime::signal(pid_file, signal) {
        Ok(Some(_)) => OK,
        Ok(None) if oknodo => {
            eprintln!("note: signal: {}: not running: nothing to do (--oknodo)", pid_file.display());
            OK
        }
        Ok(None) => {
            eprintln!("error: signal: {}: not running", pid_file.display());
            NOT_RUNNING
        }
        Err(error) => fail("signal", pid_file, &error, UNKNOWN),
    }
}

/// `--stop`: follows `schedule` until the lock holder is gone (exited, and
/// the lock released), then removes the pid file it left
/// (`daemon_runtime::stop`), and `child_pid_file` (`--child-pid-file`, and
/// `--chroot`) if given: a supervisor killed by SIGKILL leaves it naming its
/// dead PROGRAM. 0 gone (or was not running), 1 still there at the end of
/// the schedule, 4 anything else failed, a lock whose holder cannot be told
/// included: nothing was signalled then.
pub fn stop(pid_file: &Path, schedule: &Schedule, child_pid_file: Option<(&Path, Option<&Path>)>) -> i32 {
    let mut outcome = daemon_runtime::stop(pid_file, schedule.options());
    // `forever`: the repeated steps again, each time proving the lock's
    // holder anew, until it is gone or something else fails.
    while let (Err(error), Some(steps)) = (&outcome, schedule.repeated()) {
        if error.kind() != io::ErrorKind::TimedOut {
            break;
        }
        outcome = daemon_runtime::stop(pid_file, crate::parse::options(steps));
    }
    match outcome {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::TimedOut => {
            return fail("stop", pid_file, &error, FAILED);
        }
        Err(error) => return fail("stop", pid_file, &error, UNKNOWN),
    }
    let Some((path, chroot)) = child_pid_file else { return OK };
    // Through its walked directory, unless a new start holds the lock by now.
    match ChildPidFile::find(path, chroot).and_then(|file| file.remove_unheld(Some(pid_file))) {
        Ok(()) => OK,
        Err(error) => {
            eprintln!("error: stop: {error}");
            UNKNOWN
        }
    }
}

/// `--upgrade`: asks the daemon to upgrade (`daemon_runtime::request_upgrade`)
/// and waits up to `timeout` for the outcome; a `--respawn` supervisor
/// holding sockets answers it by swapping its PROGRAM (`respawn/swap.rs`).
/// 0 upgraded (the new pid is printed), 3 not running; a failed upgrade prints the new process's
/// error and exits with its code (75 when refused: another upgrade runs);
/// 75 another request waits; 70 no outcome in time; 4 anything else
/// (the daemon does not catch SIGUSR2, exited, cannot be told).
pub fn upgrade(pid_file: &Path, timeout: Duration) -> i32 {
    match daemon_runtime::request_upgrade(pid_file, timeout) {
        // A `--respawn` supervisor stays, holding the file: PROGRAM changed.
        Ok(Requested::Upgraded { old, new }) if supervising(pid_file, old) => {
            println!("upgraded (program pid {new}, supervisor pid {old})");
            OK
        }
        Ok(Requested::Upgraded { old, new }) => {
            println!("upgraded (pid {new}, was {old})");
            OK
        }
        Ok(Requested::Failed { message, code, .. }) => {
            eprintln!("error: {message}");
            code
        }
        Ok(Requested::NotRunning) => {
            eprintln!("error: upgrade: {}: not running", pid_file.display());
            NOT_RUNNING
        }
        Ok(_) => UNKNOWN,
        Err(error) => {
            let code = match error.kind() {
                io::ErrorKind::TimedOut => daemon_runtime::sysexits::EX_SOFTWARE,
                io::ErrorKind::AddrInUse => daemon_runtime::sysexits::EX_TEMPFAIL,
                _ => UNKNOWN,
            };
            fail("upgrade", pid_file, &error, code)
        }
    }
}

/// Whether `pid`, which was asked to upgrade, still holds `pid_file`'s lock
/// after its upgrade: a supervisor, which swapped its PROGRAM.
fn supervising(pid_file: &Path, pid: u32) -> bool {
    matches!(daemon_runtime::status(pid_file), Ok(Status::Running { pid: holder }) if holder == pid)
}

fn fail(verb: &str, pid_file: &Path, error: &io::Error, code: i32) -> i32 {
    eprintln!("error: {verb}: {}: {error}", pid_file.display());
    code
}
