//! An init-script-style control program: `start | stop | status | restart |
//! reload`, all decided by the pid file's lock, never by `kill(pid, 0)`.
//!
//! ```text
//! cargo run --example ctl -- /tmp/ctl start     # exits 0 once the daemon is ready
//! cargo run --example ctl -- /tmp/ctl status    # 0 running, 1 dead with pid file, 3 not running
//! cargo run --example ctl -- /tmp/ctl reload    # SIGHUP: the daemon logs "reloaded"
//! cargo run --example ctl -- /tmp/ctl stop      # SIGTERM, SIGKILL after 10 s
//! ```
//!
//! The daemon writes `<dir>/ctl.log`.
//!
//! Linux only: `status`, `stop` and `signal` prove the lock's holder through
//! `/proc` and pidfds; elsewhere they refuse (`Unsupported`), and so do
//! `status`, `stop`, `restart` and `reload` here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use daemon_runtime::{Daemon, Ready, Signal, Status, StopOptions, Stopped};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, action] = args.as_slice() else {
        eprintln!("usage: ctl DIR start|stop|status|restart|reload");
        return ExitCode::from(2);
    };
    let dir = std::path::absolute(dir).expect("directory");
    std::fs::create_dir_all(&dir).expect("create directory");
    let pid_file = dir.join("ctl.pid");
    match action.as_str() {
        "start" => start(&dir, &pid_file),
        "stop" => stop(&pid_file),
        "status" => status(&pid_file),
        "restart" => match stop(&pid_file) {
            code if code == ExitCode::SUCCESS => start(&dir, &pid_file),
            failed => failed,
        },
        "reload" => match daemon_runtime::signal(&pid_file, Signal::SIGHUP) {
            Ok(Some(pid)) => {
                println!("reloading pid {pid}");
                ExitCode::SUCCESS
            }
            Ok(None) => {
                eprintln!("not running");
                ExitCode::from(7) // LSB: program is not running
            }
            Err(error) => fail(error),
        },
        other => {
            eprintln!("unknown action {other}");
            ExitCode::from(2)
        }
    }
}

fn status(pid_file: &Path) -> ExitCode {
    match daemon_runtime::status(pid_file) {
        Ok(status) => {
            match status {
                Status::Running { pid } => println!("running (pid {pid})"),
                Status::Stale => println!("dead, but {} exists", pid_file.display()),
                Status::Absent => println!("not running"),
            }
            ExitCode::from(status.lsb_code() as u8)
        }
        Err(error) => fail(error),
    }
}

fn stop(pid_file: &Path) -> ExitCode {
    match daemon_runtime::stop(pid_file, StopOptions::new().timeout(Duration::from_secs(10))) {
        Ok(Stopped::Exited { pid }) => println!("stopped pid {pid}"),
        Ok(Stopped::Killed { pid }) => println!("killed pid {pid} after 10 s"),
        Ok(Stopped::NotRunning) => println!("not running"),
        Err(error) => return fail(error),
    }
    ExitCode::SUCCESS
}

fn fail(error: std::io::Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(4) // LSB: status unknown / insufficient privilege
}

/// Detaches, installs the signal handlers and only then reports ready (the
/// launcher exits here with the start's outcome): a `reload` sent as soon as
/// `start` returned must find the SIGHUP handler, not SIGHUP's default action.
/// Then runs the daemon's loop.
fn start(dir: &Path, pid_file: &PathBuf) -> ExitCode {
    let running = Daemon::new()
        .umask(0o022)
        .pid_file(pid_file)
        .ready(Ready::Manual)
        .start()
        .unwrap_or_else(|error| error.exit());
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("ctl.log"));
    let mut log = log.expect("open log");
    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop)).expect("SIGTERM");
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload)).expect("SIGHUP");
    daemon_runtime::ready();
    let _ = writeln!(log, "started pid {}", std::process::id());
    while !stop.load(Ordering::Relaxed) {
        if reload.swap(false, Ordering::Relaxed) {
            let _ = writeln!(log, "reloaded");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = writeln!(log, "stopping");
    drop(running);
    ExitCode::SUCCESS
}
