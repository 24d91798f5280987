//! RDB files and RDB-preamble AOF directories exchanged with redis-server 7.0 (runs with
//! `AOFD_DIFFERENTIAL=1`; then a missing `redis-server`, `redis-check-rdb` or `redis-check-aof`
//! is a failure, otherwise the tests print why they are skipped and pass):
//! - a directory written by aofd with an RDB BASE (after BGREWRITEAOF) and an INCR loads in
//!   redis-server into the same dataset (full dump and DEBUG DIGEST), and `redis-check-rdb` and
//!   `redis-check-aof` accept aofd's files;
//! - a directory written by redis-server with an RDB preamble loads in aofd the same way;
//! - `dump.rdb` written by SAVE in either server loads in the other.
//!
//! The dataset has every type in small and large encodings, values long enough to be LZF
//! compressed, TTLs and several databases.

mod aof_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aof_support::{aof_dir, cmd, dump, pipeline, redis_server, with_items, Conn, Proc, Val};

fn enabled() -> bool {
    if std::env::var("AOFD_DIFFERENTIAL").is_ok_and(|v| v == "1") {
        return true;
    }
    println!(
        "rdb interop test skipped: set AOFD_DIFFERENTIAL=1 to run it (needs redis-server, \
         redis-check-rdb and redis-check-aof 7.0)"
    );
    false
}

/// SHUTDOWN with `args`; waits for the exit.
fn shutdown(p: &mut Proc, args: &[&str]) {
    let mut cmd = vec!["SHUTDOWN"];
    cmd.extend_from_slice(args);
    let _ = p.conn().try_call(&cmd);
    assert!(
        p.wait_exit(Duration::from_secs(30)).is_some(),
        "did not exit:\n{}",
        p.log_text()
    );
}

/// Every type in small and large encodings, LZF-compressible strings, elements, fields and
/// members, TTLs (relative and absolute) and several databases.
fn dataset(c: &mut Conn) {
    let comp = |n: usize| format!("{n}:{}", "compressible text ".repeat(n));
    let cmds = vec![
        cmd(&["SELECT", "0"]),
        cmd(&["SET", "str:int", "12345"]),
        cmd(&["SET", "str:min", "-9223372036854775808"]),
        cmd(&["SET", "str:i8", "-128"]),
        cmd(&["SET", "str:i16", "32767"]),
        cmd(&["SET", "str:i32", "2147483648"]),
        cmd(&["SET", "str:lead0", "007"]),
        cmd(&["SET", "str:embstr", "hello"]),
        cmd(&["SET", "str:raw", &"raw-".repeat(20)]),
        cmd(&["SET", "str:big", &comp(600)]),
        cmd(&["SET", "str:odd \r\n\t key", "\u{0}\u{1}\r\n$-1\r\n"]),
        cmd(&["SET", "str:empty", ""]),
        cmd(&["SET", "12345", "integer-looking key"]),
        cmd(&["RPUSH", "list:small", "a", "b", "c", "1", "-2", ""]),
        with_items(&["RPUSH", "list:big"], 1000, |i| vec![format!("item-{i}")]),
        with_items(&["RPUSH", "list:bigval"], 5, |i| vec![comp(100 + i)]),
        cmd(&[
            "SADD",
            "set:int",
            "1",
            "2",
            "3",
            "-5",
            "9223372036854775807",
        ]),
        cmd(&["SADD", "set:str", "a", "b", "c", ""]),
        with_items(&["SADD", "set:bigint"], 600, |i| vec![(i * 7).to_string()]),
        with_items(&["SADD", "set:bigstr"], 200, |i| vec![format!("m{i}")]),
        with_items(&["SADD", "set:comp"], 20, |i| vec![comp(30 + i)]),
        cmd(&["HSET", "hash:small", "f1", "v1", "f2", "2", "", "empty"]),
        with_items(&["HSET", "hash:big"], 600, |i| {
            vec![format!("f{i}"), format!("v{i}")]
        }),
        with_items(&["HSET", "hash:comp"], 30, |i| {
            vec![format!("field{i}"), comp(20 + i)]
        }),
        with_items(&["HSET", "hash:lpcomp"], 60, |i| {
            vec![format!("field-number-{i}"), format!("value-{i}")]
        }),
        cmd(&[
            "ZADD",
            "zset:small",
            "1",
            "a",
            "2.5",
            "b",
            "-3",
            "c",
            "0.1",
            "d",
        ]),
        with_items(&["ZADD", "zset:big"], 300, |i| {
            vec![format!("{}", i as f64 / 7.0 - 10.0), format!("member-{i}")]
        }),
        with_items(&["ZADD", "zset:comp"], 20, |i| {
            vec![i.to_string(), comp(10 + i)]
        }),
        cmd(&[
            "ZADD", "zset:inf", "inf", "x", "-inf", "y", "0", "z", "-1e300", "w",
        ]),
        cmd(&["SET", "ttl:str", "v", "EX", "10000"]),
        cmd(&["RPUSH", "ttl:list", "a", "b"]),
        cmd(&["PEXPIRE", "ttl:list", "20000000"]),
        with_items(&["HSET", "ttl:hash"], 150, |i| {
            vec![format!("f{i}"), format!("v{i}")]
        }),
        cmd(&["EXPIRE", "ttl:hash", "5000"]),
        cmd(&["ZADD", "ttl:zset", "1", "a"]),
        cmd(&["PEXPIREAT", "ttl:zset", "99999999999999"]),
        with_items(&["SADD", "ttl:set"], 700, |i| vec![format!("s{i}")]),
        cmd(&["EXPIRE", "ttl:set", "3600"]),
        cmd(&["SELECT", "1"]),
        cmd(&["SET", "db1:k", "v1"]),
        cmd(&["SADD", "db1:s", "x", "y"]),
        cmd(&["EXPIRE", "db1:s", "7000"]),
        cmd(&["SET", "str:int", "same key, other db"]),
        cmd(&["SELECT", "9"]),
        with_items(&["RPUSH", "db9:list"], 200, |i| vec![comp(i % 7)]),
        cmd(&["SELECT", "15"]),
        cmd(&["SET", "db15:k", &comp(50)]),
        cmd(&["SELECT", "0"]),
    ];
    pipeline(c, &cmds);
}

/// Writes after a rewrite (they land in the INCR file).
fn more_writes(c: &mut Conn) {
    let cmds = vec![
        cmd(&["SET", "after:str", "v"]),
        cmd(&["DEL", "str:int"]),
        cmd(&["RPUSH", "list:big", "tail"]),
        cmd(&["LPOP", "list:small"]),
        cmd(&["HSET", "hash:small", "f3", "v3"]),
        cmd(&["HDEL", "hash:big", "f0"]),
        cmd(&["ZADD", "zset:big", "1000", "new"]),
        cmd(&["ZINCRBY", "zset:small", "0.5", "a"]),
        cmd(&["SADD", "set:int", "100"]),
        cmd(&["SREM", "set:str", "a"]),
        cmd(&["EXPIRE", "str:embstr", "9000"]),
        cmd(&["PERSIST", "ttl:str"]),
        cmd(&["INCRBYFLOAT", "after:float", "1.5"]),
        cmd(&["APPEND", "str:big", "tail"]),
        cmd(&["SELECT", "3"]),
        cmd(&["SET", "db3:k", "v", "PX", "50000000"]),
        cmd(&["SELECT", "15"]),
        cmd(&["DEL", "db15:k"]),
        cmd(&["SELECT", "0"]),
    ];
    pipeline(c, &cmds);
}

fn info_num(c: &mut Conn, name: &str) -> i64 {
    c.info_field("persistence", name)
        .unwrap_or_else(|| panic!("INFO persistence has no {name}"))
        .parse()
        .expect("number")
}

/// BGREWRITEAOF and waits until it has finished successfully.
fn rewrite(c: &mut Conn) {
    let before = info_num(c, "aof_rewrites");
    let reply = c.call(&["BGREWRITEAOF"]);
    assert_eq!(
        reply,
        Val::Status("Background append only file rewriting started".into())
    );
    let start = Instant::now();
    while info_num(c, "aof_rewrites") <= before || info_num(c, "aof_rewrite_in_progress") != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "rewrite too slow"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        c.info_field("persistence", "aof_last_bgrewrite_status")
            .as_deref(),
        Some("ok")
    );
}

/// The single `*.base.rdb` of an AOF directory.
fn rdb_base(dir: &Path) -> PathBuf {
    let bases: Vec<PathBuf> = std::fs::read_dir(aof_dir(dir))
        .expect("aof dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".base.rdb"))
        .collect();
    assert_eq!(bases.len(), 1, "{bases:?}");
    bases.into_iter().next().expect("one base")
}

/// Asserts that the long repetitive values are stored LZF-compressed in the RDB file at `path`
/// (their plain text does not appear in it), so the reader of the other server really decodes
/// LZF strings. Only redis-server's files are checked: aofd's writer does not compress yet
/// (`rdb::save`, `Sink::string`), which Redis's loader accepts as well (plain strings).
fn assert_compressed(path: &Path) {
    let bytes = std::fs::read(path).expect("rdb file");
    let plain = "compressible text ".repeat(4);
    assert!(
        !bytes.windows(plain.len()).any(|w| w == plain.as_bytes()),
        "{} holds uncompressed long values",
        path.display()
    );
    assert!(bytes.len() > 10_000, "{}", bytes.len());
}

/// Runs `program args`; asserts exit code 0 and returns stdout.
fn run_ok(program: &str, args: &[&Path]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is required with AOFD_DIFFERENTIAL=1: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} failed:\n{text}");
    text
}

/// Copies the files of `from` (and its AOF directory) into a new directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(aof_dir(to)).expect("mkdir");
    for dir in [from.to_path_buf(), aof_dir(from)] {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let entry = entry.expect("entry");
            let name = entry.file_name();
            let lossy = name.to_string_lossy();
            if entry.path().is_file() && !lossy.ends_with(".log") {
                let rel = entry
                    .path()
                    .strip_prefix(from)
                    .expect("inside")
                    .to_path_buf();
                std::fs::copy(entry.path(), to.join(rel)).expect("copy");
            }
        }
    }
}

#[test]
fn aofd_rdb_preamble_directory_loads_in_redis_server() {
    if !enabled() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("aofd");
    let mut a = Proc::aofd(&dir, &["--save", "", "--aof-use-rdb-preamble", "yes"]);
    let mut c = a.conn();
    dataset(&mut c);
    rewrite(&mut c);
    more_writes(&mut c);
    let expected = dump(&mut c, 16);
    assert!(expected.len() > 30, "{expected:?}");
    let digest = c.text(&["DEBUG", "DIGEST"]);
    shutdown(&mut a, &[]);
    drop(a);

    let base = rdb_base(&dir);
    let incr_name = std::fs::read_to_string(aof_dir(&dir).join("appendonly.aof.manifest"))
        .expect("manifest")
        .lines()
        .find(|l| l.contains("type i"))
        .and_then(|l| l.split(' ').nth(1).map(str::to_string))
        .expect("an INCR in the manifest");
    assert!(
        std::fs::metadata(aof_dir(&dir).join(&incr_name))
            .expect("incr")
            .len()
            > 100
    );
    let check = run_ok("redis-check-rdb", &[&base]);
    assert!(check.contains("Checksum OK"), "{check}");
    assert!(check.contains("\\o/ RDB looks OK! \\o/"), "{check}");
    assert!(check.contains("aof-base"), "{check}");
    let check = run_ok(
        "redis-check-aof",
        &[&aof_dir(&dir).join("appendonly.aof.manifest")],
    );
    assert!(check.contains("RDB preamble is OK"), "{check}");
    assert!(
        check.contains("All AOF files and manifest are valid"),
        "{check}"
    );

    let copy = tmp.path().join("copy");
    copy_dir(&dir, &copy);
    let r = redis_server(&copy, &["--appendonly", "yes"]);
    let mut rc = r.conn();
    let log = r.log_text();
    assert_eq!(dump(&mut rc, 16), expected, "redis-server log:\n{log}");
    assert_eq!(rc.text(&["DEBUG", "DIGEST"]), digest);
    let base_name = base
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        log.contains(&format!("DB loaded from base file {base_name}")),
        "{log}"
    );
    assert!(
        log.contains(&format!("DB loaded from incr file {incr_name}")),
        "{log}"
    );
}

#[test]
fn redis_server_rdb_preamble_directory_loads_in_aofd() {
    if !enabled() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut r = redis_server(dir, &["--appendonly", "yes"]);
    let mut rc = r.conn();
    assert_eq!(
        rc.text(&["CONFIG", "GET", "aof-use-rdb-preamble"]),
        "[aof-use-rdb-preamble,yes]"
    );
    dataset(&mut rc);
    rewrite(&mut rc);
    more_writes(&mut rc);
    let expected = dump(&mut rc, 16);
    let digest = rc.text(&["DEBUG", "DIGEST"]);
    shutdown(&mut r, &[]);
    drop(r);
    let base = rdb_base(dir);
    assert_compressed(&base);

    let a = Proc::aofd(dir, &["--save", ""]);
    let mut c = a.conn();
    assert_eq!(dump(&mut c, 16), expected, "aofd log:\n{}", a.log_text());
    assert_eq!(c.text(&["DEBUG", "DIGEST"]), digest);
    let base_name = base
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let log = a.log_text();
    assert!(log.contains(&base_name), "{log}");
}

#[test]
fn dump_rdb_loads_in_both_directions() {
    if !enabled() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    // redis-server's dump.rdb in aofd.
    let from_redis = tmp.path().join("from-redis");
    let mut r = redis_server(&from_redis, &["--appendonly", "no"]);
    let mut rc = r.conn();
    dataset(&mut rc);
    more_writes(&mut rc);
    let expected = dump(&mut rc, 16);
    let digest = rc.text(&["DEBUG", "DIGEST"]);
    assert_eq!(rc.text(&["SAVE"]), "OK");
    shutdown(&mut r, &["NOSAVE"]);
    drop(r);
    assert_compressed(&from_redis.join("dump.rdb"));
    let a = Proc::aofd(&from_redis, &["--appendonly", "no", "--save", ""]);
    let mut c = a.conn();
    assert_eq!(dump(&mut c, 16), expected, "aofd log:\n{}", a.log_text());
    assert_eq!(c.text(&["DEBUG", "DIGEST"]), digest);
    assert_eq!(
        c.info_field("persistence", "rdb_last_load_keys_loaded"),
        Some(expected.len().to_string())
    );
    drop(c);
    drop(a);

    // aofd's dump.rdb in redis-server.
    let from_aofd = tmp.path().join("from-aofd");
    let mut a = Proc::aofd(&from_aofd, &["--appendonly", "no", "--save", ""]);
    let mut c = a.conn();
    dataset(&mut c);
    more_writes(&mut c);
    let expected = dump(&mut c, 16);
    let digest = c.text(&["DEBUG", "DIGEST"]);
    assert_eq!(c.text(&["SAVE"]), "OK");
    shutdown(&mut a, &["NOSAVE"]);
    drop(a);
    let check = run_ok("redis-check-rdb", &[&from_aofd.join("dump.rdb")]);
    assert!(check.contains("\\o/ RDB looks OK! \\o/"), "{check}");
    assert!(
        check.contains(&format!("{} keys read", expected.len())),
        "{check}"
    );
    let r = redis_server(&from_aofd, &["--appendonly", "no"]);
    let mut rc = r.conn();
    assert_eq!(dump(&mut rc, 16), expected, "redis log:\n{}", r.log_text());
    assert_eq!(rc.text(&["DEBUG", "DIGEST"]), digest);
    assert!(r.log_text().contains("DB loaded from disk"));
}
