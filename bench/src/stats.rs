//! Order statistics over a set of durations.

use std::time::Duration;

/// Minimum, median and 99th percentile (nearest rank) of a sample.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub min: Duration,
    pub median: Duration,
    pub p99: Duration,
}

impl Summary {
    /// `None` for an empty sample.
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2 };
        let p99_rank = (n * 99).div_ceil(100).max(1);
        Some(Summary { min: sorted[0], median, p99: sorted[p99_rank - 1] })
    }
}

/// Median of integers (footprint figures); `None` when empty.
pub fn median_u64(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn odd_and_even_medians() {
        let odd = Summary::of(&ms(&[5, 1, 3])).unwrap();
        assert_eq!(odd.min, Duration::from_millis(1));
        assert_eq!(odd.median, Duration::from_millis(3));
        let even = Summary::of(&ms(&[4, 1, 3, 2])).unwrap();
        assert_eq!(even.median, Duration::from_micros(2500));
    }

    #[test]
    fn p99_is_nearest_rank() {
        let values: Vec<u64> = (1..=200).collect();
        let summary = Summary::of(&ms(&values)).unwrap();
        assert_eq!(summary.p99, Duration::from_millis(198));
        let one = Summary::of(&ms(&[7])).unwrap();
        assert_eq!(one.p99, Duration::from_millis(7));
    }

    #[test]
    fn empty_is_none() {
        assert!(Summary::of(&[]).is_none());
        assert_eq!(median_u64(&[]), None);
        assert_eq!(median_u64(&[3, 1, 2]), Some(2));
    }
}
