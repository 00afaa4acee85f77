//! Figure 6 (skipped with `--no-build-cost`): what a user pays in `cargo build` for a
//! one-file daemon written with `#[daemon]`, with the builder, and with
//! `daemonize` 0.5. Each is a throwaway project under
//! `target/build-cost/`, with its own target directory; dependencies are
//! fetched once (online), then every timed build is `--offline`. Clean: `cargo
//! clean` then `cargo build` (the dev profile a user iterates with);
//! incremental: the mtime of `src/main.rs` set to now, then `cargo build`.
//! Projects are interleaved round-robin as the launches are.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use crate::setup::cargo;

/// Incremental builds per project.
pub const INCREMENTAL_RUNS: usize = 5;

/// One project's build times.
pub struct BuildCost {
    pub name: &'static str,
    pub clean: Duration,
    pub incremental: Vec<Duration>,
}

/// The daemon-runtime the projects depend on: `$BENCH_RUNTIME_DIR`, else
/// this repository's.
fn runtime_dir() -> PathBuf {
    std::env::var_os("BENCH_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::setup::bench_dir().join("../daemon-runtime"))
}

fn projects() -> Vec<(&'static str, String, &'static str)> {
    let runtime = runtime_dir();
    let runtime = runtime.canonicalize().unwrap_or(runtime);
    let runtime_dep = format!("daemon-runtime = {{ path = {:?} }}", runtime.display().to_string());
    vec![
        (
            "#[daemon] attribute",
            runtime_dep.clone(),
            r#"use daemon_runtime::daemon;

#[daemon(umask = 0o027, chdir = "/", pid_file = "/run/one-file.pid")]
fn main() {
    std::thread::sleep(std::time::Duration::from_secs(3600));
}
"#,
        ),
        (
            "Daemon builder",
            runtime_dep,
            r#"fn main() {
    let _running = daemon_runtime::Daemon::new()
        .umask(0o027)
        .chdir("/")
        .pid_file("/run/one-file.pid")
        .start()
        .unwrap_or_else(|error| error.exit());
    std::thread::sleep(std::time::Duration::from_secs(3600));
}
"#,
        ),
        (
            "daemonize 0.5",
            r#"daemonize = "=0.5.0""#.into(),
            r#"fn main() {
    let daemon = daemonize::Daemonize::new()
        .pid_file("/run/one-file.pid")
        .working_directory("/")
        .umask(0o027);
    if let Err(error) = daemon.start() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
    std::thread::sleep(std::time::Duration::from_secs(3600));
}
"#,
        ),
    ]
}

/// Writes the projects, fetches their dependencies, then times the builds.
pub fn run(target_dir: &Path) -> Result<Vec<BuildCost>, String> {
    let root = target_dir.join("build-cost");
    let mut dirs = Vec::new();
    let mut results = Vec::new();
    for (i, (name, dependency, source)) in projects().into_iter().enumerate() {
        let dir = root.join(format!("project-{i}"));
        fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
        let manifest = format!(
            "[package]\nname = \"one-file-daemon-{i}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
             publish = false\n\n# Not part of the bench workspace.\n[workspace]\n\n\
             [dependencies]\n{dependency}\n"
        );
        fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
        fs::write(dir.join("src/main.rs"), source).map_err(|e| e.to_string())?;
        build(&dir, &["fetch"])?;
        dirs.push(dir);
        results.push(BuildCost { name, clean: Duration::ZERO, incremental: Vec::new() });
    }
    for (dir, result) in dirs.iter().zip(&mut results) {
        build(dir, &["clean"])?;
        eprintln!("  clean build: {}", result.name);
        result.clean = build(dir, &["build", "--offline"])?;
    }
    for round in 0..INCREMENTAL_RUNS {
        for k in 0..dirs.len() {
            let i = (k + round) % dirs.len();
            let main = fs::File::options()
                .append(true)
                .open(dirs[i].join("src/main.rs"))
                .map_err(|e| e.to_string())?;
            main.set_modified(SystemTime::now()).map_err(|e| e.to_string())?;
            drop(main);
            results[i].incremental.push(build(&dirs[i], &["build", "--offline"])?);
        }
    }
    Ok(results)
}

/// Runs `cargo <args>` in `dir`, quietly, and returns how long it took.
fn build(dir: &Path, args: &[&str]) -> Result<Duration, String> {
    let start = Instant::now();
    let output = cargo()
        .args(args)
        .arg("--quiet")
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cargo: {e}"))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        return Err(format!(
            "cargo {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(elapsed)
}
