//! Figure 9, this crate's upgrade: a TCP server started by the `Daemon`
//! builder that answers each connection with its pid and a newline, and on
//! SIGUSR2 hands its socket and pid file to the executable now at its path
//! (`daemon_runtime::Upgrade`), then stops accepting and exits. The same
//! binary is the "plain stop and start" way: SIGTERM ends it (the runtime's
//! handler removes the pid file), and the next start binds the port again.
//!
//! `BENCH_PID_FILE`, `BENCH_PORT`: the pid file, and the port the first
//! start binds on 127.0.0.1 (later processes take it from `listen_fds()`).

use std::io::Write;
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::poll::{PollFd, PollFlags, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

fn main() {
    let pid_file = std::env::var_os("BENCH_PID_FILE").expect("BENCH_PID_FILE is set");
    let port: u16 = std::env::var("BENCH_PORT").expect("BENCH_PORT is set").parse().expect("a port");
    let (running, listener) = daemon_runtime::Daemon::new()
        .pid_file(pid_file)
        .start_with(|| match daemon_runtime::listen_fds().into_iter().next() {
            Some((fd, _name)) => Ok::<_, std::io::Error>(TcpListener::from(fd)),
            None => TcpListener::bind(("127.0.0.1", port)),
        })
        .unwrap_or_else(|error| error.exit());
    // Every process of the chain accepts on the one socket; none blocks in
    // `accept` on a connection another took.
    listener.set_nonblocking(true).expect("non-blocking");
    let listener = Arc::new(listener);
    let handed_over = Arc::new(AtomicBool::new(false));
    // SIGUSR2 is taken by the upgrading thread with `sigwait`: blocked here,
    // before that thread starts, so that it is blocked in every thread.
    let mut usr2 = SigSet::empty();
    usr2.add(Signal::SIGUSR2);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&usr2), None).expect("sigmask");
    {
        let (listener, handed_over) = (Arc::clone(&listener), Arc::clone(&handed_over));
        std::thread::spawn(move || {
            while usr2.wait().is_ok() {
                if daemon_runtime::Upgrade::new().socket(&*listener).run().is_ok() {
                    handed_over.store(true, Ordering::SeqCst);
                    return;
                }
            }
        });
    }
    let answer = format!("{}\n", std::process::id());
    while !handed_over.load(Ordering::SeqCst) {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, 20u16).unwrap_or(0) == 0 {
            continue;
        }
        if let Ok((mut client, _)) = listener.accept() {
            let _ = client.set_nonblocking(false);
            let _ = client.write_all(answer.as_bytes());
        }
    }
    // Handed over: what was accepted is answered; the rest waits in the
    // backlog for the new process.
    drop(running);
}
