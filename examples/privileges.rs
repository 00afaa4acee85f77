//! A daemon that gives up root: user `nobody`, group `nogroup`, no core
//! dumps, its output in log files. Start it as root.
//!
//! Its directory is the first argument (default `/tmp/daemon-privileges`)
//! and holds `privileges.pid`, created and locked while still root. The
//! daemon then switches to `nobody`, and writes its ids, read back from
//! `/proc/self/status`, to `/tmp/daemon-privileges.out` (standard output;
//! standard error goes to `/tmp/daemon-privileges.err`). Both files are
//! opened by the launcher, as root, and appended to. SIGTERM ends it.
//!
//! ```text
//! sudo cargo run --example privileges -- /tmp/demo
//! cat /tmp/daemon-privileges.out
//! grep -E '^(Uid|Gid|Groups)' /proc/"$(cat /tmp/demo/privileges.pid)"/status
//! grep 'core file' /proc/"$(cat /tmp/demo/privileges.pid)"/limits   # 0 0
//! sudo kill "$(cat /tmp/demo/privileges.pid)"
//! ```
//!
//! `nobody` cannot write to a directory root created, so the daemon cannot
//! remove its pid file when it stops: the file stays, unlocked, and the next
//! start takes it over as stale. Run as anyone but root, the launcher fails
//! with "Operation not permitted" before anything is forked.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use daemon_runtime::daemon;

/// The example's directory, created if needed and made absolute (see
/// `pidfile.rs`).
fn directory() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::args_os().nth(1).map_or_else(|| "/tmp/daemon-privileges".into(), PathBuf::from);
        std::fs::create_dir_all(&dir).expect("create the example's directory");
        std::path::absolute(dir).expect("absolute directory")
    })
}

#[daemon(
    user = "nobody",
    group = "nogroup",
    pid_file = directory().join("privileges.pid"),
    core_dumps = false,
    stdout = "/tmp/daemon-privileges.out",
    stderr = "/tmp/daemon-privileges.err",
)]
fn main() -> std::io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;

    let mut out = std::io::stdout().lock();
    writeln!(out, "pid {}", std::process::id())?;
    // Real, effective, saved and filesystem ids, as the kernel sees them.
    let status = std::fs::read_to_string("/proc/self/status")?;
    for line in
        status.lines().filter(|line| ["Uid:", "Gid:", "Groups:"].iter().any(|key| line.starts_with(key)))
    {
        writeln!(out, "{line}")?;
    }
    drop(out);

    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("stopping on SIGTERM");
    Ok(())
}
