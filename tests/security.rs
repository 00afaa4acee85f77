//! What an unprivileged user cannot make root do: each attack of issue 18
//! staged as the README's users would meet it (a directory `nobody` owns, a
//! lock taken by `nobody`, a racing renamer bounded in time), then proof from
//! outside that root was not steered.
//!
//! `fs.protected_*` sysctls (all 0 here but `protected_hardlinks`) would
//! stop some of these attacks in the kernel already; the tests say where,
//! and pass whatever their values: the defence is the project's own.

use crate::common;

use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Output};

use common::{
    Bystander, Harness, ProbeHarness, arg, assert_stale_and_nobody_signalled, eventually, lock_file,
    root_or_skip, stop_and_reap, text,
};
use daemon_runtime::{Status, Stopped};
use nix::sys::wait::WaitStatus;

const NOBODY: u32 = 65534;

/// A directory inside the harness's that `nobody` owns.
fn nobody_dir(harness: &Harness, name: &str) -> PathBuf {
    let dir = harness.path(name);
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Runs `f` on a thread whose credentials are `nobody`'s (Linux credentials
/// are per thread; the raw system calls change only this one's). Elsewhere
/// credentials are the process's: the tests that use this are Linux's.
#[cfg(target_os = "linux")]
fn as_nobody_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // The raw credential system calls change this thread only.
                // SAFETY: an empty group list (count 0, null pointer) reads no memory.
                let groups =
                    unsafe { libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) };
                assert_eq!(groups, 0);
                // SAFETY: three ids, no memory touched.
                assert_eq!(unsafe { libc::syscall(libc::SYS_setresgid, NOBODY, NOBODY, NOBODY) }, 0);
                // SAFETY: as above.
                assert_eq!(unsafe { libc::syscall(libc::SYS_setresuid, NOBODY, NOBODY, NOBODY) }, 0);
                f()
            })
            .join()
            .unwrap()
    })
}

/// A `sh -c script` run by `nobody`, killed and reaped when dropped.
struct Attacker(Child);

impl Drop for Attacker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nobody_shell(harness: &Harness, script: &str, args: &[&Path]) -> Attacker {
    let mut command = harness.command("sh");
    command.arg("-c").arg(script).arg("sh").args(args);
    Attacker(common::as_nobody(&mut command).spawn().unwrap())
}

/// Waits until `/proc/locks` lists a lock on `path` (the staged attacker took it).
fn wait_locked(path: &Path) {
    let ino = std::fs::metadata(path).unwrap().ino();
    eventually("the attacker holds its lock", || {
        std::fs::read_to_string("/proc/locks").unwrap().contains(&format!(":{ino} "))
    });
}

#[test]
#[cfg(target_os = "linux")] // as_nobody_thread
fn a_daemon_that_dropped_to_nobody_holds_its_pid_file_read_only() {
    if !root_or_skip("a_daemon_that_dropped_to_nobody_holds_its_pid_file_read_only", "switch to nobody") {
        return;
    }
    let harness = Harness::new("pid-read-only");
    harness.open_to_nobody();
    let pid_file = harness.path("d.pid");
    let daemon = harness.start_probe(&["--user", "nobody", "--pid-file", arg(&pid_file)]);
    assert_eq!(daemon.status("Uid").split_whitespace().next(), Some("65534"));
    let to = |path: &Path| -> Vec<i32> {
        daemon.fds().into_iter().filter(|(_, target)| target == path).map(|(fd, _)| fd).collect()
    };
    assert_eq!(to(&lock_file(&pid_file)), [3], "one descriptor to the lock file: {:?}", daemon.fds());
    assert!(to(&pid_file).is_empty(), "none to the pid file: {:?}", daemon.fds());
    let flags = daemon
        .read("fdinfo/3")
        .lines()
        .find_map(|l| l.strip_prefix("flags:").map(str::trim).map(String::from));
    let flags = u32::from_str_radix(&flags.expect("flags"), 8).unwrap();
    assert_eq!(flags & libc::O_ACCMODE as u32, libc::O_RDONLY as u32, "fd 3 must be read-only: {flags:o}");
    // And nobody, whose daemon this is, cannot open the file for writing by name either.
    let denied = as_nobody_thread(|| std::fs::OpenOptions::new().write(true).open(&pid_file).unwrap_err());
    assert_eq!(denied.kind(), std::io::ErrorKind::PermissionDenied);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
}

#[test]
#[cfg(target_os = "linux")] // as_nobody_thread
fn nobody_waiting_for_the_lock_cannot_take_it_when_the_daemon_exits() {
    // Issue 26, item D: a `flock` needs only read access, and the pid file
    // is 0644. `nobody` (here also the daemon's own user) waits for the
    // lock with `flock -x`, on the pid file and on its lock file, and would
    // take it as the daemon exits: `--restart` would then fail with 75 and
    // root's `stop` would signal nobody's process. Only the 0600 lock file
    // is locked, and nobody cannot open it.
    let test = "nobody_waiting_for_the_lock_cannot_take_it_when_the_daemon_exits";
    if !root_or_skip(test, "run a lock-taker as nobody") {
        return;
    }
    let harness = Harness::new("lock-squat");
    harness.open_to_nobody();
    let pid_file = harness.path("d.pid");
    let daemon = harness.start_probe(&["--user", "nobody", "--pid-file", arg(&pid_file)]);
    let lock = lock_file(&pid_file);
    let mode = std::fs::metadata(&lock).map(|meta| meta.mode() & 0o7777).ok();
    let pid_mode = std::fs::metadata(&pid_file).unwrap().mode() & 0o7777;
    let denied = as_nobody_thread(|| std::fs::File::open(&lock).map(drop).map_err(|error| error.kind()));
    let attacker = nobody_shell(
        &harness,
        r#"flock -x "$1" sleep 600 & flock -x "$2" sleep 600 & wait"#,
        &[&pid_file, &lock],
    );
    // The attacker's `flock` is listed (holding, or waiting: `->`) on the
    // pid file, under its own pid, before the daemon is stopped.
    let ino = std::fs::metadata(&pid_file).unwrap().ino();
    eventually("nobody's flock is waiting for the pid file's lock, or holds it", || {
        std::fs::read_to_string("/proc/locks").unwrap().lines().any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let at = fields.iter().position(|field| field.ends_with(&format!(":{ino}")));
            at.is_some_and(|at| at > 0 && fields[at - 1] != daemon.0.to_string())
        })
    });
    let options = daemon_runtime::StopOptions::new().timeout(common::PATIENCE);
    let (stopped, _) = stop_and_reap(daemon, &pid_file, options);
    assert_eq!(stopped, Stopped::Exited { pid: daemon.0 as u32 });
    // The restart: the next start holds the lock, and is the one running.
    // `start_probe` empties `probe.out` first: it still names the daemon stopped.
    let next = harness.start_probe(&["--pid-file", arg(&pid_file)]);
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Running { pid: next.0 as u32 });
    assert_eq!(
        (mode, pid_mode),
        (Some(0o600), 0o644),
        "the lock file is root's alone, the pid file readable"
    );
    assert_eq!(denied, Err(std::io::ErrorKind::PermissionDenied), "nobody opened the lock file");
    drop(attacker);
}

#[test]
fn a_shared_lock_taken_by_nobody_on_a_leftover_pid_file_does_not_block_the_next_start() {
    if !root_or_skip(
        "a_shared_lock_taken_by_nobody_on_a_leftover_pid_file_does_not_block_the_next_start",
        "run a lock-taker as nobody",
    ) {
        return;
    }
    let harness = Harness::new("shared-lock");
    harness.open_to_nobody();
    let (pid_file, _) = harness.stale_pid_file();
    let _attacker = nobody_shell(&harness, r#"exec flock -s "$1" sleep 60"#, &[&pid_file]);
    wait_locked(&pid_file);
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Stale, "a shared lock proves nothing");
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file)]);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Running { pid: daemon.0 as u32 });
}

#[test]
fn an_exclusive_lock_whose_taker_exited_does_not_block_a_start_nor_get_a_bystander_signalled() {
    if !root_or_skip(
        "an_exclusive_lock_whose_taker_exited_does_not_block_a_start_nor_get_a_bystander_signalled",
        "run a lock-taker as nobody",
    ) {
        return;
    }
    let harness = Harness::new("orphan-lock");
    harness.open_to_nobody();
    let (pid_file, _) = harness.stale_pid_file();
    // Root's bystander, named by the file: a start, status or stop that
    // trusted the file would signal it.
    let bystander = Bystander::spawn(&harness);
    std::fs::write(&pid_file, format!("{}\n", bystander.pid())).unwrap();
    // `flock` takes LOCK_EX on a read-only descriptor and exits; the shell
    // (then `sleep`) keeps the description, so the lock stays, recorded
    // under the dead taker's pid.
    let _attacker = nobody_shell(&harness, r#"exec 9<"$1"; flock -x 9; exec sleep 60"#, &[&pid_file]);
    wait_locked(&pid_file);
    assert_stale_and_nobody_signalled(&pid_file);
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file)]);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
    bystander.assert_untouched();
}

/// Root's bystander started at pid `pid`, through `ns_last_pid`; `None`
/// when other forks on the machine keep taking it first.
fn bystander_at(harness: &Harness, pid: i32) -> Option<Bystander> {
    for _ in 0..200 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", pid - 1)).ok()?;
        let bystander = Bystander::spawn(harness);
        if bystander.pid() as i32 == pid {
            return Some(bystander);
        }
    }
    None
}

#[test]
fn a_recycled_lock_taker_pid_is_never_signalled() {
    let test = "a_recycled_lock_taker_pid_is_never_signalled";
    if !root_or_skip(test, "recycle a pid") {
        return;
    }
    let harness = Harness::new("recycled-lock-pid");
    harness.open_to_nobody();
    let (pid_file, _) = harness.stale_pid_file();
    let attacker = nobody_shell(&harness, r#"exec 9<"$1"; flock -x 9; exec sleep 60"#, &[&pid_file]);
    wait_locked(&pid_file);
    let ino = std::fs::metadata(&pid_file).unwrap().ino();
    let locks = std::fs::read_to_string("/proc/locks").unwrap();
    let taker: i32 = locks
        .lines()
        .find(|line| line.contains(&format!(":{ino} ")))
        .and_then(|line| line.split_whitespace().nth(4)?.parse().ok())
        .unwrap();
    assert_ne!(taker, attacker.0.id() as i32, "the taker was `flock`, which exited");
    let Some(bystander) = bystander_at(&harness, taker) else {
        common::skip(test, format_args!("pid {taker} kept being taken"));
        return;
    };
    // /proc/locks now names root's bystander as the lock's holder.
    assert_stale_and_nobody_signalled(&pid_file);
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file)]);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
    bystander.assert_untouched();
}

#[test]
fn a_live_exclusive_holder_is_running_and_the_start_names_it() {
    // The race with a legitimate starter that locked but did not write yet:
    // a live process proven to hold the exclusive lock is "running",
    // whatever the file says, and its file is never unlinked.
    let harness = Harness::new("live-holder");
    let pid_file = harness.path("d.pid");
    let lock = lock_file(&pid_file);
    std::fs::write(&lock, "").unwrap();
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut holder = harness.command("flock").args(["-x", arg(&lock), "sleep", "60"]).spawn().unwrap();
    wait_locked(&lock);
    let ino = std::fs::metadata(&lock).unwrap().ino();
    let output = harness.launch_probe(&["--pid-file", arg(&pid_file)]);
    // The portable proof (macOS, FreeBSD) knows a holder only by the pid
    // written in the pid file, and there is none yet: it cannot name it
    // (exit 72, issue 26 item E), never replaces its file either, and
    // `status` cannot tell (an error).
    let (cause, code, status) = match cfg!(daemon_portable) {
        false => {
            (format!("already running (pid {})", holder.id()), 75, Some(Status::Running { pid: holder.id() }))
        }
        true => ("locked by a process that wrote no pid to check".to_string(), 72, None),
    };
    let message = format!("error: pid file: {}: {cause}", pid_file.display());
    assert!(text(&output.stderr).ends_with(&format!("{message}\n")), "{output:?}");
    assert_eq!(output.status.code(), Some(code));
    assert_eq!(std::fs::metadata(&lock).unwrap().ino(), ino, "the holder's file was replaced");
    assert!(!pid_file.exists(), "a pid file was written");
    assert_eq!(daemon_runtime::status(&pid_file).ok(), status);
    holder.kill().unwrap();
    holder.wait().unwrap();
}

/// Launches the probe writing its stdout to `log`, as the given user.
fn launch_logging(harness: &Harness, log: &Path, user: Option<&str>) -> Output {
    let mut args = vec!["--stdout", arg(log), "--body-print", "written"];
    if let Some(user) = user {
        args.extend(["--user", user]);
    }
    harness.launch_probe(&args)
}

#[test]
#[cfg(target_os = "linux")] // as_nobody_thread
fn a_log_file_symlink_planted_by_nobody_is_refused_and_its_victim_untouched() {
    if !root_or_skip(
        "a_log_file_symlink_planted_by_nobody_is_refused_and_its_victim_untouched",
        "plant links as nobody",
    ) {
        return;
    }
    let harness = Harness::new("log-symlink");
    harness.open_to_nobody();
    let victim = harness.path("shadow");
    std::fs::write(&victim, "root:secret\n").unwrap();
    let logs = nobody_dir(&harness, "logs");
    let log = logs.join("app.log");
    // With fs.protected_symlinks = 1 the kernel would refuse this link in a
    // sticky world-writable directory only; `logs` is neither.
    as_nobody_thread(|| std::os::unix::fs::symlink(&victim, &log).unwrap());
    for user in [None, Some("nobody")] {
        let output = launch_logging(&harness, &log, user);
        let message = format!("error: stdio: {}: is a symbolic link, refusing to follow it", log.display());
        harness.assert_failed(&output, 73, &message);
    }
    // A directory link: logs/sub -> the victim's directory.
    let sub = logs.join("sub");
    as_nobody_thread(|| std::os::unix::fs::symlink(harness.dir.path(), &sub).unwrap());
    let through = sub.join("shadow");
    let output = launch_logging(&harness, &through, Some("nobody"));
    let message = format!(
        "error: stdio: {}: a parent directory is a symbolic link owned by uid 65534, refusing to follow it",
        through.display()
    );
    harness.assert_failed(&output, 73, &message);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root:secret\n", "the victim was written");
    assert_eq!(std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777, 0o644);
}

#[test]
#[cfg(target_os = "linux")] // as_nobody_thread
fn a_hard_link_or_a_file_of_another_user_at_the_log_path_is_refused() {
    use common::wait_for_pid;
    if !root_or_skip("a_hard_link_or_a_file_of_another_user_at_the_log_path_is_refused", "chown to nobody") {
        return;
    }
    let harness = Harness::new("log-owner");
    harness.open_to_nobody();
    let victim = harness.path("passwd");
    std::fs::write(&victim, "root:x:0:0\n").unwrap();
    let logs = nobody_dir(&harness, "logs");
    // fs.protected_hardlinks = 1 stops nobody from making this link; root
    // stages it to show the start refuses it anyway.
    let linked = logs.join("linked.log");
    std::fs::hard_link(&victim, &linked).unwrap();
    let output = launch_logging(&harness, &linked, Some("nobody"));
    let message = format!("error: stdio: {}: has 2 hard links, refusing to write it", linked.display());
    harness.assert_failed(&output, 73, &message);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root:x:0:0\n");
    // A file of nobody's is fine for nobody's daemon, not for root's.
    let theirs = logs.join("theirs.log");
    as_nobody_thread(|| std::fs::write(&theirs, "").unwrap());
    let output = launch_logging(&harness, &theirs, None);
    let message = format!(
        "error: stdio: {}: owned by uid 65534, neither root nor the daemon's user, refusing to write it",
        theirs.display()
    );
    harness.assert_failed(&output, 73, &message);
    let output = launch_logging(&harness, &theirs, Some("nobody"));
    assert!(output.status.success(), "{output:?}");
    let daemon = wait_for_pid(&harness.path("probe.out"));
    eventually("the daemon wrote its log", || std::fs::read_to_string(&theirs).unwrap() == "written\n");
    daemon.terminate();
}

#[test]
fn a_fifo_at_the_log_path_is_refused_at_once_with_or_without_a_reader() {
    let harness = Harness::new("log-fifo");
    let fifo = harness.path("app.log");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let message = format!("error: stdio: {}: not a regular file", fifo.display());
    let output = launch_logging(&harness, &fifo, None);
    harness.assert_failed(&output, 73, &message);
    // With a reader the open succeeds; the type check still refuses it.
    let _reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).unwrap();
    let output = launch_logging(&harness, &fifo, None);
    harness.assert_failed(&output, 73, &message);
}

#[test]
#[cfg(target_os = "linux")] // as_nobody_thread
fn a_renaming_race_by_nobody_never_gets_the_pid_file_created_in_a_root_only_directory() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use common::wait_for_pid;
    if !root_or_skip(
        "a_renaming_race_by_nobody_never_gets_the_pid_file_created_in_a_root_only_directory",
        "race as nobody",
    ) {
        return;
    }
    let harness = Harness::new("rename-race");
    harness.open_to_nobody();
    let secret = harness.path("root-only");
    std::fs::create_dir(&secret).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o700)).unwrap();
    let theirs = nobody_dir(&harness, "theirs");
    let (real, link) = (theirs.join("run"), theirs.join("swap"));
    as_nobody_thread(|| {
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&secret, &link).unwrap();
    });
    let stop = AtomicBool::new(false);
    /// Stops the racer however the starts end, a failed assertion included.
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let swaps = std::thread::scope(|scope| {
        let racer = scope.spawn(|| {
            as_nobody_thread(|| {
                let (a, b) = (
                    std::ffi::CString::new(arg(&real)).unwrap(),
                    std::ffi::CString::new(arg(&link)).unwrap(),
                );
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut swaps = 0u64;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    // SAFETY: renameat2 on two C strings we own.
                    let swapped = unsafe {
                        libc::syscall(
                            libc::SYS_renameat2,
                            libc::AT_FDCWD,
                            a.as_ptr(),
                            libc::AT_FDCWD,
                            b.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        )
                    };
                    swaps += u64::from(swapped == 0);
                }
                swaps
            })
        });
        let _stop = Stop(&stop);
        let pid_file = real.join("d.pid");
        let mut refused = 0;
        for _ in 0..100 {
            let output = harness.launch_probe(&["--pid-file", arg(&pid_file)]);
            match output.status.code() {
                Some(0) => {
                    let daemon = wait_for_pid(&harness.path("probe.out"));
                    std::fs::write(harness.path("probe.out"), "").unwrap();
                    daemon.terminate();
                }
                Some(73) => {
                    assert!(text(&output.stderr).contains("refusing to follow it"), "{output:?}");
                    refused += 1;
                }
                _ => panic!("{output:?}"),
            }
            assert_eq!(
                std::fs::read_dir(&secret).unwrap().count(),
                0,
                "a pid file landed in the root-only directory"
            );
        }
        drop(_stop);
        let swaps = racer.join().unwrap();
        eprintln!(
            "100 starts against {swaps} swaps: {refused} refused the link, none in the root-only directory"
        );
        swaps
    });
    assert!(swaps > 0, "the racer never swapped");
}

#[test]
#[cfg(target_os = "linux")] // as_nobody_thread
fn a_chroot_below_a_directory_of_nobody_is_refused_even_when_swapped_for_a_link_to_the_root() {
    if !root_or_skip(
        "a_chroot_below_a_directory_of_nobody_is_refused_even_when_swapped_for_a_link_to_the_root",
        "chroot",
    ) {
        return;
    }
    let harness = Harness::new("chroot-owner");
    harness.open_to_nobody();
    let theirs = nobody_dir(&harness, "theirs");
    let jail = theirs.join("jail");
    std::fs::create_dir(&jail).unwrap(); // root's, inside nobody's
    let message = format!(
        "error: chroot: {}: a directory on the way is owned by uid 65534, not root, refusing to use it",
        jail.display()
    );
    let output = harness.launch_probe(&["--chroot", arg(&jail)]);
    harness.assert_failed(&output, 78, &message);
    // nobody swaps the jail for a link to `/`: still refused, never entered.
    as_nobody_thread(|| {
        std::fs::rename(&jail, theirs.join("old")).unwrap();
        std::os::unix::fs::symlink("/", &jail).unwrap();
    });
    let output = harness.launch_probe(&["--chroot", arg(&jail)]);
    harness.assert_failed(&output, 78, &message);
    // A jail of root's, writable by others, is refused too (sshd's rule).
    let open = harness.path("open-jail");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let output = harness.launch_probe(&["--chroot", arg(&open)]);
    let message = format!(
        "error: chroot: {}: a directory on the way is writable by group or others, refusing to use it",
        open.display()
    );
    harness.assert_failed(&output, 78, &message);
}

#[test]
fn stop_removes_the_pid_file_a_daemon_of_nobody_could_not() {
    if !root_or_skip("stop_removes_the_pid_file_a_daemon_of_nobody_could_not", "switch to nobody") {
        return;
    }
    let harness = Harness::new("stop-removes");
    harness.open_to_nobody();
    let pid_file = harness.path("d.pid");
    let daemon = harness.start_probe(&["--user", "nobody", "--pid-file", arg(&pid_file)]);
    let options = daemon_runtime::StopOptions::new().timeout(common::PATIENCE).then_kill(false);
    let (stopped, ended) = stop_and_reap(daemon, &pid_file, options);
    assert_eq!(stopped, Stopped::Exited { pid: daemon.0 as u32 });
    assert_eq!(ended, Some(WaitStatus::Exited(daemon.pid(), 0)));
    assert!(!pid_file.exists(), "stop left the pid file of a daemon that dropped privileges");
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Absent);
}

#[test]
fn a_link_of_roots_in_a_directory_of_nobody_is_not_followed() {
    // With fs.protected_hardlinks = 0, nobody can hard-link any root-owned
    // symbolic link (one pointing at /etc, say) into a directory of theirs;
    // root stages that link here. Following it would go where nobody chose.
    if !root_or_skip("a_link_of_roots_in_a_directory_of_nobody_is_not_followed", "chown to nobody") {
        return;
    }
    let harness = Harness::new("foreign-dir-link");
    harness.open_to_nobody();
    let secret = harness.path("root-only");
    std::fs::create_dir(&secret).unwrap();
    let theirs = nobody_dir(&harness, "theirs");
    let link = theirs.join("run");
    std::os::unix::fs::symlink(&secret, &link).unwrap(); // root's link, nobody's directory
    let pid_file = link.join("d.pid");
    let output = harness.launch_probe(&["--pid-file", arg(&pid_file)]);
    let message = format!(
        "error: pid file: {}: a symbolic link on the way lies in a directory owned by uid 65534, refusing to follow it",
        pid_file.display()
    );
    harness.assert_failed(&output, 73, &message);
    // The working directory is walked the same way (exit 78).
    let output = harness.launch_probe(&["--chdir", arg(&link)]);
    let message = format!(
        "error: chdir: {}: a symbolic link on the way lies in a directory owned by uid 65534, refusing to follow it",
        link.display()
    );
    harness.assert_failed(&output, 78, &message);
    assert_eq!(std::fs::read_dir(&secret).unwrap().count(), 0);
}

/// A host file that a test must see untouched, removed when dropped.
struct HostFile(PathBuf);

impl Drop for HostFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_failed_chrooted_start_removes_the_jails_pid_file_never_the_host_file_a_jail_link_names() {
    if !root_or_skip(
        "a_failed_chrooted_start_removes_the_jails_pid_file_never_the_host_file_a_jail_link_names",
        "chroot",
    ) {
        return;
    }
    // Issue 26 F. A Debian jail holds `var/run -> /run`: inside the jail it
    // leads to the jail's `/run`, walked from the host's `/` to the host's.
    let harness = Harness::new("chroot-leftover");
    let jail = harness.path("jail");
    std::fs::create_dir_all(jail.join("run")).unwrap();
    std::fs::create_dir(jail.join("var")).unwrap();
    std::os::unix::fs::symlink("/run", jail.join("var/run")).unwrap();
    let name = format!("daemon-test-leftover-{}.pid", std::process::id());
    let host = HostFile(Path::new("/run").join(&name));
    std::fs::write(&host.0, "1\n").unwrap(); // root's, one link, locked by no one
    let in_jail = Path::new("/var/run").join(&name);
    // Locked inside the jail, then killed for being late: the launcher cleans up.
    let output = harness.launch_probe(&[
        "--chroot",
        arg(&jail),
        "--pid-file",
        arg(&in_jail),
        "--ready-manual",
        "--ready-timeout-ms",
        "300",
        "--body-never-ready",
    ]);
    harness.assert_failed(
        &output,
        70,
        "error: ready: not ready after 300ms: the body did not call `daemon_runtime::ready()`",
    );
    assert_eq!(std::fs::read_to_string(&host.0).unwrap(), "1\n", "the host's file is untouched");
    assert!(!jail.join("run").join(&name).exists(), "the jail's own pid file is removed");
}
