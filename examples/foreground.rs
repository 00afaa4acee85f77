//! A daemon that can also run in the foreground: `foreground` takes any
//! `bool` expression, evaluated when the program starts.
//!
//! Its directory is the first argument (default `/tmp/daemon-foreground`) and
//! holds `foreground.pid` in both modes. The daemon prints a line a second to
//! standard output: on `/dev/null` when detached, on the terminal with
//! `--foreground`, where the process keeps its terminal, session and parent
//! (useful for debugging, and for a supervisor that wants a foreground
//! process). SIGTERM, or Ctrl-C in the foreground, ends it and removes the
//! pid file.
//!
//! ```text
//! cargo run --example foreground -- /tmp/demo                 # detaches
//! kill "$(cat /tmp/demo/foreground.pid)"
//! cargo run --example foreground -- /tmp/demo --foreground    # stays; Ctrl-C
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use daemon_runtime::daemon;

/// The example's directory: the first argument that is not an option,
/// created if needed and made absolute (see `pidfile.rs`).
fn directory() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::args_os()
            .skip(1)
            .find(|arg| !arg.as_encoded_bytes().starts_with(b"--"))
            .map_or_else(|| "/tmp/daemon-foreground".into(), PathBuf::from);
        std::fs::create_dir_all(&dir).expect("create the example's directory");
        std::path::absolute(dir).expect("absolute directory")
    })
}

#[daemon(
    foreground = std::env::args().any(|a| a == "--foreground"),
    pid_file = directory().join("foreground.pid"),
)]
fn main() -> std::io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }

    let started = Instant::now();
    let mut tick = 0u64;
    while !stop.load(Ordering::Relaxed) {
        println!("tick {tick} pid {} after {:?}", std::process::id(), started.elapsed());
        tick += 1;
        let next = started + Duration::from_secs(tick);
        while !stop.load(Ordering::Relaxed) && Instant::now() < next {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    println!("stopping");
    Ok(())
}
