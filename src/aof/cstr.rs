//! How C's string and number functions read bytes, for the AOF loader, the manifest parser and
//! `check-aof`, which must accept and reject exactly what Redis's C code does.

/// The bytes a C string function sees: everything before the first NUL.
pub fn cstr(s: &[u8]) -> &[u8] {
    match memchr::memchr(0, s) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// C `strtol(s, &end, 10)`: the value (saturated) and how many bytes it used (0 when there are
/// no digits, in which case `end` is `s` itself).
pub fn strtol(s: &[u8]) -> (i64, usize) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&c) = s.get(i) {
        if c == b'-' || c == b'+' {
            negative = c == b'-';
            i += 1;
        }
    }
    let digits_start = i;
    let mut value: i64 = 0;
    while let Some(&c) = s.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        let d = i64::from(c - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(d)
        } else {
            value.saturating_mul(10).saturating_add(d)
        };
        i += 1;
    }
    if i == digits_start {
        return (0, 0);
    }
    (value, i)
}

/// glibc `atoll`: `strtol` without the end position (leading whitespace, optional sign, digits
/// up to the first non-digit, saturating on overflow; 0 when there are no digits).
pub fn atoll(s: &[u8]) -> i64 {
    strtol(s).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoll_is_glibc() {
        assert_eq!(atoll(b"12abc"), 12);
        assert_eq!(atoll(b"  -3"), -3);
        assert_eq!(atoll(b"+4"), 4);
        assert_eq!(atoll(b"x"), 0);
        assert_eq!(atoll(b"99999999999999999999999"), i64::MAX);
    }
}
