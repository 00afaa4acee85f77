// `#[tokio::main]` written above `#[daemon]` expands first: tokio refuses the
// argument, and `#[daemon]` says which order is meant.
use daemon_runtime::daemon;

fn bind() -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind("127.0.0.1:8080")
}

#[tokio::main]
#[daemon(init = bind)]
async fn main(listener: std::net::TcpListener) {
    drop(listener);
}
