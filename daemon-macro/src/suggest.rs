//! "Did you mean" for misspelled keys.

/// The candidate `word` most likely stands for, if one is close enough.
///
/// Close means a few typos away (edit distance with transpositions, up to a
/// third of the candidate's length, ignoring case), or a start of the key at
/// least three letters long: `double-fork` reaches the macro as the key
/// `double`, and `pid` is a natural shorthand for `pid_file`.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .iter()
        .filter_map(|&candidate| {
            let distance = distance(&word, candidate);
            let close =
                distance <= (candidate.len() / 3).max(1) || (word.len() >= 3 && candidate.starts_with(&word));
            close.then_some((distance, candidate))
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and swaps of two adjacent characters (`umsak` is one typo from `umask`).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between the first i chars of a and first j of b.
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::KEYS;

    #[test]
    fn distances() {
        assert_eq!(distance("umask", "umask"), 0);
        assert_eq!(distance("umsk", "umask"), 1);
        assert_eq!(distance("umsak", "umask"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn typos_find_their_key() {
        assert_eq!(closest("umsk", KEYS), Some("umask"));
        assert_eq!(closest("UMASK", KEYS), Some("umask"));
        assert_eq!(closest("pidfile", KEYS), Some("pid_file"));
        assert_eq!(closest("chdr", KEYS), Some("chdir"));
        assert_eq!(closest("close_fd", KEYS), Some("close_fds"));
        assert_eq!(closest("keepfds", KEYS), Some("keep_fds"));
        assert_eq!(closest("double", KEYS), Some("double_fork"));
        assert_eq!(closest("pid", KEYS), Some("pid_file"));
        assert_eq!(closest("crat", KEYS), Some("crate"));
        assert_eq!(closest("usr", KEYS), Some("user"));
        assert_eq!(closest("gruop", KEYS), Some("group"));
        assert_eq!(closest("chrot", KEYS), Some("chroot"));
        assert_eq!(closest("core_dump", KEYS), Some("core_dumps"));
        assert_eq!(closest("stdot", KEYS), Some("stdout"));
        assert_eq!(closest("stdrr", KEYS), Some("stderr"));
        assert_eq!(closest("redy", KEYS), Some("ready"));
        assert_eq!(closest("ready_timout", KEYS), Some("ready_timeout"));
        assert_eq!(closest("forground", KEYS), Some("foreground"));
        assert_eq!(closest("fore", KEYS), Some("foreground"));
    }

    #[test]
    fn far_words_find_nothing() {
        assert_eq!(closest("verbose", KEYS), None);
        assert_eq!(closest("detach", KEYS), None);
        assert_eq!(closest("timeout", KEYS), None);
        assert_eq!(closest("x", KEYS), None);
    }
}
