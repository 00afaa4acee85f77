//! A pid as a pid file holds it: decimal digits and a newline, written and
//! read without allocating (between the forks, in a signal handler); and
//! the crate's one decimal formatter and parser, which the pid file, the
//! sd_notify messages and the `/proc` paths ([`PathBuf64`]) all use. A
//! leaf: it imports nothing of the crate, so `sys/` may use it.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// `value` in decimal, formatted at the end of `buf` without allocating;
/// the digits are returned. Async-signal-safe.
pub(crate) fn decimal(mut value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buf[start..];
        }
    }
}

/// The value of `text` if it is 1 to 19 decimal digits and nothing else
/// (19 digits always fit a `u64`).
pub(crate) fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

/// `pid` in decimal and a newline, formatted into `buf` without allocating.
pub(crate) fn format_pid(pid: u32, buf: &mut [u8; 24]) -> &[u8] {
    let mut digits = [0u8; 20];
    let digits = decimal(u64::from(pid), &mut digits);
    let end = buf.len() - 1;
    let start = end - digits.len();
    buf[start..end].copy_from_slice(digits);
    buf[end] = b'\n';
    &buf[start..]
}

/// The pid written in `file`, if it holds one and nothing else.
pub fn written_pid(file: BorrowedFd<'_>) -> Option<u32> {
    let mut buf = [0u8; 24];
    let n = nix::sys::uio::pread(file, &mut buf, 0).ok()?;
    parse_pid(&buf[..n])
}

/// A positive decimal pid followed by a newline. What follows that first
/// line is ignored: a pid is written over the previous one in place, then
/// the file is cut to its length (see `steps/pidfile.rs`), so that a
/// reader never finds it empty; in between, a shorter pid is followed by
/// the end of the longer one.
fn parse_pid(text: &[u8]) -> Option<u32> {
    let line = text.split_inclusive(|&byte| byte == b'\n').next()?;
    let pid = parse_decimal(line.strip_suffix(b"\n")?)?;
    u32::try_from(pid).ok().filter(|&pid| pid > 0 && pid <= i32::MAX as u32)
}

/// A short relative path under `/proc`, built on the stack.
pub(crate) struct PathBuf64 {
    bytes: [u8; 64],
    len: usize,
}

impl PathBuf64 {
    pub(crate) fn new() -> PathBuf64 {
        PathBuf64 { bytes: [0; 64], len: 0 }
    }

    pub(crate) fn push(&mut self, text: &[u8]) {
        let room = self.bytes.len() - 1 - self.len;
        let text = &text[..text.len().min(room)];
        self.bytes[self.len..self.len + text.len()].copy_from_slice(text);
        self.len += text.len();
    }

    pub(crate) fn push_decimal(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.push(decimal(n, &mut digits));
    }

    /// The path as a C string (the byte after it is always 0).
    pub(crate) fn as_c_str(&self) -> Option<&CStr> {
        CStr::from_bytes_with_nul(&self.bytes[..=self.len]).ok()
    }
}

/// Writes `pid` in decimal and a newline at the start of `fd`, without
/// allocating (it runs between the forks), and returns its length: the
/// caller cuts the file there (written over the previous pid, then cut, a
/// reader never finds the file empty).
///
/// # Errors
///
/// The failed `pwrite`.
pub fn write_pid(fd: impl AsFd, pid: Pid) -> nix::Result<usize> {
    let mut buf = [0u8; 24];
    let text = format_pid(pid.as_raw().unsigned_abs(), &mut buf);
    let mut written = 0;
    while written < text.len() {
        match nix::sys::uio::pwrite(fd.as_fd(), &text[written..], written as i64) {
            Ok(n) => written += n,
            Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_format_and_parse_back() {
        for pid in [1, 9, 10, 4242, 4_194_304, i32::MAX as u32] {
            let mut buf = [0u8; 24];
            let text = format_pid(pid, &mut buf);
            assert_eq!(text, format!("{pid}\n").as_bytes());
            assert_eq!(parse_pid(text), Some(pid));
        }
    }

    #[test]
    fn decimals_format_and_parse_back() {
        for value in [0, 7, 10, 4_194_304, u64::from(u32::MAX), 9_999_999_999_999_999_999, u64::MAX] {
            let mut buf = [0u8; 20];
            let text = decimal(value, &mut buf);
            assert_eq!(text, value.to_string().as_bytes());
            let parsed = parse_decimal(text);
            assert_eq!(parsed, (text.len() <= 19).then_some(value), "{value}");
        }
        for text in ["", "1a", " 1", "-1", "+1"] {
            assert_eq!(parse_decimal(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn garbage_is_no_pid() {
        for text in ["", "\n", "abc\n", "-1\n", "0\n", "12", "99999999999\n", "2147483648\n", "1 2\n"] {
            assert_eq!(parse_pid(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn a_pid_written_over_a_longer_one_reads_before_the_cut() {
        assert_eq!(parse_pid(b"4242\n5\n"), Some(4242));
        assert_eq!(parse_pid(b"4242\n"), Some(4242));
    }
}
