//! `daemon-run --upgrade` to a `--respawn --listen` supervisor (issue 23):
//! the supervisor, which holds the sockets and the pid file, starts the
//! PROGRAM now at the path on the same sockets, waits for its readiness,
//! and only then sends SIGTERM to the old one (`hello_activated`, which
//! drains); a new PROGRAM that fails leaves the old one serving, and the
//! caller gets its error and code. Seen from outside: a loopback client,
//! `/proc`, the pid files and exit codes.
//!
//! Before, the supervisor passed SIGUSR2 on to PROGRAM (which it killed)
//! and sent no reply: `--upgrade` ended with 70 after `--ready-timeout`.

use crate::common;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use common::{DaemonRunHarness, Harness, Load, Proc, eventually, hello_activated, text, wait_for_pid};

/// A supervisor with one `--listen` socket, serving `hello_activated`
/// copied into the test's directory (so that the file at the path can be
/// replaced).
struct Service {
    harness: Harness,
    port: u16,
    program: PathBuf,
    supervisor: Proc,
}

impl Service {
    /// Starts it with `--ready MODE` and `extra` flags; returns it and the
    /// first PROGRAM.
    fn start(test: &str, ready: &str, extra: &[&str]) -> (Service, Proc) {
        let harness = Harness::new(test);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let program = harness.path("hello");
        common::install_executable(&hello_activated(), &program);
        let output = harness
            .daemon_run(["--respawn", "--ready", ready, "--pid-file"])
            .arg(harness.path("supervisor.pid"))
            .arg("--child-pid-file")
            .arg(harness.path("program.pid"))
            .args(["--listen", &format!("web=tcp:127.0.0.1:{port}")])
            .args(extra)
            .arg("--")
            .arg(&program)
            .output()
            .expect("launch");
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let supervisor = wait_for_pid(&harness.path("supervisor.pid"));
        let first = wait_for_pid(&harness.path("program.pid"));
        (Service { harness, port, program, supervisor }, first)
    }

    /// `daemon-run --pid-file supervisor.pid --upgrade`, run to its end.
    fn upgrade(&self) -> Output {
        let mut command = self.harness.daemon_run(["--upgrade", "--ready-timeout", "30s", "--pid-file"]);
        command.arg(self.harness.path("supervisor.pid")).output().expect("--upgrade")
    }

    /// The PROGRAM `--child-pid-file` names.
    fn program(&self) -> Proc {
        let text = std::fs::read_to_string(self.harness.path("program.pid")).expect("program.pid");
        Proc(text.trim().parse().expect("a pid"))
    }

    /// Puts `body` (a shell script) at PROGRAM's path, by a rename: the
    /// running PROGRAM keeps its own file.
    fn replace_program(&self, body: &str) {
        let new = self.harness.path("hello.new");
        common::write_script(&new, body);
        std::fs::rename(&new, &self.program).unwrap();
    }

    /// Puts `hello_activated` back at PROGRAM's path.
    fn restore_program(&self) {
        let new = self.harness.path("hello.new");
        common::install_executable(&hello_activated(), &new);
        std::fs::rename(&new, &self.program).unwrap();
    }

    /// Puts `hello_activated` back and upgrades `old` to it: it serves,
    /// `old` drained and exited.
    fn upgrade_to_the_restored_program(&self, old: Proc) {
        self.restore_program();
        let output = self.upgrade();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let new = self.program();
        assert_ne!(new, old);
        eventually("the old PROGRAM drains and exits", || !old.alive());
        self.assert_serving(new);
    }

    /// Only the supervisor and `program` run, and `program` answers.
    fn assert_serving(&self, program: Proc) {
        let mut running: Vec<i32> = self.harness.processes().iter().map(|proc| proc.0).collect();
        running.sort_unstable();
        let mut expected = vec![self.supervisor.0, program.0];
        expected.sort_unstable();
        assert_eq!(running, expected, "the supervisor and PROGRAM {program:?} only");
        assert_eq!(self.program(), program, "--child-pid-file");
        assert_eq!(ask(self.port).expect("a request"), program.0 as u32);
    }

    fn stop(&self) {
        let output = self
            .harness
            .daemon_run(["--stop", "--pid-file"])
            .arg(self.harness.path("supervisor.pid"))
            .output();
        assert_eq!(output.unwrap().status.code(), Some(0));
        assert!(self.harness.processes().is_empty(), "{:?}", self.harness.processes());
    }
}

/// One request on a new connection: the pid of the PROGRAM that answered.
fn ask(port: u16) -> std::io::Result<u32> {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let answer = common::read_all(stream);
    let pid = answer.strip_prefix("hello from pid ").and_then(|rest| rest.split(':').next());
    pid.and_then(|pid| pid.parse().ok()).ok_or_else(|| std::io::Error::other(format!("answer {answer:?}")))
}

#[test]
fn under_load_every_request_is_answered_across_upgrades_of_a_respawned_program() {
    let (service, mut program) = Service::start("respawn_upgrade_load", "notify", &[]);
    let port = service.port;
    let load = Load::start(move || ask(port));
    let mut served = vec![program.0 as u32];
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(20));
        let output = service.upgrade();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let new = service.program();
        assert_ne!(new, program);
        assert_eq!(
            text(&output.stdout),
            format!("upgraded (program pid {}, supervisor pid {})\n", new.0, service.supervisor.0)
        );
        assert_eq!(new.ppid(), service.supervisor.0, "the supervisor's child");
        eventually("the old PROGRAM drains and exits", || !program.alive());
        program = new;
        served.push(program.0 as u32);
    }
    std::thread::sleep(Duration::from_millis(20));
    load.stop_expecting_every_answer_from(&served);
    assert_eq!(
        daemon_runtime::status(service.harness.path("supervisor.pid")).unwrap(),
        daemon_runtime::Status::Running { pid: service.supervisor.0 as u32 },
        "the supervisor holds the pid file throughout"
    );
    service.assert_serving(program);
    service.stop();
}

#[test]
fn a_new_program_that_exits_or_is_not_ready_in_time_leaves_the_old_one_serving() {
    let (service, program) = Service::start("respawn_upgrade_fails", "notify", &["--ready-timeout", "2s"]);
    service.replace_program("echo 'cannot start' >&2; exit 3");
    let output = service.upgrade();
    assert_eq!(output.status.code(), Some(70), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: report: the daemon (pid "), "{stderr}");
    assert!(stderr.ends_with(") exited with status 3 before it was ready\n"), "{stderr}");
    service.assert_serving(program);

    service.replace_program("exec sleep 600");
    let output = service.upgrade();
    assert_eq!(output.status.code(), Some(70), "{}", text(&output.stderr));
    assert_eq!(text(&output.stderr), "error: ready: not ready after 2s\n");
    service.assert_serving(program);

    service.upgrade_to_the_restored_program(program);
    service.stop();
}

#[test]
fn with_ready_exec_the_new_program_is_ready_once_executed_and_one_that_cannot_be_is_refused() {
    let (service, program) = Service::start("respawn_upgrade_exec", "exec", &[]);
    std::fs::remove_file(&service.program).unwrap();
    let output = service.upgrade();
    assert_eq!(output.status.code(), Some(127), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let expected =
        format!("error: exec: {}: {}\n", service.program.display(), common::os_error(libc::ENOENT));
    assert_eq!(stderr, expected);
    service.assert_serving(program);

    service.upgrade_to_the_restored_program(program);
    service.stop();
}
