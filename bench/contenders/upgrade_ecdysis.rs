//! Figure 9, ecdysis 1.1 (Cloudflare's tableflip for Rust): the same TCP
//! server (each connection answered with the pid and a newline) built on
//! `TokioEcdysisBuilder`, which upgrades on SIGUSR2: it starts its own
//! executable again with the listening socket, waits for the new process's
//! `ready()`, then the old one's stream of connections ends and it exits.
//! ecdysis does not detach: the driver starts it as its own child.
//!
//! `BENCH_PID_FILE` (written by ecdysis at `ready()`), `BENCH_PORT`.

use std::net::SocketAddr;

use ecdysis::tokio_ecdysis::{SignalKind, StopOnShutdown, TokioEcdysisBuilder};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let pid_file = std::env::var_os("BENCH_PID_FILE").expect("BENCH_PID_FILE is set");
    let port: u16 = std::env::var("BENCH_PORT").expect("BENCH_PORT is set").parse().expect("a port");
    let mut builder = TokioEcdysisBuilder::new(SignalKind::user_defined2()).expect("ecdysis");
    builder.set_pid_file(pid_file);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut connections = builder
        .build_listen_tcp(StopOnShutdown::Yes, address, |socket, address| {
            socket.set_reuse_address(true)?;
            socket.bind(&address.into())?;
            socket.listen(1024)?;
            Ok(socket.into())
        })
        .expect("listen");
    let answer = format!("{}\n", std::process::id());
    let server = tokio::spawn(async move {
        let mut clients = tokio::task::JoinSet::new();
        while let Some(Ok(mut client)) = connections.next().await {
            let answer = answer.clone();
            clients.spawn(async move {
                let _ = client.write_all(answer.as_bytes()).await;
            });
        }
        while clients.join_next().await.is_some() {}
    });
    let (_ecdysis, upgraded) = builder.ready().expect("ready");
    let _ = upgraded.await;
    let _ = server.await;
}
