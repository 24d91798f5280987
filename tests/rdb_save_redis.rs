//! The snapshot serializers against the real thing (runs with `AOFD_DIFFERENTIAL=1`; then a
//! missing `redis-server` or `redis-check-rdb` is a failure, otherwise the tests print why they
//! are skipped and pass):
//! - `rdb::save::save` writes a `dump.rdb` that `redis-check-rdb` 7.0 accepts with the right key
//!   counts and aux fields, and that redis-server 7.0 loads into exactly the dataset it came
//!   from (every key, type, value and expiry time, compared byte for byte through RESP);
//! - the same file with `aof_base: true` says `aof-base` = 1 and loads as the BASE of a
//!   multi-part AOF directory;
//! - `aof::rewrite::write_resp_base` output loads as the BASE of a multi-part AOF directory into
//!   the same dataset.

mod aof_support;

use std::collections::VecDeque;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aof_support::{free_port, Proc};
use aofd::aof::rewrite::{write_resp_base, RespBaseOptions};
use aofd::db::hash::Hash;
use aofd::db::set::Set;
use aofd::db::zset::ZSet;
use aofd::db::{Db, Value};
use aofd::rdb::save::{save, SaveOptions};

fn enabled() -> bool {
    if std::env::var("AOFD_DIFFERENTIAL").is_ok_and(|v| v == "1") {
        return true;
    }
    println!(
        "rdb save test skipped: set AOFD_DIFFERENTIAL=1 to run it (needs redis-server and \
         redis-check-rdb 7.0)"
    );
    false
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(since.as_millis()).expect("ms")
}

fn s(v: &[u8]) -> Value {
    Value::Str(v.to_vec())
}

fn list(items: impl IntoIterator<Item = Vec<u8>>) -> Value {
    Value::List(Box::new(items.into_iter().collect::<VecDeque<_>>()))
}

/// Deterministic pseudo-random bytes (xorshift), every byte value included.
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Every type, small and large, binary data, integer strings at the encoding boundaries, TTLs,
/// several databases. Returns the databases and the number of keys that have already expired.
fn dataset() -> (Vec<Db>, usize) {
    let future = now_ms() + 3_600_000;
    let mut db0 = Db::default();
    db0.set(b"plain", s(b"hello world"));
    db0.set(b"empty", s(b""));
    db0.set(b"bin\x00\xff\r\nkey", s(b"\x00\x01\xfe\xff\r\n$-1\r\n"));
    db0.set(b"megabyte", Value::Str(noise(1 << 20, 7)));
    db0.set(b"12345", s(b"an integer-encoded key"));
    db0.set(b"-7", s(b"-7"));
    for v in [
        "0",
        "127",
        "128",
        "-128",
        "-129",
        "32767",
        "32768",
        "-32768",
        "-32769",
        "2147483647",
        "2147483648",
        "-2147483648",
        "-2147483649",
        "9223372036854775807",
        "-9223372036854775808",
        "007",
        "-0",
        "+5",
        " 1",
        "1.5",
        "99999999999",
    ] {
        db0.set(format!("int:{v}").as_bytes(), s(v.as_bytes()));
    }
    db0.set(
        b"list5",
        list(["a", "1", "-200", "", "e"].map(|x| x.as_bytes().to_vec())),
    );
    db0.set(
        b"list1000",
        list((0..1000).map(|i| format!("item-{i}").into_bytes())),
    );
    db0.set(
        b"list-big-items",
        list([noise(20_000, 1), b"x".to_vec(), noise(70_000, 2)]),
    );
    db0.set(
        b"intset",
        Value::Set(Box::new(
            [-5i64, 0, 1, 2147483648, -9_000_000_000, 300, 70000]
                .iter()
                .map(|n| n.to_string())
                .collect::<Set>(),
        )),
    );
    db0.set(
        b"smallset",
        Value::Set(Box::new(["a", "b", "c", "1"].into_iter().collect::<Set>())),
    );
    db0.set(
        b"bigintset",
        Value::Set(Box::new(
            (0..600).map(|i| (i * 7).to_string()).collect::<Set>(),
        )),
    );
    db0.set(
        b"bigset",
        Value::Set(Box::new(
            (0..1000).map(|i| format!("member-{i}")).collect::<Set>(),
        )),
    );
    let mut zinf = ZSet::new();
    zinf.insert(b"lo", f64::NEG_INFINITY);
    zinf.insert(b"hi", f64::INFINITY);
    zinf.insert(b"zero", 0.0);
    zinf.insert(b"frac", 0.1);
    zinf.insert(b"42", -1e300);
    db0.set(b"zinf", Value::ZSet(Box::new(zinf)));
    let mut z200 = ZSet::new();
    for i in 0..200 {
        z200.insert(format!("m{i}").as_bytes(), f64::from(i) / 7.0 - 10.0);
    }
    z200.insert(b"\x00binary\xff", 3.25);
    db0.set(b"z200", Value::ZSet(Box::new(z200)));
    db0.set(
        b"h3",
        Value::Hash(Box::new(
            [("f1", "v1"), ("n", "123"), ("", "empty field")]
                .into_iter()
                .collect::<Hash>(),
        )),
    );
    db0.set(
        b"h600",
        Value::Hash(Box::new(
            (0..600)
                .map(|i| (format!("field{i}"), format!("{i}")))
                .collect::<Hash>(),
        )),
    );
    db0.set(
        b"hlong",
        Value::Hash(Box::new(
            [(b"k".to_vec(), noise(100, 3)), (noise(5, 4), b"v".to_vec())]
                .into_iter()
                .collect::<Hash>(),
        )),
    );
    for (i, key) in [&b"plain"[..], b"list1000", b"intset", b"z200", b"h600"]
        .iter()
        .enumerate()
    {
        db0.set_expire(key, future + i as i64);
    }

    let mut db2 = Db::default();
    db2.set(b"plain", s(b"in db 2"));
    db2.set(b"ttl", s(b"x"));
    db2.set_expire(b"ttl", future + 1234);
    // Present but expired: written with its past TTL, dropped by redis-server's loader.
    db2.set(b"expired", s(b"gone"));
    db2.set_expire(b"expired", now_ms() - 60_000);
    let mut db9 = Db::default();
    db9.set(b"last", list([b"only".to_vec()]));

    let mut dbs: Vec<Db> = (0..10).map(|_| Db::default()).collect();
    dbs[0] = db0;
    dbs[2] = db2;
    dbs[9] = db9;
    (dbs, 1)
}

fn total_keys(dbs: &[Db]) -> usize {
    dbs.iter().map(Db::len).sum()
}

/// Runs redis-check-rdb on `path`; returns its output after asserting success.
fn check_rdb(path: &Path) -> String {
    let out = Command::new("redis-check-rdb")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("redis-check-rdb is required with AOFD_DIFFERENTIAL=1: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "redis-check-rdb failed:\n{text}");
    assert!(text.contains("RDB looks OK"), "{text}");
    text
}

/// Starts redis-server 7.0 in `dir` with `extra` arguments and waits until it answers PING
/// (which it does only after loading).
fn redis_server(dir: &Path, extra: &[&str]) -> (Proc, redis::Connection) {
    let port = free_port();
    let mut args: Vec<String> = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(["--dir".to_string(), dir.display().to_string()]);
    args.extend(["--save".to_string(), String::new()]);
    args.extend(extra.iter().map(|a| a.to_string()));
    let mut p = Proc::spawn("redis-server", &args, dir, port, "redis.log");
    let start = Instant::now();
    loop {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("url");
        if let Ok(mut con) = client.get_connection() {
            if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                return (p, con);
            }
        }
        assert!(p.alive(), "redis-server exited:\n{}", p.log_text());
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "redis-server not ready:\n{}",
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn q<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[1])))
}

/// Compares the server's whole keyspace with `dbs`: key sets, types, values (exact bytes, in
/// order where Redis keeps one), scores and expiry times. Keys that expired before the save
/// must be gone.
fn compare(con: &mut redis::Connection, dbs: &[Db]) {
    let now = now_ms();
    for j in 0..16usize {
        let _: () = q(con, &[b"SELECT", j.to_string().as_bytes()]);
        let want: Vec<(&[u8], &Value)> = dbs
            .get(j)
            .map(|db| {
                db.keys
                    .iter()
                    .filter(|(k, _)| !db.is_expired(k, now))
                    .map(|(k, v)| (k.as_bytes(), v))
                    .collect()
            })
            .unwrap_or_default();
        let size: usize = q(con, &[b"DBSIZE"]);
        assert_eq!(size, want.len(), "db {j} size");
        for (key, value) in want {
            let name = String::from_utf8_lossy(key).into_owned();
            let ty: String = q(con, &[b"TYPE", key]);
            assert_eq!(ty, value.type_name(), "db {j} {name:?}");
            match value {
                Value::Str(v) => {
                    let got: Vec<u8> = q(con, &[b"GET", key]);
                    assert!(got == *v, "db {j} {name:?} value differs");
                }
                Value::List(l) => {
                    let got: Vec<Vec<u8>> = q(con, &[b"LRANGE", key, b"0", b"-1"]);
                    assert!(got.iter().eq(l.iter()), "db {j} {name:?} list differs");
                }
                Value::Set(set) => {
                    let mut got: Vec<Vec<u8>> = q(con, &[b"SMEMBERS", key]);
                    let mut want: Vec<Vec<u8>> = set.iter().cloned().collect();
                    got.sort();
                    want.sort();
                    assert_eq!(got, want, "db {j} {name:?}");
                }
                Value::Hash(h) => {
                    let mut got: Vec<(Vec<u8>, Vec<u8>)> = q(con, &[b"HGETALL", key]);
                    let mut want: Vec<(Vec<u8>, Vec<u8>)> =
                        h.iter().map(|(f, v)| (f.clone(), v.clone())).collect();
                    got.sort();
                    want.sort();
                    assert_eq!(got, want, "db {j} {name:?}");
                }
                Value::ZSet(z) => {
                    let got: Vec<(Vec<u8>, String)> =
                        q(con, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]);
                    let got: Vec<(Vec<u8>, f64)> = got
                        .into_iter()
                        .map(|(m, sc)| (m, sc.parse().expect("score")))
                        .collect();
                    let want: Vec<(Vec<u8>, f64)> =
                        z.iter().map(|(m, sc)| (m.to_vec(), sc)).collect();
                    assert_eq!(got, want, "db {j} {name:?}");
                }
            }
            let at: i64 = q(con, &[b"PEXPIRETIME", key]);
            let want_at = dbs[j].expire_at(key).unwrap_or(-1);
            assert_eq!(at, want_at, "db {j} {name:?} expiry");
        }
    }
}

fn shutdown(mut p: Proc, mut con: redis::Connection) {
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut con);
    assert!(p.wait_exit(Duration::from_secs(30)).is_some(), "exit");
}

fn save_file(path: &Path, dbs: &[Db], aof_base: bool) {
    let opts = SaveOptions {
        aof_base,
        ctime_secs: now_ms() / 1000,
        used_mem: 5_000_000_000,
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut reports = Vec::new();
    save(&mut file, dbs, &opts, &mut |n| reports.push(n)).expect("save");
    drop(file);
    let keys = total_keys(dbs) as u64;
    // Progress after every key; the caller throttles what it reports.
    assert_eq!(reports, (1..=keys).collect::<Vec<_>>());
}

/// Writes a multi-part AOF directory whose only file is the BASE `name` holding `bytes`.
fn aof_dir(dir: &Path, name: &str, bytes: &[u8]) {
    let aof = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof).expect("mkdir");
    std::fs::write(aof.join(name), bytes).expect("base");
    let manifest = format!("file {name} seq 1 type b\n");
    std::fs::write(aof.join("appendonly.aof.manifest"), manifest).expect("manifest");
}

#[test]
fn dump_rdb_loads_in_redis_server() {
    if !enabled() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (dbs, expired) = dataset();
    let path = tmp.path().join("dump.rdb");
    save_file(&path, &dbs, false);

    let report = check_rdb(&path);
    let keys = total_keys(&dbs);
    let expires: usize = dbs.iter().map(|db| db.expires.len()).sum();
    assert!(
        report.contains(&format!("[info] {keys} keys read")),
        "{report}"
    );
    assert!(
        report.contains(&format!("[info] {expires} expires")),
        "{report}"
    );
    assert!(
        report.contains(&format!("[info] {expired} already expired")),
        "{report}"
    );
    assert!(
        report.contains("AUX FIELD redis-ver = '7.0.15'"),
        "{report}"
    );
    assert!(report.contains("AUX FIELD redis-bits = '64'"), "{report}");
    assert!(
        report.contains("AUX FIELD used-mem = '5000000000'"),
        "{report}"
    );
    assert!(report.contains("AUX FIELD aof-base = '0'"), "{report}");

    let (p, mut con) = redis_server(
        tmp.path(),
        &["--dbfilename", "dump.rdb", "--appendonly", "no"],
    );
    compare(&mut con, &dbs);
    shutdown(p, con);
}

#[test]
fn rdb_aof_base_loads_in_redis_server() {
    if !enabled() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (dbs, _) = dataset();
    let path = tmp.path().join("base.rdb");
    save_file(&path, &dbs, true);
    let report = check_rdb(&path);
    assert!(report.contains("AUX FIELD aof-base = '1'"), "{report}");

    let bytes = std::fs::read(&path).expect("read");
    aof_dir(tmp.path(), "appendonly.aof.1.base.rdb", &bytes);
    let (p, mut con) = redis_server(tmp.path(), &["--appendonly", "yes"]);
    compare(&mut con, &dbs);
    shutdown(p, con);
}

#[test]
fn resp_base_loads_in_redis_server() {
    if !enabled() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (dbs, _) = dataset();
    let mut bytes = Vec::new();
    let opts = RespBaseOptions {
        timestamp_secs: Some(now_ms() / 1000),
    };
    write_resp_base(&mut bytes, &dbs, &opts, &mut |_| {}).expect("base");
    aof_dir(tmp.path(), "appendonly.aof.1.base.aof", &bytes);
    let (p, mut con) = redis_server(
        tmp.path(),
        &["--appendonly", "yes", "--aof-timestamp-enabled", "yes"],
    );
    compare(&mut con, &dbs);
    shutdown(p, con);
}

/// Throughput of both serializers on one million small string keys (a tenth with a TTL).
/// Ignored by default: meaningful only in release mode
/// (`cargo test --release --test rdb_save_redis -- --ignored --nocapture`).
#[test]
#[ignore]
fn timing_one_million_keys() {
    let mut db = Db::default();
    for i in 0..1_000_000u32 {
        let key = format!("key:{i:07}");
        db.set(
            key.as_bytes(),
            Value::Str(format!("value-{i}").into_bytes()),
        );
        if i % 10 == 0 {
            db.set_expire(key.as_bytes(), 4_000_000_000_000);
        }
    }
    let dbs = [db];
    let opts = SaveOptions::default();
    let mut out = Vec::new();
    let start = Instant::now();
    save(&mut out, &dbs, &opts, &mut |_| {}).expect("save");
    println!(
        "rdb save, 1M keys into a Vec: {:?}, {} bytes",
        start.elapsed(),
        out.len()
    );

    let tmp = tempfile::tempdir().expect("tmp");
    let mut file = std::fs::File::create(tmp.path().join("dump.rdb")).expect("file");
    let start = Instant::now();
    save(&mut file, &dbs, &opts, &mut |_| {}).expect("save");
    println!("rdb save, 1M keys into a file: {:?}", start.elapsed());

    let mut out = Vec::new();
    let start = Instant::now();
    write_resp_base(&mut out, &dbs, &RespBaseOptions::default(), &mut |_| {}).expect("base");
    println!(
        "resp base, 1M keys into a Vec: {:?}, {} bytes",
        start.elapsed(),
        out.len()
    );
}
