//! The daemon's side after the fork (steps 5 to 12), and the same steps in
//! the foreground, on the daemon's half of the plan ([`Detach`]).
//!
//! The child of a single-threaded process (the preflight proved it) may do
//! anything that process may: it need not be async-signal-safe. By design
//! it still allocates, formats and resolves nothing up to the body's
//! `init`: system calls on what step 1 prepared, so that the path between
//! the forks is short, cannot block on a lock, and costs no memory.

use std::ffi::CString;
use std::fmt::Display;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::stat::Mode;
use nix::unistd::{self, ForkResult};

use crate::builder::Running;
use crate::error::Failure;
use crate::error::{Error, Step};
use crate::sd_notify::ready::{self, Pending, Ready};
use crate::start::plan::{Detach, Paths, Stdio};
use crate::start::program::Program;
use crate::start::report;
use crate::steps::pidfile::{self, PidFile};
use crate::steps::privileges::{self, Credentials};
use crate::sysexits::{self, leave};

/// Reports `failure` and leaves; `pid_file` is removed first, so that a
/// failed start leaves none behind.
fn fail(to_launcher: &OwnedFd, failure: Failure, pid_file: Option<PidFile>) -> ! {
    drop(pid_file);
    let _ = report::send(to_launcher, Err(failure));
    leave(sysexits::EX_OSERR)
}

/// A record the launcher waits for could not be written ([`report::lost`]):
/// leaves, the pid file removed, rather than run unseen while the launcher
/// reports a failure (it also removes the file, should this process be
/// unable to: after the privilege drop).
fn unless_lost(sent: nix::Result<()>, pid_file: &mut Option<PidFile>) {
    if report::lost(sent) {
        drop(pid_file.take());
        leave(sysexits::EX_OSERR)
    }
}

impl Detach {
    /// `foreground`: the steps that remain, in this process; `paths` name
    /// what failed.
    pub(crate) fn in_foreground<T, E: Display>(
        self,
        paths: &Paths,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<(Running, T), Error> {
        let Detach {
            umask,
            core_dumps,
            double_fork: _,
            ready,
            chroot_dir,
            chdir_dir,
            pid_file,
            handed_lock,
            credentials,
            stdio: _,
            program,
            service_manager,
        } = self;
        let (pid_file, handed_lock) =
            lock_steps(umask, core_dumps, chroot_dir, chdir_dir, pid_file, handed_lock)
                .map_err(|failure| paths.error(failure))?;
        let value = init().map_err(|error| Error::Init { message: format!("{error}") })?;
        drop_privileges(credentials.as_ref()).map_err(|failure| paths.error(failure))?;
        if let Some(program) = &program {
            return Err(paths.error(execute(program, pid_file.as_ref(), handed_lock.as_ref())));
        }
        keep_for_life(handed_lock);
        match (ready, &service_manager) {
            (Ready::Auto, Some(manager)) => manager.send_ready(),
            (Ready::Auto, None) => {}
            (Ready::Manual, _) => ready::defer(Pending { report: None, stdio: None, handover: None }),
        }
        Ok((Running::new(pid_file), value))
    }

    /// The daemon's side: the steps, `init` (the caller's when `has_init`),
    /// the privilege drop, the report. Every field is taken by the step that
    /// uses it; what is left when the body starts (the user's names, the
    /// program's strings) is never freed: the daemon frees nothing it need
    /// not (DESIGN.md, invariant 2), and a free would fault the allocator's
    /// code, far from this crate's in the binary, into its memory for
    /// nothing (peak RSS is what a daemon is measured by). Every error path
    /// leaves by `_exit`, which frees nothing either.
    pub(crate) fn detach<T, E: Display>(
        self,
        to_launcher: OwnedFd,
        verdict: Option<OwnedFd>,
        has_init: bool,
        init: impl FnOnce() -> Result<T, E>,
    ) -> (Running, T) {
        let Detach {
            umask,
            core_dumps,
            double_fork,
            ready,
            chroot_dir,
            chdir_dir,
            pid_file,
            handed_lock,
            credentials,
            stdio,
            program,
            service_manager,
        } = self;
        if let Err(failure) = unistd::setsid() {
            fail(&to_launcher, Failure::Sys(Step::Setsid, failure), None)
        }
        if double_fork {
            // SAFETY: still single-threaded (the first child of a
            // single-threaded process); the same rules as the first fork.
            match unsafe { unistd::fork() } {
                Err(errno) => fail(&to_launcher, Failure::Sys(Step::SecondFork, errno), None),
                Ok(ForkResult::Parent { child }) => match verdict {
                    Some(verdict) => {
                        release_for_verdict(to_launcher, stdio);
                        crate::start::verdict::await_in_intermediate(verdict, child)
                    }
                    None => leave(0),
                },
                Ok(ForkResult::Child) => drop(verdict),
            }
        }
        let deferred_stdio = match redirect_stdio(stdio, ready, program.is_some()) {
            Ok(deferred) => deferred,
            Err(errno) => fail(&to_launcher, Failure::Sys(Step::Stdio, errno), None),
        };
        let (mut pid_file, handed_lock) =
            match lock_steps(umask, core_dumps, chroot_dir, chdir_dir, pid_file, handed_lock) {
                Ok(locked) => locked,
                Err(failure) => fail(&to_launcher, failure, None),
            };
        crate::steps::env_pids::rewrite();
        // The "started" record goes before the first code of the body (`init`,
        // the program executed, or the body before its `ready()`), which could
        // leave the process group: the launcher then knows whom to stop. When
        // nothing runs or can fail between it and "ready" (no `init`, no
        // privileges to drop, readiness at once or the exec), both go in one
        // write, and the launcher wakes once.
        let with_ready = !has_init && credentials.is_none() && (program.is_some() || ready == Ready::Auto);
        if !with_ready {
            unless_lost(report::send_started(&to_launcher), &mut pid_file);
        }
        let value = match run_init(init) {
            Ok(value) => value,
            Err(text) => {
                drop(pid_file);
                report::send_init_failure(&to_launcher, &text);
                leave(sysexits::EX_UNAVAILABLE)
            }
        };
        if let Err(failure) = drop_privileges(credentials.as_ref()) {
            fail(&to_launcher, failure, pid_file)
        }
        if let Some(program) = &program {
            // "Ready" now; end of file once the exec closes the pipe.
            unless_lost(report::send_ready(&to_launcher, with_ready), &mut pid_file);
            let failure = execute(program, pid_file.as_ref(), handed_lock.as_ref());
            let code = match failure {
                Failure::Sys(_, errno) => crate::error::exec_exit_code(errno),
                _ => 126,
            };
            drop(pid_file);
            let _ = report::send(&to_launcher, Err(failure));
            leave(code)
        }
        keep_for_life(handed_lock);
        match ready {
            Ready::Auto => {
                unless_lost(report::send_ready(&to_launcher, with_ready), &mut pid_file);
                drop(to_launcher);
                if let Some(manager) = &service_manager {
                    manager.send_ready();
                }
            }
            Ready::Manual => {
                // Until `ready()`, stdout and stderr are relayed by the
                // launcher: what the body prints, its error or its panic,
                // reaches the person who started it.
                ready::defer(Pending { report: Some(to_launcher), stdio: deferred_stdio, handover: None });
            }
        }
        std::mem::forget((credentials, program));
        (Running::new(pid_file), value)
    }
}

/// Runs `init`: its value, or the text the launcher prints after `init: `,
/// its error's `Display` or, when it panics, `panicked at <where>: <what>`
/// (the daemon's stderr, where the panic hook also prints it, is no
/// terminal by now). Allocates, as `init` may: this is the body's code.
pub(super) fn run_init<T, E: Display>(init: impl FnOnce() -> Result<T, E>) -> Result<T, String> {
    static PANIC: Mutex<Option<String>> = Mutex::new(None);
    let previous = Arc::new(std::panic::take_hook());
    let chained = Arc::clone(&previous);
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let what = match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
            (Some(text), _) => *text,
            (None, Some(text)) => text.as_str(),
            (None, None) => "Box<dyn Any>",
        };
        let text = match info.location() {
            Some(location) => format!("panicked at {location}: {what}"),
            None => format!("panicked: {what}"),
        };
        *PANIC.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(text);
        chained(info);
    }));
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(init));
    drop(std::panic::take_hook());
    std::panic::set_hook(Box::new(move |info| previous(info)));
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("{error}")),
        Err(_) => {
            Err(PANIC.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take().unwrap_or_default())
        }
    }
}

/// The intermediate process, waiting for the verdict, holds nothing the
/// start's outcome depends on: the launcher waits for the end of file of
/// every writer of the report and relay pipes, and the daemon must not
/// share its launcher's terminal through its parent.
fn release_for_verdict(to_launcher: OwnedFd, stdio: Stdio) {
    let Stdio { devnull, stdout, stderr, relay } = stdio;
    drop((to_launcher, relay, stdout, stderr));
    let _ = unistd::dup2_stdin(&devnull);
    let _ = unistd::dup2_stdout(&devnull);
    let _ = unistd::dup2_stderr(&devnull);
}

/// Step 7: stdin on `/dev/null`; stdout and stderr on the log files or
/// `/dev/null`, now (automatic readiness, or a program executed), or, with
/// manual readiness, on the relay until the body calls `ready()`: then
/// the targets are returned, for `ready()` to put in place. Every
/// descriptor used here is closed afterwards, so the pid file's lock takes
/// the lowest free number.
pub(super) fn redirect_stdio(
    stdio: Stdio,
    ready: Ready,
    exec: bool,
) -> nix::Result<Option<(OwnedFd, OwnedFd)>> {
    let Stdio { devnull, stdout, stderr, relay } = stdio;
    unistd::dup2_stdin(&devnull)?;
    if ready == Ready::Manual && !exec {
        let target = |log: Option<OwnedFd>| log.map_or_else(|| unistd::dup(&devnull), Ok);
        let (stdout, stderr) = (target(stdout)?, target(stderr)?);
        if let Some([out, err]) = relay {
            unistd::dup2_stdout(&out)?;
            unistd::dup2_stderr(&err)?;
        }
        return Ok(Some((stdout, stderr)));
    }
    // Straight onto 1 and 2: no copy of `/dev/null` to make and close.
    unistd::dup2_stdout(stdout.as_ref().unwrap_or(&devnull))?;
    unistd::dup2_stderr(stderr.as_ref().unwrap_or(&devnull))?;
    Ok(None)
}

/// Steps 8 to 10: the umask, the core limit, the chroot and working
/// directories, up to the locked pid file.
///
/// A lock handed down by the launcher that executed this program
/// (`steps/lock_handover.rs`) on this very pid file's lock file is adopted
/// rather than locked again (which would fail: the description holding it
/// is this process's), and the pid file then names this process. On any
/// other file (the program's own pid file is another), or with no pid file
/// of its own, it is given back, to be held beside: both pid files then
/// lead to this process.
fn lock_steps(
    umask: Mode,
    core_dumps: bool,
    chroot_dir: Option<OwnedFd>,
    chdir_dir: OwnedFd,
    pid_file: Option<(CString, pidfile::Location)>,
    handed_lock: Option<OwnedFd>,
) -> Result<(Option<PidFile>, Option<OwnedFd>), Failure> {
    enter_steps(umask, core_dumps, chroot_dir, chdir_dir)?;
    let Some((path, location)) = pid_file else {
        return Ok((None, handed_lock));
    };
    let (locked, handed_lock) = match handed_lock {
        Some(fd) if pidfile::is_lock_file_of(&location, fd.as_fd()) => {
            (pidfile::adopt_handed(&location, fd)?, None)
        }
        other => (pidfile::lock_at(&location)?, other),
    };
    let mut pid_file = PidFile::from_lock(path, location, locked);
    pid_file.remove_on_termination();
    Ok((Some(pid_file), handed_lock))
}

/// A lock handed down and not adopted as the pid file's: held for the
/// daemon's life (close-on-exec already: nothing it runs inherits it). Its
/// file is the launcher's to remove once the lock is free (`stop` does).
fn keep_for_life(handed_lock: Option<OwnedFd>) {
    if let Some(fd) = handed_lock {
        // Never closed: the lock lasts as long as this process.
        let _ = fd.into_raw_fd();
    }
}

/// Steps 8 and 9: the umask, the core limit, the chroot and working directories.
pub(super) fn enter_steps(
    umask: Mode,
    core_dumps: bool,
    chroot_dir: Option<OwnedFd>,
    chdir_dir: OwnedFd,
) -> Result<(), Failure> {
    let sys = |step| move |errno| Failure::Sys(step, errno);
    // libc's `umask`, not nix's: nix's is not inlined, and every function
    // the daemon calls outside this crate's code brings another 64 KiB
    // window of the binary into its memory (the kernel maps text around
    // each fault).
    // SAFETY: umask cannot fail and reads or writes no memory.
    unsafe { libc::umask(umask.bits()) };
    if !core_dumps {
        setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(sys(Step::Limits))?;
    }
    // The directories the launcher walked, entered by descriptor, then
    // closed: an open directory outside the new root would lead out of it.
    if let Some(root) = chroot_dir {
        unistd::fchdir(&root).map_err(sys(Step::Chroot))?;
        unistd::chroot(c".").map_err(sys(Step::Chroot))?;
    }
    unistd::fchdir(&chdir_dir).map_err(sys(Step::Chdir))?;
    drop(chdir_dir);
    Ok(())
}

/// Step 11.
pub(super) fn drop_privileges(credentials: Option<&Credentials>) -> Result<(), Failure> {
    match credentials {
        Some(credentials) => privileges::drop_to(credentials),
        None => Ok(()),
    }
}

/// Executes the program, the pid file's lock inherited and announced to
/// it (`DAEMON_LOCK_FD`, `DAEMON_LOCK_PID`: see `steps/lock_handover.rs`);
/// a lock handed to this start is inherited too, and announced when the
/// start has no pid file of its own. Returns only on failure.
fn execute(program: &Program, pid_file: Option<&PidFile>, handed_lock: Option<&OwnedFd>) -> Failure {
    let own = pid_file.and_then(PidFile::descriptor);
    // The descriptors the program inherits on purpose.
    for lock in own.into_iter().chain(handed_lock.map(AsFd::as_fd)) {
        if let Err(errno) = fcntl(lock, FcntlArg::F_SETFD(FdFlag::empty())) {
            return Failure::Sys(Step::Exec, errno);
        }
    }
    if let Some(announced) = own.or(handed_lock.map(AsFd::as_fd)) {
        crate::steps::env_pids::announce_lock(announced.as_raw_fd());
    }
    // The arrays were built before the first fork (see `program.rs`).
    Failure::Sys(Step::Exec, program.exec())
}
