//! String commands over real sockets: exact replies and errors (checked against Redis 7.0.15),
//! expiry options, the INCR family's limits, ranges and the string size limit.

mod common;

use common::{check_all, int};

use std::thread::sleep;
use std::time::Duration;

use common::TestServer;
use redis::Commands;

#[test]
fn set_options_and_their_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let syntax = "-ERR syntax error\r\n";
    let invalid = "-ERR invalid expire time in 'set' command\r\n";
    check_all(
        &mut raw,
        &[
            (&["SET", "k", "v", "NX", "XX"], syntax),
            (&["SET", "k", "v", "EX", "abc", "NX", "XX"], syntax),
            (&["SET", "k", "v", "KEEPTTL", "EX", "10"], syntax),
            (&["SET", "k", "v", "EX", "10", "KEEPTTL"], syntax),
            (&["SET", "k", "v", "EX", "10", "PX", "10"], syntax),
            (&["SET", "k", "v", "EXAT", "10", "PXAT", "10"], syntax),
            (&["SET", "k", "v", "EX"], syntax),
            (&["SET", "k", "v", "PERSIST"], syntax),
            (&["SET", "k", "v", "foo"], syntax),
            (
                &["SET", "k", "v", "EX", "abc"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["SET", "k", "v", "EX", "0"], invalid),
            (&["SET", "k", "v", "EX", "-1"], invalid),
            (&["SET", "k", "v", "PX", "0"], invalid),
            (&["SET", "k", "v", "EXAT", "0"], invalid),
            (&["SET", "k", "v", "EX", "9223372036854775"], invalid),
            (&["SET", "k", "v", "PX", "9223372036854775807"], invalid),
            (&["SET", "k", "v", "EXAT", "9223372036854775807"], invalid),
            (
                &["SETEX", "k", "0", "v"],
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
            (
                &["PSETEX", "k", "-5", "v"],
                "-ERR invalid expire time in 'psetex' command\r\n",
            ),
            (
                &["SET"],
                "-ERR wrong number of arguments for 'set' command\r\n",
            ),
            (&["EXISTS", "k"], ":0\r\n"),
            // A repeated option is fine and the last value wins.
            (&["SET", "k", "v", "EX", "10", "ex", "20"], "+OK\r\n"),
            (&["TTL", "k"], ":20\r\n"),
            (&["SET", "k", "v", "PXAT", "9223372036854775807"], "+OK\r\n"),
            (&["SET", "k", "v", "EX", "9223372036854"], "+OK\r\n"),
        ],
    );
}

#[test]
fn set_nx_xx_get_keepttl() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["SET", "k", "v", "XX"], "$-1\r\n"),
            (&["SET", "k", "v", "NX"], "+OK\r\n"),
            (&["SET", "k", "w", "NX"], "$-1\r\n"),
            (&["SET", "k", "w", "XX"], "+OK\r\n"),
            (&["SET", "k", "x", "NX", "GET"], "$1\r\nw\r\n"),
            (&["GET", "k"], "$1\r\nw\r\n"),
            (&["SET", "k", "x", "XX", "get", "GET"], "$1\r\nw\r\n"),
            (&["SET", "new", "x", "GET"], "$-1\r\n"),
            (&["GET", "new"], "$1\r\nx\r\n"),
            (&["SET", "k", "y", "EX", "100"], "+OK\r\n"),
            (&["SET", "k", "z", "KEEPTTL"], "+OK\r\n"),
            (&["TTL", "k"], ":100\r\n"),
            (&["SET", "k", "z"], "+OK\r\n"),
            (&["TTL", "k"], ":-1\r\n"),
            (&["SETNX", "k", "a"], ":0\r\n"),
            (&["SETNX", "k2", "a"], ":1\r\n"),
            (&["SETEX", "k", "100", "b"], "+OK\r\n"),
            (&["TTL", "k"], ":100\r\n"),
            (&["PSETEX", "k", "100000", "c"], "+OK\r\n"),
            (&["TTL", "k"], ":100\r\n"),
            (&["GET", "k"], "$1\r\nc\r\n"),
        ],
    );
}

#[test]
fn set_get_and_getset_return_the_old_value() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // WRONGTYPE paths need keys of other types, which this family cannot create: they are
    // covered by the unit tests in src/cmd/string.rs.
    check_all(
        &mut raw,
        &[
            (&["SET", "k", "1"], "+OK\r\n"),
            (&["SET", "k", "2", "GET"], "$1\r\n1\r\n"),
            (&["GETSET", "k", "3"], "$1\r\n2\r\n"),
            (&["GETSET", "missing", "3"], "$-1\r\n"),
            (&["GET", "missing"], "$1\r\n3\r\n"),
        ],
    );
}

#[test]
fn set_with_past_absolute_time_is_expired_at_once() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["SET", "k", "v", "PXAT", "1"], "+OK\r\n"),
            (&["GET", "k"], "$-1\r\n"),
            (&["EXISTS", "k"], ":0\r\n"),
        ],
    );
}

#[test]
fn lazy_expiry_on_access() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["SET", "a", "1", "PX", "250"], "+OK\r\n"),
            (&["PSETEX", "b", "250", "2"], "+OK\r\n"),
            (&["SET", "c", "3"], "+OK\r\n"),
            (&["PEXPIRE", "c", "250"], ":1\r\n"),
            (&["SET", "d", "4", "PX", "250"], "+OK\r\n"),
            (&["GET", "a"], "$1\r\n1\r\n"),
        ],
    );
    let pttl = int(&mut raw, &["PTTL", "a"]);
    assert!((0..=250).contains(&pttl), "{pttl}");
    sleep(Duration::from_millis(350));
    check_all(
        &mut raw,
        &[
            (&["GET", "a"], "$-1\r\n"),
            (&["STRLEN", "b"], ":0\r\n"),
            (&["INCR", "c"], ":1\r\n"),
            (&["TTL", "c"], ":-1\r\n"),
            (&["APPEND", "d", "x"], ":1\r\n"),
            (&["GET", "d"], "$1\r\nx\r\n"),
            (&["SET", "d", "v", "XX", "GET"], "$1\r\nx\r\n"),
        ],
    );
}

#[test]
fn getex_options() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let syntax = "-ERR syntax error\r\n";
    check_all(
        &mut raw,
        &[
            (&["GETEX", "nokey", "foo"], syntax),
            (&["GETEX", "nokey", "EX", "0"], "$-1\r\n"),
            (&["SET", "k", "v"], "+OK\r\n"),
            (&["GETEX", "k", "PERSIST", "EX", "10"], syntax),
            (&["GETEX", "k", "EX", "10", "PERSIST"], syntax),
            (&["GETEX", "k", "KEEPTTL"], syntax),
            (&["GETEX", "k", "NX"], syntax),
            (&["GETEX", "k", "GET"], syntax),
            (&["GETEX", "k", "EX"], syntax),
            (
                &["GETEX", "k", "EX", "0"],
                "-ERR invalid expire time in 'getex' command\r\n",
            ),
            (
                &["GETEX", "k", "EX", "abc"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["GETEX", "k"], "$1\r\nv\r\n"),
            (&["TTL", "k"], ":-1\r\n"),
            (&["GETEX", "k", "EX", "50"], "$1\r\nv\r\n"),
            (&["TTL", "k"], ":50\r\n"),
            (&["GETEX", "k", "PX", "70000"], "$1\r\nv\r\n"),
            (&["TTL", "k"], ":70\r\n"),
            (&["GETEX", "k", "EXAT", "4000000000"], "$1\r\nv\r\n"),
            (&["EXPIRETIME", "k"], ":4000000000\r\n"),
            (&["GETEX", "k", "PXAT", "4000000000123"], "$1\r\nv\r\n"),
            (&["PEXPIRETIME", "k"], ":4000000000123\r\n"),
            (&["GETEX", "k", "persist"], "$1\r\nv\r\n"),
            (&["TTL", "k"], ":-1\r\n"),
            (&["GETEX", "k", "EXAT", "1"], "$1\r\nv\r\n"),
            (&["EXISTS", "k"], ":0\r\n"),
        ],
    );
}

#[test]
fn getdel_getset_mget_mset_msetnx() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["GETDEL", "k"], "$-1\r\n"),
            (&["SET", "k", "v", "EX", "100"], "+OK\r\n"),
            (&["GETSET", "k", "w"], "$1\r\nv\r\n"),
            (&["TTL", "k"], ":-1\r\n"),
            (&["GETDEL", "k"], "$1\r\nw\r\n"),
            (&["EXISTS", "k"], ":0\r\n"),
            (
                &["MSET", "a", "1", "b"],
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            (
                &["MSETNX", "a", "1", "b"],
                "-ERR wrong number of arguments for 'msetnx' command\r\n",
            ),
            (&["MSET", "a", "1", "b", "2"], "+OK\r\n"),
            (&["MSETNX", "a", "1", "c", "3"], ":0\r\n"),
            (&["EXISTS", "c"], ":0\r\n"),
            (&["MSETNX", "c", "3", "d", "4", "c", "5"], ":1\r\n"),
            (
                &["MGET", "a", "b", "nokey", "c", "d"],
                "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n5\r\n$1\r\n4\r\n",
            ),
        ],
    );
}

#[test]
fn incr_family_limits_and_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let not_int = "-ERR value is not an integer or out of range\r\n";
    let overflow = "-ERR increment or decrement would overflow\r\n";
    check_all(
        &mut raw,
        &[
            (&["INCR", "new"], ":1\r\n"),
            (&["DECR", "new2"], ":-1\r\n"),
            (&["INCRBY", "new3", "-5"], ":-5\r\n"),
            (&["DECRBY", "new4", "5"], ":-5\r\n"),
            (&["SET", "n", "9223372036854775806"], "+OK\r\n"),
            (&["INCR", "n"], ":9223372036854775807\r\n"),
            (&["INCR", "n"], overflow),
            (&["DECRBY", "n", "-1"], overflow),
            (&["GET", "n"], "$19\r\n9223372036854775807\r\n"),
            (&["SET", "m", "-9223372036854775808"], "+OK\r\n"),
            (&["DECR", "m"], overflow),
            (&["DECRBY", "m", "9223372036854775807"], overflow),
            (&["INCRBY", "m", "9223372036854775807"], ":-1\r\n"),
            (
                &["DECRBY", "x", "-9223372036854775808"],
                "-ERR decrement would overflow\r\n",
            ),
            (
                &["INCRBY", "x", "-9223372036854775808"],
                ":-9223372036854775808\r\n",
            ),
            (&["INCRBY", "x", "9223372036854775808"], not_int),
            (&["INCRBY", "x", "1.5"], not_int),
            (&["SET", "s", " 1"], "+OK\r\n"),
            (&["INCR", "s"], not_int),
            (&["SET", "s", "1 "], "+OK\r\n"),
            (&["INCR", "s"], not_int),
            (&["SET", "s", "01"], "+OK\r\n"),
            (&["INCR", "s"], not_int),
            (&["SET", "s", "+1"], "+OK\r\n"),
            (&["INCR", "s"], not_int),
            (&["SET", "s", ""], "+OK\r\n"),
            (&["INCR", "s"], not_int),
            (&["SET", "t", "10", "EX", "100"], "+OK\r\n"),
            (&["INCRBY", "t", "5"], ":15\r\n"),
            (&["TTL", "t"], ":100\r\n"),
        ],
    );
}

#[test]
fn incrbyfloat_prints_like_redis() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let not_float = "-ERR value is not a valid float\r\n";
    check_all(
        &mut raw,
        &[
            (&["SET", "f", "10.50"], "+OK\r\n"),
            (&["INCRBYFLOAT", "f", "0.1"], "$4\r\n10.6\r\n"),
            (
                &["INCRBYFLOAT", "f", "-5.0e3"],
                "$23\r\n-4989.39999999999999991\r\n",
            ),
            (&["INCRBYFLOAT", "f", "abc"], not_float),
            (&["INCRBYFLOAT", "f", " 1"], not_float),
            (&["INCRBYFLOAT", "f", "nan"], not_float),
            (
                &["INCRBYFLOAT", "f", "inf"],
                "-ERR increment would produce NaN or Infinity\r\n",
            ),
            (&["INCRBYFLOAT", "g", "3.0e3"], "$4\r\n3000\r\n"),
            (&["INCRBYFLOAT", "g", "0x10"], "$4\r\n3016\r\n"),
            (&["SET", "h", "abc"], "+OK\r\n"),
            (&["INCRBYFLOAT", "h", "1"], not_float),
            (&["SET", "h", ""], "+OK\r\n"),
            (&["INCRBYFLOAT", "h", "1"], not_float),
            (&["SET", "t", "1", "EX", "100"], "+OK\r\n"),
            (&["INCRBYFLOAT", "t", "0.5"], "$3\r\n1.5\r\n"),
            (&["TTL", "t"], ":100\r\n"),
        ],
    );
    // 1e308 is printed in full with %.17Lf, exactly as Redis does.
    let reply = raw.call(&["INCRBYFLOAT", "big", "1e308"]);
    assert!(
        reply.starts_with("$308\r\n999999999999999999966858796558456456605600998474155672"),
        "{reply}"
    );
}

#[test]
fn getrange_edges() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let empty = "$0\r\n\r\n";
    check_all(
        &mut raw,
        &[
            (&["GETRANGE", "nokey", "0", "-1"], empty),
            (&["SET", "r", "Hello World"], "+OK\r\n"),
            (&["GETRANGE", "r", "0", "4"], "$5\r\nHello\r\n"),
            (&["GETRANGE", "r", "-3", "-1"], "$3\r\nrld\r\n"),
            (&["GETRANGE", "r", "-1", "-3"], empty),
            (&["GETRANGE", "r", "5", "3"], empty),
            (&["GETRANGE", "r", "0", "-100"], "$1\r\nH\r\n"),
            (&["GETRANGE", "r", "-100", "-100"], "$1\r\nH\r\n"),
            (&["GETRANGE", "r", "-100", "100"], "$11\r\nHello World\r\n"),
            (&["GETRANGE", "r", "100", "200"], empty),
            (
                &["GETRANGE", "r", "0", "9223372036854775807"],
                "$11\r\nHello World\r\n",
            ),
            (
                &["GETRANGE", "r", "-9223372036854775808", "-1"],
                "$11\r\nHello World\r\n",
            ),
            (
                &["GETRANGE", "r", "x", "1"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["SUBSTR", "r", "0", "2"], "$3\r\nHel\r\n"),
            (
                &["SUBSTR", "r", "0"],
                "-ERR wrong number of arguments for 'substr' command\r\n",
            ),
            (&["SET", "e", ""], "+OK\r\n"),
            (&["GETRANGE", "e", "0", "-1"], empty),
            (&["GETRANGE", "e", "-1", "0"], empty),
            (&["SET", "i", "12345"], "+OK\r\n"),
            (&["GETRANGE", "i", "1", "2"], "$2\r\n23\r\n"),
        ],
    );
}

#[test]
fn setrange_append_strlen() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    check_all(
        &mut raw,
        &[
            (&["SET", "r", "Hello World"], "+OK\r\n"),
            (
                &["SETRANGE", "r", "-1", "x"],
                "-ERR offset is out of range\r\n",
            ),
            (
                &["SETRANGE", "r", "abc", "x"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["SETRANGE", "r", "6", "Redis"], ":11\r\n"),
            (&["GET", "r"], "$11\r\nHello Redis\r\n"),
            (&["SETRANGE", "r", "100", ""], ":11\r\n"),
            (&["SETRANGE", "r", "13", "xy"], ":15\r\n"),
            (&["GET", "r"], "$15\r\nHello Redis\0\0xy\r\n"),
            (&["SETRANGE", "nokey", "100", ""], ":0\r\n"),
            (&["EXISTS", "nokey"], ":0\r\n"),
            (&["SETRANGE", "nokey", "536870912", "x"], too_big),
            (&["SETRANGE", "nokey", "9223372036854775807", "x"], too_big),
            (&["SETRANGE", "r", "536870911", "xy"], too_big),
            (&["SETRANGE", "nokey", "2", "ab"], ":4\r\n"),
            (&["GET", "nokey"], "$4\r\n\0\0ab\r\n"),
            (&["STRLEN", "nokey"], ":4\r\n"),
            (&["STRLEN", "missing"], ":0\r\n"),
            (&["APPEND", "newk", "abc"], ":3\r\n"),
            (&["APPEND", "newk", "def"], ":6\r\n"),
            (&["APPEND", "newk", ""], ":6\r\n"),
            (&["GET", "newk"], "$6\r\nabcdef\r\n"),
            (&["SET", "num", "123"], "+OK\r\n"),
            (&["APPEND", "num", "4"], ":4\r\n"),
            (&["INCR", "num"], ":1235\r\n"),
        ],
    );
}

#[test]
fn string_size_limit_follows_proto_max_bulk_len() {
    let server = TestServer::with_config(|c| c.proto_max_bulk_len = 10);
    let mut raw = server.raw();
    let too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    check_all(
        &mut raw,
        &[
            (&["SETRANGE", "k", "8", "ab"], ":10\r\n"),
            (&["SETRANGE", "k", "9", "ab"], too_big),
            (&["APPEND", "k", "x"], too_big),
            (&["APPEND", "k", ""], ":10\r\n"),
            (&["SET", "j", "123456789"], "+OK\r\n"),
            (&["APPEND", "j", "0"], ":10\r\n"),
            (&["APPEND", "j", "1"], too_big),
            (&["STRLEN", "j"], ":10\r\n"),
        ],
    );
}

#[test]
fn binary_values_round_trip() {
    let server = TestServer::start();
    let mut con = server.client();
    let value: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let _: () = con.set(b"bin\0key", &value).unwrap();
    let back: Vec<u8> = con.get(b"bin\0key").unwrap();
    assert_eq!(back, value);
    let len: usize = con.strlen(b"bin\0key").unwrap();
    assert_eq!(len, 100_000);
    let tail: Vec<u8> = con.getrange(b"bin\0key", -3, -1).unwrap();
    assert_eq!(tail, &value[99_997..]);
}

#[test]
fn redis_crate_usage() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: () = con.set("counter", 10).unwrap();
    let n: i64 = con.incr("counter", 5).unwrap();
    assert_eq!(n, 15);
    let n: i64 = con.decr("counter", 20).unwrap();
    assert_eq!(n, -5);
    let f: f64 = redis::cmd("INCRBYFLOAT")
        .arg("counter")
        .arg(0.5)
        .query(&mut con)
        .unwrap();
    assert_eq!(f, -4.5);
    let _: () = con.mset(&[("x", "1"), ("y", "2")]).unwrap();
    let v: Vec<Option<String>> = con.mget(&["x", "nope", "y"]).unwrap();
    assert_eq!(v, vec![Some("1".into()), None, Some("2".into())]);
    let ok: bool = con.set_nx("x", "9").unwrap();
    assert!(!ok);
    let _: () = con.set_ex("ex", "v", 100).unwrap();
    let ttl: i64 = con.ttl("ex").unwrap();
    assert_eq!(ttl, 100);
    let old: Option<String> = con.getset("x", "3").unwrap();
    assert_eq!(old.as_deref(), Some("1"));
    let gone: Option<String> = con.get_del("x").unwrap();
    assert_eq!(gone.as_deref(), Some("3"));
    let len: usize = con.append("y", "22").unwrap();
    assert_eq!(len, 3);
    let len: usize = con.setrange("y", 1, "x").unwrap();
    assert_eq!(len, 3);
    let y: String = con.get("y").unwrap();
    assert_eq!(y, "2x2");
    let err = con.incr::<_, _, i64>("y", 1).unwrap_err();
    assert_eq!(err.code(), Some("ERR"));
}
