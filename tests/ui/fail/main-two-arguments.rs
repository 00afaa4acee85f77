// `init` produces one value: `main` takes one argument at most.
use daemon_runtime::daemon;

fn bind() -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind("127.0.0.1:80")
}

#[daemon(init = bind)]
fn main(listener: std::net::TcpListener, port: u16) {
    drop((listener, port));
}
