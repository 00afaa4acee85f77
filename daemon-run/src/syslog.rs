//! `--stdout syslog:daemon.info`: PROGRAM's output relayed by the
//! `--respawn` supervisor to the system log, one record per line.
//!
//! The socket (`/dev/log`, or `--syslog-socket`) is connected by the
//! launcher, before `chroot` and the privilege drop, and kept by the
//! supervisor; each record is a datagram `<PRI>TAG[PID]: LINE`, the form
//! `syslog(3)` sends without its timestamp, which journald, rsyslog and
//! syslog-ng all accept (they stamp the time of arrival). Control bytes in
//! a line (NUL, CR, ESC…) are written as rsyslog shows them, `#` and three
//! octal digits (`#000`, `#015`), so a record cannot be cut or forged
//! through them (issue 26 N). Records are sent without blocking: a stalled
//! log (a busy rsyslog, a flood) drops them instead of stopping the
//! supervisor, and PROGRAM behind it; the next record that gets through is
//! preceded by one saying how many were dropped, as `logger` and journald's
//! clients do (issue 26 G).
//!
//! The same relay copies a stream to the supervisor's own descriptor 1 or 2
//! (`--stdout FILE` with `--respawn`), so that the supervisor, not PROGRAM,
//! holds the log file and can reopen it on SIGHUP.

use std::cell::Cell;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use daemon_runtime::{Error, Step};
use nix::errno::Errno;

/// Where `--stdout` or `--stderr` sends PROGRAM's output.
///
/// ```
/// use clap::Parser;
/// use daemon_run::{Cli, Output, Priority};
/// let cli = Cli::parse_from(["daemon-run", "-r", "-o", "syslog:daemon.info", "-e", "/var/log/x.log", "x"]);
/// assert_eq!(cli.stdout, Some(Output::Syslog(Priority::parse("daemon.info").unwrap())));
/// assert_eq!(cli.stderr, Some(Output::File("/var/log/x.log".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A file, appended to.
    File(PathBuf),
    /// The system log, through the supervisor.
    Syslog(Priority),
}

/// A syslog facility and level, as `daemon.info`.
///
/// ```
/// let priority = daemon_run::Priority::parse("local3.err").unwrap();
/// assert_eq!(priority.value(), 19 * 8 + 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    facility: u8,
    level: u8,
}

const FACILITIES: [(&str, u8); 20] = [
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

const LEVELS: [(&str, u8); 10] = [
    ("emerg", 0),
    ("alert", 1),
    ("crit", 2),
    ("err", 3),
    ("error", 3),
    ("warning", 4),
    ("warn", 4),
    ("notice", 5),
    ("info", 6),
    ("debug", 7),
];

impl Priority {
    /// Parses `FACILITY.LEVEL` (`daemon.info`, `local0.err`), the names of
    /// `logger -p`.
    ///
    /// # Errors
    ///
    /// An unknown facility or level.
    pub fn parse(text: &str) -> Result<Priority, String> {
        let invalid = || format!("expected FACILITY.LEVEL, such as daemon.info or local0.err (got {text:?})");
        let (facility, level) = text.split_once('.').ok_or_else(invalid)?;
        let find = |table: &[(&str, u8)], name: &str| table.iter().find(|(n, _)| *n == name).map(|&(_, v)| v);
        Ok(Priority {
            facility: find(&FACILITIES, facility).ok_or_else(invalid)?,
            level: find(&LEVELS, level).ok_or_else(invalid)?,
        })
    }

    /// The same facility at `level`.
    fn with_level(self, level: u8) -> Priority {
        Priority { level, ..self }
    }

    /// The number in a record's `<PRI>`: facility × 8 + level.
    pub fn value(self) -> u8 {
        self.facility * 8 + self.level
    }
}

/// Parses `--stdout`/`--stderr`: `syslog:FACILITY.LEVEL`, else a file path.
///
/// # Errors
///
/// A `syslog:` value with an unknown facility or level.
pub fn parse_output(text: &str) -> Result<Output, String> {
    match text.strip_prefix("syslog:") {
        Some(priority) => Priority::parse(priority).map(Output::Syslog),
        None => Ok(Output::File(text.into())),
    }
}

/// The socket records go to, connected in the launcher.
#[derive(Debug)]
pub struct Sink {
    socket: UnixDatagram,
    tag: String,
    /// Records the log did not take since the last that got through.
    dropped: Cell<u64>,
}

impl Sink {
    /// Connects to the syslog socket at `path`, records tagged `tag`.
    ///
    /// # Errors
    ///
    /// `syslog: <path>: <cause>` (exit 73) when there is no log socket there.
    pub fn connect(path: &Path, tag: String) -> Result<Sink, Error> {
        let error = |e: std::io::Error| Error::Path {
            step: Step::Syslog,
            path: path.to_path_buf(),
            errno: daemon_runtime::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        };
        let socket = UnixDatagram::unbound().map_err(error)?;
        socket.connect(path).map_err(error)?;
        socket.set_nonblocking(true).map_err(error)?;
        Ok(Sink { socket, tag, dropped: Cell::new(0) })
    }

    /// The descriptor the runtime must keep open across the start.
    pub fn raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Sends `line` (without its newline) as one record about `pid`, its
    /// control bytes escaped; never blocks. When records were dropped
    /// before, a record saying how many goes first.
    pub fn send(&self, priority: Priority, pid: i32, line: &[u8]) {
        let dropped = self.dropped.get();
        if dropped > 0 {
            let notice = format!("daemon-run: {dropped} messages dropped (the log socket was full or down)");
            if !self.deliver(priority.with_level(WARNING), pid, notice.as_bytes()) {
                self.dropped.set(dropped + 1);
                return;
            }
            self.dropped.set(0);
        }
        if !self.deliver(priority, pid, line) {
            self.dropped.set(self.dropped.get() + 1);
        }
    }

    /// One record; false when the log did not take it (full, or down).
    fn deliver(&self, priority: Priority, pid: i32, line: &[u8]) -> bool {
        let mut record = format!("<{}>{}[{pid}]: ", priority.value(), self.tag).into_bytes();
        escape_into(&mut record, line);
        loop {
            match self.socket.send(&record) {
                Ok(_) => return true,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                // EAGAIN (full), ECONNREFUSED (down), ENOBUFS: a log that
                // is down or full must not stop the service.
                Err(_) => return false,
            }
        }
    }
}

/// The level of the record counting dropped ones.
const WARNING: u8 = 4;

/// Appends `line` to `record`, each control byte (below 0x20, and DEL) as
/// rsyslog's `EscapeControlCharactersOnReceive` shows it: `#` and its
/// value in three octal digits.
///
/// ```
/// let mut record = Vec::new();
/// daemon_run::escape_into(&mut record, b"a\0b\rc\x1b[31m\x7f#");
/// assert_eq!(record, b"a#000b#015c#033[31m#177#");
/// ```
pub fn escape_into(record: &mut Vec<u8>, line: &[u8]) {
    for &byte in line {
        if byte < 0x20 || byte == 0x7f {
            record.extend_from_slice(&[
                b'#',
                b'0' + (byte >> 6),
                b'0' + ((byte >> 3) & 7),
                b'0' + (byte & 7),
            ]);
        } else {
            record.push(byte);
        }
    }
}

/// Where a relayed stream of PROGRAM's goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// One record per line to the [`Sink`].
    Syslog(Priority),
    /// The supervisor's own descriptor of that number (1 or 2): the log
    /// file the runtime opened, which `reopen_logs` replaces on SIGHUP.
    Descriptor(RawFd),
}

/// One of PROGRAM's output streams being relayed: the read end of its
/// pipe and the partial line read so far.
pub struct Relay {
    /// The pipe's read end (non-blocking); `None` once it reached its end.
    pub pipe: Option<OwnedFd>,
    to: Destination,
    pending: Vec<u8>,
}

impl Relay {
    /// A pipe for one stream: the relay keeps the read end, the write end
    /// is for the child to put on its descriptor 1 or 2.
    ///
    /// # Errors
    ///
    /// `pipe2` failed.
    pub fn new(to: Destination) -> Result<(Relay, OwnedFd), Errno> {
        let (read, write) = nonblocking_pipe()?;
        // The child's end blocks, as a terminal or a file would.
        nix::fcntl::fcntl(write.as_fd(), nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()))?;
        Ok((Relay { pipe: Some(read), to, pending: Vec::new() }, write))
    }

    /// Sends one line (without its newline), or a piece of a long one.
    fn emit(&self, sink: Option<&Sink>, pid: i32, line: &[u8], newline: bool) {
        match (self.to, sink) {
            (Destination::Syslog(priority), Some(sink)) => sink.send(priority, pid, line),
            (Destination::Syslog(_), None) => {}
            (Destination::Descriptor(fd), _) => {
                // SAFETY: 1 and 2 stay open for the supervisor's life (the
                // runtime put the log files or /dev/null there, and
                // `reopen_logs` replaces them with `dup2`, never closing).
                let out = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
                let end: &[u8] = if newline { b"\n" } else { b"" };
                for mut rest in [line, end] {
                    while !rest.is_empty() {
                        match nix::unistd::write(out, rest) {
                            Ok(n) => rest = &rest[n..],
                            Err(Errno::EINTR) => {}
                            // A full disk must not stop the service.
                            Err(_) => return,
                        }
                    }
                }
            }
        }
    }

    /// Reads what is there and sends each complete line; at the end of the
    /// stream, sends what is left and closes the pipe.
    pub fn pump(&mut self, sink: Option<&Sink>, pid: i32) {
        let Some(pipe) = &self.pipe else { return };
        let mut buffer = [0u8; 4096];
        let mut ended = false;
        loop {
            match nix::unistd::read(pipe, &mut buffer) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => self.pending.extend_from_slice(&buffer[..n]),
                Err(Errno::EINTR) => continue,
                Err(_) => break, // EAGAIN: all read for now
            }
        }
        let mut pending = std::mem::take(&mut self.pending);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            self.emit(sink, pid, &line[..end], true);
        }
        // A line longer than a record can be is sent in pieces; at the end,
        // the last partial line as it is.
        if pending.len() > 8192 || (ended && !pending.is_empty()) {
            self.emit(sink, pid, &std::mem::take(&mut pending), false);
        }
        self.pending = pending;
        if ended {
            self.pipe = None;
        }
    }

    /// PROGRAM has exited and its group was killed: relays what is left,
    /// waiting up to [`LINGER`] for the pipe's end (a writer that left the
    /// group may keep it open), then sends the last partial line.
    pub fn finish(&mut self, sink: Option<&Sink>, pid: i32) {
        self.pump(sink, pid);
        while let Some(pipe) = &self.pipe {
            let mut fds = [nix::poll::PollFd::new(pipe.as_fd(), nix::poll::PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(LINGER.as_millis() as u16)) {
                Ok(0) => break,
                Err(Errno::EINTR) => continue,
                Err(_) => break,
                Ok(_) => self.pump(sink, pid),
            }
        }
        let rest = std::mem::take(&mut self.pending);
        if !rest.is_empty() {
            self.emit(sink, pid, &rest, false);
        }
        self.pipe = None;
    }
}

/// How long [`Relay::finish`] waits for more output after PROGRAM's end.
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(100);

/// A pipe, both ends close-on-exec (the runtime's `cloexec_pipe`) and
/// non-blocking.
fn nonblocking_pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let (read, write) = daemon_runtime::__private::cloexec_pipe()?;
    for end in [&read, &write] {
        fcntl(end, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    }
    Ok((read, write))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_are_escaped_as_rsyslog_shows_them() {
        let mut record = b"<30>x[1]: ".to_vec();
        let line: Vec<u8> = (0u8..=0x20).chain([b'~', 0x7f, 0xc3, 0xa9]).collect();
        escape_into(&mut record, &line);
        let expected = "<30>x[1]: #000#001#002#003#004#005#006#007#010#011#012#013#014#015#016#017\
                        #020#021#022#023#024#025#026#027#030#031#032#033#034#035#036#037 ~#177é";
        assert_eq!(String::from_utf8(record).unwrap(), expected);
    }

    #[test]
    fn outputs_parse_as_files_or_syslog_priorities() {
        assert_eq!(
            parse_output("syslog:daemon.info"),
            Ok(Output::Syslog(Priority { facility: 3, level: 6 }))
        );
        assert_eq!(parse_output("/var/log/x.log"), Ok(Output::File("/var/log/x.log".into())));
        for bad in ["syslog:nope", "syslog:daemon", "syslog:daemon.loud", "syslog:"] {
            assert!(parse_output(bad).is_err(), "{bad}");
        }
    }
}
