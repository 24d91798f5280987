//! The RDB reader against real files: a private `redis-server` 7.0 builds a dataset covering
//! every type in its small and large encodings, SAVEs it, and `aofd::rdb::load::load` must read
//! the `dump.rdb` back to exactly what the server reports (values, TTLs, and the encodings the
//! server itself has after a DEBUG RELOAD of the same file). And the other way round: strings
//! compressed by our `lzf::compress` must come back intact through the server's `lzf_decompress`
//! (RESTORE of a hand-built DUMP payload).
//!
//! Runs only with `AOFD_DIFFERENTIAL=1`; then a missing or wrong `redis-server` is a failure.

#[allow(dead_code)]
#[path = "differential/procs.rs"]
mod procs;

use std::collections::BTreeMap;
use std::io::BufReader;

use aofd::db::{strenc, Value};
use aofd::rdb::load::{load, LoadOptions, LoadTarget};
use procs::Spec;
use redis::Connection;

/// Every loaded key: (db, key) -> (value, expire time).
#[derive(Default)]
struct Loaded {
    keys: BTreeMap<(usize, Vec<u8>), (Value, Option<i64>)>,
    aux: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl LoadTarget for Loaded {
    fn key(
        &mut self,
        db: usize,
        key: Vec<u8>,
        value: Value,
        expire_ms: Option<i64>,
    ) -> Result<(), String> {
        match self.keys.insert((db, key), (value, expire_ms)) {
            None => Ok(()),
            Some(_) => Err("key loaded twice".into()),
        }
    }

    fn aux(&mut self, name: &[u8], value: &[u8]) {
        self.aux.insert(name.to_vec(), value.to_vec());
    }
}

fn cmd(con: &mut Connection, args: &[&[u8]]) -> redis::Value {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])))
}

fn bulk_list(v: redis::Value) -> Vec<Vec<u8>> {
    redis::from_redis_value(v).expect("an array of strings")
}

/// Builds the dataset in databases 0, 3 and 15.
fn populate(con: &mut Connection) {
    let mut c = |args: &[&[u8]]| {
        cmd(con, args);
    };
    // Elements above this size go into PLAIN quicklist nodes (7.0's default is 1 GB).
    c(&[b"DEBUG", b"QUICKLIST-PACKED-THRESHOLD", b"100"]);
    for db in [&b"0"[..], b"3", b"15"] {
        c(&[b"SELECT", db]);
        let tag = db.to_vec();
        let k = |name: &str| [name.as_bytes(), b":", &tag].concat();

        // Strings: integers of every width, non-canonical numbers, LZF-compressible text.
        for (name, value) in [
            ("s:small", &b"hello"[..]),
            ("s:i8", b"-5"),
            ("s:i16", b"30000"),
            ("s:i32", b"-2000000000"),
            ("s:i64", b"9223372036854775807"),
            ("s:i64min", b"-9223372036854775808"),
            ("s:zero", b"0"),
            ("s:lead0", b"007"),
            ("s:float", b"3.14"),
            ("s:empty", b""),
            ("s:44", &[b'e'; 44]),
            ("s:45", &[b'e'; 45]),
        ] {
            c(&[b"SET", &k(name), value]);
        }
        let lzf = b"compressible text ".repeat(20);
        c(&[b"SET", &k("s:lzf"), &lzf]);
        let noise: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 256) as u8).collect();
        c(&[b"SET", &k("s:noise"), &noise]);
        c(&[b"SET", b"bin\x00\xff\r\nkey", b"\x00\x01\x02binary\xff"]);

        // Lists: a small one, a long one mixing PACKED and PLAIN nodes.
        c(&[b"RPUSH", &k("l:small"), b"a", b"1", b"-2", b"", b"e"]);
        let mut long: Vec<Vec<u8>> = Vec::new();
        for i in 0..1000u32 {
            long.push(match i % 10 {
                0 => vec![b'x'; 120 + i as usize % 50],
                1 => vec![b'y'; 70],
                2 => i.to_string().into_bytes(),
                _ => format!("element-{i}").into_bytes(),
            });
        }
        for chunk in long.chunks(100) {
            let key = k("l:big");
            let mut args: Vec<&[u8]> = vec![b"RPUSH", &key];
            args.extend(chunk.iter().map(|e| &e[..]));
            c(&args);
        }

        // Sets: intset, hashtable by size, hashtable by content.
        c(&[
            b"SADD",
            &k("set:int"),
            b"5",
            b"-3",
            b"100000",
            b"-9223372036854775808",
        ]);
        let key = k("set:bigint");
        let many: Vec<Vec<u8>> = (0..600).map(|i| (i * 3).to_string().into_bytes()).collect();
        let mut args: Vec<&[u8]> = vec![b"SADD", &key];
        args.extend(many.iter().map(|e| &e[..]));
        c(&args);
        c(&[b"SADD", &k("set:str"), b"a", b"b", b"1"]);
        let key = k("set:big");
        let many: Vec<Vec<u8>> = (0..1000).map(|i| format!("m{i}").into_bytes()).collect();
        let mut args: Vec<&[u8]> = vec![b"SADD", &key];
        args.extend(many.iter().map(|e| &e[..]));
        c(&args);

        // Sorted sets: listpack (with infinities and awkward doubles) and skip lists.
        c(&[
            b"ZADD",
            &k("z:small"),
            b"-inf",
            b"lo",
            b"+inf",
            b"hi",
            b"0.1",
            b"tenth",
            b"1e-300",
            b"tiny",
            b"-0",
            b"negzero",
            b"3",
            b"three",
            b"1.7976931348623157e308",
            b"max",
        ]);
        let key = k("z:big");
        let mut members: Vec<Vec<u8>> = Vec::new();
        for i in 0..200 {
            members.push(format!("{}", f64::from(i) / 3.0).into_bytes());
            members.push(format!("member{i}").into_bytes());
        }
        members.extend([
            b"-inf".to_vec(),
            b"ninf".to_vec(),
            b"inf".to_vec(),
            b"pinf".to_vec(),
        ]);
        let mut args: Vec<&[u8]> = vec![b"ZADD", &key];
        args.extend(members.iter().map(|e| &e[..]));
        c(&args);
        c(&[b"ZADD", &k("z:longmember"), b"1", &[b'm'; 65], b"-0", b"z"]);

        // Hashes: listpack, hashtable by size, hashtable by value length.
        c(&[
            b"HSET",
            &k("h:small"),
            b"f1",
            b"v1",
            b"n",
            b"42",
            b"neg",
            b"-1",
            b"e",
            b"",
        ]);
        let key = k("h:big");
        let pairs: Vec<Vec<u8>> = (0..600)
            .flat_map(|i| [format!("field{i}").into_bytes(), i.to_string().into_bytes()])
            .collect();
        let mut args: Vec<&[u8]> = vec![b"HSET", &key];
        args.extend(pairs.iter().map(|e| &e[..]));
        c(&args);
        c(&[b"HSET", &k("h:longval"), b"f", &[b'v'; 100]]);

        // TTLs far in the future, in milliseconds and seconds.
        c(&[b"SET", &k("ttl:str"), b"v", b"PXAT", b"4102444800123"]);
        c(&[b"RPUSH", &k("ttl:list"), b"a"]);
        c(&[b"EXPIREAT", &k("ttl:list"), b"4102444801"]);
        c(&[b"HSET", &k("ttl:hash"), b"f", b"v"]);
        c(&[b"PEXPIREAT", &k("ttl:hash"), b"32503680000000"]);
    }
}

/// The keyspace as the server reports it: (db, key) -> (type, canonical value, encoding,
/// pexpiretime).
type Snapshot = BTreeMap<(usize, Vec<u8>), (String, Vec<Vec<u8>>, String, Option<i64>)>;

/// Reads every key of databases 0..16 from the server.
fn snapshot(con: &mut Connection) -> Snapshot {
    let mut out = Snapshot::new();
    for db in 0..16usize {
        cmd(con, &[b"SELECT", db.to_string().as_bytes()]);
        let keys = bulk_list(cmd(con, &[b"KEYS", b"*"]));
        for key in keys {
            let kind: String = redis::from_redis_value(cmd(con, &[b"TYPE", &key])).expect("type");
            let value = match kind.as_str() {
                "string" => {
                    vec![redis::from_redis_value(cmd(con, &[b"GET", &key])).expect("string")]
                }
                "list" => bulk_list(cmd(con, &[b"LRANGE", &key, b"0", b"-1"])),
                "set" => {
                    let mut m = bulk_list(cmd(con, &[b"SMEMBERS", &key]));
                    m.sort();
                    m
                }
                "zset" => bulk_list(cmd(con, &[b"ZRANGE", &key, b"0", b"-1", b"WITHSCORES"])),
                "hash" => {
                    let flat = bulk_list(cmd(con, &[b"HGETALL", &key]));
                    let mut pairs: Vec<Vec<u8>> = Vec::new();
                    let mut sorted: Vec<(Vec<u8>, Vec<u8>)> = flat
                        .chunks(2)
                        .map(|p| (p[0].clone(), p[1].clone()))
                        .collect();
                    sorted.sort();
                    for (f, v) in sorted {
                        pairs.push(f);
                        pairs.push(v);
                    }
                    pairs
                }
                other => panic!("unexpected type {other}"),
            };
            let encoding: String =
                redis::from_redis_value(cmd(con, &[b"OBJECT", b"ENCODING", &key])).expect("enc");
            let at: i64 = redis::from_redis_value(cmd(con, &[b"PEXPIRETIME", &key])).expect("ttl");
            out.insert((db, key), (kind, value, encoding, (at >= 0).then_some(at)));
        }
    }
    out
}

/// A loaded value in the same canonical form as `snapshot` (scores as comparable text).
fn canonical(value: &Value) -> (String, Vec<Vec<u8>>, String) {
    match value {
        Value::Str(s) => ("string".into(), vec![s.clone()], strenc::encoding(s).into()),
        Value::List(l) => (
            "list".into(),
            l.iter().cloned().collect(),
            "quicklist".into(),
        ),
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().cloned().collect();
            m.sort();
            ("set".into(), m, s.encoding().into())
        }
        Value::ZSet(z) => {
            let mut flat = Vec::new();
            for (m, score) in z.iter() {
                flat.push(m.to_vec());
                flat.push(score_text(score));
            }
            ("zset".into(), flat, z.encoding().into())
        }
        Value::Hash(h) => {
            let mut sorted: Vec<(Vec<u8>, Vec<u8>)> =
                h.iter().map(|(f, v)| (f.clone(), v.clone())).collect();
            sorted.sort();
            let flat = sorted.into_iter().flat_map(|(f, v)| [f, v]).collect();
            ("hash".into(), flat, h.encoding().into())
        }
    }
}

/// A score as comparable text: the shortest round-trip form of the double.
fn score_text(score: f64) -> Vec<u8> {
    if score == f64::INFINITY {
        b"inf".to_vec()
    } else if score == f64::NEG_INFINITY {
        b"-inf".to_vec()
    } else {
        format!("{score:?}").into_bytes()
    }
}

/// The server's zset reply with its scores in the same comparable form.
fn normalise_scores(kind: &str, value: &mut [Vec<u8>]) {
    if kind != "zset" {
        return;
    }
    for pair in value.chunks_mut(2) {
        let text = String::from_utf8_lossy(&pair[1]).into_owned();
        let score: f64 = text.parse().unwrap_or_else(|_| panic!("score {text}"));
        pair[1] = score_text(score);
    }
}

#[test]
fn loads_what_redis_saves() {
    if std::env::var("AOFD_DIFFERENTIAL").ok().as_deref() != Some("1") {
        eprintln!("skipped: set AOFD_DIFFERENTIAL=1 to load a real redis-server 7.0 dump.rdb");
        return;
    }
    let version = procs::check_redis_version().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("reference: {version}");
    let server = procs::start(&Spec {
        name: "redis-server",
        program: "redis-server",
        args: &procs::redis_args,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port)).unwrap();
    let mut con = client.get_connection().unwrap();

    populate(&mut con);
    cmd(&mut con, &[b"SAVE"]);
    let dir: Vec<String> =
        redis::from_redis_value(cmd(&mut con, &[b"CONFIG", b"GET", b"dir"])).unwrap();
    let file = std::fs::read(std::path::Path::new(&dir[1]).join("dump.rdb")).unwrap();

    // Load through a small buffer, with bytes after the file that must stay unread.
    let mut with_tail = file.clone();
    with_tail.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let mut input = BufReader::with_capacity(1000, &with_tail[..]);
    let mut loaded = Loaded::default();
    let summary = load(&mut input, &LoadOptions { databases: 16 }, &mut loaded)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.version, 10);
    assert_eq!(summary.bytes, file.len() as u64);
    assert_eq!(summary.empty_keys_skipped, 0);
    assert_eq!(
        loaded.aux.get(&b"redis-ver"[..]).map(|v| &v[..]),
        Some(&b"7.0.15"[..])
    );
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut input, &mut rest).unwrap();
    assert_eq!(rest, b"*1\r\n$4\r\nPING\r\n");

    // The server's view after loading the same file: values and the encodings Redis's own
    // loader gives them.
    cmd(&mut con, &[b"DEBUG", b"RELOAD"]);
    let expected = snapshot(&mut con);
    assert_eq!(summary.keys as usize, expected.len());
    assert_eq!(expected.len(), 3 * 30);

    // The dataset must reach every encoding the reader has to reproduce.
    let reached: std::collections::BTreeSet<(String, String)> = expected
        .values()
        .map(|(kind, _, encoding, _)| (kind.clone(), encoding.clone()))
        .collect();
    for (kind, encoding) in [
        ("string", "int"),
        ("string", "embstr"),
        ("string", "raw"),
        ("list", "quicklist"),
        ("set", "intset"),
        ("set", "hashtable"),
        ("zset", "listpack"),
        ("zset", "skiplist"),
        ("hash", "listpack"),
        ("hash", "hashtable"),
    ] {
        let pair = (kind.to_string(), encoding.to_string());
        assert!(reached.contains(&pair), "dataset lacks a {encoding} {kind}");
    }

    let mut mismatches = Vec::new();
    for ((db, key), (kind, mut value, encoding, ttl)) in expected {
        normalise_scores(&kind, &mut value);
        let Some((ours, our_ttl)) = loaded.keys.get(&(db, key.clone())) else {
            mismatches.push(format!(
                "db {db} {:?}: not loaded",
                String::from_utf8_lossy(&key)
            ));
            continue;
        };
        let (our_kind, our_value, our_encoding) = canonical(ours);
        let name = String::from_utf8_lossy(&key);
        if our_kind != kind || our_value != value {
            mismatches.push(format!("db {db} {name:?}: value differs ({kind})"));
        }
        if our_encoding != encoding {
            mismatches.push(format!(
                "db {db} {name:?}: encoding {our_encoding}, Redis says {encoding}"
            ));
        }
        if *our_ttl != ttl {
            mismatches.push(format!(
                "db {db} {name:?}: expire {our_ttl:?}, Redis says {ttl:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// An RDB length in its smallest encoding.
fn rdb_len(out: &mut Vec<u8>, n: usize) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

#[test]
fn redis_accepts_our_lzf() {
    if std::env::var("AOFD_DIFFERENTIAL").ok().as_deref() != Some("1") {
        eprintln!("skipped: set AOFD_DIFFERENTIAL=1 to check our LZF against redis-server 7.0");
        return;
    }
    procs::check_redis_version().unwrap_or_else(|e| panic!("{e}"));
    let server = procs::start(&Spec {
        name: "redis-server",
        program: "redis-server",
        args: &procs::redis_args,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port)).unwrap();
    let mut con = client.get_connection().unwrap();

    let inputs: Vec<Vec<u8>> = vec![
        b"abcabcabcabcabcabcabcabcabcabc".to_vec(),
        vec![b'z'; 100_000],
        b"0123456789".repeat(1000),
        (0..20_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 700) as u8)
            .collect(),
        (0..5000u64)
            .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
            .collect(),
    ];
    for (i, data) in inputs.iter().enumerate() {
        let packed = aofd::rdb::lzf::compress(data);
        // A DUMP payload: the value (a string in the LZF encoding), the RDB version, CRC-64.
        let mut payload = vec![aofd::rdb::types::STRING, 0xc3];
        rdb_len(&mut payload, packed.len());
        rdb_len(&mut payload, data.len());
        payload.extend_from_slice(&packed);
        payload.extend_from_slice(&10u16.to_le_bytes());
        let crc = aofd::rdb::crc64::update(0, &payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        let key = format!("lzf{i}");
        cmd(&mut con, &[b"RESTORE", key.as_bytes(), b"0", &payload]);
        let got: Vec<u8> =
            redis::from_redis_value(cmd(&mut con, &[b"GET", key.as_bytes()])).expect("string");
        assert!(got == *data, "input {i} came back different");
    }
}
