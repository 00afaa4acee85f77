//! `blivet`: locked pid file, working directory and umask from its config;
//! the daemon notifies the waiting launcher once it is set up.

fn main() {
    let pid_file = std::env::var_os("BENCH_PID_FILE").expect("BENCH_PID_FILE is set");
    let chdir = std::env::var_os("BENCH_CHDIR").unwrap_or_else(|| "/".into());
    let mut config = blivet::DaemonConfig::new();
    config.pidfile(pid_file).chdir(chdir).umask(0o027);
    let mut context = match blivet::daemonize(&config) {
        Ok(context) => context,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    };
    context.notify_parent_or_report();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
