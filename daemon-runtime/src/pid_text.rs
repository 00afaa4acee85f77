//! A pid as a pid file holds it: decimal digits and a newline, written and
//! read without allocating (between the forks, in a signal handler).

use std::os::fd::BorrowedFd;

/// `pid` in decimal and a newline, formatted into `buf` without allocating.
pub(crate) fn format_pid(mut pid: u32, buf: &mut [u8; 24]) -> &[u8] {
    let mut start = buf.len() - 1;
    buf[start] = b'\n';
    loop {
        start -= 1;
        buf[start] = b'0' + (pid % 10) as u8;
        pid /= 10;
        if pid == 0 {
            return &buf[start..];
        }
    }
}

/// The pid written in `file`, if it holds one and nothing else.
#[cfg_attr(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")), allow(dead_code))]
pub fn written_pid(file: BorrowedFd<'_>) -> Option<u32> {
    let mut buf = [0u8; 24];
    let n = nix::sys::uio::pread(file, &mut buf, 0).ok()?;
    parse_pid(&buf[..n])
}

/// A positive decimal pid followed by a newline, and nothing else.
fn parse_pid(text: &[u8]) -> Option<u32> {
    let digits = text.strip_suffix(b"\n")?;
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let pid = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    u32::try_from(pid).ok().filter(|&pid| pid > 0 && pid <= i32::MAX as u32)
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
    fn garbage_is_no_pid() {
        for text in ["", "\n", "abc\n", "-1\n", "0\n", "12", "99999999999\n", "2147483648\n", "1 2\n"] {
            assert_eq!(parse_pid(text.as_bytes()), None, "{text:?}");
        }
    }
}
