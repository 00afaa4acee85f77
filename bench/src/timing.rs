//! Figures 1, 2, 3 and the daemon's peak RSS of figure 5: every contender
//! launched `runs` times in the base mode and `runs` times in the hostile
//! mode, interleaved round-robin (the starting slot rotates each round, so
//! no contender always follows the same one).

use std::io;
use std::time::Duration;

use crate::contenders::Contender;
use crate::launch::{Launcher, Mode};
use crate::measure::{DEADLINE, Probe, Sample};
use crate::procfs;
use crate::reaper::Reaper;

/// Everything measured about one contender in one mode.
#[derive(Debug, Default)]
pub struct Series {
    pub ready: Vec<Duration>,
    pub launcher_exit: Vec<Duration>,
    /// Launches that did not end with a ready daemon and a launcher exit 0.
    pub failures: usize,
    /// Per launch: descriptors naming the marker file in the daemon.
    pub leaked: Vec<usize>,
    /// Per launch: the daemon's `VmHWM` in KiB.
    pub hwm_kib: Vec<u64>,
    /// Per launch: the daemon's `RssAnon` in KiB: its private memory, without
    /// the shared library and binary pages that `VmHWM` also counts.
    pub anon_kib: Vec<u64>,
}

/// The base and hostile series of one contender.
#[derive(Debug, Default)]
pub struct Measured {
    pub base: Series,
    pub hostile: Series,
    /// Launcher latency with only the launcher's exit watched (figure 2b):
    /// `launcher_exit` and `failures` are filled.
    pub unwatched: Series,
    /// The daemon's `VmHWM` in KiB, launched from the unstripped build
    /// (base mode, fewer launches: see [`unstripped_runs`]).
    pub unstripped_hwm_kib: Vec<u64>,
}

/// How many launches of each unstripped build: a quarter of the timed
/// rounds, at most 50 (only the peak RSS is read; it varies little).
pub fn unstripped_runs(runs: usize) -> usize {
    (runs / 4).clamp(1, 50)
}

/// Runs the rounds; prints progress on stderr.
pub fn run(
    contenders: &[Contender],
    runs: usize,
    launcher: &Launcher,
    probe: &mut Probe,
    reaper: &mut Reaper,
    marker: &std::path::Path,
) -> io::Result<Vec<Measured>> {
    let mut measured: Vec<Measured> = contenders.iter().map(|_| Measured::default()).collect();
    let slots = contenders.len() * 2;
    // One unrecorded launch of each: page cache, dynamic loader caches.
    for contender in contenders {
        let sample = probe.launch(launcher, reaper, contender, Mode::Base, false, None, DEADLINE)?;
        probe.finish(reaper, &sample);
    }
    for round in 0..runs {
        for k in 0..slots {
            let slot = (k + round) % slots;
            let (index, mode) = (slot / 2, if slot.is_multiple_of(2) { Mode::Base } else { Mode::Hostile });
            let sample = probe.launch(launcher, reaper, &contenders[index], mode, false, None, DEADLINE)?;
            let series = match mode {
                Mode::Hostile => &mut measured[index].hostile,
                _ => &mut measured[index].base,
            };
            record(series, &sample, marker);
            probe.finish(reaper, &sample);
        }
        if (round + 1) % 20 == 0 || round + 1 == runs {
            eprint!("\r  round {}/{runs}", round + 1);
        }
    }
    eprintln!();
    // Figure 2b: the launcher's exit alone watched, round-robin too.
    for round in 0..runs {
        for k in 0..contenders.len() {
            let index = (k + round) % contenders.len();
            let sample = probe.launch_unwatched(launcher, reaper, &contenders[index])?;
            let series = &mut measured[index].unwatched;
            let launcher_ok =
                matches!(sample.launcher_status, Some(nix::sys::wait::WaitStatus::Exited(_, 0)));
            match (sample.launcher_exit, sample.daemon) {
                (Some(exit), Some(_)) if launcher_ok => series.launcher_exit.push(exit),
                _ => series.failures += 1,
            }
            probe.finish(reaper, &sample);
        }
    }
    // The unstripped builds, round-robin too, for their VmHWM alone.
    let unstripped: Vec<(usize, Contender)> = contenders
        .iter()
        .enumerate()
        .filter_map(|(index, c)| {
            let path = c.unstripped.clone()?;
            Some((index, Contender { argv: vec![path.into()], ..c.clone() }))
        })
        .collect();
    for round in 0..unstripped_runs(runs) {
        for k in 0..unstripped.len() {
            let (index, contender) = &unstripped[(k + round) % unstripped.len()];
            let sample = probe.launch(launcher, reaper, contender, Mode::Base, false, None, DEADLINE)?;
            let mut series = Series::default();
            record(&mut series, &sample, marker);
            measured[*index].unstripped_hwm_kib.extend(series.hwm_kib);
            probe.finish(reaper, &sample);
        }
    }
    Ok(measured)
}

fn record(series: &mut Series, sample: &Sample, marker: &std::path::Path) {
    let launcher_ok = matches!(sample.launcher_status, Some(nix::sys::wait::WaitStatus::Exited(_, 0)));
    match (sample.ready, sample.launcher_exit, sample.daemon) {
        (Some(ready), Some(exit), Some(daemon)) if launcher_ok => {
            series.ready.push(ready);
            series.launcher_exit.push(exit);
            if let Ok(fds) = procfs::fds(daemon) {
                series.leaked.push(fds.iter().filter(|(_, target)| target == marker).count());
            }
            if let Some(kib) = procfs::status_kib(daemon, "VmHWM") {
                series.hwm_kib.push(kib);
            }
            if let Some(kib) = procfs::status_kib(daemon, "RssAnon") {
                series.anon_kib.push(kib);
            }
        }
        _ => series.failures += 1,
    }
}
