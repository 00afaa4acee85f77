//! Figure 8: the system calls of one start of each contender, counted by
//! `strace -f -c` (launcher, intermediates and daemon, from the launcher's
//! `execve` until the daemon is killed once ready), outside the timed runs:
//! strace slows every call down, so only the counts are reported.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::contenders::Contender;
use crate::procfs;
use crate::reaper::Reaper;

/// The calls and failed calls of one traced start, or why there are none.
pub type Count = Result<(u64, u64), String>;

/// One traced start of each contender.
pub fn run(contenders: &[Contender], dir: &Path, reaper: &mut Reaper) -> Vec<Count> {
    if Command::new("strace").arg("-V").stdout(Stdio::null()).status().is_err() {
        return contenders.iter().map(|_| Err("strace is not installed".to_owned())).collect();
    }
    contenders.iter().enumerate().map(|(index, contender)| trace(contender, dir, index, reaper)).collect()
}

fn trace(contender: &Contender, dir: &Path, index: usize, reaper: &mut Reaper) -> Count {
    let pid_file = dir.join(format!("syscalls-{index}.pid"));
    let summary = dir.join(format!("syscalls-{index}.txt"));
    let mut strace = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&summary)
        .arg("--")
        .args(&contender.argv)
        .env("BENCH_PID_FILE", &pid_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("strace: {e}"))?;
    // Ready: the pid file names a live process; then time for the launcher
    // and the intermediates to leave, so that all their calls are counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    let daemon = loop {
        if let Some(pid) = fs::read_to_string(&pid_file).ok().and_then(|text| text.trim().parse::<i32>().ok())
            && procfs::stat(pid).is_ok_and(|stat| stat.state != 'Z')
        {
            break Some(pid);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    std::thread::sleep(Duration::from_millis(300));
    match daemon {
        Some(pid) => reaper.kill_and_reap(pid),
        None => {
            let _ = strace.kill();
        }
    }
    let _ = strace.wait();
    reaper.collect();
    let _ = fs::remove_file(&pid_file);
    let mut lock = pid_file.into_os_string();
    lock.push(".lock");
    let _ = fs::remove_file(lock);
    let text = fs::read_to_string(&summary).map_err(|e| format!("no strace summary: {e}"))?;
    let _ = fs::remove_file(&summary);
    daemon.ok_or("the daemon never became ready")?;
    total(&text).ok_or_else(|| "no total line in strace's summary".to_owned())
}

/// The calls and errors of `strace -c`'s `total` line (`100.00 0.001 5 234
/// 12 total`; the errors column is empty when none failed).
fn total(summary: &str) -> Option<(u64, u64)> {
    let line = summary.lines().rev().find(|line| line.trim_end().ends_with("total"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.as_slice() {
        [_, _, _, calls, "total"] => Some((calls.parse().ok()?, 0)),
        [_, _, _, calls, errors, "total"] => Some((calls.parse().ok()?, errors.parse().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_parse_with_and_without_errors() {
        let with = "% time     seconds  usecs/call     calls    errors syscall\n\
                    ------ ----------- ----------- --------- --------- ----------------\n\
                    100.00    0.000513           2       234        12 total\n";
        assert_eq!(total(with), Some((234, 12)));
        let without = "100.00    0.000513           2       101           total\n";
        assert_eq!(total(without), Some((101, 0)));
        assert_eq!(total("nothing"), None);
    }
}
