//! Shared helpers for the integration tests: an in-process server on a free port, a `redis`
//! crate connection to it, and a raw RESP client for byte-exact checks.
#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aofd::config::Config;
use aofd::server::{self, RunningServer, StartOptions};

/// A server running on its own data thread; stopped when dropped.
pub struct TestServer {
    running: Option<RunningServer>,
    /// The TCP port it listens on.
    pub port: u16,
}

impl TestServer {
    /// Starts a server with default settings on a free loopback port.
    pub fn start() -> TestServer {
        Self::with_config(|_| {})
    }

    /// Starts a server after letting `adjust` change the default configuration.
    pub fn with_config(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::default();
        config.bind = vec!["127.0.0.1".to_string()];
        config.enable_debug_command = aofd::config::EnableDebug::Yes;
        // No save points: an in-process server's `dir` is the test's working directory, where
        // a save at shutdown would leave a dump.rdb. Tests of RDB saving set their own `dir`.
        config.save = Vec::new();
        adjust(&mut config);
        let running = server::start(
            config,
            StartOptions {
                ephemeral_port: true,
                ..StartOptions::default()
            },
        )
        .expect("server starts");
        let port = running.port();
        TestServer {
            running: Some(running),
            port,
        }
    }

    /// A `redis` crate connection.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("valid url")
            .get_connection()
            .expect("connects")
    }

    /// A raw connection for byte-exact tests.
    pub fn raw(&self) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        Raw { stream }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
        }
    }
}

/// A raw TCP client speaking bytes.
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
}

impl Raw {
    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a command as a RESP array of bulk strings.
    pub fn cmd(&mut self, args: &[&str]) {
        self.send(&encode(args));
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        self.stream.read_exact(&mut buf).expect("read");
        buf
    }

    /// Reads one complete RESP reply (any type, nested) and returns its bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_value(&mut out);
        out
    }

    /// Sends a command and returns its reply as text (for readable assertions).
    pub fn call(&mut self, args: &[&str]) -> String {
        self.cmd(args);
        String::from_utf8_lossy(&self.read_reply()).into_owned()
    }

    /// Reads until the server closes the connection; returns what arrived.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.stream.read_to_end(&mut out);
        out
    }

    fn read_line(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            self.stream.read_exact(&mut byte).expect("read line");
            line.push(byte[0]);
            if line.ends_with(b"\r\n") {
                break;
            }
        }
        out.extend_from_slice(&line);
        line
    }

    fn read_value(&mut self, out: &mut Vec<u8>) {
        let line = self.read_line(out);
        let body = std::str::from_utf8(&line[1..line.len() - 2]).unwrap_or("");
        match line[0] {
            b'$' | b'=' | b'!' => {
                let n: i64 = body.parse().expect("length");
                if n >= 0 {
                    let data = self.read_exact(n as usize + 2);
                    out.extend_from_slice(&data);
                }
            }
            b'*' | b'~' | b'>' => {
                let n: i64 = body.parse().expect("count");
                for _ in 0..n.max(0) {
                    self.read_value(out);
                }
            }
            b'%' | b'|' => {
                let n: i64 = body.parse().expect("count");
                for _ in 0..n.max(0) * 2 {
                    self.read_value(out);
                }
            }
            _ => {}
        }
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The exact WRONGTYPE error reply.
pub const WRONGTYPE: &str =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// A RESP2 bulk string.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// A RESP2 array of bulk strings.
pub fn bulks(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        out.push_str(&bulk(item));
    }
    out
}

/// Sends one command and asserts its exact reply.
pub fn check(raw: &mut Raw, args: &[&str], expected: &str) {
    assert_eq!(raw.call(args), expected, "{args:?}");
}

/// Sends each command in turn and asserts its exact reply.
pub fn check_all(raw: &mut Raw, cases: &[(&[&str], &str)]) {
    for (args, expected) in cases {
        assert_eq!(raw.call(args), *expected, "{args:?}");
    }
}

/// Sends a command that must answer an integer, and returns it.
pub fn int(raw: &mut Raw, args: &[&str]) -> i64 {
    let reply = raw.call(args);
    reply
        .strip_prefix(':')
        .and_then(|r| r.strip_suffix("\r\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{args:?} gave {reply:?}"))
}

/// Runs a command through the `redis` crate.
pub fn query<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con).expect("command succeeds")
}

/// Asserts that random picks (a negative-count SRANDMEMBER/HRANDFIELD/ZRANDMEMBER) are all
/// members of `all` and spread evenly: each member drawn within +-40% of its fair share.
pub fn assert_even_spread(picks: &[String], all: &std::collections::HashSet<String>) {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for p in picks {
        assert!(all.contains(p), "{p} is not a member");
        *counts.entry(p).or_default() += 1;
    }
    assert_eq!(counts.len(), all.len(), "every member is drawn: {counts:?}");
    let fair = picks.len() / all.len();
    let (low, high) = (fair * 6 / 10, fair * 14 / 10);
    assert!(
        counts.values().all(|&n| (low..high).contains(&n)),
        "{counts:?}"
    );
}
