//! Reply encoding in RESP2 or RESP3, written straight into a connection's output buffer.
//!
//! Commands call these methods instead of building a reply tree, so a pipelined batch costs one
//! buffer and no per-reply allocation. The protocol version decides how RESP3-only types (maps,
//! sets, nulls, doubles, booleans, verbatim strings, pushes) degrade to RESP2, as in Redis's
//! `addReply*` family.

/// The protocol a client negotiated with `HELLO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Resp {
    /// RESP2, the default for every new connection.
    #[default]
    V2,
    /// RESP3, after `HELLO 3`.
    V3,
}

/// An output buffer plus the protocol to encode in.
#[derive(Debug, Default)]
pub struct Reply {
    /// Encoded bytes not yet written to the socket.
    pub buf: Vec<u8>,
    /// The protocol replies are encoded in.
    pub resp: Resp,
}

impl Reply {
    /// Creates an empty buffer for the given protocol.
    pub fn new(resp: Resp) -> Self {
        Reply {
            buf: Vec::with_capacity(256),
            resp,
        }
    }

    /// Whether the connection speaks RESP3.
    pub fn is_resp3(&self) -> bool {
        self.resp == Resp::V3
    }

    /// Number of bytes encoded so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string (`+...`). `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply. `msg` starts with its code (`ERR ...`, `WRONGTYPE ...`); CR and LF in it
    /// are replaced by spaces, as Redis does, so an error can never break the framing.
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        self.buf.extend(
            msg.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer (`:n`).
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        match self.resp {
            Resp::V2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Resp::V3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3 (timeouts of blocking commands, failed EXEC).
    pub fn null_array(&mut self) {
        match self.resp {
            Resp::V2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Resp::V3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// An array header for `n` elements that follow.
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map header for `n` key/value pairs that follow (a flat array of `2n` in RESP2).
    pub fn map(&mut self, n: usize) {
        match self.resp {
            Resp::V2 => self.header(b'*', 2 * n as i64),
            Resp::V3 => self.header(b'%', n as i64),
        }
    }

    /// A set header for `n` elements that follow (an array in RESP2).
    pub fn set(&mut self, n: usize) {
        match self.resp {
            Resp::V2 => self.header(b'*', n as i64),
            Resp::V3 => self.header(b'~', n as i64),
        }
    }

    /// A push header for `n` elements (an array in RESP2), used for pub/sub messages.
    pub fn push(&mut self, n: usize) {
        match self.resp {
            Resp::V2 => self.header(b'*', n as i64),
            Resp::V3 => self.header(b'>', n as i64),
        }
    }

    /// A double, formatted with `%.17g` like Redis 7.0's `addReplyDouble` (a bulk string in RESP2).
    pub fn double(&mut self, d: f64) {
        if d.is_infinite() {
            let s: &[u8] = if d > 0.0 { b"inf" } else { b"-inf" };
            match self.resp {
                Resp::V2 => self.bulk(s),
                Resp::V3 => {
                    self.buf.push(b',');
                    self.buf.extend_from_slice(s);
                    self.buf.extend_from_slice(b"\r\n");
                }
            }
            return;
        }
        let text = format_double(d);
        match self.resp {
            Resp::V2 => self.bulk(text.as_bytes()),
            Resp::V3 => {
                self.buf.push(b',');
                self.buf.extend_from_slice(text.as_bytes());
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        match self.resp {
            Resp::V2 => self.int(i64::from(b)),
            Resp::V3 => self
                .buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }

    /// A verbatim string with a three-letter format (`txt`, `mkd`): a bulk string in RESP2.
    pub fn verbatim(&mut self, format: &str, data: &[u8]) {
        match self.resp {
            Resp::V2 => self.bulk(data),
            Resp::V3 => {
                self.header(b'=', (data.len() + 4) as i64);
                self.buf.extend_from_slice(format.as_bytes());
                self.buf.push(b':');
                self.buf.extend_from_slice(data);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Appends bytes that are already RESP-encoded for this connection.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn header(&mut self, kind: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        self.buf.push(kind);
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }
}

/// Formats a finite double like C's `printf("%.17g")`, which Redis 7.0 uses for scores.
pub fn format_double(d: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: `buf` is valid for 64 bytes, the format string is NUL-terminated and takes exactly
    // one double argument, and snprintf never writes more than the size it is given.
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr().cast::<libc::c_char>(),
            buf.len(),
            c"%.17g".as_ptr(),
            d,
        )
    };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_encodings() {
        let mut r2 = Reply::new(Resp::V2);
        let mut r3 = Reply::new(Resp::V3);
        for r in [&mut r2, &mut r3] {
            r.map(1);
            r.bulk(b"k");
            r.null();
            r.double(1.5);
            r.boolean(true);
            r.verbatim("txt", b"hi");
        }
        assert_eq!(
            r2.buf,
            b"*2\r\n$1\r\nk\r\n$-1\r\n$3\r\n1.5\r\n:1\r\n$2\r\nhi\r\n"
        );
        assert_eq!(
            r3.buf,
            b"%1\r\n$1\r\nk\r\n_\r\n,1.5\r\n#t\r\n=6\r\ntxt:hi\r\n"
        );
    }

    #[test]
    fn doubles_use_17_significant_digits() {
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(1e300), "1.0000000000000001e+300");
    }

    #[test]
    fn errors_cannot_break_framing() {
        let mut r = Reply::new(Resp::V2);
        r.error("ERR bad\r\nthing");
        assert_eq!(r.buf, b"-ERR bad  thing\r\n");
    }
}
