//! Interop tests with real Redis tools against the real `aofd` binary: redis-benchmark's default
//! suite, redis-cli (one-shot and piped), and redis-py in two generations (5.x on RESP2 and the
//! newest on RESP3).
//!
//! They run only with `AOFD_INTEROP=1`; then every tool is required and a missing one is a
//! failure. `.ci/run` installs the tools and creates the two redis-py virtual environments; their
//! interpreters come from `AOFD_PY5` / `AOFD_PYNEW` (default: `target/py-redis5/bin/python` and
//! `target/py-redisnew/bin/python`). `AOFD_INTEROP_TARGET=redis` runs the same tests against a
//! `redis-server` instead, to validate the tests themselves.

#[allow(dead_code)] // Shared with the differential test, which uses all of it.
#[path = "differential/procs.rs"]
mod procs;

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use procs::{ServerGuard, Spec};

fn enabled() -> bool {
    if std::env::var("AOFD_INTEROP").is_ok_and(|v| v == "1") {
        return true;
    }
    println!("interop test skipped: set AOFD_INTEROP=1 to run it (needs redis-tools and redis-py)");
    false
}

fn against_redis() -> bool {
    std::env::var("AOFD_INTEROP_TARGET").is_ok_and(|v| v == "redis")
}

/// Starts the server under test; `extra` arguments are appended.
fn start(extra: &[&str]) -> Result<ServerGuard, String> {
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let build = |port: u16, dir: &Path| {
        let mut v = if against_redis() {
            procs::redis_args(port, dir)
        } else {
            procs::aofd_args(port, dir)
        };
        v.extend(extra.iter().cloned());
        v
    };
    if against_redis() {
        procs::start(&Spec {
            name: "redis-server",
            program: "redis-server",
            args: &build,
        })
    } else {
        procs::start(&Spec {
            name: "aofd",
            program: env!("CARGO_BIN_EXE_aofd"),
            args: &build,
        })
    }
}

fn start_plain() -> ServerGuard {
    start(&[]).unwrap_or_else(|e| panic!("{e}"))
}

/// What a finished tool run produced.
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs a program with optional standard input, killing it (by PID) after `limit`.
fn run(program: &str, args: &[String], stdin: Option<&[u8]>, limit: Duration) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is required (AOFD_INTEROP=1) but cannot run: {e}"));
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input).expect("write stdin");
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &PathBuf| {
        let mut s = String::new();
        let _ = File::open(p).and_then(|mut f| f.read_to_string(&mut s));
        s
    };
    let output = Output {
        code: status.and_then(|s| s.code()),
        stdout: read(&out_path),
        stderr: read(&err_path),
    };
    if status.is_none() {
        panic!(
            "{program} {args:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
            output.stdout, output.stderr
        );
    }
    output
}

fn port_args(server: &ServerGuard, rest: &[&str]) -> Vec<String> {
    let mut v = vec!["-p".to_string(), server.port.to_string()];
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

#[test]
fn redis_benchmark_default_suite_completes() {
    if !enabled() {
        return;
    }
    let mut server = start_plain();
    let started = Instant::now();
    let out = run(
        "redis-benchmark",
        &port_args(&server, &["-q", "-n", "100000", "-P", "16"]),
        None,
        Duration::from_secs(30 * 60),
    );
    // redis-benchmark redraws progress lines with carriage returns; keep the final lines.
    let summary: Vec<&str> = out
        .stdout
        .split(['\r', '\n'])
        .filter(|l| l.contains("requests per second"))
        .collect();
    println!(
        "redis-benchmark finished in {:.1} s:\n{}",
        started.elapsed().as_secs_f64(),
        summary.join("\n")
    );
    // Without the progress redraws, for readable failure messages.
    let all: String = format!("{}\n{}", out.stdout, out.stderr)
        .split(['\r', '\n'])
        .filter(|l| !l.trim().is_empty() && !l.contains("rps="))
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    assert_eq!(out.code, Some(0), "redis-benchmark failed:\n{all}");
    assert!(
        !all.contains("Error") && !all.contains("ERR "),
        "redis-benchmark reported errors:\n{all}"
    );
    assert!(summary.len() >= 15, "too few tests ran:\n{all}");
    assert!(server.alive(), "the server died during the benchmark");
}

#[test]
fn redis_cli_one_shot_and_piped() {
    if !enabled() {
        return;
    }
    let server = start_plain();
    let short = Duration::from_secs(60);
    let ping = run("redis-cli", &port_args(&server, &["ping"]), None, short);
    assert_eq!((ping.code, ping.stdout.as_str()), (Some(0), "PONG\n"));
    let set = run(
        "redis-cli",
        &port_args(&server, &["set", "k", "v"]),
        None,
        short,
    );
    assert_eq!((set.code, set.stdout.as_str()), (Some(0), "OK\n"));
    let get = run("redis-cli", &port_args(&server, &["get", "k"]), None, short);
    assert_eq!((get.code, get.stdout.as_str()), (Some(0), "v\n"));
    // Piped input: no TTY, so redis-cli prints raw replies, one per line.
    let piped = run(
        "redis-cli",
        &port_args(&server, &[]),
        Some(b"SET a 1\nINCR a\nGET a\n"),
        short,
    );
    assert_eq!(
        (piped.code, piped.stdout.as_str()),
        (Some(0), "OK\n2\n2\n"),
        "stderr: {}",
        piped.stderr
    );
    // An error reply is shown and the session goes on.
    let wrong = run(
        "redis-cli",
        &port_args(&server, &[]),
        Some(b"LPUSH a x\nGET a\n"),
        short,
    );
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value\n";
    assert!(
        wrong.stdout.starts_with(wrongtype) && wrong.stdout.ends_with("\n2\n"),
        "{:?}",
        wrong.stdout
    );
}

/// The interpreter of one redis-py virtual environment.
fn python(var: &str, default: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(default)
            .display()
            .to_string()
    });
    assert!(
        Path::new(&path).exists(),
        "{var}: no Python interpreter at {path}; .ci/run creates the redis-py virtual \
         environments (python3 -m venv + pip install redis)"
    );
    path
}

fn redis_py(var: &str, default: &str, protocol: &str) {
    let py = python(var, default);
    // INFO persistence's aof_current_size exists only with AOF on: use it if aofd accepts it.
    let (server, aof) = match start(&["--appendonly", "yes"]) {
        Ok(s) => (s, "yes"),
        Err(_) => (start_plain(), "no"),
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/redis_py_check.py");
    let args = vec![
        script.display().to_string(),
        "--port".to_string(),
        server.port.to_string(),
        "--expect-protocol".to_string(),
        protocol.to_string(),
        "--aof".to_string(),
        aof.to_string(),
    ];
    let out = run(&py, &args, None, Duration::from_secs(120));
    println!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, Some(0), "redis_py_check.py failed with {py}");
    assert!(out.stdout.contains("all checks passed"));
}

#[test]
fn redis_py_5_on_resp2() {
    if !enabled() {
        return;
    }
    redis_py("AOFD_PY5", "target/py-redis5/bin/python", "2");
}

#[test]
fn redis_py_newest_on_resp3() {
    if !enabled() {
        return;
    }
    redis_py("AOFD_PYNEW", "target/py-redisnew/bin/python", "3");
}
