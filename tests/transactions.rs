//! MULTI / EXEC / DISCARD / WATCH / UNWATCH over real sockets, byte for byte as Redis 7.0.15
//! answers (every expected reply here was checked against redis-server 7.0.15).

mod common;

use std::thread::sleep;
use std::time::Duration;

use common::{encode, Raw, TestServer};

/// Sends several commands in one write and returns their replies, concatenated.
fn pipeline(raw: &mut Raw, commands: &[&[&str]]) -> String {
    let mut bytes = Vec::new();
    for command in commands {
        bytes.extend_from_slice(&encode(command));
    }
    raw.send(&bytes);
    let mut replies = String::new();
    for _ in commands {
        replies.push_str(&String::from_utf8_lossy(&raw.read_reply()));
    }
    replies
}

#[test]
fn transaction_state_errors() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.call(&["exec"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(c.call(&["discard"]), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(c.call(&["multi"]), "+OK\r\n");
    // Neither error dooms the transaction: they are the commands' own errors.
    assert_eq!(c.call(&["multi"]), "-ERR MULTI calls can not be nested\r\n");
    assert_eq!(
        c.call(&["watch", "x"]),
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    assert_eq!(c.call(&["set", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["exec"]), "*1\r\n+OK\r\n");
    assert_eq!(c.call(&["exec"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(c.call(&["multi"]), "+OK\r\n");
    assert_eq!(c.call(&["set", "a", "2"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["discard"]), "+OK\r\n");
    assert_eq!(c.call(&["get", "a"]), "$1\r\n1\r\n");
    assert_eq!(c.call(&["multi"]), "+OK\r\n");
    assert_eq!(c.call(&["exec"]), "*0\r\n");
}

#[test]
fn queue_time_errors_abort_exec() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.call(&["multi"]), "+OK\r\n");
    assert_eq!(c.call(&["set", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(
        c.call(&["nosuch"]),
        "-ERR unknown command 'nosuch', with args beginning with: \r\n"
    );
    assert_eq!(
        c.call(&["exec"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // Nothing ran, and the transaction is over.
    assert_eq!(c.call(&["get", "a"]), "$-1\r\n");
    assert_eq!(c.call(&["exec"]), "-ERR EXEC without MULTI\r\n");

    assert_eq!(c.call(&["multi"]), "+OK\r\n");
    assert_eq!(
        c.call(&["get"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(c.call(&["set", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(
        c.call(&["exec"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(c.call(&["get", "a"]), "$-1\r\n");

    // DISCARD also clears the error: the next transaction starts clean.
    assert_eq!(c.call(&["multi"]), "+OK\r\n");
    c.call(&["nosuch"]);
    assert_eq!(c.call(&["discard"]), "+OK\r\n");
    assert_eq!(c.call(&["multi"]), "+OK\r\n");
    assert_eq!(c.call(&["set", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["exec"]), "*1\r\n+OK\r\n");
}

#[test]
fn execution_errors_stay_in_the_array_and_the_rest_runs() {
    let server = TestServer::start();
    let mut c = server.raw();
    let replies = pipeline(
        &mut c,
        &[
            &["multi"],
            &["set", "a", "1"],
            // PING's arity is -1, so these fail only when they run.
            &["ping", "a", "b"],
            &["select", "99"],
            &["get", "a"],
            &["select", "3"],
            &["set", "b", "2"],
            &["exec"],
        ],
    );
    assert_eq!(
        replies,
        concat!(
            "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n",
            "*6\r\n+OK\r\n-ERR wrong number of arguments for 'ping' command\r\n",
            "-ERR DB index is out of range\r\n$1\r\n1\r\n+OK\r\n+OK\r\n"
        )
    );
    // SELECT inside EXEC sticks, as in Redis.
    assert_eq!(c.call(&["get", "b"]), "$1\r\n2\r\n");
    assert_eq!(c.call(&["get", "a"]), "$-1\r\n");
}

#[test]
fn watch_detects_a_write_by_another_client() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    assert_eq!(a.call(&["set", "k", "0"]), "+OK\r\n");
    assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
    assert_eq!(b.call(&["set", "k", "theirs"]), "+OK\r\n");
    assert_eq!(a.call(&["multi"]), "+OK\r\n");
    assert_eq!(a.call(&["set", "k", "mine"]), "+QUEUED\r\n");
    assert_eq!(a.call(&["exec"]), "*-1\r\n");
    assert_eq!(a.call(&["get", "k"]), "$6\r\ntheirs\r\n");
    // The failed EXEC dropped the watch: a retry goes through.
    assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
    assert_eq!(a.call(&["multi"]), "+OK\r\n");
    assert_eq!(a.call(&["set", "k", "mine"]), "+QUEUED\r\n");
    assert_eq!(a.call(&["exec"]), "*1\r\n+OK\r\n");
    assert_eq!(b.call(&["get", "k"]), "$4\r\nmine\r\n");
}

#[test]
fn watch_race_between_two_optimistic_clients() {
    // Both watch the same counter, read it, and try to write it: exactly the first EXEC wins.
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    a.call(&["set", "counter", "10"]);
    for c in [&mut a, &mut b] {
        assert_eq!(c.call(&["watch", "counter"]), "+OK\r\n");
        assert_eq!(c.call(&["get", "counter"]), "$2\r\n10\r\n");
        assert_eq!(c.call(&["multi"]), "+OK\r\n");
    }
    assert_eq!(a.call(&["set", "counter", "11"]), "+QUEUED\r\n");
    assert_eq!(b.call(&["set", "counter", "11"]), "+QUEUED\r\n");
    assert_eq!(b.call(&["exec"]), "*1\r\n+OK\r\n");
    assert_eq!(a.call(&["exec"]), "*-1\r\n");
}

#[test]
fn watch_sees_own_writes_before_multi_but_not_inside() {
    let server = TestServer::start();
    let mut a = server.raw();
    assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
    assert_eq!(a.call(&["set", "k", "1"]), "+OK\r\n");
    assert_eq!(a.call(&["multi"]), "+OK\r\n");
    assert_eq!(a.call(&["get", "k"]), "+QUEUED\r\n");
    assert_eq!(a.call(&["exec"]), "*-1\r\n");
    // A transaction's own writes do not fail it.
    assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
    assert_eq!(a.call(&["multi"]), "+OK\r\n");
    assert_eq!(a.call(&["set", "k", "2"]), "+QUEUED\r\n");
    assert_eq!(a.call(&["set", "k", "3"]), "+QUEUED\r\n");
    assert_eq!(a.call(&["exec"]), "*2\r\n+OK\r\n+OK\r\n");
}

#[test]
fn unwatch_discard_and_exec_forget_the_watches() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    // UNWATCH.
    assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
    assert_eq!(a.call(&["unwatch"]), "+OK\r\n");
    b.call(&["set", "k", "1"]);
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["get", "k"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n$1\r\n1\r\n"
    );
    // UNWATCH after the key was touched clears the doom too.
    assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
    b.call(&["set", "k", "2"]);
    assert_eq!(a.call(&["unwatch"]), "+OK\r\n");
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["get", "k"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n$1\r\n2\r\n"
    );
    // DISCARD.
    assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["discard"]]),
        "+OK\r\n+OK\r\n"
    );
    b.call(&["set", "k", "3"]);
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["get", "k"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n$1\r\n3\r\n"
    );
    // A successful EXEC.
    assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["get", "k"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n$1\r\n3\r\n"
    );
    b.call(&["set", "k", "4"]);
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["get", "k"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n$1\r\n4\r\n"
    );
    // UNWATCH inside MULTI is queued and harmless.
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["unwatch"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    );
}

#[test]
fn watch_is_per_database_and_per_key() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    assert_eq!(a.call(&["select", "1"]), "+OK\r\n");
    assert_eq!(a.call(&["watch", "k", "k", "other"]), "+OK\r\n");
    // Same name, other database; another key in the watcher's database.
    b.call(&["set", "k", "db0"]);
    b.call(&["select", "1"]);
    b.call(&["set", "unrelated", "x"]);
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["ping"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n"
    );
    assert_eq!(a.call(&["watch", "k", "other"]), "+OK\r\n");
    b.call(&["set", "other", "x"]);
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["ping"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*-1\r\n"
    );
}

#[test]
fn pipelined_transactions_from_two_clients() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    let script: &[&[&str]] = &[&["multi"], &["set", "x", "1"], &["get", "x"], &["exec"]];
    let expected = "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\n1\r\n";
    assert_eq!(pipeline(&mut a, script), expected);
    assert_eq!(pipeline(&mut b, script), expected);
}

#[test]
fn disconnect_drops_watches_and_the_open_transaction() {
    let server = TestServer::start();
    let mut b = server.raw();
    {
        let mut a = server.raw();
        assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
        assert_eq!(a.call(&["multi"]), "+OK\r\n");
        assert_eq!(a.call(&["set", "k", "never"]), "+QUEUED\r\n");
    }
    // The queued SET never runs; writing the watched key is harmless.
    assert_eq!(b.call(&["set", "k", "1"]), "+OK\r\n");
    assert_eq!(b.call(&["get", "k"]), "$1\r\n1\r\n");
}

#[test]
fn blocking_commands_do_not_block_inside_exec() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(
        pipeline(&mut c, &[&["multi"], &["blpop", "nolist", "0"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n*-1\r\n"
    );
}

#[test]
fn blocked_clients_are_served_after_the_whole_exec() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut waiter = server.raw();
    // Give the BLPOP time to block. Should it still arrive after the EXEC, it finds the final
    // list and gets the same answer, so the timing can make this test weaker, never flaky.
    waiter.cmd(&["blpop", "l", "0"]);
    sleep(Duration::from_millis(100));
    assert_eq!(
        pipeline(
            &mut a,
            &[
                &["multi"],
                &["lpush", "l", "a"],
                &["lpush", "l", "b"],
                &["exec"]
            ]
        ),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n"
    );
    // Served once, after both pushes: it gets the head of the final list.
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply()),
        "*2\r\n$1\r\nl\r\n$1\r\nb\r\n"
    );

    // Pushed and popped in the same transaction: nothing left, the waiter keeps waiting.
    waiter.cmd(&["blpop", "l2", "0"]);
    sleep(Duration::from_millis(100));
    assert_eq!(
        pipeline(
            &mut a,
            &[
                &["multi"],
                &["lpush", "l2", "a"],
                &["lpop", "l2"],
                &["exec"]
            ]
        ),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n$1\r\na\r\n"
    );
    assert_eq!(a.call(&["lpush", "l2", "z"]), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply()),
        "*2\r\n$2\r\nl2\r\n$1\r\nz\r\n"
    );
}

#[test]
fn watched_key_that_expires_fails_exec() {
    let server = TestServer::start();
    let mut a = server.raw();
    // Set, give a TTL and watch in one write, so the key surely still exists at WATCH.
    assert_eq!(
        pipeline(
            &mut a,
            &[
                &["set", "k", "v"],
                &["pexpire", "k", "100"],
                &["watch", "k"]
            ]
        ),
        "+OK\r\n:1\r\n+OK\r\n"
    );
    sleep(Duration::from_millis(250));
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["ping"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*-1\r\n"
    );
    // Already expired when WATCHed: its deletion is no change.
    assert_eq!(
        pipeline(&mut a, &[&["set", "k", "v"], &["pexpire", "k", "1"]]),
        "+OK\r\n:1\r\n"
    );
    sleep(Duration::from_millis(20));
    assert_eq!(a.call(&["watch", "k"]), "+OK\r\n");
    assert_eq!(a.call(&["get", "k"]), "$-1\r\n");
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["ping"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n"
    );
}

#[test]
fn flush_touches_watched_keys_that_exist() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    a.call(&["set", "k", "v"]);
    assert_eq!(a.call(&["watch", "k", "missing"]), "+OK\r\n");
    assert_eq!(b.call(&["flushall"]), "+OK\r\n");
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["ping"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*-1\r\n"
    );
    // Only missing keys watched: the flush changes nothing for them.
    assert_eq!(a.call(&["watch", "missing"]), "+OK\r\n");
    assert_eq!(b.call(&["flushdb"]), "+OK\r\n");
    assert_eq!(
        pipeline(&mut a, &[&["multi"], &["ping"], &["exec"]]),
        "+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n"
    );
}
