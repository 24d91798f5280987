//! Random picks shared by HRANDFIELD, SRANDMEMBER, SPOP and ZRANDMEMBER: the count argument and
//! sampling distinct positions.

use std::collections::HashMap;

use super::args;
use super::error::CmdError;
use crate::server::state::random_index;

/// Largest count of a random-pick reply with repetitions (HRANDFIELD/SRANDMEMBER with a negative
/// count). Redis would try to build any size and run out of memory; we refuse instead.
pub const MAX_RANDOM_REPLY: u64 = 100_000_000;

/// The error for a random-pick count of `i64::MIN` (Redis's typo included).
pub const RANDOM_COUNT_RANGE: CmdError = CmdError::fixed(
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
);

/// Parses the count of HRANDFIELD/SRANDMEMBER: any `i64` but `i64::MIN` (Redis's range is
/// `-LONG_MAX..LONG_MAX`).
pub fn random_count(arg: &[u8]) -> Result<i64, CmdError> {
    let n = args::int(arg)?;
    if n == i64::MIN {
        return Err(RANDOM_COUNT_RANGE);
    }
    Ok(n)
}

/// `count` distinct indexes below `len` (requires `count < len`), in random order: a partial
/// Fisher-Yates shuffle whose swaps live in a map, so it costs O(count) whatever `len` is.
pub fn sample_unique(len: usize, count: usize) -> Vec<usize> {
    let mut moved: HashMap<usize, usize> = HashMap::with_capacity(count.saturating_mul(2));
    let mut picked = Vec::with_capacity(count);
    for i in 0..count.min(len) {
        let j = i + random_index(len - i);
        let at_j = moved.get(&j).copied().unwrap_or(j);
        let at_i = moved.get(&i).copied().unwrap_or(i);
        moved.insert(j, at_i);
        picked.push(at_j);
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_samples_are_distinct_and_in_range() {
        for (len, count) in [(1, 0), (2, 1), (10, 9), (1000, 3), (5, 4)] {
            let mut picked = sample_unique(len, count);
            assert_eq!(picked.len(), count);
            assert!(picked.iter().all(|&i| i < len));
            picked.sort_unstable();
            picked.dedup();
            assert_eq!(picked.len(), count);
        }
    }
}
