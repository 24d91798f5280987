//! The set commands over real sockets: exact replies and error texts as Redis 7.0.15 gives them,
//! random picks (SPOP, SRANDMEMBER), the multi-set algebra and its STORE forms, and SSCAN.

mod common;

use common::{assert_even_spread, bulk, bulks, check, query, WRONGTYPE};

use std::collections::HashSet;

use common::TestServer;

/// The members of a set, sorted, through the `redis` crate.
fn members(con: &mut redis::Connection, key: &str) -> Vec<String> {
    let mut m: Vec<String> = query(con, &["SMEMBERS", key]);
    m.sort();
    m
}

/// Sorted owned strings.
fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn sadd_srem_and_membership() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SADD", "s", "a", "b", "a"], ":2\r\n");
    check(&mut raw, &["SADD", "s", "b", "c"], ":1\r\n");
    check(&mut raw, &["SCARD", "s"], ":3\r\n");
    check(&mut raw, &["SCARD", "nokey"], ":0\r\n");
    check(&mut raw, &["SISMEMBER", "s", "a"], ":1\r\n");
    check(&mut raw, &["SISMEMBER", "s", "z"], ":0\r\n");
    check(&mut raw, &["SISMEMBER", "nokey", "a"], ":0\r\n");
    check(
        &mut raw,
        &["SMISMEMBER", "s", "a", "z", "c"],
        "*3\r\n:1\r\n:0\r\n:1\r\n",
    );
    check(
        &mut raw,
        &["SMISMEMBER", "nokey", "a", "b"],
        "*2\r\n:0\r\n:0\r\n",
    );
    check(&mut raw, &["SREM", "s", "a", "z", "a"], ":1\r\n");
    check(&mut raw, &["SREM", "nokey", "a"], ":0\r\n");
    check(&mut raw, &["SREM", "s", "b", "c"], ":2\r\n");
    check(&mut raw, &["SCARD", "s"], ":0\r\n");
    // The emptied set is deleted: GET would refuse a set.
    check(&mut raw, &["GET", "s"], "$-1\r\n");
    check(&mut raw, &["SMEMBERS", "nokey"], "*0\r\n");
}

#[test]
fn empty_and_binary_members() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SADD", "s", "", "a\r\nb", "\0"], ":3\r\n");
    check(&mut raw, &["SISMEMBER", "s", ""], ":1\r\n");
    check(&mut raw, &["SISMEMBER", "s", "a\r\nb"], ":1\r\n");
    check(&mut raw, &["SREM", "s", "\0"], ":1\r\n");
    let mut con = server.client();
    assert_eq!(members(&mut con, "s"), sorted(&["", "a\r\nb"]));
}

#[test]
fn integer_sets_list_in_numeric_order() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            "SADD",
            "i",
            "100",
            "-5",
            "0",
            "9223372036854775807",
            "-9223372036854775808",
            "42",
        ],
        ":6\r\n",
    );
    let ordered = bulks(&[
        "-9223372036854775808",
        "-5",
        "0",
        "42",
        "100",
        "9223372036854775807",
    ]);
    check(&mut raw, &["SMEMBERS", "i"], &ordered);
    check(&mut raw, &["SRANDMEMBER", "i", "6"], &ordered);
    check(&mut raw, &["SRANDMEMBER", "i", "1000"], &ordered);
    check(&mut raw, &["SADD", "j", "3", "1", "2"], ":3\r\n");
    check(&mut raw, &["SADD", "k", "2", "3", "4"], ":3\r\n");
    check(&mut raw, &["SINTER", "k", "j"], &bulks(&["2", "3"]));
    check(
        &mut raw,
        &["SUNION", "k", "j"],
        &bulks(&["1", "2", "3", "4"]),
    );
    check(&mut raw, &["SDIFF", "k", "j"], &bulks(&["4"]));
    // "007" and "+1" are not integers to an intset, so such sets have no numeric order; their
    // members still all come back.
    let mut con = server.client();
    let _: i64 = query(&mut con, &["SADD", "m", "10", "007", "+1", "3"]);
    assert_eq!(members(&mut con, "m"), sorted(&["10", "007", "+1", "3"]));
}

#[test]
fn wrong_type_is_refused_by_every_command() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SET", "str", "x"], "+OK\r\n");
    check(&mut raw, &["SADD", "s", "1"], ":1\r\n");
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "0"],
        &["SSCAN", "str", "0"],
        &["SMOVE", "str", "s", "1"],
        &["SMOVE", "s", "str", "1"],
        &["SINTER", "s", "str"],
        &["SINTER", "nokey", "str"],
        &["SUNION", "nokey", "str"],
        &["SDIFF", "nokey", "str"],
        &["SDIFF", "str", "nokey"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SINTERSTORE", "d", "nokey", "str"],
        &["SUNIONSTORE", "d", "s", "str"],
        &["SDIFFSTORE", "d", "str", "s"],
    ] {
        check(&mut raw, args, WRONGTYPE);
    }
    check(&mut raw, &["GET", "str"], &bulk("x"));
    check(&mut raw, &["SMEMBERS", "s"], &bulks(&["1"]));
    check(&mut raw, &["GET", "d"], "$-1\r\n");
    // A missing source makes SMOVE answer 0 before it looks at the destination's type.
    check(&mut raw, &["SMOVE", "nokey", "str", "1"], ":0\r\n");
}

#[test]
fn arity_and_syntax_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (args, name) in [
        (&["SADD", "s"][..], "sadd"),
        (&["SREM", "s"], "srem"),
        (&["SMEMBERS"], "smembers"),
        (&["SISMEMBER", "s"], "sismember"),
        (&["SMISMEMBER", "s"], "smismember"),
        (&["SPOP"], "spop"),
        (&["SRANDMEMBER"], "srandmember"),
        (&["SMOVE", "a", "b"], "smove"),
        (&["SINTER"], "sinter"),
        (&["SINTERSTORE", "d"], "sinterstore"),
        (&["SINTERCARD", "1"], "sintercard"),
        (&["SSCAN", "s"], "sscan"),
    ] {
        check(
            &mut raw,
            args,
            &format!("-ERR wrong number of arguments for '{name}' command\r\n"),
        );
    }
    check(&mut raw, &["SPOP", "s", "1", "2"], "-ERR syntax error\r\n");
    check(
        &mut raw,
        &["SRANDMEMBER", "s", "1", "2"],
        "-ERR syntax error\r\n",
    );
}

#[test]
fn spop_semantics() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SPOP", "nokey"], "$-1\r\n");
    check(&mut raw, &["SPOP", "nokey", "3"], "*0\r\n");
    check(&mut raw, &["SPOP", "nokey", "0"], "*0\r\n");
    let positive = "-ERR value is out of range, must be positive\r\n";
    for bad in ["-1", "abc", "-9223372036854775808", "1.5"] {
        check(&mut raw, &["SPOP", "s", bad], positive);
    }
    check(&mut raw, &["SADD", "s", "3", "1", "2"], ":3\r\n");
    check(&mut raw, &["SPOP", "s", "0"], "*0\r\n");
    check(&mut raw, &["SCARD", "s"], ":3\r\n");
    // A count of at least the size pops everything (listed in intset order) and deletes the key.
    check(
        &mut raw,
        &["SPOP", "s", "9223372036854775807"],
        &bulks(&["1", "2", "3"]),
    );
    check(&mut raw, &["GET", "s"], "$-1\r\n");
    check(&mut raw, &["SADD", "one", "x"], ":1\r\n");
    check(&mut raw, &["SPOP", "one"], &bulk("x"));
    check(&mut raw, &["GET", "one"], "$-1\r\n");

    let mut con = server.client();
    let all: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(all.iter().map(String::as_str));
    let _: i64 = query(&mut con, &args);
    let mut popped: Vec<String> = Vec::new();
    for n in [1, 7, 30, 2] {
        let got: Vec<String> = query(&mut con, &["SPOP", "big", &n.to_string()]);
        assert_eq!(got.len(), n);
        popped.extend(got);
    }
    let single: String = query(&mut con, &["SPOP", "big"]);
    popped.push(single);
    let card: i64 = query(&mut con, &["SCARD", "big"]);
    assert_eq!(card, 100 - 41);
    let rest: Vec<String> = query(&mut con, &["SPOP", "big", "1000"]);
    assert_eq!(rest.len(), 59);
    popped.extend(rest);
    popped.sort();
    let mut expected = all.clone();
    expected.sort();
    // Every member popped exactly once.
    assert_eq!(popped, expected);
    let card: i64 = query(&mut con, &["SCARD", "big"]);
    assert_eq!(card, 0);
}

#[test]
fn srandmember_semantics() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SRANDMEMBER", "nokey"], "$-1\r\n");
    check(&mut raw, &["SRANDMEMBER", "nokey", "5"], "*0\r\n");
    check(&mut raw, &["SRANDMEMBER", "nokey", "-5"], "*0\r\n");
    check(
        &mut raw,
        &["SRANDMEMBER", "s", "-9223372036854775808"],
        "-ERR value is out of range, value must between -9223372036854775807 and \
         9223372036854775807\r\n",
    );
    check(
        &mut raw,
        &["SRANDMEMBER", "s", "abc"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(&mut raw, &["SADD", "s", "a"], ":1\r\n");
    check(&mut raw, &["SRANDMEMBER", "s"], &bulk("a"));
    check(&mut raw, &["SRANDMEMBER", "s", "0"], "*0\r\n");
    check(
        &mut raw,
        &["SRANDMEMBER", "s", "-3"],
        &bulks(&["a", "a", "a"]),
    );
    check(
        &mut raw,
        &["SRANDMEMBER", "s", "9223372036854775807"],
        &bulks(&["a"]),
    );
    // Reading does not remove.
    check(&mut raw, &["SCARD", "s"], ":1\r\n");
}

#[test]
fn random_pick_distributions() {
    let server = TestServer::start();
    let mut con = server.client();
    let all: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(all.iter().map(String::as_str));
    let _: i64 = query(&mut con, &args);
    let all: HashSet<String> = all.into_iter().collect();

    // Negative count: that many picks, repeats allowed, every member roughly equally often.
    let picks: Vec<String> = query(&mut con, &["SRANDMEMBER", "s", "-10000"]);
    assert_eq!(picks.len(), 10_000);
    assert_even_spread(&picks, &all);

    // Positive count: distinct members, and over many calls each of them.
    let mut seen = HashSet::new();
    for count in [2, 5, 9] {
        for _ in 0..100 {
            let picks: Vec<String> = query(&mut con, &["SRANDMEMBER", "s", &count.to_string()]);
            assert_eq!(picks.len(), count);
            let distinct: HashSet<&String> = picks.iter().collect();
            assert_eq!(distinct.len(), count, "{picks:?}");
            assert!(picks.iter().all(|p| all.contains(p)));
            seen.extend(picks);
        }
    }
    assert_eq!(seen, all);

    // SPOP of one member from a fresh copy, many times: every member gets popped sometimes.
    let mut popped = HashSet::new();
    for _ in 0..300 {
        let _: i64 = query(&mut con, &["SUNIONSTORE", "copy", "s"]);
        let p: String = query(&mut con, &["SPOP", "copy"]);
        popped.insert(p);
    }
    assert_eq!(popped, all);
}

#[test]
fn smove_semantics() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SADD", "a", "1", "2", "3"], ":3\r\n");
    check(&mut raw, &["SADD", "b", "3", "4"], ":2\r\n");
    check(&mut raw, &["SMOVE", "a", "a", "1"], ":1\r\n");
    check(&mut raw, &["SMOVE", "a", "a", "9"], ":0\r\n");
    check(&mut raw, &["SMOVE", "nokey", "b", "1"], ":0\r\n");
    check(&mut raw, &["SMOVE", "a", "b", "9"], ":0\r\n");
    check(&mut raw, &["SMOVE", "a", "b", "1"], ":1\r\n");
    // Already in the destination: still moved out of the source.
    check(&mut raw, &["SMOVE", "a", "b", "3"], ":1\r\n");
    check(&mut raw, &["SMEMBERS", "a"], &bulks(&["2"]));
    check(&mut raw, &["SMEMBERS", "b"], &bulks(&["1", "3", "4"]));
    check(&mut raw, &["SMOVE", "a", "fresh", "2"], ":1\r\n");
    check(&mut raw, &["GET", "a"], "$-1\r\n");
    check(&mut raw, &["SMEMBERS", "fresh"], &bulks(&["2"]));
}

#[test]
fn sinter_sunion_sdiff() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: i64 = query(&mut con, &["SADD", "a", "x", "y", "z", "w"]);
    let _: i64 = query(&mut con, &["SADD", "b", "y", "z", "v"]);
    let _: i64 = query(&mut con, &["SADD", "c", "z", "v", "u"]);
    let mut run = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = query(&mut con, args);
        v.sort();
        v
    };
    assert_eq!(run(&["SINTER", "a"]), sorted(&["w", "x", "y", "z"]));
    assert_eq!(run(&["SINTER", "a", "b"]), sorted(&["y", "z"]));
    assert_eq!(run(&["SINTER", "a", "b", "c"]), sorted(&["z"]));
    assert_eq!(run(&["SINTER", "a", "a"]), sorted(&["w", "x", "y", "z"]));
    assert!(run(&["SINTER", "a", "nokey"]).is_empty());
    assert_eq!(
        run(&["SUNION", "a", "b", "c", "nokey"]),
        sorted(&["u", "v", "w", "x", "y", "z"])
    );
    assert!(run(&["SUNION", "nokey"]).is_empty());
    assert_eq!(run(&["SDIFF", "a", "b"]), sorted(&["w", "x"]));
    assert_eq!(run(&["SDIFF", "a", "b", "c"]), sorted(&["w", "x"]));
    assert_eq!(run(&["SDIFF", "a", "nokey"]), sorted(&["w", "x", "y", "z"]));
    assert!(run(&["SDIFF", "nokey", "a"]).is_empty());
    assert!(run(&["SDIFF", "a", "a"]).is_empty());
    assert!(run(&["SDIFF", "a", "b", "a"]).is_empty());
}

#[test]
fn store_forms_overwrite_or_delete_the_destination() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SADD", "a", "1", "2", "3", "4"], ":4\r\n");
    check(&mut raw, &["SADD", "b", "3", "4", "5"], ":3\r\n");
    check(&mut raw, &["SINTERSTORE", "d", "a", "b"], ":2\r\n");
    check(&mut raw, &["SMEMBERS", "d"], &bulks(&["3", "4"]));
    // Whatever the destination held is replaced.
    check(&mut raw, &["SET", "d", "string"], "+OK\r\n");
    check(&mut raw, &["SUNIONSTORE", "d", "a", "b"], ":5\r\n");
    check(
        &mut raw,
        &["SMEMBERS", "d"],
        &bulks(&["1", "2", "3", "4", "5"]),
    );
    check(&mut raw, &["HSET", "d", "f", "v"], WRONGTYPE);
    check(&mut raw, &["SDIFFSTORE", "d", "a", "b"], ":2\r\n");
    check(&mut raw, &["SMEMBERS", "d"], &bulks(&["1", "2"]));
    // An empty result deletes the destination, whatever its type.
    check(&mut raw, &["SINTERSTORE", "d", "a", "nokey"], ":0\r\n");
    check(&mut raw, &["GET", "d"], "$-1\r\n");
    check(&mut raw, &["HSET", "d", "f", "v"], ":1\r\n");
    check(&mut raw, &["SDIFFSTORE", "d", "a", "a"], ":0\r\n");
    check(&mut raw, &["GET", "d"], "$-1\r\n");
    check(&mut raw, &["SET", "d", "x"], "+OK\r\n");
    check(&mut raw, &["SUNIONSTORE", "d", "nokey"], ":0\r\n");
    check(&mut raw, &["GET", "d"], "$-1\r\n");
    // A wrong-type source fails before the destination is touched.
    check(&mut raw, &["SET", "d", "keep"], "+OK\r\n");
    check(&mut raw, &["SET", "str", "x"], "+OK\r\n");
    check(&mut raw, &["SINTERSTORE", "d", "a", "str"], WRONGTYPE);
    check(&mut raw, &["SUNIONSTORE", "d", "str"], WRONGTYPE);
    check(&mut raw, &["SDIFFSTORE", "d", "nokey", "str"], WRONGTYPE);
    check(&mut raw, &["GET", "d"], &bulk("keep"));
    // The destination may be one of the sources.
    check(&mut raw, &["SUNIONSTORE", "a", "a", "b"], ":5\r\n");
    check(
        &mut raw,
        &["SMEMBERS", "a"],
        &bulks(&["1", "2", "3", "4", "5"]),
    );
    check(&mut raw, &["SINTERSTORE", "b", "b", "a"], ":3\r\n");
    check(&mut raw, &["SDIFFSTORE", "a", "a", "b"], ":2\r\n");
    check(&mut raw, &["SMEMBERS", "a"], &bulks(&["1", "2"]));
}

#[test]
fn sintercard_arguments_and_limit() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SADD", "a", "1", "2", "3", "4"], ":4\r\n");
    check(&mut raw, &["SADD", "b", "2", "3", "4", "5"], ":4\r\n");
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    for bad in ["0", "-1", "abc", "1.5"] {
        check(&mut raw, &["SINTERCARD", bad, "a"], numkeys);
    }
    let too_many = "-ERR Number of keys can't be greater than number of args\r\n";
    check(&mut raw, &["SINTERCARD", "3", "a", "b"], too_many);
    check(
        &mut raw,
        &["SINTERCARD", "9223372036854775807", "a"],
        too_many,
    );
    let limit = "-ERR LIMIT can't be negative\r\n";
    check(&mut raw, &["SINTERCARD", "1", "a", "LIMIT", "-1"], limit);
    check(&mut raw, &["SINTERCARD", "1", "a", "LIMIT", "abc"], limit);
    let syntax = "-ERR syntax error\r\n";
    check(&mut raw, &["SINTERCARD", "1", "a", "LIMIT"], syntax);
    check(&mut raw, &["SINTERCARD", "1", "a", "foo", "3"], syntax);
    check(&mut raw, &["SINTERCARD", "2", "a", "b"], ":3\r\n");
    check(&mut raw, &["SINTERCARD", "1", "a"], ":4\r\n");
    check(
        &mut raw,
        &["SINTERCARD", "2", "a", "b", "LIMIT", "0"],
        ":3\r\n",
    );
    check(
        &mut raw,
        &["SINTERCARD", "2", "a", "b", "limit", "2"],
        ":2\r\n",
    );
    check(
        &mut raw,
        &["SINTERCARD", "2", "a", "b", "LIMIT", "100"],
        ":3\r\n",
    );
    check(
        &mut raw,
        &["SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "0"],
        ":3\r\n",
    );
    check(&mut raw, &["SINTERCARD", "2", "a", "nokey"], ":0\r\n");
    check(&mut raw, &["SINTERCARD", "1", "nokey"], ":0\r\n");
}

#[test]
fn sscan_of_an_intset_is_one_reply() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SADD", "i", "30", "10", "20", "-1"], ":4\r\n");
    let whole = "*2\r\n$1\r\n0\r\n*4\r\n$2\r\n-1\r\n$2\r\n10\r\n$2\r\n20\r\n$2\r\n30\r\n";
    for cursor in ["0", "123", "", "-1"] {
        check(&mut raw, &["SSCAN", "i", cursor], whole);
        check(&mut raw, &["SSCAN", "i", cursor, "COUNT", "1"], whole);
    }
    check(
        &mut raw,
        &["SSCAN", "i", "0", "MATCH", "*0"],
        "*2\r\n$1\r\n0\r\n*3\r\n$2\r\n10\r\n$2\r\n20\r\n$2\r\n30\r\n",
    );
    check(&mut raw, &["SSCAN", "i", "abc"], "-ERR invalid cursor\r\n");
    check(
        &mut raw,
        &["SSCAN", "nokey", "abc"],
        "-ERR invalid cursor\r\n",
    );
    check(
        &mut raw,
        &["SSCAN", "nokey", "0", "x"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );
    check(
        &mut raw,
        &["SSCAN", "i", "0", "COUNT", "0"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut raw,
        &["SSCAN", "i", "0", "MATCH"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut raw,
        &["SSCAN", "i", "0", "COUNT", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
}

#[test]
fn sscan_walks_a_big_set_with_cursors() {
    let server = TestServer::start();
    let mut con = server.client();
    let all: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(all.iter().map(String::as_str));
    let _: i64 = query(&mut con, &args);
    let walk = |con: &mut redis::Connection, extra: &[&str]| {
        let mut cursor = "0".to_string();
        let mut seen = Vec::new();
        let mut calls = 0;
        loop {
            let mut args = vec!["SSCAN", "s", &cursor];
            args.extend_from_slice(extra);
            let (next, items): (String, Vec<String>) = query(con, &args);
            calls += 1;
            seen.extend(items);
            if next == "0" {
                return (seen, calls);
            }
            cursor = next;
        }
    };
    let (mut seen, calls) = walk(&mut con, &[]);
    assert!(calls >= 100, "{calls}");
    seen.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(seen, expected);
    let (mut seen, _) = walk(&mut con, &["MATCH", "m99?", "COUNT", "100"]);
    seen.sort();
    assert_eq!(
        seen,
        (990..1000).map(|i| format!("m{i}")).collect::<Vec<_>>()
    );

    // More than 512 integers is no longer an intset: walked by cursor as well.
    let ints: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    let mut args = vec!["SADD", "ints"];
    args.extend(ints.iter().map(String::as_str));
    let _: i64 = query(&mut con, &args);
    let (next, items): (String, Vec<String>) = query(&mut con, &["SSCAN", "ints", "0"]);
    assert_ne!(next, "0");
    assert_eq!(items.len(), 10);
}

#[test]
fn sscan_returns_members_present_for_the_whole_scan_despite_changes() {
    let server = TestServer::start();
    let mut con = server.client();
    for i in 0..300 {
        let _: i64 = query(
            &mut con,
            &["SADD", "s", &format!("keep{i}"), &format!("drop{i}")],
        );
    }
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut dropped = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            query(&mut con, &["SSCAN", "s", &cursor, "COUNT", "25"]);
        seen.extend(items);
        for _ in 0..5 {
            if dropped < 300 {
                let _: i64 = query(&mut con, &["SREM", "s", &format!("drop{dropped}")]);
                let _: i64 = query(&mut con, &["SADD", "s", &format!("new{dropped}")]);
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
