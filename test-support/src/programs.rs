//! Programs a test runs: as `nobody`, copied where `nobody` can run them,
//! or written as shell scripts.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Makes `command` run as `nobody` (uid and gid 65534, no supplementary group).
pub fn as_nobody(command: &mut Command) -> &mut Command {
    // SAFETY: the hook runs between fork and exec and only calls setgroups,
    // setgid and setuid, async-signal-safe, allocating nothing.
    unsafe { command.pre_exec(become_nobody) }
}

/// Makes this process `nobody` (uid and gid 65534, no supplementary
/// group), as root: async-signal-safe, for a `pre_exec` hook.
pub fn become_nobody() -> std::io::Result<()> {
    // (nix has no `setgroups` for Apple's targets.)
    // SAFETY: an empty list: setgroups reads no memory.
    if unsafe { libc::setgroups(0, std::ptr::null()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    nix::unistd::setgid(nix::unistd::Gid::from_raw(65534))?;
    nix::unistd::setuid(nix::unistd::Uid::from_raw(65534))?;
    Ok(())
}

/// A copy of `program` that `nobody` can execute, in a world-readable
/// temporary directory (the checkout may be one `nobody` cannot enter).
/// Keep the returned directory alive while the copy runs.
pub fn executable_by_nobody(program: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let copy = dir.path().join(program.file_name().expect("file name"));
    install_executable(program, &copy);
    (dir, copy)
}

/// Copies `source` to `target`, mode 0755, with `cp`: never through a
/// descriptor open for writing in this process, which the children other
/// tests fork meanwhile would inherit, so that executing `target` fails
/// (ETXTBSY) until they exec.
pub fn install_executable(source: &Path, target: &Path) {
    let copied = Command::new("cp").arg(source).arg(target).status().expect("cp");
    assert!(copied.success(), "cp {} {}", source.display(), target.display());
    std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o755)).expect("chmod program");
}

/// An executable shell script at `path` running `body` (written beside it,
/// then installed by [`install_executable`]).
pub fn write_script(path: &Path, body: &str) {
    let source = path.with_extension("source");
    std::fs::write(&source, format!("#!/bin/sh\n{body}\n")).expect("write script");
    install_executable(&source, path);
}
