//! Zero-downtime upgrade (`daemon_runtime::Upgrade`), seen from outside:
//! the test daemon (`tests/bin/upgradable.rs`, a tokio TCP server that
//! upgrades on SIGUSR2) is started from a copy of its binary in the test's
//! directory, and that copy is replaced on disk before each upgrade, so
//! each new process runs the file now at the path. Under load no request
//! goes unanswered; the pid file's lock never lapses; a new binary that
//! fails leaves the old one serving with its pid; a second upgrade while
//! one is in flight is refused.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Harness, Load, Proc, arg, eventually, install_executable, wait_for_line, wait_for_pid};
use daemon_runtime::Status;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;

pub(crate) const UPGRADABLE: &str = env!("CARGO_BIN_EXE_upgradable");
pub(crate) const INIT_FAILS: &str = env!("CARGO_BIN_EXE_attr_init_fails");

/// One upgradable server of a test.
pub(crate) struct Server {
    pub(crate) harness: Harness,
    pub(crate) exe: PathBuf,
    pub(crate) pid_file: PathBuf,
    pub(crate) log: PathBuf,
    pub(crate) port: u16,
}

impl Server {
    pub(crate) fn start(test: &str) -> (Server, Proc) {
        let harness = Harness::new(test);
        let exe = harness.path("upgradable");
        install_executable(UPGRADABLE.as_ref(), &exe);
        let (pid_file, log) = (harness.path("up.pid"), harness.path("up.log"));
        let output = harness.run(
            harness
                .command(&exe)
                .args([arg(&pid_file), arg(&log), arg(&harness.path("port"))])
                // attr_init_fails, installed in its place, takes its pid file from here.
                .env("PROBE_PID_FILE", &pid_file),
        );
        assert!(output.status.success(), "start: {output:?}");
        let port = wait_for_line(&harness.path("port")).trim().parse().expect("port");
        let daemon = wait_for_pid(&pid_file);
        (Server { harness, exe, pid_file, log, port }, daemon)
    }

    /// Replaces the executable at the daemon's path (a new file, as a
    /// package upgrade makes: rename over the old name).
    pub(crate) fn install(&self, program: &str) {
        let staged = self.harness.path("staged");
        install_executable(program.as_ref(), &staged);
        std::fs::rename(&staged, &self.exe).expect("rename");
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has a line starting with `prefix`; returns it.
    pub(crate) fn log_line(&self, prefix: &str) -> String {
        let mut found = String::new();
        eventually(&format!("a log line `{prefix}…`"), || {
            found = self.log().lines().find(|line| line.starts_with(prefix)).unwrap_or_default().to_string();
            !found.is_empty()
        });
        found
    }

    /// The pid that answers a request now.
    pub(crate) fn ask(&self) -> std::io::Result<u32> {
        request(self.port)
    }

    /// Upgrades `old` with the binary now at the path: returns the new
    /// process once `status` names it, after `old` drained and exited 0.
    pub(crate) fn upgrade(&self, old: Proc) -> Proc {
        self.install(UPGRADABLE);
        kill(old.pid(), Signal::SIGUSR2).expect("SIGUSR2");
        let line = self.log_line(&format!("{} upgraded to ", old.0));
        let new: i32 = line.rsplit(' ').next().unwrap().parse().expect("new pid");
        assert_eq!(
            daemon_runtime::status(&self.pid_file).expect("status"),
            Status::Running { pid: new as u32 },
            "the pid file names the new process once upgrade() returned"
        );
        self.log_line(&format!("{} drained", old.0));
        assert_eq!(old.reap(), Some(WaitStatus::Exited(old.pid(), 0)), "the old process exits 0");
        let new = Proc(new);
        assert!(new.alive());
        assert!(!new.read("maps").contains("(deleted)"), "the new process runs the file now at the path");
        new
    }
}

/// One request on a new connection: the answering process's pid.
pub(crate) fn request(port: u16) -> std::io::Result<u32> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"ping\n")?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    line.trim().parse().map_err(|_| std::io::Error::other(format!("answer {line:?}")))
}

#[test]
fn under_load_every_request_is_answered_across_ten_upgrades() {
    let (server, mut daemon) = Server::start("upgrade_under_load");
    let port = server.port;
    let load = Load::start(move || request(port));
    let mut served = vec![daemon.0 as u32];
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(20));
        daemon = server.upgrade(daemon);
        served.push(daemon.0 as u32);
    }
    std::thread::sleep(Duration::from_millis(20));
    load.stop_expecting_every_answer_from(&served);
    assert_eq!(server.harness.processes(), [daemon], "only the last process is left");
    assert_eq!(server.ask().expect("request"), daemon.0 as u32);
    assert!(daemon.terminate().is_some());
    assert!(!server.pid_file.exists(), "the last process removes the pid file");
}

#[test]
fn the_lock_never_lapses_a_racing_start_is_refused_and_status_names_a_live_holder() {
    let (server, mut daemon) = Server::start("upgrade_lock");
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (stop, pid_file) = (Arc::clone(&stop), server.pid_file.clone());
        std::thread::spawn(move || {
            let (mut polls, mut holders) = (0u32, std::collections::BTreeSet::new());
            while !stop.load(Ordering::SeqCst) {
                match daemon_runtime::status(&pid_file) {
                    Ok(Status::Running { pid }) => {
                        holders.insert(pid);
                    }
                    other => {
                        let text = std::fs::read_to_string(&pid_file).unwrap_or_default();
                        panic!("poll {polls}: {other:?}, the file holding {text:?}")
                    }
                }
                polls += 1;
            }
            (polls, holders)
        })
    };
    let racer = {
        let stop = Arc::clone(&stop);
        let command = |harness: &Harness| {
            let mut command = harness.command(&server.exe);
            command.args([
                arg(&server.pid_file),
                arg(&harness.path("racer.log")),
                arg(&harness.path("racer.port")),
            ]);
            command
        };
        let mut command = command(&server.harness);
        std::thread::spawn(move || {
            let mut outcomes: Vec<Output> = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                outcomes.push(command.output().expect("racing start"));
            }
            outcomes
        })
    };
    // Whatever happens, no racing start runs on past this test's clean-up:
    // the flag is set and the racer joined before the harness is dropped.
    let mut racer = Joined { stop: Arc::clone(&stop), thread: Some(racer) };
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(30));
        daemon = server.upgrade(daemon);
    }
    stop.store(true, Ordering::SeqCst);
    let (polls, holders) = poller.join().expect("poller");
    let outcomes = racer.thread.take().unwrap().join().expect("racer");
    assert!(polls > 10 && holders.len() >= 2, "{polls} polls saw {holders:?}");
    assert!(!outcomes.is_empty());
    for output in &outcomes {
        assert_eq!(output.status.code(), Some(75), "a racing start: {output:?}");
        assert!(common::text(&output.stderr).contains("already running (pid "), "{output:?}");
    }
    assert_eq!(server.harness.processes(), [daemon]);
    assert!(daemon.terminate().is_some());
}

#[test]
fn a_new_binary_whose_init_fails_leaves_the_old_one_serving_and_says_why() {
    let (server, daemon) = Server::start("upgrade_init_fails");
    server.install(INIT_FAILS);
    kill(daemon.pid(), Signal::SIGUSR2).expect("SIGUSR2");
    let line = server.log_line(&format!("{} upgrade failed: ", daemon.0));
    assert_eq!(line, format!("{} upgrade failed: init: cannot open /etc/myd.key (exit 69)", daemon.0));
    assert_eq!(daemon_runtime::status(&server.pid_file).unwrap(), Status::Running { pid: daemon.0 as u32 });
    assert_eq!(std::fs::read_to_string(&server.pid_file).unwrap(), format!("{}\n", daemon.0));
    assert_eq!(server.ask().expect("request"), daemon.0 as u32, "the old process still serves");
    assert_eq!(server.harness.processes(), [daemon], "the failed process is gone");

    // A missing executable: the same, with exec's error and the shell's code.
    std::fs::remove_file(&server.exe).unwrap();
    kill(daemon.pid(), Signal::SIGUSR2).expect("SIGUSR2");
    eventually("the second failure", || {
        server.log().lines().filter(|l| l.contains("upgrade failed")).count() == 2
    });
    let exe = server.exe.display();
    assert!(
        server.log().contains(&format!(
            "upgrade failed: exec: {exe}: No such file or directory (os error 2) (exit 127)"
        )),
        "{}",
        server.log()
    );

    // And the one that works after the failures.
    let new = server.upgrade(daemon);
    assert_eq!(server.ask().expect("request"), new.0 as u32);
    assert!(new.terminate().is_some());
    assert!(!server.pid_file.exists());
}

#[test]
fn a_second_upgrade_while_one_is_in_flight_is_refused() {
    let (server, daemon) = Server::start("upgrade_twice");
    // The new process's init takes a second: the first upgrade stays in flight.
    std::fs::write(server.pid_file.with_extension("pid.slow"), "").unwrap();
    server.install(UPGRADABLE);
    kill(daemon.pid(), Signal::SIGUSR2).expect("first SIGUSR2");
    std::thread::sleep(Duration::from_millis(200));
    kill(daemon.pid(), Signal::SIGUSR2).expect("second SIGUSR2");
    let refused = server.log_line(&format!("{} upgrade failed: ", daemon.0));
    assert_eq!(
        refused,
        format!(
            "{} upgrade failed: upgrade: another upgrade of this daemon is in progress (exit 75)",
            daemon.0
        )
    );
    let line = server.log_line(&format!("{} upgraded to ", daemon.0));
    let new = Proc(line.rsplit(' ').next().unwrap().parse().unwrap());
    assert_eq!(daemon.reap(), Some(WaitStatus::Exited(daemon.pid(), 0)));
    assert_eq!(server.harness.processes(), [new], "one new process, not two");
    assert!(new.terminate().is_some());
}

/// A thread that is told to stop and joined when dropped.
struct Joined<T> {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<T>>,
}

impl<T> Drop for Joined<T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
