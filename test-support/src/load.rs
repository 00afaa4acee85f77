//! A client that keeps asking a server while a test replaces it (the
//! upgrade tests of both packages): one request at a time on its own
//! thread, bounded in count and time, until told to stop.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// At most this many requests, and for at most this long.
const MOST_REQUESTS: u32 = 100_000;
const MOST_TIME: Duration = Duration::from_secs(60);

/// What the load saw: requests answered, the errors of those that were
/// not, and the pids that answered.
#[derive(Debug)]
pub struct Seen {
    /// Requests answered.
    pub answered: u32,
    /// The errors of the requests that were not.
    pub failures: Vec<String>,
    /// The pids that answered.
    pub pids: BTreeSet<u32>,
}

/// The running client; [`Load::stop_expecting_every_answer_from`] ends it.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    client: JoinHandle<Seen>,
}

impl Load {
    /// Starts asking with `ask` (one request on a new connection: the pid
    /// that answered) until stopped.
    pub fn start(ask: impl Fn() -> std::io::Result<u32> + Send + 'static) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let client = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut seen = Seen { answered: 0, failures: Vec::new(), pids: BTreeSet::new() };
                let end = Instant::now() + MOST_TIME;
                while !stop.load(Ordering::SeqCst) && seen.answered < MOST_REQUESTS && Instant::now() < end {
                    match ask() {
                        Ok(pid) => {
                            seen.answered += 1;
                            seen.pids.insert(pid);
                        }
                        Err(error) => seen.failures.push(error.to_string()),
                    }
                }
                seen
            })
        };
        Load { stop, client }
    }

    /// Stops asking and returns what was seen, asserting that every
    /// request was answered, each by one of `served`, and that more than
    /// one of them answered (the load saw the replacements).
    #[track_caller]
    pub fn stop_expecting_every_answer_from(self, served: &[u32]) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        let seen = self.client.join().expect("the load's client");
        let (failures, pids) = (&seen.failures, &seen.pids);
        assert!(failures.is_empty(), "{} of {} requests failed: {failures:?}", failures.len(), seen.answered);
        assert!(pids.iter().all(|pid| served.contains(pid)), "answered by {pids:?}, served by {served:?}");
        assert!(pids.len() >= 2, "the load saw the replacements: {pids:?}");
        seen
    }
}
