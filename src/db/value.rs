//! The value types a key can hold, and Redis's names for them (TYPE) and their encodings
//! (OBJECT ENCODING).

use std::collections::VecDeque;

use super::hash::Hash;
use super::set::Set;
use super::zset::ZSet;

/// One keyspace value. Big variants are boxed so that the enum, which sits in every keyspace
/// slot, stays small for the common string case.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string (also integers: Redis keeps them as strings with an `int` encoding).
    Str(Vec<u8>),
    /// A list.
    List(Box<VecDeque<Vec<u8>>>),
    /// A hash, with its encoding. Insertion-indexed so HSCAN cursors and HRANDFIELD are O(1)
    /// per step.
    Hash(Box<Hash>),
    /// A set, with its encoding. Insertion-indexed so SSCAN cursors, SPOP and SRANDMEMBER are
    /// O(1) per step.
    Set(Box<Set>),
    /// A sorted set.
    ZSet(Box<ZSet>),
}

impl Value {
    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// Whether the value is an empty collection, which Redis never keeps in the keyspace.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}
