//! The non-blocking list commands over a real socket: replies byte for byte and error texts as
//! redis-server 7.0.15 gives them (every expectation here was checked against it).

mod common;

use common::{bulks, check_all, WRONGTYPE};

use common::TestServer;

const NOT_INTEGER: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";

/// The RESP2 encoding of an array of integers.
fn ints(items: &[i64]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        out.push_str(&format!(":{item}\r\n"));
    }
    out
}

#[test]
fn pushes_return_the_new_length_and_keep_order() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check_all(
        &mut raw,
        &[
            (&["RPUSH", "l", "a", "b"], ":2\r\n"),
            (&["LPUSH", "l", "x", "y"], ":4\r\n"),
            (&["LRANGE", "l", "0", "-1"], &bulks(&["y", "x", "a", "b"])),
            (&["rpush", "l", ""], ":5\r\n"),
            (&["LINDEX", "l", "-1"], "$0\r\n\r\n"),
            (&["LLEN", "l"], ":5\r\n"),
            (&["LLEN", "missing"], ":0\r\n"),
            (&["LPUSHX", "missing", "a"], ":0\r\n"),
            (&["RPUSHX", "missing", "a", "b"], ":0\r\n"),
            (&["GET", "missing"], "$-1\r\n"),
            (&["LPUSHX", "l", "h1", "h2"], ":7\r\n"),
            (&["RPUSHX", "l", "t"], ":8\r\n"),
            (
                &["LRANGE", "l", "0", "-1"],
                &bulks(&["h2", "h1", "y", "x", "a", "b", "", "t"]),
            ),
        ],
    );
}

#[test]
fn lrange_and_lindex_follow_redis_index_rules() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["RPUSH", "l", "a", "b", "c", "d", "e", "f"]);
    let all = bulks(&["a", "b", "c", "d", "e", "f"]);
    check_all(
        &mut raw,
        &[
            (&["LRANGE", "l", "1", "2"], &bulks(&["b", "c"])),
            (&["LRANGE", "l", "-2", "-1"], &bulks(&["e", "f"])),
            (&["LRANGE", "l", "-100", "100"], &all),
            (
                &["LRANGE", "l", "-9223372036854775808", "9223372036854775807"],
                &all,
            ),
            (&["LRANGE", "l", "0", "-9223372036854775808"], "*0\r\n"),
            (&["LRANGE", "l", "4", "2"], "*0\r\n"),
            (&["LRANGE", "l", "6", "10"], "*0\r\n"),
            (&["LRANGE", "missing", "0", "-1"], "*0\r\n"),
            (&["LRANGE", "l", "abc", "1"], NOT_INTEGER),
            (&["LRANGE", "missing", "0", "1x"], NOT_INTEGER),
            (&["LINDEX", "l", "0"], "$1\r\na\r\n"),
            (&["LINDEX", "l", "-6"], "$1\r\na\r\n"),
            (&["LINDEX", "l", "-7"], "$-1\r\n"),
            (&["LINDEX", "l", "6"], "$-1\r\n"),
            (&["LINDEX", "l", "-9223372036854775808"], "$-1\r\n"),
            (&["LINDEX", "l", "abc"], NOT_INTEGER),
            // The key is looked up before the index is parsed.
            (&["LINDEX", "missing", "abc"], "$-1\r\n"),
        ],
    );
}

#[test]
fn pops_with_and_without_count() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
    check_all(
        &mut raw,
        &[
            (&["LPOP", "l"], "$1\r\na\r\n"),
            (&["RPOP", "l"], "$1\r\ne\r\n"),
            (&["LPOP", "l", "0"], "*0\r\n"),
            (&["RPOP", "l", "2"], &bulks(&["d", "c"])),
            (&["LPOP", "l", "9223372036854775807"], &bulks(&["b"])),
            // The last pop deleted the key.
            (&["GET", "l"], "$-1\r\n"),
            (&["LPOP", "l"], "$-1\r\n"),
            (&["RPOP", "l"], "$-1\r\n"),
            (&["LPOP", "l", "0"], "*-1\r\n"),
            (&["RPOP", "l", "3"], "*-1\r\n"),
            (
                &["LPOP", "l", "-1"],
                "-ERR value is out of range, must be positive\r\n",
            ),
            (
                &["RPOP", "l", "abc"],
                "-ERR value is out of range, must be positive\r\n",
            ),
            (
                &["LPOP", "l", "1", "2"],
                "-ERR wrong number of arguments for 'lpop' command\r\n",
            ),
            (
                &["RPOP", "l", "1", "2"],
                "-ERR wrong number of arguments for 'rpop' command\r\n",
            ),
        ],
    );
}

#[test]
fn lset_linsert_lrem_ltrim() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["RPUSH", "l", "a", "b", "a", "c", "a"]);
    check_all(
        &mut raw,
        &[
            (&["LSET", "l", "1", "B"], "+OK\r\n"),
            (&["LSET", "l", "-1", "z"], "+OK\r\n"),
            (&["LSET", "l", "5", "x"], "-ERR index out of range\r\n"),
            (&["LSET", "l", "-6", "x"], "-ERR index out of range\r\n"),
            (&["LSET", "l", "abc", "x"], NOT_INTEGER),
            (&["LSET", "missing", "0", "x"], "-ERR no such key\r\n"),
            (&["LSET", "missing", "abc", "x"], "-ERR no such key\r\n"),
            (
                &["LRANGE", "l", "0", "-1"],
                &bulks(&["a", "B", "a", "c", "z"]),
            ),
            (&["LINSERT", "l", "BEFORE", "a", "0"], ":6\r\n"),
            (&["linsert", "l", "after", "c", "d"], ":7\r\n"),
            (&["LINSERT", "l", "AFTER", "nope", "d"], ":-1\r\n"),
            (&["LINSERT", "l", "MIDDLE", "a", "d"], SYNTAX),
            (&["LINSERT", "missing", "BEFORE", "a", "x"], ":0\r\n"),
            (&["LINSERT", "missing", "middle", "a", "x"], SYNTAX),
            (
                &["LRANGE", "l", "0", "-1"],
                &bulks(&["0", "a", "B", "a", "c", "d", "z"]),
            ),
            (&["LREM", "l", "-1", "a"], ":1\r\n"),
            (
                &["LRANGE", "l", "0", "-1"],
                &bulks(&["0", "a", "B", "c", "d", "z"]),
            ),
            (&["LREM", "l", "0", "nope"], ":0\r\n"),
            (&["LREM", "l", "abc", "a"], NOT_INTEGER),
            (&["LREM", "missing", "abc", "a"], NOT_INTEGER),
            (&["LREM", "missing", "0", "a"], ":0\r\n"),
            (&["LTRIM", "l", "1", "-2"], "+OK\r\n"),
            (&["LRANGE", "l", "0", "-1"], &bulks(&["a", "B", "c", "d"])),
            (&["LTRIM", "l", "-100", "100"], "+OK\r\n"),
            (&["LLEN", "l"], ":4\r\n"),
            (&["LTRIM", "l", "abc", "1"], NOT_INTEGER),
            (&["LTRIM", "missing", "0", "1"], "+OK\r\n"),
            (&["LTRIM", "l", "3", "1"], "+OK\r\n"),
            (&["GET", "l"], "$-1\r\n"),
        ],
    );
    // LREM in both directions, and deleting the key when it empties.
    raw.call(&["RPUSH", "r", "x", "y", "x", "y", "x"]);
    check_all(
        &mut raw,
        &[
            (&["LREM", "r", "2", "x"], ":2\r\n"),
            (&["LRANGE", "r", "0", "-1"], &bulks(&["y", "y", "x"])),
            (&["RPUSH", "r", "y"], ":4\r\n"),
            (&["LREM", "r", "-2", "y"], ":2\r\n"),
            (&["LRANGE", "r", "0", "-1"], &bulks(&["y", "x"])),
            (&["LREM", "r", "0", "y"], ":1\r\n"),
            (&["LREM", "r", "-9223372036854775808", "x"], ":1\r\n"),
            (&["GET", "r"], "$-1\r\n"),
        ],
    );
}

#[test]
fn lpos_options_and_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["RPUSH", "l", "a", "b", "c", "a", "b", "c"]);
    check_all(
        &mut raw,
        &[
            (&["LPOS", "l", "a"], ":0\r\n"),
            (&["LPOS", "l", "c"], ":2\r\n"),
            (&["LPOS", "l", "zz"], "$-1\r\n"),
            (&["LPOS", "l", "a", "RANK", "2"], ":3\r\n"),
            (&["LPOS", "l", "a", "RANK", "3"], "$-1\r\n"),
            (&["LPOS", "l", "a", "RANK", "-1"], ":3\r\n"),
            (&["LPOS", "l", "a", "RANK", "-2"], ":0\r\n"),
            (&["LPOS", "l", "a", "COUNT", "0"], &ints(&[0, 3])),
            (&["LPOS", "l", "a", "COUNT", "1"], &ints(&[0])),
            (
                &["LPOS", "l", "a", "RANK", "-1", "COUNT", "0"],
                &ints(&[3, 0]),
            ),
            (&["lpos", "l", "b", "rank", "2", "count", "5"], &ints(&[4])),
            (
                &["LPOS", "l", "a", "RANK", "2", "COUNT", "0", "MAXLEN", "3"],
                "*0\r\n",
            ),
            (&["LPOS", "l", "a", "RANK", "2", "MAXLEN", "3"], "$-1\r\n"),
            (&["LPOS", "l", "c", "MAXLEN", "3"], ":2\r\n"),
            (&["LPOS", "l", "a", "RANK", "-1", "MAXLEN", "2"], "$-1\r\n"),
            (&["LPOS", "l", "zz", "COUNT", "2"], "*0\r\n"),
            // Redis 7.0.15 negates RANK in C: the most negative value keeps every match.
            (
                &["LPOS", "l", "a", "RANK", "-9223372036854775808"],
                ":3\r\n",
            ),
            (
                &[
                    "LPOS",
                    "l",
                    "a",
                    "RANK",
                    "-9223372036854775808",
                    "COUNT",
                    "1",
                ],
                &ints(&[3, 0]),
            ),
            (
                &[
                    "LPOS",
                    "l",
                    "a",
                    "RANK",
                    "-9223372036854775807",
                    "COUNT",
                    "0",
                ],
                "*0\r\n",
            ),
            (
                &["LPOS", "l", "a", "RANK", "9223372036854775807"],
                "$-1\r\n",
            ),
            (
                &["LPOS", "l", "a", "RANK", "0"],
                "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                 second ... or use negative to start from the end of the list\r\n",
            ),
            (&["LPOS", "l", "a", "RANK", "abc"], NOT_INTEGER),
            (
                &["LPOS", "l", "a", "COUNT", "-1"],
                "-ERR COUNT can't be negative\r\n",
            ),
            (
                &["LPOS", "l", "a", "COUNT", "abc"],
                "-ERR COUNT can't be negative\r\n",
            ),
            (
                &["LPOS", "l", "a", "MAXLEN", "-1"],
                "-ERR MAXLEN can't be negative\r\n",
            ),
            (
                &["LPOS", "l", "a", "MAXLEN", "x"],
                "-ERR MAXLEN can't be negative\r\n",
            ),
            (&["LPOS", "l", "a", "FOO"], SYNTAX),
            (&["LPOS", "l", "a", "COUNT"], SYNTAX),
            (&["LPOS", "missing", "a"], "$-1\r\n"),
            (&["LPOS", "missing", "a", "COUNT", "1"], "*0\r\n"),
        ],
    );
    // Options are validated before the key's type is checked.
    raw.call(&["SET", "s", "x"]);
    check_all(
        &mut raw,
        &[
            (&["LPOS", "s", "a"], WRONGTYPE),
            (
                &["LPOS", "s", "a", "MAXLEN", "-1"],
                "-ERR MAXLEN can't be negative\r\n",
            ),
        ],
    );
}

#[test]
fn lmove_and_rpoplpush() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["RPUSH", "src", "a", "b", "c"]);
    raw.call(&["SET", "s", "x"]);
    check_all(
        &mut raw,
        &[
            (&["LMOVE", "src", "dst", "LEFT", "RIGHT"], "$1\r\na\r\n"),
            (&["lmove", "src", "dst", "right", "left"], "$1\r\nc\r\n"),
            (&["LRANGE", "dst", "0", "-1"], &bulks(&["c", "a"])),
            (&["RPOPLPUSH", "src", "dst"], "$1\r\nb\r\n"),
            (&["GET", "src"], "$-1\r\n"),
            (&["LRANGE", "dst", "0", "-1"], &bulks(&["b", "c", "a"])),
            (&["LMOVE", "src", "dst", "LEFT", "LEFT"], "$-1\r\n"),
            (&["RPOPLPUSH", "src", "dst"], "$-1\r\n"),
            // Rotation within one list.
            (&["RPOPLPUSH", "dst", "dst"], "$1\r\na\r\n"),
            (&["LMOVE", "dst", "dst", "LEFT", "RIGHT"], "$1\r\na\r\n"),
            (&["LRANGE", "dst", "0", "-1"], &bulks(&["b", "c", "a"])),
            (&["RPUSH", "one", "x"], ":1\r\n"),
            (&["LMOVE", "one", "one", "RIGHT", "LEFT"], "$1\r\nx\r\n"),
            (&["LRANGE", "one", "0", "-1"], &bulks(&["x"])),
            // Errors: direction words, then types.
            (&["LMOVE", "dst", "x", "FOO", "LEFT"], SYNTAX),
            (&["LMOVE", "dst", "x", "LEFT", "UP"], SYNTAX),
            (&["LMOVE", "missing", "x", "FOO", "LEFT"], SYNTAX),
            (&["LMOVE", "dst", "s", "LEFT", "LEFT"], WRONGTYPE),
            (&["LMOVE", "s", "dst", "LEFT", "LEFT"], WRONGTYPE),
            (&["RPOPLPUSH", "dst", "s"], WRONGTYPE),
            // A missing source wins over a wrong-type destination.
            (&["LMOVE", "missing", "s", "LEFT", "LEFT"], "$-1\r\n"),
            (&["LRANGE", "dst", "0", "-1"], &bulks(&["b", "c", "a"])),
        ],
    );
}

#[test]
fn lmpop_replies_and_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["RPUSH", "l", "a", "b", "c"]);
    raw.call(&["SET", "s", "x"]);
    check_all(
        &mut raw,
        &[
            (
                &["LMPOP", "2", "missing", "l", "RIGHT", "COUNT", "2"],
                "*2\r\n$1\r\nl\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n",
            ),
            (
                &["LMPOP", "1", "l", "left"],
                "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n",
            ),
            (&["LMPOP", "1", "l", "LEFT"], "*-1\r\n"),
            (&["LMPOP", "2", "missing", "s", "LEFT"], WRONGTYPE),
            (
                &["LMPOP", "0", "l", "LEFT"],
                "-ERR numkeys should be greater than 0\r\n",
            ),
            (
                &["LMPOP", "-1", "l", "LEFT"],
                "-ERR numkeys should be greater than 0\r\n",
            ),
            (
                &["LMPOP", "abc", "l", "LEFT"],
                "-ERR numkeys should be greater than 0\r\n",
            ),
            (&["LMPOP", "2", "l", "LEFT"], SYNTAX),
            (&["LMPOP", "9223372036854775807", "l", "LEFT"], SYNTAX),
            (&["LMPOP", "1", "l", "MIDDLE"], SYNTAX),
            (&["LMPOP", "1", "l", "LEFT", "FOO"], SYNTAX),
            (&["LMPOP", "1", "l", "LEFT", "COUNT"], SYNTAX),
            (
                &["LMPOP", "1", "l", "LEFT", "COUNT", "2", "COUNT", "2"],
                SYNTAX,
            ),
            (
                &["LMPOP", "1", "l", "LEFT", "COUNT", "0"],
                "-ERR count should be greater than 0\r\n",
            ),
            (
                &["LMPOP", "1", "l", "LEFT", "COUNT", "abc"],
                "-ERR count should be greater than 0\r\n",
            ),
            (
                &["LMPOP", "1", "l"],
                "-ERR wrong number of arguments for 'lmpop' command\r\n",
            ),
        ],
    );
    // The whole list, when COUNT exceeds it, deletes the key.
    raw.call(&["RPUSH", "m", "1", "2"]);
    assert_eq!(
        raw.call(&["LMPOP", "1", "m", "LEFT", "COUNT", "10"]),
        "*2\r\n$1\r\nm\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    assert_eq!(raw.call(&["GET", "m"]), "$-1\r\n");
}

#[test]
fn every_list_command_rejects_other_types() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["SET", "s", "x"]);
    let cases: &[&[&str]] = &[
        &["LPUSH", "s", "a"],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "0"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "d", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "d"],
        &["LMPOP", "1", "s", "LEFT"],
    ];
    for args in cases {
        assert_eq!(raw.call(args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(raw.call(&["GET", "s"]), "$1\r\nx\r\n");
}

#[test]
fn arity_errors_use_lower_case_names() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let cases: &[(&[&str], &str)] = &[
        (&["LPUSH", "k"], "lpush"),
        (&["RPUSHX", "k"], "rpushx"),
        (&["LPOP"], "lpop"),
        (&["LLEN"], "llen"),
        (&["LRANGE", "k", "0"], "lrange"),
        (&["LINDEX", "k"], "lindex"),
        (&["LSET", "k", "0"], "lset"),
        (&["LINSERT", "k", "BEFORE", "a"], "linsert"),
        (&["LREM", "k", "0"], "lrem"),
        (&["LTRIM", "k", "0"], "ltrim"),
        (&["LPOS", "k"], "lpos"),
        (&["LMOVE", "a", "b", "LEFT"], "lmove"),
        (&["RPOPLPUSH", "a"], "rpoplpush"),
        (&["BLPOP", "k"], "blpop"),
        (&["BRPOP", "k"], "brpop"),
        (&["BLMOVE", "a", "b", "LEFT", "LEFT"], "blmove"),
        (&["BRPOPLPUSH", "a", "b"], "brpoplpush"),
        (&["BLMPOP", "0", "1", "k"], "blmpop"),
    ];
    for (args, name) in cases {
        assert_eq!(
            raw.call(args),
            format!("-ERR wrong number of arguments for '{name}' command\r\n"),
            "{args:?}"
        );
    }
}

#[test]
fn works_through_the_redis_crate() {
    let server = TestServer::start();
    let mut con = server.client();
    let len: i64 = redis::cmd("RPUSH")
        .arg("l")
        .arg(&["1", "2", "3", "4"])
        .query(&mut con)
        .expect("rpush");
    assert_eq!(len, 4);
    let range: Vec<String> = redis::cmd("LRANGE")
        .arg("l")
        .arg(1)
        .arg(-1)
        .query(&mut con)
        .expect("lrange");
    assert_eq!(range, ["2", "3", "4"]);
    let popped: Option<Vec<String>> = redis::cmd("LPOP")
        .arg("l")
        .arg(2)
        .query(&mut con)
        .expect("lpop");
    assert_eq!(popped, Some(vec!["1".to_string(), "2".to_string()]));
    let none: Option<Vec<String>> = redis::cmd("LPOP")
        .arg("nope")
        .arg(2)
        .query(&mut con)
        .expect("lpop missing");
    assert_eq!(none, None);
    let pos: Option<i64> = redis::cmd("LPOS")
        .arg("l")
        .arg("4")
        .query(&mut con)
        .expect("lpos");
    assert_eq!(pos, Some(1));
    let moved: Option<String> = redis::cmd("LMOVE")
        .arg("l")
        .arg("other")
        .arg("LEFT")
        .arg("LEFT")
        .query(&mut con)
        .expect("lmove");
    assert_eq!(moved.as_deref(), Some("3"));
    let mpop: Option<(String, Vec<String>)> = redis::cmd("LMPOP")
        .arg(2)
        .arg("l")
        .arg("other")
        .arg("RIGHT")
        .query(&mut con)
        .expect("lmpop");
    assert_eq!(mpop, Some(("l".to_string(), vec!["4".to_string()])));
    let err = redis::cmd("LSET")
        .arg("nope")
        .arg(0)
        .arg("x")
        .query::<()>(&mut con)
        .expect_err("no such key");
    assert_eq!(err.code(), Some("ERR"));
    assert!(err.to_string().contains("no such key"), "{err}");
}
