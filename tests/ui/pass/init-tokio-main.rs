// Above `#[tokio::main]`, `init`'s value is passed to the async function,
// whose argument stays as written. Not run: see no-arguments.rs.
mod service {
    use daemon_runtime::daemon;

    fn bind() -> std::io::Result<std::net::TcpListener> {
        let listener = std::net::TcpListener::bind("127.0.0.1:80")?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }

    #[daemon(init = bind, user = "nobody")]
    #[tokio::main]
    pub async fn main(listener: std::net::TcpListener) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (stream, _) = listener.accept().await?;
        drop(stream);
        Ok(())
    }
}

fn main() {
    let _: fn() -> std::io::Result<()> = service::main;
}
