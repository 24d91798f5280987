//! The sorted set: members ordered by (score, member), with O(1) score lookup by member.

use std::collections::HashMap;

/// A sorted set. Placeholder shape; the sorted-set work owns this file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZSet {
    /// Score of each member.
    pub scores: HashMap<Vec<u8>, f64>,
}

impl ZSet {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
}
