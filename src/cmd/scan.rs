//! What the SCAN family (SCAN, HSCAN, SSCAN, ZSCAN) shares: the cursor, the MATCH/COUNT options
//! and the reply shape.

use bytes::Bytes;

use super::args;
use super::error::{CmdError, NOT_INTEGER, SYNTAX};
use crate::protocol::Reply;

/// `ERR invalid cursor`.
pub const INVALID_CURSOR: CmdError = CmdError::fixed("ERR invalid cursor");

/// Parses a SCAN-family cursor as Redis does with C `strtoul`: an optional sign (a negative
/// cursor wraps around), decimal digits, nothing after them; the text ends at a NUL byte as a C
/// string would, and an empty cursor is 0. A leading space or an overflow is invalid.
///
/// # Errors
/// [`INVALID_CURSOR`].
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let c_str = arg.split(|&b| b == 0).next().unwrap_or(&[]);
    match c_str.first() {
        None => return Ok(0),
        Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) => return Err(INVALID_CURSOR),
        Some(_) => {}
    }
    let (negative, digits) = match c_str.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, c_str),
    };
    if digits.is_empty() {
        return Err(INVALID_CURSOR);
    }
    let mut value: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(INVALID_CURSOR);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(INVALID_CURSOR)?;
    }
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// The MATCH and COUNT options of HSCAN/SSCAN/ZSCAN.
pub struct ScanOptions<'a> {
    /// The glob elements must match; `None` for no filter (also for `*`).
    pub pattern: Option<&'a [u8]>,
    /// How many entries to visit per call.
    pub count: usize,
}

/// Parses `[MATCH pattern] [COUNT count]` (any order, repeatable: the last one wins).
///
/// # Errors
/// `ERR syntax error` for unknown options or a count below 1, and the integer error for a count
/// that does not parse.
pub fn parse_scan_options(opts: &[Bytes]) -> Result<ScanOptions<'_>, CmdError> {
    let mut options = ScanOptions {
        pattern: None,
        count: 10,
    };
    let mut i = 0;
    while i < opts.len() {
        let value = opts.get(i + 1).ok_or(SYNTAX)?;
        if args::is(&opts[i], "count") {
            let n = args::int(value).map_err(|_| NOT_INTEGER)?;
            if n < 1 {
                return Err(SYNTAX);
            }
            options.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if args::is(&opts[i], "match") {
            options.pattern = (&value[..] != b"*").then_some(&value[..]);
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    Ok(options)
}

/// Writes a SCAN-family reply: the next cursor and the elements.
pub fn scan_reply<'e>(
    out: &mut Reply,
    cursor: u64,
    n: usize,
    elements: impl Iterator<Item = &'e [u8]>,
) {
    out.array(2);
    let mut text = itoa::Buffer::new();
    out.bulk(text.format(cursor).as_bytes());
    out.array(n);
    for e in elements {
        out.bulk(e);
    }
}

/// The reply to a SCAN-family command on a missing key.
pub fn empty_scan(out: &mut Reply) {
    scan_reply(out, 0, 0, std::iter::empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"12"), Ok(12));
        assert_eq!(parse_cursor(b"+7"), Ok(7));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"5\0junk"), Ok(5));
        for bad in [
            &b"18446744073709551616"[..],
            b"99999999999999999999",
            b" 1",
            b"1 ",
            b"+",
            b"-",
            b"1x",
            b"x",
            b"abc",
        ] {
            assert_eq!(parse_cursor(bad), Err(INVALID_CURSOR), "{bad:?}");
        }
    }
}
