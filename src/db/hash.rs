//! The value of a hash key: its fields in an insertion-indexed map, plus the encoding Redis 7.0
//! would have given it (`listpack` or `hashtable`, as OBJECT ENCODING reports it).
//!
//! Redis converts a hash from a listpack to a hash table one way only: when a field or value
//! longer than `hash-max-listpack-value` is written, or when the hash grows past
//! `hash-max-listpack-entries` fields. Shrinking never converts back, so the encoding is state,
//! not a function of the contents; every mutation goes through this type, which updates it.
//!
//! A listpack keeps insertion order (an update stays in place, a deletion closes the gap), which
//! clients see in HGETALL, HSCAN and HRANDFIELD: a listpack hash removes with `shift_remove`
//! (O(n) for at most `LISTPACK_MAX_ENTRIES` fields, like the listpack's own memmove), a hash
//! table with `swap_remove` (O(1)).

use std::ops::Deref;

use indexmap::IndexMap;

/// `hash-max-listpack-entries` as redis-server 7.0 has it built in (its sample redis.conf says
/// 128, but a server started without that file uses 512).
pub const LISTPACK_MAX_ENTRIES: usize = 512;
/// `hash-max-listpack-value`: a longer field or value makes the hash a hash table.
pub const LISTPACK_MAX_VALUE: usize = 64;

/// A hash and its Redis encoding. Reads go through `Deref` to the map; writes through the
/// methods below, so that the encoding can never be bypassed.
#[derive(Clone, Debug, PartialEq)]
pub struct Hash {
    /// Field to value, in listpack order while `listpack` holds.
    map: IndexMap<Vec<u8>, Vec<u8>>,
    /// Whether Redis would still hold this hash in a listpack.
    listpack: bool,
}

impl Default for Hash {
    /// An empty hash, which Redis creates as a listpack.
    fn default() -> Self {
        Hash {
            map: IndexMap::new(),
            listpack: true,
        }
    }
}

impl Deref for Hash {
    type Target = IndexMap<Vec<u8>, Vec<u8>>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl Hash {
    /// An empty hash (a listpack).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether Redis would hold this hash in a listpack (HSCAN then answers in one reply).
    pub fn is_listpack(&self) -> bool {
        self.listpack
    }

    /// The encoding OBJECT ENCODING reports: `listpack` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        if self.listpack {
            "listpack"
        } else {
            "hashtable"
        }
    }

    /// Sets `field` to `value` (updating in place, allocating only for a new field) and converts
    /// to a hash table as Redis does: a long field or value converts before the write (even when
    /// it replaces an existing field), a field count past the limit after it. Returns whether the
    /// field is new. O(1).
    pub fn put(&mut self, field: &[u8], value: &[u8]) -> bool {
        if field.len() > LISTPACK_MAX_VALUE || value.len() > LISTPACK_MAX_VALUE {
            self.listpack = false;
        }
        let created = match self.map.get_mut(field) {
            Some(slot) => {
                slot.clear();
                slot.extend_from_slice(value);
                false
            }
            None => {
                self.map.insert(field.to_vec(), value.to_vec());
                true
            }
        };
        if self.map.len() > LISTPACK_MAX_ENTRIES {
            self.listpack = false;
        }
        created
    }

    /// Removes `field`; returns whether it was there. A listpack keeps its order; a hash table
    /// swaps the last field into the hole. Both only move fields to lower indexes, which keeps
    /// the HSCAN guarantee (see `Db::scan_indexes`).
    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.listpack {
            self.map.shift_remove(field).is_some()
        } else {
            self.map.swap_remove(field).is_some()
        }
    }
}

impl<'a> IntoIterator for &'a Hash {
    type Item = (&'a Vec<u8>, &'a Vec<u8>);
    type IntoIter = indexmap::map::Iter<'a, Vec<u8>, Vec<u8>>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<F: AsRef<[u8]>, V: AsRef<[u8]>> FromIterator<(F, V)> for Hash {
    /// Builds a hash by setting each pair in turn, so its encoding is what Redis would reach.
    fn from_iter<I: IntoIterator<Item = (F, V)>>(pairs: I) -> Self {
        let mut h = Hash::new();
        for (f, v) in pairs {
            h.put(f.as_ref(), v.as_ref());
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(h: &Hash) -> Vec<&[u8]> {
        h.keys().map(|f| &f[..]).collect()
    }

    #[test]
    fn listpack_order_survives_updates_and_deletes() {
        let mut h: Hash = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
            .into_iter()
            .collect();
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert!(!h.put(b"a", b"9"));
        assert!(h.put(b"b", b"5"));
        assert_eq!(fields(&h), [&b"a"[..], b"c", b"d", b"b"]);
        assert_eq!(h.get(&b"a"[..]).map(|v| &v[..]), Some(&b"9"[..]));
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn conversion_is_one_way() {
        let mut h = Hash::new();
        h.put(&[b'f'; 64], &[b'v'; 64]);
        assert!(h.is_listpack());
        h.put(b"f", &[b'v'; 65]);
        assert_eq!(h.encoding(), "hashtable");
        h.remove(b"f");
        h.put(b"f", b"short");
        assert_eq!(h.encoding(), "hashtable");

        let mut h: Hash = (0..LISTPACK_MAX_ENTRIES)
            .map(|i| (i.to_string(), "v"))
            .collect();
        assert!(h.is_listpack());
        h.put(b"one more", b"v");
        assert!(!h.is_listpack());
        h.remove(b"one more");
        h.remove(b"0");
        assert_eq!(h.encoding(), "hashtable");
    }
}
