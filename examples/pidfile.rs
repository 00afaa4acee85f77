//! A daemon with a pid file that writes a heartbeat and stops cleanly.
//!
//! Its directory is the first argument (default `/tmp/daemon-pidfile`): it
//! holds `pidfile.pid` (locked while the daemon runs, removed when it stops)
//! and `heartbeat.log`, one line a second. SIGTERM ends the loop, `main`
//! returns, and the pid file is removed.
//!
//! ```text
//! cargo run --example pidfile -- /tmp/demo
//! ps -o pid,ppid,sid,tty,args -p "$(cat /tmp/demo/pidfile.pid)"
//! tail -f /tmp/demo/heartbeat.log
//! kill "$(cat /tmp/demo/pidfile.pid)"
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use daemon_runtime::daemon;

/// The example's directory, created if needed and made absolute. First
/// called by the `pid_file` expression, which runs in the launching process
/// before it detaches, so a relative argument is taken against the
/// directory the command was typed in, not against `/`.
fn directory() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::args_os().nth(1).map_or_else(|| "/tmp/daemon-pidfile".into(), PathBuf::from);
        std::fs::create_dir_all(&dir).expect("create the example's directory");
        std::path::absolute(dir).expect("absolute directory")
    })
}

#[daemon(umask = 0o027, pid_file = directory().join("pidfile.pid"))]
fn main() -> std::io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;

    let log_path = directory().join("heartbeat.log");
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(log_path)?;
    let started = Instant::now();
    let mut beat = 0u64;
    while !stop.load(Ordering::Relaxed) {
        writeln!(log, "heartbeat {beat} pid {} after {:?}", std::process::id(), started.elapsed())?;
        beat += 1;
        let next = started + Duration::from_secs(beat);
        while !stop.load(Ordering::Relaxed) && Instant::now() < next {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    writeln!(log, "stopping on SIGTERM")?;
    Ok(())
}
