//! The smallest daemon: `#[daemon]` alone.
//!
//! The launching command returns at once; the daemon runs on, detached from
//! the terminal (umask 0, working directory `/`, stdio on `/dev/null`), until
//! it is killed:
//!
//! ```text
//! cargo run --example minimal && ps -C minimal -o pid,ppid,sid,tty,args
//! pkill -x minimal
//! ```

use std::time::Duration;

use daemon_runtime::daemon;

#[daemon]
fn main() {
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}
