//! Which of Redis's string encodings (`int`, `embstr`, `raw`) a stored string has, recorded
//! without a byte of extra memory: in the spare capacity of the string's own allocation.
//!
//! Redis's encoding of a string is visible to clients (OBJECT ENCODING, DEBUG OBJECT) and depends
//! on how the value was made, not only on its bytes: `SET k 12` stores `int`, but APPEND and
//! SETRANGE produce `raw` even for short values, and INCRBYFLOAT produces `embstr` even for an
//! integral result. Growing every string value by a flag would cost 8 bytes per key, so the
//! encoding is kept in the allocation instead:
//!
//! - capacity == length: the encoding follows from the bytes, as for `SET` (`int` if the value is
//!   a canonical integer of at most 20 characters, `embstr` up to 44 bytes, `raw` beyond);
//! - capacity == length + 1: `embstr` whatever the bytes (up to 44 bytes);
//! - capacity >= length + 2: `raw`.
//!
//! Every way of building a string allocates exactly (`to_vec`, `clone`), so only the functions
//! below create the marked states. Copying a value must go through [`copy_encoding`].

use crate::protocol::parser::parse_i64;

/// Longest string Redis stores as `embstr`.
const EMBSTR_MAX: usize = 44;

/// The encoding OBJECT ENCODING reports for a stored string.
pub fn encoding(s: &Vec<u8>) -> &'static str {
    let spare = s.capacity() - s.len();
    if s.len() > EMBSTR_MAX || spare >= 2 {
        "raw"
    } else if spare == 1 {
        "embstr"
    } else if s.len() <= 20 && parse_i64(s).is_some() {
        "int"
    } else {
        "embstr"
    }
}

/// Marks `s` as `raw` (APPEND to an existing value, SETRANGE).
pub fn mark_raw(s: &mut Vec<u8>) {
    if s.capacity() - s.len() < 2 {
        s.reserve(2);
    }
}

/// Marks `s` as `embstr` even if it holds an integer (INCRBYFLOAT's result).
pub fn mark_embstr(s: &mut Vec<u8>) {
    if s.len() <= EMBSTR_MAX {
        s.shrink_to_fit();
        s.reserve_exact(1);
    }
}

/// Gives `copy`, an exact clone of `original`, the same encoding (COPY keeps it, as Redis's
/// `dupStringObject` does).
pub fn copy_encoding(original: &Vec<u8>, copy: &mut Vec<u8>) {
    match encoding(original) {
        "raw" => mark_raw(copy),
        "embstr" if original.capacity() > original.len() => mark_embstr(copy),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_the_markers() {
        let exact = |b: &[u8]| b.to_vec();
        assert_eq!(encoding(&exact(b"123")), "int");
        assert_eq!(encoding(&exact(b"0123")), "embstr");
        assert_eq!(encoding(&exact(&[b'a'; 44])), "embstr");
        assert_eq!(encoding(&exact(&[b'a'; 45])), "raw");
        let mut raw = exact(b"12");
        mark_raw(&mut raw);
        assert_eq!(encoding(&raw), "raw");
        let mut emb = exact(b"12");
        mark_embstr(&mut emb);
        assert_eq!(encoding(&emb), "embstr");
        let mut copy = emb.clone();
        copy_encoding(&emb, &mut copy);
        assert_eq!(encoding(&copy), "embstr");
        let mut copy = raw.clone();
        copy_encoding(&raw, &mut copy);
        assert_eq!(encoding(&copy), "raw");
    }
}
