//! Argument parsing with Redis's rules and error texts: integers (`string2ll`), doubles
//! (`strtod`), timeouts, and case-insensitive option names.

use std::time::Duration;

use bytes::Bytes;

use super::error::{CmdError, NOT_FLOAT, NOT_INTEGER, TIMEOUT_NEGATIVE, TIMEOUT_NOT_FLOAT};
use crate::protocol::parser::parse_i64;

/// Parses a 64-bit integer argument (`ERR value is not an integer or out of range`).
///
/// # Errors
/// [`NOT_INTEGER`] unless the argument is exactly a decimal `i64`.
pub fn int(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(NOT_INTEGER)
}

/// Parses an integer argument that must be at least 0, with `msg` as the error otherwise.
///
/// # Errors
/// [`NOT_INTEGER`] when it does not parse, `msg` when it is negative.
pub fn non_negative(arg: &[u8], msg: CmdError) -> Result<i64, CmdError> {
    let n = int(arg)?;
    if n < 0 {
        return Err(msg);
    }
    Ok(n)
}

/// Parses a double as Redis's `getDoubleFromObject` does (C `strtod`: accepts `inf`, `-inf`,
/// hex floats and exponents; rejects NaN, leading spaces, trailing bytes and overflow).
///
/// # Errors
/// [`NOT_FLOAT`] when the argument is not such a double.
pub fn float(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64(arg).ok_or(NOT_FLOAT)
}

/// The parsing behind [`float`], for callers that need their own error text.
pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || arg.len() > 256 || arg[0].is_ascii_whitespace() || arg.contains(&0) {
        return None;
    }
    let mut buf = [0u8; 258];
    buf[..arg.len()].copy_from_slice(arg);
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated (arg has no NUL and is at most 256 bytes), `end` is a
    // valid out-pointer, and errno is thread-local, so reading it right after the call is sound.
    let (value, consumed, erange) = unsafe {
        *libc::__errno_location() = 0;
        let value = libc::strtod(buf.as_ptr().cast(), &mut end);
        let consumed = end.offset_from(buf.as_ptr().cast::<libc::c_char>());
        (value, consumed, *libc::__errno_location() == libc::ERANGE)
    };
    if usize::try_from(consumed).ok() != Some(arg.len()) || value.is_nan() {
        return None;
    }
    if erange && (value.is_infinite() || value == 0.0) {
        return None;
    }
    Some(value)
}

/// Parses a blocking command's timeout in seconds (fractions allowed); `None` means forever.
///
/// # Errors
/// Redis's `timeout is not a float or out of range`, `timeout is negative` and
/// `timeout is out of range`.
pub fn timeout(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let secs = parse_f64(arg).ok_or(TIMEOUT_NOT_FLOAT)?;
    let ms = secs * 1000.0;
    // Redis converts with a C cast to long long: it truncates toward zero, and on x86 anything out
    // of range (infinities included) becomes LLONG_MIN, which then reads as negative.
    let ms = if ms.is_finite() && ms.abs() < 9.223_372_036_854_775e18 {
        ms.trunc() as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(TIMEOUT_NEGATIVE);
    }
    if ms > i64::MAX - crate::server::state::now_ms() {
        return Err(CmdError::fixed("ERR timeout is out of range"));
    }
    // A timeout of 0 ms (including fractions below one millisecond) means "forever".
    match ms {
        0 => Ok(None),
        ms => Ok(Some(Duration::from_millis(ms.unsigned_abs()))),
    }
}

/// Whether `arg` equals the ASCII word `word`, ignoring case (option names such as `EX`, `NX`).
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Lower-cases an argument for messages and lookups.
pub fn lower(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).to_ascii_lowercase()
}

/// The argument as (lossy) text, for error messages that quote it.
pub fn text(arg: &Bytes) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_follow_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"abc", b"1e999", b"1.5x"] {
            assert_eq!(parse_f64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout(b"0"), Ok(None));
        assert_eq!(timeout(b"0.5"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(timeout(b"-1"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(timeout(b"x"), Err(TIMEOUT_NOT_FLOAT));
        assert_eq!(timeout(b"-0.0001"), Ok(None));
        assert_eq!(timeout(b"0.0001"), Ok(None));
        assert_eq!(timeout(b"inf"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(timeout(b"1e300"), Err(TIMEOUT_NEGATIVE));
    }
}
