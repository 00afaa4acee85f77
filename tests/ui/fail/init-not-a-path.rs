// `init` names a function; it is not called in the attribute. The argument
// of `main` gets no second error about `init` missing.
use daemon_runtime::daemon;

fn bind() -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind("127.0.0.1:80")
}

#[daemon(init = bind())]
fn main(listener: std::net::TcpListener) {
    drop(listener);
}
