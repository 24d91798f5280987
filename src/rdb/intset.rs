//! Decoding Redis intsets (`intset.c`), the blob Redis stores all-integer sets of at most
//! `set-max-intset-entries` members in (RDB type `SET_INTSET`). Bounds-checked: a corrupt blob
//! is an error, never a panic or an allocation beyond its size.
//!
//! Layout: the width of every member in bytes (u32 LE: 2, 4 or 8), the member count (u32 LE),
//! then the members as little-endian signed integers of that width, strictly ascending.

/// Size of the header: width and count.
const HEADER: usize = 8;

/// Decodes the members of the intset `blob`, in ascending order.
///
/// # Errors
/// A text describing the problem: an unknown width, a size that does not match the count, or
/// members out of order or repeated (Redis's deep integrity check refuses those too).
pub fn members(blob: &[u8]) -> Result<Vec<i64>, String> {
    let header: [u8; HEADER] = blob
        .get(..HEADER)
        .and_then(|h| h.try_into().ok())
        .ok_or("intset shorter than its header")?;
    let width = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let width = match width {
        2 | 4 | 8 => width as usize,
        other => return Err(format!("intset has an invalid encoding {other}")),
    };
    let body = &blob[HEADER..];
    let count = usize::try_from(count).map_err(|_| "intset count too large")?;
    if count.checked_mul(width) != Some(body.len()) {
        return Err(format!(
            "intset of {count} members of {width} bytes cannot be {} bytes long",
            blob.len()
        ));
    }
    let mut out: Vec<i64> = Vec::with_capacity(count);
    for chunk in body.chunks_exact(width) {
        let v = match *chunk {
            [a, b] => i64::from(i16::from_le_bytes([a, b])),
            [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
            _ => return Err("intset member of an unexpected width".into()),
        };
        if out.last().is_some_and(|&prev| prev >= v) {
            return Err("intset members are not in strictly ascending order".into());
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(width: u32, values: &[i64]) -> Vec<u8> {
        let mut blob = width.to_le_bytes().to_vec();
        blob.extend_from_slice(&(values.len() as u32).to_le_bytes());
        for &v in values {
            blob.extend_from_slice(&v.to_le_bytes()[..width as usize]);
        }
        blob
    }

    #[test]
    fn every_width() {
        assert_eq!(members(&build(2, &[-3, 0, 7])).unwrap(), [-3, 0, 7]);
        assert_eq!(
            members(&build(4, &[-70000, 1, 70000])).unwrap(),
            [-70000, 1, 70000]
        );
        assert_eq!(
            members(&build(8, &[i64::MIN, 0, i64::MAX])).unwrap(),
            [i64::MIN, 0, i64::MAX]
        );
        assert_eq!(members(&build(2, &[])).unwrap(), Vec::<i64>::new());
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        let blob = build(4, &[1, 2, 3]);
        for cut in 0..blob.len() {
            assert!(members(&blob[..cut]).is_err(), "cut {cut}");
        }
        assert!(members(&build(3, &[1])).is_err());
        assert!(members(&build(2, &[2, 1])).is_err());
        assert!(members(&build(2, &[1, 1])).is_err());
        let mut huge = build(8, &[1]);
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(members(&huge).is_err());
    }
}
