//! `Key`: how a key's bytes are stored in the keyspace — inline when short, on the heap otherwise.
//!
//! Almost every real key is short (`user:1000`, `session:4f2a...`), and a heap allocation per key
//! costs a 32-byte malloc chunk plus a pointer. Keeping keys of up to 22 bytes inside the 24-byte
//! value itself removes that allocation for them; measured on one million `key:N` keys this is the
//! difference between using more memory than redis-server and using less (docs/benchmarks.md).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest key stored inline.
const INLINE_MAX: usize = 22;

/// A key's bytes. Behaves as a `[u8]` (deref, hash, equality, order), so maps keyed by `Key`
/// are looked up with plain byte slices.
#[derive(Clone)]
pub enum Key {
    /// Up to `INLINE_MAX` bytes kept in place.
    Inline {
        /// Number of bytes of `bytes` in use.
        len: u8,
        /// The key, padded with zeros.
        bytes: [u8; INLINE_MAX],
    },
    /// A longer key on the heap.
    Heap(Box<[u8]>),
}

impl Key {
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(b) => b,
        }
    }
}

impl From<&[u8]> for Key {
    fn from(s: &[u8]) -> Key {
        if s.len() <= INLINE_MAX {
            let mut bytes = [0u8; INLINE_MAX];
            bytes[..s.len()].copy_from_slice(s);
            Key::Inline {
                // INLINE_MAX fits in a byte.
                len: s.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(s.into())
        }
    }
}

impl From<Vec<u8>> for Key {
    fn from(v: Vec<u8>) -> Key {
        if v.len() <= INLINE_MAX {
            Key::from(v.as_slice())
        } else {
            Key::Heap(v.into_boxed_slice())
        }
    }
}

impl From<&Vec<u8>> for Key {
    fn from(v: &Vec<u8>) -> Key {
        Key::from(v.as_slice())
    }
}

impl Deref for Key {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

// Hash, equality and order must be exactly those of `[u8]`, because maps keyed by `Key` are
// queried with `&[u8]` through `Borrow`.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn behaves_like_its_bytes() {
        for s in [&b""[..], b"k", &[7u8; 22], &[9u8; 23], &[1u8; 300]] {
            let k = Key::from(s);
            assert_eq!(&*k, s);
            assert_eq!(hash_of(&k), hash_of(s));
            assert_eq!(k, Key::from(s.to_vec()));
        }
        assert!(matches!(Key::from(&[0u8; 22][..]), Key::Inline { .. }));
        assert!(matches!(Key::from(&[0u8; 23][..]), Key::Heap(_)));
        assert!(Key::from(&b"a"[..]) < Key::from(&b"ab"[..]));
        assert_eq!(std::mem::size_of::<Key>(), 24);
    }
}
