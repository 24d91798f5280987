//! The keyspace: numbered databases of keys, their values and their expiry times.
//!
//! A `Db` is plain data owned by the data thread; it knows nothing of clients, WATCH, blocking
//! or propagation. Lazy expiry that must also notify those lives one level up, in
//! `cmd::Ctx` and `server::state`, so that every deletion is seen by all of them.

pub mod glob;
pub mod hash;
pub mod key;
pub mod set;
pub mod strenc;
pub mod value;
pub mod zset;

use indexmap::IndexMap;

pub use value::Value;

pub use key::Key;

/// Keys in all of `dbs` (a snapshot's size, INFO `current_save_keys_total`).
pub fn total_keys(dbs: &[Db]) -> u64 {
    dbs.iter().map(|db| db.len() as u64).sum()
}

/// One database (`SELECT n`).
#[derive(Debug, Default)]
pub struct Db {
    /// Every key and its value. `swap_remove` keeps the SCAN guarantee (see `Db::scan`).
    pub keys: IndexMap<Key, Value>,
    /// Unix time in milliseconds at which a key expires; only keys with a TTL are here.
    pub expires: IndexMap<Key, i64>,
}

impl Db {
    /// Number of keys, expired-but-not-yet-reclaimed ones included (as DBSIZE counts them).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the database holds no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The expiry time of `key` in unix milliseconds, if it has one.
    pub fn expire_at(&self, key: &[u8]) -> Option<i64> {
        self.expires.get(key).copied()
    }

    /// Whether `key` exists and its expiry time has passed.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        self.expires.get(key).is_some_and(|&at| at <= now_ms)
    }

    /// Returns the value of `key` without any expiry check.
    pub fn get(&self, key: &[u8]) -> Option<&Value> {
        self.keys.get(key)
    }

    /// Returns the value of `key` mutably, without any expiry check.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.keys.get_mut(key)
    }

    /// The value of `key`, inserting `make()` first if the key is missing (no TTL). One hash
    /// lookup when the key exists, which is the common case for writes to collections.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> Value) -> &mut Value {
        let index = match self.keys.get_index_of(key) {
            Some(index) => index,
            None => self.keys.insert_full(key.into(), make()).0,
        };
        &mut self.keys[index]
    }

    /// Stores `value` under `key`, dropping any TTL (plain SET semantics).
    pub fn set(&mut self, key: &[u8], value: Value) {
        self.expires.swap_remove(key);
        self.insert_keep_ttl(key, value);
    }

    /// Stores `value` under `key` and leaves an existing TTL in place (SET ... KEEPTTL semantics).
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value) {
        if let Some(slot) = self.keys.get_mut(key) {
            *slot = value;
        } else {
            self.keys.insert(key.into(), value);
        }
    }

    /// Removes `key` and its TTL. Returns the value it held.
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let value = self.keys.swap_remove(key)?;
        self.expires.swap_remove(key);
        Some(value)
    }

    /// Sets the expiry time of an existing key. Returns false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) -> bool {
        if !self.keys.contains_key(key) {
            return false;
        }
        if let Some(slot) = self.expires.get_mut(key) {
            *slot = at_ms;
        } else {
            self.expires.insert(key.into(), at_ms);
        }
        true
    }

    /// Removes the TTL of `key`. Returns whether it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.expires.swap_remove(key).is_some()
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.keys = IndexMap::new();
        self.expires = IndexMap::new();
    }

    /// One SCAN step: visits keys from index `cursor - 1` downwards (cursor 0 starts at the end)
    /// until `count` keys were visited, and returns the next cursor (0 when done).
    ///
    /// Architecture Invariant: entries only ever move to a lower index (`swap_remove` moves the
    /// last entry into the hole) and new ones are appended, so walking indexes downwards returns
    /// every key that is present for the whole scan, possibly more than once — Redis's guarantee.
    pub fn scan_indexes(
        len: usize,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(usize),
    ) -> u64 {
        let mut next = if cursor == 0 {
            len
        } else {
            usize::try_from(cursor).unwrap_or(usize::MAX).min(len)
        };
        let mut visited = 0;
        while next > 0 && visited < count.max(1) {
            next -= 1;
            visit(next);
            visited += 1;
        }
        next as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_visits_every_index_once_without_changes() {
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = Db::scan_indexes(25, cursor, 10, |i| seen.push(i));
            if cursor == 0 {
                break;
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..25).collect::<Vec<_>>());
    }
}
