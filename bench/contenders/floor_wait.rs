//! The waiting floor: the floor's system calls, plus what any launcher that
//! returns only once its daemon is ready must pay at least: a close-on-exec
//! pipe made before the first fork, one byte written by the daemon once its
//! pid file is written, and the launcher blocked in `read` until it comes
//! (or EOF: the daemon died). The reference for launcher latency: the time
//! to ready plus one pipe wake-up. `BENCH_PID_FILE`, `BENCH_CHDIR` as for
//! the floor.

use std::ffi::CString;
use std::os::unix::ffi::OsStringExt;

fn env_cstring(name: &str, default: &str) -> CString {
    let value = std::env::var_os(name).map_or_else(|| default.as_bytes().to_vec(), OsStringExt::into_vec);
    CString::new(value).expect("no NUL in environment values")
}

fn main() {
    let pid_file = env_cstring("BENCH_PID_FILE", "");
    let chdir = env_cstring("BENCH_CHDIR", "/");
    let mut report = [0; 2];
    // SAFETY: single-threaded; between the forks only async-signal-safe calls,
    // and the processes that leave do so with `_exit`; `report` outlives
    // every use of its two descriptors.
    unsafe {
        if libc::pipe2(report.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            libc::_exit(71);
        }
        let [read_end, write_end] = report;
        match libc::fork() {
            -1 => libc::_exit(71),
            0 => {}
            _ => {
                libc::close(write_end);
                let mut byte = 0u8;
                let n = loop {
                    let n = libc::read(read_end, (&raw mut byte).cast(), 1);
                    if n >= 0 || *libc::__errno_location() != libc::EINTR {
                        break n;
                    }
                };
                libc::_exit(if n == 1 && byte == 0 { 0 } else { i32::from(byte).max(70) });
            }
        }
        libc::close(read_end);
        libc::setsid();
        match libc::fork() {
            -1 => libc::_exit(71),
            0 => {}
            _ => libc::_exit(0),
        }
        // The report pipe's write end stays open above the others.
        let keep = write_end as u32;
        if keep > 3 {
            libc::syscall(libc::SYS_close_range, 3u32, keep - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, keep + 1, u32::MAX, 0u32);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        if null > 2 {
            libc::close(null);
        }
        libc::umask(0o027);
        if libc::chdir(chdir.as_ptr()) != 0 {
            libc::write(write_end, [78u8].as_ptr().cast(), 1);
            libc::_exit(78);
        }
        let fd = libc::open(
            pid_file.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            0o644,
        );
        if fd < 0 {
            libc::write(write_end, [73u8].as_ptr().cast(), 1);
            libc::_exit(73);
        }
        let text = format!("{}\n", libc::getpid());
        libc::write(fd, text.as_ptr().cast(), text.len());
        libc::close(fd);
        libc::write(write_end, [0u8].as_ptr().cast(), 1);
        libc::close(write_end);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
