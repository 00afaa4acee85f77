//! `fork` 0.11 `checked_daemon`: double fork with a readiness handshake; the
//! daemon sets the umask (the crate has no option for it), writes its pid
//! file, then reports ready.

use fork::{CheckedDaemon, DaemonOptions, checked_daemon};
use std::time::Duration;

fn main() {
    let pid_file = std::env::var_os("BENCH_PID_FILE").expect("BENCH_PID_FILE is set");
    let chdir = std::env::var_os("BENCH_CHDIR").unwrap_or_else(|| "/".into());
    let mut options = DaemonOptions::new();
    options
        .current_directory(&chdir)
        .expect("no NUL in the directory")
        .redirect_standard_io_to_null()
        .expect("/dev/null opens");
    match checked_daemon(options, Duration::from_secs(10)) {
        Ok(CheckedDaemon::Parent(_)) => std::process::exit(0),
        Ok(CheckedDaemon::Daemon(notifier)) => {
            // SAFETY: umask cannot fail.
            unsafe { libc::umask(0o027) };
            if let Err(error) = std::fs::write(&pid_file, format!("{}\n", std::process::id())) {
                notifier.fail_and_exit(&error);
            }
            let _ = notifier.notify_ready();
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
