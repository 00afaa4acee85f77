//! This crate through the builder: `Daemon::new()…start()`.

fn main() {
    let pid_file = std::env::var_os("BENCH_PID_FILE").expect("BENCH_PID_FILE is set");
    let chdir = std::env::var_os("BENCH_CHDIR").unwrap_or_else(|| "/".into());
    let _running = daemon_runtime::Daemon::new()
        .umask(0o027)
        .chdir(chdir)
        .pid_file(pid_file)
        .start()
        .unwrap_or_else(|error| error.exit());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
