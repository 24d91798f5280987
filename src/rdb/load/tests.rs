//! Unit tests of the RDB reader on hand-built files: every encoding, every opcode, and corrupt,
//! truncated and unsupported input.

use std::io::{BufReader, Read};

use super::*;
use crate::db::strenc;
use crate::rdb::listpack::tests::build as listpack;
use crate::rdb::ziplist::tests::build as ziplist;

/// Builds RDB bytes by hand.
struct Rdb {
    buf: Vec<u8>,
}

impl Rdb {
    fn new(version: u32) -> Rdb {
        Rdb {
            buf: format!("REDIS{version:04}").into_bytes(),
        }
    }

    fn byte(mut self, b: u8) -> Rdb {
        self.buf.push(b);
        self
    }

    fn raw(mut self, b: &[u8]) -> Rdb {
        self.buf.extend_from_slice(b);
        self
    }

    /// A length in the smallest encoding.
    fn len(self, n: u64) -> Rdb {
        if n < 64 {
            self.byte(n as u8)
        } else if n < 16384 {
            self.raw(&[0x40 | (n >> 8) as u8, n as u8])
        } else if n <= u64::from(u32::MAX) {
            self.byte(0x80).raw(&(n as u32).to_be_bytes())
        } else {
            self.byte(0x81).raw(&n.to_be_bytes())
        }
    }

    /// A plain string.
    fn str(self, s: &[u8]) -> Rdb {
        self.len(s.len() as u64).raw(s)
    }

    /// A value type byte and a key.
    fn key(self, kind: u8, k: &[u8]) -> Rdb {
        self.byte(kind).str(k)
    }

    /// The EOF opcode and the checksum.
    fn finish(self) -> Vec<u8> {
        let mut buf = self.byte(opcodes::EOF).buf;
        let crc = crc64::update(0, &buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        buf
    }
}

#[derive(Default)]
struct Collect {
    keys: Vec<(usize, Vec<u8>, Value, Option<i64>)>,
    aux: Vec<(Vec<u8>, Vec<u8>)>,
    progress: Vec<u64>,
    refuse: Option<Vec<u8>>,
}

impl LoadTarget for Collect {
    fn key(
        &mut self,
        db: usize,
        key: Vec<u8>,
        value: Value,
        expire_ms: Option<i64>,
    ) -> Result<(), String> {
        if self.refuse.as_deref() == Some(&key[..]) {
            return Err("refused".into());
        }
        self.keys.push((db, key, value, expire_ms));
        Ok(())
    }

    fn aux(&mut self, name: &[u8], value: &[u8]) {
        self.aux.push((name.to_vec(), value.to_vec()));
    }

    fn progress(&mut self, bytes: u64) {
        self.progress.push(bytes);
    }
}

const OPTS: LoadOptions = LoadOptions { databases: 16 };

fn run(bytes: &[u8]) -> Result<(RdbSummary, Collect), RdbError> {
    let mut target = Collect::default();
    let mut input = bytes;
    let summary = load(&mut input, &OPTS, &mut target)?;
    Ok((summary, target))
}

/// Loads a file holding one key and returns its value.
fn one(bytes: &[u8]) -> Value {
    let (summary, c) = run(bytes).unwrap();
    assert_eq!(summary.keys, 1);
    c.keys.into_iter().next().unwrap().2
}

fn err(bytes: &[u8]) -> String {
    run(bytes).err().expect("load should fail").message
}

fn list(v: &Value) -> Vec<&[u8]> {
    match v {
        Value::List(l) => l.iter().map(|e| &e[..]).collect(),
        other => panic!("not a list: {other:?}"),
    }
}

fn str_value(v: &Value) -> &Vec<u8> {
    match v {
        Value::Str(s) => s,
        other => panic!("not a string: {other:?}"),
    }
}

fn set_of(v: &Value) -> (&'static str, Vec<&[u8]>) {
    match v {
        Value::Set(s) => (s.encoding(), s.iter().map(|m| &m[..]).collect()),
        other => panic!("not a set: {other:?}"),
    }
}

fn zset_of(v: &Value) -> (&'static str, Vec<(Vec<u8>, f64)>) {
    match v {
        Value::ZSet(z) => (
            z.encoding(),
            z.iter().map(|(m, s)| (m.to_vec(), s)).collect(),
        ),
        other => panic!("not a zset: {other:?}"),
    }
}

fn hash_of(v: &Value) -> (&'static str, Vec<Pair<'_>>) {
    match v {
        Value::Hash(h) => (
            h.encoding(),
            h.iter().map(|(f, v)| (&f[..], &v[..])).collect(),
        ),
        other => panic!("not a hash: {other:?}"),
    }
}

#[test]
fn strings_in_every_encoding() {
    let long = b"abcdefghij".repeat(30);
    let packed = lzf::compress(&long);
    let file = Rdb::new(10)
        .key(types::STRING, b"plain")
        .str(b"hello")
        .key(types::STRING, b"i8")
        .raw(&[0xc0, 0xf6])
        .key(types::STRING, b"i16")
        .raw(&[0xc1])
        .raw(&(-1234i16).to_le_bytes())
        .key(types::STRING, b"i32")
        .raw(&[0xc2])
        .raw(&123_456_789i32.to_le_bytes())
        .key(types::STRING, b"lzf")
        .raw(&[0xc3])
        .len(packed.len() as u64)
        .len(long.len() as u64)
        .raw(&packed)
        .key(types::STRING, b"len14")
        .str(&[b'x'; 100])
        .key(types::STRING, b"len32")
        .raw(&[0x80, 0, 0, 0, 2])
        .raw(b"ab")
        .key(types::STRING, b"len64")
        .raw(&[0x81, 0, 0, 0, 0, 0, 0, 0, 3])
        .raw(b"123")
        .key(types::STRING, b"")
        .str(b"")
        // An integer-encoded key.
        .byte(types::STRING)
        .raw(&[0xc0, 7])
        .str(b"seven")
        .finish();
    let (summary, c) = run(&file).unwrap();
    assert_eq!(summary.keys, 10);
    assert_eq!(summary.bytes, file.len() as u64);
    let got: Vec<(&[u8], &[u8], &str)> = c
        .keys
        .iter()
        .map(|(_, k, v, _)| {
            let s = str_value(v);
            (&k[..], &s[..], strenc::encoding(s))
        })
        .collect();
    assert_eq!(
        got,
        [
            (&b"plain"[..], &b"hello"[..], "embstr"),
            (b"i8", b"-10", "int"),
            (b"i16", b"-1234", "int"),
            (b"i32", b"123456789", "int"),
            (b"lzf", &long[..], "raw"),
            (b"len14", &[b'x'; 100][..], "raw"),
            (b"len32", b"ab", "embstr"),
            (b"len64", b"123", "int"),
            (b"", b"", "embstr"),
            (b"7", b"seven", "embstr"),
        ]
    );
}

#[test]
fn aofd_lzf_strings_load() {
    // Strings compressed by our own compressor, as the writer will store them.
    for data in [
        b"0123456789".repeat(100),
        vec![b'z'; 70_000],
        (0..3000u32).map(|i| (i % 7) as u8 + b'a').collect(),
    ] {
        let packed = lzf::compress(&data);
        let file = Rdb::new(10)
            .key(types::STRING, b"k")
            .raw(&[0xc3])
            .len(packed.len() as u64)
            .len(data.len() as u64)
            .raw(&packed)
            .finish();
        assert_eq!(str_value(&one(&file)), &data);
    }
    // A corrupt LZF body is an error naming LZF.
    let file = Rdb::new(10)
        .key(types::STRING, b"k")
        .raw(&[0xc3, 2, 10, 0x20, 5])
        .finish();
    assert!(err(&file).starts_with("Invalid LZF compressed string"));
}

#[test]
fn lists_in_every_encoding() {
    let big = vec![b'B'; 100];
    let plain = Rdb::new(10)
        .key(types::LIST, b"l")
        .len(3)
        .str(b"a")
        .raw(&[0xc0, 5])
        .str(&big)
        .finish();
    assert_eq!(list(&one(&plain)), [&b"a"[..], b"5", &big]);

    let zl = ziplist(&[Entry::Str(b"x"), Entry::Int(-7), Entry::Int(1 << 40)]);
    let file = Rdb::new(10)
        .key(types::LIST_ZIPLIST, b"l")
        .str(&zl)
        .finish();
    assert_eq!(list(&one(&file)), [&b"x"[..], b"-7", b"1099511627776"]);

    let node1 = ziplist(&[Entry::Str(b"a"), Entry::Int(2)]);
    let empty = ziplist(&[]);
    let node2 = ziplist(&[Entry::Str(&big)]);
    let file = Rdb::new(9)
        .key(types::LIST_QUICKLIST, b"l")
        .len(3)
        .str(&node1)
        .str(&empty)
        .str(&node2)
        .finish();
    assert_eq!(list(&one(&file)), [&b"a"[..], b"2", &big]);

    let packed = listpack(&[Entry::Str(b"p"), Entry::Int(300)]);
    let compressed_node = listpack(&[Entry::Str(&[b'c'; 80]); 3]);
    let lzf_node = lzf::compress(&compressed_node);
    let file = Rdb::new(10)
        .key(types::LIST_QUICKLIST_2, b"l")
        .len(5)
        .len(u64::from(container::PACKED))
        .str(&packed)
        .len(u64::from(container::PLAIN))
        .str(&big)
        .len(u64::from(container::PACKED))
        .str(&listpack(&[]))
        .len(u64::from(container::PACKED))
        .raw(&[0xc3])
        .len(lzf_node.len() as u64)
        .len(compressed_node.len() as u64)
        .raw(&lzf_node)
        .len(u64::from(container::PLAIN))
        .str(b"")
        .finish();
    let c80 = [b'c'; 80];
    assert_eq!(
        list(&one(&file)),
        [&b"p"[..], b"300", &big, &c80, &c80, &c80, b""]
    );

    let bad_container = Rdb::new(10)
        .key(types::LIST_QUICKLIST_2, b"l")
        .len(1)
        .len(3)
        .str(b"x")
        .finish();
    assert!(err(&bad_container).contains("container 3"));
}

#[test]
fn sets_in_every_encoding() {
    let file = Rdb::new(10)
        .key(types::SET, b"ints")
        .len(3)
        .str(b"10")
        .str(b"-2")
        .raw(&[0xc0, 3])
        .key(types::SET, b"mixed")
        .len(2)
        .str(b"1")
        .str(b"a")
        .finish();
    let (_, c) = run(&file).unwrap();
    assert_eq!(
        set_of(&c.keys[0].2),
        ("intset", vec![&b"-2"[..], b"3", b"10"])
    );
    assert_eq!(set_of(&c.keys[1].2).0, "hashtable");

    let mut blob = 4u32.to_le_bytes().to_vec();
    blob.extend_from_slice(&3u32.to_le_bytes());
    for v in [-100_000i32, 5, 100_000] {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    let file = Rdb::new(10)
        .key(types::SET_INTSET, b"s")
        .str(&blob)
        .finish();
    assert_eq!(
        set_of(&one(&file)),
        ("intset", vec![&b"-100000"[..], b"5", b"100000"])
    );

    let lp = listpack(&[Entry::Int(3), Entry::Int(1)]);
    let file = Rdb::new(11)
        .key(types::SET_LISTPACK, b"s")
        .str(&lp)
        .finish();
    assert_eq!(set_of(&one(&file)), ("intset", vec![&b"1"[..], b"3"]));
    let lp = listpack(&[Entry::Str(b"x"), Entry::Int(1)]);
    let file = Rdb::new(11)
        .key(types::SET_LISTPACK, b"s")
        .str(&lp)
        .finish();
    assert_eq!(set_of(&one(&file)).0, "hashtable");

    // 513 integers: too many for an intset.
    let mut b = Rdb::new(10).key(types::SET, b"big").len(513);
    for i in 0..513 {
        b = b.str(i.to_string().as_bytes());
    }
    assert_eq!(set_of(&one(&b.finish())).0, "hashtable");

    let dup = Rdb::new(10)
        .key(types::SET, b"d")
        .len(2)
        .str(b"a")
        .str(b"a")
        .finish();
    assert_eq!(err(&dup), "Duplicate set members detected (key 'd')");
    let dup = listpack(&[Entry::Str(b"a"), Entry::Str(b"a")]);
    let dup = Rdb::new(11)
        .key(types::SET_LISTPACK, b"d")
        .str(&dup)
        .finish();
    assert!(err(&dup).contains("duplicate member"));
}

#[test]
fn sorted_sets_in_every_encoding() {
    let file = Rdb::new(6)
        .key(types::ZSET, b"z")
        .len(4)
        .str(b"a")
        .raw(b"\x031.5")
        .str(b"b")
        .byte(254)
        .str(b"c")
        .byte(255)
        .str(b"d")
        .raw(b"\x02-0")
        .finish();
    let (enc, members) = zset_of(&one(&file));
    assert_eq!(enc, "listpack");
    assert_eq!(
        members,
        [
            (b"c".to_vec(), f64::NEG_INFINITY),
            (b"d".to_vec(), 0.0),
            (b"a".to_vec(), 1.5),
            (b"b".to_vec(), f64::INFINITY),
        ]
    );

    let nan = Rdb::new(6)
        .key(types::ZSET, b"z")
        .len(1)
        .str(b"a")
        .byte(253)
        .finish();
    assert_eq!(err(&nan), "Zset with NAN score detected (key 'z')");

    let file = Rdb::new(10)
        .key(types::ZSET_2, b"z")
        .len(2)
        .str(b"x")
        .raw(&2.25f64.to_le_bytes())
        .str(&[b'm'; 65])
        .raw(&(-1.0f64).to_le_bytes())
        .finish();
    let (enc, members) = zset_of(&one(&file));
    assert_eq!(enc, "skiplist");
    assert_eq!(members, [(vec![b'm'; 65], -1.0), (b"x".to_vec(), 2.25)]);
    let nan = Rdb::new(10)
        .key(types::ZSET_2, b"z")
        .len(1)
        .str(b"x")
        .raw(&f64::NAN.to_le_bytes())
        .finish();
    assert!(err(&nan).starts_with("Zset with NAN score detected"));

    // 129 members: a skip list.
    let mut b = Rdb::new(10).key(types::ZSET_2, b"big").len(129);
    for i in 0..129 {
        b = b
            .str(format!("m{i}").as_bytes())
            .raw(&f64::from(i).to_le_bytes());
    }
    assert_eq!(zset_of(&one(&b.finish())).0, "skiplist");

    for (kind, blob) in [
        (
            types::ZSET_ZIPLIST,
            ziplist(&[
                Entry::Str(b"a"),
                Entry::Int(2),
                Entry::Int(7),
                Entry::Str(b"-inf"),
                Entry::Str(b"c"),
                Entry::Str(b"1.5e3"),
            ]),
        ),
        (
            types::ZSET_LISTPACK,
            listpack(&[
                Entry::Str(b"a"),
                Entry::Int(2),
                Entry::Int(7),
                Entry::Str(b"-inf"),
                Entry::Str(b"c"),
                Entry::Str(b"1.5e3"),
            ]),
        ),
    ] {
        let file = Rdb::new(10).key(kind, b"z").str(&blob).finish();
        assert_eq!(
            zset_of(&one(&file)),
            (
                "listpack",
                vec![
                    (b"7".to_vec(), f64::NEG_INFINITY),
                    (b"a".to_vec(), 2.0),
                    (b"c".to_vec(), 1500.0)
                ]
            )
        );
    }
    let bad = listpack(&[Entry::Str(b"a"), Entry::Str(b"nan")]);
    let bad = Rdb::new(10)
        .key(types::ZSET_LISTPACK, b"z")
        .str(&bad)
        .finish();
    assert!(err(&bad).contains("invalid score"));
    let odd = listpack(&[Entry::Str(b"a"), Entry::Int(1), Entry::Str(b"b")]);
    let odd = Rdb::new(10)
        .key(types::ZSET_LISTPACK, b"z")
        .str(&odd)
        .finish();
    assert!(err(&odd).contains("odd number"));
    let dup = Rdb::new(10)
        .key(types::ZSET_2, b"z")
        .len(2)
        .str(b"x")
        .raw(&1f64.to_le_bytes())
        .str(b"x")
        .raw(&2f64.to_le_bytes())
        .finish();
    assert_eq!(err(&dup), "Duplicate zset fields detected (key 'z')");
}

#[test]
fn hashes_in_every_encoding() {
    let file = Rdb::new(10)
        .key(types::HASH, b"h")
        .len(2)
        .str(b"f1")
        .str(b"v1")
        .raw(&[0xc0, 2])
        .raw(&[0xc1, 0x10, 0x27])
        .finish();
    assert_eq!(
        hash_of(&one(&file)),
        ("listpack", vec![(&b"f1"[..], &b"v1"[..]), (b"2", b"10000")])
    );
    let file = Rdb::new(10)
        .key(types::HASH, b"h")
        .len(1)
        .str(b"f")
        .str(&[b'v'; 65])
        .finish();
    assert_eq!(hash_of(&one(&file)).0, "hashtable");

    for (kind, blob) in [
        (
            types::HASH_ZIPLIST,
            ziplist(&[
                Entry::Str(b"a"),
                Entry::Int(1),
                Entry::Int(2),
                Entry::Str(b"b"),
            ]),
        ),
        (
            types::HASH_LISTPACK,
            listpack(&[
                Entry::Str(b"a"),
                Entry::Int(1),
                Entry::Int(2),
                Entry::Str(b"b"),
            ]),
        ),
    ] {
        let file = Rdb::new(10).key(kind, b"h").str(&blob).finish();
        assert_eq!(
            hash_of(&one(&file)),
            ("listpack", vec![(&b"a"[..], &b"1"[..]), (b"2", b"b")])
        );
    }

    // Zipmap: count, "f" -> "v" (free 0), "long" -> 300 bytes via the big length, free 2.
    let mut zm = vec![2, 1, b'f', 1, 0, b'v', 4];
    zm.extend_from_slice(b"long");
    zm.push(254);
    zm.extend_from_slice(&300u32.to_le_bytes());
    zm.push(2);
    zm.extend_from_slice(&[b'L'; 300]);
    zm.extend_from_slice(&[0, 0, 255]);
    let file = Rdb::new(3).key(types::HASH_ZIPMAP, b"h").str(&zm).finish();
    let v = one(&file);
    let (enc, pairs) = hash_of(&v);
    assert_eq!(enc, "hashtable");
    assert_eq!(pairs, [(&b"f"[..], &b"v"[..]), (b"long", &[b'L'; 300][..])]);
    let bad = Rdb::new(3)
        .key(types::HASH_ZIPMAP, b"h")
        .str(&zm[..20])
        .finish();
    assert!(err(&bad).starts_with("Zipmap integrity check failed"));

    let dup = Rdb::new(10)
        .key(types::HASH, b"h")
        .len(2)
        .str(b"f")
        .str(b"1")
        .str(b"f")
        .str(b"2")
        .finish();
    assert_eq!(err(&dup), "Duplicate hash fields detected (key 'h')");
    let dup = listpack(&[
        Entry::Str(b"f"),
        Entry::Int(1),
        Entry::Str(b"f"),
        Entry::Int(2),
    ]);
    let dup = Rdb::new(10)
        .key(types::HASH_LISTPACK, b"h")
        .str(&dup)
        .finish();
    assert!(err(&dup).starts_with("Hash listpack integrity check failed: duplicate field"));
}

#[test]
fn empty_collections_are_skipped() {
    let file = Rdb::new(10)
        .key(types::LIST, b"a")
        .len(0)
        .key(types::SET, b"b")
        .len(0)
        .key(types::ZSET_2, b"c")
        .len(0)
        .key(types::HASH, b"d")
        .len(0)
        .key(types::HASH_LISTPACK, b"e")
        .str(&listpack(&[]))
        .key(types::LIST_QUICKLIST_2, b"f")
        .len(1)
        .len(2)
        .str(&listpack(&[]))
        .key(types::SET_INTSET, b"g")
        .str(&[2, 0, 0, 0, 0, 0, 0, 0])
        .key(types::STRING, b"kept")
        .str(b"")
        .finish();
    let (summary, c) = run(&file).unwrap();
    assert_eq!(summary.keys, 1);
    assert_eq!(summary.empty_keys_skipped, 7);
    assert_eq!(c.keys[0].1, b"kept");
}

#[test]
fn opcodes() {
    let file = Rdb::new(10)
        .byte(opcodes::AUX)
        .str(b"redis-ver")
        .str(b"7.0.15")
        .byte(opcodes::AUX)
        .str(b"ctime")
        .raw(&[0xc2])
        .raw(&1_700_000_000i32.to_le_bytes())
        .byte(opcodes::SELECTDB)
        .len(0)
        .byte(opcodes::RESIZEDB)
        .len(2)
        .len(1)
        .byte(opcodes::EXPIRETIME_MS)
        .raw(&4_102_444_800_123i64.to_le_bytes())
        .byte(opcodes::IDLE)
        .len(1000)
        .key(types::STRING, b"a")
        .str(b"1")
        .byte(opcodes::FREQ)
        .byte(5)
        .key(types::STRING, b"b")
        .str(b"2")
        .byte(opcodes::SELECTDB)
        .len(15)
        .byte(opcodes::EXPIRETIME)
        .raw(&2_000_000_000i32.to_le_bytes())
        .key(types::STRING, b"c")
        .str(b"3")
        .finish();
    let (summary, c) = run(&file).unwrap();
    assert_eq!(summary.version, 10);
    assert_eq!(
        c.aux,
        [
            (b"redis-ver".to_vec(), b"7.0.15".to_vec()),
            (b"ctime".to_vec(), b"1700000000".to_vec())
        ]
    );
    let keys: Vec<(usize, &[u8], Option<i64>)> = c
        .keys
        .iter()
        .map(|(db, k, _, e)| (*db, &k[..], *e))
        .collect();
    assert_eq!(
        keys,
        [
            (0, &b"a"[..], Some(4_102_444_800_123)),
            (0, b"b", None),
            (15, b"c", Some(2_000_000_000_000)),
        ]
    );

    let out_of_range = Rdb::new(10).byte(opcodes::SELECTDB).len(16).finish();
    assert_eq!(
        err(&out_of_range),
        "Data file was created with a Redis server configured to handle more than 16 \
         databases (it selects database 16)"
    );
}

#[test]
fn unsupported_content_is_named() {
    for (kind, what) in [
        (types::STREAM_LISTPACKS, "holds a stream"),
        (types::STREAM_LISTPACKS_2, "holds a stream"),
        (types::STREAM_LISTPACKS_3, "holds a stream"),
        (types::MODULE, "holds a module value (RDB type 6)"),
        (types::MODULE_2, "holds a module value (RDB type 7)"),
    ] {
        let file = Rdb::new(10).key(kind, b"my\x01key").len(0).finish();
        let e = err(&file);
        assert!(e.starts_with("Key 'my\\x01key' "), "{e}");
        assert!(e.contains(what), "{e}");
        assert!(e.ends_with("which aofd does not support"), "{e}");
    }
    let file = Rdb::new(10).byte(opcodes::FUNCTION2).str(b"x").finish();
    assert!(err(&file).contains("Redis functions (FUNCTION LOAD libraries)"));
    let file = Rdb::new(10).byte(opcodes::FUNCTION).str(b"x").finish();
    assert!(err(&file).contains("Redis functions (FUNCTION LOAD libraries)"));
    let file = Rdb::new(10).byte(opcodes::MODULE_AUX).finish();
    assert!(err(&file).contains("module auxiliary data"));
    for unknown in [8u8, 22, 100, 244] {
        let file = Rdb::new(10).key(unknown, b"k").finish();
        let e = run(&file).err().unwrap();
        assert_eq!(
            e.message,
            format!("Unknown RDB value type {unknown} (0x{unknown:02x})")
        );
        assert_eq!(e.offset, 9);
        assert_eq!(
            e.to_string(),
            format!("Unknown RDB value type {unknown} (0x{unknown:02x}) (at byte offset 9)")
        );
    }
}

#[test]
fn header_versions_and_checksum() {
    for version in 1..=11 {
        let mut b = Rdb::new(version).key(types::STRING, b"k").str(b"v");
        let file = if version >= 5 {
            b.finish()
        } else {
            b = b.byte(opcodes::EOF);
            b.buf
        };
        let (summary, _) = run(&file).unwrap();
        assert_eq!(summary.version, version);
        assert_eq!(summary.bytes, file.len() as u64);
    }
    assert_eq!(
        err(&Rdb::new(12).finish()),
        "Can't handle RDB format version 12"
    );
    assert_eq!(
        err(&Rdb::new(0).finish()),
        "Can't handle RDB format version 0"
    );
    let mut file = Rdb::new(10).finish();
    file[0] = b'X';
    assert_eq!(err(&file), "Wrong signature trying to load DB from file");

    let mut file = Rdb::new(10).key(types::STRING, b"k").str(b"v").finish();
    let n = file.len();
    let good = crc64::update(0, &file[..n - 8]);
    file[n - 8] ^= 1;
    let e = run(&file).err().unwrap();
    assert_eq!(
        e.message,
        format!(
            "Wrong RDB checksum expected: ({good:x}) got: ({:x})",
            good ^ 1
        )
    );
    assert_eq!(e.offset, (n - 8) as u64);
    // A zero checksum means "saved with rdbchecksum no": not checked.
    file[n - 8..].copy_from_slice(&[0; 8]);
    assert!(run(&file).is_ok());
}

#[test]
fn reads_nothing_after_the_checksum() {
    let mut file = Rdb::new(10)
        .key(types::LIST, b"l")
        .len(2)
        .str(b"a")
        .str(b"b")
        .finish();
    let rdb_len = file.len();
    file.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    for capacity in [1, 3, 8, 4096] {
        let mut input = BufReader::with_capacity(capacity, &file[..]);
        let mut target = Collect::default();
        let summary = load(&mut input, &OPTS, &mut target).unwrap();
        assert_eq!(summary.bytes, rdb_len as u64);
        let mut rest = Vec::new();
        input.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"*1\r\n$4\r\nPING\r\n");
    }
}

#[test]
fn progress_and_target_errors() {
    let mut b = Rdb::new(10);
    for i in 0..2100 {
        b = b.key(types::STRING, format!("k{i}").as_bytes()).str(b"v");
    }
    let file = b.finish();
    let (summary, c) = run(&file).unwrap();
    assert_eq!(summary.keys, 2100);
    assert_eq!(c.progress.len(), 2);
    assert!(c.progress[0] < c.progress[1]);

    let mut target = Collect {
        refuse: Some(b"k5".to_vec()),
        ..Collect::default()
    };
    let e = load(&mut &file[..], &OPTS, &mut target).err().unwrap();
    assert_eq!(e.message, "refused");
    assert_eq!(target.keys.len(), 5);
}

#[test]
fn lying_lengths_do_not_allocate() {
    let huge_string = Rdb::new(10)
        .byte(types::STRING)
        .raw(&[0x81, 0x3f, 0, 0, 0, 0, 0, 0, 0])
        .finish();
    assert_eq!(err(&huge_string), "Unexpected EOF reading RDB file");
    let huge_list = Rdb::new(10)
        .key(types::LIST, b"l")
        .raw(&[0x81, 0, 0, 0x10, 0, 0, 0, 0, 0])
        .finish();
    // The EOF opcode byte is read as an element: an error, with nothing preallocated.
    assert!(err(&huge_list).ends_with("(key 'l')"));
    let huge_lzf = Rdb::new(10)
        .key(types::STRING, b"k")
        .raw(&[0xc3, 2])
        .raw(&[0x81, 0, 0, 0x10, 0, 0, 0, 0, 0])
        .raw(&[0, b'a'])
        .finish();
    assert!(err(&huge_lzf).starts_with("Invalid LZF compressed string"));
    let bad_len = Rdb::new(10).key(types::LIST, b"l").byte(0x90).finish();
    assert!(err(&bad_len).starts_with("Unknown length encoding 144"));
    let encoded_len = Rdb::new(10).key(types::LIST, b"l").byte(0xc0).finish();
    assert!(err(&encoded_len).contains("where a length was expected"));
    let bad_enc = Rdb::new(10).key(types::STRING, b"k").byte(0xc4).finish();
    assert!(err(&bad_enc).starts_with("Unknown RDB string encoding type 4"));
}

/// A small file touching most code paths, for the truncation and corruption sweeps.
fn sample() -> Vec<u8> {
    let long = b"compress me ".repeat(8);
    let packed = lzf::compress(&long);
    let mut intset = 2u32.to_le_bytes().to_vec();
    intset.extend_from_slice(&2u32.to_le_bytes());
    intset.extend_from_slice(&[1, 0, 2, 0]);
    Rdb::new(10)
        .byte(opcodes::AUX)
        .str(b"redis-ver")
        .str(b"7.0.15")
        .byte(opcodes::SELECTDB)
        .len(1)
        .byte(opcodes::RESIZEDB)
        .len(9)
        .len(1)
        .byte(opcodes::EXPIRETIME_MS)
        .raw(&1i64.to_le_bytes())
        .key(types::STRING, b"s")
        .raw(&[0xc3])
        .len(packed.len() as u64)
        .len(long.len() as u64)
        .raw(&packed)
        .key(types::LIST_QUICKLIST_2, b"l")
        .len(2)
        .len(2)
        .str(&listpack(&[Entry::Str(b"a"), Entry::Int(-3000)]))
        .len(1)
        .str(b"plain")
        .key(types::LIST_QUICKLIST, b"q")
        .len(1)
        .str(&ziplist(&[Entry::Int(5), Entry::Str(b"zz")]))
        .key(types::SET_INTSET, b"i")
        .str(&intset)
        .key(types::SET, b"t")
        .len(1)
        .str(b"m")
        .key(types::ZSET_2, b"z")
        .len(1)
        .str(b"m")
        .raw(&1.5f64.to_le_bytes())
        .key(types::ZSET, b"y")
        .len(1)
        .str(b"m")
        .raw(b"\x032.5")
        .key(types::ZSET_LISTPACK, b"x")
        .str(&listpack(&[Entry::Str(b"m"), Entry::Int(1)]))
        .key(types::HASH_ZIPLIST, b"h")
        .str(&ziplist(&[Entry::Str(b"f"), Entry::Int(1)]))
        .key(types::HASH, b"g")
        .len(1)
        .str(b"f")
        .raw(&[0xc1, 1, 1])
        .key(types::HASH_ZIPMAP, b"m")
        .str(&[1, 1, b'f', 1, 0, b'v', 255])
        .finish()
}

#[test]
fn sample_loads() {
    let file = sample();
    let (summary, c) = run(&file).unwrap();
    assert_eq!(summary.keys, 11);
    assert!(c.keys.iter().all(|(db, ..)| *db == 1));
}

#[test]
fn every_truncation_is_an_error() {
    let file = sample();
    for cut in 0..file.len() {
        assert!(run(&file[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn corruption_never_panics() {
    let file = sample();
    let n = file.len();
    // With the checksum zeroed, the parser itself has to cope with every corrupt byte.
    let mut unchecked = file.clone();
    unchecked[n - 8..].copy_from_slice(&[0; 8]);
    for at in 0..n - 8 {
        for flip in [0x01u8, 0x80, 0xff, 0x40, 0x3f] {
            let mut bad = unchecked.clone();
            bad[at] ^= flip;
            let _ = run(&bad);
        }
    }
    // Pseudo-random multi-byte damage.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..3000 {
        let mut bad = unchecked.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = 9 + (state as usize) % (n - 17);
            bad[at] = (state >> 32) as u8;
        }
        let _ = run(&bad);
    }
    // With the checksum in place, any single flipped byte is refused.
    for at in 9..n {
        let mut bad = file.clone();
        bad[at] ^= 0x10;
        assert!(run(&bad).is_err(), "flip at {at}");
    }
}
