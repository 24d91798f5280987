//! The blocking list commands over real sockets: immediate replies, timeouts, FIFO service of
//! several waiters, chains of BLMOVE, disconnects, and exact errors (all checked against
//! redis-server 7.0.15).
//!
//! Knowing that a client is blocked: `block` sends `ECHO` and the blocking command in one write.
//! The server executes every complete request of a read in one go and registers the waiter
//! before it writes any reply, so once the ECHO reply arrives the client is waiting.

mod common;

use common::{bulks, WRONGTYPE};

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use common::{encode, Raw, TestServer};

/// Sends a blocking command and returns once the server has registered the client as waiting.
fn block(raw: &mut Raw, args: &[&str]) {
    let mut bytes = encode(&["ECHO", "waiting"]);
    bytes.extend(encode(args));
    raw.send(&bytes);
    assert_eq!(raw.read_reply(), b"$7\r\nwaiting\r\n");
}

/// Reads the next reply as text.
fn reply(raw: &mut Raw) -> String {
    String::from_utf8_lossy(&raw.read_reply()).into_owned()
}

/// Asserts that nothing arrives on `raw` within `wait`.
fn assert_silent(raw: &mut Raw, wait: Duration) {
    raw.stream.set_read_timeout(Some(wait)).expect("timeout");
    let mut byte = [0u8; 1];
    match raw.stream.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no reply, got {other:?} ({byte:?})"),
    }
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
}

#[test]
fn data_present_means_an_immediate_reply() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["RPUSH", "b", "1", "2", "3"]);
    raw.call(&["RPUSH", "c", "x"]);
    let cases: &[(&[&str], &str)] = &[
        // The first non-empty key in argument order wins.
        (&["BLPOP", "a", "b", "c", "0"], &bulks(&["b", "1"])),
        (&["BRPOP", "a", "c", "b", "0"], &bulks(&["c", "x"])),
        (&["BRPOP", "b", "1"], &bulks(&["b", "3"])),
        (&["LRANGE", "b", "0", "-1"], &bulks(&["2"])),
        (&["RPUSH", "b", "3", "4", "5"], ":4\r\n"),
        (
            &["BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2"],
            "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n5\r\n$1\r\n4\r\n",
        ),
        (&["BLMOVE", "b", "d", "LEFT", "RIGHT", "0"], "$1\r\n2\r\n"),
        (&["BRPOPLPUSH", "b", "d", "0"], "$1\r\n3\r\n"),
        (&["LRANGE", "d", "0", "-1"], &bulks(&["3", "2"])),
        (&["GET", "b"], "$-1\r\n"),
    ];
    for (args, want) in cases {
        assert_eq!(raw.call(args), *want, "{args:?}");
    }
}

#[test]
fn argument_errors_are_exact_and_checked_in_redis_order() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["SET", "s", "x"]);
    raw.call(&["RPUSH", "l", "v"]);
    let not_float = "-ERR timeout is not a float or out of range\r\n";
    let negative = "-ERR timeout is negative\r\n";
    let cases: &[(&[&str], &str)] = &[
        (&["BLPOP", "k", "abc"], not_float),
        (&["BLPOP", "k", "1.5x"], not_float),
        (&["BLPOP", "k", "-1"], negative),
        (&["BRPOP", "k", "-0.5"], negative),
        // The timeout is checked before the keys' types.
        (&["BLPOP", "s", "abc"], not_float),
        (&["BLPOP", "s", "0"], WRONGTYPE),
        (&["BLPOP", "missing", "s", "0"], WRONGTYPE),
        (&["BRPOP", "s", "l", "0"], WRONGTYPE),
        (
            &["BLMOVE", "k", "d", "LEFT", "FOO", "0"],
            "-ERR syntax error\r\n",
        ),
        (&["BLMOVE", "k", "d", "LEFT", "LEFT", "abc"], not_float),
        (&["BLMOVE", "k", "d", "LEFT", "LEFT", "-1"], negative),
        (&["BLMOVE", "s", "d", "LEFT", "LEFT", "0"], WRONGTYPE),
        (&["BLMOVE", "l", "s", "LEFT", "LEFT", "0"], WRONGTYPE),
        (&["BRPOPLPUSH", "k", "d", "x"], not_float),
        (&["BRPOPLPUSH", "s", "d", "0"], WRONGTYPE),
        (&["BLMPOP", "abc", "1", "k", "LEFT"], not_float),
        (&["BLMPOP", "-1", "1", "k", "LEFT"], negative),
        // BLMPOP checks numkeys, direction and COUNT before the timeout.
        (
            &["BLMPOP", "abc", "0", "k", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (&["BLMPOP", "abc", "1", "k", "UP"], "-ERR syntax error\r\n"),
        (
            &["BLMPOP", "abc", "1", "k", "LEFT", "COUNT", "0"],
            "-ERR count should be greater than 0\r\n",
        ),
        (&["BLMPOP", "0", "2", "k", "LEFT"], "-ERR syntax error\r\n"),
        (&["BLMPOP", "0", "1", "s", "LEFT"], WRONGTYPE),
    ];
    for (args, want) in cases {
        assert_eq!(raw.call(args), *want, "{args:?}");
    }
    // Nothing was left blocked: the connection still answers at once.
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn timeouts_reply_a_null_array_after_fractional_seconds() {
    let server = TestServer::start();
    let cases: &[&[&str]] = &[
        &["BLPOP", "k1", "k2", "0.15"],
        &["BRPOP", "k1", "0.1"],
        &["BLMOVE", "k1", "d", "LEFT", "LEFT", "0.1"],
        &["BRPOPLPUSH", "k1", "d", "0.1"],
        &["BLMPOP", "0.1", "1", "k1", "LEFT", "COUNT", "3"],
    ];
    // All wait at the same time, so the test takes one timeout, not five.
    let start = Instant::now();
    let mut clients: Vec<Raw> = cases
        .iter()
        .map(|args| {
            let mut raw = server.raw();
            raw.cmd(args);
            raw
        })
        .collect();
    for (raw, args) in clients.iter_mut().zip(cases) {
        assert_eq!(reply(raw), "*-1\r\n", "{args:?}");
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // A timed-out client is no longer waiting: a later push stays in the list.
    let mut raw = server.raw();
    assert_eq!(raw.call(&["RPUSH", "k1", "v"]), ":1\r\n");
    assert_eq!(raw.call(&["LLEN", "k1"]), ":1\r\n");
    for client in &mut clients {
        assert_eq!(client.call(&["PING"]), "+PONG\r\n");
    }
}

#[test]
fn timeout_zero_waits_until_data_arrives() {
    let server = TestServer::start();
    let mut waiter = server.raw();
    let mut pusher = server.raw();
    block(&mut waiter, &["BLPOP", "k", "0"]);
    assert_silent(&mut waiter, Duration::from_millis(300));
    assert_eq!(pusher.call(&["RPUSH", "k", "late"]), ":1\r\n");
    assert_eq!(reply(&mut waiter), bulks(&["k", "late"]));
    assert_eq!(pusher.call(&["GET", "k"]), "$-1\r\n");
}

#[test]
fn waiters_on_one_key_are_served_in_arrival_order() {
    let server = TestServer::start();
    let mut waiters: Vec<Raw> = (0..3).map(|_| server.raw()).collect();
    for waiter in &mut waiters {
        block(waiter, &["BLPOP", "k", "0"]);
    }
    let mut pusher = server.raw();
    assert_eq!(pusher.call(&["RPUSH", "k", "a"]), ":1\r\n");
    assert_eq!(reply(&mut waiters[0]), bulks(&["k", "a"]));
    assert_eq!(pusher.call(&["RPUSH", "k", "b", "c"]), ":2\r\n");
    assert_eq!(reply(&mut waiters[1]), bulks(&["k", "b"]));
    assert_eq!(reply(&mut waiters[2]), bulks(&["k", "c"]));
    assert_eq!(pusher.call(&["GET", "k"]), "$-1\r\n");
}

#[test]
fn one_push_of_several_elements_serves_several_waiters() {
    let server = TestServer::start();
    let mut first = server.raw();
    let mut second = server.raw();
    block(&mut first, &["BLPOP", "k", "0"]);
    block(&mut second, &["BLPOP", "k", "0"]);
    let mut pusher = server.raw();
    // The pusher sees the length after its push; the waiters then take from the head.
    assert_eq!(pusher.call(&["LPUSH", "k", "a", "b", "c"]), ":3\r\n");
    assert_eq!(reply(&mut first), bulks(&["k", "c"]));
    assert_eq!(reply(&mut second), bulks(&["k", "b"]));
    assert_eq!(pusher.call(&["LRANGE", "k", "0", "-1"]), bulks(&["a"]));

    // The same with BRPOP and BLMPOP COUNT from the tail.
    block(&mut first, &["BRPOP", "r", "0"]);
    block(
        &mut second,
        &["BLMPOP", "0", "1", "r", "RIGHT", "COUNT", "2"],
    );
    assert_eq!(pusher.call(&["RPUSH", "r", "1", "2", "3", "4"]), ":4\r\n");
    assert_eq!(reply(&mut first), bulks(&["r", "4"]));
    assert_eq!(
        reply(&mut second),
        "*2\r\n$1\r\nr\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    assert_eq!(pusher.call(&["LRANGE", "r", "0", "-1"]), bulks(&["1"]));
}

#[test]
fn one_client_blocked_on_several_keys() {
    let server = TestServer::start();
    let mut waiter = server.raw();
    let mut pusher = server.raw();
    block(&mut waiter, &["BLPOP", "k1", "k2", "k3", "0"]);
    assert_eq!(pusher.call(&["RPUSH", "k3", "three"]), ":1\r\n");
    assert_eq!(reply(&mut waiter), bulks(&["k3", "three"]));
    // It is no longer waiting on the other keys.
    assert_eq!(pusher.call(&["RPUSH", "k1", "one"]), ":1\r\n");
    assert_eq!(pusher.call(&["LLEN", "k1"]), ":1\r\n");

    block(&mut waiter, &["BLMPOP", "0", "2", "m1", "m2", "LEFT"]);
    assert_eq!(pusher.call(&["RPUSH", "m2", "x", "y"]), ":2\r\n");
    assert_eq!(reply(&mut waiter), "*2\r\n$2\r\nm2\r\n*1\r\n$1\r\nx\r\n");
}

#[test]
fn blmove_chains_wake_the_next_waiter() {
    let server = TestServer::start();
    let mut mover = server.raw();
    let mut second_mover = server.raw();
    let mut popper = server.raw();
    let mut pusher = server.raw();
    block(&mut mover, &["BLMOVE", "src", "mid", "LEFT", "RIGHT", "0"]);
    block(&mut second_mover, &["BRPOPLPUSH", "mid", "end", "0"]);
    block(&mut popper, &["BLPOP", "end", "0"]);
    assert_eq!(pusher.call(&["RPUSH", "src", "x"]), ":1\r\n");
    assert_eq!(reply(&mut mover), "$1\r\nx\r\n");
    assert_eq!(reply(&mut second_mover), "$1\r\nx\r\n");
    assert_eq!(reply(&mut popper), bulks(&["end", "x"]));
    for key in ["src", "mid", "end"] {
        assert_eq!(pusher.call(&["GET", key]), "$-1\r\n", "{key}");
    }

    // LMOVE into a key someone waits on wakes them too.
    block(&mut popper, &["BRPOP", "dst", "0"]);
    pusher.call(&["RPUSH", "from", "a", "b"]);
    assert_eq!(
        pusher.call(&["LMOVE", "from", "dst", "RIGHT", "LEFT"]),
        "$1\r\nb\r\n"
    );
    assert_eq!(reply(&mut popper), bulks(&["dst", "b"]));
    assert_eq!(pusher.call(&["GET", "dst"]), "$-1\r\n");
}

#[test]
fn a_blocked_blmove_onto_its_own_source_rotates() {
    let server = TestServer::start();
    let mut waiter = server.raw();
    let mut pusher = server.raw();
    block(&mut waiter, &["BLMOVE", "k", "k", "LEFT", "RIGHT", "0"]);
    assert_eq!(pusher.call(&["RPUSH", "k", "a", "b"]), ":2\r\n");
    assert_eq!(reply(&mut waiter), "$1\r\na\r\n");
    assert_eq!(pusher.call(&["LRANGE", "k", "0", "-1"]), bulks(&["b", "a"]));
}

#[test]
fn disconnecting_while_blocked_cleans_up() {
    let server = TestServer::start();
    let mut gone = server.raw();
    let mut stays = server.raw();
    block(&mut gone, &["BLPOP", "k", "0"]);
    block(&mut stays, &["BLPOP", "k", "0"]);
    drop(gone);
    let mut gone_too = server.raw();
    block(
        &mut gone_too,
        &["BLMOVE", "other", "d", "LEFT", "LEFT", "0"],
    );
    drop(gone_too);
    // Give the server a moment to notice the closed sockets (it does so at once when idle).
    std::thread::sleep(Duration::from_millis(200));
    let mut pusher = server.raw();
    // The first waiter is gone: the element goes to the one still connected.
    assert_eq!(pusher.call(&["RPUSH", "k", "v"]), ":1\r\n");
    assert_eq!(reply(&mut stays), bulks(&["k", "v"]));
    // Nobody waits any more: pushed elements stay where they are.
    assert_eq!(pusher.call(&["RPUSH", "other", "w"]), ":1\r\n");
    assert_eq!(pusher.call(&["LRANGE", "other", "0", "-1"]), bulks(&["w"]));
    assert_eq!(pusher.call(&["GET", "d"]), "$-1\r\n");
}

#[test]
fn wrong_type_while_blocked_keeps_waiting() {
    let server = TestServer::start();
    let mut waiter = server.raw();
    let mut other = server.raw();
    block(&mut waiter, &["BLPOP", "k1", "k2", "0"]);
    // k1 now holds a string: that is no data for the waiter, and no error either.
    assert_eq!(other.call(&["SET", "k1", "str"]), "+OK\r\n");
    assert_silent(&mut waiter, Duration::from_millis(100));
    assert_eq!(other.call(&["RPUSH", "k2", "v"]), ":1\r\n");
    assert_eq!(reply(&mut waiter), bulks(&["k2", "v"]));
}

#[test]
fn a_served_blmove_with_a_wrong_type_destination_gets_wrongtype() {
    let server = TestServer::start();
    let mut waiter = server.raw();
    let mut other = server.raw();
    assert_eq!(other.call(&["SET", "str", "x"]), "+OK\r\n");
    // A missing source blocks even though the destination has the wrong type (as in Redis).
    block(&mut waiter, &["BLMOVE", "src", "str", "LEFT", "LEFT", "0"]);
    let mut behind = server.raw();
    block(&mut behind, &["BLPOP", "src", "0"]);
    assert_eq!(other.call(&["RPUSH", "src", "v"]), ":1\r\n");
    assert_eq!(reply(&mut waiter), WRONGTYPE);
    // The element stayed in the source, so the next waiter gets it.
    assert_eq!(reply(&mut behind), bulks(&["src", "v"]));
    assert_eq!(waiter.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn blocked_clients_wait_in_their_own_database() {
    let server = TestServer::start();
    let mut waiter = server.raw();
    let mut pusher = server.raw();
    assert_eq!(waiter.call(&["SELECT", "1"]), "+OK\r\n");
    block(&mut waiter, &["BLPOP", "k", "0"]);
    assert_eq!(pusher.call(&["RPUSH", "k", "db0"]), ":1\r\n");
    assert_silent(&mut waiter, Duration::from_millis(100));
    assert_eq!(pusher.call(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(pusher.call(&["RPUSH", "k", "db1"]), ":1\r\n");
    assert_eq!(reply(&mut waiter), bulks(&["k", "db1"]));
    assert_eq!(pusher.call(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(pusher.call(&["LRANGE", "k", "0", "-1"]), bulks(&["db0"]));
}

#[test]
fn pipelined_commands_after_a_blocking_one_wait_for_it() {
    let server = TestServer::start();
    let mut waiter = server.raw();
    let mut pusher = server.raw();
    let mut batch = encode(&["ECHO", "waiting"]);
    batch.extend(encode(&["BLPOP", "k", "0"]));
    batch.extend(encode(&["LLEN", "k"]));
    batch.extend(encode(&["PING"]));
    waiter.send(&batch);
    assert_eq!(waiter.read_reply(), b"$7\r\nwaiting\r\n");
    assert_silent(&mut waiter, Duration::from_millis(100));
    // Other clients are served while one is blocked.
    assert_eq!(pusher.call(&["PING"]), "+PONG\r\n");
    assert_eq!(pusher.call(&["RPUSH", "k", "a", "b"]), ":2\r\n");
    assert_eq!(reply(&mut waiter), bulks(&["k", "a"]));
    assert_eq!(reply(&mut waiter), ":1\r\n");
    assert_eq!(reply(&mut waiter), "+PONG\r\n");
}

#[test]
fn blocking_through_the_redis_crate() {
    let server = TestServer::start();
    let mut con = server.client();
    let timed_out: Option<(String, String)> = redis::cmd("BLPOP")
        .arg("k")
        .arg(0.05)
        .query(&mut con)
        .expect("blpop");
    assert_eq!(timed_out, None);
    let port = server.port;
    let waiter = std::thread::spawn(move || {
        let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .expect("url")
            .get_connection()
            .expect("connects");
        redis::cmd("BRPOP")
            .arg("k")
            .arg(0)
            .query::<Option<(String, String)>>(&mut con)
            .expect("brpop")
    });
    // Push until the waiter got something: it may not be blocked yet when the first push runs,
    // in which case it takes an element immediately, which is just as good.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !waiter.is_finished() && Instant::now() < deadline {
        let _: i64 = redis::cmd("RPUSH")
            .arg("k")
            .arg("v")
            .query(&mut con)
            .expect("rpush");
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = waiter.join().expect("waiter thread");
    assert_eq!(got, Some(("k".to_string(), "v".to_string())));
    let _: i64 = redis::cmd("RPUSH")
        .arg("src")
        .arg("w")
        .query(&mut con)
        .expect("rpush");
    let moved: Option<String> = redis::cmd("BLMOVE")
        .arg("src")
        .arg("d")
        .arg("LEFT")
        .arg("LEFT")
        .arg(1)
        .query(&mut con)
        .expect("blmove");
    assert_eq!(moved.as_deref(), Some("w"));
}
