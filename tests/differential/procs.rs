//! Server processes for the extended suites: `redis-server` and the real `aofd` binary, each on
//! a free loopback port, in its own temporary directory, and killed by PID when the guard is
//! dropped (also when a test panics).

use std::fs::File;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server process; killed (SIGKILL to its PID) and reaped on drop.
pub struct ServerGuard {
    child: Child,
    /// Its TCP port.
    pub port: u16,
    /// A short name for messages (`redis-server`, `aofd`).
    pub name: String,
    log: PathBuf,
    // Keeps the working directory alive until the process is gone.
    _dir: tempfile::TempDir,
}

impl ServerGuard {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines the process wrote to its standard output and error.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(30);
        lines[from..].join("\n")
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        // `Child::kill` sends SIGKILL to exactly this PID; then reap it so no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// What to start: a program and a function that builds its arguments from port and directory.
pub struct Spec<'a> {
    /// Name for messages.
    pub name: &'a str,
    /// Program path or name on `PATH`.
    pub program: &'a str,
    /// Builds the argument list for a port and a working directory.
    pub args: &'a dyn Fn(u16, &Path) -> Vec<String>,
}

/// Starts a server on a free port and waits until it answers PING. Retries on another port if
/// the process dies at once (another test may have taken the port in between).
pub fn start(spec: &Spec<'_>) -> Result<ServerGuard, String> {
    let mut last_error = String::new();
    for _attempt in 0..4 {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let port = free_port();
        let log = dir.path().join("server.log");
        let out = File::create(&log).map_err(|e| format!("log file: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("log file: {e}"))?;
        let mut command = Command::new(spec.program);
        // The harness's own switches (AOFD_DIFFERENTIAL, AOFD_INTEROP, ...) share aofd's
        // environment prefix, and aofd rejects AOFD_* variables it does not know.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AOFD_") {
                command.env_remove(name);
            }
        }
        let child = command
            .args((spec.args)(port, dir.path()))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {} ({}): {e}", spec.name, spec.program))?;
        let mut guard = ServerGuard {
            child,
            port,
            name: spec.name.to_string(),
            log,
            _dir: dir,
        };
        match wait_ready(&mut guard, Duration::from_secs(20)) {
            Ok(()) => return Ok(guard),
            Err(e) => {
                last_error = format!("{e}\n--- {} output ---\n{}", spec.name, guard.log_tail());
            }
        }
    }
    Err(last_error)
}

/// Waits until the server answers `PING` with `+PONG`, or fails if it exits first.
fn wait_ready(guard: &mut ServerGuard, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !guard.alive() {
            return Err(format!("{} exited during startup", guard.name));
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", guard.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            if std::io::Write::write_all(&mut s, b"*1\r\n$4\r\nPING\r\n").is_ok() {
                let mut buf = [0u8; 7];
                if s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n" {
                    return Ok(());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(format!(
        "{} did not answer PING on port {} within {timeout:?}",
        guard.name, guard.port
    ))
}

/// Fails unless `redis-server` is installed and is version 7.0.
pub fn check_redis_version() -> Result<String, String> {
    let out = Command::new("redis-server")
        .arg("--version")
        .output()
        .map_err(|e| format!("redis-server is required but cannot be run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !text.contains("v=7.0.") {
        return Err(format!(
            "redis-server 7.0.x is the reference, found: {}",
            text.trim()
        ));
    }
    Ok(text.trim().to_string())
}

/// Arguments for a reference `redis-server` without persistence.
pub fn redis_args(port: u16, dir: &Path) -> Vec<String> {
    vec![
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        String::new(),
        "--appendonly".into(),
        "no".into(),
        "--enable-debug-command".into(),
        "yes".into(),
        "--dir".into(),
        dir.display().to_string(),
    ]
}

/// Arguments for the aofd binary.
pub fn aofd_args(port: u16, dir: &Path) -> Vec<String> {
    vec![
        "--port".into(),
        port.to_string(),
        "--enable-debug-command".into(),
        "yes".into(),
        "--dir".into(),
        dir.display().to_string(),
        // Parallel tests would collide on the admin API's default port.
        "--admin-listen".into(),
        String::new(),
    ]
}
