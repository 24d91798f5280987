//! The RESP-format AOF BASE (`aof-use-rdb-preamble no`): the keyspace as the commands that
//! rebuild it, as Redis 7.0's `rewriteAppendOnlyFileRio` writes them.
//!
//! `#TS:<secs>` first when timestamps are enabled; then per non-empty database `SELECT j` and
//! every key in keyspace order: `SET`, `RPUSH`, `SADD`, `ZADD score member`, `HMSET`, each
//! collection in commands of at most 64 elements (pairs for ZADD and HMSET), and `PEXPIREAT`
//! right after a key with a TTL. Keys that have expired but are still present are written with
//! their past TTL, as Redis does; loading then drops them. Records are encoded by
//! [`super::record::push_array`], the encoder of every other AOF record.
//!
//! Architecture Invariant: this runs in the forked rewrite child. It never logs, locks, touches
//! tokio or panics; it only reads the data it is given and writes to the `Write` it is given,
//! returning that writer's errors.

use std::io::{self, Write};

use super::record::{push_array, timestamp_annotation};
use crate::db::{Db, Value};
use crate::protocol::reply::format_double;

/// What the caller decides about the BASE's content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RespBaseOptions {
    /// `Some(now)` with `aof-timestamp-enabled`: the file starts with `#TS:<now>`.
    pub timestamp_secs: Option<i64>,
}

/// Redis's `AOF_REWRITE_ITEMS_PER_CMD`: elements (or pairs) per RPUSH/SADD/ZADD/HMSET.
pub const ITEMS_PER_CMD: usize = 64;

/// Bytes gathered before one `write_all`.
const BUF_CAP: usize = 64 * 1024;

/// Writes the RESP BASE of `dbs` (database `j` is `dbs[j]`) to `out`. `progress` is called after
/// every key with the number of keys written so far (over all databases); the caller decides
/// how often to report it (and, in tests, whether to slow down: `rdb-key-save-delay`).
///
/// # Errors
/// Whatever `out` returns; the file is then incomplete.
pub fn write_resp_base<W: Write>(
    out: &mut W,
    dbs: &[Db],
    opts: &RespBaseOptions,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(BUF_CAP * 2);
    if let Some(secs) = opts.timestamp_secs {
        buf.extend_from_slice(timestamp_annotation(secs).as_bytes());
    }
    let mut n = itoa::Buffer::new();
    let mut written: u64 = 0;
    for (j, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        push_array(&mut buf, &[b"SELECT", n.format(j).as_bytes()]);
        for (key, value) in &db.keys {
            // An empty collection cannot be expressed (RPUSH needs an element); Redis never
            // keeps one anyway.
            if value.is_empty_collection() {
                continue;
            }
            let key = key.as_bytes();
            write_value(out, &mut buf, key, value)?;
            if let Some(&at) = db.expires.get(key) {
                push_array(&mut buf, &[b"PEXPIREAT", key, n.format(at).as_bytes()]);
            }
            flush_if_full(out, &mut buf)?;
            written += 1;
            progress(written);
        }
    }
    out.write_all(&buf)?;
    out.flush()
}

/// The commands that recreate `value` under `key`.
fn write_value<W: Write>(
    out: &mut W,
    buf: &mut Vec<u8>,
    key: &[u8],
    value: &Value,
) -> io::Result<()> {
    // Reused for every chunk: command name, key, then the chunk's arguments.
    let mut args: Vec<&[u8]> = Vec::with_capacity(2 + 2 * ITEMS_PER_CMD);
    match value {
        Value::Str(s) => push_array(buf, &[b"SET", key, s.as_slice()]),
        Value::List(list) => {
            let items: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
            for chunk in items.chunks(ITEMS_PER_CMD) {
                command(buf, &mut args, b"RPUSH", key, chunk);
                flush_if_full(out, buf)?;
            }
        }
        Value::Set(set) => {
            let members: Vec<&[u8]> = set.iter().map(Vec::as_slice).collect();
            for chunk in members.chunks(ITEMS_PER_CMD) {
                command(buf, &mut args, b"SADD", key, chunk);
                flush_if_full(out, buf)?;
            }
        }
        Value::ZSet(zset) => {
            let entries: Vec<(&[u8], f64)> = zset.iter().collect();
            for chunk in entries.chunks(ITEMS_PER_CMD) {
                let scores: Vec<String> = chunk.iter().map(|&(_, s)| score_text(s)).collect();
                // Its own argument list: the score texts live only for this chunk.
                let mut zadd: Vec<&[u8]> = Vec::with_capacity(2 + 2 * chunk.len());
                zadd.extend_from_slice(&[b"ZADD", key]);
                for (&(member, _), score) in chunk.iter().zip(&scores) {
                    zadd.extend_from_slice(&[score.as_bytes(), member]);
                }
                push_array(buf, &zadd);
                flush_if_full(out, buf)?;
            }
        }
        Value::Hash(hash) => {
            let pairs: Vec<&[u8]> = hash
                .iter()
                .flat_map(|(f, v)| [f.as_slice(), v.as_slice()])
                .collect();
            for chunk in pairs.chunks(2 * ITEMS_PER_CMD) {
                command(buf, &mut args, b"HMSET", key, chunk);
                flush_if_full(out, buf)?;
            }
        }
    }
    Ok(())
}

/// Appends `name key rest...`, reusing `args` for the argument list.
fn command<'a>(
    buf: &mut Vec<u8>,
    args: &mut Vec<&'a [u8]>,
    name: &'a [u8],
    key: &'a [u8],
    rest: &[&'a [u8]],
) {
    args.clear();
    args.push(name);
    args.push(key);
    args.extend_from_slice(rest);
    push_array(buf, args);
}

/// A score as Redis's `rioWriteBulkDouble` prints it: `%.17g`, so `inf`, `-inf`, `-0`.
fn score_text(score: f64) -> String {
    if score.is_infinite() {
        let text = if score > 0.0 { "inf" } else { "-inf" };
        return text.to_string();
    }
    format_double(score)
}

fn flush_if_full<W: Write>(out: &mut W, buf: &mut Vec<u8>) -> io::Result<()> {
    if buf.len() >= BUF_CAP {
        out.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::loader::{AofReader, Item};
    use crate::db::hash::Hash;
    use crate::db::set::Set;
    use crate::db::zset::ZSet;
    use crate::protocol::parser::parse_i64;

    fn base(dbs: &[Db], ts: Option<i64>) -> Vec<u8> {
        let mut out = Vec::new();
        let opts = RespBaseOptions { timestamp_secs: ts };
        write_resp_base(&mut out, dbs, &opts, &mut |_| {}).expect("a Vec never fails");
        out
    }

    fn list(items: impl IntoIterator<Item = String>) -> Value {
        Value::List(Box::new(
            items.into_iter().map(String::into_bytes).collect(),
        ))
    }

    /// Decodes a BASE into readable command lines (annotations as `#...`).
    fn lines(bytes: &[u8]) -> Vec<String> {
        let mut r = AofReader::new(bytes);
        let mut out = Vec::new();
        loop {
            match r.next_item() {
                Ok(Some(Item::Command(c))) => out.push(
                    c.args
                        .iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                Ok(Some(Item::Annotation { text, .. })) => {
                    out.push(String::from_utf8_lossy(&text).into_owned());
                }
                Ok(None) => return out,
                Err(e) => panic!("unreadable BASE: {e:?}"),
            }
        }
    }

    #[test]
    fn small_dataset_exact_bytes() {
        let mut db0 = Db::default();
        db0.set(b"s", Value::Str(b"v".to_vec()));
        db0.set_expire(b"s", 1_795_405_398_209);
        db0.set(b"l", list(["a".into(), "b".into()]));
        let mut z = ZSet::new();
        z.insert(b"x", 1.0);
        z.insert(b"y", 2.5);
        db0.set(b"z", Value::ZSet(Box::new(z)));
        let mut db2 = Db::default();
        db2.set(
            b"t",
            Value::Set(Box::new(["m"].into_iter().collect::<Set>())),
        );
        db2.set(
            b"h",
            Value::Hash(Box::new([("f", "1")].into_iter().collect::<Hash>())),
        );
        let got = base(&[db0, Db::default(), db2], Some(1_795_404_902));
        let expected = concat!(
            "#TS:1795404902\r\n",
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n",
            "*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n",
            "*3\r\n$9\r\nPEXPIREAT\r\n$1\r\ns\r\n$13\r\n1795405398209\r\n",
            "*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\nb\r\n",
            "*6\r\n$4\r\nZADD\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\nx\r\n$3\r\n2.5\r\n$1\r\ny\r\n",
            "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n",
            "*3\r\n$4\r\nSADD\r\n$1\r\nt\r\n$1\r\nm\r\n",
            "*4\r\n$5\r\nHMSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\n1\r\n",
        );
        assert_eq!(String::from_utf8_lossy(&got), expected);
        // Without timestamps the annotation is simply missing.
        assert!(!base(&[], None).starts_with(b"#"));
        assert!(base(&[Db::default()], None).is_empty());
    }

    #[test]
    fn collections_are_chunked_by_64() {
        for (n, sizes) in [
            (64usize, vec![64usize]),
            (65, vec![64, 1]),
            (129, vec![64, 64, 1]),
        ] {
            let mut db = Db::default();
            db.set(b"l", list((0..n).map(|i| format!("e{i}"))));
            db.set(
                b"s",
                Value::Set(Box::new((0..n).map(|i| format!("m{i}")).collect::<Set>())),
            );
            let mut z = ZSet::new();
            for i in 0..n {
                z.insert(format!("m{i}").as_bytes(), i as f64);
            }
            db.set(b"z", Value::ZSet(Box::new(z)));
            let h: Hash = (0..n).map(|i| (format!("f{i}"), format!("v{i}"))).collect();
            db.set(b"h", Value::Hash(Box::new(h)));
            let got = lines(&base(&[db], None));
            let shape: Vec<(String, usize)> = got
                .iter()
                .skip(1)
                .map(|l| {
                    let words: Vec<&str> = l.split(' ').collect();
                    (format!("{} {}", words[0], words[1]), words.len() - 2)
                })
                .collect();
            let mut expected = Vec::new();
            for (cmd, per) in [("RPUSH l", 1), ("SADD s", 1), ("ZADD z", 2), ("HMSET h", 2)] {
                for &size in &sizes {
                    expected.push((cmd.to_string(), size * per));
                }
            }
            assert_eq!(shape, expected, "n = {n}");
            // Order is preserved across chunks.
            let rpush: Vec<String> = got
                .iter()
                .filter(|l| l.starts_with("RPUSH"))
                .flat_map(|l| l.split(' ').skip(2).map(str::to_string).collect::<Vec<_>>())
                .collect();
            assert_eq!(rpush, (0..n).map(|i| format!("e{i}")).collect::<Vec<_>>());
        }
    }

    #[test]
    fn scores_print_like_percent_17g() {
        let mut z = ZSet::new();
        for (m, s) in [
            ("a", f64::NEG_INFINITY),
            ("b", 0.0),
            ("c", 0.1),
            ("d", 1e300),
            ("e", f64::INFINITY),
        ] {
            z.insert(m.as_bytes(), s);
        }
        let mut db = Db::default();
        db.set(b"z", Value::ZSet(Box::new(z)));
        assert_eq!(
            lines(&base(&[db], None)),
            [
                "SELECT 0",
                "ZADD z -inf a 0 b 0.10000000000000001 c 1.0000000000000001e+300 d inf e"
            ]
        );
        assert_eq!(score_text(-0.0), "-0");
    }

    #[test]
    fn expired_keys_keep_their_past_ttl_and_empty_collections_are_skipped() {
        let mut db = Db::default();
        db.set(b"old", Value::Str(b"1".to_vec()));
        db.set_expire(b"old", 5);
        db.set(b"empty", Value::List(Box::default()));
        assert_eq!(
            lines(&base(&[db], None)),
            ["SELECT 0", "SET old 1", "PEXPIREAT old 5"]
        );
    }

    #[test]
    fn progress_after_every_key() {
        let mut db = Db::default();
        for i in 0..2100u32 {
            db.set(format!("k{i}").as_bytes(), Value::Str(b"v".to_vec()));
        }
        let mut seen = Vec::new();
        let opts = RespBaseOptions::default();
        write_resp_base(&mut Vec::new(), &[db], &opts, &mut |n| seen.push(n)).expect("vec");
        assert_eq!(seen, (1..=2100).collect::<Vec<u64>>());
    }

    /// Replays a BASE through the AOF reader into fresh databases, applying the commands the
    /// BASE uses with their Redis meaning.
    fn replay(bytes: &[u8]) -> Vec<Db> {
        let mut dbs: Vec<Db> = Vec::new();
        let mut current = 0usize;
        let mut r = AofReader::new(bytes);
        while let Some(item) = r.next_item().expect("readable") {
            let Item::Command(c) = item else { continue };
            let name = String::from_utf8_lossy(&c.args[0]).to_ascii_uppercase();
            if name == "SELECT" {
                current = usize::try_from(parse_i64(&c.args[1]).expect("db")).expect("db");
                continue;
            }
            while dbs.len() <= current {
                dbs.push(Db::default());
            }
            let db = &mut dbs[current];
            let key = c.args[1].as_slice();
            let rest = &c.args[2..];
            match name.as_str() {
                "SET" => db.set(key, Value::Str(rest[0].clone())),
                "RPUSH" => {
                    let v = db.get_or_insert_with(key, || Value::List(Box::default()));
                    let Value::List(l) = v else { panic!("type") };
                    l.extend(rest.iter().cloned());
                }
                "SADD" => {
                    let v = db.get_or_insert_with(key, || Value::Set(Box::default()));
                    let Value::Set(s) = v else { panic!("type") };
                    rest.iter().for_each(|m| {
                        s.insert(m);
                    });
                }
                "ZADD" => {
                    let v = db.get_or_insert_with(key, || Value::ZSet(Box::default()));
                    let Value::ZSet(z) = v else { panic!("type") };
                    for pair in rest.chunks(2) {
                        let score = crate::cmd::args::parse_f64(&pair[0]).expect("score");
                        z.insert(&pair[1], score);
                    }
                }
                "HMSET" => {
                    let v = db.get_or_insert_with(key, || Value::Hash(Box::default()));
                    let Value::Hash(h) = v else { panic!("type") };
                    for pair in rest.chunks(2) {
                        h.put(&pair[0], &pair[1]);
                    }
                }
                "PEXPIREAT" => {
                    assert!(db.set_expire(key, parse_i64(&rest[0]).expect("ms")));
                }
                other => panic!("unexpected command {other}"),
            }
        }
        dbs
    }

    #[test]
    fn base_replays_into_the_same_keyspace() {
        let mut db0 = Db::default();
        db0.set(
            b"bin\x00\r\nkey",
            Value::Str(b"\x00\xff\r\n$3\r\n".to_vec()),
        );
        db0.set(b"empty-string", Value::Str(Vec::new()));
        db0.set(b"n", Value::Str(b"-2147483649".to_vec()));
        db0.set(b"big", Value::Str(vec![b'x'; 200_000]));
        db0.set_expire(b"n", 4_000_000_000_000);
        db0.set(b"l", list((0..1000).map(|i| format!("item{i}"))));
        db0.set(
            b"ints",
            Value::Set(Box::new((0..300).map(|i| i.to_string()).collect::<Set>())),
        );
        db0.set(
            b"words",
            Value::Set(Box::new((0..700).map(|i| format!("w{i}")).collect::<Set>())),
        );
        let mut z = ZSet::new();
        for i in 0..200 {
            z.insert(format!("m{i}").as_bytes(), f64::from(i) / 3.0 - 20.0);
        }
        z.insert(b"lo", f64::NEG_INFINITY);
        z.insert(b"hi", f64::INFINITY);
        db0.set(b"z", Value::ZSet(Box::new(z)));
        let h: Hash = (0..600)
            .map(|i| (format!("f{i}"), format!("v{i}")))
            .collect();
        db0.set(b"h", Value::Hash(Box::new(h)));
        db0.set_expire(b"h", 4_000_000_000_001);
        let mut db3 = Db::default();
        db3.set(b"k", Value::Str(b"v".to_vec()));
        let dbs = vec![db0, Db::default(), Db::default(), db3];

        let got = replay(&base(&dbs, Some(7)));
        assert_eq!(got.len(), dbs.len());
        for (j, (want, have)) in dbs.iter().zip(&got).enumerate() {
            assert_eq!(want.keys.len(), have.keys.len(), "db {j}");
            for (k, v) in &want.keys {
                assert_eq!(have.get(k), Some(v), "db {j} key {k:?}");
                assert_eq!(have.expire_at(k), want.expire_at(k), "db {j} key {k:?}");
            }
        }
        // The order within a list, and the encodings Redis would reach, survive too.
        let Some(Value::Set(ints)) = got[0].get(b"ints") else {
            panic!("set")
        };
        assert!(ints.is_intset());
        let Some(Value::Hash(h)) = got[0].get(b"h") else {
            panic!("hash")
        };
        assert!(!h.is_listpack());
    }
}
