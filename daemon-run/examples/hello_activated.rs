//! A program written for socket activation, and nothing else: it neither
//! binds nor detaches. It answers on every socket it is passed
//! (`LISTEN_FDS`), whoever passes them: systemd, `systemd-socket-activate`,
//! or `daemon-run --listen` on a machine without systemd:
//!
//! ```sh
//! daemon-run --pid-file /run/hello.pid --user nobody --listen tcp:0.0.0.0:80 -- hello_activated
//! ```
//!
//! Once it holds its sockets it sends `READY=1` to `$NOTIFY_SOCKET`, if set.
//! A stream socket (TCP or Unix) answers each client with one line, a UDP
//! socket each datagram:
//! `hello from pid P: LISTEN_PID=L, sockets NAME,NAME` (what the program
//! saw at its start).

use std::io::Write;
use std::net::UdpSocket;
use std::os::fd::OwnedFd;

use nix::sys::socket::{SockType, accept, getsockopt, sockopt};

fn main() {
    let listen_pid = std::env::var("LISTEN_PID").unwrap_or_default();
    let sockets = daemon_runtime::listen_fds();
    if sockets.is_empty() {
        eprintln!("error: no socket was passed (run it under `daemon-run --listen ADDR` or systemd)");
        std::process::exit(64);
    }
    let names: Vec<&str> = sockets.iter().map(|(_, name)| name.as_deref().unwrap_or("unknown")).collect();
    let answer = format!(
        "hello from pid {}: LISTEN_PID={listen_pid}, sockets {}\n",
        std::process::id(),
        names.join(",")
    );
    // `READY=1` for a manager that waits for it (systemd's `Type=notify`,
    // `daemon-run --ready notify`); nothing without `$NOTIFY_SOCKET`.
    daemon_runtime::ready();
    let servers: Vec<_> = sockets
        .into_iter()
        .map(|(socket, _)| {
            let answer = answer.clone();
            std::thread::spawn(move || serve(socket, answer.as_bytes()))
        })
        .collect();
    for server in servers {
        let _ = server.join();
    }
}

/// Answers on `socket` until it fails.
fn serve(socket: OwnedFd, answer: &[u8]) {
    match getsockopt(&socket, sockopt::SockType) {
        Ok(SockType::Datagram) => {
            let socket = UdpSocket::from(socket);
            let mut buf = [0u8; 512];
            while let Ok((_, peer)) = socket.recv_from(&mut buf) {
                let _ = socket.send_to(answer, peer);
            }
        }
        _ => {
            while let Ok(client) = accept(&socket) {
                let _ = std::fs::File::from(client).write_all(answer);
            }
        }
    }
}
