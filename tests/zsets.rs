//! Sorted sets over a real socket: every Z* command's replies and errors byte for byte against
//! what Redis 7.0.15 answers (checked with redis-server), blocking pops, and the `redis` crate.

mod common;

use common::{bulk, bulks, WRONGTYPE};

use std::thread;
use std::time::{Duration, Instant};

use common::{Raw, TestServer};

/// Sends a command given as one space-separated line (no argument contains a space).
fn call(raw: &mut Raw, line: &str) -> String {
    let args: Vec<&str> = line.split(' ').collect();
    raw.call(&args)
}

/// Asserts a series of `command => reply` pairs on one connection.
fn check(raw: &mut Raw, cases: &[(&str, &str)]) {
    for (line, want) in cases {
        assert_eq!(call(raw, line), *want, "{line}");
    }
}

/// The key no longer exists: GET answers nil instead of WRONGTYPE.
fn assert_gone(raw: &mut Raw, key: &str) {
    assert_eq!(
        raw.call(&["GET", key]),
        "$-1\r\n",
        "{key} should be deleted"
    );
}

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const RANGE_NOT_FLOAT: &str = "-ERR min or max is not a float\r\n";
const RANGE_NOT_LEX: &str = "-ERR min or max not valid string range item\r\n";

#[test]
fn zadd_options_and_their_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
            ("ZADD z 1 a", ":0\r\n"),
            (
                "ZADD z XX NX 1 a",
                "-ERR XX and NX options at the same time are not compatible\r\n",
            ),
            (
                "ZADD z GT LT 1 a",
                "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
            ),
            (
                "ZADD z NX GT 1 a",
                "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
            ),
            (
                "ZADD z INCR 1 a 2 b",
                "-ERR INCR option supports a single increment-element pair\r\n",
            ),
            (
                "ZADD z 1",
                "-ERR wrong number of arguments for 'zadd' command\r\n",
            ),
            ("ZADD z 1 a 2", SYNTAX),
            // Options come first: a later NX is a member name, so the pairs are odd.
            ("ZADD z 1 a nx 2 b", SYNTAX),
            ("ZADD z abc a", NOT_FLOAT),
            ("ZADD z nan a", NOT_FLOAT),
            // A bad score anywhere means nothing is added.
            ("ZADD z 5 new abc x", NOT_FLOAT),
            ("ZSCORE z new", "$-1\r\n"),
            ("ZADD z XX GT 0 a", ":0\r\n"),
            ("ZADD z GT CH 0 a 5 b 9 x", ":2\r\n"),
            ("ZADD z LT CH 0 a 5 b", ":1\r\n"),
            ("ZADD z CH 0 a 5 b", ":0\r\n"),
            ("ZADD z NX CH 7 a 8 y", ":1\r\n"),
            ("ZADD z XX CH 7 a 8 z", ":1\r\n"),
            ("ZADD z xx ch 7 a", ":0\r\n"),
            (
                "ZRANGE z 0 -1 WITHSCORES",
                &bulks(&["c", "3", "b", "5", "a", "7", "y", "8", "x", "9"]),
            ),
            ("ZADD missing XX 1 a", ":0\r\n"),
            ("ZADD missing XX INCR 1 a", "$-1\r\n"),
            ("ZCARD missing", ":0\r\n"),
        ],
    );
}

#[test]
fn scores_are_formatted_with_17_digits() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD z 1.1 a 2 b -inf c +inf d 0x10 hex 1e20 big", ":6\r\n"),
            ("ZSCORE z a", &bulk("1.1000000000000001")),
            ("ZSCORE z hex", &bulk("16")),
            ("ZSCORE z big", &bulk("1e+20")),
            ("ZSCORE z c", &bulk("-inf")),
            ("ZSCORE z d", &bulk("inf")),
            ("ZSCORE z nope", "$-1\r\n"),
            ("ZSCORE nokey a", "$-1\r\n"),
            (
                "ZMSCORE z a nope d",
                &format!("*3\r\n{}$-1\r\n{}", bulk("1.1000000000000001"), bulk("inf")),
            ),
            ("ZMSCORE nokey a b", "*2\r\n$-1\r\n$-1\r\n"),
            (
                "ZRANGE z 0 -1 WITHSCORES",
                &bulks(&[
                    "c",
                    "-inf",
                    "a",
                    "1.1000000000000001",
                    "b",
                    "2",
                    "hex",
                    "16",
                    "big",
                    "1e+20",
                    "d",
                    "inf",
                ]),
            ),
        ],
    );
}

#[test]
fn negative_zero_follows_the_encoding() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // A small set is a listpack in Redis, which stores -0 as 0 ...
    check(
        &mut raw,
        &[
            ("ZADD small -0 x", ":1\r\n"),
            ("ZSCORE small x", &bulk("0")),
            // ... although the reply of the increment itself is computed before storing.
            ("ZINCRBY small -0 y", &bulk("-0")),
            ("ZSCORE small y", &bulk("0")),
            (
                "ZUNION 1 small WEIGHTS -1 WITHSCORES",
                &bulks(&["x", "-0", "y", "-0"]),
            ),
            ("ZUNIONSTORE u 1 small WEIGHTS -1", ":2\r\n"),
            ("ZRANGE u 0 -1 WITHSCORES", &bulks(&["x", "0", "y", "0"])),
        ],
    );
    // ... while a big one is a skip list and keeps the sign.
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..200 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(raw.call(&args), ":200\r\n");
    check(
        &mut raw,
        &[
            ("ZADD big -0 x", ":1\r\n"),
            ("ZSCORE big x", &bulk("-0")),
            ("ZADD big 0 x", ":0\r\n"),
            ("ZSCORE big x", &bulk("-0")),
        ],
    );
}

#[test]
fn incr_zincrby_and_nan() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZINCRBY z 1.5 a", &bulk("1.5")),
            ("ZINCRBY z 0.1 a", &bulk("1.6000000000000001")),
            ("ZADD z INCR 1 a", &bulk("2.6000000000000001")),
            ("ZADD z NX INCR 1 a", "$-1\r\n"),
            ("ZADD z XX INCR 1 nope", "$-1\r\n"),
            ("ZADD z GT INCR -1 a", "$-1\r\n"),
            ("ZADD z LT INCR -1 a", &bulk("1.6000000000000001")),
            ("ZADD s INCR +inf a", &bulk("inf")),
            ("ZADD s INCR +inf a", &bulk("inf")),
            (
                "ZADD s INCR -inf a",
                "-ERR resulting score is not a number (NaN)\r\n",
            ),
            (
                "ZINCRBY s -inf a",
                "-ERR resulting score is not a number (NaN)\r\n",
            ),
            ("ZSCORE s a", &bulk("inf")),
            ("ZINCRBY s abc a", NOT_FLOAT),
            (
                "ZINCRBY s 1",
                "-ERR wrong number of arguments for 'zincrby' command\r\n",
            ),
            ("ZADD z 1e308 big", ":1\r\n"),
            ("ZINCRBY z 1e308 big", &bulk("inf")),
        ],
    );
}

#[test]
fn ranges_by_index() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD r 1 a 2 b 3 c 4 d 5 e", ":5\r\n"),
            ("ZRANGE r 1 3", &bulks(&["b", "c", "d"])),
            ("ZRANGE r -2 -1 WITHSCORES", &bulks(&["d", "4", "e", "5"])),
            ("ZRANGE r 3 1", "*0\r\n"),
            ("ZRANGE r -100 100", &bulks(&["a", "b", "c", "d", "e"])),
            ("ZRANGE r 5 10", "*0\r\n"),
            ("ZRANGE r 0 -6", "*0\r\n"),
            ("ZRANGE r 0 -5", &bulks(&["a"])),
            (
                "ZRANGE r -9223372036854775808 9223372036854775807",
                &bulks(&["a", "b", "c", "d", "e"]),
            ),
            ("ZRANGE r 1 3 REV", &bulks(&["d", "c", "b"])),
            ("ZREVRANGE r 0 1 WITHSCORES", &bulks(&["e", "5", "d", "4"])),
            ("ZRANGE r 0 abc", NOT_INT),
            ("ZRANGE nokey 0 1", "*0\r\n"),
            ("ZRANGE nokey a b", NOT_INT),
            (
                "ZRANGE r 0 1 LIMIT 0 1",
                "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n",
            ),
            (
                "ZREVRANGE r 0 1 LIMIT 0 1",
                "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n",
            ),
            // Redis compares the count with -1, so this LIMIT slips through.
            ("ZREVRANGE r 0 1 LIMIT 3 -1", &bulks(&["e", "d"])),
            ("ZRANGE r 0 1 REV REV", SYNTAX),
            ("ZRANGE r 0 1 BYSCORE BYLEX", SYNTAX),
            ("ZRANGE r 0 1 FOO", SYNTAX),
            ("ZRANGE r -inf inf BYSCORE LIMIT 0", SYNTAX),
            ("ZRANGE r -inf inf BYSCORE LIMIT 0 abc", NOT_INT),
            ("ZRANGE r 0 -1 WITHSCORES WITHSCORES", &bulks(&[
                "a", "1", "b", "2", "c", "3", "d", "4", "e", "5",
            ])),
            ("ZRANK r c", ":2\r\n"),
            ("ZREVRANK r c", ":2\r\n"),
            ("ZRANK r a", ":0\r\n"),
            ("ZREVRANK r a", ":4\r\n"),
            ("ZRANK r x", "$-1\r\n"),
            ("ZRANK nokey x", "$-1\r\n"),
            ("ZCARD r", ":5\r\n"),
        ],
    );
}

#[test]
fn ranges_by_score() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD r -inf n 1 a 2 b 3 c 4 d 5 e +inf p", ":7\r\n"),
            ("ZRANGE r (1 4 BYSCORE", &bulks(&["b", "c", "d"])),
            ("ZRANGE r 4 (1 BYSCORE REV", &bulks(&["d", "c", "b"])),
            ("ZRANGE r 4 (1 BYSCORE REV LIMIT 1 1", &bulks(&["c"])),
            (
                "ZRANGEBYSCORE r -inf +inf",
                &bulks(&["n", "a", "b", "c", "d", "e", "p"]),
            ),
            (
                "ZRANGEBYSCORE r -inf -inf WITHSCORES",
                &bulks(&["n", "-inf"]),
            ),
            (
                "ZRANGEBYSCORE r (-inf (+inf",
                &bulks(&["a", "b", "c", "d", "e"]),
            ),
            ("ZRANGEBYSCORE r 1e999 inf", &bulks(&["p"])),
            // strtod rules: leading blanks, and an empty bound is 0.
            ("ZRANGEBYSCORE r \t2 (3", &bulks(&["b"])),
            ("ZRANGEBYSCORE r ( 2", &bulks(&["a", "b"])),
            ("ZRANGEBYSCORE r -inf +inf LIMIT 1 2", &bulks(&["a", "b"])),
            // A negative offset selects nothing; a negative count means all the rest.
            ("ZRANGEBYSCORE r -inf +inf LIMIT -1 2", "*0\r\n"),
            ("ZRANGEBYSCORE r -inf +inf LIMIT 5 -1", &bulks(&["e", "p"])),
            ("ZRANGEBYSCORE r -inf +inf LIMIT 5 -5", &bulks(&["e", "p"])),
            ("ZRANGEBYSCORE r -inf +inf LIMIT 1 0", "*0\r\n"),
            ("ZRANGEBYSCORE r -inf +inf LIMIT 7 1", "*0\r\n"),
            (
                "ZRANGEBYSCORE r -inf +inf LIMIT 9223372036854775807 1",
                "*0\r\n",
            ),
            (
                "ZREVRANGEBYSCORE r +inf -inf LIMIT 1 2 WITHSCORES",
                &bulks(&["e", "5", "d", "4"]),
            ),
            (
                "ZREVRANGEBYSCORE r (4 (1 WITHSCORES",
                &bulks(&["c", "3", "b", "2"]),
            ),
            ("ZREVRANGEBYSCORE r 1 4", "*0\r\n"),
            ("ZRANGEBYSCORE r 2 2", &bulks(&["b"])),
            ("ZRANGEBYSCORE r (2 2", "*0\r\n"),
            ("ZRANGEBYSCORE r 3 2", "*0\r\n"),
            ("ZRANGEBYSCORE r x 1", RANGE_NOT_FLOAT),
            ("ZRANGEBYSCORE r 1 nan", RANGE_NOT_FLOAT),
            ("ZRANGEBYSCORE r (x 1", RANGE_NOT_FLOAT),
            ("ZRANGEBYSCORE nokey x 1", RANGE_NOT_FLOAT),
            ("ZRANGEBYSCORE r 0 5 REV", SYNTAX),
            ("ZRANGEBYSCORE r 0 5 BYSCORE", SYNTAX),
            ("ZRANGEBYSCORE r 0 5 LIMIT 0 1 LIMIT 1 1", &bulks(&["b"])),
            ("ZCOUNT r -inf +inf", ":7\r\n"),
            ("ZCOUNT r (1 5", ":4\r\n"),
            ("ZCOUNT r (2 (2", ":0\r\n"),
            ("ZCOUNT r 2 2", ":1\r\n"),
            ("ZCOUNT r 5 1", ":0\r\n"),
            ("ZCOUNT r x 1", RANGE_NOT_FLOAT),
            ("ZCOUNT nokey 0 1", ":0\r\n"),
            ("ZCOUNT nokey x 1", RANGE_NOT_FLOAT),
        ],
    );
}

#[test]
fn ranges_by_lex() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD l 0 a 0 b 0 c 0 d 0 e 0 f 0 g", ":7\r\n"),
            ("ZRANGEBYLEX l [b (f", &bulks(&["b", "c", "d", "e"])),
            ("ZRANGEBYLEX l (b [f LIMIT 1 2", &bulks(&["d", "e"])),
            ("ZRANGEBYLEX l - + LIMIT -1 2", "*0\r\n"),
            ("ZRANGEBYLEX l - + LIMIT 5 -1", &bulks(&["f", "g"])),
            ("ZREVRANGEBYLEX l [f (b", &bulks(&["f", "e", "d", "c"])),
            (
                "ZREVRANGEBYLEX l (f [b LIMIT 1 -1",
                &bulks(&["d", "c", "b"]),
            ),
            ("ZREVRANGEBYLEX l + - LIMIT 0 1", &bulks(&["g"])),
            ("ZRANGE l [b [c BYLEX", &bulks(&["b", "c"])),
            ("ZRANGE l + - BYLEX REV LIMIT 0 2", &bulks(&["g", "f"])),
            ("ZRANGEBYLEX l + -", "*0\r\n"),
            ("ZRANGEBYLEX l - -", "*0\r\n"),
            ("ZRANGEBYLEX l [a [a", &bulks(&["a"])),
            ("ZRANGEBYLEX l (a [a", "*0\r\n"),
            ("ZRANGEBYLEX l [ [b", &bulks(&["a", "b"])),
            ("ZRANGEBYLEX l ( [a", &bulks(&["a"])),
            ("ZRANGEBYLEX l a +", RANGE_NOT_LEX),
            ("ZRANGEBYLEX l +a +", RANGE_NOT_LEX),
            ("ZRANGEBYLEX l - -a", RANGE_NOT_LEX),
            (
                "ZRANGEBYLEX l - + WITHSCORES",
                "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
            ),
            (
                "ZRANGE l [a [b BYLEX WITHSCORES",
                "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
            ),
            ("ZLEXCOUNT l - +", ":7\r\n"),
            ("ZLEXCOUNT l [b (f", ":4\r\n"),
            ("ZLEXCOUNT l (a (a", ":0\r\n"),
            ("ZLEXCOUNT l + -", ":0\r\n"),
            ("ZLEXCOUNT l a b", RANGE_NOT_LEX),
            ("ZLEXCOUNT nokey - +", ":0\r\n"),
            ("ZREMRANGEBYLEX l [b [c", ":2\r\n"),
            ("ZRANGE l 0 -1", &bulks(&["a", "d", "e", "f", "g"])),
            ("ZREMRANGEBYLEX l x [c", RANGE_NOT_LEX),
            ("ZREMRANGEBYLEX l - +", ":5\r\n"),
        ],
    );
    assert_gone(&mut raw, "l");
    // A lex range with mixed scores: the first element found must itself be in range.
    check(
        &mut raw,
        &[
            ("ZADD m 1 a 3 c 5 b 9 x", ":4\r\n"),
            ("ZRANGE m (a [b BYLEX", "*0\r\n"),
        ],
    );
}

#[test]
fn zrangestore_stores_or_deletes() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD src 1 a 2 b 3 c", ":3\r\n"),
            ("ZRANGESTORE dst src 0 1", ":2\r\n"),
            ("ZRANGE dst 0 -1 WITHSCORES", &bulks(&["a", "1", "b", "2"])),
            ("ZRANGESTORE dst src +inf (1 BYSCORE REV LIMIT 0 1", ":1\r\n"),
            ("ZRANGE dst 0 -1 WITHSCORES", &bulks(&["c", "3"])),
            ("ZRANGESTORE dst src [b + BYLEX", ":2\r\n"),
            ("ZRANGE dst 0 -1", &bulks(&["b", "c"])),
            ("ZRANGESTORE dst src 0 -1 WITHSCORES", SYNTAX),
            (
                "ZRANGESTORE dst src 0 -1 LIMIT 0 1",
                "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n",
            ),
            ("ZRANGESTORE dst src 5 10", ":0\r\n"),
        ],
    );
    assert_gone(&mut raw, "dst");
    check(
        &mut raw,
        &[
            ("ZRANGESTORE dst nokey 0 -1", ":0\r\n"),
            ("SET str x", "+OK\r\n"),
            ("ZRANGESTORE dst str 0 -1", WRONGTYPE),
            // The destination is replaced whatever it held.
            ("ZRANGESTORE str src 0 0", ":1\r\n"),
            ("ZRANGE str 0 -1", &bulks(&["a"])),
            ("ZRANGESTORE src src 1 1", ":1\r\n"),
            ("ZRANGE src 0 -1 WITHSCORES", &bulks(&["b", "2"])),
        ],
    );
}

#[test]
fn removing_ranges_and_members() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD r 1 a 2 b 3 c 4 d 5 e", ":5\r\n"),
            ("ZREMRANGEBYRANK r -2 -1", ":2\r\n"),
            ("ZRANGE r 0 -1", &bulks(&["a", "b", "c"])),
            ("ZREMRANGEBYRANK r 5 10", ":0\r\n"),
            ("ZREMRANGEBYRANK r 1 0", ":0\r\n"),
            ("ZREMRANGEBYRANK r x 1", NOT_INT),
            ("ZREMRANGEBYSCORE r (1 2", ":1\r\n"),
            ("ZREMRANGEBYSCORE r x 1", RANGE_NOT_FLOAT),
            ("ZREMRANGEBYSCORE nokey 0 1", ":0\r\n"),
            ("ZRANGE r 0 -1 WITHSCORES", &bulks(&["a", "1", "c", "3"])),
            ("ZREMRANGEBYRANK r 0 -1", ":2\r\n"),
        ],
    );
    assert_gone(&mut raw, "r");
    check(
        &mut raw,
        &[
            ("ZADD r 1 a 2 b", ":2\r\n"),
            ("ZREM r a x a", ":1\r\n"),
            ("ZREM nokey a", ":0\r\n"),
            ("ZREM r b", ":1\r\n"),
        ],
    );
    assert_gone(&mut raw, "r");
    check(
        &mut raw,
        &[
            ("ZADD r -inf a +inf b", ":2\r\n"),
            ("ZREMRANGEBYSCORE r -inf +inf", ":2\r\n"),
        ],
    );
    assert_gone(&mut raw, "r");
}

#[test]
fn pops_and_zmpop() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD p 1 a 2 b 3 c 4 d", ":4\r\n"),
            ("ZPOPMIN p", &bulks(&["a", "1"])),
            ("ZPOPMAX p", &bulks(&["d", "4"])),
            ("ZPOPMIN p 0", "*0\r\n"),
            ("ZPOPMIN p 5", &bulks(&["b", "2", "c", "3"])),
            ("ZPOPMIN p", "*0\r\n"),
            ("ZPOPMAX p 2", "*0\r\n"),
            (
                "ZPOPMIN p -1",
                "-ERR value is out of range, must be positive\r\n",
            ),
            (
                "ZPOPMIN p abc",
                "-ERR value is out of range, must be positive\r\n",
            ),
            ("ZPOPMIN p 1 2", SYNTAX),
            ("ZADD p 1 a 2 b 3 c 4 d", ":4\r\n"),
            ("ZPOPMAX p 2", &bulks(&["d", "4", "c", "3"])),
            (
                "ZMPOP 2 nokey p MAX COUNT 1",
                "*2\r\n$1\r\np\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
            (
                "ZMPOP 2 nokey p min count 10",
                "*2\r\n$1\r\np\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
            ),
            ("ZMPOP 1 p MIN", "*-1\r\n"),
            (
                "ZMPOP abc p MIN",
                "-ERR numkeys should be greater than 0\r\n",
            ),
            ("ZMPOP 0 p MIN", "-ERR numkeys should be greater than 0\r\n"),
            ("ZMPOP 5 p MIN", SYNTAX),
            ("ZMPOP 1 p FOO", SYNTAX),
            (
                "ZMPOP 1 p MIN COUNT 0",
                "-ERR count should be greater than 0\r\n",
            ),
            (
                "ZMPOP 1 p MIN COUNT abc",
                "-ERR count should be greater than 0\r\n",
            ),
            ("ZMPOP 1 p MIN COUNT 1 COUNT 2", SYNTAX),
            ("ZMPOP 1 p MIN COUNT", SYNTAX),
            ("ZMPOP 9223372036854775807 p MIN", SYNTAX),
            ("SET str x", "+OK\r\n"),
            ("ZPOPMIN str", WRONGTYPE),
            ("ZMPOP 2 nokey str MIN", WRONGTYPE),
        ],
    );
    assert_gone(&mut raw, "p");
}

#[test]
fn set_operations_with_weights_and_aggregates() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD u1 1 a 2 b 3 c", ":3\r\n"),
            ("ZADD u2 10 b 20 c 30 d", ":3\r\n"),
            (
                "ZUNION 2 u1 u2 WITHSCORES",
                &bulks(&["a", "1", "b", "12", "c", "23", "d", "30"]),
            ),
            ("ZINTER 2 u1 u2 WITHSCORES", &bulks(&["b", "12", "c", "23"])),
            ("ZINTER 2 u1 u2", &bulks(&["b", "c"])),
            ("ZDIFF 2 u1 u2 WITHSCORES", &bulks(&["a", "1"])),
            ("ZDIFF 2 u2 u1 WITHSCORES", &bulks(&["d", "30"])),
            (
                "ZUNION 2 u1 u2 WEIGHTS 2 -1 WITHSCORES",
                &bulks(&["d", "-30", "c", "-14", "b", "-6", "a", "2"]),
            ),
            (
                "ZUNION 2 u1 u2 AGGREGATE MIN WITHSCORES",
                &bulks(&["a", "1", "b", "2", "c", "3", "d", "30"]),
            ),
            (
                "ZUNION 2 u1 u2 AGGREGATE max WITHSCORES",
                &bulks(&["a", "1", "b", "10", "c", "20", "d", "30"]),
            ),
            (
                "ZINTER 2 u1 u2 AGGREGATE MAX WEIGHTS 1 0.5 WITHSCORES",
                &bulks(&["b", "5", "c", "10"]),
            ),
            ("ZINTER 2 u1 u2 WEIGHTS 1", SYNTAX),
            ("ZUNION 2 u1 u2 WEIGHTS 1 2 3", SYNTAX),
            (
                "ZUNION 1 u1 WEIGHTS abc",
                "-ERR weight value is not a float\r\n",
            ),
            ("ZUNION 1 u1 AGGREGATE foo", SYNTAX),
            ("ZUNION 1 u1 WITHSCORES foo", SYNTAX),
            ("ZDIFF 1 u1 WEIGHTS 1", SYNTAX),
            ("ZDIFFSTORE d 1 u1 AGGREGATE SUM", SYNTAX),
            ("ZUNIONSTORE d 1 u1 WITHSCORES", SYNTAX),
            ("ZUNIONSTORE out 2 u1 u2", ":4\r\n"),
            (
                "ZRANGE out 0 -1 WITHSCORES",
                &bulks(&["a", "1", "b", "12", "c", "23", "d", "30"]),
            ),
            ("ZINTERSTORE out 2 u1 u2 WEIGHTS 0 0", ":2\r\n"),
            ("ZRANGE out 0 -1 WITHSCORES", &bulks(&["b", "0", "c", "0"])),
            ("ZDIFFSTORE out 2 u1 u2", ":1\r\n"),
            ("ZRANGE out 0 -1 WITHSCORES", &bulks(&["a", "1"])),
            ("ZINTERSTORE out 2 u1 nokey", ":0\r\n"),
        ],
    );
    assert_gone(&mut raw, "out");
    check(
        &mut raw,
        &[
            ("ZINTERCARD 2 u1 u2", ":2\r\n"),
            ("ZINTERCARD 2 u1 u2 LIMIT 1", ":1\r\n"),
            ("ZINTERCARD 2 u1 u2 LIMIT 0", ":2\r\n"),
            (
                "ZINTERCARD 1 u1 LIMIT -1",
                "-ERR LIMIT can't be negative\r\n",
            ),
            (
                "ZINTERCARD 1 u1 LIMIT abc",
                "-ERR LIMIT can't be negative\r\n",
            ),
            ("ZINTERCARD 1 u1 WITHSCORES", SYNTAX),
            ("ZINTERCARD 2 u1 nokey", ":0\r\n"),
            (
                "ZUNIONSTORE d 0 u1",
                "-ERR at least 1 input key is needed for 'zunionstore' command\r\n",
            ),
            (
                "ZINTERSTORE d -1 u1",
                "-ERR at least 1 input key is needed for 'zinterstore' command\r\n",
            ),
            (
                "ZUNION 0 u1",
                "-ERR at least 1 input key is needed for 'zunion' command\r\n",
            ),
            (
                "ZINTERCARD 0 u1",
                "-ERR at least 1 input key is needed for 'zintercard' command\r\n",
            ),
            ("ZDIFF abc u1", NOT_INT),
            ("ZUNIONSTORE d 2 u1", SYNTAX),
            ("SET str x", "+OK\r\n"),
            ("ZUNIONSTORE d 1 str", WRONGTYPE),
            // The type check comes before the options are read.
            ("ZUNION 2 nokey str WEIGHTS abc", WRONGTYPE),
        ],
    );
}

#[test]
fn infinite_scores_in_set_operations() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD i1 +inf a -inf b 1 c", ":3\r\n"),
            ("ZADD i2 -inf a +inf b 1 c", ":3\r\n"),
            // inf + -inf is taken as 0; inf * 0 too.
            (
                "ZUNION 2 i1 i2 WITHSCORES",
                &bulks(&["a", "0", "b", "0", "c", "2"]),
            ),
            (
                "ZINTER 2 i1 i2 WITHSCORES",
                &bulks(&["a", "0", "b", "0", "c", "2"]),
            ),
            (
                "ZUNION 2 i1 i2 WEIGHTS 0 1 WITHSCORES",
                &bulks(&["a", "-inf", "c", "1", "b", "inf"]),
            ),
            (
                "ZUNION 2 i1 i2 WEIGHTS 0 0 WITHSCORES",
                &bulks(&["a", "0", "b", "0", "c", "0"]),
            ),
            (
                "ZINTER 2 i1 i2 WEIGHTS 0 1 AGGREGATE MIN WITHSCORES",
                &bulks(&["a", "-inf", "b", "0", "c", "0"]),
            ),
            (
                "ZUNION 2 i1 i2 AGGREGATE MIN WITHSCORES",
                &bulks(&["a", "-inf", "b", "-inf", "c", "1"]),
            ),
            ("ZUNIONSTORE i1 2 i1 i2", ":3\r\n"),
            (
                "ZRANGE i1 0 -1 WITHSCORES",
                &bulks(&["a", "0", "b", "0", "c", "2"]),
            ),
        ],
    );
}

#[test]
fn zrandmember_counts_and_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
            ("ZRANDMEMBER nokey", "$-1\r\n"),
            ("ZRANDMEMBER nokey 3", "*0\r\n"),
            ("ZRANDMEMBER nokey abc", NOT_INT),
            ("ZRANDMEMBER z 0", "*0\r\n"),
            // A count of at least the size gives the whole set, highest score first.
            ("ZRANDMEMBER z 5 WITHSCORES", &bulks(&["c", "3", "b", "2", "a", "1"])),
            ("ZRANDMEMBER z 3", &bulks(&["c", "b", "a"])),
            ("ZRANDMEMBER z 1 foo", SYNTAX),
            ("ZRANDMEMBER z 1 WITHSCORES x", SYNTAX),
            (
                "ZRANDMEMBER z -9223372036854775808",
                "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
            ),
            (
                "ZRANDMEMBER z 9223372036854775807 WITHSCORES",
                "-ERR value is out of range\r\n",
            ),
            ("SET str x", "+OK\r\n"),
            ("ZRANDMEMBER str", WRONGTYPE),
            ("ZRANDMEMBER str 1", WRONGTYPE),
        ],
    );
    let one = call(&mut raw, "ZRANDMEMBER z");
    assert!(["a", "b", "c"].iter().any(|m| one == bulk(m)), "{one}");
    // Negative counts repeat members; exactly |count| of them.
    let mut con = server.client();
    let many: Vec<String> = redis::cmd("ZRANDMEMBER")
        .arg("z")
        .arg(-50)
        .query(&mut con)
        .expect("zrandmember");
    assert_eq!(many.len(), 50);
    assert!(many.iter().all(|m| ["a", "b", "c"].contains(&m.as_str())));
    let pairs: Vec<(String, f64)> = redis::cmd("ZRANDMEMBER")
        .arg("z")
        .arg(-7)
        .arg("WITHSCORES")
        .query(&mut con)
        .expect("zrandmember withscores");
    assert_eq!(pairs.len(), 7);
    for (m, s) in pairs {
        assert_eq!(f64::from(m.as_bytes()[0] - b'a' + 1), s);
    }
    // Positive counts below the size are distinct members, from small and big sets alike.
    let mut big = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..300 {
        big.push(i.to_string());
        big.push(format!("m{i}"));
    }
    let _: i64 = redis::cmd(&big[0])
        .arg(&big[1..])
        .query(&mut con)
        .expect("zadd");
    for (key, count) in [("z", 2), ("big", 10), ("big", 250)] {
        let got: Vec<String> = redis::cmd("ZRANDMEMBER")
            .arg(key)
            .arg(count)
            .query(&mut con)
            .expect("zrandmember");
        let distinct: std::collections::HashSet<_> = got.iter().collect();
        assert_eq!(got.len(), count);
        assert_eq!(distinct.len(), count);
    }
}

#[test]
fn zscan_small_and_large() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD z 1.5 a 2 b -inf c", ":3\r\n"),
            (
                "ZSCAN z 0",
                &format!(
                    "*2\r\n$1\r\n0\r\n{}",
                    bulks(&["c", "-inf", "a", "1.5", "b", "2"])
                ),
            ),
            (
                "ZSCAN z 0 MATCH [ab] COUNT 1",
                &format!("*2\r\n$1\r\n0\r\n{}", bulks(&["a", "1.5", "b", "2"])),
            ),
            ("ZSCAN z abc", "-ERR invalid cursor\r\n"),
            ("ZSCAN z 0 COUNT 0", SYNTAX),
            ("ZSCAN z 0 COUNT x", NOT_INT),
            ("ZSCAN z 0 TYPE string", SYNTAX),
            ("ZSCAN z 0 MATCH", SYNTAX),
            ("ZSCAN nokey 0 FOO", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("SET str x", "+OK\r\n"),
            ("ZSCAN str 0", WRONGTYPE),
        ],
    );
    // A large set is walked with a cursor; every member comes back with its score.
    let mut con = server.client();
    let mut cmd = redis::cmd("ZADD");
    cmd.arg("big");
    for i in 0..1000 {
        cmd.arg(i).arg(format!("m{i}"));
    }
    let added: i64 = cmd.query(&mut con).expect("zadd");
    assert_eq!(added, 1000);
    let mut cursor = 0u64;
    let mut seen = std::collections::HashMap::new();
    let mut rounds = 0;
    loop {
        let (next, items): (u64, Vec<(String, f64)>) = redis::cmd("ZSCAN")
            .arg("big")
            .arg(cursor)
            .arg("COUNT")
            .arg(100)
            .query(&mut con)
            .expect("zscan");
        assert!(items.len() <= 100);
        for (m, s) in items {
            seen.insert(m, s);
        }
        rounds += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(rounds >= 10);
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen.get("m500"), Some(&500.0));
    let (_, matched): (u64, Vec<String>) = redis::cmd("ZSCAN")
        .arg("big")
        .arg(0)
        .arg("MATCH")
        .arg("m99*")
        .arg("COUNT")
        .arg(10_000)
        .query(&mut con)
        .expect("zscan match");
    assert_eq!(matched.len(), 2 * 11);
}

#[test]
fn wrong_type_everywhere() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, "SET str x"), "+OK\r\n");
    for line in [
        "ZADD str 1 a",
        "ZADD str XX 1 a",
        "ZINCRBY str 1 a",
        "ZREM str a",
        "ZCARD str",
        "ZSCORE str a",
        "ZMSCORE str a",
        "ZRANK str a",
        "ZREVRANK str a",
        "ZRANGE str 0 -1",
        "ZRANGEBYSCORE str 0 1",
        "ZRANGEBYLEX str - +",
        "ZCOUNT str 0 1",
        "ZLEXCOUNT str - +",
        "ZREMRANGEBYRANK str 0 1",
        "ZREMRANGEBYSCORE str 0 1",
        "ZREMRANGEBYLEX str - +",
        "ZPOPMAX str",
        "BZPOPMIN str 1",
        "BZPOPMIN nokey str 1",
        "BZMPOP 1 1 str MIN",
        "ZINTER 1 str",
        "ZINTERCARD 1 str",
        "ZDIFFSTORE d 1 str",
    ] {
        assert_eq!(call(&mut raw, line), WRONGTYPE, "{line}");
    }
    // Argument errors come before the type check.
    check(
        &mut raw,
        &[
            ("ZADD str abc a", NOT_FLOAT),
            ("ZRANGE str x y BYSCORE", RANGE_NOT_FLOAT),
            ("ZCOUNT str x 1", RANGE_NOT_FLOAT),
            ("ZREMRANGEBYLEX str x 1", RANGE_NOT_LEX),
            (
                "BZPOPMIN str abc",
                "-ERR timeout is not a float or out of range\r\n",
            ),
        ],
    );
}

#[test]
fn blocking_pop_served_at_once() {
    let server = TestServer::start();
    let mut raw = server.raw();
    check(
        &mut raw,
        &[
            ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
            ("BZPOPMIN nokey z 0", &bulks(&["z", "a", "1"])),
            ("BZPOPMAX z 0", &bulks(&["z", "c", "3"])),
            (
                "BZMPOP 0 2 nokey z MIN COUNT 5",
                "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
            (
                "BZPOPMIN z abc",
                "-ERR timeout is not a float or out of range\r\n",
            ),
            ("BZPOPMIN z -1", "-ERR timeout is negative\r\n"),
            ("BZMPOP -1 1 z MIN", "-ERR timeout is negative\r\n"),
            // BZMPOP checks numkeys, MIN|MAX and COUNT before the timeout.
            (
                "BZMPOP abc abc z MIN",
                "-ERR numkeys should be greater than 0\r\n",
            ),
            ("BZMPOP abc 1 z FOO", SYNTAX),
            (
                "BZMPOP abc 1 z MIN",
                "-ERR timeout is not a float or out of range\r\n",
            ),
            (
                "BZMPOP 0 1 z",
                "-ERR wrong number of arguments for 'bzmpop' command\r\n",
            ),
        ],
    );
    assert_gone(&mut raw, "z");
}

#[test]
fn blocking_pop_times_out_with_a_null_array() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let start = Instant::now();
    assert_eq!(call(&mut raw, "BZPOPMIN nokey 0.1"), "*-1\r\n");
    assert!(start.elapsed() >= Duration::from_millis(90));
    assert_eq!(call(&mut raw, "BZMPOP 0.05 1 nokey MAX"), "*-1\r\n");
    // The connection is usable afterwards.
    assert_eq!(call(&mut raw, "ZCARD nokey"), ":0\r\n");
}

/// Starts `line` on a new connection and gives the server time to block it. Tests where a
/// late start would change the outcome use `start_blocked_surely`, which waits longer.
fn start_blocked(server: &TestServer, line: &str) -> Raw {
    start_blocked_after(server, line, Duration::from_millis(50))
}

/// Like `start_blocked`, with a wait generous enough for a loaded machine.
fn start_blocked_surely(server: &TestServer, line: &str) -> Raw {
    start_blocked_after(server, line, Duration::from_millis(200))
}

fn start_blocked_after(server: &TestServer, line: &str, wait: Duration) -> Raw {
    let mut raw = server.raw();
    let args: Vec<&str> = line.split(' ').collect();
    raw.cmd(&args);
    thread::sleep(wait);
    raw
}

#[test]
fn blocked_pop_is_served_by_a_later_zadd() {
    let server = TestServer::start();
    let mut waiter = start_blocked(&server, "BZPOPMIN k1 k2 0");
    let mut other = server.raw();
    assert_eq!(call(&mut other, "ZADD k2 5 m 6 n"), ":2\r\n");
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply()),
        bulks(&["k2", "m", "5"])
    );
    assert_eq!(call(&mut other, "ZRANGE k2 0 -1"), bulks(&["n"]));
    // ZINCRBY creating the key wakes a BZPOPMAX; BZMPOP replies in its own shape.
    let mut waiter = start_blocked(&server, "BZPOPMAX k3 5");
    assert_eq!(call(&mut other, "ZINCRBY k3 2.5 x"), bulk("2.5"));
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply()),
        bulks(&["k3", "x", "2.5"])
    );
    assert_gone(&mut other, "k3");
    let mut waiter = start_blocked(&server, "BZMPOP 0 1 k4 MAX COUNT 2");
    assert_eq!(call(&mut other, "ZADD k4 1 a 2 b 3 c"), ":3\r\n");
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply()),
        "*2\r\n$2\r\nk4\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(call(&mut other, "ZCARD k4"), ":1\r\n");
}

#[test]
fn blocked_clients_are_served_in_arrival_order() {
    let server = TestServer::start();
    let mut first = start_blocked_surely(&server, "BZPOPMIN q 0");
    let mut second = start_blocked(&server, "BZPOPMIN q 0");
    let mut other = server.raw();
    assert_eq!(call(&mut other, "ZADD q 1 a"), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&first.read_reply()),
        bulks(&["q", "a", "1"])
    );
    assert_eq!(call(&mut other, "ZADD q 2 b"), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&second.read_reply()),
        bulks(&["q", "b", "2"])
    );
}

#[test]
fn a_blocked_pop_skips_a_key_that_changed_type() {
    let server = TestServer::start();
    let mut waiter = start_blocked_surely(&server, "BZPOPMIN k1 k2 0");
    let mut other = server.raw();
    // k1 becomes a string: the waiter keeps waiting instead of failing ...
    assert_eq!(call(&mut other, "SET k1 x"), "+OK\r\n");
    // ... and is served from k2 once it has data.
    assert_eq!(call(&mut other, "ZADD k2 1 a"), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply()),
        bulks(&["k2", "a", "1"])
    );
}

#[test]
fn a_blocked_pop_still_times_out_when_nothing_arrives() {
    let server = TestServer::start();
    let mut waiter = start_blocked(&server, "BZPOPMAX nothing 0.2");
    let mut other = server.raw();
    assert_eq!(call(&mut other, "ZADD unrelated 1 a"), ":1\r\n");
    assert_eq!(waiter.read_reply(), b"*-1\r\n");
    assert_eq!(call(&mut other, "ZCARD unrelated"), ":1\r\n");
}

#[test]
fn the_redis_crate_sees_usual_types() {
    let server = TestServer::start();
    let mut con = server.client();
    let added: i64 = redis::cmd("ZADD")
        .arg("rz")
        .arg(1.5)
        .arg("one")
        .arg(2)
        .arg("two")
        .query(&mut con)
        .expect("zadd");
    assert_eq!(added, 2);
    let with: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg("rz")
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut con)
        .expect("zrange");
    assert_eq!(with, vec![("one".into(), 1.5), ("two".into(), 2.0)]);
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg("rz")
        .arg("two")
        .query(&mut con)
        .expect("zscore");
    assert_eq!(score, Some(2.0));
    let missing: Option<f64> = redis::cmd("ZSCORE")
        .arg("rz")
        .arg("none")
        .query(&mut con)
        .expect("zscore");
    assert_eq!(missing, None);
    let rank: Option<i64> = redis::cmd("ZREVRANK")
        .arg("rz")
        .arg("one")
        .query(&mut con)
        .expect("zrevrank");
    assert_eq!(rank, Some(1));
    let err = redis::cmd("ZADD")
        .arg("rz")
        .arg("x")
        .arg("y")
        .query::<i64>(&mut con)
        .expect_err("not a float");
    assert!(err.to_string().contains("not a valid float"), "{err}");
    let popped: Vec<(String, f64)> = redis::cmd("ZPOPMAX")
        .arg("rz")
        .arg(5)
        .query(&mut con)
        .expect("zpopmax");
    assert_eq!(popped, vec![("two".into(), 2.0), ("one".into(), 1.5)]);
}

#[test]
fn large_sets_answer_rank_queries() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut cmd = redis::cmd("ZADD");
    cmd.arg("big");
    for i in 0..20_000 {
        cmd.arg(i).arg(format!("m{i:05}"));
    }
    let added: i64 = cmd.query(&mut con).expect("zadd");
    assert_eq!(added, 20_000);
    let rank: i64 = redis::cmd("ZRANK")
        .arg("big")
        .arg("m12345")
        .query(&mut con)
        .expect("zrank");
    assert_eq!(rank, 12_345);
    let mid: Vec<String> = redis::cmd("ZRANGE")
        .arg("big")
        .arg(10_000)
        .arg(10_002)
        .query(&mut con)
        .expect("zrange");
    assert_eq!(mid, vec!["m10000", "m10001", "m10002"]);
    let limited: Vec<String> = redis::cmd("ZREVRANGEBYSCORE")
        .arg("big")
        .arg("+inf")
        .arg("-inf")
        .arg("LIMIT")
        .arg(15_000)
        .arg(2)
        .query(&mut con)
        .expect("zrevrangebyscore");
    assert_eq!(limited, vec!["m04999", "m04998"]);
    let removed: i64 = redis::cmd("ZREMRANGEBYRANK")
        .arg("big")
        .arg(100)
        .arg(-101)
        .query(&mut con)
        .expect("zremrangebyrank");
    assert_eq!(removed, 19_800);
    let count: i64 = redis::cmd("ZCOUNT")
        .arg("big")
        .arg("-inf")
        .arg("+inf")
        .query(&mut con)
        .expect("zcount");
    assert_eq!(count, 200);
}
