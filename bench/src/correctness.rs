//! Figure 4: one launch of each contender from a pseudo-terminal with
//! SIGHUP ignored and SIGTERM blocked, the daemon seen through `/proc`; then
//! one launch with a working directory that does not exist.

use std::io;
use std::path::Path;
use std::time::Duration;

use nix::sys::wait::WaitStatus;

use crate::contenders::Contender;
use crate::launch::{Launcher, Mode};
use crate::measure::{DEADLINE, Probe};
use crate::procfs;
use crate::reaper::Reaper;

/// How long after the launcher's exit a daemon may still show up (figure 4's
/// failed start).
const BAD_CHDIR_PATIENCE: Duration = Duration::from_millis(500);

/// What the daemon of one contender looks like.
#[derive(Debug, Default)]
pub struct Seen {
    pub tty_nr: String,
    pub session_leader: String,
    pub umask: String,
    pub cwd: String,
    pub stdio: String,
    pub sig_ign: String,
    pub sig_blk: String,
    /// Descriptors above 2 and what they name.
    pub other_fds: String,
    /// Launcher's exit status when the working directory does not exist.
    pub bad_chdir_status: String,
    /// After that failed start: a process left running, a pid file left.
    pub bad_chdir_leftovers: String,
}

/// Inspects every contender.
pub fn run(
    contenders: &[Contender],
    launcher: &Launcher,
    probe: &mut Probe,
    reaper: &mut Reaper,
) -> io::Result<Vec<Seen>> {
    contenders
        .iter()
        .map(|contender| {
            let mut seen = Seen::default();
            // openpty(3) does not set close-on-exec: do it, so the only copies
            // the launcher gets are its stdio.
            let pty = nix::pty::openpty(None, None)?;
            crate::launch::close_on_exec_all()?;
            let sample = probe.launch(
                launcher,
                reaper,
                contender,
                Mode::Terminal,
                false,
                Some(&pty.slave),
                DEADLINE,
            )?;
            drop(pty.slave);
            match sample.daemon {
                Some(pid) => inspect(pid, &mut seen),
                None => seen.tty_nr = format!("no daemon ({:?})", sample.launcher_status),
            }
            probe.finish(reaper, &sample);
            drop(pty.master);

            let sample =
                probe.launch(launcher, reaper, contender, Mode::Base, true, None, BAD_CHDIR_PATIENCE)?;
            seen.bad_chdir_status = match sample.launcher_status {
                Some(WaitStatus::Exited(_, code)) => format!("exit {code}"),
                Some(WaitStatus::Signaled(_, signal, _)) => format!("{signal}"),
                other => format!("{other:?}"),
            };
            let me = std::process::id() as i32;
            let running = procfs::children_of(me)
                .into_iter()
                .filter(|&pid| procfs::stat(pid).is_ok_and(|s| s.state != 'Z'))
                .count();
            let mut leftovers = Vec::new();
            if running > 0 || sample.daemon.is_some() {
                leftovers.push("daemon running");
            }
            if sample.pid_file.exists() {
                leftovers.push("pid file");
            }
            seen.bad_chdir_leftovers =
                if leftovers.is_empty() { "none".into() } else { leftovers.join(", ") };
            probe.finish(reaper, &sample);
            reaper.sweep();
            Ok(seen)
        })
        .collect()
}

fn inspect(pid: i32, seen: &mut Seen) {
    if let Ok(stat) = procfs::stat(pid) {
        seen.tty_nr = stat.tty_nr.to_string();
        seen.session_leader = if stat.session == pid { "yes" } else { "no" }.into();
    }
    let hex = |key: &str| {
        procfs::status_field(pid, key)
            .and_then(|v| u64::from_str_radix(&v, 16).ok())
            .map_or("?".into(), |v| format!("{v:#x}"))
    };
    seen.sig_ign = hex("SigIgn");
    seen.sig_blk = hex("SigBlk");
    seen.umask = procfs::status_field(pid, "Umask").unwrap_or_default();
    seen.cwd = procfs::cwd(pid).map_or("?".into(), |p| p.display().to_string());
    let fds = procfs::fds(pid).unwrap_or_default();
    let name = |target: &Path| {
        let text = target.display().to_string();
        match text.as_str() {
            "/dev/null" => "null".to_owned(),
            t if t.starts_with("/dev/pts/") => "pty".to_owned(),
            t if t.starts_with("pipe:") => "pipe".to_owned(),
            t if t.ends_with(".pid") => "pidfile".to_owned(),
            t => t.rsplit('/').next().unwrap_or(t).to_owned(),
        }
    };
    seen.stdio = (0..3)
        .map(|fd| fds.iter().find(|(n, _)| *n == fd).map_or("closed".into(), |(_, t)| name(t)))
        .collect::<Vec<_>>()
        .join(" ");
    let others: Vec<String> =
        fds.iter().filter(|(n, _)| *n > 2).map(|(n, t)| format!("{n}:{}", name(t))).collect();
    seen.other_fds = if others.is_empty() { "none".into() } else { others.join(" ") };
}
