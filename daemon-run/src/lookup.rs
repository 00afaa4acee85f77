//! Finding PROGRAM as `execvp` would, but never through a relative `PATH`
//! entry: `daemon-run` runs as root, and the working directory (or a
//! directory named relatively) may belong to anyone.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use daemon_runtime::{Error, Step};
use nix::errno::Errno;

/// The search path used when `PATH` is unset (glibc's `_CS_PATH`, what
/// `execvp` uses).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// Finds `program` as `execvp` would, before anything changes the working
/// directory or the root: a name without `/` is looked up in the absolute
/// entries of `path` (the first executable regular file; else the first file
/// found, which `exec` then refuses; empty, `.` and other relative entries
/// are skipped); a path with `/` is taken against the current directory.
/// With `root` (`--chroot`), both are taken inside it. Returns the absolute
/// path to execute (as seen from inside `root`).
///
/// # Errors
///
/// `exec: <program>: No such file or directory` (exit 127) when nothing is
/// found; `Permission denied` (exit 126) when what was found cannot be
/// executed: nothing has been started then.
///
/// ```
/// let sh = daemon_run::find_program("sh".as_ref(), Some("/nonexistent:/bin".as_ref()), None).unwrap();
/// assert_eq!(sh, std::path::Path::new("/bin/sh"));
/// // `.` and the empty entry are never searched.
/// assert!(daemon_run::find_program("sh".as_ref(), Some(".::bin".as_ref()), None).is_err());
/// ```
pub fn find_program(program: &OsStr, path: Option<&OsStr>, root: Option<&Path>) -> Result<PathBuf, Error> {
    let outside = |inside: &Path| match root {
        Some(root) => root.join(inside.strip_prefix("/").unwrap_or(inside)),
        None => inside.to_path_buf(),
    };
    let error = |path: &Path, errno: i32| Error::Path {
        step: Step::Exec,
        path: path.to_path_buf(),
        errno: daemon_runtime::Errno::from_raw(errno),
    };
    if program.is_empty() {
        return Err(error(Path::new(program), ENOENT));
    }
    if program.as_bytes().contains(&b'/') {
        let program = Path::new(program);
        let absolute = match root {
            Some(_) => Path::new("/").join(program),
            None => std::path::absolute(program)
                .map_err(|e| error(program, e.raw_os_error().unwrap_or(ENOENT)))?,
        };
        return match check(&outside(&absolute)) {
            Ok(()) => Ok(absolute),
            Err(errno) => Err(error(&absolute, errno)),
        };
    }
    let search = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    let mut denied = None;
    for dir in search.as_bytes().split(|&b| b == b':') {
        // Unlike execvp, an empty entry, `.` or any relative directory is
        // skipped (sudo's `ignore_dot`, always): it names whatever the
        // working directory holds, which root must not execute by accident.
        let dir = Path::new(OsStr::from_bytes(dir));
        if !dir.is_absolute() {
            continue;
        }
        let candidate = dir.join(program);
        match check(&outside(&candidate)) {
            Ok(()) => return Ok(candidate),
            Err(errno) if errno != ENOENT && errno != Errno::ENOTDIR as i32 => {
                denied.get_or_insert(candidate);
            }
            Err(_) => {}
        }
    }
    match denied {
        Some(candidate) => Err(error(&candidate, EACCES)),
        None => Err(error(Path::new(program), ENOENT)),
    }
}

const ENOENT: i32 = Errno::ENOENT as i32;
const EACCES: i32 = Errno::EACCES as i32;

/// `Ok` when `path` is a regular file that the caller may execute; the errno
/// `exec` would fail with otherwise (`ENOENT`, `EACCES`).
fn check(path: &Path) -> Result<(), i32> {
    let metadata = std::fs::metadata(path).map_err(|e| e.raw_os_error().unwrap_or(ENOENT))?;
    if !metadata.is_file() {
        return Err(EACCES);
    }
    let executable = metadata.permissions().mode() & 0o111 != 0;
    match executable && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok() {
        true => Ok(()),
        false => Err(EACCES),
    }
}
