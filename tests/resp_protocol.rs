//! The wire protocol over a real socket: pipelining, inline commands, protocol errors.

mod common;

use common::TestServer;

#[test]
fn pipelined_commands_are_answered_in_order() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend(common::encode(&["SET", &format!("k{i}"), &i.to_string()]));
        batch.extend(common::encode(&["GET", &format!("k{i}")]));
    }
    raw.send(&batch);
    for i in 0..100 {
        assert_eq!(raw.read_reply(), b"+OK\r\n");
        let v = i.to_string();
        assert_eq!(
            raw.read_reply(),
            format!("${}\r\n{v}\r\n", v.len()).into_bytes()
        );
    }
}

#[test]
fn inline_commands_follow_redis_quoting() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.send(b"PING\r\nset  \"a b\"  'c d'\r\nget \"a b\"\n\r\n");
    assert_eq!(raw.read_reply(), b"+PONG\r\n");
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    assert_eq!(raw.read_reply(), b"$3\r\nc d\r\n");
}

#[test]
fn protocol_errors_reply_then_close() {
    let server = TestServer::start();
    for (input, reply) in [
        (
            &b"*1\r\n:3\r\n"[..],
            &b"-ERR Protocol error: expected '$', got ':'\r\n"[..],
        ),
        (
            b"*2\r\n$-5\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$999999999999\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*abc\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"\"unbalanced\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ] {
        let mut raw = server.raw();
        raw.send(input);
        assert_eq!(
            raw.read_to_close(),
            reply,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn unknown_command_keeps_the_connection_open() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["FOO", "bar", "baz"]),
        "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n"
    );
    assert_eq!(
        raw.call(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = TestServer::with_config(|c| c.timeout = 1);
    let mut idle = server.raw();
    assert_eq!(idle.call(&["PING"]), "+PONG\r\n");
    // Closed once idle for `timeout` seconds: the read sees the end of the stream.
    let started = std::time::Instant::now();
    assert_eq!(idle.read_to_close(), b"");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    // A subscriber is exempt, as in Redis.
    let mut subscriber = server.raw();
    subscriber.cmd(&["SUBSCRIBE", "ch"]);
    subscriber.read_reply();
    std::thread::sleep(std::time::Duration::from_millis(1600));
    assert_eq!(server.raw().call(&["PUBLISH", "ch", "m"]), ":1\r\n");
}

#[test]
fn unix_socket_serves_like_tcp() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("aofd.sock");
    let socket = path.to_str().expect("utf-8").to_string();
    let server = TestServer::with_config(|c| c.unixsocket = Some(socket));
    let mut unix = std::os::unix::net::UnixStream::connect(&path).expect("connect");
    unix.write_all(&common::encode(&["SET", "k", "v"]))
        .expect("write");
    unix.write_all(&common::encode(&["GET", "k"]))
        .expect("write");
    let mut reply = vec![0u8; 12];
    unix.read_exact(&mut reply).expect("read");
    assert_eq!(reply, b"+OK\r\n$1\r\nv\r\n");
    // Both listeners reach the same keyspace.
    assert_eq!(server.raw().call(&["GET", "k"]), "$1\r\nv\r\n");
}
