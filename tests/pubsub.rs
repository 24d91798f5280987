//! SUBSCRIBE / UNSUBSCRIBE / PSUBSCRIBE / PUNSUBSCRIBE / PUBLISH / PUBSUB over real sockets,
//! byte for byte as Redis 7.0.15 answers (every expected reply here was checked against
//! redis-server 7.0.15). RESP3 runs over the socket when this build has HELLO; the RESP3
//! encodings are also unit-tested in `src/cmd/pubsub.rs`.

mod common;

use std::collections::BTreeSet;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{Raw, TestServer};

/// Reads one reply (a pushed message or a command reply) as text.
fn next(raw: &mut Raw) -> String {
    String::from_utf8_lossy(&raw.read_reply()).into_owned()
}

/// The RESP2 array of a channel message.
fn message(channel: &str, payload: &str) -> String {
    format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        channel.len(),
        payload.len()
    )
}

/// The RESP2 array of a pattern message.
fn pmessage(pattern: &str, channel: &str, payload: &str) -> String {
    format!(
        "*4\r\n$8\r\npmessage\r\n${}\r\n{pattern}\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        pattern.len(),
        channel.len(),
        payload.len()
    )
}

/// A RESP2 subscription confirmation.
fn confirmation(kind: &str, name: &str, count: i64) -> String {
    format!(
        "*3\r\n${}\r\n{kind}\r\n${}\r\n{name}\r\n:{count}\r\n",
        kind.len(),
        name.len()
    )
}

/// Sends a command and reads `n` replies (SUBSCRIBE and friends answer once per argument).
fn call_n(raw: &mut Raw, args: &[&str], n: usize) -> String {
    raw.cmd(args);
    (0..n).map(|_| next(raw)).collect()
}

/// Polls `PUBSUB <args>` until it answers `want` (connection cleanup is asynchronous).
fn wait_for(raw: &mut Raw, args: &[&str], want: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = raw.call(args);
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{args:?} still answers {got:?}");
        sleep(Duration::from_millis(10));
    }
}

#[test]
fn subscribe_confirmations_count_every_subscription() {
    let server = TestServer::start();
    let mut s = server.raw();
    assert_eq!(
        call_n(&mut s, &["subscribe", "x", "y", "x"], 3),
        [
            confirmation("subscribe", "x", 1),
            confirmation("subscribe", "y", 2),
            // Already subscribed: confirmed again, count unchanged.
            confirmation("subscribe", "x", 2),
        ]
        .concat()
    );
    assert_eq!(
        call_n(&mut s, &["psubscribe", "p*", "q*", "p*"], 3),
        [
            confirmation("psubscribe", "p*", 3),
            confirmation("psubscribe", "q*", 4),
            confirmation("psubscribe", "p*", 4),
        ]
        .concat()
    );
    assert_eq!(
        call_n(&mut s, &["unsubscribe", "nope", "y"], 2),
        [
            confirmation("unsubscribe", "nope", 4),
            confirmation("unsubscribe", "y", 3),
        ]
        .concat()
    );
    // Patterns go in subscription order, as Redis keeps them in a list.
    assert_eq!(
        call_n(&mut s, &["punsubscribe"], 2),
        [
            confirmation("punsubscribe", "p*", 2),
            confirmation("punsubscribe", "q*", 1),
        ]
        .concat()
    );
    assert_eq!(
        call_n(&mut s, &["unsubscribe"], 1),
        confirmation("unsubscribe", "x", 0)
    );
    // Out of pub/sub mode: ordinary commands work again.
    assert_eq!(s.call(&["get", "k"]), "$-1\r\n");
}

#[test]
fn unsubscribe_all_without_subscriptions_names_no_channel() {
    let server = TestServer::start();
    let mut s = server.raw();
    assert_eq!(
        s.call(&["unsubscribe"]),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        s.call(&["punsubscribe"]),
        "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    );
    // With only patterns, UNSUBSCRIBE still reports the pattern count.
    s.call(&["psubscribe", "a*"]);
    assert_eq!(
        s.call(&["unsubscribe"]),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n"
    );
}

#[test]
fn unsubscribe_all_reports_each_channel_with_the_count_left() {
    let server = TestServer::start();
    let mut s = server.raw();
    call_n(&mut s, &["subscribe", "a", "b", "c"], 3);
    s.cmd(&["unsubscribe"]);
    let mut names = BTreeSet::new();
    for left in [2, 1, 0] {
        let reply = next(&mut s);
        let name = reply.split("\r\n").nth(4).unwrap_or_default().to_string();
        // Redis's order here is its dict's; only the counts are fixed.
        assert_eq!(reply, confirmation("unsubscribe", &name, left));
        names.insert(name);
    }
    assert_eq!(names, BTreeSet::from(["a".into(), "b".into(), "c".into()]));
}

#[test]
fn publish_reaches_channel_then_pattern_subscribers() {
    let server = TestServer::start();
    let mut s1 = server.raw();
    let mut s2 = server.raw();
    let mut s3 = server.raw();
    let mut publisher = server.raw();
    call_n(&mut s1, &["subscribe", "news"], 1);
    call_n(&mut s2, &["psubscribe", "n*"], 1);
    call_n(&mut s3, &["subscribe", "news", "other"], 2);
    call_n(&mut s3, &["psubscribe", "n?ws"], 1);
    // Every delivery counts: s1, s3 by channel, then s2 and s3 by pattern.
    assert_eq!(publisher.call(&["publish", "news", "hello"]), ":4\r\n");
    assert_eq!(next(&mut s1), message("news", "hello"));
    assert_eq!(next(&mut s2), pmessage("n*", "news", "hello"));
    assert_eq!(next(&mut s3), message("news", "hello"));
    assert_eq!(next(&mut s3), pmessage("n?ws", "news", "hello"));

    assert_eq!(publisher.call(&["publish", "nothing", "x"]), ":1\r\n");
    assert_eq!(next(&mut s2), pmessage("n*", "nothing", "x"));
    assert_eq!(publisher.call(&["publish", "elsewhere", "x"]), ":0\r\n");

    // Binary-safe payloads and channel names.
    assert_eq!(publisher.call(&["publish", "other", "a\r\nb c"]), ":1\r\n");
    assert_eq!(next(&mut s3), message("other", "a\r\nb c"));

    // Messages keep their order, and a subscriber's PING answers after them.
    publisher.call(&["publish", "news", "1"]);
    publisher.call(&["publish", "news", "2"]);
    s1.cmd(&["ping", "after"]);
    assert_eq!(next(&mut s1), message("news", "1"));
    assert_eq!(next(&mut s1), message("news", "2"));
    assert_eq!(next(&mut s1), "*2\r\n$4\r\npong\r\n$5\r\nafter\r\n");
}

#[test]
fn resp2_pubsub_context_allows_only_pubsub_commands() {
    let server = TestServer::start();
    let mut s = server.raw();
    call_n(&mut s, &["subscribe", "c"], 1);
    assert_eq!(
        s.call(&["get", "k"]),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(
        s.call(&["publish", "c", "m"]),
        "-ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(s.call(&["ping"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(
        call_n(&mut s, &["psubscribe", "x*"], 1),
        confirmation("psubscribe", "x*", 2)
    );
}

#[test]
fn pubsub_introspection() {
    let server = TestServer::start();
    let mut s1 = server.raw();
    let mut s2 = server.raw();
    let mut c = server.raw();
    call_n(&mut s1, &["subscribe", "chan1", "chan2"], 2);
    call_n(&mut s2, &["subscribe", "chan1"], 1);
    call_n(&mut s1, &["psubscribe", "p*", "q*"], 2);
    call_n(&mut s2, &["psubscribe", "p*"], 1);

    assert_eq!(
        c.call(&["pubsub", "numsub", "chan1", "chan2", "none", "chan1"]),
        "*8\r\n$5\r\nchan1\r\n:2\r\n$5\r\nchan2\r\n:1\r\n$4\r\nnone\r\n:0\r\n$5\r\nchan1\r\n:2\r\n"
    );
    assert_eq!(c.call(&["pubsub", "numsub"]), "*0\r\n");
    // Distinct patterns, whoever subscribed to them.
    assert_eq!(c.call(&["PUBSUB", "NUMPAT"]), ":2\r\n");
    assert_eq!(
        c.call(&["pubsub", "channels", "*2"]),
        "*1\r\n$5\r\nchan2\r\n"
    );
    assert_eq!(c.call(&["pubsub", "channels", "x*"]), "*0\r\n");
    let all = c.call(&["pubsub", "channels"]);
    assert!(
        all == "*2\r\n$5\r\nchan1\r\n$5\r\nchan2\r\n"
            || all == "*2\r\n$5\r\nchan2\r\n$5\r\nchan1\r\n",
        "{all:?}"
    );
    assert_eq!(c.call(&["pubsub", "shardchannels"]), "*0\r\n");
    assert_eq!(
        c.call(&["pubsub", "shardnumsub", "a"]),
        "*2\r\n$1\r\na\r\n:0\r\n"
    );
    assert_eq!(
        c.call(&["pubsub", "help"]),
        concat!(
            "*14\r\n",
            "+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n",
            "+CHANNELS [<pattern>]\r\n",
            "+    Return the currently active channels matching a <pattern> (default: '*').\r\n",
            "+NUMPAT\r\n",
            "+    Return number of subscriptions to patterns.\r\n",
            "+NUMSUB [<channel> ...]\r\n",
            "+    Return the number of subscribers for the specified channels, excluding\r\n",
            "+    pattern subscriptions(default: no channels).\r\n",
            "+SHARDCHANNELS [<pattern>]\r\n",
            "+    Return the currently active shard level channels matching a <pattern> (default: '*').\r\n",
            "+SHARDNUMSUB [<shardchannel> ...]\r\n",
            "+    Return the number of subscribers for the specified shard level channel(s)\r\n",
            "+HELP\r\n",
            "+    Prints this help.\r\n",
        )
    );
}

#[test]
fn argument_errors() {
    let server = TestServer::start();
    let mut c = server.raw();
    for (args, error) in [
        (
            &["pubsub"][..],
            "-ERR wrong number of arguments for 'pubsub' command\r\n",
        ),
        (
            &["pubsub", "foo"],
            "-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n",
        ),
        (
            &["pubsub", "numpat", "x"],
            "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n",
        ),
        (
            &["pubsub", "help", "x"],
            "-ERR wrong number of arguments for 'pubsub|help' command\r\n",
        ),
        (
            &["pubsub", "CHANNELS", "a", "b"],
            "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n",
        ),
        (
            &["pubsub", "shardchannels", "a", "b"],
            "-ERR unknown subcommand or wrong number of arguments for 'shardchannels'. Try PUBSUB HELP.\r\n",
        ),
        (
            &["subscribe"],
            "-ERR wrong number of arguments for 'subscribe' command\r\n",
        ),
        (
            &["psubscribe"],
            "-ERR wrong number of arguments for 'psubscribe' command\r\n",
        ),
        (
            &["publish", "a"],
            "-ERR wrong number of arguments for 'publish' command\r\n",
        ),
    ] {
        assert_eq!(c.call(args), error, "{args:?}");
    }
}

#[test]
fn disconnect_drops_every_subscription() {
    let server = TestServer::start();
    let mut c = server.raw();
    let mut stays = server.raw();
    call_n(&mut stays, &["subscribe", "gone"], 1);
    {
        let mut s = server.raw();
        call_n(&mut s, &["subscribe", "gone", "also"], 2);
        call_n(&mut s, &["psubscribe", "g*"], 1);
        assert_eq!(
            c.call(&["pubsub", "numsub", "gone", "also"]),
            "*4\r\n$4\r\ngone\r\n:2\r\n$4\r\nalso\r\n:1\r\n"
        );
        assert_eq!(c.call(&["pubsub", "numpat"]), ":1\r\n");
    }
    wait_for(
        &mut c,
        &["pubsub", "numsub", "gone", "also"],
        "*4\r\n$4\r\ngone\r\n:1\r\n$4\r\nalso\r\n:0\r\n",
    );
    wait_for(&mut c, &["pubsub", "numpat"], ":0\r\n");
    assert_eq!(c.call(&["pubsub", "channels", "also"]), "*0\r\n");
    assert_eq!(c.call(&["publish", "gone", "x"]), ":1\r\n");
    assert_eq!(next(&mut stays), message("gone", "x"));
}

#[test]
fn resp3_subscriber_over_the_socket() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    a.cmd(&["hello", "3"]);
    let hello = next(&mut a);
    assert!(hello.starts_with('%'), "HELLO 3 answers a map: {hello:?}");
    assert_eq!(
        a.call(&["subscribe", "x"]),
        ">3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"
    );
    assert_eq!(
        a.call(&["psubscribe", "x*"]),
        ">3\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n:2\r\n"
    );
    // Its own message arrives before the PUBLISH reply.
    a.cmd(&["publish", "x", "m1"]);
    assert_eq!(
        next(&mut a),
        ">3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2\r\nm1\r\n"
    );
    assert_eq!(
        next(&mut a),
        ">4\r\n$8\r\npmessage\r\n$2\r\nx*\r\n$1\r\nx\r\n$2\r\nm1\r\n"
    );
    assert_eq!(next(&mut a), ":2\r\n");
    assert_eq!(b.call(&["publish", "x", "m2"]), ":2\r\n");
    assert_eq!(
        next(&mut a),
        ">3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2\r\nm2\r\n"
    );
    assert_eq!(
        next(&mut a),
        ">4\r\n$8\r\npmessage\r\n$2\r\nx*\r\n$1\r\nx\r\n$2\r\nm2\r\n"
    );
    // Any command works while subscribed in RESP3.
    assert_eq!(a.call(&["get", "k"]), "_\r\n");
    assert_eq!(a.call(&["ping"]), "+PONG\r\n");
    assert_eq!(
        a.call(&["unsubscribe"]),
        ">3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:1\r\n"
    );
    assert_eq!(
        a.call(&["unsubscribe"]),
        ">3\r\n$11\r\nunsubscribe\r\n_\r\n:1\r\n"
    );
}
