//! The real `aofd` binary: command line, configuration errors and exit codes, `--check-config`,
//! pidfile, logfile, `dir`, and starting from Debian's /etc/redis/redis.conf.
//!
//! Each test starts its own process on a free port and stops it by PID (SIGTERM, then SIGKILL
//! if it does not exit in time).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_aofd");

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Runs the binary to completion (for commands that exit by themselves).
fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear();
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("aofd {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running server process, stopped by PID when dropped.
struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    /// Starts the binary with `args`, stdout and stderr into `out`, and waits until `port`
    /// accepts connections.
    fn start(args: &[&str], port: u16, out: &Path) -> Daemon {
        Self::start_with_env(args, &[], port, out)
    }

    /// Like [`Daemon::start`], with environment variables.
    fn start_with_env(args: &[&str], envs: &[(&str, &str)], port: u16, out: &Path) -> Daemon {
        let log = std::fs::File::create(out).expect("output file");
        let err = log.try_clone().expect("clone");
        let child = Command::new(BIN)
            .args(args)
            // Parallel tests would collide on the admin API's default port.
            .args(["--admin-listen", ""])
            .env_clear()
            .envs(envs.iter().copied())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn");
        let mut daemon = Daemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = daemon.child.try_wait().expect("wait") {
                let text = std::fs::read_to_string(out).unwrap_or_default();
                panic!("aofd exited early with {status}:\n{text}");
            }
            assert!(Instant::now() < deadline, "aofd did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }

    /// Sends one command and returns the reply's first line.
    fn call(&self, args: &[&str]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        stream.write_all(req.as_bytes()).expect("write");
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).expect("read");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// SIGTERM by PID and wait for the exit status (SIGKILL after a generous timeout).
    fn stop(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether a log line has Redis's shape: `pid:R dd Mon yyyy hh:mm:ss.mmm L message`.
fn redis_shaped(line: &str) -> bool {
    let Some((pid, rest)) = line.split_once(':') else {
        return false;
    };
    let parts: Vec<&str> = rest.splitn(7, ' ').collect();
    pid.chars().all(|c| c.is_ascii_digit())
        && parts.len() == 7
        && ["C", "M"].contains(&parts[0])
        && parts[1].len() == 2
        && parts[2].len() == 3
        && parts[3].len() == 4
        && parts[4].len() == 12
        && [".", "-", "*", "#"].contains(&parts[5])
}

#[test]
fn version_and_help() {
    let out = run(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("aofd v=0.1.0 "));
    let out = run(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: aofd"));
}

#[test]
fn unknown_key_or_bad_value_exits_1_naming_it() {
    let out = run(&["--port", "7000", "--maxmemroy", "1gb"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("command-line flag --maxmemroy: 'maxmemroy' = '1gb': unknown parameter"),
        "{err}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.conf");
    std::fs::write(&file, "port 7000\nappendfsync sometimes\n").expect("write");
    let out = run(&[file.to_str().expect("utf-8")], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:2: 'appendfsync' = 'sometimes': argument(s) must be one of the following",
            file.display()
        )),
        "{err}"
    );

    let out = run(&[], &[("AOFD_TIMEOUT", "soon")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("environment variable AOFD_TIMEOUT: 'timeout' = 'soon'"),
        "{err}"
    );
}

#[test]
fn check_config_validates_without_starting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("aofd.toml");
    std::fs::write(
        &good,
        "port = 7000\nappendfsync = \"always\"\nmaxmemory = \"1gb\"\n",
    )
    .expect("write");
    let out = run(&["--check-config", good.to_str().expect("utf-8")], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Configuration OK"), "{stdout}");
    assert!(
        stdout.contains("not implemented by aofd, and are ignored: maxmemory"),
        "{stdout}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "port = 70000\n").expect("write");
    let out = run(&["--check-config", bad.to_str().expect("utf-8")], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'port' = '70000': argument must be between 0 and 65535 inclusive"),
        "{err}"
    );
}

#[test]
fn dir_pidfile_and_logfile() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp
        .path()
        .canonicalize()
        .expect("canonical")
        .join("data/sub");
    let port = free_port();
    let port_text = port.to_string();
    let out = tmp.path().join("stdout.txt");
    let daemon = Daemon::start(
        &[
            "--port",
            &port_text,
            "--dir",
            data.to_str().expect("utf-8"),
            "--pidfile",
            "aofd.pid",
            "--logfile",
            "aofd.log",
            "--appendonly",
            "yes",
        ],
        port,
        &out,
    );
    // `dir` was created and is the working directory: relative paths land inside it.
    // The port can answer a moment before the pidfile is visible (the free port may have been
    // probed while another test's daemon still held it), so give the file a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        match std::fs::read_to_string(data.join("aofd.pid")) {
            Ok(pid) if !pid.trim().is_empty() => break pid,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            other => panic!("no pidfile: {other:?}"),
        }
    };
    assert_eq!(pid.trim(), daemon.child.id().to_string());
    let dir_reply = daemon.call(&["CONFIG", "GET", "dir"]);
    assert!(
        dir_reply.contains(data.to_str().expect("utf-8")),
        "{dir_reply}"
    );
    // loglevel changes at runtime: with `nothing`, the shutdown is not logged.
    assert_eq!(
        daemon.call(&["CONFIG", "SET", "loglevel", "nothing"]),
        "+OK\r\n"
    );
    assert_eq!(daemon.stop(), Some(0));
    assert!(!data.join("aofd.pid").exists(), "pidfile removed at exit");

    let log = std::fs::read_to_string(data.join("aofd.log")).expect("logfile");
    for line in log.lines() {
        assert!(redis_shaped(line), "not Redis-shaped: {line:?}");
        assert!(!line.contains('\x1b'), "ANSI in the log file: {line:?}");
    }
    for needle in [
        "# oO0OoO0OoO0Oo aofd is starting oO0OoO0OoO0Oo",
        "just started",
        "# Configuration loaded",
        &format!("* Running mode=standalone, port={port}."),
        "# Server initialized",
        "* Ready to accept connections",
        "* Creating AOF incr file appendonly.aof.1.incr.aof on server start",
    ] {
        assert!(log.contains(needle), "missing {needle:?} in:\n{log}");
    }
    assert!(log.contains(&format!("pid={}", pid.trim())), "{log}");
    assert!(!log.contains("Received SIGTERM"), "{log}");
    // Nothing went to standard output: the log file was configured.
    assert_eq!(std::fs::read_to_string(&out).expect("stdout"), "");
}

#[test]
fn flags_beat_environment_and_log_goes_to_stdout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let port_text = port.to_string();
    let out = tmp.path().join("stdout.txt");
    let dir = tmp.path().to_str().expect("utf-8");
    // AOFD_PORT names another port: the flag must win. AOFD_HZ has no flag: it applies.
    let daemon = Daemon::start_with_env(
        &["--port", &port_text, "--dir", dir],
        &[("AOFD_PORT", "1"), ("AOFD_HZ", "20")],
        port,
        &out,
    );
    let pid = daemon.child.id();
    assert_eq!(
        daemon.call(&["CONFIG", "GET", "hz"]),
        "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n"
    );
    assert_eq!(daemon.stop(), Some(0));
    let text = std::fs::read_to_string(&out).expect("stdout");
    assert!(text.contains(&format!("{pid}:M ")), "{text}");
    assert!(text.contains("* Ready to accept connections"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn starts_with_debians_redis_conf() {
    let conf = Path::new("/etc/redis/redis.conf");
    if !conf.exists() {
        // .ci/run installs redis-server, so this file exists there.
        eprintln!("skipped: {} is absent on this machine", conf.display());
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let port_text = port.to_string();
    let out = tmp.path().join("stdout.txt");
    let dir = tmp.path().to_str().expect("utf-8");
    // Overrides as Debian's own unit passes them (--daemonize no), plus paths we may write.
    let daemon = Daemon::start(
        &[
            "/etc/redis/redis.conf",
            "--daemonize",
            "no",
            "--supervised",
            "systemd",
            "--port",
            &port_text,
            "--bind",
            "127.0.0.1",
            "--dir",
            dir,
            "--logfile",
            "",
            "--pidfile",
            "redis.pid",
        ],
        port,
        &out,
    );
    assert_eq!(daemon.call(&["PING"]), "+PONG\r\n");
    assert_eq!(daemon.stop(), Some(0));
    let text = std::fs::read_to_string(&out).expect("stdout");
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("accepted but not implemented"))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains("supervised"), "{text}");
    assert!(warnings[0].contains("tcp-keepalive"), "{text}");
    assert!(
        text.contains("Configuration loaded file=/etc/redis/redis.conf"),
        "{text}"
    );
}
