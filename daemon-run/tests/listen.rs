//! `daemon-run` and socket activation: `--listen` binds the sockets and
//! passes them as `LISTEN_FDS`; under `systemd-socket-activate`, the sockets
//! passed to `daemon-run` reach PROGRAM through the detach. PROGRAM is
//! `hello_activated` (`daemon-run/examples/`), a program written for socket
//! activation that neither binds nor detaches.

use crate::common;

use std::io::Read;
use std::net::{TcpStream, UdpSocket};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;

use common::{
    DaemonRunHarness, Harness, Proc, eventually, hello, hello_activated, lock_file, os_error, read_all,
    root_or_skip, text, wait_for_pid,
};

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn listen_passes_tcp_unix_and_udp_sockets_in_order_with_their_names() {
    let harness = Harness::new("listen-kinds");
    let pid_file = harness.path("hello.pid");
    let unix = harness.path("web.sock");
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    drop(udp);
    let tcp_port = free_port();
    let output = harness
        .daemon_run([
            "--pid-file",
            arg(&pid_file),
            "--listen",
            &format!("tcp:127.0.0.1:{tcp_port}"),
            "--listen",
            &format!("web=unix:{}", unix.display()),
            "--listen",
            &format!("udp:127.0.0.1:{udp_port}"),
            "--",
            arg(&hello_activated()),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    // Bound before daemon-run returned: no waiting.
    let program = wait_for_pid(&pid_file);
    let names = "tcp,web,udp";
    assert_eq!(read_all(TcpStream::connect(("127.0.0.1", tcp_port)).unwrap()), hello(program, names));
    assert_eq!(read_all(UnixStream::connect(&unix).unwrap()), hello(program, names));
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(common::PATIENCE)).unwrap();
    client.send_to(b"hi", ("127.0.0.1", udp_port)).unwrap();
    let mut buf = [0u8; 256];
    let n = client.recv(&mut buf).unwrap();
    assert_eq!(text(&buf[..n]), hello(program, names));
    let fds = program.fds();
    for fd in 3..=5 {
        assert!(fds[&fd].to_string_lossy().starts_with("socket:"), "fd {fd}: {fds:?}");
    }
    assert_eq!(fds.get(&6), Some(&lock_file(&pid_file)), "the lock after the sockets: {fds:?}");
    assert_ne!(program.session(), program.0, "detached");
}

#[test]
fn listen_with_notify_readiness_returns_once_the_program_holds_its_sockets() {
    let harness = Harness::new("listen-notify");
    let pid_file = harness.path("hello.pid");
    let unix = harness.path("ready.sock");
    let output = harness
        .daemon_run(["--ready", "notify", "--ready-timeout", "10s", "--pid-file", arg(&pid_file)])
        .args(["--listen", &format!("unix:{}", unix.display()), "--", arg(&hello_activated())])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let program = wait_for_pid(&pid_file);
    // The program's environment (built for the private NOTIFY_SOCKET) names it too.
    assert_eq!(read_all(UnixStream::connect(&unix).unwrap()), hello(program, "unix"));
}

#[test]
fn listen_binds_a_privileged_port_for_a_program_run_as_nobody() {
    if !root_or_skip("listen_binds_a_privileged_port_for_a_program_run_as_nobody", "bind below 1024") {
        return;
    }
    let harness = Harness::new("listen-privileged");
    // `nobody` must be able to execute the program: a world-readable copy.
    std::fs::set_permissions(harness.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let program_path = harness.path("hello_activated");
    common::install_executable(&hello_activated(), &program_path);
    let port = (600..1000)
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port below 1024");
    let pid_file = harness.path("hello.pid");
    let output = harness
        .daemon_run([
            "--user",
            "nobody",
            "--pid-file",
            arg(&pid_file),
            "--listen",
            &format!("http=tcp:127.0.0.1:{port}"),
            "--",
            arg(&program_path),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let program = wait_for_pid(&pid_file);
    assert_eq!(program.status("Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(read_all(TcpStream::connect(("127.0.0.1", port)).unwrap()), hello(program, "http"));
}

#[test]
fn a_unix_socket_gets_listen_mode_whatever_the_umask_and_0600_by_default() {
    let harness = Harness::new("listen-mode");
    // (umask of daemon-run, --listen-mode, the mode expected): a umask of
    // 077 would have made it 0700 (only the owner may connect), one of 0
    // 0777; systemd's SocketMode= default of 0666 is asked for, not given.
    for (mask, mode, expected) in [("077", None, "600"), ("000", None, "600"), ("077", Some("0666"), "666")] {
        let pid_file = harness.path("hello.pid");
        let unix = harness.path("mode.sock");
        let mut command = harness.command("sh");
        command.args(["-c", r#"umask "$1" && shift && exec "$0" "$@""#, common::DAEMON_RUN, mask]);
        command.args(["--pid-file", arg(&pid_file), "--listen", &format!("unix:{}", unix.display())]);
        command.args(mode.map(|mode| ["--listen-mode", mode]).into_iter().flatten());
        let output = command.args(["--", arg(&hello_activated())]).output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        let program = wait_for_pid(&pid_file);
        let meta = std::fs::symlink_metadata(&unix).unwrap();
        assert!(meta.file_type().is_socket(), "{meta:?}");
        assert_eq!(format!("{:o}", meta.permissions().mode() & 0o7777), expected, "umask {mask}, {mode:?}");
        assert_eq!(meta.uid(), nix::unistd::geteuid().as_raw(), "owned by the starting user");
        assert_eq!(read_all(UnixStream::connect(&unix).unwrap()), hello(program, "unix"));
        program.terminate();
        std::fs::remove_file(&unix).unwrap();
    }
    let output = harness.daemon_run(["--listen-mode", "0666", "--", "true"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "--listen-mode needs --listen: {output:?}");
}

#[test]
fn listen_in_the_foreground_passes_the_sockets_to_daemon_runs_own_pid() {
    let harness = Harness::new("listen-foreground");
    let unix = harness.path("fg.sock");
    let mut child = harness
        .daemon_run([
            "--foreground",
            "--listen",
            &format!("unix:{}", unix.display()),
            "--",
            arg(&hello_activated()),
        ])
        .spawn()
        .unwrap();
    let mut answer = String::new();
    eventually("the program answers", || {
        UnixStream::connect(&unix).is_ok_and(|stream| {
            answer = read_all(stream);
            true
        })
    });
    let program = Proc(child.id() as i32);
    assert_eq!(answer, hello(program, "unix"), "exec keeps daemon-run's pid");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_socket_that_cannot_be_bound_fails_the_start_with_nothing_left() {
    let harness = Harness::new("listen-in-use");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let pid_file = harness.path("hello.pid");
    let spec = format!("tcp:127.0.0.1:{port}");
    let output = harness
        .daemon_run(["--pid-file", arg(&pid_file), "--listen", &spec, "--", arg(&hello_activated())])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(71), "{output:?}");
    assert_eq!(text(&output.stderr), format!("error: listen: {spec}: {}\n", os_error(libc::EADDRINUSE)));
    assert!(harness.processes().is_empty() && !pid_file.exists());

    // A socket that would land on a kept descriptor, and a failure after
    // the fork (the working directory): the socket file goes too.
    let unix = harness.path("kept.sock");
    let listen = format!("unix:{}", unix.display());
    for (flags, code, message) in [
        (["--keep-fd", "3"], 71, format!("error: listen: {listen}: {}\n", os_error(libc::EBUSY))),
        (
            ["--chdir", "/nonexistent"],
            78,
            "error: chdir: /nonexistent: No such file or directory (os error 2)\n".into(),
        ),
    ] {
        let output = harness
            .daemon_run(flags)
            .args(["--listen", &listen, "--", arg(&hello_activated())])
            .output()
            .unwrap();
        assert_eq!((output.status.code(), text(&output.stderr)), (Some(code), message));
        assert!(harness.processes().is_empty());
        assert!(!unix.exists(), "the socket file of a failed start is removed");
    }

    let output = harness.daemon_run(["--listen", "tcp:localhost:80", "--", "true"]).output().unwrap();
    assert!(text(&output.stderr).contains("expected a numeric IP:PORT"), "{}", text(&output.stderr));
    assert_ne!(output.status.code(), Some(0));
}

#[test]
fn systemd_socket_activate_passes_sockets_through_daemon_run_to_the_program() {
    let test = "systemd_socket_activate_passes_sockets_through_daemon_run_to_the_program";
    let Some(tool) = common::installed_or_skip(test, "systemd-socket-activate", "systemd") else {
        return;
    };
    let harness = Harness::new(test);
    let socket = harness.path("web.sock");
    let pid_file = harness.path("hello.pid");
    let mut launcher = harness
        .command(tool)
        .args(["--listen", arg(&socket), "--fdname=web", "-E", "DAEMON_TEST_MARKER"])
        .args([common::DAEMON_RUN, "--pid-file", arg(&pid_file), "--", arg(&hello_activated())])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let launcher_pid = launcher.id() as i32;
    let mut client = None;
    eventually("the socket accepts connections", || {
        client = UnixStream::connect(&socket).ok();
        client.is_some()
    });
    let answer = read_all(client.unwrap());
    let status = launcher.wait().unwrap();
    let mut stderr = String::new();
    launcher.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    let program = wait_for_pid(&pid_file);
    assert_ne!(program.0, launcher_pid, "detached");
    assert_eq!(answer, hello(program, "web"), "{stderr}");
    let fds = program.fds();
    assert!(fds[&3].to_string_lossy().starts_with("socket:"), "{fds:?}");
    assert_eq!(fds.get(&4), Some(&lock_file(&pid_file)), "{fds:?}");
}

/// Issue 26 I: PROGRAM does not remove its socket file (run as another
/// user, it could not, in a directory of root's), so it outlives `--stop`,
/// and the next start failed with "Address already in use". A socket of the
/// starting user's on which nothing accepts is now replaced at the start;
/// one that accepts, and one of another user's, are not.
#[test]
fn a_stale_unix_socket_left_by_a_stopped_program_is_replaced_at_the_next_start() {
    let harness = Harness::new("listen-stale");
    let pid_file = harness.path("hello.pid");
    let unix = harness.path("stale.sock");
    let listen = format!("unix:{}", unix.display());
    let start = |pid_file: &Path| {
        harness
            .daemon_run(["--pid-file", arg(pid_file), "--listen", &listen, "--", arg(&hello_activated())])
            .output()
            .unwrap()
    };
    let output = start(&pid_file);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let first = wait_for_pid(&pid_file);

    // A socket that accepts is no one's to replace: a second start (another
    // pid file) fails, and the first program still serves on it.
    let other = harness.path("other.pid");
    let output = start(&other);
    assert_eq!(
        (output.status.code(), text(&output.stderr)),
        (Some(71), format!("error: listen: {listen}: {}\n", os_error(libc::EADDRINUSE)))
    );
    assert!(!other.exists());
    assert_eq!(read_all(UnixStream::connect(&unix).unwrap()), hello(first, "unix"));

    let stop = harness.daemon_run(["--stop", "--pid-file", arg(&pid_file)]).output().unwrap();
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(std::fs::symlink_metadata(&unix).unwrap().file_type().is_socket(), "left by the program");
    let output = start(&pid_file);
    assert!(output.status.success(), "the stale socket blocked the start: {}", text(&output.stderr));
    let second = wait_for_pid(&pid_file);
    assert_eq!(read_all(UnixStream::connect(&unix).unwrap()), hello(second, "unix"));

    if !common::root_or_skip(
        "a_stale_unix_socket_left_by_a_stopped_program_is_replaced_at_the_next_start (another user's socket)",
        "chown a socket to nobody",
    ) {
        return;
    }
    // Stale, but another user's: left where it is, the start fails.
    let stop = harness.daemon_run(["--stop", "--pid-file", arg(&pid_file)]).output().unwrap();
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    std::os::unix::fs::lchown(&unix, Some(65534), Some(65534)).unwrap();
    let output = start(&pid_file);
    assert_eq!(
        (output.status.code(), text(&output.stderr)),
        (Some(71), format!("error: listen: {listen}: {}\n", os_error(libc::EADDRINUSE)))
    );
    assert_eq!(std::fs::symlink_metadata(&unix).unwrap().uid(), 65534, "another user's socket was replaced");
    assert_eq!(harness.processes(), []);
}
