//! The incremental request parser: multibulk and inline requests, with Redis's limits and errors.
//!
//! Why not redis-protocol's decoder: it has no inline commands, no size limits, and it re-parses
//! a partial frame from its first byte on every read, which is quadratic for one large pipelined
//! MSET. This parser keeps the arguments it has already taken across calls, so every byte is
//! examined once (see ARCHITECTURE.md, "Protocol").

use bytes::{Buf, Bytes, BytesMut};

use super::splitargs::split_args;

/// Longest inline request, and longest `*<n>` / `$<n>` header line (Redis `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX: usize = 64 * 1024;

/// Largest multibulk count an unauthenticated client may announce.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Largest bulk length an unauthenticated client may announce.
const UNAUTH_MAX_BULK: i64 = 16384;

/// Limits that come from configuration and the client's state.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: u64,
    /// `client-query-buffer-limit`: the most bytes one client may have buffered.
    pub query_buffer_limit: u64,
    /// Whether the client still has to authenticate (enables Redis's tighter header limits).
    pub auth_required: bool,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bulk_len: 512 * 1024 * 1024,
            query_buffer_limit: 1024 * 1024 * 1024,
            auth_required: false,
        }
    }
}

/// Why a connection's framing is lost. Every variant closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A protocol error that Redis reports to the client before closing: the text after `-ERR `.
    Reply(String),
    /// The query buffer outgrew `client-query-buffer-limit`: Redis closes without a reply.
    QueryBufferLimit,
}

/// A resumable parser for one connection's request stream.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments of the current multibulk request already taken from the buffer.
    args: Vec<Bytes>,
    /// Arguments still missing from the current multibulk request; 0 between requests.
    missing: usize,
    /// Length of the bulk argument whose header was consumed but whose payload is incomplete.
    bulk_len: Option<usize>,
    /// Bytes of the current request already moved out of the buffer into `args`.
    taken: u64,
}

impl RequestParser {
    /// Creates a parser positioned between requests.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the parser is in the middle of a multibulk request.
    pub fn is_mid_request(&self) -> bool {
        self.missing > 0
    }

    /// Returns the next complete request in `buf`, consuming its bytes.
    ///
    /// Empty inline lines and `*0` / `*-1` headers are skipped, as Redis does. `Ok(None)` means more
    /// bytes are needed; what was already parsed is kept, so the next call resumes where this one
    /// stopped.
    ///
    /// # Errors
    /// A [`ProtocolError`] when the stream breaks Redis's framing rules or limits; the connection
    /// must then be closed (after sending the error reply, if the variant carries one).
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.missing == 0 {
                if buf.is_empty() {
                    return Ok(None);
                }
                if buf[0] == b'*' {
                    match self.parse_multibulk_header(buf, limits)? {
                        None => return self.check_buffer(buf, limits),
                        Some(0) => continue,
                        Some(_) => {}
                    }
                } else {
                    match parse_inline(buf)? {
                        None => return self.check_buffer(buf, limits),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Some(args)),
                    }
                }
            }
            while self.missing > 0 {
                let len = match self.bulk_len {
                    Some(len) => len,
                    None => match parse_bulk_header(buf, limits)? {
                        Some(len) => {
                            self.bulk_len = Some(len);
                            len
                        }
                        None => return self.check_buffer(buf, limits),
                    },
                };
                if buf.len() < len + 2 {
                    // Make room for the whole argument once instead of growing step by step.
                    buf.reserve(len + 2 - buf.len());
                    return self.check_buffer(buf, limits);
                }
                let arg = buf.split_to(len).freeze();
                // Like Redis, the two bytes after the payload are skipped unchecked.
                buf.advance(2);
                self.taken += (len + 2) as u64;
                self.args.push(arg);
                self.bulk_len = None;
                self.missing -= 1;
            }
            self.taken = 0;
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    /// Consumes a `*<n>\r\n` header. Returns the argument count, `Some(0)` for an empty request
    /// that is to be skipped, or `None` if the line is incomplete.
    fn parse_multibulk_header(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(line_len) = header_line(buf, "too big mbulk count string")? else {
            return Ok(None);
        };
        let count = parse_i64(&buf[1..line_len]).filter(|&n| n <= i64::from(i32::MAX));
        let Some(count) = count else {
            return Err(reply_error("invalid multibulk length"));
        };
        if count > UNAUTH_MAX_MULTIBULK && limits.auth_required {
            return Err(reply_error("unauthenticated multibulk length"));
        }
        buf.advance(line_len + 2);
        if count <= 0 {
            return Ok(Some(0));
        }
        let count = count as usize;
        self.missing = count;
        self.args = Vec::with_capacity(count.min(1024));
        Ok(Some(count))
    }

    /// Enforces `client-query-buffer-limit` on what this request holds so far, then asks for more.
    fn check_buffer(
        &self,
        buf: &BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.taken + buf.len() as u64 > limits.query_buffer_limit {
            return Err(ProtocolError::QueryBufferLimit);
        }
        Ok(None)
    }
}

/// Consumes a `$<len>\r\n` header and returns the announced length, or `None` if incomplete.
fn parse_bulk_header(
    buf: &mut BytesMut,
    limits: &ParseLimits,
) -> Result<Option<usize>, ProtocolError> {
    let Some(line_len) = header_line(buf, "too big bulk count string")? else {
        return Ok(None);
    };
    if buf[0] != b'$' {
        return Err(reply_error(&format!(
            "expected '$', got '{}'",
            char::from(buf[0])
        )));
    }
    let len = parse_i64(&buf[1..line_len]);
    let len = match len {
        Some(n) if n >= 0 && (n as u64) <= limits.max_bulk_len => n,
        _ => return Err(reply_error("invalid bulk length")),
    };
    if len > UNAUTH_MAX_BULK && limits.auth_required {
        return Err(reply_error("unauthenticated bulk length"));
    }
    buf.advance(line_len + 2);
    Ok(Some(len as usize))
}

/// Finds the `\r` that ends a header line, as Redis does, and checks the 64 KB header limit.
/// Returns the line length (excluding `\r\n`), or `None` while the line or its `\n` is missing.
fn header_line(buf: &BytesMut, too_big: &str) -> Result<Option<usize>, ProtocolError> {
    match memchr::memchr(b'\r', buf) {
        None if buf.len() > INLINE_MAX => Err(reply_error(too_big)),
        None => Ok(None),
        Some(pos) if pos + 1 >= buf.len() => Ok(None),
        Some(pos) => Ok(Some(pos)),
    }
}

/// Parses one inline request line. `Some(vec![])` is an empty line, which callers skip.
fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    // Redis finds the end of an inline request with strchr, which stops at a NUL byte: a NUL
    // before the newline leaves the request incomplete until the inline limit is reached.
    let searchable = memchr::memchr(0, buf).unwrap_or(buf.len());
    let Some(newline) = memchr::memchr(b'\n', &buf[..searchable]) else {
        if buf.len() > INLINE_MAX {
            return Err(reply_error("too big inline request"));
        }
        return Ok(None);
    };
    let line_end = if newline > 0 && buf[newline - 1] == b'\r' {
        newline - 1
    } else {
        newline
    };
    let parsed = split_args(&buf[..line_end]);
    buf.advance(newline + 1);
    match parsed {
        Some(args) => Ok(Some(args.into_iter().map(Bytes::from).collect())),
        None => Err(reply_error("unbalanced quotes in request")),
    }
}

fn reply_error(what: &str) -> ProtocolError {
    ProtocolError::Reply(format!("Protocol error: {what}"))
}

/// Redis's `string2ll`: optional `-`, digits, no leading zeros or `+`, within `i64`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut value: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        if value > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8], limits: &ParseLimits) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(args) = parser.parse(&mut buf, limits)? {
            out.push(args.iter().map(|a| a.to_vec()).collect());
        }
        Ok(out)
    }

    #[test]
    fn parses_pipelined_multibulk_and_inline() {
        let got = parse_all(
            b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n\r\n*0\r\n*-1\r\nset a 'b c'\n",
            &ParseLimits::default(),
        )
        .unwrap();
        let want: Vec<Vec<Vec<u8>>> = vec![
            vec![b"ECHO".to_vec(), b"hi".to_vec()],
            vec![b"PING".to_vec()],
            vec![b"set".to_vec(), b"a".to_vec(), b"b c".to_vec()],
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn resumes_at_every_split_point() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n";
        for split in 0..input.len() {
            let mut parser = RequestParser::new();
            let mut buf = BytesMut::from(&input[..split]);
            assert_eq!(parser.parse(&mut buf, &ParseLimits::default()), Ok(None));
            buf.extend_from_slice(&input[split..]);
            let args = parser
                .parse(&mut buf, &ParseLimits::default())
                .unwrap()
                .unwrap();
            assert_eq!(args.len(), 3);
            assert_eq!(&args[2][..], b"0123456789");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn reports_redis_protocol_errors() {
        let limits = ParseLimits::default();
        let err = |input: &[u8]| parse_all(input, &limits).unwrap_err();
        let reply = |s: &str| ProtocolError::Reply(format!("Protocol error: {s}"));
        assert_eq!(err(b"*1\r\n:3\r\n"), reply("expected '$', got ':'"));
        assert_eq!(err(b"*2\r\n$-5\r\n"), reply("invalid bulk length"));
        assert_eq!(
            err(b"*1\r\n$999999999999\r\n"),
            reply("invalid bulk length")
        );
        assert_eq!(err(b"*x\r\n"), reply("invalid multibulk length"));
        assert_eq!(err(b"*3000000000\r\n"), reply("invalid multibulk length"));
        assert_eq!(err(b"\"abc\r\n"), reply("unbalanced quotes in request"));
        assert_eq!(
            err(&vec![b'a'; INLINE_MAX + 1]),
            reply("too big inline request")
        );
        let mut long_header = b"*".to_vec();
        long_header.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(err(&long_header), reply("too big mbulk count string"));
    }

    #[test]
    fn a_nul_before_the_newline_leaves_an_inline_request_incomplete() {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"set a\0b c\r\nPING\r\n"[..]);
        assert_eq!(parser.parse(&mut buf, &ParseLimits::default()), Ok(None));
        buf.extend_from_slice(&vec![b'x'; INLINE_MAX]);
        assert_eq!(
            parser.parse(&mut buf, &ParseLimits::default()),
            Err(ProtocolError::Reply(
                "Protocol error: too big inline request".into()
            ))
        );
    }

    #[test]
    fn unauthenticated_clients_get_tight_limits() {
        let limits = ParseLimits {
            auth_required: true,
            ..ParseLimits::default()
        };
        let reply = |s: &str| ProtocolError::Reply(format!("Protocol error: {s}"));
        assert_eq!(
            parse_all(b"*11\r\n", &limits).unwrap_err(),
            reply("unauthenticated multibulk length")
        );
        assert_eq!(
            parse_all(b"*1\r\n$16385\r\n", &limits).unwrap_err(),
            reply("unauthenticated bulk length")
        );
    }

    #[test]
    fn query_buffer_limit_closes_without_reply() {
        let limits = ParseLimits {
            query_buffer_limit: 100,
            ..ParseLimits::default()
        };
        let mut input = b"*1\r\n$200\r\n".to_vec();
        input.extend(vec![b'x'; 150]);
        assert_eq!(
            parse_all(&input, &limits).unwrap_err(),
            ProtocolError::QueryBufferLimit
        );
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [&b""[..], b"01", b"+1", b"-", b"-0", b" 1", b"1 ", b"1a"] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    /// A small deterministic generator for the randomized properties below (no dependency).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % below.max(1)
        }
    }

    /// Any byte stream, fed in any chunks, either yields requests or a protocol error; it never
    /// panics and never loops, whatever the limits.
    #[test]
    fn garbage_never_panics() {
        let mut rng = Lcg(7);
        let alphabet: &[u8] = b"*$\r\n0123456789-+:\"' \\xabPINGSET\x00\xff";
        for round in 0..3000 {
            let len = rng.next(200) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.next(alphabet.len() as u64) as usize])
                .collect();
            let limits = ParseLimits {
                max_bulk_len: 1 + rng.next(64),
                query_buffer_limit: 1 + rng.next(256),
                auth_required: round % 2 == 0,
            };
            let mut parser = RequestParser::new();
            let mut buf = BytesMut::new();
            let mut fed = 0;
            'feed: while fed < input.len() {
                let step = 1 + rng.next(16) as usize;
                let end = (fed + step).min(input.len());
                buf.extend_from_slice(&input[fed..end]);
                fed = end;
                for _ in 0..=input.len() {
                    match parser.parse(&mut buf, &limits) {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(_) => break 'feed,
                    }
                }
            }
        }
    }

    /// Random argument vectors, encoded as multibulk and split at random points, come back
    /// exactly, in order.
    #[test]
    fn random_requests_round_trip_under_random_splits() {
        let mut rng = Lcg(11);
        for _ in 0..500 {
            let requests: Vec<Vec<Vec<u8>>> = (0..1 + rng.next(5))
                .map(|_| {
                    (0..1 + rng.next(6))
                        .map(|_| (0..rng.next(40)).map(|_| rng.next(256) as u8).collect())
                        .collect()
                })
                .collect();
            let mut wire = Vec::new();
            for args in &requests {
                wire.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
                for a in args {
                    wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                    wire.extend_from_slice(a);
                    wire.extend_from_slice(b"\r\n");
                }
            }
            let mut parser = RequestParser::new();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut fed = 0;
            while fed < wire.len() {
                let end = (fed + 1 + rng.next(30) as usize).min(wire.len());
                buf.extend_from_slice(&wire[fed..end]);
                fed = end;
                while let Some(args) = parser.parse(&mut buf, &ParseLimits::default()).unwrap() {
                    got.push(args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
                }
            }
            assert_eq!(got, requests);
            assert!(buf.is_empty());
        }
    }
}
