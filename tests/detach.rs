//! The classic detachment steps, each observed in the running daemon's
//! `/proc/PID` after a real launch.

use crate::common;

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;

use common::{Harness, PROBE, ProbeHarness, on_pseudo_terminal, text, wait_for_pid};

#[test]
fn daemon_has_no_controlling_terminal_though_its_launcher_had_one() {
    let harness = Harness::new("no-tty");
    let out = harness.path("probe.out");
    let mut command = harness.command(PROBE);
    command.arg("--expect-tty").env("PROBE_OUT", &out);
    let _master = on_pseudo_terminal(&mut command);
    let status = command.status().expect("launch");
    assert!(status.success(), "launcher on a pseudo-terminal failed: {status:?}");
    let daemon = wait_for_pid(&out);
    assert_eq!(daemon.tty_nr(), 0, "the daemon still has a controlling terminal");
    assert_ne!(daemon.session(), daemon.0, "after a double fork the daemon must not lead its session");
    assert_eq!(daemon.ppid(), std::process::id() as i32, "the daemon was not orphaned");
}

#[test]
fn single_fork_daemon_leads_its_own_session() {
    let harness = Harness::new("single-fork");
    let out = harness.path("probe.out");
    let mut command = harness.command(PROBE);
    command.args(["--expect-tty", "--single-fork"]).env("PROBE_OUT", &out);
    let _master = on_pseudo_terminal(&mut command);
    assert!(command.status().expect("launch").success());
    let daemon = wait_for_pid(&out);
    assert_eq!(daemon.session(), daemon.0, "setsid makes the daemon its session's leader");
    assert_eq!(daemon.tty_nr(), 0);
}

#[test]
fn defaults_are_umask_022_root_directory_and_dev_null() {
    let harness = Harness::new("defaults");
    let daemon = harness.start_probe(&[]);
    // Issue 26 M: not 0, which let every user write the daemon's files.
    assert_eq!(daemon.status("Umask"), "0022");
    assert_eq!(daemon.cwd(), Path::new("/"));
    for fd in 0..=2 {
        assert_eq!(daemon.fds()[&fd], Path::new("/dev/null"), "fd {fd}");
    }
    assert_eq!(daemon.status("Threads"), "1");
}

#[test]
fn umask_and_working_directory_are_the_configured_ones() {
    let harness = Harness::new("umask-chdir");
    let dir = harness.dir.path().to_str().unwrap().to_string();
    let daemon = harness.start_probe(&["--umask", "027", "--chdir", &dir]);
    assert_eq!(daemon.status("Umask"), "0027");
    assert_eq!(daemon.cwd(), harness.dir.path());
}

#[test]
fn an_explicit_umask_of_zero_is_kept() {
    let harness = Harness::new("umask-zero");
    let daemon = harness.start_probe(&["--umask", "0"]);
    assert_eq!(daemon.status("Umask"), "0000");
}

#[test]
fn signals_ignored_or_blocked_by_the_launcher_are_reset() {
    let harness = Harness::new("signals");
    let out = harness.path("probe.out");
    let mut command = harness.command(PROBE);
    command.env("PROBE_OUT", &out);
    let ignore_and_block = || {
        for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1] {
            // SAFETY: SIG_IGN runs no code.
            unsafe { libc::signal(signal, libc::SIG_IGN) };
        }
        // SAFETY: all-zero is a valid `sigset_t`, emptied below.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, writable `sigset_t` (for the three calls).
        unsafe { libc::sigemptyset(&mut set) };
        // SAFETY: as above.
        unsafe { libc::sigaddset(&mut set, libc::SIGINT) };
        // SAFETY: as above.
        unsafe { libc::sigaddset(&mut set, libc::SIGUSR2) };
        // SAFETY: `set` is initialized; no old mask is asked for.
        unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and calls only signal,
    // sigemptyset, sigaddset and sigprocmask, async-signal-safe.
    unsafe { command.pre_exec(ignore_and_block) };
    assert!(harness.run(&mut command).status.success());
    let daemon = wait_for_pid(&out);
    assert_eq!(daemon.status("SigBlk"), "0000000000000000");
    assert_eq!(daemon.status("SigIgn"), common::ignored_after_reset(), "only SIGPIPE may stay ignored");
}

#[test]
fn inherited_descriptors_are_closed_except_the_kept_one() {
    let harness = Harness::new("fds");
    let pid_file = harness.path("probe.pid");
    let inherited = std::fs::File::create(harness.path("inherited")).unwrap();
    let high = hard_nofile_limit() - 1;
    let out = harness.path("probe.out");
    let mut command = harness.command(PROBE);
    command.args(["--keep-fd", "9", "--pid-file", pid_file.to_str().unwrap()]).env("PROBE_OUT", &out);
    let raw = inherited.as_raw_fd();
    let raise_and_leak = move || {
        let limit = libc::rlimit { rlim_cur: high as libc::rlim_t + 1, rlim_max: high as libc::rlim_t + 1 };
        // SAFETY: `limit` is a valid `rlimit`.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        for fd in (5..60).chain([9, high]) {
            // SAFETY: dup2 takes any numbers; `raw` is open in the parent, so in the child.
            unsafe { libc::dup2(raw, fd) }; // dup2 clears CLOEXEC: a leak to close
        }
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and calls only setrlimit
    // and dup2, async-signal-safe, allocating nothing.
    unsafe { command.pre_exec(raise_and_leak) };
    assert!(harness.run(&mut command).status.success());
    let daemon = wait_for_pid(&out);
    let fds: Vec<i32> = daemon.fds().into_keys().collect();
    let why = "stdio, the lock file and the pid file's directory (`O_PATH`, for their removal), the kept fd";
    assert_eq!(fds, [0, 1, 2, 3, 4, 9], "{why}: {:?}", daemon.fds());
    assert_eq!(daemon.fds()[&3], common::lock_file(&pid_file));
    assert_eq!(daemon.fds()[&4], harness.dir.path());
    assert_eq!(daemon.fds()[&9], harness.path("inherited"));
}

#[test]
fn listing_proc_self_fd_closes_the_same_descriptors() {
    let harness = Harness::new("fds-listing");
    let inherited = std::fs::File::create(harness.path("inherited")).unwrap();
    let out = harness.path("probe.out");
    let mut command = harness.command(PROBE);
    command.args(["--keep-fd", "7", "--close-by-listing"]).env("PROBE_OUT", &out);
    let raw = inherited.as_raw_fd();
    let leak = move || {
        for fd in [5, 7, 40, 1000] {
            // SAFETY: dup2 takes any numbers; `raw` is open in the parent, so in the child.
            unsafe { libc::dup2(raw, fd) };
        }
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and only calls dup2, async-signal-safe.
    unsafe { command.pre_exec(leak) };
    assert!(harness.run(&mut command).status.success());
    let daemon = wait_for_pid(&out);
    let fds: Vec<i32> = daemon.fds().into_keys().collect();
    assert_eq!(fds, [0, 1, 2, 7], "{:?}", daemon.fds());
}

#[test]
fn close_fds_false_keeps_inherited_descriptors() {
    let harness = Harness::new("no-close");
    let inherited = std::fs::File::create(harness.path("inherited")).unwrap();
    let out = harness.path("probe.out");
    let mut command = harness.command(PROBE);
    command.arg("--no-close-fds").env("PROBE_OUT", &out);
    let raw = inherited.as_raw_fd();
    let leak = move || {
        // SAFETY: dup2 takes any numbers; `raw` is open in the parent, so in the child.
        unsafe { libc::dup2(raw, 12) };
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and only calls dup2, async-signal-safe.
    unsafe { command.pre_exec(leak) };
    assert!(harness.run(&mut command).status.success());
    assert_eq!(wait_for_pid(&out).fds()[&12], harness.path("inherited"));
}

#[test]
fn launcher_stdout_pipe_reaches_end_of_file() {
    // `x=$(daemon)` must return: no process may keep the launcher's stdout.
    let harness = Harness::new("stdout-eof");
    let out = harness.path("probe.out");
    let mut child = harness
        .command(PROBE)
        .env("PROBE_OUT", &out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (done, eof) = mpsc::channel();
    std::thread::spawn(move || {
        let mut captured = Vec::new();
        let _ = stdout.read_to_end(&mut captured);
        let _ = done.send(captured);
    });
    let captured = eof.recv_timeout(common::PATIENCE).expect("stdout never reached EOF");
    assert!(captured.is_empty(), "the launcher printed {:?}", text(&captured));
    assert!(child.wait().unwrap().success());
    wait_for_pid(&out);
}

#[test]
fn text_printed_before_starting_appears_once() {
    let harness = Harness::new("flush-once");
    let out = harness.path("probe.out");
    let output =
        harness.run(harness.command(PROBE).args(["--print-before", "partial line"]).env("PROBE_OUT", &out));
    assert!(output.status.success());
    assert_eq!(text(&output.stdout), "partial line");
    wait_for_pid(&out);
}

#[test]
fn a_launcher_running_threads_is_refused_before_forking() {
    let harness = Harness::new("threads");
    let output = harness.run(harness.command(PROBE).arg("--thread"));
    assert_eq!(output.status.code(), Some(71), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: preflight: 2 threads are running; a process must be single-threaded"),
        "{stderr}"
    );
    assert!(harness.processes().is_empty(), "something was forked: {:?}", harness.processes());
}

fn hard_nofile_limit() -> i32 {
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    hard.min(1 << 20) as i32
}
