//! Redis's glob matcher (`stringmatchlen`), used by KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE and
//! the other pattern-taking commands, so every pattern means what it means in Redis.

/// Matches `string` against the glob `pattern`: `*`, `?`, `[abc]`, `[^a-z]`, and `\` escapes.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    // Redis bounds the recursion of `*`; the iterative backtracking below needs no bound and
    // runs in O(pattern * string) in the worst case.
    let (mut p, mut s) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    loop {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, s));
                    continue;
                }
                b'?' if s < string.len() => {
                    p += 1;
                    s += 1;
                    continue;
                }
                b'[' if s < string.len() => {
                    let (matched, next) = match_class(pattern, p, string[s], nocase);
                    if matched {
                        p = next;
                        s += 1;
                        continue;
                    }
                }
                b'\\'
                    if p + 1 < pattern.len()
                        && s < string.len()
                        && eq(pattern[p + 1], string[s]) =>
                {
                    p += 2;
                    s += 1;
                    continue;
                }
                c if s < string.len()
                    && c != b'?'
                    && c != b'['
                    && c != b'\\'
                    && eq(c, string[s]) =>
                {
                    p += 1;
                    s += 1;
                    continue;
                }
                // A trailing lone backslash matches a literal backslash, as in Redis.
                b'\\' if p + 1 == pattern.len() && s < string.len() && string[s] == b'\\' => {
                    p += 1;
                    s += 1;
                    continue;
                }
                _ => {}
            }
        } else if s == string.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more byte, or fail.
        match star {
            Some((sp, ss)) if ss < string.len() => {
                star = Some((sp, ss + 1));
                p = sp;
                s = ss + 1;
            }
            _ => return false,
        }
    }
}

/// Matches one byte against the class starting at `pattern[start] == b'['`. Returns whether it
/// matched and the index just past the class. An unterminated class runs to the end of the
/// pattern, as in Redis.
fn match_class(pattern: &[u8], start: usize, c: u8, nocase: bool) -> (bool, usize) {
    let mut p = start + 1;
    let negate = p < pattern.len() && pattern[p] == b'^';
    if negate {
        p += 1;
    }
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let c = fold(c);
    let mut matched = false;
    while p < pattern.len() && pattern[p] != b']' {
        if pattern[p] == b'\\' && p + 1 < pattern.len() {
            p += 1;
            if fold(pattern[p]) == c {
                matched = true;
            }
        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' {
            let (mut lo, mut hi) = (fold(pattern[p]), fold(pattern[p + 2]));
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            if (lo..=hi).contains(&c) {
                matched = true;
            }
            p += 2;
        } else if fold(pattern[p]) == c {
            matched = true;
        }
        p += 1;
    }
    // Skip the closing bracket if there is one.
    let next = if p < pattern.len() { p + 1 } else { p };
    (matched != negate, next)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn redis_glob_semantics() {
        assert!(m("*", ""));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hbllo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hallo"));
        assert!(m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!m("*a*b*c", "xxaxxbxxcxx"));
        assert!(m("key:*", "key:1"));
        assert!(!m("a", "ab"));
        assert!(glob_match(b"HELLO", b"hello", true));
    }
}
