//! A TCP server on tokio's multi-thread runtime, started with manual
//! readiness: the launching command returns only once the port accepts
//! connections.
//!
//! Its directory is the first argument (default `/tmp/daemon-tokio-server`),
//! its port the second (default 0: any free port). The directory holds
//! `tokio_server.pid` and `port`, the port actually bound. Each connection
//! gets one line, `hello from pid N`. SIGTERM stops the server, `main`
//! returns, and the pid file is removed.
//!
//! ```text
//! cargo run --example tokio_server -- /tmp/demo      # returns once listening
//! nc 127.0.0.1 "$(cat /tmp/demo/port)"               # hello from pid N
//! ls /proc/"$(cat /tmp/demo/tokio_server.pid)"/task  # the runtime's threads
//! kill "$(cat /tmp/demo/tokio_server.pid)"
//! ```
//!
//! `#[daemon]` sits above `#[tokio::main]`: the process detaches while it
//! still has one thread, and the runtime and its workers are created in the
//! daemon. Until `daemon_runtime::ready()`, what the daemon prints reaches
//! the launcher: a port already in use fails the launching command with the
//! bind error.

use std::path::PathBuf;
use std::sync::OnceLock;

use daemon_runtime::daemon;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// The example's directory, created if needed and made absolute (see
/// `pidfile.rs`: first called before detaching, against the launching
/// directory).
fn directory() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::args_os().nth(1).map_or_else(|| "/tmp/daemon-tokio-server".into(), PathBuf::from);
        std::fs::create_dir_all(&dir).expect("create the example's directory");
        std::path::absolute(dir).expect("absolute directory")
    })
}

fn port() -> u16 {
    std::env::args().nth(2).map_or(0, |port| port.parse().expect("the port is a number"))
}

#[daemon(pid_file = directory().join("tokio_server.pid"), ready = "manual")]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port())).await?;
    let port = listener.local_addr()?.port();
    std::fs::write(directory().join("port"), format!("{port}\n"))?;
    let mut terminate = signal(SignalKind::terminate())?;
    // Listening, and SIGTERM handled: the launching command may return.
    daemon_runtime::ready();

    let greeting = format!("hello from pid {}\n", std::process::id());
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            accepted = listener.accept() => {
                // A failed accept (a connection reset before it was taken,
                // no descriptor left) concerns one client, not the server.
                let Ok((mut stream, _)) = accepted else { continue };
                let greeting = greeting.clone();
                tokio::spawn(async move {
                    let _ = stream.write_all(greeting.as_bytes()).await;
                });
            }
        }
    }
    std::fs::remove_file(directory().join("port"))
}
