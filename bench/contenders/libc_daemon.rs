//! glibc `daemon(3)`: one fork, `setsid`, stdio on `/dev/null`; no descriptor
//! closing, no signal reset, and the launcher exits 0 before the daemon has
//! done anything. The working directory is entered first, in the launcher (so
//! a missing one is reported), then the daemon writes its own pid file.

fn main() {
    let pid_file = std::env::var_os("BENCH_PID_FILE").expect("BENCH_PID_FILE is set");
    let chdir = std::env::var_os("BENCH_CHDIR").unwrap_or_else(|| "/".into());
    if let Err(error) = std::env::set_current_dir(&chdir) {
        eprintln!("error: chdir: {error}");
        std::process::exit(78);
    }
    // SAFETY: single-threaded; umask cannot fail.
    unsafe { libc::umask(0o027) };
    // SAFETY: single-threaded, so forking is sound.
    if unsafe { libc::daemon(1, 0) } != 0 {
        eprintln!("error: daemon: {}", std::io::Error::last_os_error());
        std::process::exit(71);
    }
    if std::fs::write(&pid_file, format!("{}\n", std::process::id())).is_err() {
        std::process::exit(73);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
