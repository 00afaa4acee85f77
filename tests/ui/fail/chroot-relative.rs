use daemon_runtime::daemon;

#[daemon(chroot = "srv/jail")]
fn main() {}
