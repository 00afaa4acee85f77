use daemon_runtime::daemon;

#[daemon(user = "www-data:www-data")]
fn main() {}
