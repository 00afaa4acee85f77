//! `#[daemon]` whose `init` fails: the launcher must print the error's
//! `Display` and exit 69, leaving nothing running and no pid file
//! (`$PROBE_PID_FILE`). The body never runs.

use daemon_runtime::daemon;

fn open_key() -> Result<std::fs::File, String> {
    Err(format!("cannot open {}", "/etc/myd.key"))
}

#[daemon(init = open_key, pid_file = std::env::var_os("PROBE_PID_FILE").expect("PROBE_PID_FILE"))]
fn main(key: std::fs::File) {
    drop(key);
    unreachable!("the start must fail");
}
