//! Forking the child process that writes a snapshot of the dataset (AOF rewrite, BGSAVE), and
//! watching it from the data thread. Everything that runs after `fork()` in the child is in this
//! file or is called from the `body` given to [`spawn`].
//!
//! # The child's rules (design brief §3, `crates.md` §2)
//! The process is multi-threaded (tokio, the fsync worker, logging). After `fork()` only the
//! forking thread exists in the child, and every lock another thread held at that instant stays
//! locked forever. So the child may only:
//! - read the dataset it inherited (a copy-on-write snapshot frozen at the fork: the data thread
//!   forks between two commands, so nothing is half-changed);
//! - allocate (glibc's `fork()` re-initialises the malloc arenas' locks; aofd uses the system
//!   allocator, which is glibc's);
//! - make plain file syscalls (`std::fs`, `write(2)`, `fsync(2)`, `rename(2)`);
//! - report through its pipe with raw `write(2)`;
//! - leave with `_exit`, never `exit` (which would run atexit handlers and flush stdio under its
//!   lock).
//!
//! It must not log, touch metrics, tokio or any channel shared with another thread. A panic is
//! caught and becomes exit status 2; the panic hook installed by [`install_panic_hook`] stays
//! silent in a child, because the default hook writes to stderr under a lock.
//!
//! # The parent's side
//! [`Child::watch`] runs as a task on the data thread: it reads the pipe's messages as they come
//! and learns of the exit through a pidfd (readable when the child ends) without blocking the
//! thread, then reaps exactly that pid with `waitpid` — never `waitpid(-1)`, which could steal
//! another part of the process's children. Without pidfd support (Linux < 5.3) a helper thread
//! waits for the pid instead.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use tokio::io::unix::AsyncFd;

/// Set in a forked child (and only there): the panic hook stays silent.
static IN_CHILD: AtomicBool = AtomicBool::new(false);

/// Exit status of a child whose body panicked.
pub const EXIT_PANIC: i32 = 2;

/// Installs (once per process) a panic hook that is silent in a forked child and otherwise
/// defers to the hook that was in place.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_CHILD.load(Ordering::Relaxed) {
                previous(info);
            }
        }));
    });
}

/// What a child reports to the parent. Encoded in [`MSG_LEN`] bytes, which is below `PIPE_BUF`,
/// so every message is written atomically.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildMsg {
    /// Keys written so far, keys in the snapshot, bytes written so far.
    Progress { keys: u64, total: u64, bytes: u64 },
    /// The child's copy-on-write size: private dirty memory (bytes), sent periodically and once
    /// more just before a successful exit.
    Cow { bytes: u64 },
}

const MSG_LEN: usize = 25;
const TAG_PROGRESS: u8 = 1;
const TAG_COW: u8 = 2;

impl ChildMsg {
    fn encode(self) -> [u8; MSG_LEN] {
        let (tag, a, b, c) = match self {
            ChildMsg::Progress { keys, total, bytes } => (TAG_PROGRESS, keys, total, bytes),
            ChildMsg::Cow { bytes } => (TAG_COW, bytes, 0, 0),
        };
        let mut out = [0u8; MSG_LEN];
        out[0] = tag;
        out[1..9].copy_from_slice(&a.to_le_bytes());
        out[9..17].copy_from_slice(&b.to_le_bytes());
        out[17..25].copy_from_slice(&c.to_le_bytes());
        out
    }

    fn decode(raw: &[u8; MSG_LEN]) -> Option<ChildMsg> {
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&raw[at..at + 8]);
            u64::from_le_bytes(w)
        };
        match raw[0] {
            TAG_PROGRESS => Some(ChildMsg::Progress {
                keys: word(1),
                total: word(9),
                bytes: word(17),
            }),
            TAG_COW => Some(ChildMsg::Cow { bytes: word(1) }),
            _ => None,
        }
    }
}

/// The child's end of the report pipe.
pub struct ChildPipe {
    fd: RawFd,
}

impl ChildPipe {
    /// Sends `msg` with one raw `write(2)`. Reports are best effort: the pipe is non-blocking,
    /// and a message that does not fit (the parent is not reading) is dropped rather than
    /// stalling the snapshot.
    pub fn send(&self, msg: ChildMsg) {
        let buf = msg.encode();
        loop {
            // SAFETY: `buf` is a live local array of `MSG_LEN` bytes; `fd` is the pipe's write
            // end, open for the whole life of the child.
            let n = unsafe { libc::write(self.fd, buf.as_ptr().cast(), buf.len()) };
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return;
        }
    }
}

/// The child's copy-on-write size: the `Private_Dirty` total of `/proc/self/smaps_rollup`, as
/// Redis measures it (pages this process has written since the fork, i.e. copied).
pub fn private_dirty_bytes() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps_rollup") else {
        return 0;
    };
    text.lines()
        .filter_map(|line| line.strip_prefix("Private_Dirty:"))
        .filter_map(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb.saturating_mul(1024))
        .sum()
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// It was already reaped by [`kill_and_reap`].
    Reaped,
}

/// A running child, seen from the parent.
#[derive(Debug)]
pub struct Child {
    /// Its process id.
    pub pid: libc::pid_t,
    /// Readable once it has exited (`None` where pidfds are not supported).
    pidfd: Option<OwnedFd>,
    /// The read end of its report pipe (non-blocking).
    reports: OwnedFd,
}

/// Forks the process. In the child, runs `body` with the report pipe — catching a panic as
/// [`EXIT_PANIC`] — and `_exit`s with the status it returns; `spawn` returns only in the parent.
/// Call it on the data thread between two commands; the child sees the dataset as it is now.
///
/// `body` must follow the module's rules: no logging, no locks, no tokio, no channels.
///
/// # Errors
/// The pipe or the fork failed (e.g. `ENOMEM` under strict overcommit).
pub fn spawn(body: impl FnOnce(&ChildPipe) -> i32) -> io::Result<Child> {
    install_panic_hook();
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
    let (reports, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the child runs only `child_main`, which follows the rules in the module docs and
    // never returns (it ends in `_exit`).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        child_main(parent, write_end.as_raw_fd(), body);
    }
    drop(write_end);
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let pidfd = RawFd::try_from(raw)
        .ok()
        .filter(|&fd| fd >= 0)
        // SAFETY: a non-negative return is a new descriptor that nothing else owns.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(Child {
        pid,
        pidfd,
        reports,
    })
}

/// The child's whole life after `fork()`.
fn child_main(parent: libc::pid_t, report_fd: RawFd, body: impl FnOnce(&ChildPipe) -> i32) -> ! {
    IN_CHILD.store(true, Ordering::Relaxed);
    // SAFETY: signal() and prctl() are async-signal-safe syscalls; resetting the handlers the
    // parent's runtime installed lets SIGTERM/SIGINT/SIGUSR1 end the child (SIGUSR1 is how the
    // parent stops it, as Redis does), and the death signal ends it with its parent.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGUSR1, libc::SIG_DFL);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            // The parent died before the death signal was armed.
            libc::_exit(1);
        }
    }
    let pipe = ChildPipe { fd: report_fd };
    let code = std::panic::catch_unwind(AssertUnwindSafe(|| body(&pipe))).unwrap_or(EXIT_PANIC);
    // SAFETY: _exit ends the process without running destructors or atexit handlers, which
    // could take locks held by threads that do not exist in the child.
    unsafe { libc::_exit(code) }
}

/// Sends `signal` to the child `pid` (only ever a pid this process forked).
pub fn signal(pid: libc::pid_t, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Stops the child `pid` with SIGUSR1 (Redis's way, which the completion handlers do not count
/// as a failure) and reaps it, blocking until it is gone (it dies at once).
pub fn kill_and_reap(pid: libc::pid_t) -> Exit {
    signal(pid, libc::SIGUSR1);
    wait_blocking(pid)
}

/// Decodes a `waitpid` status.
fn exit_of(status: i32) -> Exit {
    if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    }
}

/// `waitpid(pid, 0)`, retried on EINTR; [`Exit::Reaped`] if the pid is no longer our child.
fn wait_blocking(pid: libc::pid_t) -> Exit {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a live local the kernel writes to.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return exit_of(status);
        }
        if r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return Exit::Reaped;
    }
}

/// `waitpid(pid, WNOHANG)`: `None` while it runs.
fn try_wait(pid: libc::pid_t) -> Option<Exit> {
    let mut status = 0;
    // SAFETY: `status` is a live local the kernel writes to.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    match r {
        0 => None,
        r if r == pid => Some(exit_of(status)),
        _ => Some(Exit::Reaped),
    }
}

impl Child {
    /// Waits for the child to end without blocking the data thread, passing each report to
    /// `on_msg` as it arrives (the last ones before the exit included), and reaps it.
    pub async fn watch(self, mut on_msg: impl FnMut(ChildMsg)) -> Exit {
        let Child {
            pid,
            pidfd,
            reports,
        } = self;
        let reports = register(reports);
        let mut pending = Vec::new();
        let exited = async move {
            if let Some(fd) = pidfd.and_then(register) {
                while let Ok(mut guard) = fd.readable().await {
                    if let Some(exit) = try_wait(pid) {
                        return exit;
                    }
                    guard.clear_ready();
                }
            }
            // No pidfd: a helper thread waits for this one pid.
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spawned = std::thread::Builder::new()
                .name("aofd-child-wait".to_string())
                .spawn(move || {
                    let _ = tx.send(wait_blocking(pid));
                });
            match spawned {
                Ok(_) => rx.await.unwrap_or(Exit::Reaped),
                Err(_) => wait_blocking(pid),
            }
        };
        tokio::pin!(exited);
        let mut reports_open = true;
        loop {
            let Some(fd) = reports.as_ref().filter(|_| reports_open) else {
                return exited.await;
            };
            tokio::select! {
                exit = &mut exited => {
                    drain(fd.get_ref(), &mut pending, &mut on_msg);
                    return exit;
                }
                ready = fd.readable() => match ready {
                    Ok(mut guard) => {
                        if !drain(fd.get_ref(), &mut pending, &mut on_msg) {
                            reports_open = false;
                        }
                        guard.clear_ready();
                    }
                    Err(_) => reports_open = false,
                },
            }
        }
    }
}

/// Registers `fd` with the runtime's reactor; `None` if that fails.
fn register(fd: OwnedFd) -> Option<AsyncFd<OwnedFd>> {
    // SAFETY: an `OwnedFd` is a valid open descriptor that only it closes, and the `AsyncFd`
    // owns it for its whole life, so it stays the same open file until the `AsyncFd` drops.
    unsafe { AsyncFd::register(fd) }.ok()
}

/// Reads what the pipe holds, passing whole messages to `on_msg`. Returns false at end of file
/// (the child has closed its end, i.e. exited).
fn drain(fd: &OwnedFd, pending: &mut Vec<u8>, on_msg: &mut impl FnMut(ChildMsg)) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `buf` is a live local array; `fd` is the open, non-blocking read end.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n == 0 {
            return false;
        }
        if n < 0 {
            let err = io::Error::last_os_error().raw_os_error();
            if err == Some(libc::EINTR) {
                continue;
            }
            return err == Some(libc::EAGAIN);
        }
        pending.extend_from_slice(&buf[..n.unsigned_abs()]);
        let whole = pending.len() / MSG_LEN * MSG_LEN;
        for chunk in pending[..whole].chunks_exact(MSG_LEN) {
            let mut raw = [0u8; MSG_LEN];
            raw.copy_from_slice(chunk);
            if let Some(msg) = ChildMsg::decode(&raw) {
                on_msg(msg);
            }
        }
        pending.drain(..whole);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn messages_round_trip() {
        for msg in [
            ChildMsg::Progress {
                keys: 1,
                total: u64::MAX,
                bytes: 1 << 40,
            },
            ChildMsg::Cow { bytes: 12345 },
        ] {
            assert_eq!(ChildMsg::decode(&msg.encode()), Some(msg));
        }
    }

    #[test]
    fn a_child_reports_and_exits_with_its_status() {
        let rt = runtime();
        let data = vec![7u64; 1000];
        let child = spawn(|pipe| {
            for i in 0..10 {
                pipe.send(ChildMsg::Progress {
                    keys: i,
                    total: 10,
                    bytes: data[i as usize],
                });
            }
            pipe.send(ChildMsg::Cow {
                bytes: private_dirty_bytes(),
            });
            3
        })
        .unwrap();
        let mut seen = Vec::new();
        let exit = rt.block_on(child.watch(|m| seen.push(m)));
        assert_eq!(exit, Exit::Code(3));
        assert_eq!(seen.len(), 11, "{seen:?}");
        assert_eq!(
            seen[9],
            ChildMsg::Progress {
                keys: 9,
                total: 10,
                bytes: 7
            }
        );
        assert!(matches!(seen[10], ChildMsg::Cow { .. }));
    }

    #[test]
    fn a_panicking_child_exits_with_the_panic_status() {
        let rt = runtime();
        let child = spawn(|_| panic!("boom")).unwrap();
        assert_eq!(rt.block_on(child.watch(|_| {})), Exit::Code(EXIT_PANIC));
    }

    #[test]
    fn a_killed_child_is_reported_by_signal_and_kill_and_reap_reaps() {
        let rt = runtime();
        let child = spawn(|_| {
            std::thread::sleep(std::time::Duration::from_secs(30));
            0
        })
        .unwrap();
        signal(child.pid, libc::SIGKILL);
        assert_eq!(
            rt.block_on(child.watch(|_| {})),
            Exit::Signal(libc::SIGKILL)
        );

        let child = spawn(|_| {
            std::thread::sleep(std::time::Duration::from_secs(30));
            0
        })
        .unwrap();
        assert_eq!(kill_and_reap(child.pid), Exit::Signal(libc::SIGUSR1));
        assert_eq!(rt.block_on(child.watch(|_| {})), Exit::Reaped);
    }
}
