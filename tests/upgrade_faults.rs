//! The upgrade's own system calls, failed one at a time under
//! `strace -f -p OLD -e inject=SYSCALL:error=ERRNO:when=N` (as
//! `tests/faults.rs` does for starts): the fork, the report pipe, the
//! child's `fcntl(F_DUPFD_CLOEXEC)`/`dup2`/`chdir`/`execve`, the new
//! process's loader, lock check, pid write and ready report, and the old
//! process's read of the report and letting go of the lock. strace follows
//! the old daemon's threads and the new process it forks (its counters are
//! per thread: `when=1` fails the first such call of each, wherever it
//! is). Whatever fails, each run must end with exactly one process
//! serving: the pid file's lock proven held by a live process, which
//! answers on the socket and is the only process of the test left (never
//! neither, never both). Which one it is depends on where the failure fell.
//!
//! The calls were chosen from a traced successful upgrade (the old
//! process's blocking thread: `pipe2`, `clone`, `poll`, `read`, `openat`,
//! `dup2`, `fcntl`, `socket`, `sendto`; the child and the new process:
//! `fcntl`, `dup2`, `chdir`, `execve`, then the start's `flock`,
//! `pwrite64`, `ftruncate` and the report's `write`). Runs go three at a
//! time and take a few seconds in all.

use crate::common;
use crate::upgrade::{Server, UPGRADABLE, request};

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Proc, eventually};
use daemon_runtime::Status;
use nix::sys::signal::{Signal, kill};

/// Each failure injected, in one run of its own.
const INJECTIONS: &[&str] = &[
    "pipe2:error=EMFILE:when=1",
    "clone:error=EAGAIN:when=1",
    "fcntl:error=EMFILE:when=1",
    "fcntl:error=EMFILE:when=3",
    "dup2:error=EBADF:when=1",
    "dup2:error=EBADF:when=3",
    "chdir:error=EACCES:when=1",
    "execve:error=ENOENT:when=1",
    "execve:error=EACCES:when=1",
    "openat:error=EMFILE:when=1",
    "flock:error=EIO:when=1",
    "pwrite64:error=ENOSPC:when=1",
    "ftruncate:error=EIO:when=1",
    "write:error=EPIPE:when=1",
    "read:error=EIO:when=1",
    "socket:error=EMFILE:when=1",
    "sendto:error=EAGAIN:when=1",
];

/// Runs at once: the machine is small and shared.
const POOL: usize = 3;

/// How one run ended: `Ok(which)` ("old" or "new") or what was wrong.
fn upgrade_under(strace: &std::path::Path, index: usize, inject: &str) -> Result<&'static str, String> {
    let (server, old) = Server::start(&format!("upgrade_fault_{index}"));
    server.install(UPGRADABLE);
    let trace = server.harness.path("trace");
    let mut tracer = server
        .harness
        .command(strace)
        .args(["-f", "-qq", "-o", common::arg(&trace), "-e", &format!("inject={inject}")])
        .args(["-p", &old.0.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace");
    eventually("strace attaches", || old.status("TracerPid") != "0");
    kill(old.pid(), Signal::SIGUSR2).expect("SIGUSR2");
    // Settled: the old process handed over and exited, or it logged its
    // outcome (a failed `write` may keep it from logging: then a while
    // after its new process is gone).
    let start = Instant::now();
    let children = |pid: i32| -> Vec<i32> {
        server.harness.processes().into_iter().map(|p| p.0).filter(|&p| Proc(p).ppid() == pid).collect()
    };
    loop {
        let logged = server.log().lines().any(|line| line.starts_with(&format!("{} upgrade", old.0)));
        let quiet = start.elapsed() > Duration::from_millis(1500) && children(old.0).is_empty();
        if !old.alive() || logged || quiet || start.elapsed() > Duration::from_secs(8) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Detach: the processes run on untraced.
    let _ = tracer.kill();
    let _ = tracer.wait();
    let tracer = tracer.id() as i32;
    let mut serving = None;
    let settled = common::poll(Duration::from_secs(8), || {
        let left: Vec<Proc> = server.harness.processes().into_iter().filter(|p| p.0 != tracer).collect();
        let Ok(Status::Running { pid }) = daemon_runtime::status(&server.pid_file) else { return None };
        (left == [Proc(pid as i32)] && request(server.port).ok() == Some(pid)).then_some(pid)
    });
    if let Some(pid) = settled {
        serving = Some(pid);
    }
    let left: Vec<Proc> = server.harness.processes().into_iter().filter(|p| p.0 != tracer).collect();
    let written = std::fs::read_to_string(&server.pid_file).unwrap_or_default();
    let verdict = match serving {
        Some(pid) if written != format!("{pid}\n") => Err(format!(
            "{inject}: pid {pid} serves, but the pid file says {written:?}; log {:?}",
            server.log()
        )),
        Some(pid) if pid == old.0 as u32 => Ok("old"),
        Some(_) => {
            let _ = old.reap();
            Ok("new")
        }
        // The test server's own runtime, not the upgrade: with musl, tokio
        // starts a worker thread (`clone`) during the request, and panics
        // when it cannot. Said by name, not judged.
        None if server.log().contains("OS can't spawn worker thread") => {
            eprintln!("SKIPPED {inject}: the failure hit tokio's worker thread in the test server");
            Ok("skipped")
        }
        None => Err(format!(
            "{inject}: not exactly one serving holder: status {:?}, left {left:?}, answer {:?}, log {:?}",
            daemon_runtime::status(&server.pid_file),
            request(server.port),
            server.log()
        )),
    };
    for process in left {
        process.terminate();
    }
    verdict
}

#[test]
fn any_failed_system_call_of_an_upgrade_leaves_exactly_one_process_serving() {
    let test = "any_failed_system_call_of_an_upgrade_leaves_exactly_one_process_serving";
    let Some(strace) = common::installed_or_skip(test, "strace", "strace") else { return };
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for (chunk_index, chunk) in INJECTIONS.chunks(POOL).enumerate() {
        let strace = &strace;
        let results: Vec<(&str, Result<&str, String>)> = std::thread::scope(|scope| {
            let runs: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(i, &inject)| {
                    scope.spawn(move || (inject, upgrade_under(strace, chunk_index * POOL + i, inject)))
                })
                .collect();
            runs.into_iter().map(|run| run.join().expect("run")).collect()
        });
        outcomes.extend(results);
    }
    let failures: Vec<&String> = outcomes.iter().filter_map(|(_, outcome)| outcome.as_ref().err()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    let old = outcomes.iter().filter(|(_, outcome)| outcome == &Ok("old")).count();
    assert!(old >= INJECTIONS.len() / 2, "most injected failures fail the upgrade: {outcomes:?}");
    eprintln!("{} injections in {:?}: {outcomes:?}", INJECTIONS.len(), started.elapsed());
}
