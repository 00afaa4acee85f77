//! A daemon for the integration tests, configured through the builder from
//! its arguments, so one binary covers every combination of options.
//!
//! After detaching it writes its pid to `$PROBE_OUT` (the test's proof that
//! the body runs), then waits for SIGTERM and returns from `main`, which
//! removes the pid file.

use std::time::Duration;

use daemon_runtime::Daemon;

fn main() {
    let mut daemon = Daemon::new();
    let mut spawn_child = false;
    let mut keep = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("option needs a value");
        daemon = match arg.as_str() {
            "--umask" => daemon.umask(u32::from_str_radix(&value(), 8).expect("octal umask")),
            "--chdir" => daemon.chdir(value()),
            "--single-fork" => daemon.double_fork(false),
            "--pid-file" => daemon.pid_file(value()),
            "--keep-fd" => {
                let fd = value().parse().expect("fd");
                keep.push(fd);
                daemon.keep_fds([fd])
            }
            "--no-close-fds" => daemon.close_fds(false),
            "--print-before" => {
                print!("{}", value());
                daemon
            }
            "--thread" => {
                std::thread::spawn(|| std::thread::sleep(Duration::from_secs(600)));
                daemon
            }
            "--expect-tty" => {
                // Proves a test's pseudo-terminal really is our controlling tty.
                std::fs::File::open("/dev/tty").expect("no controlling terminal");
                daemon
            }
            "--close-by-listing" => {
                daemon_runtime::close_listed_fds(&keep).expect("close_listed_fds");
                daemon.close_fds(false)
            }
            "--spawn-child" => {
                spawn_child = true;
                daemon
            }
            other => panic!("unknown option {other}"),
        };
    }
    let running = daemon.start().unwrap_or_else(|error| error.exit());

    if spawn_child {
        // Meant to outlive the daemon: a test checks it does not hold the
        // pid file's lock; the test kills it.
        #[allow(clippy::zombie_processes)]
        std::process::Command::new("sleep").arg("600").spawn().expect("spawn sleep");
    }
    daemon_tests::report_pid_and_wait();
    drop(running);
}
