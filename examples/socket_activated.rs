//! A TCP server that serves the socket a service manager passes it (socket
//! activation), and binds its own when started by hand: the same binary
//! under systemd's `.socket` units, `systemd-socket-activate`,
//! `daemon-run --listen`, or a terminal.
//!
//! Socket activation is systemd's, so Linux's: elsewhere nothing sets
//! `LISTEN_FDS` and the server binds its own port.
//!
//! Its directory is the first argument (default `/tmp/daemon-socket-activated`):
//! it holds `socket_activated.pid` and, when it bound the port itself,
//! `port` (the second argument, default 0: any free port). Each connection
//! gets one line, `hello from pid N, on ...`. SIGTERM stops it.
//!
//! ```text
//! systemd-socket-activate -l 127.0.0.1:8080 --fdname=web target/debug/examples/socket_activated /tmp/demo
//! nc 127.0.0.1 8080                       # hello from pid N, on the socket named web
//! cargo run --example socket_activated -- /tmp/demo2   # binds a port itself
//! nc 127.0.0.1 "$(cat /tmp/demo2/port)"    # hello from pid N, on 127.0.0.1:PORT
//! ```
//!
//! Started by a launcher that passes sockets, it still detaches (unless
//! [`supervised`](daemon_runtime::supervised) says a service manager wants
//! it in the foreground): the socket survives the forks, and
//! `daemon_runtime::listen_fds()` finds it addressed to the daemon.

use std::path::PathBuf;
use std::sync::OnceLock;

use daemon_runtime::daemon;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};

/// The example's directory, created if needed and made absolute before
/// detaching (see `pidfile.rs`).
fn directory() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::args_os().nth(1).map_or_else(|| "/tmp/daemon-socket-activated".into(), PathBuf::from);
        std::fs::create_dir_all(&dir).expect("create the example's directory");
        std::path::absolute(dir).expect("absolute directory")
    })
}

/// The passed socket, or one bound here; and where it listens, for the answer.
fn listener() -> std::io::Result<(std::net::TcpListener, String)> {
    if let Some((socket, name)) = daemon_runtime::listen_fds().into_iter().next() {
        let name = name.unwrap_or_else(|| "unknown".into());
        return Ok((std::net::TcpListener::from(socket), format!("on the socket named {name}")));
    }
    let port = std::env::args().nth(2).map_or(0, |port| port.parse().expect("the port is a number"));
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    let address = listener.local_addr()?;
    std::fs::write(directory().join("port"), format!("{}\n", address.port()))?;
    Ok((listener, format!("on {address}")))
}

#[daemon(
    foreground = daemon_runtime::supervised(),
    pid_file = directory().join("socket_activated.pid"),
    ready = "manual"
)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let (listener, origin) = listener()?; // a bind error fails the launching command
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut terminate = signal(SignalKind::terminate())?;
    daemon_runtime::ready();
    daemon_runtime::notify_status(&format!("serving {origin}"));

    let greeting = format!("hello from pid {}, {origin}\n", std::process::id());
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            accepted = listener.accept() => {
                let Ok((mut stream, _)) = accepted else { continue };
                let _ = stream.write_all(greeting.as_bytes()).await;
            }
        }
    }
    Ok(())
}
