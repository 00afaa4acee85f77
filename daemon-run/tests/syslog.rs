//! Syslog output: a relay without `--respawn` (issue 25 item 6), records
//! sent without blocking with a count of what was dropped (issue 26 G), and
//! control bytes escaped (issue 26 N).

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use crate::common;
use common::{DaemonRunHarness, Harness, Proc, eventually, text, wait_for_pid};

/// A log socket the test reads (or does not).
fn log_socket(harness: &Harness) -> (UnixDatagram, String) {
    let path = harness.path("log.socket");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(common::PATIENCE)).unwrap();
    (socket, path.to_str().unwrap().to_string())
}

/// `daemon-run -p PID_FILE EXTRA PROGRAM`, which must exit 0.
fn start(harness: &Harness, extra: &[&str], program: &[&str]) {
    let output = harness
        .daemon_run(["--pid-file"])
        .arg(harness.path("d.pid"))
        .args(extra)
        .args(program)
        .output()
        .expect("launch");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

fn receive(socket: &UnixDatagram) -> String {
    let mut buffer = [0u8; 2048];
    let n = socket.recv(&mut buffer).expect("a syslog record in time");
    text(&buffer[..n])
}

/// The pid in a record `<PRI>TAG[PID]: …`.
fn pid_of(record: &str) -> Proc {
    let start = record.find('[').unwrap() + 1;
    let end = record.find("]:").unwrap();
    Proc(record[start..end].parse().unwrap())
}

#[test]
fn syslog_output_without_respawn_is_relayed_and_never_restarted() {
    let harness = Harness::new("syslog_relay");
    let (socket, path) = log_socket(&harness);
    let relay =
        ["--stdout", "syslog:daemon.info", "--stderr", "syslog:daemon.err", "--tag", "t", "--syslog-socket"];
    let extra = [&relay[..], &[path.as_str()]].concat();
    let go = harness.path("go");
    let script =
        format!("echo hello; while [ ! -e {} ]; do sleep 0.05; done; echo bye; exit 3", go.display());
    start(&harness, &extra, &["sh", "-c", &script]);
    // The pid file names the relay, which runs PROGRAM as its child.
    let relay = wait_for_pid(&harness.path("d.pid"));
    assert_eq!(relay.comm(), "daemon-run");
    let hello = receive(&socket);
    let program = pid_of(&hello);
    assert_eq!(hello, format!("<30>t[{}]: hello", program.0));
    assert_eq!(program.ppid(), relay.0, "PROGRAM is the relay's child");
    // PROGRAM's end is the relay's: it says so, exits with PROGRAM's
    // status, removes the pid file, and nothing is restarted.
    std::fs::write(&go, "").unwrap();
    assert_eq!(receive(&socket), format!("<30>t[{}]: bye", program.0));
    let ended = receive(&socket);
    assert!(ended.starts_with(&format!("<27>t[{}]: daemon-run: ", relay.0)), "{ended}");
    assert!(ended.ends_with(&format!("sh (pid {}) exited with status 3", program.0)), "{ended}");
    assert_eq!(relay.reap(), Some(nix::sys::wait::WaitStatus::Exited(relay.pid(), 3)));
    assert!(!harness.path("d.pid").exists());
    socket.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    assert!(socket.recv(&mut [0u8; 64]).is_err(), "nothing restarted");
    assert_eq!(harness.processes(), []);
}

#[test]
fn stop_stops_the_relay_and_its_program() {
    let harness = Harness::new("syslog_relay_stop");
    let (socket, path) = log_socket(&harness);
    start(
        &harness,
        &["--stdout", "syslog:daemon.info", "--syslog-socket", &path],
        &["sh", "-c", "echo up; exec sleep 60"],
    );
    let relay = wait_for_pid(&harness.path("d.pid"));
    let program = pid_of(&receive(&socket));
    let output = harness.daemon_run(["--stop", "--pid-file"]).arg(harness.path("d.pid")).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(!program.alive(), "--stop's TERM is forwarded to PROGRAM");
    let _ = relay.reap();
    assert!(!harness.path("d.pid").exists());
    assert_eq!(harness.processes(), []);
}

#[test]
fn control_bytes_reach_the_log_escaped() {
    let harness = Harness::new("syslog_escape");
    let (socket, path) = log_socket(&harness);
    let script = r"printf 'a\000b\rc\033[31md\tz\n'; exec sleep 60";
    start(&harness, &["--stdout", "syslog:daemon.info", "--syslog-socket", &path], &["sh", "-c", script]);
    let record = receive(&socket);
    let program = pid_of(&record);
    assert_eq!(record, format!("<30>sh[{}]: a#000b#015c#033[31md#011z", program.0));
    wait_for_pid(&harness.path("d.pid")).kill();
    assert_eq!(harness.processes(), []);
}

#[test]
fn a_full_log_socket_drops_records_without_stopping_the_program_and_says_how_many() {
    let harness = Harness::new("syslog_full");
    let (socket, path) = log_socket(&harness);
    let (marker, go) = (harness.path("flooded"), harness.path("go"));
    // Far more than the socket's queue and the pipe hold; then a mark,
    // then one more line once the test has emptied the socket.
    let script = format!(
        "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; : > {m}; \
         while [ ! -e {g} ]; do sleep 0.05; done; echo after; exec sleep 60",
        m = marker.display(),
        g = go.display()
    );
    start(
        &harness,
        &["--respawn", "--stdout", "syslog:daemon.info", "--syslog-socket", &path],
        &["sh", "-c", &script],
    );
    // Nobody reads the socket: PROGRAM must still get to its end.
    eventually("PROGRAM wrote all its lines past a full log", || marker.exists());
    // Read until the relay has sent what the pipe still held, then once more
    // after the last line.
    socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut records = Vec::new();
    let mut buffer = [0u8; 2048];
    while let Ok(n) = socket.recv(&mut buffer) {
        records.push(text(&buffer[..n]));
    }
    socket.set_read_timeout(Some(common::PATIENCE)).unwrap();
    std::fs::write(&go, "").unwrap();
    while !records.last().is_some_and(|record: &String| record.ends_with(": after")) {
        records.push(receive(&socket));
    }
    let notices: Vec<&String> = records.iter().filter(|record| record.contains("messages dropped")).collect();
    let count = |notice: &&String| -> u64 {
        notice.split("daemon-run: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap()
    };
    let dropped: u64 = notices.iter().map(count).sum();
    let lines = records.iter().filter(|record| record.contains(": line ")).count() as u64;
    assert_eq!(dropped + lines, 20000, "every line is sent or counted: {notices:?}");
    assert!(dropped > 1000 && notices.iter().all(|notice| notice.starts_with("<28>")), "{notices:?}");
    wait_for_pid(&harness.path("d.pid")).kill();
    assert!(Path::new(&path).exists());
}
