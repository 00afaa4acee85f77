// A bad key above `#[tokio::main]` is the one error: the body, still
// compiled, keeps its runtime attribute, and tokio adds nothing.
use daemon_runtime::daemon;

fn bind() -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind("127.0.0.1:8080")
}

#[daemon(init = bind, umask = 0o1000)]
#[tokio::main]
async fn main(listener: std::net::TcpListener) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    drop(listener.accept().await);
}
