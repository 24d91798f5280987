//! Decoding Redis listpacks (`listpack.c`), the compact blob Redis 7 stores small hashes, sorted
//! sets and (7.2) sets in, and quicklist nodes of lists. Read-only and bounds-checked: a corrupt
//! blob is an error, never a panic, and nothing is allocated beyond what the blob can hold.
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 = "count them"), the entries, and
//! a 0xFF terminator. Each entry is an encoding byte (with data) followed by a "backlen", the
//! entry's own size in 1..=5 bytes of 7 bits, so the list can be walked backwards:
//! - `0xxxxxxx`: 7-bit unsigned integer;
//! - `10xxxxxx`: string of up to 63 bytes; `1110xxxx yyyyyyyy`: 12-bit length;
//!   `0xF0` + u32 LE: 32-bit length;
//! - `110xxxxx yyyyyyyy`: 13-bit signed integer; `0xF1`/`0xF2`/`0xF3`/`0xF4` + 2/3/4/8 bytes
//!   LE: 16/24/32/64-bit signed integers.

/// One element of a listpack or ziplist: its string bytes or the integer it was stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    /// A string element.
    Str(&'a [u8]),
    /// An integer element (Redis stores decimal strings that fit an `i64` this way).
    Int(i64),
}

impl Entry<'_> {
    /// The element as bytes, exactly allocated (integers in decimal, as Redis returns them).
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Entry::Str(s) => s.to_vec(),
            Entry::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
        }
    }

    /// The element read as a sorted-set score: integers convert, strings must be a double as
    /// `strtod` reads it; NaN is refused.
    pub fn to_score(self) -> Option<f64> {
        match self {
            Entry::Int(n) => Some(n as f64),
            Entry::Str(s) => crate::cmd::args::parse_f64(s),
        }
    }
}

/// Size of the header: total bytes (4) and element count (2).
const HEADER: usize = 6;
/// The terminator byte.
const END: u8 = 0xff;
/// The element count value meaning "unknown, walk the list".
const COUNT_UNKNOWN: u16 = u16::MAX;

/// The backlen bytes Redis writes for an entry of `len` bytes (encoding plus data): 7 bits per
/// byte, most significant group first, every byte but the first flagged with 0x80.
fn backlen(len: usize, buf: &mut [u8; 5]) -> usize {
    let n = match len {
        0..=127 => 1,
        128..=16_382 => 2,
        16_383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    for (k, slot) in buf.iter_mut().take(n).enumerate() {
        let group = ((len >> (7 * (n - 1 - k))) & 0x7f) as u8;
        *slot = if k == 0 { group } else { group | 0x80 };
    }
    n
}

/// Reads `N` bytes at `at`.
fn bytes<const N: usize>(blob: &[u8], at: usize) -> Result<[u8; N], String> {
    blob.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| "entry runs past the end of the listpack".to_string())
}

/// Decodes the entry at `at`: the element and the size of encoding plus data.
fn entry(blob: &[u8], at: usize) -> Result<(Entry<'_>, usize), String> {
    let b = *blob
        .get(at)
        .ok_or("entry runs past the end of the listpack")?;
    let string = |header: usize, len: usize| -> Result<(Entry<'_>, usize), String> {
        let start = at + header;
        let s = start
            .checked_add(len)
            .and_then(|end| blob.get(start..end))
            .ok_or("string entry runs past the end of the listpack")?;
        Ok((Entry::Str(s), header + len))
    };
    match b {
        0x00..=0x7f => Ok((Entry::Int(i64::from(b)), 1)),
        0x80..=0xbf => string(1, usize::from(b & 0x3f)),
        0xc0..=0xdf => {
            let [lo] = bytes::<1>(blob, at + 1)?;
            let raw = i64::from(b & 0x1f) << 8 | i64::from(lo);
            // Sign-extend from 13 bits.
            let v = if raw >= 1 << 12 { raw - (1 << 13) } else { raw };
            Ok((Entry::Int(v), 2))
        }
        0xe0..=0xef => {
            let [lo] = bytes::<1>(blob, at + 1)?;
            string(2, usize::from(b & 0x0f) << 8 | usize::from(lo))
        }
        0xf0 => {
            let len = u32::from_le_bytes(bytes::<4>(blob, at + 1)?);
            string(5, usize::try_from(len).map_err(|_| "string too long")?)
        }
        0xf1 => Ok((
            Entry::Int(i64::from(i16::from_le_bytes(bytes(blob, at + 1)?))),
            3,
        )),
        0xf2 => {
            let [a, b2, c] = bytes::<3>(blob, at + 1)?;
            // Place the 24 bits high in an i32 and shift back down to sign-extend.
            let v = i32::from_le_bytes([0, a, b2, c]) >> 8;
            Ok((Entry::Int(i64::from(v)), 4))
        }
        0xf3 => Ok((
            Entry::Int(i64::from(i32::from_le_bytes(bytes(blob, at + 1)?))),
            5,
        )),
        0xf4 => Ok((Entry::Int(i64::from_le_bytes(bytes(blob, at + 1)?)), 9)),
        _ => Err(format!("invalid listpack entry encoding 0x{b:02x}")),
    }
}

/// Decodes every element of the listpack `blob`, checking its header, every entry's backlen and
/// the terminator.
///
/// # Errors
/// A text describing the first inconsistency found.
pub fn entries(blob: &[u8]) -> Result<Vec<Entry<'_>>, String> {
    if blob.len() < HEADER + 1 {
        return Err("listpack shorter than its header".into());
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]);
    if usize::try_from(total).ok() != Some(blob.len()) {
        return Err(format!(
            "listpack header says {total} bytes but the blob has {}",
            blob.len()
        ));
    }
    let count = u16::from_le_bytes([blob[4], blob[5]]);
    // Every entry takes at least 2 bytes, which bounds the preallocation.
    let mut out = Vec::with_capacity(usize::from(count).min(blob.len() / 2));
    let mut at = HEADER;
    loop {
        match blob.get(at) {
            None => return Err("listpack has no terminator".into()),
            Some(&END) => break,
            Some(_) => {}
        }
        let (e, size) = entry(blob, at)?;
        let mut expected = [0u8; 5];
        let n = backlen(size, &mut expected);
        let found = blob
            .get(at + size..at + size + n)
            .ok_or("entry backlen runs past the end of the listpack")?;
        if found != &expected[..n] {
            return Err("listpack entry has a wrong backlen".into());
        }
        out.push(e);
        at += size + n;
    }
    if at + 1 != blob.len() {
        return Err("listpack has bytes after its terminator".into());
    }
    if count != COUNT_UNKNOWN && usize::from(count) != out.len() {
        return Err(format!(
            "listpack header says {count} elements but it holds {}",
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
        for e in elements {
            let start = body.len();
            match *e {
                Entry::Int(v) if (0..=127).contains(&v) => body.push(v as u8),
                Entry::Int(v) if (-4096..4096).contains(&v) => {
                    let u = (v as u16) & 0x1fff;
                    body.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
                }
                Entry::Int(v) if i16::try_from(v).is_ok() => {
                    body.push(0xf1);
                    body.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Entry::Int(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                    body.push(0xf2);
                    body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                Entry::Int(v) if i32::try_from(v).is_ok() => {
                    body.push(0xf3);
                    body.extend_from_slice(&(v as i32).to_le_bytes());
                }
                Entry::Int(v) => {
                    body.push(0xf4);
                    body.extend_from_slice(&v.to_le_bytes());
                }
                Entry::Str(s) if s.len() < 64 => {
                    body.push(0x80 | s.len() as u8);
                    body.extend_from_slice(s);
                }
                Entry::Str(s) if s.len() < 4096 => {
                    body.extend_from_slice(&[0xe0 | (s.len() >> 8) as u8, s.len() as u8]);
                    body.extend_from_slice(s);
                }
                Entry::Str(s) => {
                    body.push(0xf0);
                    body.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    body.extend_from_slice(s);
                }
            }
            let mut bl = [0u8; 5];
            let n = backlen(body.len() - start, &mut bl);
            body.extend_from_slice(&bl[..n]);
        }
        let total = HEADER + body.len() + 1;
        let mut blob = (total as u32).to_le_bytes().to_vec();
        blob.extend_from_slice(&(elements.len().min(65535) as u16).to_le_bytes());
        blob.extend_from_slice(&body);
        blob.push(END);
        blob
    }

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'q'; 5000];
        let mid = vec![b'm'; 300];
        let elements = [
            Entry::Int(0),
            Entry::Int(127),
            Entry::Int(128),
            Entry::Int(-1),
            Entry::Int(-4096),
            Entry::Int(4095),
            Entry::Int(-32768),
            Entry::Int(32767),
            Entry::Int(-8_388_608),
            Entry::Int(8_388_607),
            Entry::Int(i64::from(i32::MIN)),
            Entry::Int(i64::MAX),
            Entry::Int(i64::MIN),
            Entry::Str(b""),
            Entry::Str(b"hello"),
            Entry::Str(&mid),
            Entry::Str(&long),
        ];
        let blob = build(&elements);
        assert_eq!(entries(&blob).unwrap(), elements);
    }

    #[test]
    fn empty_and_unknown_count() {
        assert_eq!(entries(&build(&[])).unwrap(), []);
        let mut blob = build(&[Entry::Str(b"a"), Entry::Int(5)]);
        blob[4] = 0xff;
        blob[5] = 0xff;
        assert_eq!(entries(&blob).unwrap().len(), 2);
    }

    #[test]
    fn redis_bytes() {
        // What Redis 7.0 writes for RPUSH l a 1: "a" (0x81 'a', backlen 2), 1 (0x01, backlen 1).
        let blob = [12, 0, 0, 0, 2, 0, 0x81, b'a', 2, 0x01, 1, 0xff];
        assert_eq!(entries(&blob).unwrap(), [Entry::Str(b"a"), Entry::Int(1)]);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        let blob = build(&[Entry::Str(b"abc"), Entry::Int(300), Entry::Int(-5)]);
        for cut in 0..blob.len() {
            assert!(entries(&blob[..cut]).is_err(), "cut {cut}");
        }
        // Wrong count, bad backlen, bad encoding, trailing bytes.
        let mut bad = blob.clone();
        bad[4] = 9;
        assert!(entries(&bad).is_err());
        let mut bad = blob.clone();
        bad[10] ^= 1;
        assert!(entries(&bad).is_err());
        let mut bad = blob.clone();
        bad[6] = 0xf7;
        assert!(entries(&bad).is_err());
        let mut bad = blob.clone();
        bad.push(0);
        bad[0] += 1;
        assert!(entries(&bad).is_err());
        // A huge string length must not allocate or panic.
        let mut bad = vec![0u8; 6];
        bad.extend_from_slice(&[0xf0, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let n = bad.len() as u32;
        bad[..4].copy_from_slice(&n.to_le_bytes());
        assert!(entries(&bad).is_err());
    }
}
