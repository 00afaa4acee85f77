//! A daemon that binds a privileged port as root, in `init`, and serves it as
//! `nobody`. Start it as root.
//!
//! `bind` runs in the daemon after the pid file is locked and before the
//! privilege drop: the only moment the process may bind 127.0.0.1:80. Its
//! listener becomes `main`'s argument, and `main` runs as user `nobody`,
//! group `nogroup`, answering each connection with one line,
//! `hello from uid 65534`, until SIGTERM. If `bind` fails (the port is
//! taken, or the launcher is not root), the launcher prints
//! `error: init: <the error>`, exits 69 and leaves nothing behind.
//!
//! Its directory is the first argument (default `/tmp/daemon-init`) and
//! holds `init_privileged.pid`.
//!
//! ```text
//! sudo cargo run --example init_privileged -- /tmp/demo
//! nc 127.0.0.1 80                                     # hello from uid 65534
//! grep Uid /proc/"$(cat /tmp/demo/init_privileged.pid)"/status
//! sudo kill "$(cat /tmp/demo/init_privileged.pid)"
//! ```
//!
//! As in `privileges.rs`, `nobody` cannot remove the pid file from a
//! directory root created: it stays when the daemon stops, unlocked, and the
//! next start takes it over as stale.

use std::io::{ErrorKind, Write};
use std::net::TcpListener;
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
        let dir = std::env::args_os().nth(1).map_or_else(|| "/tmp/daemon-init".into(), PathBuf::from);
        std::fs::create_dir_all(&dir).expect("create the example's directory");
        std::path::absolute(dir).expect("absolute directory")
    })
}

/// Runs in the daemon, still as root. The listener does not block, so the
/// loop in `main` sees SIGTERM between connections.
fn bind() -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind("127.0.0.1:80")?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

#[daemon(
    init = bind,
    user = "nobody",
    group = "nogroup",
    pid_file = directory().join("init_privileged.pid"),
)]
fn main(listener: TcpListener) -> std::io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;

    let uid = nix::unistd::getuid();
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut client, _)) => {
                // A client that leaves before reading is no reason to stop.
                let _ = writeln!(client, "hello from uid {uid}");
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
