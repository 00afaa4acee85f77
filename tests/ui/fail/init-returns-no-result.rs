// `init` must return a `Result`: its error is what fails the start.
use daemon_runtime::daemon;

fn port() -> u16 {
    80
}

#[daemon(init = port)]
fn main(port: u16) {
    let _ = port;
}
