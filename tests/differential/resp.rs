//! A small RESP2/RESP3 client for the differential test: a reply value type that can be
//! compared and sorted, a reader that parses replies from a raw TCP stream, and a writer that
//! sends commands as arrays of bulk strings.
//!
//! It is deliberately independent of the `redis` crate so that the test sees every reply
//! exactly as the server sent it (simple string versus bulk string, RESP3 doubles, maps and
//! sets), without any client-side conversion hiding a difference.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One reply, as parsed from the wire. Ordering is derived so that unordered collections can be
/// sorted before comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    /// `+text`
    Simple(Vec<u8>),
    /// `-text`
    Error(Vec<u8>),
    /// `:n`
    Int(i64),
    /// `$n` with data.
    Bulk(Vec<u8>),
    /// `$-1` (RESP2 null bulk string).
    NilBulk,
    /// `*-1` (RESP2 null array).
    NilArray,
    /// `*n`
    Array(Vec<Value>),
    /// `_` (RESP3 null).
    Null,
    /// `,text` (RESP3 double), kept as the text the server sent.
    Double(Vec<u8>),
    /// `#t` / `#f`
    Bool(bool),
    /// `(text` (RESP3 big number).
    BigNum(Vec<u8>),
    /// `=n` (RESP3 verbatim string): the whole payload including the `txt:` prefix.
    Verbatim(Vec<u8>),
    /// `%n` (RESP3 map).
    Map(Vec<(Value, Value)>),
    /// `~n` (RESP3 set).
    Set(Vec<Value>),
    /// `>n` (RESP3 push).
    Push(Vec<Value>),
}

impl Value {
    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_))
    }

    /// Whether this is any kind of null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::NilBulk | Value::NilArray | Value::Null)
    }

    /// The bytes of a string-like reply (simple, bulk, verbatim, double, big number).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Simple(b)
            | Value::Bulk(b)
            | Value::Double(b)
            | Value::BigNum(b)
            | Value::Verbatim(b) => Some(b),
            _ => None,
        }
    }

    /// The elements of an aggregate reply (array, set, push), if it is one.
    pub fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::Array(v) | Value::Set(v) | Value::Push(v) => Some(v),
            _ => None,
        }
    }

    /// Key/value pairs of a map reply, of a flat RESP2 array of alternating keys and values, or
    /// of an array of two-element arrays (RESP3 `WITHSCORES`/`WITHVALUES` replies).
    pub fn pairs(&self) -> Option<Vec<(Value, Value)>> {
        match self {
            Value::Map(m) => Some(m.clone()),
            Value::Array(v) | Value::Set(v) => {
                if !v.is_empty()
                    && v.iter()
                        .all(|e| matches!(e, Value::Array(p) if p.len() == 2))
                {
                    return Some(
                        v.iter()
                            .filter_map(|e| match e {
                                Value::Array(p) => Some((p[0].clone(), p[1].clone())),
                                _ => None,
                            })
                            .collect(),
                    );
                }
                if v.len() % 2 != 0 {
                    return None;
                }
                Some(v.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect())
            }
            _ => None,
        }
    }
}

/// Renders bytes readably: printable ASCII as is, everything else as `\xNN`.
pub fn show_bytes(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

/// Renders a command's arguments like redis-cli input, quoting each argument.
pub fn show_command(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| format!("\"{}\"", show_bytes(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, open: &str, v: &[Value], close: &str) -> fmt::Result {
            write!(f, "{open}")?;
            for (i, e) in v.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{e}")?;
            }
            write!(f, "{close}")
        }
        match self {
            Value::Simple(s) => write!(f, "+{}", show_bytes(s)),
            Value::Error(s) => write!(f, "(error) {}", show_bytes(s)),
            Value::Int(n) => write!(f, "(integer) {n}"),
            Value::Bulk(b) => write!(f, "\"{}\"", show_bytes(b)),
            Value::NilBulk => write!(f, "(nil bulk)"),
            Value::NilArray => write!(f, "(nil array)"),
            Value::Null => write!(f, "(null)"),
            Value::Double(d) => write!(f, "(double) {}", show_bytes(d)),
            Value::Bool(b) => write!(f, "(bool) {b}"),
            Value::BigNum(n) => write!(f, "(bignum) {}", show_bytes(n)),
            Value::Verbatim(v) => write!(f, "(verbatim) \"{}\"", show_bytes(v)),
            Value::Array(v) => list(f, "[", v, "]"),
            Value::Set(v) => list(f, "~{", v, "}"),
            Value::Push(v) => list(f, ">[", v, "]"),
            Value::Map(m) => {
                write!(f, "%{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One client connection speaking raw RESP.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    /// Connects to `127.0.0.1:port`; replies must arrive within `timeout`.
    pub fn connect(port: u16, timeout: Duration) -> Result<Conn, String> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .map_err(|e| format!("connect to port {port}: {e}"))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        Ok(Conn {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one command without waiting for its reply.
    pub fn send(&mut self, args: &[Vec<u8>]) -> Result<(), String> {
        self.writer
            .write_all(&encode(args))
            .map_err(|e| format!("write failed: {e}"))
    }

    /// Sends a command and reads its reply.
    pub fn call(&mut self, args: &[Vec<u8>]) -> Result<Value, String> {
        self.send(args)?;
        self.read()
    }

    /// Reads one complete reply.
    pub fn read(&mut self) -> Result<Value, String> {
        let line = self.line()?;
        let (&kind, body) = line
            .split_first()
            .ok_or_else(|| "protocol error: empty line".to_string())?;
        let text = || String::from_utf8_lossy(body).into_owned();
        let number = || -> Result<i64, String> {
            text()
                .parse::<i64>()
                .map_err(|_| format!("protocol error: bad number {:?}", text()))
        };
        Ok(match kind {
            b'+' => Value::Simple(body.to_vec()),
            b'-' => Value::Error(body.to_vec()),
            b':' => Value::Int(number()?),
            b'$' => match number()? {
                -1 => Value::NilBulk,
                n => Value::Bulk(self.payload(n)?),
            },
            b'=' => Value::Verbatim(self.payload(number()?)?),
            b'!' => Value::Error(self.payload(number()?)?),
            b'*' => match number()? {
                -1 => Value::NilArray,
                n => Value::Array(self.many(n)?),
            },
            b'~' => Value::Set(self.many(number()?)?),
            b'>' => Value::Push(self.many(number()?)?),
            b'%' => {
                let n = number()?;
                let flat = self.many(n.checked_mul(2).ok_or("protocol error: map size")?)?;
                let mut it = flat.into_iter();
                let mut map = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    map.push((k, v));
                }
                Value::Map(map)
            }
            b'|' => {
                // An attribute precedes the real reply; it carries nothing we compare.
                let n = number()?;
                self.many(n.checked_mul(2).ok_or("protocol error: attribute size")?)?;
                return self.read();
            }
            b'_' => Value::Null,
            b',' => Value::Double(body.to_vec()),
            b'#' => Value::Bool(body == b"t"),
            b'(' => Value::BigNum(body.to_vec()),
            other => {
                return Err(format!(
                    "protocol error: unexpected type byte {:?} in line \"{}\"",
                    other as char,
                    show_bytes(&line)
                ))
            }
        })
    }

    fn line(&mut self) -> Result<Vec<u8>, String> {
        let mut line = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("read failed (timeout or reset): {e}"))?;
        if n == 0 {
            return Err("connection closed by the server".to_string());
        }
        if !line.ends_with(b"\r\n") {
            return Err(format!(
                "protocol error: line without CRLF \"{}\"",
                show_bytes(&line)
            ));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    fn payload(&mut self, n: i64) -> Result<Vec<u8>, String> {
        let n = usize::try_from(n).map_err(|_| format!("protocol error: length {n}"))?;
        let mut buf = vec![0u8; n + 2];
        std::io::Read::read_exact(&mut self.reader, &mut buf)
            .map_err(|e| format!("read failed: {e}"))?;
        if !buf.ends_with(b"\r\n") {
            return Err("protocol error: payload without CRLF".to_string());
        }
        buf.truncate(n);
        Ok(buf)
    }

    fn many(&mut self, n: i64) -> Result<Vec<Value>, String> {
        let n = usize::try_from(n).map_err(|_| format!("protocol error: count {n}"))?;
        let mut v = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            v.push(self.read()?);
        }
        Ok(v)
    }
}

/// Builds an argument vector from string slices.
pub fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}
