//! Nothing left behind, whatever system call fails: every system call a
//! start makes after `main` begins fails in turn, under
//! `strace -f -e inject=SYSCALL:error=ERRNO:when=N`, and each run must end
//! in exactly one of two ways: the launcher exits 0 and the daemon is alive,
//! named by its pid file; or one `error: <step>: <cause>` line, a documented
//! non-zero code, no process of the start alive and no pid file left. Never
//! a hang past the ready timeout, never a panic exit (101).
//!
//! How the calls are chosen: the probe, started with `PROBE_STOP_FOR_TRACER`,
//! stops itself with SIGSTOP first thing in `main`; strace attaches then
//! (`-p`), so its per-process counters start after the dynamic loader and
//! std's start-up, whose calls are not the project's. One traced successful
//! start lists, per process (launcher, intermediate, daemon), how many times
//! each system call is made; each of the first `FIRST` calls of each is
//! then failed, with `when=N` (the counter is per process: the N-th call of
//! that syscall fails in every process that makes one). The probe's body
//! after `ready` (sleeping until SIGTERM) is left out: the baseline is cut
//! when the launcher exits, and so are calls that cannot fail (`getpid`...).
//! The start of `daemon-run` ends in the `execve` of its program
//! (`/bin/sleep`): in each process, the calls after a successful `execve`
//! are the program's and not counted, and a run that exits 0 but whose
//! daemon died on a failure injected after that `execve` is skipped.
//! Glibc's NSS calls (`nsswitch.conf`, `/etc/passwd`, `libnss_systemd`) of
//! the user lookup, in the launcher before it forks, are kept: a failure
//! there must end in a clean `error: user: ...`; the few whose outcome is an
//! abort of the C library itself are skipped by name ([`NSS_ABORTS`]).
//!
//! Targets: the builder with defaults and a pid file; with manual readiness
//! and log files; the attribute with a pid file, `user = "nobody"`, log
//! files and `ready = "manual"` (`tests/bin/attr_faults.rs`, which stops in
//! its `pid_file` expression, evaluated before the start runs); and
//! `daemon-run --user nobody` with a pid file
//! (`tests/bin/daemon_run_stopped.rs`: `daemon-run`'s `main` behind the stop).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{Harness, PROBE, arg};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How many calls of each system call, per process, fail in turn.
const FIRST: usize = 10;
/// Injections whose outcome is the C library's, not the project's: with
/// `passwd: files systemd` in `nsswitch.conf`, the user lookup of the
/// targets that switch to `nobody` (in the launcher, before it forks) runs
/// glibc's `initgroups` through `libnss_systemd`, whose first two
/// `rt_sigprocmask` calls are asserted to succeed (it aborts: "Assertion
/// 'sigprocmask_many(...) >= 0' failed at src/nss-systemd/nss-systemd.c"),
/// and whose `pthread_once` wake-up `futex` makes glibc abort on an errno
/// futex never returns ("The futex facility returned an unexpected error
/// code"). Skipped only when the run ends exactly so: killed by SIGABRT
/// (134) with nothing of the start alive and no pid file; any other outcome
/// is judged.
const NSS_ABORTS: &[&str] =
    &["rt_sigprocmask:error=EIO:when=1", "rt_sigprocmask:error=EIO:when=2", "futex:error=EIO:when=1"];
/// The system calls of a memory allocator. An injected failure of one is
/// the allocator's "out of memory", which Rust answers by aborting (std's
/// `handle_alloc_error`: "memory allocation of N bytes failed", SIGABRT),
/// not a step a start can report. It happens with musl, whose `malloc` maps
/// memory with `mmap` for ordinary sizes, where glibc's takes it from the
/// `brk` heap it grew before `main`. Skipped only when the run ends exactly
/// so: that message, SIGABRT, nothing of the start alive and no pid file.
const ALLOCATOR_CALLS: &[&str] = &["mmap", "mremap", "brk"];
/// Runs at once: the machine is small and shared.
const POOL: usize = 3;
/// The probe's ready timeout; a run taking much longer hangs.
const READY_TIMEOUT_MS: u64 = 2000;

/// The errno a plausible failure of `syscall` has.
fn errno_for(syscall: &str) -> &'static str {
    match syscall {
        "clone" | "clone3" | "fork" | "vfork" => "EAGAIN",
        "pipe2" | "pipe" | "dup" | "dup2" | "dup3" | "socket" => "EMFILE",
        "write" | "writev" | "pwrite64" => "ENOSPC",
        _ => "EIO",
    }
}

/// What one run under strace ended in.
struct Run {
    code: Option<i32>,
    stderr: String,
    elapsed: Duration,
    /// Processes of the start alive when the launcher exited.
    left: Vec<i32>,
    pid_file_left: bool,
    daemon_named: bool,
    trace: String,
    /// Whether a failure was injected into the program `daemon-run`
    /// executed, after its `execve` succeeded.
    after_exec: bool,
}

/// The starts under test, each stopping itself for the tracer (SIGSTOP with
/// `PROBE_STOP_FOR_TRACER`) before its start runs.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// The probe: the builder with defaults and a pid file.
    Builder,
    /// The probe with manual readiness and log files.
    Manual,
    /// `tests/bin/attr_faults.rs`: the attribute with a pid file,
    /// `user = "nobody"`, log files and `ready = "manual"`.
    Attribute,
    /// `daemon-run --user nobody --pid-file ... -- /bin/sleep`, through
    /// `tests/bin/daemon_run_stopped.rs`.
    DaemonRun,
}

/// The attribute target's log file (`stdout =` takes a literal path).
const ATTR_LOG: &str = "/tmp/daemon-tests-attr_faults.log";

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Builder => "builder",
            Target::Manual => "manual",
            Target::Attribute => "attribute",
            Target::DaemonRun => "daemon-run",
        }
    }

    /// The command that starts this target with `pid_file`.
    fn command(self, harness: &Harness, pid_file: &std::path::Path) -> Command {
        let pid_file = arg(pid_file);
        let timeout = READY_TIMEOUT_MS.to_string();
        let log = harness.path("out.log");
        let mut command;
        match self {
            Target::Builder | Target::Manual => {
                command = harness.command(PROBE);
                command.args(["--pid-file", pid_file, "--ready-timeout-ms", &timeout]);
                if let Target::Manual = self {
                    command.args(["--ready-manual", "--stdout", arg(&log), "--stderr", arg(&log)]);
                }
                command.env("PROBE_OUT", harness.path("probe.out"));
            }
            Target::Attribute => {
                command = harness.command(env!("CARGO_BIN_EXE_attr_faults"));
                command.env("PROBE_PID_FILE", pid_file);
            }
            Target::DaemonRun => {
                command = harness.command(env!("CARGO_BIN_EXE_daemon_run_stopped"));
                command.args([
                    "--pid-file",
                    pid_file,
                    "--user",
                    "nobody",
                    "--ready-timeout",
                    &format!("{timeout}ms"),
                ]);
                command.args(["--", "/bin/sleep", "1000"]);
            }
        }
        command
    }
}

/// Starts `target`, stopped, attaches `strace` with `inject` (none for the
/// baseline), lets it run, and checks what is left once the launcher exits.
fn traced_start(strace: &Path, name: &str, target: Target, inject: Option<&str>) -> Run {
    let harness = Harness::new(name);
    // The daemons that switch to `nobody` must reach their pid file's
    // directory.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(harness.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pid_file = harness.path("d.pid");
    let stderr_path = harness.path("launcher.err");
    let trace_path = harness.path("trace");
    let mut command = target.command(&harness, &pid_file);
    command
        .env("PROBE_STOP_FOR_TRACER", "1")
        .current_dir(harness.dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let mut launcher = command.spawn().expect("the target");
    let pid = launcher.id() as i32;
    common::eventually("the probe stops", || common::Proc(pid).state() == "T");
    let mut tracing = harness.command(strace);
    tracing.args(["-f", "-qq", "-o", arg(&trace_path), "-p", &pid.to_string()]);
    if let Some(inject) = inject {
        tracing.args(["-e", &format!("inject={inject}")]);
    }
    let mut tracer = tracing.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("strace");
    common::eventually("strace attaches", || common::Proc(pid).status("TracerPid") != "0");
    let started = Instant::now();
    kill(Pid::from_raw(pid), Signal::SIGCONT).unwrap();
    let patience = Duration::from_millis(READY_TIMEOUT_MS) + common::PATIENCE;
    let code = common::poll(patience, || launcher.try_wait().unwrap()).and_then(|status| {
        use std::os::unix::process::ExitStatusExt;
        status.code().or_else(|| status.signal().map(|s| 128 + s))
    });
    let elapsed = started.elapsed();
    let tracer_pid = tracer.id() as i32;
    let left: Vec<i32> = harness.processes().into_iter().map(|p| p.0).filter(|&p| p != tracer_pid).collect();
    let named = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
        .filter(|&daemon| common::Proc(daemon).alive() && left.contains(&daemon));
    let run = Run {
        code,
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        elapsed,
        left: left.clone(),
        pid_file_left: pid_file.exists(),
        daemon_named: named.is_some(),
        trace: String::new(),
        after_exec: false,
    };
    for pid in &left {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    let _ = launcher.kill();
    let _ = launcher.wait();
    // strace exits once its tracees are gone; killed if it does not.
    let _ = common::poll(common::PATIENCE, || tracer.try_wait().unwrap());
    let _ = tracer.kill();
    let _ = tracer.wait();
    let trace = std::fs::read_to_string(&trace_path).unwrap_or_default();
    let after_exec = calls(&trace).any(|call| call.after_exec && call.line.ends_with("(INJECTED)"));
    Run { trace, after_exec, ..run }
}

/// One system call in a `strace -f` trace.
struct Call<'a> {
    pid: &'a str,
    name: &'a str,
    /// The rest of the line: the call, or its "resumed" end.
    line: &'a str,
    /// Whether this process had executed a program (`execve` returned 0)
    /// before this call.
    after_exec: bool,
}

/// The calls of `trace`, in order; a call split by another process's
/// ("<unfinished ...>", then "<... read resumed>") is counted once, when it
/// began, and its resumed end is also yielded (with the name of the call) so
/// that its result can be read.
fn calls(trace: &str) -> impl Iterator<Item = Call<'_>> {
    let mut executed = std::collections::BTreeSet::new();
    trace.lines().filter_map(move |line| {
        let (pid, rest) = line.split_once(' ')?;
        let rest = rest.trim_start();
        let name = rest.strip_prefix("<... ").unwrap_or(rest);
        let name = name
            .split(['(', ' '])
            .next()
            .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))?;
        let after_exec = executed.contains(pid);
        if name == "execve" && rest.ends_with(" = 0") {
            executed.insert(pid);
        }
        Some(Call { pid, name, line: rest, after_exec })
    })
}

/// Per syscall, the largest number of calls any one process of the start
/// made in the baseline, capped at [`FIRST`]. The calls of the program
/// `daemon-run` executes, after its successful `execve`, are not the
/// project's and not counted.
fn calls_per_syscall(trace: &str) -> Vec<(String, usize)> {
    let mut counts: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for call in calls(trace) {
        if call.after_exec || call.line.starts_with('<') {
            continue;
        }
        *counts.entry((call.name.to_string(), call.pid.to_string())).or_default() += 1;
    }
    let mut per_syscall: std::collections::BTreeMap<String, usize> = Default::default();
    for ((name, _), count) in counts {
        let most = per_syscall.entry(name).or_default();
        *most = (*most).max(count.min(FIRST));
    }
    // The probe's body after `ready` sleeps until SIGTERM: not the start.
    // The identity calls cannot fail: an injected error would only be read
    // as a (wrong) pid or uid.
    for never_fails in
        ["clock_nanosleep", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "umask"]
    {
        per_syscall.remove(never_fails);
    }
    per_syscall.into_iter().collect()
}

/// Whether `run` ends in one of the two allowed ways; why not otherwise.
/// With `write` failing, the launcher's own first write (its error line) may
/// be the one that fails: then it exits with the code and prints nothing.
fn verdict(run: &Run, inject: &str) -> Result<(), String> {
    match run.code {
        None => Err(format!("hang: the launcher still runs after {:?}", run.elapsed)),
        Some(0) if run.daemon_named => Ok(()),
        Some(0) => Err(format!("exit 0 but no live daemon named by the pid file (left: {:?})", run.left)),
        Some(101) => Err(format!("panic exit 101: {}", run.stderr)),
        Some(code) => {
            let errors: Vec<&str> = run.stderr.lines().filter(|line| line.starts_with("error: ")).collect();
            let last = run.stderr.lines().last().unwrap_or("");
            let documented = matches!(code, 64..=78 | 126 | 127);
            let unprintable = run.stderr.is_empty() && inject.starts_with("write:");
            if !unprintable
                && (errors.len() != 1 || !last.starts_with("error: ") || last.splitn(3, ": ").count() < 3)
            {
                Err(format!("exit {code} without one `error: <step>: <cause>` line: {:?}", run.stderr))
            } else if !documented {
                Err(format!("exit {code} is not a documented code: {last}"))
            } else if !run.left.is_empty() {
                Err(format!("exit {code} ({last}) left running: {:?}", run.left))
            } else if run.pid_file_left {
                Err(format!("exit {code} ({last}) left the pid file"))
            } else {
                Ok(())
            }
        }
    }
}

#[test]
fn every_failed_system_call_of_a_start_leaves_nothing_behind() {
    let name = "every_failed_system_call_of_a_start_leaves_nothing_behind";
    if !common::root_or_skip(name, "switch users and read every process's environment") {
        return;
    }
    let Some(strace) = common::installed_or_skip(name, "strace", "strace") else {
        return;
    };
    let started = Instant::now();
    let targets = [Target::Builder, Target::Manual, Target::Attribute, Target::DaemonRun];
    let mut cases = Vec::new();
    for target in targets {
        let baseline = traced_start(&strace, "faults-baseline", target, None);
        assert_eq!(
            verdict(&baseline, ""),
            Ok(()),
            "{}: the traced start without faults fails: {}",
            target.name(),
            baseline.stderr
        );
        for (syscall, count) in calls_per_syscall(&baseline.trace) {
            for when in 1..=count {
                cases.push((target, format!("{syscall}:error={}:when={when}", errno_for(&syscall))));
            }
        }
    }
    let queue = Mutex::new(cases.iter());
    let failures = Mutex::new(Vec::new());
    let skipped = Mutex::new(Vec::new());
    let refused = std::sync::atomic::AtomicUsize::new(0);
    let per_target = Mutex::new(std::collections::BTreeMap::<&str, usize>::new());
    std::thread::scope(|scope| {
        for _ in 0..POOL {
            scope.spawn(|| {
                loop {
                    let Some(&(target, ref inject)) = queue.lock().unwrap().next() else { return };
                    let run = traced_start(&strace, "faults", target, Some(inject));
                    *per_target.lock().unwrap().entry(target.name()).or_default() += 1;
                    if run.code == Some(0) && !run.daemon_named && run.after_exec {
                        // `daemon-run` executed the program, which then
                        // failed on its own injected call: not the project's.
                        skipped
                            .lock()
                            .unwrap()
                            .push(format!("{} inject={inject}: the program's", target.name()));
                        continue;
                    }
                    let switches_user = matches!(target, Target::Attribute | Target::DaemonRun);
                    let nss_abort =
                        run.code == Some(128 + libc::SIGABRT) && run.left.is_empty() && !run.pid_file_left;
                    if switches_user && nss_abort && NSS_ABORTS.contains(&inject.as_str()) {
                        skipped
                            .lock()
                            .unwrap()
                            .push(format!("{} inject={inject}: NSS aborted", target.name()));
                        continue;
                    }
                    let syscall = inject.split(':').next().unwrap_or_default();
                    let out_of_memory = run.stderr.starts_with("memory allocation of ");
                    if nss_abort && out_of_memory && ALLOCATOR_CALLS.contains(&syscall) {
                        skipped.lock().unwrap().push(format!(
                            "{} inject={inject}: out of memory, an abort in Rust",
                            target.name()
                        ));
                        continue;
                    }
                    if run.code != Some(0) {
                        refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    if let Err(why) = verdict(&run, inject) {
                        failures.lock().unwrap().push(format!("{} inject={inject}: {why}", target.name()));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    use std::io::Write;
    let skipped = skipped.into_inner().unwrap();
    let _ = writeln!(
        std::io::stderr().lock(),
        "faults: {} injected runs ({:?}) in {:?}: {} failed the start, {} broke the rule, \
         {} not the project's:\n{}",
        cases.len(),
        per_target.into_inner().unwrap(),
        started.elapsed(),
        refused.into_inner(),
        failures.len(),
        skipped.len(),
        skipped.join("\n"),
    );
    let _ = std::fs::remove_file(ATTR_LOG);
    assert!(failures.is_empty(), "{} injected runs broke the rule:\n{}", failures.len(), failures.join("\n"));
}
