//! Decoding Redis ziplists (`ziplist.c`), the compact blob Redis before 7.0 stored small lists,
//! hashes and sorted sets in (RDB types `*_ZIPLIST` and quicklist v1 nodes), which Redis 7
//! still loads. Read-only and bounds-checked: a corrupt blob is an error, never a panic, and
//! nothing is allocated beyond what the blob can hold.
//!
//! Layout: total bytes (u32 LE), offset of the last entry (u32 LE), entry count (u16 LE, 65535 =
//! "count them"), the entries, and a 0xFF terminator. Each entry is:
//! - the previous entry's size: one byte below 254, or 254 and a u32 LE;
//! - an encoding: `00pppppp` (string up to 63 bytes), `01pppppp qqqqqqqq` (14-bit length, big
//!   endian), `10000000` + u32 BE (32-bit length); or an integer: `0xC0` i16, `0xD0` i32,
//!   `0xE0` i64, `0xF0` 24-bit, `0xFE` i8 (all little endian), `0xF1..=0xFD` the values 0..=12;
//! - the data.

use super::listpack::Entry;

/// Size of the header: total bytes, tail offset, count.
const HEADER: usize = 10;
/// The terminator byte.
const END: u8 = 0xff;
/// First byte of a 5-byte previous-entry length.
const BIG_PREVLEN: u8 = 254;
/// The entry count value meaning "unknown, walk the list".
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Reads `N` bytes at `at`.
fn bytes<const N: usize>(blob: &[u8], at: usize) -> Result<[u8; N], String> {
    blob.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| "entry runs past the end of the ziplist".to_string())
}

/// Decodes the entry at `at`: its previous-entry length, the element and the entry's size.
fn entry(blob: &[u8], at: usize) -> Result<(usize, Entry<'_>, usize), String> {
    let first = *blob
        .get(at)
        .ok_or("entry runs past the end of the ziplist")?;
    let (prevlen, p) = if first < BIG_PREVLEN {
        (usize::from(first), 1)
    } else if first == BIG_PREVLEN {
        let v = u32::from_le_bytes(bytes::<4>(blob, at + 1)?);
        (usize::try_from(v).map_err(|_| "bad prevlen")?, 5)
    } else {
        return Err("ziplist entry starts with an invalid prevlen byte".into());
    };
    let at_enc = at + p;
    let enc = *blob
        .get(at_enc)
        .ok_or("entry runs past the end of the ziplist")?;
    let string = |header: usize, len: usize| -> Result<(usize, Entry<'_>, usize), String> {
        let start = at_enc + header;
        let s = start
            .checked_add(len)
            .and_then(|end| blob.get(start..end))
            .ok_or("string entry runs past the end of the ziplist")?;
        Ok((prevlen, Entry::Str(s), p + header + len))
    };
    let int = |v: i64, data: usize| Ok((prevlen, Entry::Int(v), p + 1 + data));
    match enc {
        0x00..=0x3f => string(1, usize::from(enc)),
        0x40..=0x7f => {
            let [lo] = bytes::<1>(blob, at_enc + 1)?;
            string(2, usize::from(enc & 0x3f) << 8 | usize::from(lo))
        }
        0x80 => {
            let len = u32::from_be_bytes(bytes::<4>(blob, at_enc + 1)?);
            string(5, usize::try_from(len).map_err(|_| "string too long")?)
        }
        0xc0 => int(i64::from(i16::from_le_bytes(bytes(blob, at_enc + 1)?)), 2),
        0xd0 => int(i64::from(i32::from_le_bytes(bytes(blob, at_enc + 1)?)), 4),
        0xe0 => int(i64::from_le_bytes(bytes(blob, at_enc + 1)?), 8),
        0xf0 => {
            let [a, b, c] = bytes::<3>(blob, at_enc + 1)?;
            // Place the 24 bits high in an i32 and shift back down to sign-extend.
            int(i64::from(i32::from_le_bytes([0, a, b, c]) >> 8), 3)
        }
        0xfe => int(i64::from(i8::from_le_bytes(bytes(blob, at_enc + 1)?)), 1),
        0xf1..=0xfd => int(i64::from(enc & 0x0f) - 1, 0),
        _ => Err(format!("invalid ziplist entry encoding 0x{enc:02x}")),
    }
}

/// Decodes every element of the ziplist `blob`, checking its header (size, tail offset, count),
/// every entry's previous-length field and the terminator.
///
/// # Errors
/// A text describing the first inconsistency found.
pub fn entries(blob: &[u8]) -> Result<Vec<Entry<'_>>, String> {
    if blob.len() < HEADER + 1 {
        return Err("ziplist shorter than its header".into());
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]);
    if usize::try_from(total).ok() != Some(blob.len()) {
        return Err(format!(
            "ziplist header says {total} bytes but the blob has {}",
            blob.len()
        ));
    }
    let tail = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]);
    let count = u16::from_le_bytes([blob[8], blob[9]]);
    // Every entry takes at least 2 bytes, which bounds the preallocation.
    let mut out = Vec::with_capacity(usize::from(count).min(blob.len() / 2));
    let mut at = HEADER;
    let mut last = HEADER;
    let mut prev_size = 0;
    loop {
        match blob.get(at) {
            None => return Err("ziplist has no terminator".into()),
            Some(&END) => break,
            Some(_) => {}
        }
        let (prevlen, e, size) = entry(blob, at)?;
        if prevlen != prev_size {
            return Err("ziplist entry has a wrong previous-entry length".into());
        }
        out.push(e);
        last = at;
        prev_size = size;
        at += size;
    }
    if at + 1 != blob.len() {
        return Err("ziplist has bytes after its terminator".into());
    }
    if usize::try_from(tail).ok() != Some(last) {
        return Err("ziplist tail offset does not point at its last entry".into());
    }
    if count != COUNT_UNKNOWN && usize::from(count) != out.len() {
        return Err(format!(
            "ziplist header says {count} entries but it holds {}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encodes elements as Redis would (integers in the smallest form), for tests.
    pub fn build(elements: &[Entry<'_>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut last = HEADER;
        for e in elements {
            let start = body.len();
            last = HEADER + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(BIG_PREVLEN);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match *e {
                Entry::Int(v) if (0..=12).contains(&v) => body.push(0xf1 + v as u8),
                Entry::Int(v) if i8::try_from(v).is_ok() => {
                    body.extend_from_slice(&[0xfe, v as u8])
                }
                Entry::Int(v) if i16::try_from(v).is_ok() => {
                    body.push(0xc0);
                    body.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Entry::Int(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                    body.push(0xf0);
                    body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                Entry::Int(v) if i32::try_from(v).is_ok() => {
                    body.push(0xd0);
                    body.extend_from_slice(&(v as i32).to_le_bytes());
                }
                Entry::Int(v) => {
                    body.push(0xe0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
                Entry::Str(s) if s.len() < 64 => {
                    body.push(s.len() as u8);
                    body.extend_from_slice(s);
                }
                Entry::Str(s) if s.len() < 16384 => {
                    body.extend_from_slice(&[0x40 | (s.len() >> 8) as u8, s.len() as u8]);
                    body.extend_from_slice(s);
                }
                Entry::Str(s) => {
                    body.push(0x80);
                    body.extend_from_slice(&(s.len() as u32).to_be_bytes());
                    body.extend_from_slice(s);
                }
            }
            prev = body.len() - start;
        }
        let total = HEADER + body.len() + 1;
        let mut blob = (total as u32).to_le_bytes().to_vec();
        blob.extend_from_slice(&(last as u32).to_le_bytes());
        blob.extend_from_slice(&(elements.len().min(65535) as u16).to_le_bytes());
        blob.extend_from_slice(&body);
        blob.push(END);
        blob
    }

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'q'; 20_000];
        let mid = vec![b'm'; 300];
        let elements = [
            Entry::Int(0),
            Entry::Int(12),
            Entry::Int(13),
            Entry::Int(-128),
            Entry::Int(-32768),
            Entry::Int(32767),
            Entry::Int(-8_388_608),
            Entry::Int(8_388_607),
            Entry::Int(i64::from(i32::MIN)),
            Entry::Int(i64::MAX),
            Entry::Str(b""),
            Entry::Str(b"hello"),
            Entry::Str(&mid),
            Entry::Str(&long),
            Entry::Str(b"after a big prevlen"),
        ];
        let blob = build(&elements);
        assert_eq!(entries(&blob).unwrap(), elements);
        assert_eq!(entries(&build(&[])).unwrap(), []);
    }

    #[test]
    fn redis_bytes() {
        // What Redis 6 writes for RPUSH l a 1: header, "a" (prevlen 0, 0x01 'a'), 1 (prevlen 3,
        // immediate 0xf2), end.
        let blob = [16, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0, 0x01, b'a', 3, 0xf2, 0xff];
        assert_eq!(entries(&blob).unwrap(), [Entry::Str(b"a"), Entry::Int(1)]);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        let blob = build(&[Entry::Str(b"abc"), Entry::Int(300), Entry::Int(-5)]);
        for cut in 0..blob.len() {
            assert!(entries(&blob[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = blob.clone();
        bad[8] = 7; // count
        assert!(entries(&bad).is_err());
        let mut bad = blob.clone();
        bad[4] = 10; // tail
        assert!(entries(&bad).is_err());
        let mut bad = blob.clone();
        bad[15] = 9; // prevlen of the second entry
        assert!(entries(&bad).is_err());
        let mut bad = blob.clone();
        bad[11] = 0xc5; // invalid encoding
        assert!(entries(&bad).is_err());
        // A huge string length must not allocate or panic.
        let mut bad = vec![0u8; 10];
        bad.extend_from_slice(&[0, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let n = bad.len() as u32;
        bad[..4].copy_from_slice(&n.to_le_bytes());
        bad[4] = 10;
        assert!(entries(&bad).is_err());
    }
}
