//! The body of the socket-activated test daemons: take the passed sockets,
//! then answer every connection on the first one with what the daemon saw.

use std::io::Write;

/// Reads `LISTEN_PID` as the body sees it, takes the sockets with
/// [`daemon_runtime::listen_fds`], writes the pid to `$PROBE_OUT`, then
/// answers each client of the first socket with one line:
/// `pid=P listen_pid=L fds=N names=A,B after=X`, where `after` is
/// `LISTEN_PID` once the sockets are taken (`unset` when cleared). Never returns.
pub fn answer_forever() -> ! {
    let listen_pid = std::env::var("LISTEN_PID").unwrap_or_else(|_| "unset".into());
    let fds = daemon_runtime::listen_fds();
    let after = std::env::var("LISTEN_PID").unwrap_or_else(|_| "unset".into());
    let names: Vec<&str> = fds.iter().map(|(_, name)| name.as_deref().unwrap_or("-")).collect();
    let answer = format!(
        "pid={} listen_pid={listen_pid} fds={} names={} after={after}\n",
        std::process::id(),
        fds.len(),
        names.join(",")
    );
    crate::write_pid();
    let (listener, _) = fds.first().expect("no socket was passed");
    loop {
        // Any stream socket: TCP or Unix, whatever the manager bound.
        let Ok(client) = nix::sys::socket::accept(listener) else { continue };
        let mut client = std::fs::File::from(client);
        let _ = client.write_all(answer.as_bytes());
    }
}
