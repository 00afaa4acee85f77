//! The values `daemon-run` parses on its command line: umasks, durations,
//! signals and stop schedules. Each refuses, at parse time and so before
//! anything forks, what it cannot represent.

use std::str::FromStr;
use std::time::Duration;

use daemon_runtime::StopOptions;
use nix::sys::signal::Signal;

/// The longest duration a flag accepts: one day. Anything longer is a typo,
/// and a bound this low keeps `Instant::now() + duration` representable.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses an octal umask: `027` is `0o027`; at most `777`.
///
/// ```
/// assert_eq!(daemon_run::parse_umask("027"), Ok(0o027));
/// assert!(daemon_run::parse_umask("8").is_err());
/// ```
///
/// # Errors
///
/// Not octal digits, or above `777`.
pub fn parse_umask(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mask) if mask <= 0o777 && !digits.starts_with('+') => Ok(mask),
        Ok(_) => Err("a umask is at most 777".into()),
        Err(_) => Err("expected octal digits, such as 027".into()),
    }
}

/// Parses a duration written as a whole number of `ms`, `s` or `m`, above 0
/// and at most [`MAX_DURATION`] (one day: `86400s`, `1440m`).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(daemon_run::parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(daemon_run::parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert!(daemon_run::parse_duration("30").is_err());
/// assert!(daemon_run::parse_duration("18446744073709551615s").is_err());
/// ```
///
/// # Errors
///
/// Another form, zero, or more than a day.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("expected a whole number of ms, s or m above 0, such as 30s (got {text:?})");
    let too_long = || format!("at most 1 day (86400s, 1440m) (got {text:?})");
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    if number.is_empty() {
        return Err(invalid());
    }
    // All digits: a number too large for u64 is too long, not malformed.
    let number: u64 = number.parse().map_err(|_| too_long())?;
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        _ => return Err(invalid()),
    };
    let millis = number.checked_mul(millis_per_unit).ok_or_else(too_long)?;
    let duration = Duration::from_millis(millis);
    if duration.is_zero() {
        return Err(invalid());
    }
    if duration > MAX_DURATION {
        return Err(too_long());
    }
    Ok(duration)
}

/// Parses a signal by name (`TERM`, `SIGTERM`, `term`) or number (`15`).
///
/// ```
/// use nix::sys::signal::Signal;
/// assert_eq!(daemon_run::parse_signal("HUP"), Ok(Signal::SIGHUP));
/// assert_eq!(daemon_run::parse_signal("sigusr1"), Ok(Signal::SIGUSR1));
/// assert_eq!(daemon_run::parse_signal("9"), Ok(Signal::SIGKILL));
/// assert!(daemon_run::parse_signal("NOPE").is_err());
/// ```
///
/// # Errors
///
/// No such signal.
pub fn parse_signal(text: &str) -> Result<Signal, String> {
    let invalid = || format!("expected a signal name or number, such as TERM, HUP or 15 (got {text:?})");
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| invalid());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    Signal::from_str(&name).map_err(|_| invalid())
}

/// What `--stop` sends and how long it waits after each signal: the syntax
/// of `start-stop-daemon --retry`. `SIG/TIMEOUT/SIG/TIMEOUT...` (a timeout
/// in whole seconds, or with a unit as for [`parse_duration`]), or a bare
/// timeout `T`, which means `TERM/T/KILL/T`. As in start-stop-daemon(8),
/// `forever` between two pairs repeats the pairs after it until the process
/// is gone: `TERM/30/forever/KILL/5` never gives up.
///
/// ```
/// use std::time::Duration;
/// use nix::sys::signal::Signal;
/// let schedule = daemon_run::Schedule::parse("TERM/5/KILL/1").unwrap();
/// assert_eq!(schedule.steps(), [(Signal::SIGTERM, Duration::from_secs(5)), (Signal::SIGKILL, Duration::from_secs(1))]);
/// assert_eq!(daemon_run::Schedule::parse("10").unwrap(), daemon_run::Schedule::parse("TERM/10/KILL/10").unwrap());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    steps: Vec<(Signal, Duration)>,
    /// `forever`: the steps from this index on are repeated.
    repeat_from: Option<usize>,
}

/// The schedule `--stop` follows without `--retry`.
pub const DEFAULT_SCHEDULE: &str = "TERM/10/KILL/5";

impl Schedule {
    /// Parses `SIG/TIMEOUT/...` or a bare timeout (see [`Schedule`]).
    ///
    /// # Errors
    ///
    /// An unknown signal, a bad timeout, a signal without its timeout, or a
    /// `forever` that is repeated, last, or inside a pair.
    ///
    /// ```
    /// assert!(daemon_run::Schedule::parse("TERM").is_err());
    /// assert!(daemon_run::Schedule::parse("TERM/5/forever").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let mut items: Vec<&str> = text.split('/').collect();
        let forever: Vec<usize> = (0..items.len()).filter(|&i| items[i] == "forever").collect();
        let repeat_from = match forever[..] {
            [] => None,
            [at] if at % 2 == 1 => {
                return Err(format!(
                    "`forever` goes between SIGNAL/TIMEOUT pairs, such as TERM/5/forever/KILL/5 (got {text:?})"
                ));
            }
            [at] if at + 1 == items.len() => {
                return Err(format!("`forever` repeats the pairs after it, and none follows (got {text:?})"));
            }
            [at] => Some(at / 2),
            _ => return Err(format!("`forever` appears more than once (got {text:?})")),
        };
        if let Some(at) = repeat_from {
            items.remove(at * 2);
        }
        if let ([timeout], None) = (&items[..], repeat_from) {
            let timeout = parse_timeout(timeout)?;
            return Ok(Schedule {
                steps: vec![(Signal::SIGTERM, timeout), (Signal::SIGKILL, timeout)],
                repeat_from,
            });
        }
        if !items.len().is_multiple_of(2) {
            return Err(format!("expected SIGNAL/TIMEOUT pairs, such as TERM/5/KILL/5 (got {text:?})"));
        }
        let steps = items
            .chunks(2)
            .map(|pair| Ok((parse_signal(pair[0])?, parse_timeout(pair[1])?)))
            .collect::<Result<_, String>>()?;
        Ok(Schedule { steps, repeat_from })
    }

    /// Each signal and how long to wait for the process to go after it,
    /// once through (`forever` aside).
    pub fn steps(&self) -> &[(Signal, Duration)] {
        &self.steps
    }

    /// With `forever`: the steps repeated once the others ran out.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nix::sys::signal::Signal;
    /// let schedule = daemon_run::Schedule::parse("TERM/30/forever/KILL/5").unwrap();
    /// assert_eq!(schedule.steps(), [(Signal::SIGTERM, Duration::from_secs(30)), (Signal::SIGKILL, Duration::from_secs(5))]);
    /// assert_eq!(schedule.repeated(), Some(&[(Signal::SIGKILL, Duration::from_secs(5))][..]));
    /// assert_eq!(daemon_run::Schedule::parse("TERM/5").unwrap().repeated(), None);
    /// ```
    pub fn repeated(&self) -> Option<&[(Signal, Duration)]> {
        self.repeat_from.map(|at| &self.steps[at..])
    }

    /// The runtime's [`StopOptions`] that follow this schedule, step by
    /// step: its first signal and timeout, the others as
    /// [`then_signal`](StopOptions::then_signal), and no SIGKILL but the
    /// schedule's own. Once through: `--stop` goes on with
    /// [`repeated`](Schedule::repeated) itself.
    ///
    /// ```
    /// use daemon_runtime::{Signal, StopOptions};
    /// use std::time::Duration;
    /// let options = daemon_run::Schedule::parse("TERM/5/KILL/1").unwrap().options();
    /// let expected = StopOptions::new()
    ///     .timeout(Duration::from_secs(5))
    ///     .then_kill(false)
    ///     .then_signal(Signal::SIGKILL, Duration::from_secs(1));
    /// assert_eq!(options, expected);
    /// ```
    pub fn options(&self) -> StopOptions {
        options(&self.steps)
    }
}

/// The runtime's [`StopOptions`] for `steps`, in order, without a SIGKILL
/// of its own.
pub(crate) fn options(steps: &[(Signal, Duration)]) -> StopOptions {
    let Some((&(signal, timeout), rest)) = steps.split_first() else { return StopOptions::new() };
    let first = StopOptions::new().signal(signal).timeout(timeout).then_kill(false);
    rest.iter().fold(first, |options, &(signal, timeout)| options.then_signal(signal, timeout))
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule::parse(DEFAULT_SCHEDULE).expect("the default schedule parses")
    }
}

/// A timeout in a schedule: whole seconds (`5`), as start-stop-daemon
/// writes it, or a duration with its unit (`500ms`).
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
        true => parse_duration(&format!("{text}s")),
        false => parse_duration(text),
    }
}
