//! What the driver reads about a process from `/proc`.

use std::fs;
use std::io;
use std::path::PathBuf;

/// The fields of `/proc/PID/stat` the benchmark uses.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    /// `R`, `S`, `Z`, …
    pub state: char,
    pub session: i32,
    /// The controlling terminal's device number; 0 for none.
    pub tty_nr: i32,
}

/// Parses `/proc/PID/stat` (fields after the last `)`, so any `comm` works).
pub fn stat(pid: i32) -> io::Result<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = text.rfind(')').map(|i| &text[i + 1..]).ok_or_else(|| io::Error::other("malformed stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| -> io::Result<i32> {
        fields.get(i).and_then(|f| f.parse().ok()).ok_or_else(|| io::Error::other("malformed stat"))
    };
    // After `)`: state ppid pgrp session tty_nr …
    Ok(Stat {
        state: fields.first().and_then(|s| s.chars().next()).unwrap_or('?'),
        session: field(3)?,
        tty_nr: field(4)?,
    })
}

/// One `Key:\tvalue` line of `/proc/PID/status`, value trimmed.
pub fn status_field(pid: i32, key: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == key).then(|| v.trim().to_owned())
    })
}

/// A `kB` figure of `/proc/PID/status` (`VmHWM`, `VmRSS`).
pub fn status_kib(pid: i32, key: &str) -> Option<u64> {
    status_field(pid, key)?.split_whitespace().next()?.parse().ok()
}

/// The open descriptors of a process and what each names.
pub fn fds(pid: i32) -> io::Result<Vec<(i32, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fd"))? {
        let entry = entry?;
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // A descriptor closed between the listing and the readlink is skipped.
        if let Ok(target) = fs::read_link(entry.path()) {
            out.push((fd, target));
        }
    }
    out.sort();
    Ok(out)
}

/// The working directory of a process.
pub fn cwd(pid: i32) -> io::Result<PathBuf> {
    fs::read_link(format!("/proc/{pid}/cwd"))
}

/// Every process whose parent is `parent` (a scan of `/proc`: used only
/// after a failed launch and at the end, never inside a timed window).
pub fn children_of(parent: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|text| {
                let after = &text[text.rfind(')')? + 1..];
                after.split_whitespace().nth(1)?.parse::<i32>().ok()
            }) == Some(parent)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let me = std::process::id() as i32;
        let stat = stat(me).unwrap();
        assert_ne!(stat.state, 'Z');
        assert!(status_kib(me, "VmHWM").unwrap() > 0);
        assert!(fds(me).unwrap().iter().any(|(fd, _)| *fd == 0));
        assert_eq!(cwd(me).unwrap(), std::env::current_dir().unwrap());
    }
}
