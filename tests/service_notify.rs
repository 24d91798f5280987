//! aofd as a systemd service, tested without systemd: the real binary started with
//! `NOTIFY_SOCKET` pointing at a datagram socket of the test's own (readiness after loading
//! and both listeners, loading status and start-timeout extensions, watchdog pings gated on
//! the data thread, SIGHUP reloads, STOPPING at shutdown), the same without `NOTIFY_SOCKET`,
//! and the native journal protocol received on a stand-in journal socket.

#[path = "aof_support/mod.rs"]
mod aof_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aof_support::{cmd, free_port, pipeline, with_items, Conn, Proc, AOFD};

/// Generous bound for anything that should happen soon (a loaded 2-core machine).
const LIMIT: Duration = Duration::from_secs(60);

/// Datagrams received on a socket, with the time each arrived, collected by a thread.
struct Datagrams {
    seen: Arc<Mutex<Vec<(Instant, String)>>>,
    path: PathBuf,
}

impl Datagrams {
    /// Binds `path` and starts collecting.
    fn bind(path: &Path) -> Datagrams {
        let socket = UnixDatagram::bind(path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::downgrade(&seen);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let got = socket.recv(&mut buf);
                let Some(seen) = sink.upgrade() else { return };
                if let Ok(n) = got {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    seen.lock().expect("lock").push((Instant::now(), text));
                }
            }
        });
        Datagrams {
            seen,
            path: path.to_path_buf(),
        }
    }

    /// Everything so far.
    fn all(&self) -> Vec<(Instant, String)> {
        self.seen.lock().expect("lock").clone()
    }

    /// Waits for a datagram at index `from` or later for which `pred` holds; returns its index.
    fn wait(&self, from: usize, what: &str, pred: impl Fn(&str) -> bool) -> usize {
        let start = Instant::now();
        loop {
            if let Some(i) = self.all().iter().skip(from).position(|(_, d)| pred(d)) {
                return from + i;
            }
            assert!(
                start.elapsed() < LIMIT,
                "no {what} datagram; got {:?}",
                self.all().iter().map(|(_, d)| d).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Whether datagram `d` has the line `line`.
fn has(d: &str, line: &str) -> bool {
    d.lines().any(|l| l == line)
}

/// Starts aofd in `cwd` with `args`, the environment `env` (and none of systemd's variables
/// inherited from the test's own environment), output appended to `<cwd>/aofd.log`.
fn spawn(cwd: &Path, port: u16, args: &[String], env: &[(&str, String)]) -> Proc {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Proc::spawn_env(AOFD, args, &env, cwd, port, "aofd.log")
}

/// Sends `signal` to the process.
fn send_signal(p: &Proc, signal: i32) {
    let pid = i32::try_from(p.pid()).expect("pid");
    // SAFETY: kill(2) on the PID of a child this test started and has not reaped.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// The arguments for a server on `port` with its data in `data` (relative to the working
/// directory, so the reload must resolve it as startup did) and the admin API on `admin`.
fn args(conf: &str, port: u16, data: &str, admin: Option<u16>) -> Vec<String> {
    let admin = admin.map_or(String::new(), |p| format!("127.0.0.1:{p}"));
    [
        conf,
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        data,
        "--appendonly",
        "yes",
        "--enable-debug-command",
        "yes",
        "--admin-listen",
        &admin,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// One HTTP GET on the admin API; the status code.
fn http_status(port: u16, path: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("admin API connects");
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Fills a data directory with 200k keys in 200 MSETs, written to the AOF by a first run.
fn make_dataset(cwd: &Path, conf: &str) {
    let port = free_port();
    let mut p = spawn(cwd, port, &args(conf, port, "data", None), &[]);
    p.wait_log("Ready to accept connections", LIMIT);
    let mut c = Conn::connect(port);
    let batch: Vec<Vec<String>> = (0..200)
        .map(|b| {
            with_items(&["MSET"], 1000, |i| {
                vec![format!("key:{b}:{i}"), format!("value-{b}-{i}")]
            })
        })
        .collect();
    for chunk in batch.chunks(20) {
        pipeline(&mut c, chunk);
    }
    pipeline(&mut c, &[cmd(&["SET", "marker", "here"])]);
    assert_eq!(p.terminate().map(|s| s.code()), Some(Some(0)));
}

#[test]
fn readiness_status_watchdog_reload_and_stop() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cwd = tmp.path();
    std::fs::write(cwd.join("aofd.conf"), "appendfsync everysec\nsave \"\"\n").expect("conf");
    make_dataset(cwd, "aofd.conf");

    let notes = Datagrams::bind(&cwd.join("notify.sock"));
    let (port, admin) = (free_port(), free_port());
    let env = [
        ("NOTIFY_SOCKET", notes.path.display().to_string()),
        ("WATCHDOG_USEC", "200000".to_string()),
    ];
    let mut p = spawn(
        cwd,
        port,
        &args("aofd.conf", port, "data", Some(admin)),
        &env,
    );

    // Loading: status and a start-timeout extension come before READY=1.
    let ready = notes.wait(0, "READY=1", |d| has(d, "READY=1"));
    // At READY=1 both listeners answer and the dataset is there.
    let mut c = Conn::connect(port);
    assert_eq!(c.text(&["PING"]), "PONG");
    assert_eq!(c.text(&["GET", "marker"]), "here");
    assert_eq!(c.text(&["DBSIZE"]), "200001");
    assert_eq!(http_status(admin, "/healthz"), 200);
    let before: Vec<String> = notes.all()[..ready]
        .iter()
        .map(|(_, d)| d.clone())
        .collect();
    let loading = before
        .iter()
        .position(|d| {
            d.lines().any(|l| l.starts_with("STATUS=Loading AOF: "))
                && has(d, "EXTEND_TIMEOUT_USEC=30000000")
        })
        .unwrap_or_else(|| panic!("no loading status before READY=1: {before:?}"));
    assert!(
        before[loading].contains("STATUS=Loading AOF: 0%, 0 keys"),
        "{before:?}"
    );
    assert!(has(
        &notes.all()[ready].1,
        "STATUS=Ready to accept connections"
    ));

    // The steady status follows at once.
    let steady = notes.wait(ready, "steady STATUS", |d| d.starts_with("STATUS=Ready: "));
    let text = notes.all()[steady].1.clone();
    assert!(
        text.contains(" keys, appendfsync everysec, no AOF rewrite yet")
            && text.contains("200.0K keys"),
        "{text}"
    );

    // Watchdog pings keep coming while the data thread runs (every 100 ms).
    let first = notes.wait(ready, "WATCHDOG=1", |d| d == "WATCHDOG=1\n");
    notes.wait(first + 1, "WATCHDOG=1", |d| d == "WATCHDOG=1\n");
    let n = notes.all().len();
    notes.wait(n, "WATCHDOG=1", |d| d == "WATCHDOG=1\n");

    // A data thread stuck in a command (DEBUG SLEEP blocks it, as a deadlock would) gets no
    // pings, so systemd would kill it; they resume once it runs again.
    let t0 = Instant::now();
    assert_eq!(c.text(&["DEBUG", "SLEEP", "1"]), "OK");
    let t1 = Instant::now();
    let silent_from = t0 + Duration::from_millis(300);
    let silent_to = t1 - Duration::from_millis(200);
    let during: Vec<Instant> = notes
        .all()
        .iter()
        .filter(|(at, d)| d == "WATCHDOG=1\n" && *at > silent_from && *at < silent_to)
        .map(|(at, _)| *at)
        .collect();
    assert!(
        during.is_empty(),
        "pinged while the data thread slept: {during:?}"
    );
    let n = notes.all().len();
    notes.wait(n, "WATCHDOG=1 after the stall", |d| d == "WATCHDOG=1\n");
    assert!(p
        .log_text()
        .contains("The data thread has made no progress"));

    // SIGHUP: RELOADING=1, then READY=1; the changed policy is applied, a change that needs a
    // restart is logged.
    std::fs::write(
        cwd.join("aofd.conf"),
        "appendfsync always\nsave \"\"\ndatabases 20\n",
    )
    .expect("conf");
    let n = notes.all().len();
    send_signal(&p, libc::SIGHUP);
    let reloading = notes.wait(n, "RELOADING=1", |d| has(d, "RELOADING=1"));
    let reloading_text = notes.all()[reloading].1.clone();
    assert!(
        reloading_text.contains("MONOTONIC_USEC="),
        "{reloading_text}"
    );
    assert!(has(&reloading_text, "STATUS=Reloading the configuration"));
    let again = notes.wait(reloading, "READY=1", |d| has(d, "READY=1"));
    assert!(
        notes.all()[again].1.contains("appendfsync always"),
        "{:?}",
        notes.all()[again]
    );
    assert_eq!(
        c.text(&["CONFIG", "GET", "appendfsync"]),
        "[appendfsync,always]"
    );
    assert_eq!(c.text(&["CONFIG", "GET", "databases"]), "[databases,16]");
    let log = p.log_text();
    for needle in [
        "Received SIGHUP: reloading the configuration from ",
        "The fsync policy was changed from everysec to always by a configuration reload \
         (SIGHUP).",
        "Applied appendfsync 'always' from the reloaded configuration (it was 'everysec').",
        "The configuration now sets databases to '20' (running with '16'); this takes effect \
         only after a restart.",
        "change(s) applied, 1 need a restart.",
    ] {
        assert!(log.contains(needle), "missing {needle:?} in:\n{log}");
    }

    // SIGTERM: STOPPING=1, clean exit.
    let n = notes.all().len();
    send_signal(&p, libc::SIGTERM);
    let stopping = notes.wait(n, "STOPPING=1", |d| has(d, "STOPPING=1"));
    assert!(notes.all()[stopping]
        .1
        .contains("STATUS=Shutting down: writing and syncing the AOF"));
    assert_eq!(p.wait_exit(LIMIT).map(|s| s.code()), Some(Some(0)));
    assert!(!notes.all()[n..].iter().any(|(_, d)| has(d, "READY=1")));
}

#[test]
fn without_notify_socket_nothing_changes_and_sighup_still_reloads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cwd = tmp.path();
    std::fs::write(cwd.join("aofd.conf"), "appendfsync everysec\nsave \"\"\n").expect("conf");
    let port = free_port();
    let mut p = spawn(cwd, port, &args("aofd.conf", port, "data", None), &[]);
    p.wait_log("Ready to accept connections", LIMIT);
    let mut c = Conn::connect(port);
    assert_eq!(c.text(&["SET", "k", "v"]), "OK");
    std::fs::write(cwd.join("aofd.conf"), "appendfsync no\nsave \"\"\n").expect("conf");
    send_signal(&p, libc::SIGHUP);
    p.wait_log("Configuration reloaded from ", LIMIT);
    assert!(p.alive(), "SIGHUP must not kill the server");
    assert_eq!(
        c.text(&["CONFIG", "GET", "appendfsync"]),
        "[appendfsync,no]"
    );
    // A configuration that no longer loads changes nothing.
    std::fs::write(cwd.join("aofd.conf"), "appendfsync sometimes\n").expect("conf");
    send_signal(&p, libc::SIGHUP);
    p.wait_log(
        "The configuration was not reloaded, nothing changed: ",
        LIMIT,
    );
    assert_eq!(
        c.text(&["CONFIG", "GET", "appendfsync"]),
        "[appendfsync,no]"
    );
    assert_eq!(p.terminate().map(|s| s.code()), Some(Some(0)));
    let log = p.log_text();
    assert!(!log.contains("NOTIFY_SOCKET"), "{log}");
    assert!(
        !log.contains("aofd_event"),
        "the event field stays out of lines: {log}"
    );
}

/// One native-protocol journal entry as its fields (a field may repeat; the last wins here).
fn parse_entry(mut bytes: &[u8]) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .iter()
            .position(|&b| b == b'=' || b == b'\n')
            .expect("field name ends");
        let name = String::from_utf8_lossy(&bytes[..end]).into_owned();
        if bytes[end] == b'=' {
            let rest = &bytes[end + 1..];
            let nl = rest.iter().position(|&b| b == b'\n').expect("value ends");
            fields.push((name, String::from_utf8_lossy(&rest[..nl]).into_owned()));
            bytes = &rest[nl + 1..];
        } else {
            let rest = &bytes[end + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().expect("length")) as usize;
            let value = &rest[8..8 + len];
            assert_eq!(rest[8 + len], b'\n');
            fields.push((name, String::from_utf8_lossy(value).into_owned()));
            bytes = &rest[8 + len + 1..];
        }
    }
    fields
}

/// A field of an entry.
fn field<'a>(entry: &'a [(String, String)], name: &str) -> Option<&'a str> {
    entry
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn journal_entries_carry_events_and_fields() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cwd = tmp.path();
    std::fs::write(cwd.join("aofd.conf"), "save \"\"\n").expect("conf");
    let journal = Datagrams::bind(&cwd.join("journal.sock"));
    // The log file stands in for the journal stream: JOURNAL_STREAM names its device and inode.
    let log = cwd.join("aofd.log");
    std::fs::write(&log, "").expect("log");
    let meta = std::fs::metadata(&log).expect("stat");
    let env = [
        ("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino())),
        (
            "AOFD_TEST_JOURNAL_SOCKET",
            journal.path.display().to_string(),
        ),
    ];
    let port = free_port();
    let mut p = spawn(cwd, port, &args("aofd.conf", port, "data", None), &env);
    let entries = |j: &Datagrams| -> Vec<Vec<(String, String)>> {
        j.all()
            .iter()
            .map(|(_, d)| parse_entry(d.as_bytes()))
            .collect()
    };
    let event = |name: &str| {
        let name = name.to_string();
        move |d: &str| {
            parse_entry(d.as_bytes())
                .iter()
                .any(|(n, v)| n == "AOFD_EVENT" && *v == name)
        }
    };
    let ready = journal.wait(0, "AOFD_EVENT=ready", event("ready"));
    let all = entries(&journal);
    let e = &all[ready];
    assert_eq!(field(e, "PRIORITY"), Some("6"));
    assert_eq!(field(e, "SYSLOG_IDENTIFIER"), Some("aofd"));
    assert_eq!(field(e, "KEYS"), Some("0"));
    assert!(field(e, "MESSAGE")
        .is_some_and(|m| m.starts_with("aofd is ready: the dataset is loaded (0 keys)")));
    assert!(field(e, "CODE_FILE").is_some() && field(e, "CODE_LINE").is_some());
    let startup = all
        .iter()
        .find(|e| field(e, "AOFD_EVENT") == Some("startup"))
        .expect("startup event");
    assert_eq!(field(startup, "PRIORITY"), Some("4"));
    assert!(field(startup, "MESSAGE").is_some_and(|m| m.ends_with("just started")));
    let config = all
        .iter()
        .find(|e| field(e, "AOFD_EVENT") == Some("config"))
        .expect("config event");
    assert!(field(config, "FILE").is_some_and(|f| f.ends_with("aofd.conf")));
    // Redis's own lines are entries too, with their level.
    assert!(all.iter().any(
        |e| field(e, "MESSAGE") == Some("Ready to accept connections")
            && field(e, "PRIORITY") == Some("6")
    ));

    // CONFIG SET appendfsync: the policy change with the old and new policy and who asked.
    let mut c = Conn::connect(port);
    assert_eq!(c.text(&["CONFIG", "SET", "appendfsync", "always"]), "OK");
    let i = journal.wait(0, "fsync_policy_changed", event("fsync_policy_changed"));
    let e = &entries(&journal)[i];
    assert_eq!(field(e, "OLD_POLICY"), Some("everysec"));
    assert_eq!(field(e, "FSYNC_POLICY"), Some("always"));
    assert_eq!(field(e, "REQUESTED_BY"), Some("CONFIG SET"));
    assert_eq!(field(e, "PRIORITY"), Some("4"));

    // A rewrite: started and finished, with its id, the new BASE and numbers.
    assert_eq!(c.text(&["SET", "k", "v"]), "OK");
    assert_eq!(
        c.text(&["BGREWRITEAOF"]),
        "Background append only file rewriting started"
    );
    let i = journal.wait(0, "rewrite_finished", event("rewrite_finished"));
    let all = entries(&journal);
    let started = all
        .iter()
        .find(|e| field(e, "AOFD_EVENT") == Some("rewrite_started"))
        .expect("rewrite_started");
    assert_eq!(field(started, "REWRITE_ID"), Some("1"));
    assert_eq!(field(started, "REQUESTED_BY"), Some("BGREWRITEAOF"));
    let e = &all[i];
    assert_eq!(field(e, "REWRITE_ID"), Some("1"));
    assert_eq!(field(e, "AOF_FILE"), Some("appendonly.aof.2.base.rdb"));
    assert_eq!(field(e, "KEYS"), Some("1"));
    assert!(field(e, "DURATION_MS").is_some() && field(e, "BYTES").is_some());

    let n = journal.all().len();
    assert_eq!(p.terminate().map(|s| s.code()), Some(Some(0)));
    let i = journal.wait(n, "shutdown", event("shutdown"));
    assert!(field(&entries(&journal)[i], "MESSAGE")
        .is_some_and(|m| m.starts_with("aofd is shutting down cleanly")));
    // Nothing was written as lines: everything went to the journal.
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains("Ready to accept connections"), "{text}");
}
