//! What the benchmark builds before it measures: the Rust contenders (one
//! `cargo build`) and a virtualenv with python-daemon.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The bench package's directory.
pub fn bench_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo`, as the one that runs us (`cargo run` sets `$CARGO`).
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds every contender in release mode beside the driver's own binary,
/// and again unstripped (profile `unstripped`, in `../unstripped`), and
/// returns the release directory.
pub fn build_contenders() -> Result<PathBuf, String> {
    for profile in ["release", "unstripped"] {
        let status = cargo()
            .args(["build", "--profile", profile, "--bins", "--quiet", "--manifest-path"])
            .arg(bench_dir().join("Cargo.toml"))
            .status()
            .map_err(|e| format!("cargo: {e}"))?;
        if !status.success() {
            return Err(format!("building the contenders ({profile}) failed: {status}"));
        }
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no directory for the driver")?;
    if !exe.to_string_lossy().contains("release") {
        eprintln!("warning: the driver is not a release build; contenders are read from {}", dir.display());
    }
    Ok(dir.to_owned())
}

/// Builds `daemon-run` in release mode in the repository's own target
/// directory and returns the binary.
pub fn build_daemon_run() -> Result<PathBuf, String> {
    build_in_repository(&[], "daemon-run").map(|target| target.join("release/daemon-run"))
}

/// Builds `daemon-run/examples/hello_activated` (figure 9's PROGRAM under
/// `daemon-run --respawn --listen`) likewise, and returns it.
pub fn build_hello_activated() -> Result<PathBuf, String> {
    let target = build_in_repository(&["--example", "hello_activated"], "hello_activated")?;
    Ok(target.join("release/examples/hello_activated"))
}

/// `cargo build --release -p daemon-run EXTRA` in the repository's own
/// target directory, which it returns.
fn build_in_repository(extra: &[&str], what: &str) -> Result<PathBuf, String> {
    let root = bench_dir().parent().ok_or("no repository above bench/")?;
    let target = root.join("target");
    let status = cargo()
        .args(["build", "--release", "--quiet", "-p", "daemon-run"])
        .args(extra)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building {what} failed: {status}"));
    }
    Ok(target)
}

/// The venv's interpreter with python-daemon 3.1 installed (created under
/// `target_dir` on first use), or why python-daemon is skipped.
pub fn python_daemon(target_dir: &Path) -> Result<PathBuf, String> {
    let venv = target_dir.join("pyvenv");
    let python = venv.join("bin/python");
    if has_python_daemon(&python) {
        return Ok(python);
    }
    eprintln!("creating {} with python-daemon 3.1 …", venv.display());
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 not found ({e})"))?;
    if !created.success() {
        return Err(format!("python3 -m venv failed: {created}"));
    }
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "python-daemon==3.1.*"])
        .status()
        .map_err(|e| format!("pip: {e}"))?;
    if !installed.success() || !has_python_daemon(&python) {
        return Err(format!("pip install python-daemon==3.1.* failed: {installed}"));
    }
    Ok(python)
}

fn has_python_daemon(python: &Path) -> bool {
    let check = "import importlib.metadata as m, daemon.pidfile; \
                 assert m.version('python-daemon').startswith('3.1')";
    Command::new(python).args(["-c", check]).output().is_ok_and(|out| out.status.success())
}

/// One line describing the machine: CPU, cores, kernel, rustc, python.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel =
        nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default();
    let output = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "-".into())
    };
    format!("{cpu}, {cores} CPUs, Linux {kernel}, {}, {}", output("rustc"), output("python3"))
}
