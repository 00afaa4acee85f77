// On an attribute error the body is still compiled (so an IDE still
// completes in it): a second mistake, in the body, is reported too, and
// the argument keeps its type there.
use daemon_runtime::daemon;

fn bind() -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind("127.0.0.1:8080")
}

#[daemon(umsk = 0o022, init = bind)]
fn main(listener: std::net::TcpListener) {
    let port: u16 = listener;
}
