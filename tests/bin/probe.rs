//! A daemon for the integration tests, configured through the builder from
//! its arguments, so one binary covers every combination of options.
//!
//! After detaching it writes its pid to `$PROBE_OUT` (the test's proof that
//! the body runs), then waits for SIGTERM and returns from `main`, which
//! removes the pid file. Options starting `--body-` choose what the body
//! does before that.

use std::time::Duration;

use daemon_runtime::{Daemon, Ready};

/// What the body does first.
#[derive(Default)]
struct Body {
    spawn_child: bool,
    print: Option<String>,
    fail: Option<String>,
    panic: Option<String>,
    bind: bool,
    never_ready: bool,
    setsid: bool,
    setsid_child: bool,
    no_handler: bool,
    ignore_term: bool,
    log_lines: bool,
    sleep_ms: u64,
    open_tty: Option<String>,
    start_again: Option<String>,
}

fn main() -> Result<(), String> {
    if std::env::var_os("PROBE_STOP_FOR_TRACER").is_some() {
        // tests/faults.rs attaches strace now, so that its counters start
        // after the loader and std's start-up, then continues us.
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    }
    let mut daemon = Daemon::new();
    let mut body = Body::default();
    let mut keep = Vec::new();
    let mut owned = Vec::new();
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
            "--open-before" => {
                // A file this program owns from before the start (std opens
                // it close-on-exec): the start must leave it open.
                owned.push(std::fs::File::open(value()).expect("--open-before"));
                daemon
            }
            "--spawn-before" => {
                // A child of the program's own from before the start, its
                // pid written to the path given: a failed start must leave it.
                #[allow(clippy::zombie_processes)]
                let child = std::process::Command::new("sleep")
                    .arg("600")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("--spawn-before");
                std::fs::write(value(), child.id().to_string()).expect("--spawn-before");
                daemon
            }
            "--user" => daemon.user(value()),
            "--group" => daemon.group(value()),
            "--chroot" => daemon.chroot(value()),
            "--no-core-dumps" => daemon.core_dumps(false),
            "--stdout" => daemon.stdout(value()),
            "--stderr" => daemon.stderr(value()),
            "--ready-manual" => daemon.ready(Ready::Manual),
            "--ready-timeout-ms" => daemon.ready_timeout(Duration::from_millis(value().parse().expect("ms"))),
            "--foreground" => daemon.foreground(true),
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
                // SAFETY: argument parsing owns no descriptor above 2.
                unsafe { daemon_runtime::__private::close_listed_fds(&keep) }.expect("close_listed_fds");
                daemon.close_fds(false)
            }
            "--body-spawn-child" => {
                body.spawn_child = true;
                daemon
            }
            "--body-print" => {
                body.print = Some(value());
                daemon
            }
            "--body-fail" => {
                body.fail = Some(value());
                daemon
            }
            "--body-panic" => {
                body.panic = Some(value());
                daemon
            }
            "--body-bind" => {
                body.bind = true;
                daemon
            }
            "--body-sleep-ms" => {
                body.sleep_ms = value().parse().expect("ms");
                daemon
            }
            "--body-open-tty" => {
                body.open_tty = Some(value());
                daemon
            }
            "--body-no-handler" => {
                body.no_handler = true;
                daemon
            }
            "--body-ignore-term" => {
                body.ignore_term = true;
                daemon
            }
            "--body-log-lines" => {
                body.log_lines = true;
                daemon
            }
            "--body-setsid-child" => {
                body.setsid_child = true;
                daemon
            }
            "--body-setsid" => {
                body.setsid = true;
                daemon
            }
            "--body-start-again" => {
                body.start_again = Some(value());
                daemon
            }
            "--init-panic" => {
                // `init` panics: the launcher must say so, with the text.
                let message = value();
                let (_running, ()) = daemon
                    .start_with(|| -> Result<(), String> { panic!("{message}") })
                    .unwrap_or_else(|error| error.exit());
                unreachable!("init panicked");
            }
            "--body-never-ready" => {
                body.never_ready = true;
                daemon
            }
            other => panic!("unknown option {other}"),
        };
    }
    let running = daemon.start().unwrap_or_else(|error| error.exit());
    if let Some(path) = body.start_again {
        // A second start inside the daemon must be refused, not detach again.
        let outcome = match Daemon::new().start() {
            Ok(_) => "started again".to_string(),
            Err(error) => error.to_string(),
        };
        std::fs::write(path, outcome).expect("--body-start-again");
    }

    std::thread::sleep(Duration::from_millis(body.sleep_ms));
    // Without O_NOCTTY: a session leader would acquire it as controlling tty.
    let _tty = body
        .open_tty
        .map(|path| std::fs::OpenOptions::new().read(true).write(true).open(path).expect("open tty"));
    if let Some(text) = &body.print {
        println!("{text}");
        eprintln!("{text} (stderr)");
    }
    if body.setsid_child {
        // A descendant in a session of its own, out of every group the
        // launcher could kill: a failed start must kill it too (issue 26 L).
        use std::os::unix::process::CommandExt;
        let mut sleep = std::process::Command::new("sleep");
        sleep.arg("600").stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        // SAFETY: setsid is async-signal-safe and touches no memory.
        unsafe { sleep.pre_exec(|| nix::unistd::setsid().map(drop).map_err(std::io::Error::from)) };
        #[allow(clippy::zombie_processes)]
        sleep.spawn().expect("spawn sleep");
    }
    if let Some(message) = body.panic {
        panic!("{message}");
    }
    if let Some(error) = body.fail {
        return Err(error);
    }
    if body.setsid {
        // Leaves the process group the launcher could kill.
        nix::unistd::setsid().expect("setsid");
    }
    if body.never_ready {
        std::thread::sleep(Duration::from_secs(600));
    }
    // Bound before `ready`: once the launcher returns, connecting succeeds.
    let _listener = body.bind.then(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        std::fs::write(std::env::var_os("PROBE_PORT").expect("PROBE_PORT"), format!("{port}\n")).unwrap();
        listener
    });
    daemon_runtime::ready();
    if body.spawn_child {
        // Meant to outlive the daemon: a test checks it does not hold the
        // pid file's lock; the test kills it.
        #[allow(clippy::zombie_processes)]
        std::process::Command::new("sleep").arg("600").spawn().expect("spawn sleep");
    }
    if body.no_handler {
        // SIGTERM and SIGINT keep the runtime's handling: remove, then die.
        daemon_tests::write_pid();
        loop {
            std::thread::sleep(Duration::from_secs(600));
        }
    }
    if body.ignore_term {
        let ignored = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGTERM, ignored).expect("SIGTERM");
        daemon_tests::write_pid();
        loop {
            std::thread::sleep(Duration::from_secs(600));
        }
    }
    if body.log_lines {
        daemon_tests::log_lines_until_sigterm();
        drop(running);
        return Ok(());
    }
    daemon_tests::report_pid_and_wait();
    drop(running);
    Ok(())
}
