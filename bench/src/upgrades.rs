//! Figure 9: replacing a running TCP server under load. A loopback client
//! keeps asking (one connection per request, each answered with one line,
//! at most one request started per millisecond) while the server is
//! replaced once; per run, the requests that failed (refused, reset, no
//! answer) and the longest time between two answers. The ways, on the same
//! load: this crate's `Upgrade` (`contenders/upgrade_runtime.rs`, asked by
//! `daemon_runtime::request_upgrade`, as `daemon-run --upgrade` does); a
//! plain stop and start of that same server (`daemon_runtime::stop`, then
//! the start again); `daemon-run --respawn --ready notify --listen` around
//! `daemon-run/examples/hello_activated`, swapped by `daemon-run
//! --upgrade`; ecdysis 1.1 (`contenders/upgrade_ecdysis.rs`, SIGUSR2); and,
//! for scale, the same load on a server that is not replaced. Nothing is
//! asserted: medians are printed.

use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::procfs;
use crate::reaper::Reaper;
use crate::report::{Table, duration, ratio};

/// Load before the upgrade is asked for, and after it completed.
const AROUND: Duration = Duration::from_millis(300);
/// At most one request started per this interval.
const PACE: Duration = Duration::from_millis(1);
/// Bounds of one run's load, whatever happens.
const LOAD_LIMIT: (u32, Duration) = (100_000, Duration::from_secs(30));
/// How long a start, an upgrade or an old process's exit may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// How one way starts the server and replaces it.
#[derive(Debug, Clone)]
enum Kind {
    Runtime(PathBuf),
    StopStart(PathBuf),
    DaemonRun {
        daemon_run: PathBuf,
        program: PathBuf,
    },
    Ecdysis(PathBuf),
    /// The runtime's server, not replaced: the load's own gaps.
    Baseline(PathBuf),
}

/// One way of replacing the server, as the table names it.
#[derive(Debug, Clone)]
pub struct Way {
    pub name: &'static str,
    kind: Kind,
}

/// What one run saw.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub failed: u64,
    pub answered: u64,
    /// The longest time between two answers from the last one before the
    /// replacement was asked for to the first one after it completed.
    pub gap: Duration,
    /// The longest over the whole run (the load's own noise included).
    pub run_gap: Duration,
    /// From asking until the new server was ready (the stop and start: until
    /// the start returned).
    pub took: Duration,
}

/// The runs of one way.
#[derive(Debug, Default)]
pub struct Runs {
    pub runs: Vec<Run>,
    pub errors: usize,
}

/// The four ways: `bin_dir` holds the contenders, `daemon_run` and
/// `hello_activated` the repository's builds.
pub fn ways(bin_dir: &Path, daemon_run: &Path, hello_activated: &Path) -> Vec<Way> {
    vec![
        Way { name: "daemon_runtime::Upgrade", kind: Kind::Runtime(bin_dir.join("upgrade-runtime")) },
        Way { name: "stop, then start", kind: Kind::StopStart(bin_dir.join("upgrade-runtime")) },
        Way {
            name: "daemon-run --respawn --listen, --upgrade",
            kind: Kind::DaemonRun { daemon_run: daemon_run.to_owned(), program: hello_activated.to_owned() },
        },
        Way { name: "ecdysis 1.1 (SIGUSR2)", kind: Kind::Ecdysis(bin_dir.join("upgrade-ecdysis")) },
        Way {
            name: "nothing replaced (the load alone)",
            kind: Kind::Baseline(bin_dir.join("upgrade-runtime")),
        },
    ]
}

/// `runs` rounds, the first way rotating, after one unrecorded round.
pub fn run(ways: &[Way], runs: usize, dir: &Path, reaper: &mut Reaper) -> Vec<Runs> {
    let mut measured: Vec<Runs> = ways.iter().map(|_| Runs::default()).collect();
    let mut count = 0u64;
    for round in 0..=runs {
        for k in 0..ways.len() {
            let index = (k + round) % ways.len();
            count += 1;
            let pid_file = dir.join(format!("upgrade-{count}.pid"));
            let result = once(&ways[index], &pid_file, reaper);
            reaper.sweep();
            if round == 0 {
                continue;
            }
            match result {
                Ok(run) => measured[index].runs.push(run),
                Err(why) => {
                    eprintln!("\nwarning: {} (run {count}): {why}", ways[index].name);
                    measured[index].errors += 1;
                }
            }
        }
        eprint!("\r  round {round}/{runs}");
    }
    eprintln!();
    measured
}

/// One start, load, one replacement, load, and the measurement.
fn once(way: &Way, pid_file: &Path, reaper: &mut Reaper) -> Result<Run, String> {
    let port =
        TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let _child = start(way, pid_file, port)?;
    reaper.collect();
    let server = server_pid_file(way, pid_file);
    let old = wait_until(|| live_pid(&server)).ok_or("the pid file named no live process")?;
    wait_until(|| ask(port).ok()).ok_or("the server never answered")?;
    let load = Load::start(port);
    std::thread::sleep(AROUND);
    let began = Instant::now();
    replace(way, pid_file, port, old)?;
    let took = began.elapsed();
    std::thread::sleep(AROUND);
    let (answers, failed) = load.stop();
    let done = began + took;
    let run_gap = longest_gap(&answers);
    let first = answers.iter().rposition(|&at| at <= began).unwrap_or(0);
    let last = answers.iter().position(|&at| at >= done).unwrap_or(answers.len().saturating_sub(1));
    let gap = longest_gap(answers.get(first..=last).unwrap_or_default());
    reaper.collect();
    if !matches!(way.kind, Kind::Baseline(_)) {
        wait_until(|| (!alive(old)).then_some(())).ok_or(format!("the old server {old} still runs"))?;
    }
    Ok(Run { failed, answered: answers.len() as u64, gap, run_gap, took })
}

/// The longest time between two consecutive instants.
fn longest_gap(answers: &[Instant]) -> Duration {
    answers.windows(2).map(|pair| pair[1] - pair[0]).max().unwrap_or_default()
}

/// Starts the server; the child to keep when it is the server itself.
fn start(way: &Way, pid_file: &Path, port: u16) -> Result<Option<Child>, String> {
    let mut command = match &way.kind {
        Kind::Runtime(bin) | Kind::StopStart(bin) | Kind::Ecdysis(bin) | Kind::Baseline(bin) => {
            Command::new(bin)
        }
        Kind::DaemonRun { daemon_run, program } => {
            let mut command = Command::new(daemon_run);
            command.args(["--respawn", "--ready", "notify", "--pid-file"]).arg(pid_file);
            command.arg("--child-pid-file").arg(server_pid_file(way, pid_file));
            command.args(["--listen", &format!("tcp:127.0.0.1:{port}"), "--"]).arg(program);
            command
        }
    };
    command.env("BENCH_PID_FILE", pid_file).env("BENCH_PORT", port.to_string());
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    if let Kind::Ecdysis(_) = way.kind {
        return command.spawn().map(Some).map_err(|e| format!("start: {e}"));
    }
    let status = command.status().map_err(|e| format!("start: {e}"))?;
    if !status.success() {
        return Err(format!("start: {status}"));
    }
    Ok(None)
}

/// The file naming the server process: the pid file, but under
/// `daemon-run --respawn`, whose pid file names the supervisor (which
/// stays), `--child-pid-file`.
fn server_pid_file(way: &Way, pid_file: &Path) -> PathBuf {
    match way.kind {
        Kind::DaemonRun { .. } => pid_file.with_extension("child"),
        _ => pid_file.to_owned(),
    }
}

/// Replaces the server whose pid is `old`; returns once the new one is
/// ready (the stop and start: once the start returned).
fn replace(way: &Way, pid_file: &Path, port: u16, old: i32) -> Result<(), String> {
    match &way.kind {
        Kind::Baseline(_) => Ok(()),
        Kind::Runtime(_) => match daemon_runtime::request_upgrade(pid_file, PATIENCE) {
            Ok(daemon_runtime::Requested::Upgraded { .. }) => Ok(()),
            other => Err(format!("upgrade: {other:?}")),
        },
        Kind::StopStart(_) => {
            daemon_runtime::stop(pid_file, daemon_runtime::StopOptions::default())
                .map_err(|e| format!("stop: {e}"))?;
            start(way, pid_file, port).map(drop)
        }
        Kind::DaemonRun { daemon_run, .. } => {
            let output = Command::new(daemon_run)
                .args(["--upgrade", "--pid-file"])
                .arg(pid_file)
                .output()
                .map_err(|e| format!("--upgrade: {e}"))?;
            match output.status.success() {
                true => Ok(()),
                false => Err(format!("--upgrade: {}", String::from_utf8_lossy(&output.stderr).trim())),
            }
        }
        Kind::Ecdysis(_) => {
            kill(Pid::from_raw(old), Signal::SIGUSR2).map_err(|e| format!("SIGUSR2: {e}"))?;
            // ecdysis writes the new pid at the new process's `ready()`.
            wait_until(|| live_pid(pid_file).filter(|&pid| pid != old)).map(drop).ok_or("no new pid".into())
        }
    }
}

/// The client: one request at a time on a new connection, started at most
/// once per [`PACE`]; the instant of each answer, and the failures.
struct Load {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(Vec<Instant>, u64)>,
}

impl Load {
    fn start(port: u16) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let (mut answers, mut failed) = (Vec::new(), 0u64);
            let end = Instant::now() + LOAD_LIMIT.1;
            let mut sent = 0u32;
            while !flag.load(Ordering::SeqCst) && sent < LOAD_LIMIT.0 && Instant::now() < end {
                let next = Instant::now() + PACE;
                sent += 1;
                match ask(port) {
                    Ok(_) => answers.push(Instant::now()),
                    Err(_) => failed += 1,
                }
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            (answers, failed)
        });
        Load { stop, thread }
    }

    fn stop(self) -> (Vec<Instant>, u64) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}

/// One request: connect, read the answer to its end; the pid it names.
fn ask(port: u16) -> io::Result<u32> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    // `hello_activated`: "hello from pid N: …"; the others: "N".
    let pid = answer
        .trim()
        .strip_prefix("hello from pid ")
        .map_or(answer.trim(), |rest| rest.split(':').next().unwrap_or_default());
    pid.parse().map_err(|_| io::Error::other(format!("answer {answer:?}")))
}

fn wait_until<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn alive(pid: i32) -> bool {
    procfs::stat(pid).is_ok_and(|stat| stat.state != 'Z')
}

fn live_pid(file: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
    (pid > 0 && alive(pid)).then_some(pid)
}

/// The median of `values` (the lower middle for an even count).
fn median<T: Copy + Ord>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut values: Vec<T> = values.collect();
    values.sort_unstable();
    values.get(values.len().saturating_sub(1) / 2).copied()
}

/// Prints figure 9.
pub fn print(ways: &[Way], measured: &[Runs]) {
    let reference = measured.first().and_then(|runs| median(runs.runs.iter().map(|run| run.gap)));
    let mut table = Table::new(
        format!(
            "9. Replacing a server under load: a loopback client, one request per connection, at most one \
             started per {}; per run, requests failed and the longest time between two answers from the \
             last before the replacement to the first after it (and over the whole run, {} of load \
             around it); medians (and worst) over runs",
            duration(PACE),
            duration(AROUND * 2)
        ),
        &[
            "way",
            "runs",
            "failed requests",
            "longest gap",
            "gap / Upgrade's",
            "whole run's gap",
            "upgrade took",
            "answered per run",
        ],
    );
    for (way, runs) in ways.iter().zip(measured) {
        let runs_done = &runs.runs;
        let failed = median(runs_done.iter().map(|run| run.failed));
        let worst_failed = runs_done.iter().map(|run| run.failed).max();
        let gap = median(runs_done.iter().map(|run| run.gap));
        let worst_gap = runs_done.iter().map(|run| run.gap).max();
        let took = median(runs_done.iter().map(|run| run.took));
        let run_gap = median(runs_done.iter().map(|run| run.run_gap));
        let answered = median(runs_done.iter().map(|run| run.answered));
        let or_dash = |cell: Option<String>| cell.unwrap_or_else(|| "-".into());
        table.row(vec![
            way.name.into(),
            format!(
                "{}{}",
                runs_done.len(),
                if runs.errors > 0 { format!(" ({} failed)", runs.errors) } else { String::new() }
            ),
            or_dash(failed.zip(worst_failed).map(|(m, w)| format!("{m} (worst {w})"))),
            or_dash(gap.zip(worst_gap).map(|(m, w)| format!("{} (worst {})", duration(m), duration(w)))),
            gap.map_or("-".into(), |gap| ratio(gap.as_secs_f64(), reference.map(|r| r.as_secs_f64()))),
            or_dash(run_gap.map(duration)),
            or_dash(took.map(duration)),
            or_dash(answered.map(|n| n.to_string())),
        ]);
    }
    table.print();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_gap_is_between_consecutive_answers() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(longest_gap(&[at(0), at(1), at(5), at(6)]), Duration::from_millis(4));
        assert_eq!(longest_gap(&[at(3)]), Duration::ZERO);
    }

    #[test]
    fn the_median_is_the_lower_middle() {
        assert_eq!(median([3u64, 1, 2].into_iter()), Some(2));
        assert_eq!(median([4u64, 1, 3, 2].into_iter()), Some(2));
        assert_eq!(median(std::iter::empty::<u64>()), None);
    }
}
