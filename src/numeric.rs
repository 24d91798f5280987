//! Number formatting and arithmetic that must match Redis byte for byte: `long double` sums
//! for INCRBYFLOAT / HINCRBYFLOAT, computed by the C helper in `src/native/longdouble.c`.

/// Why a long-double addition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdError {
    /// The first operand (the stored value) is not a valid float.
    BadValue,
    /// The second operand (the increment) is not a valid float.
    BadIncrement,
    /// The result would be NaN or infinite.
    NanOrInfinity,
}

extern "C" {
    fn aofd_ld_add(
        a: *const u8,
        a_len: usize,
        b: *const u8,
        b_len: usize,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> i32;
    fn aofd_ld_valid(s: *const u8, len: usize) -> i32;
}

/// Adds two decimal strings as C `long double`s and formats the sum like Redis (`%.17Lf`
/// without trailing zeros).
///
/// # Errors
/// Which operand was invalid, or that the sum is not finite.
pub fn ld_add(value: &[u8], increment: &[u8]) -> Result<Vec<u8>, LdError> {
    let mut out = vec![0u8; 5 * 1024 + 64];
    let mut len = 0usize;
    // SAFETY: both inputs are valid for their lengths, `out` is writable for its capacity, and
    // the C function writes at most `out_cap` bytes and stores the length in `len`.
    let rc = unsafe {
        aofd_ld_add(
            value.as_ptr(),
            value.len(),
            increment.as_ptr(),
            increment.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    match rc {
        0 => {
            out.truncate(len);
            // An exact allocation: the stored value must not look like a `raw` string.
            out.shrink_to_fit();
            Ok(out)
        }
        1 => Err(LdError::BadValue),
        2 => Err(LdError::BadIncrement),
        _ => Err(LdError::NanOrInfinity),
    }
}

/// Whether `s` is a float Redis's `string2ld` accepts.
pub fn ld_valid(s: &[u8]) -> bool {
    // SAFETY: `s` is valid for `s.len()` bytes; the C function only reads them.
    unsafe { aofd_ld_valid(s.as_ptr(), s.len()) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_double_sums_print_like_redis() {
        assert_eq!(ld_add(b"0.1", b"0.2").unwrap(), b"0.3");
        assert_eq!(ld_add(b"10.50", b"0.1").unwrap(), b"10.6");
        assert_eq!(ld_add(b"5.0e3", b"2.0e2").unwrap(), b"5200");
        assert_eq!(ld_add(b"1", b"-1").unwrap(), b"0");
        assert_eq!(ld_add(b"abc", b"1"), Err(LdError::BadValue));
        assert_eq!(ld_add(b"1", b" 1"), Err(LdError::BadIncrement));
        assert_eq!(ld_add(b"1e4932", b"1e4932"), Err(LdError::NanOrInfinity));
        assert!(ld_valid(b"3.5"));
        assert!(!ld_valid(b"nan"));
        assert!(!ld_valid(b"1\x002"));
        assert_eq!(ld_add(b"\x00\xff", b"-1"), Err(LdError::BadValue));
    }
}
