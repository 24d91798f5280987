//! Hash and set encodings over real sockets, as redis-server 7.0.15 (started without a config
//! file) reports and shows them: the one-way listpack/intset to hashtable conversions, the
//! listing order of a listpack (insertion order, deletions close the gap) and of an intset
//! (numeric), HSCAN/SSCAN answering a compact collection whole, and the encodings of keys built by
//! the STORE commands, SMOVE, SPOP, COPY, RENAME and MOVE. Every expected reply was checked
//! against a real redis-server 7.0.15.

mod common;

use common::{bulk, bulks, check};

use common::{Raw, TestServer};

/// A SCAN-family reply: the cursor and the elements.
fn scan(cursor: &str, items: &[&str]) -> String {
    format!("*2\r\n{}{}", bulk(cursor), bulks(items))
}

/// Checks what OBJECT ENCODING and DEBUG OBJECT say about `key`.
fn encoding(raw: &mut Raw, key: &str, expected: &str) {
    check(raw, &["OBJECT", "ENCODING", key], &bulk(expected));
    let debug = raw.call(&["DEBUG", "OBJECT", key]);
    assert!(
        debug.contains(&format!(" encoding:{expected} ")),
        "{key}: {debug}"
    );
}

/// Runs a command whose arguments are built at run time.
fn call_owned(raw: &mut Raw, args: &[String]) -> String {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    raw.call(&args)
}

/// The elements of a flat RESP2 array of bulk strings (no nesting).
fn elements(reply: &str) -> Vec<String> {
    reply
        .split("\r\n")
        .skip(1)
        .filter(|line| !line.starts_with('$'))
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

fn long(n: usize) -> String {
    "a".repeat(n)
}

#[test]
fn a_listpack_hash_keeps_insertion_order_and_closes_gaps() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"],
        ":4\r\n",
    );
    check(&mut raw, &["HDEL", "h", "b"], ":1\r\n");
    check(&mut raw, &["HSET", "h", "b", "5"], ":1\r\n");
    // An update stays in place.
    check(&mut raw, &["HSET", "h", "a", "9"], ":0\r\n");
    check(
        &mut raw,
        &["HGETALL", "h"],
        &bulks(&["a", "9", "c", "3", "d", "4", "b", "5"]),
    );
    check(&mut raw, &["HKEYS", "h"], &bulks(&["a", "c", "d", "b"]));
    check(&mut raw, &["HVALS", "h"], &bulks(&["9", "3", "4", "5"]));
    encoding(&mut raw, "h", "listpack");
    // HSCAN returns a listpack whole with cursor 0, whatever the cursor and COUNT.
    check(
        &mut raw,
        &["HSCAN", "h", "5", "COUNT", "1"],
        &scan("0", &["a", "9", "c", "3", "d", "4", "b", "5"]),
    );
    check(
        &mut raw,
        &["HSCAN", "h", "0", "MATCH", "[bc]"],
        &scan("0", &["c", "3", "b", "5"]),
    );
    // HRANDFIELD with a count at least the size lists the whole hash in order.
    check(
        &mut raw,
        &["HRANDFIELD", "h", "10"],
        &bulks(&["a", "c", "d", "b"]),
    );
}

#[test]
fn hash_conversion_by_length_is_one_way() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let (l64, l65) = (long(64), long(65));
    check(&mut raw, &["HSET", "h", &l64, &l64], ":1\r\n");
    encoding(&mut raw, "h", "listpack");
    check(&mut raw, &["HSET", "h", "x", &l65], ":1\r\n");
    encoding(&mut raw, "h", "hashtable");
    check(&mut raw, &["HDEL", "h", "x", &l64], ":2\r\n");
    check(&mut raw, &["EXISTS", "h"], ":0\r\n");
    // Emptied and recreated: a fresh listpack.
    check(&mut raw, &["HSET", "h", "a", "1"], ":1\r\n");
    encoding(&mut raw, "h", "listpack");

    // Shrinking back does not convert back.
    check(&mut raw, &["HSET", "w", "f", &l65, "g", "1"], ":2\r\n");
    check(&mut raw, &["HDEL", "w", "f"], ":1\r\n");
    encoding(&mut raw, "w", "hashtable");
    check(&mut raw, &["HSCAN", "w", "0"], &scan("0", &["g", "1"]));

    // A long value replacing an existing field converts too.
    check(&mut raw, &["HSET", "e", "f", "1"], ":1\r\n");
    check(&mut raw, &["HSET", "e", "f", &l65], ":0\r\n");
    encoding(&mut raw, "e", "hashtable");
    // So does a long field name, through any write.
    check(&mut raw, &["HINCRBY", "i", &l65, "1"], ":1\r\n");
    encoding(&mut raw, "i", "hashtable");
    check(&mut raw, &["HINCRBYFLOAT", "j", &l65, "1"], &bulk("1"));
    encoding(&mut raw, "j", "hashtable");
    check(&mut raw, &["HMSET", "k", "a", "1", "b", &l65], "+OK\r\n");
    encoding(&mut raw, "k", "hashtable");

    // HSETNX converts only when it writes.
    check(&mut raw, &["HSET", "n", "f", "1"], ":1\r\n");
    check(&mut raw, &["HSETNX", "n", "f", &l65], ":0\r\n");
    encoding(&mut raw, "n", "listpack");
    check(&mut raw, &["HSETNX", "n", "g", &l65], ":1\r\n");
    encoding(&mut raw, "n", "hashtable");
}

#[test]
fn hincrbyfloat_results_count_towards_the_value_limit() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // 1e64 prints as 64 digits in long double precision, 1e65 as 66.
    check(
        &mut raw,
        &["HINCRBYFLOAT", "a", "f", "1e64"],
        &bulk("9999999999999999999830660035002966504798826279980126578522718208"),
    );
    encoding(&mut raw, "a", "listpack");
    check(
        &mut raw,
        &["HINCRBYFLOAT", "b", "f", "1e65"],
        &bulk("100000000000000000002588343428147544691163120708149751194375421952"),
    );
    encoding(&mut raw, "b", "hashtable");
    // Short results never convert.
    check(&mut raw, &["HSET", "c", "f", "1"], ":1\r\n");
    check(&mut raw, &["HINCRBY", "c", "f", "1"], ":2\r\n");
    encoding(&mut raw, "c", "listpack");
}

#[test]
fn hash_conversion_by_field_count_is_one_way() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // redis-server's built-in hash-max-listpack-entries is 512.
    let mut args = vec!["HSET".to_string(), "h".to_string()];
    for i in 0..512 {
        args.push(format!("f{i}"));
        args.push("v".to_string());
    }
    for key in ["h", "i", "j", "k", "l"] {
        args[1] = key.to_string();
        assert_eq!(call_owned(&mut raw, &args), ":512\r\n");
        encoding(&mut raw, key, "listpack");
    }
    check(&mut raw, &["HSET", "h", "new", "1"], ":1\r\n");
    check(&mut raw, &["HINCRBY", "i", "new", "1"], ":1\r\n");
    check(&mut raw, &["HSETNX", "j", "new", "1"], ":1\r\n");
    check(&mut raw, &["HINCRBYFLOAT", "k", "new", "1"], &bulk("1"));
    check(&mut raw, &["HMSET", "l", "new", "1"], "+OK\r\n");
    for key in ["h", "i", "j", "k", "l"] {
        encoding(&mut raw, key, "hashtable");
    }
    check(&mut raw, &["HDEL", "h", "new", "f0", "f1"], ":3\r\n");
    encoding(&mut raw, "h", "hashtable");
    // A hashtable is scanned by cursor.
    let reply = raw.call(&["HSCAN", "h", "0", "COUNT", "5"]);
    assert!(!reply.starts_with("*2\r\n$1\r\n0\r\n"), "{reply}");
    // Updating an existing field never converts a full listpack.
    args[1] = "m".to_string();
    assert_eq!(call_owned(&mut raw, &args), ":512\r\n");
    check(&mut raw, &["HSET", "m", "f0", "w"], ":0\r\n");
    encoding(&mut raw, "m", "listpack");
}

#[test]
fn small_listpack_samples_come_in_listpack_order() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut args = vec!["HSET".to_string(), "h".to_string()];
    for i in 0..30 {
        args.push(format!("f{i:02}"));
        args.push("v".to_string());
    }
    assert_eq!(call_owned(&mut raw, &args), ":30\r\n");
    // count * 3 <= size: Redis samples the listpack in one pass, in order.
    for _ in 0..20 {
        let picked = elements(&raw.call(&["HRANDFIELD", "h", "10"]));
        assert_eq!(picked.len(), 10);
        let mut sorted = picked.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(picked, sorted);
    }
}

#[test]
fn an_intset_lists_in_numeric_order() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &["SADD", "s", "50", "3", "20", "1", "9", "7", "100", "-4"],
        ":8\r\n",
    );
    encoding(&mut raw, "s", "intset");
    let sorted = ["-4", "1", "3", "7", "9", "20", "50", "100"];
    check(&mut raw, &["SMEMBERS", "s"], &bulks(&sorted));
    check(&mut raw, &["SRANDMEMBER", "s", "8"], &bulks(&sorted));
    check(&mut raw, &["SINTER", "s"], &bulks(&sorted));
    check(
        &mut raw,
        &["SSCAN", "s", "7", "COUNT", "1"],
        &scan("0", &sorted),
    );
    check(
        &mut raw,
        &["SSCAN", "s", "0", "MATCH", "1*"],
        &scan("0", &["1", "100"]),
    );
    check(&mut raw, &["SREM", "s", "3", "50"], ":2\r\n");
    check(&mut raw, &["SADD", "s", "2"], ":1\r\n");
    check(
        &mut raw,
        &["SMEMBERS", "s"],
        &bulks(&["-4", "1", "2", "7", "9", "20", "100"]),
    );
    // Only canonical integers that fit an i64 keep a set an intset.
    for (key, member) in [
        ("a", "-0"),
        ("b", "01"),
        ("c", "+1"),
        ("d", "9223372036854775808"),
        ("e", "x"),
    ] {
        check(&mut raw, &["SADD", key, member], ":1\r\n");
        encoding(&mut raw, key, "hashtable");
    }
    check(&mut raw, &["SADD", "f", "-9223372036854775808"], ":1\r\n");
    encoding(&mut raw, "f", "intset");
}

#[test]
fn set_conversion_is_one_way() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SADD", "s", "3", "1", "2"], ":3\r\n");
    check(&mut raw, &["SADD", "s", "a"], ":1\r\n");
    encoding(&mut raw, "s", "hashtable");
    check(&mut raw, &["SREM", "s", "a"], ":1\r\n");
    encoding(&mut raw, "s", "hashtable");
    // Emptied and recreated: a fresh intset.
    check(&mut raw, &["SREM", "s", "1", "2", "3"], ":3\r\n");
    check(&mut raw, &["SADD", "s", "5"], ":1\r\n");
    encoding(&mut raw, "s", "intset");
    // The first member decides nothing on its own: a later non-integer converts.
    check(&mut raw, &["SADD", "t", "1", "a"], ":2\r\n");
    encoding(&mut raw, "t", "hashtable");

    let mut args = vec!["SADD".to_string(), "big".to_string()];
    args.extend((1..=512).map(|i| i.to_string()));
    assert_eq!(call_owned(&mut raw, &args), ":512\r\n");
    encoding(&mut raw, "big", "intset");
    check(&mut raw, &["SADD", "big", "513"], ":1\r\n");
    encoding(&mut raw, "big", "hashtable");
    check(&mut raw, &["SREM", "big", "1", "2", "3"], ":3\r\n");
    encoding(&mut raw, "big", "hashtable");
    check(&mut raw, &["SCARD", "big"], ":510\r\n");
}

#[test]
fn store_results_start_as_fresh_intsets() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SADD", "a", "5", "3", "x", "1"], ":4\r\n");
    check(&mut raw, &["SADD", "b", "1", "3", "5", "y"], ":4\r\n");
    check(&mut raw, &["SINTERSTORE", "d", "a", "b"], ":3\r\n");
    encoding(&mut raw, "d", "intset");
    check(&mut raw, &["SMEMBERS", "d"], &bulks(&["1", "3", "5"]));
    check(&mut raw, &["SUNIONSTORE", "d", "a"], ":4\r\n");
    encoding(&mut raw, "d", "hashtable");
    // A hashtable holding only integers stores into an intset again.
    check(&mut raw, &["SREM", "a", "x"], ":1\r\n");
    encoding(&mut raw, "a", "hashtable");
    check(&mut raw, &["SUNIONSTORE", "d", "a"], ":3\r\n");
    encoding(&mut raw, "d", "intset");
    check(&mut raw, &["SMEMBERS", "d"], &bulks(&["1", "3", "5"]));
    check(&mut raw, &["SINTERSTORE", "e", "a", "a"], ":3\r\n");
    encoding(&mut raw, "e", "intset");
    check(&mut raw, &["SDIFFSTORE", "f", "b", "a"], ":1\r\n");
    encoding(&mut raw, "f", "hashtable");
    check(&mut raw, &["SADD", "g", "9", "1"], ":2\r\n");
    check(&mut raw, &["SDIFFSTORE", "f", "g", "b"], ":1\r\n");
    encoding(&mut raw, "f", "intset");
    // SUNION and SDIFF list their result as such a fresh set: numeric when all integers.
    check(
        &mut raw,
        &["SUNION", "a", "g"],
        &bulks(&["1", "3", "5", "9"]),
    );
    check(&mut raw, &["SDIFF", "a", "g"], &bulks(&["3", "5"]));
}

#[test]
fn smove_copy_rename_and_move_keep_or_start_encodings() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(&mut raw, &["SADD", "m1", "x", "7"], ":2\r\n");
    check(&mut raw, &["SMOVE", "m1", "m2", "7"], ":1\r\n");
    encoding(&mut raw, "m2", "intset");
    check(&mut raw, &["SMOVE", "m1", "m3", "x"], ":1\r\n");
    encoding(&mut raw, "m3", "hashtable");
    check(&mut raw, &["SADD", "u", "1", "2"], ":2\r\n");
    check(&mut raw, &["SADD", "v", "y", "3"], ":2\r\n");
    check(&mut raw, &["SMOVE", "v", "u", "3"], ":1\r\n");
    encoding(&mut raw, "u", "intset");
    check(&mut raw, &["SMOVE", "v", "u", "y"], ":1\r\n");
    encoding(&mut raw, "u", "hashtable");

    // A hashtable of integers stays one when copied, renamed or moved.
    check(&mut raw, &["SADD", "c1", "1", "x"], ":2\r\n");
    check(&mut raw, &["SREM", "c1", "x"], ":1\r\n");
    check(&mut raw, &["COPY", "c1", "c2"], ":1\r\n");
    encoding(&mut raw, "c2", "hashtable");
    check(&mut raw, &["RENAME", "c2", "c3"], "+OK\r\n");
    encoding(&mut raw, "c3", "hashtable");
    check(&mut raw, &["MOVE", "c3", "1"], ":1\r\n");
    check(&mut raw, &["SELECT", "1"], "+OK\r\n");
    encoding(&mut raw, "c3", "hashtable");
    check(&mut raw, &["SELECT", "0"], "+OK\r\n");

    let l65 = long(65);
    check(&mut raw, &["HSET", "h1", "f", &l65, "g", "1"], ":2\r\n");
    check(&mut raw, &["HDEL", "h1", "f"], ":1\r\n");
    check(&mut raw, &["COPY", "h1", "h2"], ":1\r\n");
    encoding(&mut raw, "h2", "hashtable");
    check(&mut raw, &["RENAME", "h2", "h3"], "+OK\r\n");
    encoding(&mut raw, "h3", "hashtable");
    check(&mut raw, &["MOVE", "h3", "2"], ":1\r\n");
    check(&mut raw, &["SELECT", "2"], "+OK\r\n");
    encoding(&mut raw, "h3", "hashtable");
}

#[test]
fn spop_on_intsets_and_the_set_it_leaves() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let members = [
        "50", "3", "20", "1", "9", "7", "100", "-4", "11", "12", "13",
    ];
    let numeric = |items: &[String]| {
        let mut sorted: Vec<i64> = items.iter().filter_map(|m| m.parse().ok()).collect();
        sorted.sort_unstable();
        let as_text: Vec<String> = sorted.iter().map(i64::to_string).collect();
        as_text == items
    };
    for _ in 0..10 {
        // Few left (remaining * 5 <= count): the popped members come in the intset's order.
        let mut args = vec!["SADD", "i"];
        args.extend(members);
        check(&mut raw, &args, ":11\r\n");
        let popped = elements(&raw.call(&["SPOP", "i", "10"]));
        assert_eq!(popped.len(), 10);
        assert!(numeric(&popped), "{popped:?}");
        encoding(&mut raw, "i", "intset");
        check(&mut raw, &["SCARD", "i"], ":1\r\n");
        check(&mut raw, &["DEL", "i"], ":1\r\n");

        // Few popped: random order, the rest stays a sorted intset.
        check(&mut raw, &args, ":11\r\n");
        assert_eq!(elements(&raw.call(&["SPOP", "i", "3"])).len(), 3);
        encoding(&mut raw, "i", "intset");
        let rest = elements(&raw.call(&["SMEMBERS", "i"]));
        assert_eq!(rest.len(), 8);
        assert!(numeric(&rest), "{rest:?}");
        check(&mut raw, &["DEL", "i"], ":1\r\n");

        // A hashtable of integers: the members kept go to a new set, an intset again.
        let mut args = vec!["SADD", "h", "x"];
        args.extend(members);
        check(&mut raw, &args, ":12\r\n");
        check(&mut raw, &["SREM", "h", "x"], ":1\r\n");
        encoding(&mut raw, "h", "hashtable");
        assert_eq!(elements(&raw.call(&["SPOP", "h", "10"])).len(), 10);
        encoding(&mut raw, "h", "intset");
        check(&mut raw, &["DEL", "h"], ":1\r\n");
    }
    // Popping the whole set lists it through a fresh set: numeric for a hashtable of integers.
    check(&mut raw, &["SADD", "w", "50", "x", "3", "-4"], ":4\r\n");
    check(&mut raw, &["SREM", "w", "x"], ":1\r\n");
    check(&mut raw, &["SPOP", "w", "5"], &bulks(&["-4", "3", "50"]));
    // The set left behind starts afresh from its first kept member.
    check(
        &mut raw,
        &["SADD", "m", "a", "b", "c", "d", "e", "1"],
        ":6\r\n",
    );
    assert_eq!(elements(&raw.call(&["SPOP", "m", "5"])).len(), 5);
    let kept = elements(&raw.call(&["SMEMBERS", "m"]));
    let expected = if kept == ["1"] { "intset" } else { "hashtable" };
    encoding(&mut raw, "m", expected);
}
