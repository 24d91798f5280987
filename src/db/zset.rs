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

    /// Members and scores in (score, member) order. Placeholder: sorts on every call; the
    /// sorted-set work replaces it with an ordered walk.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let mut all: Vec<(&[u8], f64)> = self.scores.iter().map(|(m, &s)| (&m[..], s)).collect();
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)));
        all.into_iter()
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
}
