//! `--listen [NAME=]KIND:ADDRESS`: sockets that `daemon-run` binds (as the
//! starting user, before any privilege drop, so a `--user` program can serve
//! port 80) and hands to PROGRAM the way systemd's socket activation does
//! (sd_listen_fds(3)): on descriptors 3, 4, ..., announced by `LISTEN_FDS`,
//! `LISTEN_FDNAMES` and `LISTEN_PID`, which the runtime rewrites to the
//! daemon's pid (PROGRAM's, as `exec` keeps it). A program written for socket
//! activation then runs unchanged on a machine without systemd. A `unix:`
//! socket file is created in its walked directory with mode
//! `--listen-mode` ([`UNIX_SOCKET_MODE`] by default), and replaced when an
//! earlier run left it stale (`listen/unix.rs`).

mod unix;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use daemon_runtime::__private::Denied;
use daemon_runtime::Error;
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};

use crate::StartError;

/// The first descriptor of socket activation (`SD_LISTEN_FDS_START`).
const FIRST: RawFd = 3;

/// The default mode of a `unix:/PATH` socket file (`--listen-mode`),
/// whatever `daemon-run`'s umask: `0600`, so that only the starting user
/// (who owns the file) may connect until the operator says otherwise.
/// systemd's `SocketMode=` defaults to `0666`; here the socket exists from
/// the start on, whoever is meant to reach it, and giving every local user
/// a connection is a choice to make explicitly (`--listen-mode 0666`).
///
/// ```
/// assert_eq!(daemon_run::listen::UNIX_SOCKET_MODE, 0o600);
/// ```
pub const UNIX_SOCKET_MODE: u32 = 0o600;

/// One `--listen` socket: what to bind, and the name PROGRAM sees for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// Its entry in `LISTEN_FDNAMES`: given as `NAME=`, else the kind (`tcp`, `udp`, `unix`).
    pub name: String,
    /// What to bind.
    pub address: Address,
    /// The argument as written, for error messages.
    pub text: String,
}

/// A socket address `--listen` binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `tcp:IP:PORT` (`[IPv6]:PORT`): a listening stream socket, `SO_REUSEADDR` set.
    Tcp(SocketAddr),
    /// `udp:IP:PORT`: a bound datagram socket.
    Udp(SocketAddr),
    /// `unix:/PATH`: a listening stream socket at an absolute path, where
    /// nothing may be but a stale socket of the starting user's; created
    /// with mode `--listen-mode` ([`UNIX_SOCKET_MODE`] by default).
    Unix(PathBuf),
}

/// Parses `[NAME=]tcp:IP:PORT`, `udp:IP:PORT` or `unix:/PATH` (addresses
/// are numeric: no name is resolved). A name is what systemd accepts in
/// `FileDescriptorName=`: 1 to 255 printable ASCII characters, without `:`.
///
/// ```
/// use daemon_run::listen::{Address, parse_listen};
/// let web = parse_listen("web=tcp:127.0.0.1:8080").unwrap();
/// assert_eq!((web.name.as_str(), web.address), ("web", Address::Tcp("127.0.0.1:8080".parse().unwrap())));
/// assert_eq!(parse_listen("unix:/run/x.sock").unwrap().name, "unix");
/// assert!(parse_listen("tcp:localhost:80").is_err());
/// ```
///
/// # Errors
///
/// Another kind, an address that does not parse, a relative path, an invalid name.
pub fn parse_listen(text: &str) -> Result<Listen, String> {
    let kinds = "expected [NAME=]tcp:IP:PORT, udp:IP:PORT or unix:/PATH";
    let (name, spec) = match text.split_once('=') {
        Some((name, spec)) if !name.contains(':') => (Some(name), spec),
        _ => (None, text),
    };
    let (kind, rest) = spec.split_once(':').ok_or_else(|| format!("{kinds} (got {text:?})"))?;
    let socket_address = || {
        rest.parse::<SocketAddr>().map_err(|_| {
            format!("{kind}: expected a numeric IP:PORT, such as 127.0.0.1:8080 or [::1]:8080 (got {rest:?})")
        })
    };
    let address = match kind {
        "tcp" => Address::Tcp(socket_address()?),
        "udp" => Address::Udp(socket_address()?),
        "unix" if rest.starts_with('/') => Address::Unix(PathBuf::from(rest)),
        "unix" => return Err(format!("unix: the path must be absolute (got {rest:?})")),
        _ => return Err(format!("{kinds} (got {text:?})")),
    };
    let name = name.unwrap_or(kind);
    let valid = (1..=255).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if !valid {
        return Err(format!("a socket name is 1 to 255 printable characters without `:` (got {name:?})"));
    }
    Ok(Listen { name: name.to_string(), address, text: text.to_string() })
}

impl Listen {
    /// Binds the socket; a `unix:` one with `mode`, also returning its file.
    /// Call it while the process runs one thread (see [`unix::bind`]).
    fn bind(&self, mode: u32) -> Result<(OwnedFd, Option<unix::SocketFile>), StartError> {
        let failed = |e: std::io::Error| self.error(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)));
        Ok(match &self.address {
            Address::Tcp(address) => (TcpListener::bind(address).map_err(failed)?.into(), None),
            Address::Udp(address) => (UdpSocket::bind(address).map_err(failed)?.into(), None),
            Address::Unix(path) => {
                let (socket, file) = unix::bind(path, mode).map_err(|cause| self.denied(cause))?;
                (socket, Some(file))
            }
        })
    }

    /// `listen: ADDR: <errno>`.
    fn error(&self, errno: Errno) -> StartError {
        self.denied(Denied::Sys(errno))
    }

    /// `listen: ADDR: <cause>`, naming the argument as written.
    fn denied(&self, cause: Denied) -> StartError {
        StartError::Listen { text: self.text.clone(), cause }
    }
}

/// Binds every socket of `listen`, places them on the descriptors that
/// follow any a service manager passed to `daemon-run` itself (3, 4, ...
/// otherwise), announces them all in `LISTEN_FDS`, `LISTEN_FDNAMES` and
/// `LISTEN_PID` (this process, which the runtime then keeps them for), then
/// calls `start` with the descriptors it must keep through the start (the
/// directories of the Unix socket files, close-on-exec); `start` returns
/// only when the start failed (as
/// [`Daemon::exec`](daemon_runtime::Daemon::exec) does). Call it while the
/// process runs one thread. On failure, the Unix socket files it bound are
/// removed through those directories (only while each name still names the
/// socket bound), so a failed start leaves none behind. `unix_mode` is the
/// mode of those files (`--listen-mode`). Returns the error to print:
/// `listen: ADDR: <cause>` ([`StartError::Listen`], exit 71) when a socket
/// cannot be bound (the address is in use, or not this machine's; the
/// socket file's directory is missing), or would land on a `--keep-fd`
/// descriptor; `listen: ADDR: <refusal>` (exit 73) when the walk to a
/// socket file's directory meets a link it may not follow;
/// `preflight: N threads are running...` when the environment
/// cannot be changed safely; else `start`'s.
///
/// ```no_run
/// let web = daemon_run::listen::parse_listen("tcp:127.0.0.1:8080").unwrap();
/// let error = daemon_run::listen::with_sockets(&[web], &[], 0o600, |keep| {
///     daemon_runtime::Daemon::new().keep_fds(keep.iter().copied()).exec("/usr/local/bin/web", ["--socket-activated"])
/// });
/// eprintln!("error: {error}");
/// std::process::exit(error.exit_code());
/// ```
pub fn with_sockets(
    listen: &[Listen],
    keep_fds: &[RawFd],
    unix_mode: u32,
    start: impl FnOnce(&[RawFd]) -> Error,
) -> StartError {
    let mut created = Vec::new();
    let error = match hand_over(listen, keep_fds, unix_mode, &mut created) {
        Err(error) => error,
        Ok(()) => {
            let keep: Vec<RawFd> =
                created.iter().map(|file: &unix::SocketFile| file.dir.as_raw_fd()).collect();
            start(&keep).into()
        }
    };
    for file in created {
        file.remove();
    }
    error
}

/// [`with_sockets`] up to the start; the Unix socket files it creates are
/// pushed on `created`.
fn hand_over(
    listen: &[Listen],
    keep_fds: &[RawFd],
    unix_mode: u32,
    created: &mut Vec<unix::SocketFile>,
) -> Result<(), StartError> {
    if listen.is_empty() {
        return Ok(());
    }
    // Also what makes the umask and working directory of `Listen::bind`,
    // and `set_var` below, safe.
    daemon_runtime::ensure_single_threaded()?;
    let (passed, mut names) = already_passed()?;
    let first = FIRST + passed;
    let end = RawFd::try_from(listen.len())
        .ok()
        .and_then(|count| first.checked_add(count))
        .ok_or_else(|| listen[0].error(Errno::EMFILE))?;
    // Out of the way of the descriptors the sockets are going to take.
    let above = |socket: &Listen, fd: &OwnedFd| {
        let moved = fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(end)).map_err(|e| socket.error(e))?;
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
        Ok::<OwnedFd, StartError>(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(moved) })
    };
    let mut bound = Vec::with_capacity(listen.len());
    for socket in listen {
        let (fd, file) = socket.bind(unix_mode)?;
        if let Some(mut file) = file {
            file.dir = above(socket, &file.dir)?;
            created.push(file);
        }
        bound.push(above(socket, &fd)?);
    }
    for ((socket, fd), target) in listen.iter().zip(bound).zip(first..end) {
        if keep_fds.contains(&target) {
            return Err(socket.error(Errno::EBUSY));
        }
        // SAFETY: this process owns no descriptor numbered `target`: the
        // sockets and the socket files' directories were moved above `end`,
        // the runtime has opened nothing yet, and whatever was inherited
        // there is a stray the start would close (`--keep-fd` ones were
        // refused above). The result is leaked on
        // purpose: from now on it belongs to PROGRAM, by the protocol.
        let placed = unsafe { nix::unistd::dup2_raw(&fd, target) }.map_err(|e| socket.error(e))?;
        let _ = placed.into_raw_fd();
        names.push(socket.name.clone());
    }
    let count = (end - FIRST).to_string();
    for (key, value) in [
        ("LISTEN_FDS", count),
        ("LISTEN_FDNAMES", names.join(":")),
        ("LISTEN_PID", std::process::id().to_string()),
    ] {
        // SAFETY: the process runs one thread (counted by the kernel above),
        // so no other thread reads the environment while it changes.
        unsafe { std::env::set_var(key, value) };
    }
    Ok(())
}

/// How many descriptors a service manager passed to this process (the
/// runtime's count, checked as sd_listen_fds(3) checks it: all open), and
/// their names (`unknown` where none was given, as
/// sd_listen_fds_with_names(3) says).
fn already_passed() -> Result<(RawFd, Vec<String>), Error> {
    let count = daemon_runtime::__private::passed_count()?;
    let given = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut given = given.split(':');
    let names = (0..count)
        .map(|_| given.next().filter(|name| !name.is_empty()).unwrap_or("unknown").to_string())
        .collect();
    Ok((count, names))
}
