//! Every `sd_notify` message aofd sends, in one place: readiness (`READY=1` once the dataset is
//! loaded and both the data port and the admin API are bound), the one-line `STATUS=`,
//! `EXTEND_TIMEOUT_USEC` while loading, `WATCHDOG=1`, `RELOADING=1`/`READY=1` around a reload,
//! and `STOPPING=1`.
//!
//! Each function is a no-op without `NOTIFY_SOCKET` (`sd_notify::notify` checks it on every
//! call), so aofd runs the same outside systemd. Readiness is tracked here because its two
//! halves happen on different threads: the data thread finishes loading, and `app::run` binds
//! the admin API; whichever comes second sends `READY=1`. Only the binary [`arm`]s the tracker,
//! so servers embedded in tests never announce anything.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// How far each `EXTEND_TIMEOUT_USEC` pushes systemd's start (or stop) timeout, counted from the
/// moment it is sent. It is resent at every second of loading progress, so this is how long
/// loading may stall (a slow disk, one huge key) before systemd gives up on the start.
pub const EXTEND_BY: Duration = Duration::from_secs(30);

/// Loading progress is announced at most this often.
const LOADING_EVERY: Duration = Duration::from_secs(1);

/// The status text sent with `READY=1`; the service thread replaces it with the full steady
/// state line ([`crate::service::steady_status`]) right after.
pub const READY_STATUS: &str = "Ready to accept connections";

/// The status text while reloading.
pub const RELOADING_STATUS: &str = "Reloading the configuration";

/// The status text once shutdown has begun.
pub const STOPPING_STATUS: &str = "Shutting down: writing and syncing the AOF";

/// Set by the binary: this process is the service (embedded servers never notify).
static ARMED: AtomicBool = AtomicBool::new(false);
/// The dataset is loaded (set by the data thread).
static DATA_READY: AtomicBool = AtomicBool::new(false);
/// The admin API is bound, or disabled (set by `app::run`).
static ADMIN_READY: AtomicBool = AtomicBool::new(false);
/// `READY=1` was sent once (at startup; reloads send it again on their own).
static READY_SENT: AtomicBool = AtomicBool::new(false);
/// Shutdown has begun: no more `READY=1` or steady status.
static STOPPING: AtomicBool = AtomicBool::new(false);
/// Keys loaded at startup, for the `ready` log line.
static KEYS_LOADED: AtomicU64 = AtomicU64::new(0);
/// Bumped by the data thread's event loop; the watchdog pings only while it moves.
static HEARTBEAT: AtomicU64 = AtomicU64::new(0);
/// When loading progress was last announced.
static LAST_LOADING: Mutex<Option<Instant>> = Mutex::new(None);
/// A failed send was logged already (a broken `NOTIFY_SOCKET` must not flood the log).
static SEND_FAILED: AtomicBool = AtomicBool::new(false);

/// Sends `states` as one datagram; failures are logged once and otherwise ignored (the service
/// keeps running: systemd will notice a missing `READY=1` or watchdog ping by itself).
fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        if !SEND_FAILED.swap(true, Ordering::Relaxed) {
            tracing::warn!("Could not notify systemd through NOTIFY_SOCKET: {e}");
        }
    }
}

/// A status text as one line (a newline would end the `STATUS=` field early).
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// `EXTEND_TIMEOUT_USEC` for [`EXTEND_BY`].
fn extend_state() -> NotifyState<'static> {
    NotifyState::ExtendTimeoutUsec(u32::try_from(EXTEND_BY.as_micros()).unwrap_or(u32::MAX))
}

/// Marks this process as the service: from now on readiness is announced.
pub fn arm() {
    ARMED.store(true, Ordering::Release);
}

/// Whether `READY=1` was sent at startup and shutdown has not begun.
pub fn is_ready() -> bool {
    READY_SENT.load(Ordering::Acquire) && !STOPPING.load(Ordering::Acquire)
}

/// Whether shutdown has begun.
pub fn is_stopping() -> bool {
    STOPPING.load(Ordering::Acquire)
}

/// `STATUS=<text>`.
pub fn status(text: &str) {
    let text = one_line(text);
    send(&[NotifyState::Status(&text)]);
}

/// `STATUS=<text>` plus `EXTEND_TIMEOUT_USEC`: a long startup step (a data-directory migration)
/// has begun, so systemd should wait for it.
pub fn status_and_extend(text: &str) {
    let text = one_line(text);
    send(&[NotifyState::Status(&text), extend_state()]);
}

/// The loading status line: `Loading AOF: 45%, 1.2M keys`.
pub fn loading_text(done: u64, total: u64, keys: u64) -> String {
    let pct = if total == 0 {
        0
    } else {
        u64::try_from(u128::from(done.min(total)) * 100 / u128::from(total)).unwrap_or(100)
    };
    format!("Loading AOF: {pct}%, {}", keys_text(keys))
}

/// A key count as people read it: `1 key`, `512 keys`, `12.3K keys`, `1.2M keys`, `3.4G keys`.
pub fn keys_text(keys: u64) -> String {
    let short = |div: f64, unit: &str| format!("{:.1}{unit} keys", keys as f64 / div);
    match keys {
        1 => "1 key".to_string(),
        0..=9_999 => format!("{keys} keys"),
        10_000..=999_999 => short(1e3, "K"),
        1_000_000..=999_999_999 => short(1e6, "M"),
        _ => short(1e9, "G"),
    }
}

/// Loading began (data thread): status and a first timeout extension.
pub fn loading_started(total: u64) {
    if let Ok(mut last) = LAST_LOADING.lock() {
        *last = Some(Instant::now());
    }
    let text = loading_text(0, total, 0);
    send(&[NotifyState::Status(&text), extend_state()]);
}

/// Loading progressed (data thread, after applying what the reading thread sent): at most
/// once a second, the status line and another `EXTEND_TIMEOUT_USEC`. Because only progress
/// extends the timeout, a load that stops progressing still hits `TimeoutStartSec` (plus
/// [`EXTEND_BY`]).
pub fn loading_progress(done: u64, total: u64, keys: u64) {
    let due = match LAST_LOADING.lock() {
        Ok(mut last) => {
            let due = last.is_none_or(|t| t.elapsed() >= LOADING_EVERY);
            if due {
                *last = Some(Instant::now());
            }
            due
        }
        Err(_) => false,
    };
    if due {
        let text = loading_text(done, total, keys);
        send(&[NotifyState::Status(&text), extend_state()]);
    }
}

/// The dataset is loaded (data thread) with `keys` keys.
pub fn data_ready(keys: u64) {
    KEYS_LOADED.store(keys, Ordering::Relaxed);
    DATA_READY.store(true, Ordering::Release);
    maybe_ready();
}

/// The admin API is bound (or disabled).
pub fn admin_ready() {
    ADMIN_READY.store(true, Ordering::Release);
    maybe_ready();
}

/// Sends `READY=1` once both halves are there, and logs the `ready` event.
fn maybe_ready() {
    if !ARMED.load(Ordering::Acquire)
        || !DATA_READY.load(Ordering::Acquire)
        || !ADMIN_READY.load(Ordering::Acquire)
        || STOPPING.load(Ordering::Acquire)
        || READY_SENT.swap(true, Ordering::AcqRel)
    {
        return;
    }
    send(&[NotifyState::Ready, NotifyState::Status(READY_STATUS)]);
    let keys = KEYS_LOADED.load(Ordering::Relaxed);
    tracing::info!(
        aofd_event = "ready",
        keys,
        "aofd is ready: the dataset is loaded ({}) and the data port and admin API accept \
         connections.",
        keys_text(keys)
    );
}

/// Shutdown has begun: `STOPPING=1` (once) with a status line and a timeout extension for the
/// final AOF sync.
pub fn stopping() {
    if STOPPING.swap(true, Ordering::AcqRel) {
        return;
    }
    send(&[
        NotifyState::Stopping,
        NotifyState::Status(STOPPING_STATUS),
        extend_state(),
    ]);
}

/// A reload began: `RELOADING=1` with the monotonic time (which `Type=notify-reload` requires
/// and plain `Type=notify` ignores).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[
            NotifyState::Reloading,
            now,
            NotifyState::Status(RELOADING_STATUS),
        ]),
        Err(_) => send(&[
            NotifyState::Reloading,
            NotifyState::Status(RELOADING_STATUS),
        ]),
    }
}

/// A reload ended: `READY=1` again, with the status line.
pub fn reloaded(status_text: &str) {
    if STOPPING.load(Ordering::Acquire) {
        return;
    }
    let text = one_line(status_text);
    send(&[NotifyState::Ready, NotifyState::Status(&text)]);
}

/// The watchdog interval systemd asked for (`WatchdogSec`), if any.
pub fn watchdog_timeout() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}

/// `WATCHDOG=1`.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// Records that the data thread's event loop turned (called by its heartbeat task).
pub fn heartbeat() {
    HEARTBEAT.fetch_add(1, Ordering::Relaxed);
}

/// The heartbeat counter.
pub fn heartbeats() -> u64 {
    HEARTBEAT.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_counts_read_like_the_issue_says() {
        assert_eq!(keys_text(0), "0 keys");
        assert_eq!(keys_text(1), "1 key");
        assert_eq!(keys_text(9_999), "9999 keys");
        assert_eq!(keys_text(12_345), "12.3K keys");
        assert_eq!(keys_text(1_234_567), "1.2M keys");
        assert_eq!(keys_text(3_400_000_000), "3.4G keys");
        assert_eq!(
            loading_text(45, 100, 1_200_000),
            "Loading AOF: 45%, 1.2M keys"
        );
        assert_eq!(loading_text(0, 0, 0), "Loading AOF: 0%, 0 keys");
        assert_eq!(loading_text(7, 5, 2), "Loading AOF: 100%, 2 keys");
    }

    #[test]
    fn status_is_one_line() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
