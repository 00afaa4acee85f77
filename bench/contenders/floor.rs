//! The floor: the raw system calls and nothing else (no error reporting to
//! the launcher, no pid file lock, no signal reset). The launcher leaves right
//! after the first fork. `BENCH_PID_FILE` names the pid file, `BENCH_CHDIR`
//! the working directory (default `/`).

use std::ffi::CString;
use std::os::unix::ffi::OsStringExt;

fn env_cstring(name: &str, default: &str) -> CString {
    let value = std::env::var_os(name).map_or_else(|| default.as_bytes().to_vec(), OsStringExt::into_vec);
    CString::new(value).expect("no NUL in environment values")
}

fn main() {
    let pid_file = env_cstring("BENCH_PID_FILE", "");
    let chdir = env_cstring("BENCH_CHDIR", "/");
    // SAFETY: single-threaded; between the forks only async-signal-safe calls,
    // and the processes that leave do so with `_exit`.
    unsafe {
        match libc::fork() {
            -1 => libc::_exit(71),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        match libc::fork() {
            -1 => libc::_exit(71),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        if null > 2 {
            libc::close(null);
        }
        libc::umask(0o027);
        if libc::chdir(chdir.as_ptr()) != 0 {
            libc::_exit(78);
        }
        let fd = libc::open(
            pid_file.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            0o644,
        );
        if fd < 0 {
            libc::_exit(73);
        }
        let text = format!("{}\n", libc::getpid());
        libc::write(fd, text.as_ptr().cast(), text.len());
        libc::close(fd);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
