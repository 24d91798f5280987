//! The value of a set key: its members in an insertion-indexed set, plus the encoding Redis 7.0
//! would have given it (`intset` or `hashtable`, as OBJECT ENCODING reports it).
//!
//! Redis creates a set as an intset when its first member is an integer in canonical form
//! (`string2ll` accepts it and it prints back the same) and converts it to a hash table one way
//! only: when a non-integer is added or it grows past `set-max-intset-entries`. Removing members
//! never converts back, so the encoding is state; every mutation goes through this type.
//!
//! An intset is sorted, which clients see (SMEMBERS, SSCAN, SINTER list it in numeric order), so
//! while the set is an intset its members are kept in numeric order: an insert is a binary search
//! plus an O(n) shift, a removal an O(n) shift, as in Redis's intset, for at most
//! `INTSET_MAX_ENTRIES` members. A hash table removes with `swap_remove`, O(1).

use std::cmp::Ordering;
use std::ops::Deref;

use indexmap::IndexSet;

use crate::protocol::parser::parse_i64;

/// `set-max-intset-entries` (Redis 7.0's default).
pub const INTSET_MAX_ENTRIES: usize = 512;

/// A set and its Redis encoding. Reads go through `Deref` to the members; writes through the
/// methods below, so that the encoding and the intset order can never be bypassed.
#[derive(Clone, Debug, PartialEq)]
pub struct Set {
    /// The members; in numeric order while `intset` holds.
    members: IndexSet<Vec<u8>>,
    /// Whether Redis would still hold this set as an intset.
    intset: bool,
}

impl Default for Set {
    /// An empty set. Redis starts result sets (SINTERSTORE ...) as empty intsets and creates
    /// others for their first member; both convert on the first non-integer, so starting as an
    /// intset gives the same encoding either way.
    fn default() -> Self {
        Set {
            members: IndexSet::new(),
            intset: true,
        }
    }
}

impl Deref for Set {
    type Target = IndexSet<Vec<u8>>;

    fn deref(&self) -> &Self::Target {
        &self.members
    }
}

/// Numeric order of a stored intset member against `n`. Intset members are canonical integers,
/// so they always parse; anything else would sort first.
fn cmp_member(member: &[u8], n: i64) -> Ordering {
    parse_i64(member).map_or(Ordering::Less, |m| m.cmp(&n))
}

impl Set {
    /// An empty set (see `Default`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether Redis would hold this set as an intset (SSCAN then answers in one reply).
    pub fn is_intset(&self) -> bool {
        self.intset
    }

    /// The encoding OBJECT ENCODING reports: `intset` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        if self.intset {
            "intset"
        } else {
            "hashtable"
        }
    }

    /// Adds `member`; returns whether it was new. Converts to a hash table as Redis does: before
    /// adding a non-integer, after growing past the intset limit. O(1) for a hash table,
    /// O(log n + n) with n <= `INTSET_MAX_ENTRIES` for an intset.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.members.contains(member) {
            return false;
        }
        if self.intset {
            if let Some(n) = parse_i64(member) {
                let at = match self.members.binary_search_by(|m| cmp_member(m, n)) {
                    Ok(at) | Err(at) => at,
                };
                self.members.shift_insert(at, member.to_vec());
                if self.members.len() > INTSET_MAX_ENTRIES {
                    self.intset = false;
                }
                return true;
            }
            self.intset = false;
        }
        self.members.insert(member.to_vec())
    }

    /// Removes `member`; returns whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        if self.intset {
            self.members.shift_remove(member)
        } else {
            self.members.swap_remove(member)
        }
    }

    /// Removes and returns the member at `index` (for random pops).
    pub fn remove_index(&mut self, index: usize) -> Option<Vec<u8>> {
        if self.intset {
            self.members.shift_remove_index(index)
        } else {
            self.members.swap_remove_index(index)
        }
    }
}

impl<'a> IntoIterator for &'a Set {
    type Item = &'a Vec<u8>;
    type IntoIter = indexmap::set::Iter<'a, Vec<u8>>;

    fn into_iter(self) -> Self::IntoIter {
        self.members.iter()
    }
}

impl<M: AsRef<[u8]>> FromIterator<M> for Set {
    /// Builds a set by adding each member in turn to a fresh set, as Redis builds SINTERSTORE,
    /// SUNIONSTORE and SDIFFSTORE results, so its encoding is what Redis would reach.
    fn from_iter<I: IntoIterator<Item = M>>(members: I) -> Self {
        let mut s = Set::new();
        for m in members {
            s.insert(m.as_ref());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &Set) -> Vec<&str> {
        s.iter()
            .map(|m| std::str::from_utf8(m).unwrap_or("?"))
            .collect()
    }

    #[test]
    fn an_intset_stays_in_numeric_order() {
        let mut s: Set = ["50", "3", "-4", "100", "3"].into_iter().collect();
        assert_eq!(members(&s), ["-4", "3", "50", "100"]);
        assert!(s.insert(b"7"));
        assert!(!s.insert(b"7"));
        assert!(s.remove(b"3"));
        assert_eq!(s.remove_index(0), Some(b"-4".to_vec()));
        assert_eq!(members(&s), ["7", "50", "100"]);
        assert_eq!(s.encoding(), "intset");
        let edges: Set = ["9223372036854775807", "-9223372036854775808", "0"]
            .into_iter()
            .collect();
        assert_eq!(
            members(&edges),
            ["-9223372036854775808", "0", "9223372036854775807"]
        );
        assert!(edges.is_intset());
    }

    #[test]
    fn only_canonical_integers_stay_in_an_intset() {
        for other in ["a", "01", "-0", "+1", " 1", "9223372036854775808", ""] {
            let s: Set = ["1", other].into_iter().collect();
            assert_eq!(s.encoding(), "hashtable", "{other:?}");
        }
    }

    #[test]
    fn conversion_is_one_way() {
        let mut s: Set = ["1", "x"].into_iter().collect();
        s.remove(b"x");
        assert_eq!(s.encoding(), "hashtable");
        let mut s: Set = (0..INTSET_MAX_ENTRIES).map(|i| i.to_string()).collect();
        assert!(s.is_intset());
        s.insert(b"-1");
        assert!(!s.is_intset());
        s.remove(b"-1");
        s.remove(b"0");
        assert_eq!(s.encoding(), "hashtable");
    }
}
