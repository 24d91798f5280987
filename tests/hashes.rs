//! The hash commands over real sockets: exact replies and error texts as Redis 7.0.15 gives them,
//! random picks (HRANDFIELD) and cursor walks (HSCAN).

mod common;

use common::{assert_even_spread, bulk, bulks, check, query, WRONGTYPE};

use std::collections::{HashMap, HashSet};

use common::TestServer;

#[test]
fn hset_hget_and_friends() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["HSET", "h", "a", "1", "b", "2"], ":2\r\n");
    check(&mut raw, &["HSET", "h", "a", "9", "c", "3"], ":1\r\n");
    check(&mut raw, &["HGET", "h", "a"], &bulk("9"));
    check(&mut raw, &["HGET", "h", "zz"], "$-1\r\n");
    check(&mut raw, &["HGET", "nokey", "a"], "$-1\r\n");
    check(
        &mut raw,
        &["HMGET", "h", "a", "zz", "c"],
        "*3\r\n$1\r\n9\r\n$-1\r\n$1\r\n3\r\n",
    );
    check(
        &mut raw,
        &["HMGET", "nokey", "a", "b"],
        "*2\r\n$-1\r\n$-1\r\n",
    );
    check(&mut raw, &["HMSET", "h", "d", "4", "a", "1"], "+OK\r\n");
    check(
        &mut raw,
        &["HGETALL", "h"],
        &bulks(&["a", "1", "b", "2", "c", "3", "d", "4"]),
    );
    check(&mut raw, &["HKEYS", "h"], &bulks(&["a", "b", "c", "d"]));
    check(&mut raw, &["HVALS", "h"], &bulks(&["1", "2", "3", "4"]));
    check(&mut raw, &["HGETALL", "nokey"], "*0\r\n");
    check(&mut raw, &["HKEYS", "nokey"], "*0\r\n");
    check(&mut raw, &["HVALS", "nokey"], "*0\r\n");
    check(&mut raw, &["HLEN", "h"], ":4\r\n");
    check(&mut raw, &["HLEN", "nokey"], ":0\r\n");
    check(&mut raw, &["HEXISTS", "h", "a"], ":1\r\n");
    check(&mut raw, &["HEXISTS", "h", "zz"], ":0\r\n");
    check(&mut raw, &["HEXISTS", "nokey", "a"], ":0\r\n");
    check(&mut raw, &["HSTRLEN", "h", "a"], ":1\r\n");
    check(&mut raw, &["HSTRLEN", "h", "zz"], ":0\r\n");
    check(&mut raw, &["HSTRLEN", "nokey", "a"], ":0\r\n");
    check(&mut raw, &["HSETNX", "h", "a", "x"], ":0\r\n");
    check(&mut raw, &["HSETNX", "h", "e", "5"], ":1\r\n");
    check(&mut raw, &["HSETNX", "fresh", "f", "v"], ":1\r\n");
    check(&mut raw, &["HGET", "fresh", "f"], &bulk("v"));
    check(&mut raw, &["HGET", "h", "e"], &bulk("5"));
}

#[test]
fn empty_and_binary_fields_and_values() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["HSET", "h", "", ""], ":1\r\n");
    check(&mut raw, &["HGET", "h", ""], "$0\r\n\r\n");
    check(&mut raw, &["HSTRLEN", "h", ""], ":0\r\n");
    check(&mut raw, &["HSET", "h", "a\r\nb", "\0\r\n"], ":1\r\n");
    check(&mut raw, &["HGET", "h", "a\r\nb"], "$3\r\n\0\r\n\r\n");
    check(&mut raw, &["HSTRLEN", "h", "a\r\nb"], ":3\r\n");
    let big = "x".repeat(100_000);
    check(&mut raw, &["HSET", "h", "big", &big], ":1\r\n");
    check(&mut raw, &["HSTRLEN", "h", "big"], ":100000\r\n");
    check(&mut raw, &["HGET", "h", "big"], &bulk(&big));
}

#[test]
fn arity_errors_name_the_command() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (args, name) in [
        (&["HSET", "h", "a"][..], "hset"),
        (&["HSET", "h", "a", "1", "b"], "hset"),
        (&["HMSET", "h", "a"], "hmset"),
        (&["HMSET", "h", "a", "1", "b"], "hmset"),
        (&["HGET", "h"], "hget"),
        (&["HSETNX", "h", "a"], "hsetnx"),
        (&["HDEL", "h"], "hdel"),
        (&["HMGET", "h"], "hmget"),
        (&["HRANDFIELD"], "hrandfield"),
        (&["HSCAN", "h"], "hscan"),
        (&["HINCRBY", "h", "a"], "hincrby"),
        (&["HINCRBYFLOAT", "h", "a", "1", "2"], "hincrbyfloat"),
    ] {
        check(
            &mut raw,
            args,
            &format!("-ERR wrong number of arguments for '{name}' command\r\n"),
        );
    }
    // Nothing was created by the failed writes.
    check(&mut raw, &["HLEN", "h"], ":0\r\n");
}

#[test]
fn wrong_type_is_refused_by_every_command() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SET", "s", "x"], "+OK\r\n");
    for args in [
        &["HSET", "s", "a", "1"][..],
        &["HSETNX", "s", "a", "1"],
        &["HMSET", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HGETALL", "s"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HEXISTS", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HSTRLEN", "s", "a"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "0"],
        &["HRANDFIELD", "s", "-3", "WITHVALUES"],
        &["HSCAN", "s", "0"],
    ] {
        check(&mut raw, args, WRONGTYPE);
    }
    check(&mut raw, &["GET", "s"], &bulk("x"));
    // Argument errors come before the type check, as in Redis.
    check(
        &mut raw,
        &["HINCRBY", "s", "a", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(
        &mut raw,
        &["HINCRBYFLOAT", "s", "a", "inf"],
        "-ERR value is NaN or Infinity\r\n",
    );
    check(&mut raw, &["HSCAN", "s", "x"], "-ERR invalid cursor\r\n");
    check(
        &mut raw,
        &["HRANDFIELD", "s", "1", "x"],
        "-ERR syntax error\r\n",
    );
}

#[test]
fn hdel_keeps_order_and_deletes_the_emptied_key() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            "HSET", "h", "f1", "a", "f2", "b", "f3", "c", "f4", "d", "f5", "e",
        ],
        ":5\r\n",
    );
    check(&mut raw, &["HDEL", "h", "f2", "zz", "f4"], ":2\r\n");
    check(&mut raw, &["HSET", "h", "f6", "x", "f2", "y"], ":2\r\n");
    // A small hash lists fields in insertion order, as Redis's listpack does.
    check(
        &mut raw,
        &["HGETALL", "h"],
        &bulks(&["f1", "a", "f3", "c", "f5", "e", "f6", "x", "f2", "y"]),
    );
    check(&mut raw, &["HDEL", "nokey", "a"], ":0\r\n");
    check(
        &mut raw,
        &["HDEL", "h", "f1", "f3", "f5", "f6", "f2", "f1"],
        ":5\r\n",
    );
    check(&mut raw, &["HLEN", "h"], ":0\r\n");
    // The key is gone: GET would refuse a hash.
    check(&mut raw, &["GET", "h"], "$-1\r\n");
}

#[test]
fn hincrby_edges() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["HINCRBY", "h", "n", "5"], ":5\r\n");
    check(&mut raw, &["HINCRBY", "h", "n", "-7"], ":-2\r\n");
    check(&mut raw, &["HGET", "h", "n"], &bulk("-2"));
    check(
        &mut raw,
        &["HINCRBY", "h", "min", "-9223372036854775808"],
        ":-9223372036854775808\r\n",
    );
    let overflow = "-ERR increment or decrement would overflow\r\n";
    check(&mut raw, &["HINCRBY", "h", "min", "-1"], overflow);
    check(
        &mut raw,
        &["HINCRBY", "h", "min", "9223372036854775807"],
        ":-1\r\n",
    );
    check(
        &mut raw,
        &["HINCRBY", "h", "max", "9223372036854775807"],
        ":9223372036854775807\r\n",
    );
    check(&mut raw, &["HINCRBY", "h", "max", "1"], overflow);
    check(
        &mut raw,
        &["HGET", "h", "max"],
        &bulk("9223372036854775807"),
    );
    let not_int = "-ERR value is not an integer or out of range\r\n";
    for bad in ["x", "1.5", " 1", "9223372036854775808", ""] {
        check(&mut raw, &["HINCRBY", "h", "n", bad], not_int);
    }
    check(
        &mut raw,
        &["HSET", "h", "s", "abc", "f", "1.5", "z", "007", "e", ""],
        ":4\r\n",
    );
    for field in ["s", "f", "z", "e"] {
        check(
            &mut raw,
            &["HINCRBY", "h", field, "1"],
            "-ERR hash value is not an integer\r\n",
        );
    }
    // A failed increment on a missing key creates nothing.
    check(&mut raw, &["HINCRBY", "nokey", "f", "x"], not_int);
    check(&mut raw, &["GET", "nokey"], "$-1\r\n");
}

#[test]
fn hincrbyfloat_matches_long_double_output() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["HINCRBYFLOAT", "h", "f", "0.1"], &bulk("0.1"));
    check(&mut raw, &["HINCRBYFLOAT", "h", "f", "0.2"], &bulk("0.3"));
    check(&mut raw, &["HINCRBYFLOAT", "h", "f", "-0.3"], &bulk("0"));
    check(
        &mut raw,
        &["HINCRBYFLOAT", "h", "g", "5.0e3"],
        &bulk("5000"),
    );
    check(
        &mut raw,
        &["HINCRBYFLOAT", "h", "g", "2.0e2"],
        &bulk("5200"),
    );
    check(
        &mut raw,
        &["HINCRBYFLOAT", "h", "i", "10.50"],
        &bulk("10.5"),
    );
    check(&mut raw, &["HINCRBYFLOAT", "h", "i", "0.1"], &bulk("10.6"));
    check(&mut raw, &["HINCRBYFLOAT", "h", "x", "0x10"], &bulk("16"));
    check(&mut raw, &["HINCRBYFLOAT", "h", "z", "-0"], &bulk("0"));
    check(&mut raw, &["HSET", "h", "int", "7"], ":1\r\n");
    check(&mut raw, &["HINCRBYFLOAT", "h", "int", "1.5"], &bulk("8.5"));
    check(&mut raw, &["HGET", "h", "int"], &bulk("8.5"));
    let not_float = "-ERR value is not a valid float\r\n";
    for bad in ["abc", "nan", "", " 1", "1x", "1e5000"] {
        check(&mut raw, &["HINCRBYFLOAT", "h", "f", bad], not_float);
    }
    for inf in ["inf", "-inf", "+Infinity"] {
        check(
            &mut raw,
            &["HINCRBYFLOAT", "h", "f", inf],
            "-ERR value is NaN or Infinity\r\n",
        );
    }
    check(
        &mut raw,
        &["HSET", "h", "s", "abc", "sp", " 1", "e", ""],
        ":3\r\n",
    );
    for field in ["s", "sp", "e"] {
        check(
            &mut raw,
            &["HINCRBYFLOAT", "h", field, "1"],
            "-ERR hash value is not a float\r\n",
        );
    }
    // 1e999 is beyond a double but within a long double.
    let reply = raw.call(&["HINCRBYFLOAT", "h", "big", "1e4932"]);
    assert!(
        reply.starts_with("$4933\r\n1000000000000000000006018949"),
        "{reply}"
    );
    check(
        &mut raw,
        &["HINCRBYFLOAT", "h", "big", "1e4932"],
        "-ERR increment would produce NaN or Infinity\r\n",
    );
    check(
        &mut raw,
        &["HINCRBYFLOAT", "h", "big", "-1e4932"],
        &bulk("0"),
    );
}

#[test]
fn hrandfield_errors_and_edges() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["HSET", "h", "a", "1", "b", "2"], ":2\r\n");
    check(
        &mut raw,
        &["HRANDFIELD", "h", "-9223372036854775808"],
        "-ERR value is out of range, value must between -9223372036854775807 and \
         9223372036854775807\r\n",
    );
    let range = "-ERR value is out of range\r\n";
    check(
        &mut raw,
        &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
        range,
    );
    check(
        &mut raw,
        &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
        range,
    );
    check(
        &mut raw,
        &["HRANDFIELD", "h", "4611686018427387903", "withvalues"],
        &bulks(&["a", "1", "b", "2"]),
    );
    check(
        &mut raw,
        &["HRANDFIELD", "h", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(
        &mut raw,
        &["HRANDFIELD", "h", "1", "foo"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut raw,
        &["HRANDFIELD", "h", "1", "withvalues", "x"],
        "-ERR syntax error\r\n",
    );
    check(&mut raw, &["HRANDFIELD", "h", "0"], "*0\r\n");
    check(&mut raw, &["HRANDFIELD", "h", "0", "WITHVALUES"], "*0\r\n");
    check(&mut raw, &["HRANDFIELD", "nokey"], "$-1\r\n");
    check(&mut raw, &["HRANDFIELD", "nokey", "5"], "*0\r\n");
    check(
        &mut raw,
        &["HRANDFIELD", "nokey", "-5", "WITHVALUES"],
        "*0\r\n",
    );
    // A count at least the size returns the whole hash, in order.
    check(&mut raw, &["HRANDFIELD", "h", "2"], &bulks(&["a", "b"]));
    check(&mut raw, &["HRANDFIELD", "h", "100"], &bulks(&["a", "b"]));
    let one = raw.call(&["HRANDFIELD", "h"]);
    assert!(one == bulk("a") || one == bulk("b"), "{one}");
}

#[test]
fn hrandfield_distributions() {
    let server = TestServer::start();
    let mut con = server.client();
    let fields: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    let mut args = vec!["HSET", "h"];
    for f in &fields {
        args.push(f);
        args.push(f);
    }
    let _: i64 = query(&mut con, &args);
    let all: HashSet<String> = fields.iter().cloned().collect();

    // Negative count: exactly that many, repeats allowed, every field roughly equally often.
    let picks: Vec<String> = query(&mut con, &["HRANDFIELD", "h", "-10000"]);
    assert_eq!(picks.len(), 10_000);
    assert_even_spread(&picks, &all);

    // Positive count below the size: distinct fields; over many calls every field shows up.
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let picks: Vec<String> = query(&mut con, &["HRANDFIELD", "h", "3"]);
        assert_eq!(picks.len(), 3);
        let distinct: HashSet<&String> = picks.iter().collect();
        assert_eq!(distinct.len(), 3, "{picks:?}");
        seen.extend(picks);
    }
    assert_eq!(seen, all);

    // With values every pair belongs together.
    let flat: Vec<String> = query(&mut con, &["HRANDFIELD", "h", "-50", "WITHVALUES"]);
    assert_eq!(flat.len(), 100);
    for pair in flat.chunks(2) {
        assert_eq!(pair[0], pair[1]);
        assert!(all.contains(&pair[0]));
    }
    let flat: Vec<String> = query(&mut con, &["HRANDFIELD", "h", "9", "WITHVALUES"]);
    assert_eq!(flat.len(), 18);
    let distinct: HashSet<&String> = flat.iter().step_by(2).collect();
    assert_eq!(distinct.len(), 9);

    // Without a count: a single field, eventually each of them.
    let mut seen = HashSet::new();
    for _ in 0..300 {
        let f: String = query(&mut con, &["HRANDFIELD", "h"]);
        seen.insert(f);
    }
    assert_eq!(seen, all);
}

#[test]
fn hscan_of_a_small_hash_is_one_reply() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &["HSET", "h", "a", "1", "b", "2", "c", "3"],
        ":3\r\n",
    );
    let whole =
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n";
    for cursor in ["0", "77", "", "+3", "-1", "18446744073709551615"] {
        check(&mut raw, &["HSCAN", "h", cursor], whole);
        check(&mut raw, &["HSCAN", "h", cursor, "COUNT", "1"], whole);
    }
    check(
        &mut raw,
        &["HSCAN", "h", "0", "MATCH", "[ab]", "COUNT", "1"],
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    // The last MATCH wins.
    check(
        &mut raw,
        &["HSCAN", "h", "0", "match", "a", "match", "c"],
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
    );
    check(
        &mut raw,
        &["HSCAN", "h", "0", "match", "zz*"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );
    let invalid = "-ERR invalid cursor\r\n";
    for cursor in ["abc", " 1", "+", "-", "1x", "18446744073709551616"] {
        check(&mut raw, &["HSCAN", "h", cursor], invalid);
    }
    check(&mut raw, &["HSCAN", "nokey", "abc"], invalid);
    let syntax = "-ERR syntax error\r\n";
    check(&mut raw, &["HSCAN", "h", "0", "COUNT", "0"], syntax);
    check(&mut raw, &["HSCAN", "h", "0", "COUNT", "-1"], syntax);
    check(&mut raw, &["HSCAN", "h", "0", "MATCH"], syntax);
    check(&mut raw, &["HSCAN", "h", "0", "foo", "bar"], syntax);
    check(&mut raw, &["HSCAN", "h", "0", "TYPE", "string"], syntax);
    check(
        &mut raw,
        &["HSCAN", "h", "0", "COUNT", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    // A missing key answers before the options are looked at.
    check(
        &mut raw,
        &["HSCAN", "nokey", "0", "foo"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );
}

/// Walks a whole HSCAN; returns every field/value seen and the number of calls.
fn hscan_all(
    con: &mut redis::Connection,
    key: &str,
    extra: &[&str],
) -> (Vec<(String, String)>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let (next, flat): (String, Vec<String>) = query(con, &args);
        calls += 1;
        assert_eq!(flat.len() % 2, 0);
        seen.extend(flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())));
        if next == "0" {
            return (seen, calls);
        }
        cursor = next;
    }
}

#[test]
fn hscan_walks_a_big_hash_with_cursors() {
    let server = TestServer::start();
    let mut con = server.client();
    // Over 512 fields: a hashtable (redis-server's built-in hash-max-listpack-entries).
    for i in 0..600 {
        let _: i64 = query(
            &mut con,
            &["HSET", "big", &format!("f{i}"), &format!("v{i}")],
        );
    }
    let (seen, calls) = hscan_all(&mut con, "big", &["COUNT", "7"]);
    assert_eq!(seen.len(), 600);
    assert!(calls >= 600 / 7, "{calls}");
    let distinct: HashMap<String, String> = seen.into_iter().collect();
    assert_eq!(distinct.len(), 600);
    assert!(distinct.iter().all(|(f, v)| f[1..] == v[1..]));

    let (seen, _) = hscan_all(&mut con, "big", &["MATCH", "f1?", "COUNT", "50"]);
    let mut fields: Vec<String> = seen.into_iter().map(|(f, _)| f).collect();
    fields.sort();
    let mut expected: Vec<String> = (10..20).map(|i| format!("f{i}")).collect();
    expected.sort();
    assert_eq!(fields, expected);

    // One value over 64 bytes makes a small hash a hashtable: it is walked by cursor too.
    let long = "v".repeat(65);
    let mut args = vec!["HSET", "wide"];
    let names: Vec<String> = (0..30).map(|i| format!("w{i}")).collect();
    for name in &names {
        args.push(name);
        args.push(&long);
    }
    let _: i64 = query(&mut con, &args);
    let (seen, calls) = hscan_all(&mut con, "wide", &["COUNT", "10"]);
    assert_eq!(seen.len(), 30);
    assert!(calls > 1);
}

#[test]
fn hscan_returns_fields_present_for_the_whole_scan_despite_deletions() {
    let server = TestServer::start();
    let mut con = server.client();
    for i in 0..300 {
        let _: i64 = query(&mut con, &["HSET", "h", &format!("keep{i}"), "v"]);
        let _: i64 = query(&mut con, &["HSET", "h", &format!("drop{i}"), "v"]);
    }
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut dropped = 0;
    loop {
        let (next, flat): (String, Vec<String>) =
            query(&mut con, &["HSCAN", "h", &cursor, "COUNT", "20"]);
        seen.extend(flat.into_iter().step_by(2));
        // Delete some fields between calls, and add new ones.
        for _ in 0..5 {
            if dropped < 300 {
                let _: i64 = query(&mut con, &["HDEL", "h", &format!("drop{dropped}")]);
                let _: i64 = query(&mut con, &["HSET", "h", &format!("new{dropped}"), "v"]);
                dropped += 1;
            }
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for i in 0..300 {
        assert!(seen.contains(&format!("keep{i}")), "keep{i} missing");
    }
}
