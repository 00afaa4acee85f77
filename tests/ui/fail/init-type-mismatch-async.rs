// Above `#[tokio::main]`, `init`'s value is passed to the async function:
// a mismatch is reported on `init` and on the argument.
use daemon_runtime::daemon;

fn port() -> Result<u16, String> {
    Ok(80)
}

#[daemon(init = port)]
#[tokio::main]
async fn main(listener: std::net::TcpListener) {
    drop(listener);
}
