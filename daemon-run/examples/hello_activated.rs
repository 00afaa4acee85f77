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
//!
//! On SIGTERM it stops accepting and exits 0 once the answer it is writing
//! is written: it drains, as the old program must when `daemon-run
//! --respawn --listen` upgrades it (`daemon-run --upgrade`). Connections
//! not accepted yet wait in the sockets' backlog for the next program.

use std::io::Write;
use std::net::UdpSocket;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::socket::{SockType, accept, getsockopt, sockopt};

/// Set by SIGTERM: stop accepting.
static TERMINATED: AtomicBool = AtomicBool::new(false);

extern "C" fn terminated(_: libc::c_int) {
    TERMINATED.store(true, Ordering::SeqCst);
}

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
    // No SA_RESTART: a blocked `poll`, `accept` or `recv_from` returns
    // EINTR, and the loop sees the flag.
    let action = SigAction::new(SigHandler::Handler(terminated), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe { sigaction(Signal::SIGTERM, &action) }.expect("sigaction");
    // `READY=1` for a manager that waits for it (systemd's `Type=notify`,
    // `daemon-run --ready notify`); nothing without `$NOTIFY_SOCKET`.
    daemon_runtime::ready();
    let sockets: Vec<OwnedFd> = sockets.into_iter().map(|(socket, _)| socket).collect();
    // One thread, so that SIGTERM interrupts whatever call it waits in. The
    // timeout bounds a SIGTERM that came between the check and the `poll`.
    while !TERMINATED.load(Ordering::SeqCst) {
        let mut fds: Vec<PollFd> =
            sockets.iter().map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN)).collect();
        match poll(&mut fds, PollTimeout::from(100u8)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(error) => panic!("poll: {error}"),
        }
        let readable: Vec<bool> = fds.iter().map(|fd| fd.any().unwrap_or(false)).collect();
        drop(fds);
        for (socket, _) in sockets.iter().zip(readable).filter(|(_, readable)| *readable) {
            if TERMINATED.load(Ordering::SeqCst) {
                break;
            }
            serve_one(socket, answer.as_bytes());
        }
    }
}

/// Answers one client (or datagram) on `socket`. Another process sharing
/// the socket may have taken it first: the call then waits for the next
/// one, or returns at SIGTERM.
fn serve_one(socket: &OwnedFd, answer: &[u8]) {
    match getsockopt(socket, sockopt::SockType) {
        Ok(SockType::Datagram) => {
            let socket = UdpSocket::from(socket.try_clone().expect("dup"));
            let mut buf = [0u8; 512];
            if let Ok((_, peer)) = socket.recv_from(&mut buf) {
                let _ = socket.send_to(answer, peer);
            }
        }
        _ => {
            if let Ok(client) = accept(socket) {
                let _ = std::fs::File::from(client).write_all(answer);
            }
        }
    }
}
