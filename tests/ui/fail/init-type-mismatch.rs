// `init` produces a `u16`; `main` asks for a listener.
use daemon_runtime::daemon;

fn port() -> Result<u16, String> {
    Ok(80)
}

#[daemon(init = port)]
fn main(listener: std::net::TcpListener) {
    drop(listener);
}
