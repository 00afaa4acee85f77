// `#[daemon]` above `#[tokio::main]`: the process detaches first, and the
// multi-thread runtime is built afterwards, in the daemon. `main` is
// synchronous again. Not run: see no-arguments.rs.
mod service {
    use daemon_runtime::daemon;

    #[daemon(ready = "manual", ready_timeout = "30s")]
    #[tokio::main]
    pub async fn main() -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        daemon_runtime::ready();
        drop(listener);
        Ok(())
    }
}

fn main() {
    let _: fn() -> std::io::Result<()> = service::main;
}
