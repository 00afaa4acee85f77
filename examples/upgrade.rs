//! A TCP server that replaces itself with the binary now on disk, on
//! SIGUSR2, without refusing a connection: `daemon_runtime::Upgrade`.
//!
//! Its directory is the first argument (default `/tmp/daemon-upgrade`). The
//! first start binds `127.0.0.1:0` and writes the port to `port`; every
//! later process takes the listening socket from `listen_fds()`, passed by
//! the one before. Each connection gets one line, `hello from pid N`. On
//! SIGUSR2 the server starts the executable at its path again (same
//! arguments); once that process is ready (it wrote its pid into
//! `upgrade.pid`), this one stops accepting, lets its connections finish
//! (at most 10 s) and exits; if the new process fails, this one keeps
//! serving and logs why to `upgrade.log`.
//!
//! ```text
//! cargo build --example upgrade && cp target/debug/examples/upgrade /tmp/upgrade-demo
//! /tmp/upgrade-demo /tmp/demo                         # returns once listening
//! nc 127.0.0.1 "$(cat /tmp/demo/port)"                # hello from pid N
//! cp target/debug/examples/upgrade /tmp/upgrade-demo.new && mv /tmp/upgrade-demo.new /tmp/upgrade-demo
//! kill -USR2 "$(cat /tmp/demo/upgrade.pid)"; sleep 1
//! nc 127.0.0.1 "$(cat /tmp/demo/port)"                # hello from pid M: the new binary
//! cat /tmp/demo/upgrade.log                           # N: upgraded to M
//! kill "$(cat /tmp/demo/upgrade.pid)"
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};

fn main() {
    let dir = std::env::args_os().nth(1).map_or_else(|| "/tmp/daemon-upgrade".into(), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("create the example's directory");
    let dir = std::path::absolute(dir).expect("absolute directory");
    let (running, listener) = daemon_runtime::Daemon::new()
        .pid_file(dir.join("upgrade.pid"))
        .stdout(dir.join("upgrade.log"))
        .stderr(dir.join("upgrade.log"))
        // Runs in the daemon, and in each new process of an upgrade: its
        // failure fails the start, or the upgrade (the old one serves on).
        .start_with(|| match daemon_runtime::listen_fds().into_iter().next() {
            Some((fd, _name)) => Ok(std::net::TcpListener::from(fd)), // from the process before
            None => {
                let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
                std::fs::write(dir.join("port"), format!("{}\n", listener.local_addr()?.port()))?;
                Ok::<_, std::io::Error>(listener)
            }
        })
        .unwrap_or_else(|error| error.exit());
    // The runtime's threads are created in the daemon, after the start.
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(serve(listener));
    drop(running); // after an upgrade, the pid file stays: it is the new process's
}

async fn serve(listener: std::net::TcpListener) {
    let me = std::process::id();
    listener.set_nonblocking(true).expect("non-blocking");
    let listener = Arc::new(tokio::net::TcpListener::from_std(listener).expect("tokio listener"));
    let open = Arc::new(AtomicUsize::new(0));
    let mut usr2 = signal(SignalKind::user_defined2()).expect("SIGUSR2 handler");
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut client, _)) = accepted else { continue };
                let open = Arc::clone(&open);
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = client.write_all(format!("hello from pid {me}\n").as_bytes()).await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
            _ = usr2.recv() => {
                // `run` blocks until the new process is ready or failed.
                let upgrade = tokio::task::block_in_place(|| daemon_runtime::Upgrade::new().socket(&*listener).run());
                match upgrade {
                    Ok(pid) => {
                        println!("{me}: upgraded to {pid}");
                        break;
                    }
                    Err(error) => println!("{me}: upgrade failed, still serving: {error} (exit {})", error.exit_code()),
                }
            }
            _ = term.recv() => return,
        }
    }
    // The new process accepts on the same socket now: stop, then drain.
    drop(listener);
    let deadline = Instant::now() + Duration::from_secs(10);
    while open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
