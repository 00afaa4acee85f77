// `init` produces a listener that `main` does not take: it would be dropped,
// and the socket closed, before the body runs.
use daemon_runtime::daemon;

fn bind() -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind("127.0.0.1:80")
}

#[daemon(init = bind)]
fn main() {}
