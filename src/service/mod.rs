//! aofd as a systemd service: the service thread (watchdog pings, the steady-state status line,
//! SIGHUP reloads), the data thread's heartbeat, and who asked for a change (for the log).
//!
//! - [`notify`]: every `sd_notify` message (readiness, status, timeouts, watchdog).
//! - [`reload`]: re-reading the configuration files and deciding what a reload may change.
//! - [`journal`]: log entries in the journal's native protocol, with structured fields.
//!
//! The watchdog is gated on the data thread, not on a timer: the data thread runs a heartbeat
//! task that bumps a counter whenever its event loop turns, and the service thread sends
//! `WATCHDOG=1` only if the counter moved since the last ping. A data thread that is stuck (a
//! deadlock, an endless command, SIGSTOP) stops the pings, and systemd kills and restarts the
//! process after `WatchdogSec`. Everything here is inert without systemd.

pub mod journal;
pub mod notify;
pub mod reload;

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::server::remote::DataHandle;
use crate::server::rewrite::Phase;
use crate::server::state::ServerState;

/// How often the steady-state status line is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// How long the status refresh waits for the data thread before skipping a round.
const STATUS_WAIT: Duration = Duration::from_secs(2);

thread_local! {
    /// Who asked for the configuration change being applied on this thread, for the log.
    static REQUESTER: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f` with `who` recorded as the requester of the changes it makes (the admin API's
/// client, a reload), so the log lines of those changes can say who asked.
pub fn with_requester<R>(who: &str, f: impl FnOnce() -> R) -> R {
    let previous = REQUESTER.with(|r| r.replace(Some(who.to_string())));
    let result = f();
    REQUESTER.with(|r| *r.borrow_mut() = previous);
    result
}

/// The requester recorded by [`with_requester`] on this thread, if any.
pub fn requester() -> Option<String> {
    REQUESTER.with(|r| r.borrow().clone())
}

/// The data thread's heartbeat (see the module docs), when systemd asked for a watchdog: a
/// task that bumps the counter eight times per watchdog interval. Returns at once otherwise.
pub async fn heartbeat_task() {
    let Some(timeout) = notify::watchdog_timeout() else {
        return;
    };
    let period = (timeout / 8).clamp(Duration::from_millis(5), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        notify::heartbeat();
    }
}

/// Starts the service thread: watchdog pings, the status line once ready, and, given a
/// [`reload::Reloader`], SIGHUP reloads. The SIGHUP handler is installed before this returns,
/// so from then on a SIGHUP reloads instead of killing the process (its default action).
///
/// # Errors
/// The runtime, the signal handler or the thread could not be created.
pub fn start(data: DataHandle, reloader: Option<reload::Reloader>) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let hangup = match reloader {
        Some(reloader) => {
            let _guard = runtime.enter();
            Some((signal(SignalKind::hangup())?, reloader))
        }
        None => None,
    };
    std::thread::Builder::new()
        .name("aofd-service".to_string())
        .spawn(move || {
            runtime.block_on(async move {
                tokio::spawn(watchdog());
                let status = tokio::spawn(refresh_status(data.clone()));
                match hangup {
                    Some((hangup, reloader)) => reloads(hangup, data, reloader).await,
                    None => {
                        let _ = status.await;
                        std::future::pending::<()>().await;
                    }
                }
            });
        })?;
    Ok(())
}

/// Pings the watchdog while the data thread's heartbeat moves. It looks every quarter of the
/// interval (systemd asks for at least every half): a ping skipped because the heartbeat was
/// still would otherwise leave a gap of a whole interval, so the data thread would be allowed
/// to stall for only half of `WatchdogSec`; this way it is killed after a stall of about three
/// quarters of it.
async fn watchdog() {
    let Some(timeout) = notify::watchdog_timeout() else {
        return;
    };
    let every = (timeout / 4).max(Duration::from_millis(1));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = notify::heartbeats();
    let mut stalled_logged = false;
    loop {
        ticker.tick().await;
        let now = notify::heartbeats();
        if now != last {
            last = now;
            stalled_logged = false;
            notify::watchdog();
        } else if !stalled_logged {
            stalled_logged = true;
            tracing::warn!(
                "The data thread has made no progress for over {} ms: the systemd watchdog is \
                 not pinged until it does (systemd restarts aofd after WatchdogSec={} ms).",
                every.as_millis(),
                timeout.as_millis()
            );
        }
    }
}

/// Waits until startup announced `READY=1`; false if shutdown began first.
async fn until_ready() -> bool {
    loop {
        if notify::is_stopping() {
            return false;
        }
        if notify::is_ready() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The steady-state status line, computed on the data thread; `None` if it did not answer in
/// time (the watchdog handles a stuck data thread; the status just skips a round).
async fn current_status(data: &DataHandle) -> Option<String> {
    match tokio::time::timeout(STATUS_WAIT, data.run(|st| steady_status(st))).await {
        Ok(Ok(text)) => Some(text),
        _ => None,
    }
}

/// Keeps `STATUS=` current once the service is ready: at once, then every [`STATUS_EVERY`],
/// sending only when the text changed.
async fn refresh_status(data: DataHandle) {
    if !until_ready().await {
        return;
    }
    let mut last = String::new();
    let mut ticker = tokio::time::interval(STATUS_EVERY);
    loop {
        ticker.tick().await;
        if notify::is_stopping() {
            return;
        }
        if let Some(text) = current_status(&data).await {
            if text != last && !notify::is_stopping() {
                notify::status(&text);
                last = text;
            }
        }
    }
}

/// Serves SIGHUPs: each reloads the configuration (one at a time; a SIGHUP during startup is
/// handled once the dataset is loaded).
async fn reloads(mut hangup: Signal, data: DataHandle, mut reloader: reload::Reloader) {
    while hangup.recv().await.is_some() {
        if !notify::is_ready() {
            tracing::warn!(
                "Received SIGHUP while starting: the configuration is reloaded once the dataset \
                 is loaded."
            );
            if !until_ready().await {
                return;
            }
        }
        if notify::is_stopping() {
            return;
        }
        notify::reloading();
        reload::reload(&data, &mut reloader).await;
        let text = current_status(&data)
            .await
            .unwrap_or_else(|| notify::READY_STATUS.to_string());
        notify::reloaded(&text);
    }
}

/// The steady-state status line, e.g.
/// `Ready: 3 clients, 1.2M keys, appendfsync everysec, last AOF rewrite succeeded 5m ago`.
pub fn steady_status(st: &ServerState) -> String {
    let keys: u64 = st.dbs.iter().map(|d| d.len() as u64).sum();
    let clients = st.clients.len();
    let mut text = format!(
        "Ready: {clients} client{}, {}",
        if clients == 1 { "" } else { "s" },
        notify::keys_text(keys)
    );
    if !st.config.appendonly {
        text.push_str(", AOF off");
        return text;
    }
    let _ = write!(text, ", appendfsync {}, ", st.config.appendfsync.name());
    let now = crate::server::state::now_ms();
    if let Some(r) = st.rewrite.current() {
        let pct = (r.keys_done.min(r.keys_total) * 100)
            .checked_div(r.keys_total)
            .unwrap_or(0);
        let _ = write!(text, "AOF rewrite {} running ({pct}%)", r.id);
    } else if let Some(r) = st.rewrite.history.back() {
        let ended = r
            .started_unix_ms
            .saturating_add(i64::try_from(r.duration_ms.unwrap_or(0)).unwrap_or(0));
        let ago = ago_text(now.saturating_sub(ended));
        let what = match r.phase {
            Phase::Succeeded => "succeeded",
            Phase::Failed => "failed",
            Phase::Writing | Phase::Killed | Phase::Cancelled => "was stopped",
        };
        let _ = write!(text, "last AOF rewrite {what} {ago} ago");
    } else {
        text.push_str("no AOF rewrite yet");
    }
    if st.aof.misconf().is_some() {
        text.push_str("; AOF write error, writes refused");
    }
    text
}

/// A duration in milliseconds as `12s`, `5m`, `3h`, `2d`.
fn ago_text(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn requester_is_scoped() {
        assert_eq!(requester(), None);
        let inner = with_requester("a reload", || {
            with_requester("nested", requester);
            requester()
        });
        assert_eq!(inner.as_deref(), Some("a reload"));
        assert_eq!(requester(), None);
    }

    #[test]
    fn ago_reads_naturally() {
        assert_eq!(ago_text(-5), "0s");
        assert_eq!(ago_text(59_999), "59s");
        assert_eq!(ago_text(300_000), "5m");
        assert_eq!(ago_text(7_200_000), "2h");
        assert_eq!(ago_text(200_000_000), "2d");
    }

    #[test]
    fn steady_status_texts() {
        let mut st = ServerState::new(Config::default());
        assert_eq!(steady_status(&st), "Ready: 0 clients, 0 keys, AOF off");
        st.config.appendonly = true;
        assert_eq!(
            steady_status(&st),
            "Ready: 0 clients, 0 keys, appendfsync everysec, no AOF rewrite yet"
        );
        st.dbs[0].set(b"k", crate::db::Value::Str(b"v".to_vec()));
        assert!(steady_status(&st).starts_with("Ready: 0 clients, 1 key, "));
    }
}
