//! Issue 26 C: the private `NOTIFY_SOCKET` of `--ready notify` (the
//! runtime's `exec_notify`) cannot be taken over once the launcher is gone.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common;
use common::{DaemonRunHarness, Harness, as_nobody, eventually, root_or_skip, text, wait_for_pid};

/// PROGRAM: sends `READY=1`, waits for the file `go`, then sends a status
/// with a descriptor of the root-only file `secret` (`SCM_RIGHTS`), and
/// writes what became of that send to `result`.
const PROGRAM: &str = r#"
import array, os, socket, sys, time
go, secret, result = sys.argv[1:4]
address = os.environ["NOTIFY_SOCKET"]
if address.startswith("@"):
    address = "\0" + address[1:]
def send(message, fds=()):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    s.sendmsg([message], rights, 0, address)
send(b"READY=1")
while not os.path.exists(go):
    time.sleep(0.02)
try:
    send(b"STATUS=here is a secret", [os.open(secret, os.O_RDONLY)])
    outcome = "sent"
except OSError as error:
    outcome = "failed: " + error.strerror
with open(result, "w") as f:
    f.write(outcome)
time.sleep(600)
"#;

/// The attacker: binds the address given, says so on a line, then prints
/// what arrives within two seconds.
const SQUATTER: &str = r#"
import socket, sys
address = sys.argv[1]
if address.startswith("@"):
    address = "\0" + address[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.bind(address)
except OSError as error:
    print("bind failed:", error.strerror, flush=True)
    sys.exit(0)
print("bound", flush=True)
s.settimeout(2)
try:
    message, ancillary, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(64))
    print("received", message, "with", len(ancillary), "control messages", flush=True)
except socket.timeout:
    print("nothing", flush=True)
"#;

#[test]
fn no_other_user_receives_what_the_program_sends_after_ready() {
    let test = "no_other_user_receives_what_the_program_sends_after_ready";
    if !root_or_skip(test, "a squatter of another uid and a root-only file") || !common::python3_or_skip(test)
    {
        return;
    }
    let harness = Harness::new("notify-squat");
    let (pid_file, go, secret, result) =
        (harness.path("n.pid"), harness.path("go"), harness.path("secret"), harness.path("result"));
    std::fs::write(&secret, "root only\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let output = harness.run(
        harness
            .daemon_run(["--ready", "notify", "--ready-timeout", "10s", "--pid-file"])
            .arg(&pid_file)
            .args(["--", "python3", "-c", PROGRAM])
            .args([&go, &secret, &result]),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let program = wait_for_pid(&pid_file);
    let environ = text(&std::fs::read(format!("/proc/{}/environ", program.0)).unwrap());
    let address = environ
        .split('\0')
        .find_map(|entry| entry.strip_prefix("NOTIFY_SOCKET="))
        .expect("NOTIFY_SOCKET")
        .to_string();

    // The launcher is gone: nobody tries to take the address over.
    let mut squatter = as_nobody(std::process::Command::new("python3").args(["-c", SQUATTER, &address]))
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut lines = BufReader::new(squatter.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line").unwrap();
    std::fs::write(&go, "").unwrap();
    // The file exists, empty, for a moment before the outcome is written.
    eventually("the program's second send", || {
        std::fs::read_to_string(&result).is_ok_and(|text| !text.is_empty())
    });
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let _ = squatter.wait();
    program.kill();
    let outcome = std::fs::read_to_string(&result).unwrap();
    assert!(
        first.starts_with("bind failed") && rest.is_empty(),
        "nobody took the notify socket {address}: {first}; {rest:?}"
    );
    assert!(outcome.starts_with("failed: "), "the program's later message went somewhere: {outcome}");
    assert!(!std::path::Path::new(&address).exists(), "the socket file is removed at ready");
}
