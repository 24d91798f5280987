//! Generic key commands over real sockets: exact replies and errors (checked against Redis
//! 7.0.15), expiry, RENAME/COPY/MOVE, OBJECT, RANDOMKEY, KEYS and the SCAN guarantee while
//! keys are deleted and inserted between calls.

mod common;

use common::{check_all, int};

use std::collections::HashSet;
use std::thread::sleep;
use std::time::Duration;

use common::TestServer;
use redis::Commands;

/// Scans the whole keyspace with `opts`, returning every key and the number of calls.
fn full_scan(con: &mut redis::Connection, opts: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = 0u64;
    let mut keys = Vec::new();
    let mut calls = 0;
    loop {
        let (next, batch): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg(opts).query(con).unwrap();
        keys.extend(batch);
        calls += 1;
        if next == 0 {
            return (keys, calls);
        }
        cursor = next;
    }
}

#[test]
fn del_unlink_exists_touch_type() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["MSET", "a", "1", "b", "2", "c", "3"], "+OK\r\n"),
            (&["EXISTS", "a", "a", "nokey", "b"], ":3\r\n"),
            (&["TOUCH", "a", "nokey", "a"], ":2\r\n"),
            (&["TYPE", "a"], "+string\r\n"),
            (&["TYPE", "nokey"], "+none\r\n"),
            (&["DEL", "a", "a", "nokey"], ":1\r\n"),
            (&["UNLINK", "b", "c", "b"], ":2\r\n"),
            (&["EXISTS", "a", "b", "c"], ":0\r\n"),
            (
                &["DEL"],
                "-ERR wrong number of arguments for 'del' command\r\n",
            ),
            (
                &["TYPE", "a", "b"],
                "-ERR wrong number of arguments for 'type' command\r\n",
            ),
        ],
    );
}

#[test]
fn expire_options_and_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let nx_err = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    check_all(
        &mut raw,
        &[
            (&["SET", "a", "1"], "+OK\r\n"),
            (&["EXPIRE", "a", "100", "NX", "XX"], nx_err),
            (&["EXPIRE", "a", "100", "nx", "gt"], nx_err),
            (&["EXPIRE", "a", "100", "NX", "LT"], nx_err),
            (
                &["EXPIRE", "a", "100", "GT", "LT"],
                "-ERR GT and LT options at the same time are not compatible\r\n",
            ),
            (
                &["EXPIRE", "a", "100", "foo"],
                "-ERR Unsupported option foo\r\n",
            ),
            (
                &["EXPIRE", "a", "abc", "foo"],
                "-ERR Unsupported option foo\r\n",
            ),
            (
                &["EXPIRE", "a", "abc"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                &["EXPIRE", "a", "9223372036854776"],
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            (
                &["EXPIRE", "a", "-9223372036854776"],
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            (
                &["EXPIRE", "a", "9223372036854775"],
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            (
                &["PEXPIRE", "a", "9223372036854775807"],
                "-ERR invalid expire time in 'pexpire' command\r\n",
            ),
            (
                &["EXPIREAT", "a", "9223372036854776"],
                "-ERR invalid expire time in 'expireat' command\r\n",
            ),
            (&["TTL", "a"], ":-1\r\n"),
            (&["EXPIRE", "a", "100", "XX"], ":0\r\n"),
            (&["EXPIRE", "a", "100", "GT"], ":0\r\n"),
            (&["EXPIRE", "a", "100", "LT"], ":1\r\n"),
            (&["EXPIRE", "a", "100", "NX"], ":0\r\n"),
            (&["EXPIRE", "a", "100", "XX"], ":1\r\n"),
            // Not "100 GT": a millisecond later the same TTL is a later time, so it would pass.
            (&["EXPIRE", "a", "50", "GT"], ":0\r\n"),
            (&["EXPIRE", "a", "200", "gt"], ":1\r\n"),
            (&["TTL", "a"], ":200\r\n"),
            (&["EXPIRE", "a", "300", "LT"], ":0\r\n"),
            (&["EXPIRE", "a", "50", "LT", "XX"], ":1\r\n"),
            (&["TTL", "a"], ":50\r\n"),
            (&["PERSIST", "a"], ":1\r\n"),
            (&["PERSIST", "a"], ":0\r\n"),
            (&["PERSIST", "nokey"], ":0\r\n"),
            (&["EXPIRE", "nokey", "100"], ":0\r\n"),
            (&["PEXPIREAT", "a", "9223372036854775807"], ":1\r\n"),
            (&["PEXPIRETIME", "a"], ":9223372036854775807\r\n"),
            (&["EXPIRETIME", "a"], ":9223372036854776\r\n"),
            (&["EXPIREAT", "a", "9223372036854775"], ":1\r\n"),
            (&["EXPIRETIME", "a"], ":9223372036854775\r\n"),
        ],
    );
}

#[test]
fn expire_in_the_past_deletes() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["SET", "a", "1"], "+OK\r\n"),
            (&["EXPIRE", "a", "-1"], ":1\r\n"),
            (&["EXISTS", "a"], ":0\r\n"),
            (&["SET", "a", "1"], "+OK\r\n"),
            (&["PEXPIRE", "a", "0"], ":1\r\n"),
            (&["EXISTS", "a"], ":0\r\n"),
            (&["SET", "a", "1"], "+OK\r\n"),
            (&["PEXPIREAT", "a", "1"], ":1\r\n"),
            (&["EXISTS", "a"], ":0\r\n"),
            (&["SET", "a", "1"], "+OK\r\n"),
            (&["EXPIREAT", "a", "0"], ":1\r\n"),
            (&["EXISTS", "a"], ":0\r\n"),
            (&["SET", "a", "1"], "+OK\r\n"),
            (&["EXPIRE", "a", "-9223372036854775"], ":1\r\n"),
            (&["EXISTS", "a"], ":0\r\n"),
        ],
    );
}

#[test]
fn ttl_family() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["TTL", "nokey"], ":-2\r\n"),
            (&["PTTL", "nokey"], ":-2\r\n"),
            (&["EXPIRETIME", "nokey"], ":-2\r\n"),
            (&["PEXPIRETIME", "nokey"], ":-2\r\n"),
            (&["SET", "a", "1"], "+OK\r\n"),
            (&["TTL", "a"], ":-1\r\n"),
            (&["PTTL", "a"], ":-1\r\n"),
            (&["EXPIRETIME", "a"], ":-1\r\n"),
            (&["PEXPIRETIME", "a"], ":-1\r\n"),
            (&["PEXPIREAT", "a", "4000000000123"], ":1\r\n"),
            (&["EXPIRETIME", "a"], ":4000000000\r\n"),
            (&["PEXPIRETIME", "a"], ":4000000000123\r\n"),
            (&["PEXPIREAT", "a", "4000000000500"], ":1\r\n"),
            (&["EXPIRETIME", "a"], ":4000000001\r\n"),
            (&["PEXPIREAT", "a", "4000000000499"], ":1\r\n"),
            (&["EXPIRETIME", "a"], ":4000000000\r\n"),
            (&["EXPIRE", "a", "100"], ":1\r\n"),
            (&["TTL", "a"], ":100\r\n"),
        ],
    );
    let pttl = int(&mut raw, &["PTTL", "a"]);
    assert!((90_000..=100_000).contains(&pttl), "{pttl}");
}

#[test]
fn lazy_expiry_everywhere() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for key in ["e1", "e2", "e3", "e4", "e5", "e6", "e7"] {
        assert_eq!(raw.call(&["SET", key, "v", "PX", "250"]), "+OK\r\n");
    }
    check_all(
        &mut raw,
        &[
            (&["SET", "live", "v"], "+OK\r\n"),
            (&["EXISTS", "e1"], ":1\r\n"),
        ],
    );
    sleep(Duration::from_millis(350));
    check_all(
        &mut raw,
        &[
            (&["EXISTS", "e1"], ":0\r\n"),
            (&["TYPE", "e2"], "+none\r\n"),
            (&["TTL", "e3"], ":-2\r\n"),
            (&["RENAME", "e4", "x"], "-ERR no such key\r\n"),
            (&["MOVE", "e5", "1"], ":0\r\n"),
            (&["COPY", "e6", "x"], ":0\r\n"),
            (&["OBJECT", "ENCODING", "e7"], "$-1\r\n"),
            (&["KEYS", "e*"], "*0\r\n"),
            (
                &["SCAN", "0", "MATCH", "e*", "COUNT", "100"],
                "*2\r\n$1\r\n0\r\n*0\r\n",
            ),
            (&["RANDOMKEY"], "$4\r\nlive\r\n"),
            (&["DEL", "e1", "e2", "live"], ":1\r\n"),
            (&["RANDOMKEY"], "$-1\r\n"),
        ],
    );
}

#[test]
fn expired_destination_is_replaced() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["SELECT", "1"], "+OK\r\n"),
            (&["SET", "m", "old", "PX", "50"], "+OK\r\n"),
            (&["SELECT", "0"], "+OK\r\n"),
            (&["SET", "c", "old", "PX", "50"], "+OK\r\n"),
            (&["SET", "m", "new"], "+OK\r\n"),
        ],
    );
    sleep(Duration::from_millis(120));
    check_all(
        &mut raw,
        &[
            (&["COPY", "m", "c"], ":1\r\n"),
            (&["GET", "c"], "$3\r\nnew\r\n"),
            (&["TTL", "c"], ":-1\r\n"),
            (&["MOVE", "m", "1"], ":1\r\n"),
            (&["SELECT", "1"], "+OK\r\n"),
            (&["GET", "m"], "$3\r\nnew\r\n"),
        ],
    );
}

#[test]
fn rename_and_renamenx() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["RENAME", "nokey", "b"], "-ERR no such key\r\n"),
            (&["RENAMENX", "nokey", "b"], "-ERR no such key\r\n"),
            (&["RENAME", "nokey", "nokey"], "-ERR no such key\r\n"),
            (&["SET", "a", "1", "PX", "4000000"], "+OK\r\n"),
            (&["RENAME", "a", "a"], "+OK\r\n"),
            (&["RENAMENX", "a", "a"], ":0\r\n"),
            (&["RENAME", "a", "b"], "+OK\r\n"),
            (&["EXISTS", "a"], ":0\r\n"),
            (&["TTL", "b"], ":4000\r\n"),
            (&["SET", "c", "3"], "+OK\r\n"),
            (&["RENAMENX", "b", "c"], ":0\r\n"),
            (&["GET", "c"], "$1\r\n3\r\n"),
            (&["SET", "c", "3", "EX", "10"], "+OK\r\n"),
            (&["SET", "d", "4"], "+OK\r\n"),
            (&["RENAME", "d", "c"], "+OK\r\n"),
            (&["TTL", "c"], ":-1\r\n"),
            (&["GET", "c"], "$1\r\n4\r\n"),
            (&["RENAMENX", "b", "e"], ":1\r\n"),
            (&["TTL", "e"], ":4000\r\n"),
        ],
    );
}

#[test]
fn move_and_copy() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let same = "-ERR source and destination objects are the same\r\n";
    check_all(
        &mut raw,
        &[
            (&["SET", "c", "1", "EX", "1000"], "+OK\r\n"),
            (&["MOVE", "c", "0"], same),
            (&["MOVE", "c", "16"], "-ERR DB index is out of range\r\n"),
            (&["MOVE", "c", "-1"], "-ERR DB index is out of range\r\n"),
            (
                &["MOVE", "c", "abc"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                &["MOVE", "c", "4294967296"],
                "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
            ),
            (&["MOVE", "nokey", "1"], ":0\r\n"),
            (&["COPY", "c", "c"], same),
            (
                &["COPY", "c", "d", "db", "16"],
                "-ERR DB index is out of range\r\n",
            ),
            (
                &["COPY", "c", "d", "DB", "abc"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["COPY", "c", "d", "foo"], "-ERR syntax error\r\n"),
            (&["COPY", "c", "d", "DB"], "-ERR syntax error\r\n"),
            (&["COPY", "nokey", "d"], ":0\r\n"),
            (&["COPY", "c", "d", "REPLACE", "replace"], ":1\r\n"),
            (&["TTL", "d"], ":1000\r\n"),
            (&["SET", "d", "2"], "+OK\r\n"),
            (&["COPY", "c", "d"], ":0\r\n"),
            (&["COPY", "c", "d", "REPLACE"], ":1\r\n"),
            (&["GET", "d"], "$1\r\n1\r\n"),
            (&["COPY", "c", "c", "DB", "1"], ":1\r\n"),
            (&["COPY", "c", "c", "DB", "1"], ":0\r\n"),
            (&["MOVE", "c", "1"], ":0\r\n"),
            (&["MOVE", "d", "2"], ":1\r\n"),
            (&["EXISTS", "d"], ":0\r\n"),
            (&["SELECT", "2"], "+OK\r\n"),
            (&["GET", "d"], "$1\r\n1\r\n"),
            (&["TTL", "d"], ":1000\r\n"),
            (&["MOVE", "d", "2"], same),
            (&["COPY", "d", "x", "DB", "2"], ":1\r\n"),
            (&["SELECT", "1"], "+OK\r\n"),
            (&["GET", "c"], "$1\r\n1\r\n"),
            (&["TTL", "c"], ":1000\r\n"),
        ],
    );
}

#[test]
fn object_subcommands() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (
                &["OBJECT"],
                "-ERR wrong number of arguments for 'object' command\r\n",
            ),
            (
                &["OBJECT", "foo"],
                "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n",
            ),
            (
                &["OBJECT", "ENCODING"],
                "-ERR wrong number of arguments for 'object|encoding' command\r\n",
            ),
            (
                &["OBJECT", "encoding", "a", "b"],
                "-ERR wrong number of arguments for 'object|encoding' command\r\n",
            ),
            (
                &["OBJECT", "HELP", "x"],
                "-ERR wrong number of arguments for 'object|help' command\r\n",
            ),
            (&["OBJECT", "ENCODING", "nokey"], "$-1\r\n"),
            (&["OBJECT", "REFCOUNT", "nokey"], "$-1\r\n"),
            (&["OBJECT", "IDLETIME", "nokey"], "$-1\r\n"),
            (&["OBJECT", "FREQ", "nokey"], "$-1\r\n"),
            (&["SET", "i", "1"], "+OK\r\n"),
            (&["OBJECT", "ENCODING", "i"], "$3\r\nint\r\n"),
            (&["OBJECT", "REFCOUNT", "i"], ":2147483647\r\n"),
            (&["OBJECT", "IDLETIME", "i"], ":0\r\n"),
            (
                &["OBJECT", "FREQ", "i"],
                "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
                 Please note that when switching between policies at runtime LRU and LFU data \
                 will take some time to adjust.\r\n",
            ),
            (&["SET", "i", "10000"], "+OK\r\n"),
            (&["OBJECT", "REFCOUNT", "i"], ":1\r\n"),
            (&["SET", "i", "-1"], "+OK\r\n"),
            (&["OBJECT", "encoding", "i"], "$3\r\nint\r\n"),
            (&["OBJECT", "REFCOUNT", "i"], ":1\r\n"),
            (&["SET", "e", "12345678901234567890"], "+OK\r\n"),
            (&["OBJECT", "ENCODING", "e"], "$6\r\nembstr\r\n"),
            (&["SET", "e", "1234567890123456789"], "+OK\r\n"),
            (&["OBJECT", "ENCODING", "e"], "$3\r\nint\r\n"),
            (&["SET", "e", "01"], "+OK\r\n"),
            (&["OBJECT", "ENCODING", "e"], "$6\r\nembstr\r\n"),
            (&["SET", "e", &"a".repeat(44)], "+OK\r\n"),
            (&["OBJECT", "ENCODING", "e"], "$6\r\nembstr\r\n"),
            (&["SET", "e", &"a".repeat(45)], "+OK\r\n"),
            (&["OBJECT", "ENCODING", "e"], "$3\r\nraw\r\n"),
            (&["SET", "e", ""], "+OK\r\n"),
            (&["OBJECT", "ENCODING", "e"], "$6\r\nembstr\r\n"),
        ],
    );
    let help = raw.call(&["OBJECT", "HELP"]);
    assert!(
        help.starts_with(
            "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
        ),
        "{help}"
    );
    assert!(
        help.ends_with("+HELP\r\n+    Prints this help.\r\n"),
        "{help}"
    );
}

#[test]
fn keys_and_scan_options() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["KEYS", "*"], "*0\r\n"),
            (&["SCAN", "0"], "*2\r\n$1\r\n0\r\n*0\r\n"),
            (&["MSET", "one", "1", "two", "2", "three", "3"], "+OK\r\n"),
            (&["KEYS", "t[wh]*"], "*2\r\n$3\r\ntwo\r\n$5\r\nthree\r\n"),
            (&["KEYS", "o?e"], "*1\r\n$3\r\none\r\n"),
            (&["KEYS", "nomatch*"], "*0\r\n"),
            (&["SCAN", "0", "COUNT", "0"], "-ERR syntax error\r\n"),
            (&["SCAN", "0", "COUNT", "-1"], "-ERR syntax error\r\n"),
            (
                &["SCAN", "0", "COUNT", "abc"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["SCAN", "abc"], "-ERR invalid cursor\r\n"),
            (&["SCAN", " 1"], "-ERR invalid cursor\r\n"),
            (&["SCAN", "18446744073709551616"], "-ERR invalid cursor\r\n"),
            (&["SCAN", "0", "foo"], "-ERR syntax error\r\n"),
            (&["SCAN", "0", "COUNT"], "-ERR syntax error\r\n"),
            (&["SCAN", "0", "TYPE"], "-ERR syntax error\r\n"),
            (&["SCAN", "0", "MATCH"], "-ERR syntax error\r\n"),
            (
                &["SCAN", "0", "MATCH", "o*", "COUNT", "100"],
                "*2\r\n$1\r\n0\r\n*1\r\n$3\r\none\r\n",
            ),
            (
                &[
                    "SCAN", "0", "TYPE", "String", "MATCH", "tw*", "COUNT", "100",
                ],
                "*2\r\n$1\r\n0\r\n*1\r\n$3\r\ntwo\r\n",
            ),
            (
                &["SCAN", "0", "TYPE", "list", "COUNT", "100"],
                "*2\r\n$1\r\n0\r\n*0\r\n",
            ),
            (
                &["SCAN", "0", "MATCH", "*", "MATCH", "x*", "COUNT", "100"],
                "*2\r\n$1\r\n0\r\n*0\r\n",
            ),
        ],
    );
    let mut con = server.client();
    let (mut all, _) = full_scan(&mut con, &["COUNT", "1"]);
    all.sort();
    assert_eq!(all, ["one", "three", "two"]);
}

#[test]
fn scan_returns_every_key_once_without_changes() {
    let server = TestServer::start();
    let mut con = server.client();
    let pairs: Vec<(String, i32)> = (0..1000).map(|i| (format!("key:{i}"), i)).collect();
    let _: () = con.mset(&pairs).unwrap();
    let (keys, calls) = full_scan(&mut con, &["COUNT", "37"]);
    assert_eq!(keys.len(), 1000);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 1000);
    assert!(calls >= 1000 / 37, "{calls}");
    let (keys, _) = full_scan(&mut con, &["MATCH", "key:1*"]);
    assert_eq!(keys.len(), 1 + 10 + 100);
}

#[test]
fn scan_guarantee_under_concurrent_deletes_and_inserts() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut other = server.client();
    let stable: Vec<(String, i32)> = (0..500).map(|i| (format!("stable:{i}"), i)).collect();
    let churn: Vec<(String, i32)> = (0..500).map(|i| (format!("churn:{i}"), i)).collect();
    let _: () = con.mset(&stable).unwrap();
    let _: () = con.mset(&churn).unwrap();
    let mut seen = HashSet::new();
    let mut cursor = 0u64;
    let mut step = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(25)
            .query(&mut con)
            .unwrap();
        seen.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
        // Between calls another client deletes old keys (which moves keys around the index)
        // and adds new ones.
        for j in 0..10 {
            let victim = format!("churn:{}", (step * 10 + j) % 500);
            let _: i64 = other.del(&victim).unwrap();
            let _: () = other.set(format!("new:{step}:{j}"), j).unwrap();
        }
        step += 1;
        assert!(step < 10_000, "the scan must terminate");
    }
    for (key, _) in &stable {
        assert!(
            seen.contains(key),
            "{key} was present for the whole scan but not returned"
        );
    }
}

#[test]
fn scan_skips_and_reclaims_expired_keys() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for i in 0..50 {
        let key = format!("exp:{i}");
        assert_eq!(raw.call(&["SET", &key, "v", "PX", "50"]), "+OK\r\n");
    }
    assert_eq!(raw.call(&["SET", "keep", "v"]), "+OK\r\n");
    sleep(Duration::from_millis(120));
    let mut con = server.client();
    let (keys, _) = full_scan(&mut con, &["COUNT", "7"]);
    assert_eq!(keys, ["keep"]);
    assert_eq!(raw.call(&["KEYS", "*"]), "*1\r\n$4\r\nkeep\r\n");
}

#[test]
fn randomkey_returns_existing_keys() {
    let server = TestServer::start();
    let mut con = server.client();
    let none: Option<String> = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
    assert_eq!(none, None);
    let _: () = con.mset(&[("a", 1), ("b", 2), ("c", 3)]).unwrap();
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let key: String = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
        seen.insert(key);
    }
    let expected: HashSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, expected);
}

#[test]
fn redis_crate_usage() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: () = con.set("k", "v").unwrap();
    let exists: bool = con.exists("k").unwrap();
    assert!(exists);
    let ok: bool = con.expire("k", 100).unwrap();
    assert!(ok);
    let ttl: i64 = con.ttl("k").unwrap();
    assert_eq!(ttl, 100);
    let ok: bool = con.persist("k").unwrap();
    assert!(ok);
    let _: () = con.rename("k", "k2").unwrap();
    let ok: bool = con.rename_nx("k2", "k3").unwrap();
    assert!(ok);
    let t: String = redis::cmd("TYPE").arg("k3").query(&mut con).unwrap();
    assert_eq!(t, "string");
    let keys: Vec<String> = con.keys("k*").unwrap();
    assert_eq!(keys, ["k3"]);
    let scanned: Vec<String> = con
        .scan_match("k*")
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(scanned, ["k3"]);
    let n: i64 = con.del(&["k3", "nokey"]).unwrap();
    assert_eq!(n, 1);
}
