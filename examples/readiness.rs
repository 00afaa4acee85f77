//! Manual readiness without an async runtime: the launching command returns
//! only when the daemon says it is ready, and fails with the daemon's own
//! error when it cannot get there.
//!
//! Its directory is the first argument (default `/tmp/daemon-readiness`) and
//! holds `readiness.pid`. The daemon "loads its configuration" (a one-second
//! sleep), then calls `daemon_runtime::ready()`: only then does the launcher
//! exit 0. With `--fail` the loading fails and `main` returns the error
//! before `ready()`: the launcher prints it, exits non-zero, and no daemon or
//! pid file is left. SIGTERM stops a daemon that is running.
//!
//! ```text
//! time cargo run --example readiness -- /tmp/demo          # about 1 s, then 0
//! kill "$(cat /tmp/demo/readiness.pid)"
//! cargo run --example readiness -- /tmp/demo --fail; echo $?
//! ```
//!
//! Until `ready()`, what the daemon prints reaches the launcher's terminal
//! (here "loading the configuration"); afterwards it goes to `/dev/null`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use daemon_runtime::daemon;

/// The example's directory: the first argument that is not an option,
/// created if needed and made absolute (see `pidfile.rs`).
fn directory() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::args_os()
            .skip(1)
            .find(|arg| !arg.as_encoded_bytes().starts_with(b"--"))
            .map_or_else(|| "/tmp/daemon-readiness".into(), PathBuf::from);
        std::fs::create_dir_all(&dir).expect("create the example's directory");
        std::path::absolute(dir).expect("absolute directory")
    })
}

/// Stands for reading and checking a configuration file.
fn load_config() -> Result<Duration, &'static str> {
    std::thread::sleep(Duration::from_secs(1));
    if std::env::args().any(|arg| arg == "--fail") {
        return Err("config: missing key");
    }
    Ok(Duration::from_millis(100))
}

#[daemon(pid_file = directory().join("readiness.pid"), ready = "manual")]
fn main() -> Result<(), &'static str> {
    println!("loading the configuration");
    let poll = load_config()?;
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))
        .map_err(|_| "cannot handle SIGTERM")?;
    daemon_runtime::ready();

    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(poll);
    }
    Ok(())
}
