//! A TCP server that upgrades itself on SIGUSR2 (`daemon_runtime::Upgrade`),
//! for `tests/upgrade.rs`: `upgradable PID_FILE LOG PORT_FILE`.
//!
//! Each connection gets, for each line it sends, this process's pid and a
//! newline. The first start binds `127.0.0.1:0` and writes the port to
//! PORT_FILE; later processes take the socket from `listen_fds()`. On
//! SIGUSR2 it runs an upgrade on a blocking thread (two signals, two
//! upgrades at once: the second is refused) and logs the outcome to LOG
//! (its stdout): `PID upgraded to NEW`, or `PID upgrade failed: ERROR
//! (exit CODE)`. After a successful one it stops accepting, waits for its
//! open connections to end (at most 5 s) and returns. `init` sleeps 1 s
//! when `PID_FILE.slow` exists, so that an upgrade stays in flight.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::signal::unix::{SignalKind, signal};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, pid_file, log, port_file] = &args[..] else {
        eprintln!("usage: upgradable PID_FILE LOG PORT_FILE");
        std::process::exit(2);
    };
    let slow = format!("{pid_file}.slow");
    let (running, listener) = daemon_runtime::Daemon::new()
        .pid_file(pid_file)
        .stdout(log)
        .stderr(log)
        .ready_timeout(Duration::from_secs(5))
        .start_with(|| -> std::io::Result<TcpListener> {
            if Path::new(&slow).exists() {
                std::thread::sleep(Duration::from_secs(1));
            }
            match daemon_runtime::listen_fds().into_iter().next() {
                Some((fd, _name)) => Ok(TcpListener::from(fd)),
                None => {
                    let listener = TcpListener::bind("127.0.0.1:0")?;
                    std::fs::write(port_file, format!("{}\n", listener.local_addr()?.port()))?;
                    Ok(listener)
                }
            }
        })
        .unwrap_or_else(|error| error.exit());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let runtime = runtime.expect("tokio runtime");
    runtime.block_on(serve(listener));
    drop(running);
}

async fn serve(listener: TcpListener) {
    let me = std::process::id();
    listener.set_nonblocking(true).expect("non-blocking");
    let listener = Arc::new(tokio::net::TcpListener::from_std(listener).expect("tokio listener"));
    let open = Arc::new(AtomicUsize::new(0));
    let (upgraded_tx, mut upgraded) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut usr2 = signal(SignalKind::user_defined2()).expect("SIGUSR2");
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM");
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let open = Arc::clone(&open);
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    while let Ok(Some(_)) = lines.next_line().await {
                        if write.write_all(format!("{me}\n").as_bytes()).await.is_err() {
                            break;
                        }
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
            _ = usr2.recv() => {
                let listener = Arc::clone(&listener);
                let upgraded_tx = upgraded_tx.clone();
                tokio::task::spawn_blocking(move || {
                    match daemon_runtime::Upgrade::new().socket(&*listener).run() {
                        Ok(pid) => {
                            println!("{me} upgraded to {pid}");
                            let _ = upgraded_tx.send(());
                        }
                        Err(error) => println!("{me} upgrade failed: {error} (exit {})", error.exit_code()),
                    }
                });
            }
            _ = upgraded.recv() => break,
            _ = term.recv() => return,
        }
    }
    // Handed over: stop accepting, let the open connections end.
    drop(listener);
    let deadline = Instant::now() + Duration::from_secs(5);
    while open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("{me} drained");
}
