//! Socket activation with a real service manager's launcher,
//! `systemd-socket-activate` (package `systemd`): it binds a Unix socket,
//! waits for a client, then execs the daemon with `LISTEN_FDS=1`,
//! `LISTEN_PID` (its own pid, the daemon's launcher) and `LISTEN_FDNAMES`.
//! The daemon must keep the socket through its start and find it addressed
//! to itself in the body; the client gets its answer through it; and after
//! an upgrade (`daemon-run --upgrade`), the new process serves that socket.

use crate::common;

use std::io::Read;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::{Harness, Proc, arg, eventually, example, text, wait_for_pid};
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

const ACTIVATED: &str = env!("CARGO_BIN_EXE_activated");
const ATTR_ACTIVATED: &str = env!("CARGO_BIN_EXE_attr_activated");

/// `systemd-socket-activate`, or `None` after saying why `test` is skipped.
fn socket_activate(test: &str) -> Option<PathBuf> {
    common::installed_or_skip(test, "systemd-socket-activate", "systemd")
}

/// Starts `program` under `systemd-socket-activate` listening on `listen`
/// (a path or `IP:PORT`, named `web`), with `env` and this test's marker
/// handed over (the tool passes on only the variables it is told to).
fn activate(harness: &Harness, tool: &Path, listen: &str, program: &[&str], env: &[(&str, &Path)]) -> Child {
    let mut command = harness.command(tool);
    command.args(["--listen", listen, "--fdname=web", "-E", "DAEMON_TEST_MARKER"]);
    for (name, value) in env {
        command.env(name, value).args(["-E", name]);
    }
    command.args(program).stderr(Stdio::piped()).spawn().expect("spawn")
}

/// Connects through the Unix socket once it is bound, and reads the
/// daemon's whole answer.
fn ask(socket: &Path) -> String {
    let mut client = None;
    eventually("the socket accepts connections", || {
        client = UnixStream::connect(socket).ok();
        client.is_some()
    });
    read_all(client.unwrap())
}

/// [`ask`] through a TCP port.
fn ask_tcp(port: u16) -> String {
    let mut client = None;
    eventually("the port accepts connections", || {
        client = TcpStream::connect(("127.0.0.1", port)).ok();
        client.is_some()
    });
    read_all(client.unwrap())
}

fn read_all(mut client: impl Read) -> String {
    let mut answer = String::new();
    client.read_to_string(&mut answer).expect("answer");
    answer
}

/// A port that was free a moment ago, for a tool that needs a number.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits for the activated process to exit: (success, what it printed).
fn finish(mut launcher: Child) -> (bool, String) {
    let status = launcher.wait().unwrap();
    let mut stderr = String::new();
    launcher.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status.success(), stderr)
}

/// What the test daemons' body answers (`daemon_tests::listen`): the one
/// socket, named `web`, addressed to the daemon itself, and the variables
/// cleared once taken.
fn expected(daemon: Proc) -> String {
    format!("pid={0} listen_pid={0} fds=1 names=web after=unset\n", daemon.0)
}

/// Descriptor 3 is the socket, the lock file took the next one, the pid
/// file's directory (kept to remove the files by `unlinkat`) the one after, and
/// nothing else is open beyond stdio.
fn assert_socket_then_pid_file(daemon: Proc, pid_file: &Path) {
    let fds = daemon.fds();
    assert!(fds[&3].to_string_lossy().starts_with("socket:"), "{fds:?}");
    assert_eq!(fds.get(&4), Some(&common::lock_file(pid_file)), "{fds:?}");
    assert_eq!(fds.get(&5).map(PathBuf::as_path), pid_file.parent(), "{fds:?}");
    assert_eq!(fds.len(), 6, "nothing else open: {fds:?}");
}

/// [`activate`] for a test daemon: its socket `web.sock`, its pid file
/// `d.pid` and its `probe.out` in the harness's directory.
fn activate_test_daemon(harness: &Harness, tool: &Path, program: &[&str]) -> Child {
    let (pid_file, out) = (harness.path("d.pid"), harness.path("probe.out"));
    let env = [("PROBE_OUT", out.as_path()), ("PROBE_PID_FILE", pid_file.as_path())];
    activate(harness, tool, arg(&harness.path("web.sock")), program, &env)
}

/// A detached daemon under `systemd-socket-activate`: the activated process
/// (its launcher) exits 0, and the daemon answers through the passed socket,
/// seeing `LISTEN_PID` name itself although the kernel's copy of its initial
/// environment names the launcher.
fn detached_daemon_answers(test: &str, program: &[&str]) {
    let Some(tool) = socket_activate(test) else { return };
    let harness = Harness::new(test);
    let (socket, pid_file, out) =
        (harness.path("web.sock"), harness.path("d.pid"), harness.path("probe.out"));
    let launcher = activate_test_daemon(&harness, &tool, program);
    let launcher_pid = launcher.id() as i32;
    let answer = ask(&socket);
    let (success, stderr) = finish(launcher);
    assert!(success, "the launcher failed: {stderr}");
    let daemon = wait_for_pid(&out);
    assert_ne!(daemon.0, launcher_pid, "detached: the daemon is another process");
    assert_eq!(answer, expected(daemon), "{stderr}");
    assert_eq!(ask(&socket), expected(daemon), "it keeps serving");
    assert_eq!(daemon.tty_nr(), 0);
    assert_ne!(daemon.session(), daemon.0, "double fork: no session leader");
    assert_eq!(daemon.fds()[&0], Path::new("/dev/null"));
    assert_socket_then_pid_file(daemon, &pid_file);
    let environ = daemon.read("environ");
    assert!(environ.contains(&format!("\0LISTEN_PID={launcher_pid}\0")), "{environ:?}");
    assert_eq!(daemon.terminate(), Some(WaitStatus::Signaled(daemon.pid(), Signal::SIGTERM, false)));
    assert!(!pid_file.exists(), "pid file removed on SIGTERM");
}

#[test]
fn an_activated_builder_daemon_keeps_the_socket_through_the_detach() {
    detached_daemon_answers("an_activated_builder_daemon_keeps_the_socket_through_the_detach", &[ACTIVATED]);
}

#[test]
fn an_activated_attribute_daemon_keeps_the_socket_through_the_detach() {
    detached_daemon_answers(
        "an_activated_attribute_daemon_keeps_the_socket_through_the_detach",
        &[ATTR_ACTIVATED],
    );
}

#[test]
fn an_activated_daemon_in_the_foreground_keeps_the_socket_and_its_pid() {
    let test = "an_activated_daemon_in_the_foreground_keeps_the_socket_and_its_pid";
    let Some(tool) = socket_activate(test) else { return };
    let harness = Harness::new(test);
    let (socket, pid_file, out) =
        (harness.path("web.sock"), harness.path("d.pid"), harness.path("probe.out"));
    let launcher = activate_test_daemon(&harness, &tool, &[ACTIVATED, "--foreground"]);
    let answer = ask(&socket);
    let daemon = wait_for_pid(&out);
    assert_eq!(daemon.0, launcher.id() as i32, "no fork in the foreground");
    assert_eq!(answer, expected(daemon));
    assert_socket_then_pid_file(daemon, &pid_file);
    nix::sys::signal::kill(daemon.pid(), Signal::SIGTERM).unwrap();
    let (success, _) = finish(launcher);
    assert!(!success, "died by SIGTERM");
    assert!(!pid_file.exists(), "pid file removed on SIGTERM");
}

#[test]
fn the_socket_activated_example_serves_under_systemd_socket_activate() {
    let test = "the_socket_activated_example_serves_under_systemd_socket_activate";
    let Some(tool) = socket_activate(test) else { return };
    let harness = Harness::new(test);
    let dir = harness.path("demo");
    let program = example("socket_activated");
    let port = free_port();
    let launcher = activate(&harness, &tool, &format!("127.0.0.1:{port}"), &[arg(&program), arg(&dir)], &[]);
    let answer = ask_tcp(port);
    let (success, stderr) = finish(launcher);
    assert!(success, "{stderr}");
    let daemon = wait_for_pid(&dir.join("socket_activated.pid"));
    assert_eq!(answer, format!("hello from pid {}, on the socket named web\n", daemon.0));
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)));
    assert!(!dir.join("socket_activated.pid").exists());
}

#[test]
fn the_socket_activated_example_binds_itself_when_started_by_hand() {
    let harness = Harness::new("example-socket-activated-by-hand");
    let dir = harness.path("demo");
    let output = harness.run(harness.command(example("socket_activated")).arg(&dir));
    assert!(output.status.success(), "{output:?}");
    // Ready once bound: the port is written before the launcher returns.
    let port: u16 = std::fs::read_to_string(dir.join("port")).unwrap().trim().parse().unwrap();
    let answer = read_all(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let daemon = wait_for_pid(&dir.join("socket_activated.pid"));
    assert_eq!(answer, format!("hello from pid {}, on 127.0.0.1:{port}\n", daemon.0));
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)));
}

#[test]
fn an_upgrade_of_a_daemon_started_by_systemd_socket_activate_keeps_serving_the_socket_it_was_given() {
    let test =
        "an_upgrade_of_a_daemon_started_by_systemd_socket_activate_keeps_serving_the_socket_it_was_given";
    let Some(tool) = socket_activate(test) else { return };
    let harness = Harness::new(test);
    let exe = harness.path("upgradable");
    common::install_executable(crate::upgrade::UPGRADABLE.as_ref(), &exe);
    let (pid_file, log, port_file) = (harness.path("up.pid"), harness.path("up.log"), harness.path("port"));
    let port = free_port();
    let program = [arg(&exe), arg(&pid_file), arg(&log), arg(&port_file)];
    let launcher = activate(&harness, &tool, &format!("127.0.0.1:{port}"), &program, &[]);
    // The first connection makes the tool execute the daemon's launcher.
    let mut first = None;
    eventually("the activated daemon answers", || {
        first = crate::upgrade::request(port).ok();
        first.is_some()
    });
    let (success, stderr) = finish(launcher);
    assert!(success, "{stderr}");
    let old = wait_for_pid(&pid_file);
    assert_eq!(first, Some(old.0 as u32));
    assert!(!port_file.exists(), "the daemon bound nothing itself");
    let given = old.fds()[&3].clone();
    assert!(given.to_string_lossy().starts_with("socket:"), "{given:?}");

    common::install_executable(crate::upgrade::UPGRADABLE.as_ref(), &harness.path("staged"));
    std::fs::rename(harness.path("staged"), &exe).unwrap();
    let daemon_run = env!("CARGO_BIN_EXE_daemon_run_stopped");
    let output = harness.run(harness.command(daemon_run).args(["--pid-file", arg(&pid_file), "--upgrade"]));
    assert!(output.status.success(), "{output:?}");
    let new = wait_for_pid(&pid_file);
    assert_ne!(new, old);
    // The old process accepts until it has dropped its listener: once it
    // has exited, every answer is the new process's.
    assert_eq!(old.reap(), Some(WaitStatus::Exited(old.pid(), 0)), "the old one drained and exited");
    assert_eq!(crate::upgrade::request(port).expect("request"), new.0 as u32, "the new process serves");
    assert_eq!(new.fds()[&3], given, "on the very socket systemd-socket-activate bound");
    let environ = new.read("environ");
    assert!(environ.contains(&format!("\0LISTEN_PID={}\0", new.0)), "addressed to itself: {environ:?}");
    assert_eq!(harness.processes(), [new]);
    assert!(new.terminate().is_some());
    assert!(!pid_file.exists());
}

/// Issue 26 O: a `LISTEN_FDS` addressed to the daemon (`LISTEN_PID` names
/// it) that announces descriptors which are not open. Before the fix, the
/// start went on: the pid file's lock took the first free number, inside
/// the announced range (the body would have taken it as a socket), and a
/// huge count made the launcher abort while listing the range. Now the
/// start fails as sd_listen_fds(3) does (its `EBADF`, `EINVAL`), before
/// anything is forked or created.
#[test]
fn a_listen_fds_announcing_descriptors_that_are_not_open_fails_the_start() {
    let harness = Harness::new("listen-fds-inconsistent");
    let pid_file = harness.path("d.pid");
    let out = harness.path("probe.out");
    let cases = [
        ("2", "LISTEN_FDS=2 announces descriptors 3 to 4, but 4 is not open"),
        ("2147483000", "LISTEN_FDS=2147483000 announces descriptors 3 to 2147483002, but 4 is not open"),
        ("2147483645", "LISTEN_FDS=\"2147483645\" is not a count of descriptors from 1 to 2147483644"),
        ("-1", "LISTEN_FDS=\"-1\" is not a count of descriptors from 1 to 2147483644"),
    ];
    for (count, message) in cases {
        // Descriptor 3 open (a socket would be), 4 not; LISTEN_PID is the
        // shell's pid, which `exec` gives the daemon's launcher.
        let output = harness.run(
            harness
                .command("sh")
                .args(["-c", r#"exec 3</dev/null; LISTEN_PID=$$ LISTEN_FDS=$1 exec "$0" --pid-file "$2""#])
                .args([common::PROBE, count, arg(&pid_file)])
                .env("PROBE_OUT", &out),
        );
        assert_eq!(
            (output.status.code(), text(&output.stderr)),
            (Some(78), format!("error: close fds: {message}\n")),
            "LISTEN_FDS={count}"
        );
        assert!(!pid_file.exists(), "LISTEN_FDS={count}: a pid file was left");
        assert_eq!(harness.processes(), [], "LISTEN_FDS={count}");
    }

    // Consistent (3 and 4 open): the lock goes after them.
    let output = harness.run(
        harness
            .command("sh")
            .args([
                "-c",
                r#"exec 3</dev/null 4</dev/null; LISTEN_PID=$$ LISTEN_FDS=2 exec "$0" --pid-file "$1""#,
            ])
            .args([common::PROBE, arg(&pid_file)])
            .env("PROBE_OUT", &out),
    );
    assert!(output.status.success(), "{output:?}");
    let daemon = wait_for_pid(&out);
    let lock = common::lock_file(&pid_file);
    assert_eq!(daemon.fds().get(&5).map(PathBuf::as_path), Some(lock.as_path()), "{:?}", daemon.fds());
    daemon.terminate();
}
