// `init`'s value is `main`'s argument, with the pattern and type written
// there; the expanded `main` takes nothing. Not run: see no-arguments.rs.
mod service {
    use std::io::Write;
    use std::net::TcpListener;

    use daemon_runtime::daemon;

    fn bind() -> std::io::Result<TcpListener> {
        TcpListener::bind("127.0.0.1:80")
    }

    #[daemon(init = bind, user = "nobody")]
    pub fn main(#[allow(unused_mut)] mut listener: TcpListener) -> std::io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        stream.write_all(b"hello\n")
    }
}

fn main() {
    let _: fn() -> std::io::Result<()> = service::main;
}
