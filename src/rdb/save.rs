//! The RDB writer (Redis `rdbSaveRio` and what it calls): the keyspace as an RDB version 10 file,
//! as redis-server 7.0 writes it for `SAVE`/`BGSAVE`, `DEBUG RELOAD` and an RDB-format AOF BASE.
//!
//! Layout: `REDIS0010`, the aux fields 7.0 writes for a server without replication (`redis-ver`,
//! `redis-bits`, `ctime`, `used-mem`, `aof-base`, in that order, as checked with
//! redis-check-rdb), then for every non-empty database `SELECTDB` + `RESIZEDB` and its keys, then
//! `EOF` and the little-endian CRC-64 of every byte before it.
//!
//! Values use the plain encodings every Redis since 2.x loads (`STRING`, `LIST`, `SET`,
//! `ZSET_2`, `HASH`) instead of 7.0's listpack/quicklist blobs: redis-server 7.0 rebuilds its
//! compact encodings itself while loading, so the result is the same keyspace, and the writer
//! stays a plain walk over the data. Strings get Redis's integer encoding (`rdbTryIntegerEncoding`)
//! but no LZF compression yet (see [`Sink::string`]).
//!
//! Architecture Invariant: this runs in the forked rewrite/save child. It never logs, locks,
//! touches tokio or panics (no unwrap, no indexing that can fail); it only reads the data it is
//! given and writes to the `Write` it is given, returning that writer's errors.

use std::io::{self, Write};

use super::{crc64, enc, len, opcodes, types, RDB_VERSION};
use crate::db::{Db, Value};
use crate::protocol::parser::parse_i64;

/// What the caller knows that the keyspace does not: the aux fields' values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaveOptions {
    /// `aof-base` aux field: true for the RDB preamble of an AOF BASE, false for `dump.rdb`.
    pub aof_base: bool,
    /// `ctime` aux field: unix time of the snapshot in seconds.
    pub ctime_secs: i64,
    /// `used-mem` aux field: the server's used memory in bytes when the snapshot started.
    pub used_mem: u64,
}

/// Bytes gathered before one `write_all`: big enough that syscalls and CRC calls are rare, small
/// enough to stay in cache.
const BUF_CAP: usize = 64 * 1024;

/// Strings at least this long bypass the buffer (after their length header), so a huge value is
/// not copied once more into it.
const DIRECT_MIN: usize = 16 * 1024;

/// Longest string `rdbSaveRawString` tries to store as an integer (`-2147483648` has 11 bytes).
const INT_CANDIDATE_MAX: usize = 11;

/// Writes an RDB version 10 file of `dbs` (database `j` is `dbs[j]`) to `out`, as redis-server
/// 7.0 does. Keys with a TTL get `EXPIRETIME_MS`; keys that have expired but are still present
/// are written too, as Redis does (the loader drops them). `progress` is called after
/// every key with the number of keys written so far (over all databases); the caller decides
/// how often to report it (and, in tests, whether to slow down: `rdb-key-save-delay`).
///
/// # Errors
/// Whatever `out` returns; the file is then incomplete.
pub fn save<W: Write>(
    out: &mut W,
    dbs: &[Db],
    opts: &SaveOptions,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let mut sink = Sink::new(out);
    sink.buf.extend_from_slice(b"REDIS");
    sink.buf
        .extend_from_slice(format!("{RDB_VERSION:04}").as_bytes());
    write_aux_fields(&mut sink, opts);

    let mut written: u64 = 0;
    for (j, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        sink.buf.push(opcodes::SELECTDB);
        push_len(&mut sink.buf, j as u64);
        sink.buf.push(opcodes::RESIZEDB);
        push_len(&mut sink.buf, db.keys.len() as u64);
        push_len(&mut sink.buf, db.expires.len() as u64);
        for (key, value) in &db.keys {
            // Redis never keeps an empty collection, and a loader may reject one.
            if value.is_empty_collection() {
                continue;
            }
            if let Some(at) = db.expires.get(key.as_bytes()) {
                sink.buf.push(opcodes::EXPIRETIME_MS);
                sink.buf.extend_from_slice(&at.to_le_bytes());
            }
            write_key_value(&mut sink, key.as_bytes(), value)?;
            written += 1;
            progress(written);
        }
    }
    sink.finish()
}

/// The aux fields in the order redis-server 7.0.15 writes them for a server without replication
/// (`rdbSaveInfoAuxFields`; the `repl-*` ones are only written with replication info).
fn write_aux_fields<W: Write>(sink: &mut Sink<'_, W>, opts: &SaveOptions) {
    let mut n = itoa::Buffer::new();
    let version = crate::server::info::REDIS_VERSION.as_bytes();
    push_aux(&mut sink.buf, b"redis-ver", version);
    push_aux(&mut sink.buf, b"redis-bits", b"64");
    push_aux(
        &mut sink.buf,
        b"ctime",
        n.format(opts.ctime_secs).as_bytes(),
    );
    push_aux(
        &mut sink.buf,
        b"used-mem",
        n.format(opts.used_mem).as_bytes(),
    );
    let aof_base: &[u8] = if opts.aof_base { b"1" } else { b"0" };
    push_aux(&mut sink.buf, b"aof-base", aof_base);
}

/// One aux field: the opcode and two strings (numbers get the integer encoding, as in Redis).
fn push_aux(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(opcodes::AUX);
    push_string(out, name);
    push_string(out, value);
}

/// The type byte, the key and the value in its plain encoding.
fn write_key_value<W: Write>(sink: &mut Sink<'_, W>, key: &[u8], value: &Value) -> io::Result<()> {
    match value {
        Value::Str(s) => {
            sink.buf.push(types::STRING);
            sink.string(key)?;
            sink.string(s)?;
        }
        Value::List(list) => {
            sink.buf.push(types::LIST);
            sink.string(key)?;
            push_len(&mut sink.buf, list.len() as u64);
            for item in list.iter() {
                sink.string(item)?;
            }
        }
        Value::Set(set) => {
            sink.buf.push(types::SET);
            sink.string(key)?;
            push_len(&mut sink.buf, set.len() as u64);
            for member in set.iter() {
                sink.string(member)?;
            }
        }
        Value::ZSet(zset) => {
            sink.buf.push(types::ZSET_2);
            sink.string(key)?;
            push_len(&mut sink.buf, zset.len() as u64);
            // Highest rank first, as Redis saves a skiplist: its loader then inserts each
            // member at the head, which is the cheap end.
            let last = zset.len().saturating_sub(1);
            for (member, score) in zset.iter_from_rank(last, true) {
                sink.string(member)?;
                sink.buf.extend_from_slice(&score.to_le_bytes());
            }
        }
        Value::Hash(hash) => {
            sink.buf.push(types::HASH);
            sink.string(key)?;
            push_len(&mut sink.buf, hash.len() as u64);
            for (field, v) in hash.iter() {
                sink.string(field)?;
                sink.string(v)?;
            }
        }
    }
    Ok(())
}

/// The output side: a buffer in front of `out` and the running CRC of every byte handed to
/// `out`, so the trailer covers exactly what was written.
struct Sink<'a, W: Write> {
    out: &'a mut W,
    /// Bytes encoded but not yet written (and not yet in `crc`).
    buf: Vec<u8>,
    /// CRC-64 of everything written to `out` so far.
    crc: u64,
}

impl<'a, W: Write> Sink<'a, W> {
    fn new(out: &'a mut W) -> Self {
        Sink {
            out,
            buf: Vec::with_capacity(BUF_CAP + DIRECT_MIN),
            crc: 0,
        }
    }

    /// Writes the buffer out and folds it into the CRC.
    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.crc = crc64::update(self.crc, &self.buf);
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// One string as `rdbSaveRawString` writes it, flushing when the buffer is full.
    ///
    /// LZF hook: Redis (`rdbcompression yes`) first tries `lzf_compress` on strings longer than
    /// 20 bytes and writes `ENCVAL|LZF, compressed len, original len, data` when that saves
    /// at least 4 bytes. When `rdb::lzf::compress` exists, that attempt goes here, after the
    /// integer attempt in `push_string` and before the plain length + bytes.
    fn string(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() >= DIRECT_MIN {
            push_len(&mut self.buf, s.len() as u64);
            self.flush_buf()?;
            self.crc = crc64::update(self.crc, s);
            return self.out.write_all(s);
        }
        push_string(&mut self.buf, s);
        if self.buf.len() >= BUF_CAP {
            self.flush_buf()?;
        }
        Ok(())
    }

    /// The `EOF` opcode, the last flush, then the CRC trailer (not itself checksummed).
    fn finish(mut self) -> io::Result<()> {
        self.buf.push(opcodes::EOF);
        self.flush_buf()?;
        self.out.write_all(&self.crc.to_le_bytes())?;
        self.out.flush()
    }
}

/// Appends `n` in Redis's length encoding (`rdbSaveLen`): 6 bits in one byte below 64, 14 bits
/// in two bytes below 16384, then a marker byte and 32 or 64 bits big-endian.
fn push_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push((len::BITS6 << 6) | n as u8);
    } else if n < 1 << 14 {
        out.push((len::BITS14 << 6) | (n >> 8) as u8);
        out.push(n as u8);
    } else if let Ok(n32) = u32::try_from(n) {
        out.push(len::BITS32);
        out.extend_from_slice(&n32.to_be_bytes());
    } else {
        out.push(len::BITS64);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends `s` as `rdbSaveRawString` does without compression: as an 8/16/32-bit integer when
/// it is a canonical integer (`string2ll` accepts it, so no `+`, leading zeros or `-0`) that
/// fits, otherwise as length + bytes.
fn push_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= INT_CANDIDATE_MAX {
        if let Some(v) = parse_i64(s) {
            if push_int(out, v) {
                return;
            }
        }
    }
    push_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends `v` in the smallest integer encoding (`rdbEncodeInteger`), little-endian; false
/// (nothing written) when it needs more than 32 bits.
fn push_int(out: &mut Vec<u8>, v: i64) -> bool {
    let special = len::ENCVAL << 6;
    if let Ok(v8) = i8::try_from(v) {
        out.push(special | enc::INT8);
        out.extend_from_slice(&v8.to_le_bytes());
    } else if let Ok(v16) = i16::try_from(v) {
        out.push(special | enc::INT16);
        out.extend_from_slice(&v16.to_le_bytes());
    } else if let Ok(v32) = i32::try_from(v) {
        out.push(special | enc::INT32);
        out.extend_from_slice(&v32.to_le_bytes());
    } else {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::db::hash::Hash;
    use crate::db::set::Set;
    use crate::db::zset::ZSet;

    fn len_bytes(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        push_len(&mut out, n);
        out
    }

    fn string_bytes(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_string(&mut out, s);
        out
    }

    fn save_to_vec(dbs: &[Db], opts: &SaveOptions) -> Vec<u8> {
        let mut out = Vec::new();
        save(&mut out, dbs, opts, &mut |_| {}).expect("a Vec never fails");
        out
    }

    const OPTS: SaveOptions = SaveOptions {
        aof_base: false,
        ctime_secs: 1_700_000_000,
        used_mem: 1_000_000,
    };

    #[test]
    fn length_encodings_at_their_boundaries() {
        assert_eq!(len_bytes(0), [0x00]);
        assert_eq!(len_bytes(63), [0x3f]);
        assert_eq!(len_bytes(64), [0x40, 0x40]);
        assert_eq!(len_bytes(16383), [0x7f, 0xff]);
        assert_eq!(len_bytes(16384), [0x80, 0x00, 0x00, 0x40, 0x00]);
        assert_eq!(
            len_bytes(u64::from(u32::MAX)),
            [0x80, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            len_bytes(1 << 32),
            [0x81, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            len_bytes(u64::MAX),
            [0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn integer_strings_use_the_smallest_encoding() {
        assert_eq!(string_bytes(b"0"), [0xc0, 0x00]);
        assert_eq!(string_bytes(b"127"), [0xc0, 0x7f]);
        assert_eq!(string_bytes(b"-128"), [0xc0, 0x80]);
        assert_eq!(string_bytes(b"128"), [0xc1, 0x80, 0x00]);
        assert_eq!(string_bytes(b"-129"), [0xc1, 0x7f, 0xff]);
        assert_eq!(string_bytes(b"32767"), [0xc1, 0xff, 0x7f]);
        assert_eq!(string_bytes(b"-32768"), [0xc1, 0x00, 0x80]);
        assert_eq!(string_bytes(b"32768"), [0xc2, 0x00, 0x80, 0x00, 0x00]);
        assert_eq!(string_bytes(b"2147483647"), [0xc2, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(string_bytes(b"-2147483648"), [0xc2, 0x00, 0x00, 0x00, 0x80]);
        // Past 32 bits, and anything not in canonical form, stays a string.
        for s in [
            &b"2147483648"[..],
            b"-2147483649",
            b"007",
            b"-0",
            b"+1",
            b" 1",
            b"1.0",
            b"",
            b"abc",
        ] {
            let mut expected = vec![s.len() as u8];
            expected.extend_from_slice(s);
            assert_eq!(string_bytes(s), expected, "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn long_strings_get_a_14_bit_length() {
        let s = vec![b'x'; 100];
        let bytes = string_bytes(&s);
        assert_eq!(&bytes[..2], &[0x40, 100]);
        assert_eq!(&bytes[2..], &s[..]);
    }

    /// The header up to and including the aux fields, as redis-server 7.0.15 writes it.
    fn expected_header(aof_base: u8) -> Vec<u8> {
        let mut h = b"REDIS0010".to_vec();
        h.extend_from_slice(b"\xfa\x09redis-ver\x067.0.15");
        h.extend_from_slice(b"\xfa\x0aredis-bits\xc0\x40");
        h.extend_from_slice(b"\xfa\x05ctime\xc2");
        h.extend_from_slice(&1_700_000_000i32.to_le_bytes());
        h.extend_from_slice(b"\xfa\x08used-mem\xc2");
        h.extend_from_slice(&1_000_000i32.to_le_bytes());
        h.extend_from_slice(b"\xfa\x08aof-base\xc0");
        h.push(aof_base);
        h
    }

    fn split_trailer(file: &[u8]) -> (&[u8], u64) {
        let (body, crc) = file.split_at(file.len() - 8);
        (body, u64::from_le_bytes(crc.try_into().expect("8 bytes")))
    }

    #[test]
    fn empty_keyspace_is_header_eof_and_crc() {
        let file = save_to_vec(&[Db::default(), Db::default()], &OPTS);
        let (body, crc) = split_trailer(&file);
        let mut expected = expected_header(0);
        expected.push(0xff);
        assert_eq!(body, &expected[..]);
        assert_eq!(crc, crc64::update(0, body));

        let base = save_to_vec(
            &[],
            &SaveOptions {
                aof_base: true,
                ..OPTS
            },
        );
        assert_eq!(&base[..base.len() - 9], &expected_header(1)[..]);
    }

    #[test]
    fn every_type_byte_exact() {
        let mut db0 = Db::default();
        db0.set(b"s", Value::Str(b"v".to_vec()));
        db0.set(b"n", Value::Str(b"300".to_vec()));
        db0.set(
            b"l",
            Value::List(Box::new(VecDeque::from(vec![b"a".to_vec()]))),
        );
        db0.set(
            b"t",
            Value::Set(Box::new(["1", "x"].into_iter().collect::<Set>())),
        );
        let mut z = ZSet::new();
        z.insert(b"m", 1.5);
        z.insert(b"k", f64::NEG_INFINITY);
        db0.set(b"z", Value::ZSet(Box::new(z)));
        db0.set(
            b"h",
            Value::Hash(Box::new([("f", "1")].into_iter().collect::<Hash>())),
        );
        db0.set_expire(b"s", 0x0102_0304_0506);
        let mut db2 = Db::default();
        db2.set(b"k", Value::Str(b"v".to_vec()));
        db2.set(b"empty", Value::List(Box::default()));
        let file = save_to_vec(&[db0, Db::default(), db2], &OPTS);
        let (body, crc) = split_trailer(&file);
        assert_eq!(crc, crc64::update(0, body));

        let mut e = expected_header(0);
        e.extend_from_slice(b"\xfe\x00\xfb\x06\x01");
        e.extend_from_slice(b"\xfc\x06\x05\x04\x03\x02\x01\x00\x00\x00\x01s\x01v");
        e.extend_from_slice(b"\x00\x01n\xc1\x2c\x01");
        e.extend_from_slice(b"\x01\x01l\x01\x01a");
        e.extend_from_slice(b"\x02\x01t\x02\xc0\x01\x01x");
        e.extend_from_slice(b"\x05\x01z\x02\x01m");
        e.extend_from_slice(&1.5f64.to_le_bytes());
        e.extend_from_slice(b"\x01k");
        e.extend_from_slice(&f64::NEG_INFINITY.to_le_bytes());
        e.extend_from_slice(b"\x04\x01h\x01\x01f\xc0\x01");
        // Database 2: the hint counts the (skipped) empty list, as it is a dictionary size.
        e.extend_from_slice(b"\xfe\x02\xfb\x02\x00\x00\x01k\x01v");
        e.push(0xff);
        assert_eq!(body, &e[..]);
    }

    #[test]
    fn big_strings_bypass_the_buffer_but_not_the_crc() {
        let mut db = Db::default();
        let big = vec![7u8; 3 * BUF_CAP + 5];
        db.set(b"big", Value::Str(big.clone()));
        for i in 0..5000u32 {
            db.set(format!("k{i}").as_bytes(), Value::Str(vec![b'v'; 40]));
        }
        let file = save_to_vec(&[db], &OPTS);
        let (body, crc) = split_trailer(&file);
        assert_eq!(crc, crc64::update(0, body));
        let at = expected_header(0).len() + 6;
        assert_eq!(&body[at..at + 5], b"\x00\x03big");
        assert_eq!(body[at + 5], 0x80);
        assert_eq!(&body[at + 10..at + 10 + big.len()], &big[..]);
    }

    #[test]
    fn progress_after_every_key() {
        let mut db = Db::default();
        for i in 0..2500u32 {
            db.set(format!("k{i}").as_bytes(), Value::Str(b"v".to_vec()));
        }
        let mut db1 = Db::default();
        for i in 0..600u32 {
            db1.set(format!("k{i}").as_bytes(), Value::Str(b"v".to_vec()));
        }
        let mut seen = Vec::new();
        save(&mut Vec::new(), &[db, db1], &OPTS, &mut |n| seen.push(n)).expect("vec");
        assert_eq!(seen, (1..=3100).collect::<Vec<u64>>());
    }

    /// A writer that fails after `left` bytes.
    struct Failing {
        left: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(self.left);
            self.left -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_errors_are_returned() {
        for left in [0, 10, BUF_CAP + 3] {
            let mut db = Db::default();
            for i in 0..20_000u32 {
                db.set(format!("key:{i}").as_bytes(), Value::Str(vec![b'v'; 30]));
            }
            let err = save(&mut Failing { left }, &[db], &OPTS, &mut |_| {});
            assert_eq!(err.map_err(|e| e.to_string()), Err("disk full".to_string()));
        }
    }
}
