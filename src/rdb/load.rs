//! The RDB reader (Redis `rdbLoad`/`rdbLoadObject`): parses an RDB stream from a `BufRead` and
//! hands every key to a [`LoadTarget`], building values with the keyspace types' own methods so
//! that their encodings come out as Redis 7.0 gives them after a load.
//!
//! It reads exactly through the EOF opcode and the checksum and never beyond, because the AOF
//! loader goes on reading RESP commands from the same reader after an RDB preamble. It does no
//! I/O of its own and never panics: every length in the file is checked against what follows
//! before anything is allocated for it, so a corrupt or truncated file is an [`RdbError`].
//!
//! What it cannot represent stops the load with an error naming it (streams, module values and
//! module auxiliary data, functions, unknown types), never a silent skip: dropping data on a
//! load would lose it at the next save.

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, ErrorKind};

use super::listpack::Entry;
use super::RDB_MAX_READ_VERSION;
use super::{container, crc64, enc, intset, len, listpack, lzf, opcodes, types, ziplist};
use crate::db::hash::Hash;
use crate::db::set::Set;
use crate::db::zset::ZSet;
use crate::db::Value;

#[cfg(test)]
mod tests;

/// Where loaded keys go (the data thread's keyspace, a test's Vec, ...).
pub trait LoadTarget {
    /// One key: database index, key bytes, value, expire time in unix ms if any. An Err stops
    /// loading (its text becomes the error message).
    ///
    /// Keys whose expire time has passed are given too: Redis drops them on a master's load but
    /// keeps them in an AOF preamble and on a replica, which only the caller knows about.
    ///
    /// # Errors
    /// Whatever the target refuses; the text becomes the load error's message.
    fn key(
        &mut self,
        db: usize,
        key: Vec<u8>,
        value: Value,
        expire_ms: Option<i64>,
    ) -> Result<(), String>;

    /// An aux field (redis-ver, ctime, used-mem, aof-base, ...). Default: ignore.
    fn aux(&mut self, _name: &[u8], _value: &[u8]) {}

    /// Progress: bytes consumed so far, called every 1024 keys or so. Default: ignore.
    fn progress(&mut self, _bytes: u64) {}
}

/// How to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Number of databases (`databases`): a SELECTDB at or beyond it is an error.
    pub databases: usize,
}

/// What a successful load read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RdbSummary {
    /// The file's RDB version (1..=11).
    pub version: u32,
    /// Keys handed to the target.
    pub keys: u64,
    /// Bytes consumed, checksum included.
    pub bytes: u64,
    /// Empty collections skipped, as Redis 7.0 skips them ("rdbLoadObject skipping empty key").
    pub empty_keys_skipped: u64,
}

/// Why a load failed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    /// Bytes consumed from the reader when the problem was found.
    pub offset: u64,
    /// What went wrong, in words.
    pub message: String,
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte offset {})", self.message, self.offset)
    }
}

impl std::error::Error for RdbError {}

/// How often (in keys) the target hears about progress.
const PROGRESS_EVERY: u64 = 1024;
/// Most elements preallocated for a collection whose length comes from the file: the length
/// is not trusted until the elements have actually been read.
const PREALLOC_ELEMENTS: usize = 4096;
/// Most bytes preallocated for a string whose length comes from the file (beyond it the
/// buffer grows as the bytes arrive).
const PREALLOC_BYTES: usize = 64 * 1024;
/// Longest key shown in an error message.
const SHOWN_KEY_MAX: usize = 128;

/// A length field, or the special string encoding that takes its place.
enum Length {
    /// A plain length.
    Plain(u64),
    /// `RDB_ENCVAL`: a string stored as an integer or LZF-compressed (one of `enc::*`).
    Encoded(u8),
}

/// The byte-counting, checksumming reader under the parser.
struct Reader<'a, R> {
    input: &'a mut R,
    /// Bytes consumed so far.
    offset: u64,
    /// CRC-64 of every byte consumed so far.
    crc: u64,
}

impl<R: BufRead> Reader<'_, R> {
    /// An error at the current offset.
    fn err(&self, message: impl Into<String>) -> RdbError {
        RdbError {
            offset: self.offset,
            message: message.into(),
        }
    }

    /// Consumes bytes from the input, giving each buffered chunk to `sink`, until `sink` has
    /// had `n` bytes. Never consumes more than `n`.
    fn take(&mut self, n: usize, mut sink: impl FnMut(&[u8])) -> Result<(), RdbError> {
        let mut left = n;
        while left > 0 {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(RdbError {
                        offset: self.offset,
                        message: format!("Error reading the RDB file: {e}"),
                    })
                }
            };
            if buf.is_empty() {
                return Err(RdbError {
                    offset: self.offset,
                    message: "Unexpected EOF reading RDB file".into(),
                });
            }
            let chunk = &buf[..buf.len().min(left)];
            sink(chunk);
            self.crc = crc64::update(self.crc, chunk);
            let k = chunk.len();
            self.input.consume(k);
            self.offset += k as u64;
            left -= k;
        }
        Ok(())
    }

    /// Reads exactly `N` bytes.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut out = [0u8; N];
        let mut at = 0;
        self.take(N, |chunk| {
            out[at..at + chunk.len()].copy_from_slice(chunk);
            at += chunk.len();
        })?;
        Ok(out)
    }

    /// Reads one byte.
    fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads `n` bytes into an exactly sized vector. The allocation grows with the bytes
    /// actually read, so a lying length fails at EOF instead of allocating it up front.
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, RdbError> {
        let mut out = Vec::with_capacity(n.min(PREALLOC_BYTES));
        self.take(n, |chunk| out.extend_from_slice(chunk))?;
        // Strings get their encoding from their exact capacity (see `db::strenc`).
        out.shrink_to_fit();
        Ok(out)
    }

    /// Reads a length field (`rdbLoadLen`), or the special encoding in its place.
    fn length_or_encoding(&mut self) -> Result<Length, RdbError> {
        let first = self.u8()?;
        match first >> 6 {
            len::BITS6 => Ok(Length::Plain(u64::from(first & 0x3f))),
            len::BITS14 => {
                let low = self.u8()?;
                Ok(Length::Plain(u64::from(first & 0x3f) << 8 | u64::from(low)))
            }
            len::ENCVAL => Ok(Length::Encoded(first & 0x3f)),
            _ if first == len::BITS32 => {
                Ok(Length::Plain(u64::from(u32::from_be_bytes(self.array()?))))
            }
            _ if first == len::BITS64 => Ok(Length::Plain(u64::from_be_bytes(self.array()?))),
            _ => Err(self.err(format!("Unknown length encoding {first} in rdbLoadLen()"))),
        }
    }

    /// Reads a plain length.
    fn length(&mut self) -> Result<u64, RdbError> {
        match self.length_or_encoding()? {
            Length::Plain(n) => Ok(n),
            Length::Encoded(e) => Err(self.err(format!(
                "Unexpected string encoding {e} where a length was expected"
            ))),
        }
    }

    /// Reads a length used as an element count or byte count in memory.
    fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.length()?;
        usize::try_from(n).map_err(|_| self.err(format!("Length {n} is too large")))
    }

    /// Reads a string in any of its encodings (`rdbGenericLoadStringObject`): raw, an integer
    /// (returned in decimal) or LZF-compressed. The result is exactly allocated.
    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        match self.length_or_encoding()? {
            Length::Plain(n) => {
                let n = usize::try_from(n)
                    .map_err(|_| self.err(format!("String length {n} is too large")))?;
                self.bytes(n)
            }
            Length::Encoded(enc::INT8) => Ok(decimal(i64::from(i8::from_le_bytes(self.array()?)))),
            Length::Encoded(enc::INT16) => {
                Ok(decimal(i64::from(i16::from_le_bytes(self.array()?))))
            }
            Length::Encoded(enc::INT32) => {
                Ok(decimal(i64::from(i32::from_le_bytes(self.array()?))))
            }
            Length::Encoded(enc::LZF) => {
                let clen = self.count()?;
                let ulen = self.count()?;
                let packed = self.bytes(clen)?;
                lzf::decompress(&packed, ulen)
                    .map_err(|e| self.err(format!("Invalid LZF compressed string: {e}")))
            }
            Length::Encoded(other) => {
                Err(self.err(format!("Unknown RDB string encoding type {other}")))
            }
        }
    }

    /// Reads a score of the 1.0 format (`rdbLoadDoubleValue`): a length byte (253, 254, 255
    /// mean NaN, +inf, -inf) and that many ASCII bytes.
    fn text_double(&mut self) -> Result<f64, RdbError> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.bytes(usize::from(n))?;
                crate::cmd::args::parse_f64(&text).ok_or_else(|| {
                    self.err(format!(
                        "Invalid double value {:?}",
                        String::from_utf8_lossy(&text)
                    ))
                })
            }
        }
    }

    /// Reads a blob (a string holding a ziplist, listpack, intset or zipmap).
    fn blob(&mut self) -> Result<Vec<u8>, RdbError> {
        self.string()
    }
}

/// `n` in decimal, exactly allocated.
fn decimal(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// The bytes of a compact-blob element, formatting integers into `buf` (no allocation).
fn entry_bytes<'a>(e: Entry<'a>, buf: &'a mut itoa::Buffer) -> &'a [u8] {
    match e {
        Entry::Str(s) => s,
        Entry::Int(n) => buf.format(n).as_bytes(),
    }
}

/// A key as error messages show it: quoted, non-printable bytes escaped, long keys cut.
fn show(key: &[u8]) -> String {
    let mut s = String::from("'");
    for &b in key.iter().take(SHOWN_KEY_MAX) {
        match b {
            b'\'' | b'\\' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7e => s.push(char::from(b)),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if key.len() > SHOWN_KEY_MAX {
        s.push_str("...");
    }
    s.push('\'');
    s
}

/// Parses the version digits like C's `atoi` (leading digits; 0 if none).
fn atoi(digits: &[u8]) -> u32 {
    digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u32, |v, &b| {
            v.saturating_mul(10).saturating_add(u32::from(b - b'0'))
        })
}

/// Loads an RDB stream from `input` into `target`: the header, every database, the EOF opcode
/// and (for version 5 and later) the CRC-64 checksum, which is verified unless it is 0 (a file
/// saved with `rdbchecksum no`). Reads nothing after the checksum.
///
/// # Errors
/// A truncated, corrupt or unsupported file (the message says which and, for a value, names the
/// key), a database index at or beyond `opts.databases`, a checksum mismatch, an I/O error, or
/// an error returned by the target.
pub fn load<R: BufRead>(
    input: &mut R,
    opts: &LoadOptions,
    target: &mut dyn LoadTarget,
) -> Result<RdbSummary, RdbError> {
    let mut rd = Reader {
        input,
        offset: 0,
        crc: 0,
    };
    let header: [u8; 9] = rd.array()?;
    if &header[..5] != b"REDIS" {
        return Err(RdbError {
            offset: 0,
            message: "Wrong signature trying to load DB from file".into(),
        });
    }
    let version = atoi(&header[5..]);
    if !(1..=RDB_MAX_READ_VERSION).contains(&version) {
        return Err(RdbError {
            offset: 5,
            message: format!("Can't handle RDB format version {version}"),
        });
    }

    let mut summary = RdbSummary {
        version,
        keys: 0,
        bytes: 0,
        empty_keys_skipped: 0,
    };
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    loop {
        let at = rd.offset;
        let kind = rd.u8()?;
        match kind {
            opcodes::EXPIRETIME_MS => {
                expire = Some(i64::from_le_bytes(rd.array()?));
                continue;
            }
            opcodes::EXPIRETIME => {
                expire = Some(i64::from(i32::from_le_bytes(rd.array()?)) * 1000);
                continue;
            }
            opcodes::FREQ => {
                rd.u8()?;
                continue;
            }
            opcodes::IDLE => {
                rd.length()?;
                continue;
            }
            opcodes::EOF => break,
            opcodes::SELECTDB => {
                let id = rd.length()?;
                db = match usize::try_from(id) {
                    Ok(id) if id < opts.databases => id,
                    _ => {
                        return Err(rd.err(format!(
                            "Data file was created with a Redis server configured to handle \
                             more than {} databases (it selects database {id})",
                            opts.databases
                        )))
                    }
                };
                continue;
            }
            opcodes::RESIZEDB => {
                rd.length()?;
                rd.length()?;
                continue;
            }
            opcodes::AUX => {
                let name = rd.string()?;
                let value = rd.string()?;
                target.aux(&name, &value);
                continue;
            }
            opcodes::MODULE_AUX => {
                return Err(RdbError {
                    offset: at,
                    message: "The RDB file holds module auxiliary data (opcode MODULE_AUX), \
                              which aofd does not support"
                        .into(),
                })
            }
            opcodes::FUNCTION | opcodes::FUNCTION2 => {
                return Err(RdbError {
                    offset: at,
                    message: "The RDB file holds Redis functions (FUNCTION LOAD libraries), \
                              which aofd does not support"
                        .into(),
                })
            }
            types::STRING..=types::ZSET_2
            | types::MODULE
            | types::MODULE_2
            | types::HASH_ZIPMAP..=types::STREAM_LISTPACKS_3 => {}
            other => {
                return Err(RdbError {
                    offset: at,
                    message: format!("Unknown RDB value type {other} (0x{other:02x})"),
                })
            }
        }

        let key = rd.string()?;
        match kind {
            types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 | types::STREAM_LISTPACKS_3 => {
                return Err(rd.err(format!(
                    "Key {} holds a stream, which aofd does not support",
                    show(&key)
                )))
            }
            types::MODULE | types::MODULE_2 => {
                return Err(rd.err(format!(
                    "Key {} holds a module value (RDB type {kind}), which aofd does not support",
                    show(&key)
                )))
            }
            _ => {}
        }
        let value = read_value(&mut rd, kind).map_err(|mut e| {
            e.message = format!("{} (key {})", e.message, show(&key));
            e
        })?;
        let expire_ms = expire.take();
        match value {
            None => summary.empty_keys_skipped += 1,
            Some(value) => {
                target
                    .key(db, key, value, expire_ms)
                    .map_err(|message| RdbError {
                        offset: rd.offset,
                        message,
                    })?;
                summary.keys += 1;
                if summary.keys.is_multiple_of(PROGRESS_EVERY) {
                    target.progress(rd.offset);
                }
            }
        }
    }

    if version >= 5 {
        let computed = rd.crc;
        let at = rd.offset;
        let stored = u64::from_le_bytes(rd.array()?);
        if stored != 0 && stored != computed {
            return Err(RdbError {
                offset: at,
                message: format!("Wrong RDB checksum expected: ({computed:x}) got: ({stored:x})"),
            });
        }
    }
    summary.bytes = rd.offset;
    Ok(summary)
}

/// Reads the value of type `kind` (a value type, not an opcode). `None` is an empty collection,
/// which Redis 7.0 skips.
fn read_value<R: BufRead>(rd: &mut Reader<'_, R>, kind: u8) -> Result<Option<Value>, RdbError> {
    let value = match kind {
        types::STRING => Value::Str(rd.string()?),
        types::LIST => {
            let n = rd.count()?;
            let mut list = VecDeque::with_capacity(n.min(PREALLOC_ELEMENTS));
            for _ in 0..n {
                list.push_back(rd.string()?);
            }
            Value::List(Box::new(list))
        }
        types::SET => {
            let n = rd.count()?;
            let mut set = Set::new();
            for _ in 0..n {
                let member = rd.string()?;
                if !set.insert(&member) {
                    return Err(rd.err("Duplicate set members detected"));
                }
            }
            Value::Set(Box::new(set))
        }
        types::ZSET | types::ZSET_2 => {
            let n = rd.count()?;
            let mut zset = ZSet::new();
            // Redis loads these into a skip list and converts to a listpack afterwards.
            zset.set_skiplist_encoding();
            for _ in 0..n {
                let member = rd.string()?;
                let score = if kind == types::ZSET_2 {
                    f64::from_le_bytes(rd.array()?)
                } else {
                    rd.text_double()?
                };
                if score.is_nan() {
                    return Err(rd.err("Zset with NAN score detected"));
                }
                if zset.insert(&member, score).is_some() {
                    return Err(rd.err("Duplicate zset fields detected"));
                }
            }
            zset.settle_encoding();
            Value::ZSet(Box::new(zset))
        }
        types::HASH => {
            let n = rd.count()?;
            let mut hash = Hash::new();
            for _ in 0..n {
                let field = rd.string()?;
                let value = rd.string()?;
                if !hash.put(&field, &value) {
                    return Err(rd.err("Duplicate hash fields detected"));
                }
            }
            Value::Hash(Box::new(hash))
        }
        types::HASH_ZIPMAP => {
            let blob = rd.blob()?;
            let pairs = zipmap_pairs(&blob)
                .map_err(|e| rd.err(format!("Zipmap integrity check failed: {e}")))?;
            let mut hash = Hash::new();
            for (field, value) in pairs {
                if !hash.put(field, value) {
                    return Err(rd.err("Hash zipmap with dup elements"));
                }
            }
            Value::Hash(Box::new(hash))
        }
        types::LIST_ZIPLIST => {
            let blob = rd.blob()?;
            let entries = ziplist::entries(&blob)
                .map_err(|e| rd.err(format!("List ziplist integrity check failed: {e}")))?;
            Value::List(Box::new(entries.into_iter().map(Entry::to_vec).collect()))
        }
        types::SET_INTSET => {
            let blob = rd.blob()?;
            let members = intset::members(&blob)
                .map_err(|e| rd.err(format!("Intset integrity check failed: {e}")))?;
            let mut set = Set::new();
            let mut buf = itoa::Buffer::new();
            for n in members {
                set.insert(buf.format(n).as_bytes());
            }
            Value::Set(Box::new(set))
        }
        types::SET_LISTPACK => {
            let blob = rd.blob()?;
            let entries = listpack::entries(&blob)
                .map_err(|e| rd.err(format!("Set listpack integrity check failed: {e}")))?;
            let mut set = Set::new();
            let mut buf = itoa::Buffer::new();
            for e in entries {
                if !set.insert(entry_bytes(e, &mut buf)) {
                    return Err(rd.err("Set listpack integrity check failed: duplicate member"));
                }
            }
            Value::Set(Box::new(set))
        }
        types::ZSET_ZIPLIST | types::ZSET_LISTPACK => {
            let (what, blob) = if kind == types::ZSET_ZIPLIST {
                ("Zset ziplist", rd.blob()?)
            } else {
                ("Zset listpack", rd.blob()?)
            };
            let entries = pairs(&blob, kind == types::ZSET_ZIPLIST)
                .map_err(|e| rd.err(format!("{what} integrity check failed: {e}")))?;
            let mut zset = ZSet::new();
            let mut buf = itoa::Buffer::new();
            for pair in entries.chunks_exact(2) {
                let score = pair[1].to_score().ok_or_else(|| {
                    rd.err(format!("{what} integrity check failed: invalid score"))
                })?;
                if zset.insert(entry_bytes(pair[0], &mut buf), score).is_some() {
                    return Err(rd.err(format!("{what} integrity check failed: duplicate member")));
                }
            }
            zset.settle_encoding();
            Value::ZSet(Box::new(zset))
        }
        types::HASH_ZIPLIST | types::HASH_LISTPACK => {
            let (what, blob) = if kind == types::HASH_ZIPLIST {
                ("Hash ziplist", rd.blob()?)
            } else {
                ("Hash listpack", rd.blob()?)
            };
            let entries = pairs(&blob, kind == types::HASH_ZIPLIST)
                .map_err(|e| rd.err(format!("{what} integrity check failed: {e}")))?;
            let mut hash = Hash::new();
            let mut fbuf = itoa::Buffer::new();
            let mut vbuf = itoa::Buffer::new();
            for pair in entries.chunks_exact(2) {
                let field = entry_bytes(pair[0], &mut fbuf);
                let value = entry_bytes(pair[1], &mut vbuf);
                if !hash.put(field, value) {
                    return Err(rd.err(format!("{what} integrity check failed: duplicate field")));
                }
            }
            Value::Hash(Box::new(hash))
        }
        types::LIST_QUICKLIST | types::LIST_QUICKLIST_2 => {
            let nodes = rd.count()?;
            let mut list = VecDeque::new();
            for _ in 0..nodes {
                let container = if kind == types::LIST_QUICKLIST_2 {
                    rd.length()?
                } else {
                    u64::from(container::PACKED)
                };
                let blob = rd.blob()?;
                if container == u64::from(container::PLAIN) {
                    list.push_back(blob);
                    continue;
                }
                if container != u64::from(container::PACKED) {
                    return Err(rd.err(format!(
                        "Quicklist integrity check failed: unknown node container {container}"
                    )));
                }
                let entries = if kind == types::LIST_QUICKLIST {
                    ziplist::entries(&blob)
                        .map_err(|e| rd.err(format!("Ziplist integrity check failed: {e}")))?
                } else {
                    listpack::entries(&blob)
                        .map_err(|e| rd.err(format!("Listpack integrity check failed: {e}")))?
                };
                // Empty nodes are skipped, as Redis does.
                list.extend(entries.into_iter().map(Entry::to_vec));
            }
            Value::List(Box::new(list))
        }
        // `load` passes value types only; anything else here would be a bug there, reported
        // as corruption rather than a panic.
        other => return Err(rd.err(format!("Unknown RDB encoding type {other}"))),
    };
    Ok((!value.is_empty_collection()).then_some(value))
}

/// The elements of a ziplist or listpack that holds pairs (hash fields and values, sorted-set
/// members and scores): an odd count is corrupt.
fn pairs(blob: &[u8], is_ziplist: bool) -> Result<Vec<Entry<'_>>, String> {
    let entries = if is_ziplist {
        ziplist::entries(blob)?
    } else {
        listpack::entries(blob)?
    };
    if entries.len() % 2 != 0 {
        return Err(format!("odd number of elements ({})", entries.len()));
    }
    Ok(entries)
}

/// A field and its value, borrowed from a blob.
type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes a zipmap (`zipmap.c`, hashes of RDB files before Redis 2.6): a count byte, then per
/// pair a field length, the field, a value length, a free-space byte, the value and that much
/// free space; 0xFF ends it. A length is one byte below 254, or 254 and a u32 LE.
fn zipmap_pairs(blob: &[u8]) -> Result<Vec<Pair<'_>>, String> {
    const BIGLEN: u8 = 254;
    const END: u8 = 255;
    let short = || "entry runs past the end of the zipmap".to_string();
    let length = |at: usize| -> Result<(usize, usize), String> {
        match *blob.get(at).ok_or_else(short)? {
            END => Err("unexpected end marker".into()),
            BIGLEN => {
                let b: [u8; 4] = blob
                    .get(at + 1..at + 5)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(short)?;
                let n = usize::try_from(u32::from_le_bytes(b)).map_err(|_| short())?;
                Ok((n, 5))
            }
            n => Ok((usize::from(n), 1)),
        }
    };
    let slice = |at: usize, n: usize| -> Result<&[u8], String> {
        at.checked_add(n)
            .and_then(|end| blob.get(at..end))
            .ok_or_else(short)
    };
    // Each pair takes at least 3 bytes.
    let mut out = Vec::with_capacity(blob.len() / 3);
    let mut at = 1;
    loop {
        match blob.get(at) {
            None => return Err("zipmap has no end marker".into()),
            Some(&END) => break,
            Some(_) => {}
        }
        let (flen, h) = length(at)?;
        let field = slice(at + h, flen)?;
        at += h + flen;
        let (vlen, h) = length(at)?;
        let free = usize::from(*blob.get(at + h).ok_or_else(short)?);
        let value = slice(at + h + 1, vlen)?;
        slice(at + h + 1 + vlen, free)?;
        at += h + 1 + vlen + free;
        out.push((field, value));
    }
    if at + 1 != blob.len() {
        return Err("zipmap has bytes after its end marker".into());
    }
    Ok(out)
}
