//! Turns the measurements into the six tables.

use crate::buildcost::BuildCost;
use crate::contenders::Contender;
use crate::correctness::Seen;
use crate::launch::INHERITED_FDS;
use crate::report::{Table, bytes, duration, ratio, summary_cells};
use crate::stats::{Summary, median_u64};
use crate::timing::{Measured, Series};

fn median_secs(values: &[std::time::Duration]) -> Option<f64> {
    Summary::of(values).map(|s| s.median.as_secs_f64())
}

/// Figures 1 to 5.
pub fn print(contenders: &[Contender], measured: &[Measured], seen: &[Seen], hard_nofile: u64) {
    let floor = &measured[0];
    time_table(
        "1. Time to ready: spawn of the launcher until the pid file names the live daemon (base)",
        contenders,
        measured,
        |m| &m.base.ready,
        median_secs(&floor.base.ready),
    );
    let waiting = contenders.iter().position(|c| c.name == crate::contenders::WAITING_FLOOR);
    launcher_table(
        "2. Launcher latency: spawn until the launching process exits (base; the waiting floor's launcher waits on a pipe for its daemon)",
        contenders,
        measured,
        |m| &m.base,
        waiting,
    );
    launcher_table(
        "2b. Launcher latency, only the launcher's exit watched (its pidfd; the pid file read after it): no wake-up of the driver competes with the launcher's",
        contenders,
        measured,
        |m| &m.unwatched,
        waiting,
    );
    hostile_table(contenders, measured, hard_nofile);
    correctness_table(contenders, seen);
    footprint_table(contenders, measured);
}

fn time_table(
    title: &str,
    contenders: &[Contender],
    measured: &[Measured],
    series: impl Fn(&Measured) -> &Vec<std::time::Duration>,
    floor: Option<f64>,
) {
    let mut table = Table::new(title, &["contender", "min", "median", "p99", "median / floor", "failed"]);
    for (contender, m) in contenders.iter().zip(measured) {
        let values = series(m);
        let summary = Summary::of(values);
        let mut row = vec![contender.name.to_owned()];
        row.extend(summary_cells(summary));
        row.push(summary.map_or("-".into(), |s| ratio(s.median.as_secs_f64(), floor)));
        row.push(failed(&m.base));
        table.row(row);
    }
    table.print();
}

/// Figure 8: system calls per start.
pub fn print_syscalls(contenders: &[Contender], counts: &[crate::syscalls::Count]) {
    let mut table = Table::new(
        "8. System calls per start (strace -f -c, one launch each outside the timed runs: launcher, intermediates and daemon from the launcher's execve until the daemon is killed once ready)",
        &["contender", "calls", "failed calls", "calls / floor"],
    );
    let floor = counts.first().and_then(|count| count.as_ref().ok()).map(|&(calls, _)| calls as f64);
    for (contender, count) in contenders.iter().zip(counts) {
        let cells = match count {
            Ok((calls, errors)) => vec![calls.to_string(), errors.to_string(), ratio(*calls as f64, floor)],
            Err(why) => vec![format!("- ({why})"), "-".into(), "-".into()],
        };
        let mut row = vec![contender.name.to_owned()];
        row.extend(cells);
        table.row(row);
    }
    table.print();
}

/// Figures 2 and 2b, with a second ratio: to the waiting floor (the
/// contender at `waiting`), the least a launcher that waits for its daemon
/// can take.
fn launcher_table(
    title: &str,
    contenders: &[Contender],
    measured: &[Measured],
    series: impl Fn(&Measured) -> &Series,
    waiting: Option<usize>,
) {
    let mut table = Table::new(
        title,
        &["contender", "min", "median", "p99", "median / floor", "median / waiting floor", "failed"],
    );
    let floor = median_secs(&series(&measured[0]).launcher_exit);
    let waiting = waiting.and_then(|at| median_secs(&series(&measured[at]).launcher_exit));
    for (contender, m) in contenders.iter().zip(measured) {
        let summary = Summary::of(&series(m).launcher_exit);
        let mut row = vec![contender.name.to_owned()];
        row.extend(summary_cells(summary));
        row.push(summary.map_or("-".into(), |s| ratio(s.median.as_secs_f64(), floor)));
        row.push(summary.map_or("-".into(), |s| ratio(s.median.as_secs_f64(), waiting)));
        row.push(failed(series(m)));
        table.row(row);
    }
    table.print();
}

fn failed(series: &Series) -> String {
    format!("{}/{}", series.failures, series.failures + series.launcher_exit.len())
}

fn hostile_table(contenders: &[Contender], measured: &[Measured], hard_nofile: u64) {
    let title = format!(
        "3. Hostile start: RLIMIT_NOFILE {hard_nofile}, {INHERITED_FDS} inherited descriptors + one at {} \
         (ratios to the contender's own base median; leaked = inherited descriptors still open in the daemon)",
        hard_nofile - 1
    );
    let mut table = Table::new(
        title,
        &[
            "contender",
            "ready min",
            "ready median",
            "ready p99",
            "ready / base",
            "exit median",
            "exit p99",
            "exit / base",
            "leaked fds",
            "failed",
        ],
    );
    for (contender, m) in contenders.iter().zip(measured) {
        let ready = Summary::of(&m.hostile.ready);
        let exit = Summary::of(&m.hostile.launcher_exit);
        let mut row = vec![contender.name.to_owned()];
        let cells = summary_cells(ready);
        row.extend(cells);
        row.push(ready.map_or("-".into(), |s| ratio(s.median.as_secs_f64(), median_secs(&m.base.ready))));
        row.push(exit.map_or("-".into(), |s| duration(s.median)));
        row.push(exit.map_or("-".into(), |s| duration(s.p99)));
        row.push(
            exit.map_or("-".into(), |s| ratio(s.median.as_secs_f64(), median_secs(&m.base.launcher_exit))),
        );
        let leaked_max = m.hostile.leaked.iter().max().copied();
        row.push(leaked_max.map_or("-".into(), |n| n.to_string()));
        row.push(failed(&m.hostile));
        table.row(row);
    }
    table.print();
}

fn correctness_table(contenders: &[Contender], seen: &[Seen]) {
    let mut table = Table::new(
        "4. Correctness at a glance, from the daemon's /proc (launched from a pty, SIGHUP ignored, \
         SIGTERM blocked; stdio = fds 0 1 2), and the launcher when the working directory is missing",
        &[
            "contender",
            "tty_nr",
            "session leader",
            "umask",
            "cwd",
            "stdio",
            "SigIgn",
            "SigBlk",
            "fds > 2",
            "missing cwd: launcher",
            "left behind",
        ],
    );
    for (contender, s) in contenders.iter().zip(seen) {
        table.row(vec![
            contender.name.to_owned(),
            s.tty_nr.clone(),
            s.session_leader.clone(),
            s.umask.clone(),
            s.cwd.clone(),
            s.stdio.clone(),
            s.sig_ign.clone(),
            s.sig_blk.clone(),
            s.other_fds.clone(),
            s.bad_chdir_status.clone(),
            s.bad_chdir_leftovers.clone(),
        ]);
    }
    table.print();
}

fn footprint_table(contenders: &[Contender], measured: &[Measured]) {
    let mut table = Table::new(
        "5. Footprint: the daemon's VmHWM and RssAnon (its private memory; medians over the base runs), VmHWM of the unstripped build (median of its own launches) and the stripped release binary",
        &[
            "contender",
            "VmHWM",
            "VmHWM / floor",
            "RssAnon",
            "RssAnon / floor",
            "VmHWM unstripped",
            "unstripped / floor",
            "binary",
            "binary / floor",
        ],
    );
    let size = |c: &Contender| c.binary.as_ref().and_then(|p| std::fs::metadata(p).ok()).map(|m| m.len());
    let floor_hwm = median_u64(&measured[0].base.hwm_kib).map(|v| v as f64);
    let floor_anon = median_u64(&measured[0].base.anon_kib).map(|v| v as f64);
    let floor_unstripped = median_u64(&measured[0].unstripped_hwm_kib).map(|v| v as f64);
    let floor_size = size(&contenders[0]).map(|v| v as f64);
    for (contender, m) in contenders.iter().zip(measured) {
        let hwm = median_u64(&m.base.hwm_kib);
        let anon = median_u64(&m.base.anon_kib);
        let unstripped = median_u64(&m.unstripped_hwm_kib);
        let binary = size(contender);
        table.row(vec![
            contender.name.to_owned(),
            hwm.map_or("-".into(), |kib| format!("{kib} KiB")),
            hwm.map_or("-".into(), |kib| ratio(kib as f64, floor_hwm)),
            anon.map_or("-".into(), |kib| format!("{kib} KiB")),
            anon.map_or("-".into(), |kib| ratio(kib as f64, floor_anon)),
            unstripped.map_or("-".into(), |kib| format!("{kib} KiB")),
            unstripped.map_or("-".into(), |kib| ratio(kib as f64, floor_unstripped)),
            binary.map_or("n/a (interpreted)".into(), bytes),
            binary.map_or("-".into(), |b| ratio(b as f64, floor_size)),
        ]);
    }
    table.print();
}

/// Figure 6.
pub fn print_build_cost(costs: &[BuildCost]) {
    let mut table = Table::new(
        format!(
            "6. Build cost of a one-file daemon (dev profile, --offline; clean once, incremental median of {})",
            crate::buildcost::INCREMENTAL_RUNS
        ),
        &["project", "clean", "clean / builder", "incremental", "incremental / builder"],
    );
    let builder = costs.iter().find(|c| c.name == "Daemon builder");
    let builder_clean = builder.map(|b| b.clean.as_secs_f64());
    let builder_incremental = builder.and_then(|b| median_secs(&b.incremental));
    for cost in costs {
        let incremental = Summary::of(&cost.incremental);
        table.row(vec![
            cost.name.to_owned(),
            duration(cost.clean),
            ratio(cost.clean.as_secs_f64(), builder_clean),
            incremental.map_or("-".into(), |s| duration(s.median)),
            incremental.map_or("-".into(), |s| ratio(s.median.as_secs_f64(), builder_incremental)),
        ]);
    }
    table.print();
}

/// Figure 7: the service launchers' start and stop latencies, with ratios
/// to `daemon-run` (the first tool) measured in the same rounds.
pub fn print_launchers(tools: &[crate::launchers::Tool], measured: &[crate::launchers::Latencies]) {
    let rounds = measured.iter().map(|m| m.start.len() + m.failures).max().unwrap_or(0);
    let title = format!(
        "7. Service launchers: start and stop of /bin/sleep, {rounds} interleaved rounds (start: command until it \
         returns; stop: command until it returned and the processes are gone; ratios to daemon-run)"
    );
    let mut table = Table::new(
        title,
        &[
            "launcher",
            "start min",
            "start median",
            "start p99",
            "start / daemon-run",
            "stop min",
            "stop median",
            "stop p99",
            "stop / daemon-run",
            "failed",
        ],
    );
    let reference = |pick: fn(&crate::launchers::Latencies) -> &Vec<std::time::Duration>| {
        measured.first().and_then(|m| median_secs(pick(m)))
    };
    let (start_ref, stop_ref) = (reference(|m| &m.start), reference(|m| &m.stop));
    for (tool, m) in tools.iter().zip(measured) {
        let (start, stop) = (Summary::of(&m.start), Summary::of(&m.stop));
        let mut row = vec![tool.name.to_owned()];
        row.extend(summary_cells(start));
        row.push(start.map_or("-".into(), |s| ratio(s.median.as_secs_f64(), start_ref)));
        row.extend(summary_cells(stop));
        row.push(stop.map_or("-".into(), |s| ratio(s.median.as_secs_f64(), stop_ref)));
        row.push(format!("{}/{}", m.failures, m.failures + m.start.len()));
        table.row(row);
    }
    table.print();
}
