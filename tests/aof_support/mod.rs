//! Helpers shared by the tests that run the real binary (`aof_*`, `rdb_*`): the real
//! `aofd` binary started in a temporary directory on a free port (killed by PID when dropped),
//! a small blocking RESP client, and a decoder that turns AOF bytes back into commands.
#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[path = "../common/mod.rs"]
mod common;

/// A command as a RESP array of bulk strings (shared with the in-process tests).
pub use common::encode;

/// The aofd binary Cargo built for the integration tests.
pub const AOFD: &str = env!("CARGO_BIN_EXE_aofd");

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running server process (aofd or redis-server); SIGKILLed by PID and reaped on drop.
pub struct Proc {
    /// The child process.
    pub child: Option<Child>,
    /// Its port.
    pub port: u16,
    /// Its working directory (`dir`).
    pub dir: PathBuf,
    /// Where its standard output and error go.
    pub log: PathBuf,
    /// Length of the log file when this process started (earlier runs wrote before it).
    pub log_start: usize,
}

impl Proc {
    /// Starts `program` with `args`, output appended to `<dir>/<log_name>`. Does not wait.
    pub fn spawn(program: &str, args: &[String], dir: &Path, port: u16, log_name: &str) -> Proc {
        Self::spawn_env(program, args, &[], dir, port, log_name)
    }

    /// [`Self::spawn`] with the variables `env` set. The harness's own `AOFD_*` switches
    /// (`AOFD_CRASH_CYCLES`...), which aofd would read as configuration, and systemd's
    /// variables are not inherited: only `env` gives them.
    pub fn spawn_env(
        program: &str,
        args: &[String],
        env: &[(&str, &str)],
        dir: &Path,
        port: u16,
        log_name: &str,
    ) -> Proc {
        std::fs::create_dir_all(dir).expect("dir");
        let log = dir.join(log_name);
        let log_start = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(program);
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            let systemd = [
                "NOTIFY_SOCKET",
                "WATCHDOG_USEC",
                "WATCHDOG_PID",
                "JOURNAL_STREAM",
            ];
            if text.starts_with("AOFD_") || systemd.contains(&text.as_ref()) {
                cmd.env_remove(name);
            }
        }
        cmd.args(args).envs(env.iter().copied());
        // The admin API's default port would collide between tests run in parallel; the
        // admin tests choose their own.
        if program == AOFD && !args.iter().any(|a| a == "--admin-listen") {
            cmd.args(["--admin-listen", ""]);
        }
        let child = cmd
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        Proc {
            child: Some(child),
            port,
            dir: dir.to_path_buf(),
            log,
            log_start,
        }
    }

    /// Starts aofd in `dir` on a free port with `appendonly yes` and `extra` arguments, and
    /// waits until it is ready (its log says so).
    pub fn aofd(dir: &Path, extra: &[&str]) -> Proc {
        let mut p = Self::aofd_nowait(dir, extra);
        p.wait_log("Ready to accept connections", Duration::from_secs(60));
        p
    }

    /// Starts aofd without waiting for it.
    pub fn aofd_nowait(dir: &Path, extra: &[&str]) -> Proc {
        Self::aofd_env_nowait(dir, extra, &[])
    }

    /// [`Self::aofd_nowait`] with the environment variables `env`.
    pub fn aofd_env_nowait(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Proc {
        let port = free_port();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir.to_str().expect("utf-8 dir"),
            "--appendonly",
            "yes",
            "--enable-debug-command",
            "yes",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        Proc::spawn_env(AOFD, &args, env, dir, port, "aofd.log")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Everything this process logged so far.
    pub fn log_text(&self) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(text.get(self.log_start..).unwrap_or_default()).into_owned()
    }

    /// Waits until the log contains `needle`; panics with the log after `limit`, or if the
    /// process exits first.
    pub fn wait_log(&mut self, needle: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            let text = self.log_text();
            if text.contains(needle) {
                return;
            }
            if start.elapsed() > limit {
                panic!("{needle:?} not logged within {limit:?}:\n{text}");
            }
            if !self.alive() {
                panic!("the server exited before logging {needle:?}:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits (bounded) for the process to exit on its own; returns its status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    self.child = None;
                    return Some(status);
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Sends SIGTERM to this PID and waits for the exit status.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        let pid = i32::try_from(self.pid()).expect("pid");
        // SAFETY: kill(2) on the PID of a child we started and have not reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        self.wait_exit(Duration::from_secs(30))
    }

    /// SIGKILLs this PID (a crash) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A new connection.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A blocking RESP client.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A decoded reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// `+...`
    Status(String),
    /// `-...`
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n ...` (or RESP3 verbatim)
    Bulk(Vec<u8>),
    /// `$-1` / `*-1` / `_`
    Nil,
    /// `*n ...`
    Array(Vec<Val>),
}

impl Val {
    /// The bulk or status text.
    pub fn text(&self) -> String {
        match self {
            Val::Status(s) | Val::Error(s) => s.clone(),
            Val::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Val::Int(n) => n.to_string(),
            Val::Nil => "(nil)".to_string(),
            Val::Array(items) => format!(
                "[{}]",
                items.iter().map(Val::text).collect::<Vec<_>>().join(",")
            ),
        }
    }
}

impl Conn {
    /// Connects to a local port, retrying for a few seconds.
    pub fn connect(port: u16) -> Conn {
        Self::try_connect(port, Duration::from_secs(10)).expect("connects")
    }

    /// Connects, retrying until `limit`.
    pub fn try_connect(port: u16, limit: Duration) -> std::io::Result<Conn> {
        let start = Instant::now();
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => {
                    s.set_read_timeout(Some(Duration::from_secs(30)))?;
                    s.set_nodelay(true)?;
                    return Ok(Conn {
                        reader: BufReader::new(s.try_clone()?),
                        writer: s,
                    });
                }
                Err(e) if start.elapsed() > limit => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// Sets the read timeout.
    pub fn set_timeout(&self, t: Option<Duration>) {
        let _ = self.writer.set_read_timeout(t);
    }

    /// Sends one command.
    pub fn send(&mut self, args: &[&str]) -> std::io::Result<()> {
        self.writer.write_all(&encode(args))
    }

    /// Sends bytes as they are (e.g. a pipeline).
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[&str]) -> Val {
        self.try_call(args).expect("reply")
    }

    /// Sends one command and reads its reply, reporting I/O errors.
    pub fn try_call(&mut self, args: &[&str]) -> std::io::Result<Val> {
        self.send(args)?;
        self.read()
    }

    /// The reply as text (`OK`, an error text, a bulk...).
    pub fn text(&mut self, args: &[&str]) -> String {
        self.call(args).text()
    }

    /// Reads one reply.
    pub fn read(&mut self) -> std::io::Result<Val> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if line.len() < 3 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        Ok(match line[0] {
            b'+' => Val::Status(body),
            b'-' => Val::Error(body),
            b':' => Val::Int(body.parse().unwrap_or(0)),
            b'_' => Val::Nil,
            b'$' | b'=' => {
                let n: i64 = body.parse().unwrap_or(-1);
                if n < 0 {
                    Val::Nil
                } else {
                    let mut data = vec![0; n as usize + 2];
                    self.reader.read_exact(&mut data)?;
                    data.truncate(n as usize);
                    Val::Bulk(data)
                }
            }
            b'*' | b'~' | b'%' => {
                let n: i64 = body.parse().unwrap_or(-1);
                if n < 0 {
                    Val::Nil
                } else {
                    let k = if line[0] == b'%' { n * 2 } else { n };
                    let mut items = Vec::new();
                    for _ in 0..k {
                        items.push(self.read()?);
                    }
                    Val::Array(items)
                }
            }
            _ => Val::Status(body),
        })
    }

    /// One INFO field.
    pub fn info_field(&mut self, section: &str, name: &str) -> Option<String> {
        let text = self.text(&["INFO", section]);
        let prefix = format!("{name}:");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }
}

/// The records of an AOF file: each command as its arguments joined by spaces, and each `#`
/// annotation line as it is (without CRLF). Panics on malformed input.
pub fn decode_aof(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut pos = 0;
    let line = |pos: &mut usize| -> String {
        let end = bytes[*pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("CRLF")
            + *pos;
        let l = String::from_utf8_lossy(&bytes[*pos..end]).into_owned();
        *pos = end + 2;
        l
    };
    while pos < bytes.len() {
        let l = line(&mut pos);
        if l.starts_with('#') {
            out.push(l);
            continue;
        }
        let n: usize = l.strip_prefix('*').expect("array").parse().expect("count");
        let mut args = Vec::new();
        for _ in 0..n {
            let len: usize = line(&mut pos)
                .strip_prefix('$')
                .expect("bulk")
                .parse()
                .expect("len");
            args.push(String::from_utf8_lossy(&bytes[pos..pos + len]).into_owned());
            pos += len + 2;
        }
        out.push(args.join(" "));
    }
    out
}

/// The AOF directory of a data directory (default names).
pub fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

/// The bytes of `<dir>/appendonlydir/<name>`.
pub fn read_aof(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(aof_dir(dir).join(name)).unwrap_or_default()
}

/// Replaces every number of 13 digits (an absolute unix time in ms) with `<ms>`, so records can
/// be compared across runs.
pub fn mask_ms(record: &str) -> String {
    record
        .split(' ')
        .map(|w| {
            if w.len() == 13 && w.bytes().all(|b| b.is_ascii_digit()) {
                "<ms>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A full dump of a server's dataset through a client: for every database and key, its type,
/// value (sorted where Redis's order is unspecified) and whether/when it expires (TTL rounded
/// to seconds with a tolerance applied by the caller). One line per key, sorted.
pub fn dump(conn: &mut Conn, databases: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for db in 0..databases {
        conn.call(&["SELECT", &db.to_string()]);
        let keys = match conn.call(&["KEYS", "*"]) {
            Val::Array(items) => items.iter().map(Val::text).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        for key in keys {
            let ty = conn.text(&["TYPE", &key]);
            let value = match ty.as_str() {
                "string" => conn.text(&["GET", &key]),
                "list" => conn.text(&["LRANGE", &key, "0", "-1"]),
                "set" => sorted(conn.call(&["SMEMBERS", &key])),
                "hash" => sorted_pairs(conn.call(&["HGETALL", &key])),
                "zset" => conn.text(&["ZRANGE", &key, "0", "-1", "WITHSCORES"]),
                other => format!("<{other}>"),
            };
            let pttl = match conn.call(&["PEXPIRETIME", &key]) {
                Val::Int(n) if n > 0 => format!("expires@{}", n / 1000),
                Val::Int(n) => format!("ttl={n}"),
                v => v.text(),
            };
            lines.push(format!("db{db} {key} {ty} {value} {pttl}"));
        }
    }
    conn.call(&["SELECT", "0"]);
    lines.sort();
    lines
}

fn sorted(v: Val) -> String {
    let mut items = match v {
        Val::Array(items) => items.iter().map(Val::text).collect::<Vec<_>>(),
        other => vec![other.text()],
    };
    items.sort();
    items.join(",")
}

fn sorted_pairs(v: Val) -> String {
    let items = match v {
        Val::Array(items) => items.iter().map(Val::text).collect::<Vec<_>>(),
        other => vec![other.text()],
    };
    let mut pairs: Vec<String> = items.chunks(2).map(|c| c.join("=")).collect();
    pairs.sort();
    pairs.join(",")
}

/// Sends `cmds` as one pipeline and checks that no reply is an error.
pub fn pipeline(c: &mut Conn, cmds: &[Vec<String>]) {
    let mut bytes = Vec::new();
    for cmd in cmds {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        bytes.extend_from_slice(&encode(&args));
    }
    c.send_raw(&bytes).expect("send");
    for cmd in cmds {
        let reply = c.read().expect("reply");
        assert!(!matches!(reply, Val::Error(_)), "{cmd:?}: {reply:?}");
    }
}

/// Starts redis-server 7.0 in `dir` (no save points, DEBUG allowed, then `extra`, whose later
/// values win as on Redis's command line) and waits until it answers PING, so its dataset is
/// loaded.
pub fn redis_server(dir: &Path, extra: &[&str]) -> Proc {
    let port = free_port();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir.to_str().expect("utf-8"),
        "--save",
        "",
        "--enable-debug-command",
        "yes",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut p = Proc::spawn("redis-server", &args, dir, port, "redis.log");
    let start = Instant::now();
    loop {
        if let Ok(mut c) = Conn::try_connect(port, Duration::from_millis(100)) {
            if c.try_call(&["PING"])
                .is_ok_and(|v| v == Val::Status("PONG".into()))
            {
                return p;
            }
        }
        assert!(p.alive(), "redis-server exited:\n{}", p.log_text());
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "redis-server not ready:\n{}",
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A command as owned strings.
pub fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `head` followed by `n` generated groups of arguments.
pub fn with_items(head: &[&str], n: usize, item: impl Fn(usize) -> Vec<String>) -> Vec<String> {
    let mut v = cmd(head);
    for i in 0..n {
        v.extend(item(i));
    }
    v
}
