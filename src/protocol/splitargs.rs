//! Redis's `sdssplitargs`: splits one line into arguments with Redis's quoting rules.
//!
//! Used for inline commands on the data port and for redis.conf-style configuration lines, so a
//! line means the same thing in both places, exactly as in Redis.

/// Splits `line` the way Redis's `sdssplitargs` does.
///
/// Whitespace separates arguments; `"..."` understands `\n \r \t \b \a \\ \" \xHH`; `'...'`
/// understands `\'`. A closing quote must be followed by whitespace or the end of the line.
///
/// # Errors
/// Returns `None` for unbalanced quotes (an unterminated quote, or a closing quote followed by
/// something other than whitespace), which Redis reports as "unbalanced quotes".
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut pos = 0;
    // Redis splits a C string: a NUL byte ends the line. (Treating it as a mere separator would
    // loop forever here, producing empty arguments.)
    let n = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    loop {
        while pos < n && is_space(line[pos]) {
            pos += 1;
        }
        if pos >= n {
            return Some(args);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                if pos >= n {
                    return None;
                }
                let c = line[pos];
                if c == b'\\'
                    && pos + 3 < n
                    && line[pos + 1] == b'x'
                    && line[pos + 2].is_ascii_hexdigit()
                    && line[pos + 3].is_ascii_hexdigit()
                {
                    current.push(hex_value(line[pos + 2]) * 16 + hex_value(line[pos + 3]));
                    pos += 3;
                } else if c == b'\\' && pos + 1 < n {
                    pos += 1;
                    current.push(match line[pos] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // A closing quote must be followed by a space or nothing at all.
                    if pos + 1 < n && !is_space(line[pos + 1]) {
                        return None;
                    }
                    in_double = false;
                    pos += 1;
                    break;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if pos >= n {
                    return None;
                }
                let c = line[pos];
                if c == b'\\' && pos + 1 < n && line[pos + 1] == b'\'' {
                    pos += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if pos + 1 < n && !is_space(line[pos + 1]) {
                        return None;
                    }
                    in_single = false;
                    pos += 1;
                    break;
                } else {
                    current.push(c);
                }
            } else {
                if pos >= n {
                    break;
                }
                match line[pos] {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    c => current.push(c),
                }
            }
            pos += 1;
        }
        debug_assert!(!in_double && !in_single);
        args.push(current);
    }
}

/// Redis's `isspace` set for argument splitting.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8(a).unwrap())
                .collect()
        })
    }

    #[test]
    fn splits_on_whitespace_and_quotes() {
        assert_eq!(split("set  \"a b\"  'c d'").unwrap(), ["set", "a b", "c d"]);
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split("a\"b\"").unwrap(), ["ab"]);
    }

    #[test]
    fn understands_escapes() {
        assert_eq!(split(r#""\x41\n\"" '\''"#).unwrap(), ["A\n\"", "'"]);
        assert_eq!(split(r#""\x4g""#).unwrap(), ["x4g"]);
    }

    #[test]
    fn a_nul_byte_ends_the_line() {
        assert_eq!(
            split_args(b"set a\0b c").unwrap(),
            [b"set".to_vec(), b"a".to_vec()]
        );
        assert_eq!(split_args(b"\0set").unwrap(), Vec::<Vec<u8>>::new());
        assert!(split_args(b"set \"a\0b\"").is_none());
    }

    #[test]
    fn rejects_unbalanced_quotes() {
        assert!(split("\"abc").is_none());
        assert!(split("'abc").is_none());
        assert!(split("\"abc\"def").is_none());
        assert!(split("'abc'def").is_none());
    }
}
