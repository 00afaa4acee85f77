//! An echo server whose log survives logrotate without any code of its own:
//! the runtime reopens `echo.log` on SIGHUP ([`Daemon::reopen_logs_on`]),
//! while the server sits blocked in `accept()`. (With the attribute:
//! `#[daemon(stdout = "/var/log/echod.log", reopen_logs_on = "SIGHUP")]`.)
//!
//! Its directory is the first argument (default `/tmp/daemon-reopen-logs`):
//! it holds `echo.pid`, `echo.log` (one line per connection) and `port`.
//!
//! ```text
//! cargo run --example reopen_logs -- /tmp/echo
//! nc 127.0.0.1 "$(cat /tmp/echo/port)" </dev/null
//! mv /tmp/echo/echo.log /tmp/echo/echo.log.1 && kill -HUP "$(cat /tmp/echo/echo.pid)"
//! nc 127.0.0.1 "$(cat /tmp/echo/port)" </dev/null   # logged in a new echo.log
//! kill "$(cat /tmp/echo/echo.pid)"
//! ```
//!
//! [`Daemon::reopen_logs_on`]: daemon_runtime::Daemon::reopen_logs_on

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use daemon_runtime::{Daemon, Signal};

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os().nth(1).map_or_else(|| "/tmp/daemon-reopen-logs".into(), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let dir = std::path::absolute(dir)?;
    let (_running, listener) = Daemon::new()
        .pid_file(dir.join("echo.pid"))
        .stdout(dir.join("echo.log"))
        .reopen_logs_on(Signal::SIGHUP)
        .start_with(|| TcpListener::bind("127.0.0.1:0"))
        .unwrap_or_else(|error| error.exit());
    std::fs::write(dir.join("port"), format!("{}\n", listener.local_addr()?.port()))?;
    for (n, stream) in listener.incoming().enumerate() {
        let mut stream = stream?;
        // The runtime's thread may have swapped descriptor 1 meanwhile:
        // this line goes to whichever file is there now.
        println!("connection {} from {}", n + 1, stream.peer_addr()?);
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line)?;
        stream.write_all(line.as_bytes())?;
    }
    Ok(())
}
