//! The daemon's side after the fork (steps 5 to 12), and the same steps in
//! the foreground. Async-signal-safe until the body's `init` runs: system
//! calls on what step 1 prepared, nothing allocated, formatted or resolved.

use std::fmt::Display;
use std::os::fd::OwnedFd;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::resource::{Resource, setrlimit};
use nix::unistd::{self, ForkResult};

use crate::builder::Running;
use crate::error::{Error, Step};
use crate::failure::Failure;
use crate::pidfile::{self, PidFile};
use crate::prepared::Prepared;
use crate::privileges;
use crate::readiness::{self, Pending, Ready};
use crate::report;
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

impl Prepared {
    /// `foreground`: the steps that remain, in this process.
    pub(crate) fn in_foreground<T, E: Display>(
        mut self,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<(Running, T), Error> {
        let pid_file = self.lock_steps(false).map_err(|failure| self.error(failure))?;
        let value = init().map_err(|error| Error::Init { message: format!("{error}") })?;
        self.drop_privileges().map_err(|failure| self.error(failure))?;
        if let Some(exec) = &self.exec {
            return Err(self.error(execute(exec, pid_file.as_ref())));
        }
        match (self.ready, &self.service_manager) {
            (Ready::Auto, Some(manager)) => manager.send_ready(),
            (Ready::Auto, None) => {}
            (Ready::Manual, _) => readiness::defer(Pending { report: None, stdio: None }),
        }
        Ok((Running { pid_file }, value))
    }

    /// The daemon's side: the steps, `init` (the caller's when `has_init`),
    /// the privilege drop, the report.
    pub(crate) fn detach<T, E: Display>(
        mut self,
        to_launcher: OwnedFd,
        verdict: Option<OwnedFd>,
        has_init: bool,
        init: impl FnOnce() -> Result<T, E>,
    ) -> (Running, T) {
        if let Err(failure) = unistd::setsid() {
            fail(&to_launcher, Failure::Sys(Step::Setsid, failure), None)
        }
        if self.double_fork {
            // SAFETY: still single-threaded (the first child of a
            // single-threaded process); the same rules as the first fork.
            match unsafe { unistd::fork() } {
                Err(errno) => fail(&to_launcher, Failure::Sys(Step::SecondFork, errno), None),
                Ok(ForkResult::Parent { child }) => match verdict {
                    Some(verdict) => {
                        self.release_for_verdict(to_launcher);
                        crate::verdict::await_in_intermediate(verdict, child)
                    }
                    None => leave(0),
                },
                Ok(ForkResult::Child) => drop(verdict),
            }
        }
        let mut pid_file = match self.lock_steps(true) {
            Ok(pid_file) => pid_file,
            Err(failure) => fail(&to_launcher, failure, None),
        };
        crate::pid_vars::rewrite();
        // The "started" record goes before the first code of the body (`init`,
        // the program executed, or the body before its `ready()`), which could
        // leave the process group: the launcher then knows whom to stop. When
        // nothing runs or can fail between it and "ready" (no `init`, no
        // privileges to drop, readiness at once or the exec), both go in one
        // write, and the launcher wakes once.
        let with_ready =
            !has_init && self.credentials.is_none() && (self.exec.is_some() || self.ready == Ready::Auto);
        if !with_ready {
            unless_lost(report::send_started(&to_launcher), &mut pid_file);
        }
        let value = match init() {
            Ok(value) => value,
            Err(error) => {
                drop(pid_file);
                report::send_init_failure(&to_launcher, &format!("{error}"));
                leave(sysexits::EX_UNAVAILABLE)
            }
        };
        if let Err(failure) = self.drop_privileges() {
            fail(&to_launcher, failure, pid_file)
        }
        if let Some(exec) = &self.exec {
            // "Ready" now; end of file once the exec closes the pipe.
            unless_lost(report::send_ready(&to_launcher, with_ready), &mut pid_file);
            let failure = execute(exec, pid_file.as_ref());
            let code = match failure {
                Failure::Sys(_, errno) => crate::error::exec_exit_code(errno),
                _ => 126,
            };
            drop(pid_file);
            let _ = report::send(&to_launcher, Err(failure));
            leave(code)
        }
        match self.ready {
            Ready::Auto => {
                unless_lost(report::send_ready(&to_launcher, with_ready), &mut pid_file);
                drop(to_launcher);
                if let Some(manager) = &self.service_manager {
                    manager.send_ready();
                }
            }
            Ready::Manual => {
                // Until `ready()`, stdout and stderr are relayed by the
                // launcher: what the body prints, its error or its panic,
                // reaches the person who started it.
                let stdio = self.deferred_stdio.take();
                readiness::defer(Pending { report: Some(to_launcher), stdio });
            }
        }
        self.retire();
        (Running { pid_file }, value)
    }

    /// The intermediate process, waiting for the verdict, holds nothing the
    /// start's outcome depends on: the launcher waits for the end of file of
    /// every writer of the report and relay pipes, and the daemon must not
    /// share its launcher's terminal through its parent.
    fn release_for_verdict(&mut self, to_launcher: OwnedFd) {
        drop(to_launcher);
        drop(self.relay.take());
        if let Some(devnull) = &self.devnull {
            let _ = unistd::dup2_stdin(devnull);
            let _ = unistd::dup2_stdout(devnull);
            let _ = unistd::dup2_stderr(devnull);
        }
    }

    /// The daemon's end of `Prepared`, before the body: what still holds a
    /// descriptor is closed, the strings and lists the launcher built are
    /// left to the daemon's exit. The daemon frees nothing it need not
    /// (DESIGN.md, invariant 2), and a free would fault the allocator's code,
    /// far from this crate's in the binary, into its memory for nothing
    /// (peak RSS is what a daemon is measured by). Every field is named, so a
    /// new one has to be sorted here.
    fn retire(self) {
        let Prepared {
            umask: _,
            core_dumps: _,
            double_fork: _,
            ready: _,
            timeout: _,
            chroot,
            chdir,
            pid_file,
            chroot_dir,
            chdir_dir,
            pid_location,
            credentials,
            devnull,
            stdout,
            stderr,
            deferred_stdio,
            relay,
            exec,
            service_manager: _,
        } = self;
        // All taken by the steps by now; dropped in case one is not.
        drop((chroot_dir, chdir_dir, pid_location, devnull, stdout, stderr, deferred_stdio, relay, exec));
        std::mem::forget((chroot, chdir, pid_file, credentials));
    }

    /// Step 7: stdin on `/dev/null`; stdout and stderr on the log files or
    /// `/dev/null`, now (automatic readiness) or when the body calls `ready()`.
    /// Every descriptor used here is closed afterwards, so the pid file's
    /// lock takes the lowest free number.
    fn redirect_stdio(&mut self) -> nix::Result<()> {
        let Some(devnull) = self.devnull.take() else { return Ok(()) };
        unistd::dup2_stdin(&devnull)?;
        let target = |log: Option<OwnedFd>| log.map_or_else(|| unistd::dup(&devnull), Ok);
        let stdout = target(self.stdout.take())?;
        let stderr = target(self.stderr.take())?;
        match self.ready {
            Ready::Manual if self.exec.is_none() => {
                if let Some([out, err]) = self.relay.take().and_then(|mut relay| relay.write.take()) {
                    unistd::dup2_stdout(&out)?;
                    unistd::dup2_stderr(&err)?;
                }
                self.deferred_stdio = Some((stdout, stderr));
            }
            _ => {
                unistd::dup2_stdout(&stdout)?;
                unistd::dup2_stderr(&stderr)?;
            }
        }
        Ok(())
    }

    /// Steps 7 to 10 (7 only when `detach`; 5 and 6, `setsid` and the second
    /// fork, are [`detach`](Prepared::detach)'s): up to the locked pid file.
    fn lock_steps(&mut self, detach: bool) -> Result<Option<PidFile>, Failure> {
        let sys = |step| move |errno| Failure::Sys(step, errno);
        if detach {
            self.redirect_stdio().map_err(sys(Step::Stdio))?;
        }
        // libc's `umask`, not nix's: nix's is not inlined, and every function
        // the daemon calls outside this crate's code brings another 64 KiB
        // window of the binary into its memory (the kernel maps text around
        // each fault).
        // SAFETY: umask cannot fail and reads or writes no memory.
        unsafe { libc::umask(self.umask.bits()) };
        if !self.core_dumps {
            setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(sys(Step::Limits))?;
        }
        // The directories the launcher walked, entered by descriptor, then
        // closed: an open directory outside the new root would lead out of it.
        if let Some(root) = self.chroot_dir.take() {
            unistd::fchdir(&root).map_err(sys(Step::Chroot))?;
            unistd::chroot(c".").map_err(sys(Step::Chroot))?;
        }
        if let Some(dir) = self.chdir_dir.take() {
            unistd::fchdir(&dir).map_err(sys(Step::Chdir))?;
        }
        let (Some(path), Some(location)) = (self.pid_file.take(), self.pid_location.take()) else {
            return Ok(None);
        };
        let locked = pidfile::lock_at(&location)?;
        let mut pid_file = PidFile::from_lock(path, location, locked);
        pid_file.remove_on_termination();
        Ok(Some(pid_file))
    }

    /// Step 11.
    fn drop_privileges(&self) -> Result<(), Failure> {
        match &self.credentials {
            Some(credentials) => privileges::drop_to(credentials),
            None => Ok(()),
        }
    }
}

/// Executes the program, the pid file's lock inherited. Returns only on failure.
fn execute(exec: &crate::prepared::Exec, pid_file: Option<&PidFile>) -> Failure {
    if let Some(lock) = pid_file.and_then(PidFile::descriptor) {
        // The one descriptor the program inherits on purpose.
        if let Err(errno) = fcntl(lock, FcntlArg::F_SETFD(FdFlag::empty())) {
            return Failure::Sys(Step::Exec, errno);
        }
    }
    // The arrays were built before the first fork (see `prepared::Exec`).
    let envp = exec.notify.as_ref().map(|notify| &notify.envp_ptrs);
    Failure::Sys(Step::Exec, crate::c_strings::execute(&exec.program, &exec.argv, envp))
}
