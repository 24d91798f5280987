//! The one background child the server may have at a time (Redis's `child_type`/`child_pid`):
//! an AOF rewrite or an RDB save. It owns the child's live progress for INFO
//! (`current_save_keys_*`, `current_fork_perc`, `current_cow_*`), the fork counters, and the
//! supervisor task that watches the child and hands its end to the rewrite or save logic.
//!
//! Commands start children synchronously (BGREWRITEAOF replies after the fork, as in Redis), but
//! a command handler cannot spawn the task that watches the child; it parks the child here and
//! wakes the supervisor, which runs on the data thread for the whole life of the server.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use tokio::sync::Notify;

use crate::db::{total_keys, Db};

use super::fork::{self, Child, ChildMsg, Exit};
use super::state::ServerState;

/// What the child is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    /// BGREWRITEAOF, the automatic rewrite, or turning the AOF on.
    AofRewrite,
    /// BGSAVE or a save point.
    RdbSave,
}

/// The running child and what it reported.
#[derive(Debug)]
pub struct ActiveChild {
    /// What it does.
    pub kind: ChildKind,
    /// Its pid.
    pub pid: libc::pid_t,
    /// When it was forked.
    pub started: Instant,
    /// Unix time it was forked.
    pub started_unix: i64,
    /// Keys written so far and in total (`current_save_keys_processed` / `_total`).
    pub keys_done: u64,
    /// Keys in the snapshot.
    pub keys_total: u64,
    /// Bytes written so far.
    pub bytes: u64,
    /// Copy-on-write size last reported (`current_cow_size`) and its peak.
    pub cow: u64,
    /// Highest copy-on-write size reported.
    pub cow_peak: u64,
    /// When `cow` was last reported.
    pub cow_at: Option<Instant>,
    /// The handle, until the supervisor takes it.
    handle: Option<Child>,
}

/// Fork bookkeeping shared by every kind of child.
#[derive(Debug, Default)]
pub struct Background {
    /// The running child, if any.
    pub child: Option<ActiveChild>,
    /// INFO `total_forks`.
    pub total_forks: u64,
    /// INFO `latest_fork_usec`: how long the last `fork()` took.
    pub latest_fork_usec: u64,
    /// Wakes the supervisor when a child was parked.
    wake: Rc<Notify>,
}

impl Background {
    /// Forks a child of `kind` running `body` on the snapshot `dbs` and parks it for the
    /// supervisor.
    ///
    /// # Errors
    /// The fork failed; nothing changed but the error is returned for the caller to log.
    pub fn start(
        &mut self,
        kind: ChildKind,
        dbs: &[Db],
        body: impl FnOnce(&fork::ChildPipe, &[Db]) -> i32,
    ) -> std::io::Result<libc::pid_t> {
        let keys_total = total_keys(dbs);
        let begin = Instant::now();
        let child = fork::spawn(|pipe| body(pipe, dbs))?;
        self.latest_fork_usec = u64::try_from(begin.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.total_forks += 1;
        let pid = child.pid;
        self.child = Some(ActiveChild {
            kind,
            pid,
            started: Instant::now(),
            started_unix: super::state::unix_secs(),
            keys_done: 0,
            keys_total,
            bytes: 0,
            cow: 0,
            cow_peak: 0,
            cow_at: None,
            handle: Some(child),
        });
        self.wake.notify_one();
        Ok(pid)
    }

    /// Whether any child runs (Redis `hasActiveChildProcess`).
    pub fn busy(&self) -> bool {
        self.child.is_some()
    }

    /// Whether a child of `kind` runs.
    pub fn running(&self, kind: ChildKind) -> bool {
        self.child.as_ref().is_some_and(|c| c.kind == kind)
    }

    /// Stops the running child of `kind` at once (SIGUSR1, then reaped), returning it. The
    /// caller cleans up after it; the supervisor will find it gone.
    pub fn kill(&mut self, kind: ChildKind) -> Option<ActiveChild> {
        if !self.running(kind) {
            return None;
        }
        let child = self.child.take()?;
        fork::kill_and_reap(child.pid);
        Some(child)
    }

    /// INFO `current_fork_perc`: keys written as a percentage of the snapshot.
    pub fn fork_perc(&self) -> f64 {
        match &self.child {
            Some(c) if c.keys_total > 0 => c.keys_done as f64 * 100.0 / c.keys_total as f64,
            _ => 0.0,
        }
    }

    fn apply(&mut self, pid: libc::pid_t, msg: ChildMsg) {
        let Some(c) = self.child.as_mut().filter(|c| c.pid == pid) else {
            return;
        };
        match msg {
            ChildMsg::Progress { keys, total, bytes } => {
                c.keys_done = keys;
                c.keys_total = total;
                c.bytes = bytes;
            }
            ChildMsg::Cow { bytes } => {
                c.cow = bytes;
                c.cow_peak = c.cow_peak.max(bytes);
                c.cow_at = Some(Instant::now());
            }
        }
    }
}

/// Watches every child the server forks, one at a time, and calls the completion handler of its
/// kind when it ends. Runs on the data thread for the server's whole life.
pub async fn supervisor(state: Rc<RefCell<ServerState>>) {
    let wake = state.borrow().background.wake.clone();
    loop {
        wake.notified().await;
        let parked = {
            let mut st = state.borrow_mut();
            st.background
                .child
                .as_mut()
                .and_then(|c| c.handle.take().map(|h| (c.kind, h)))
        };
        let Some((kind, handle)) = parked else {
            continue;
        };
        let pid = handle.pid;
        let exit = handle
            .watch(|msg| {
                let mut st = state.borrow_mut();
                st.background.apply(pid, msg);
                if kind == ChildKind::AofRewrite {
                    super::rewrite::progress(&mut st);
                }
            })
            .await;
        let mut st = state.borrow_mut();
        // A child stopped by `Background::kill` was already taken and cleaned up after.
        if exit == Exit::Reaped || st.background.child.as_ref().is_none_or(|c| c.pid != pid) {
            continue;
        }
        let Some(child) = st.background.child.take() else {
            continue;
        };
        match kind {
            ChildKind::AofRewrite => super::rewrite::done(&mut st, child, exit),
            ChildKind::RdbSave => super::rdbsave::done(&mut st, child, exit),
        }
    }
}
