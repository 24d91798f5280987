//! `GET /metrics`: the Prometheus text exposition of aofd's counters and gauges, rendered by
//! `metrics-exporter-prometheus` on our own axum route.
//!
//! The data thread runs ~150k commands per second, so nothing here adds work to a command:
//! the server already counts what INFO shows, and a scrape runs one data-thread job
//! ([`Snapshot::take`]) that copies those numbers. They are then published on the admin thread
//! (gauges set, counters advanced by what changed since the last scrape, see [`Published`])
//! and everything is rendered. Only events far from the command path record into the
//! process-global recorder directly: each fdatasync on the fsync worker thread, each finished
//! rewrite, and backups (the backup module's counters).
//!
//! The recorder is process-global and installed once ([`install`], when the admin API
//! starts); its upkeep runs on the admin runtime ([`upkeep`]). Without an admin API nothing is
//! installed, and the direct recordings go to the `metrics` crate's no-op recorder.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::{Label, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

use self::Kind::{Counter, Gauge, Histogram};
use super::error::ApiError;
use super::AppState;
use crate::server::background::ChildKind;
use crate::server::state::ServerState;
use crate::server::stats::CommandStat;

/// The exposition format's content type (Prometheus text format 0.0.4).
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// fdatasync latency, recorded by the fsync worker (`aof::fsync`) after every call.
pub const FSYNC_DURATION: &str = "aofd_aof_fsync_duration_seconds";
/// Duration of each successful rewrite, recorded when it finishes (`server::rewrite`).
pub const REWRITE_DURATION: &str = "aofd_aof_rewrite_duration_seconds";
/// Backups taken, counted by the backup module.
pub const BACKUPS: &str = "aofd_backups_total";
/// Bytes of backups streamed, counted by the backup module.
pub const BACKUP_BYTES: &str = "aofd_backup_bytes_total";

/// fdatasync latency buckets (seconds): from a fast NVMe (100 µs) to a stalled disk (10 s).
const FSYNC_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Rewrite duration buckets (seconds): a small dataset to an hour.
const REWRITE_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];
/// Buckets for any other histogram, so none renders as a summary.
const DEFAULT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0,
];
/// Error codes published at most (as Redis's errorstats): codes come from server messages,
/// but a cap keeps the label set bounded whatever happens.
const MAX_ERROR_CODES: usize = 128;

/// The kind of a metric, for its `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (resets with the process).
    Counter,
    /// A current value.
    Gauge,
    /// Observations in buckets.
    Histogram,
}

/// One metric aofd exports: the list the `# HELP` lines and the API docs come from.
#[derive(Clone, Copy, Debug)]
pub struct Def {
    /// Its name.
    pub name: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// Its unit.
    pub unit: Unit,
    /// Its labels.
    pub labels: &'static [&'static str],
    /// What it measures (the HELP text).
    pub help: &'static str,
}

const fn def(
    name: &'static str,
    kind: Kind,
    unit: Unit,
    labels: &'static [&'static str],
    help: &'static str,
) -> Def {
    Def {
        name,
        kind,
        unit,
        labels,
        help,
    }
}

/// Every metric aofd exports.
#[rustfmt::skip]
pub const DEFS: &[Def] = &[
    def("aofd_build_info", Gauge, Unit::Count, &["version", "redis_version"],
        "Always 1; the labels name the aofd version and the Redis version it follows."),
    def("aofd_uptime_seconds", Gauge, Unit::Seconds, &[], "Seconds since the server started."),
    def("aofd_commands_total", Counter, Unit::Count, &["cmd"],
        "Commands executed, by command name (INFO commandstats calls)."),
    def("aofd_command_failures_total", Counter, Unit::Count, &["cmd"],
        "Commands that ran and replied with an error (INFO commandstats failed_calls)."),
    def("aofd_command_rejections_total", Counter, Unit::Count, &["cmd"],
        "Commands refused before running: arity, -LOADING, -MISCONF... (rejected_calls)."),
    def("aofd_error_replies_total", Counter, Unit::Count, &["code"],
        "Error replies by error code (INFO errorstats)."),
    def("aofd_connections_received_total", Counter, Unit::Count, &[],
        "Client connections accepted."),
    def("aofd_rejected_connections_total", Counter, Unit::Count, &[],
        "Client connections refused because of maxclients."),
    def("aofd_expired_keys_total", Counter, Unit::Count, &[],
        "Keys deleted because their TTL passed."),
    def("aofd_keyspace_hits_total", Counter, Unit::Count, &[], "Key lookups that found the key."),
    def("aofd_keyspace_misses_total", Counter, Unit::Count, &[], "Key lookups that found nothing."),
    def("aofd_net_input_bytes_total", Counter, Unit::Bytes, &[], "Bytes read from clients."),
    def("aofd_net_output_bytes_total", Counter, Unit::Bytes, &[], "Bytes written to clients."),
    def("aofd_connected_clients", Gauge, Unit::Count, &[], "Connected clients."),
    def("aofd_blocked_clients", Gauge, Unit::Count, &[],
        "Clients blocked on keys (BLPOP, BZPOPMIN...)."),
    def("aofd_keys", Gauge, Unit::Count, &["db"],
        "Keys in each database (databases 0 to the highest one that held a key)."),
    def("aofd_expiring_keys", Gauge, Unit::Count, &["db"], "Keys with a TTL in each database."),
    def("aofd_used_memory_bytes", Gauge, Unit::Bytes, &[],
        "Bytes allocated by the allocator (INFO used_memory)."),
    def("aofd_resident_memory_bytes", Gauge, Unit::Bytes, &[],
        "Resident set size of the process (INFO used_memory_rss)."),
    def("aofd_aof_enabled", Gauge, Unit::Count, &[],
        "1 when the AOF is on and loading is over (INFO aof_enabled)."),
    def("aofd_aof_fsync_policy", Gauge, Unit::Count, &["policy"],
        "1 for the appendfsync policy in force (always, everysec, no), 0 for the others."),
    def("aofd_aof_current_size_bytes", Gauge, Unit::Bytes, &[],
        "Size of the BASE and every INCR file (INFO aof_current_size)."),
    def("aofd_aof_base_size_bytes", Gauge, Unit::Bytes, &[],
        "Size of the BASE file at load or last rewrite (INFO aof_base_size)."),
    def("aofd_aof_buffered_bytes", Gauge, Unit::Bytes, &[],
        "Bytes appended to the AOF buffer but not yet written (INFO aof_buffer_length)."),
    def("aofd_aof_unsynced_bytes", Gauge, Unit::Bytes, &[],
        "Bytes written to the AOF but not yet fdatasync'ed."),
    def("aofd_aof_unsynced_age_seconds", Gauge, Unit::Seconds, &[],
        "Age of the oldest written but not yet fdatasync'ed byte (0 when none)."),
    def(FSYNC_DURATION, Histogram, Unit::Seconds, &[],
        "Latency of each fdatasync of the AOF (successful or failed)."),
    def("aofd_aof_fsyncs_total", Counter, Unit::Count, &[],
        "Successful fdatasync calls on the AOF."),
    def("aofd_aof_fsync_failures_total", Counter, Unit::Count, &[],
        "Failed fdatasync calls on the AOF."),
    def("aofd_aof_fsync_in_progress", Gauge, Unit::Count, &[],
        "1 while an fdatasync runs (INFO aof_pending_bio_fsync)."),
    def("aofd_aof_write_error", Gauge, Unit::Count, &[],
        "1 while an AOF write or fsync error is unresolved and writes are refused \
        (INFO aof_last_write_status:err)."),
    def("aofd_aof_rewrites_total", Counter, Unit::Count, &[],
        "AOF rewrites started (INFO aof_rewrites)."),
    def("aofd_aof_rewrite_failures_total", Counter, Unit::Count, &[],
        "AOF rewrites that failed (not counting killed or cancelled ones)."),
    def("aofd_aof_rewrite_consecutive_failures", Gauge, Unit::Count, &[],
        "AOF rewrites failed in a row (INFO aof_rewrites_consecutive_failures)."),
    def("aofd_aof_rewrite_last_failed", Gauge, Unit::Count, &[],
        "1 when the last AOF rewrite failed (INFO aof_last_bgrewrite_status:err)."),
    def("aofd_aof_rewrite_in_progress", Gauge, Unit::Count, &[],
        "1 while an AOF rewrite child runs."),
    def("aofd_aof_rewrite_scheduled", Gauge, Unit::Count, &[],
        "1 while an AOF rewrite waits for another child to finish."),
    def("aofd_aof_rewrite_last_duration_seconds", Gauge, Unit::Seconds, &[],
        "How long the last AOF rewrite took, whatever its outcome (0 before the first)."),
    def(REWRITE_DURATION, Histogram, Unit::Seconds, &[],
        "Duration of each successful AOF rewrite."),
    def("aofd_aof_rewrite_cow_bytes", Gauge, Unit::Bytes, &[],
        "Copy-on-write memory of the running rewrite child (0 when none)."),
    def("aofd_aof_rewrite_last_cow_bytes", Gauge, Unit::Bytes, &[],
        "Copy-on-write memory of the last rewrite child (INFO aof_last_cow_size)."),
    def("aofd_rdb_saves_total", Counter, Unit::Count, &[], "RDB saves (INFO rdb_saves)."),
    def("aofd_rdb_bgsave_in_progress", Gauge, Unit::Count, &[], "1 while a BGSAVE child runs."),
    def("aofd_rdb_last_bgsave_failed", Gauge, Unit::Count, &[],
        "1 when the last BGSAVE failed (INFO rdb_last_bgsave_status:err)."),
    def("aofd_rdb_last_save_timestamp_seconds", Gauge, Unit::Seconds, &[],
        "Unix time of the last successful RDB save (INFO rdb_last_save_time)."),
    def("aofd_rdb_changes_since_last_save", Gauge, Unit::Count, &[],
        "Changes to the dataset since the last save (INFO rdb_changes_since_last_save)."),
    def("aofd_rdb_last_cow_bytes", Gauge, Unit::Bytes, &[],
        "Copy-on-write memory of the last BGSAVE child (INFO rdb_last_cow_size)."),
    def("aofd_forks_total", Counter, Unit::Count, &[],
        "Child processes forked (INFO total_forks)."),
    def("aofd_latest_fork_seconds", Gauge, Unit::Seconds, &[],
        "How long the latest fork took (INFO latest_fork_usec)."),
    def("aofd_loading", Gauge, Unit::Count, &[], "1 while the dataset loads from disk."),
    def("aofd_loading_loaded_bytes", Gauge, Unit::Bytes, &[],
        "Bytes of the AOF applied so far by the running load (0 when not loading)."),
    def("aofd_loading_total_bytes", Gauge, Unit::Bytes, &[],
        "Bytes of the AOF files the running load reads (0 when not loading)."),
    def(BACKUPS, Counter, Unit::Count, &[], "Backups taken through the admin API."),
    def(BACKUP_BYTES, Counter, Unit::Bytes, &[], "Bytes of backups sent through the admin API."),
];

/// The installed exporter: its handle, and what the counters were at the last scrape.
struct Exporter {
    handle: PrometheusHandle,
    /// Held for a whole scrape (snapshot, publish, render), so two concurrent scrapes cannot
    /// publish their snapshots in the wrong order (an older, smaller value would look like a
    /// reset of the counter).
    published: tokio::sync::Mutex<Published>,
}

static EXPORTER: OnceLock<Result<Exporter, String>> = OnceLock::new();

/// The exporter's configuration: explicit buckets, or histograms would render as summaries.
fn builder() -> PrometheusBuilder {
    // These fail only for an empty bucket list, and the lists are constants.
    let with_buckets = PrometheusBuilder::new()
        .set_buckets(DEFAULT_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(FSYNC_DURATION.into()), FSYNC_BUCKETS))
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(REWRITE_DURATION.into()), REWRITE_BUCKETS)
        });
    with_buckets.unwrap_or_else(|_| PrometheusBuilder::new())
}

/// Describes every metric (HELP lines, units) and creates the series that must show before
/// their first event: the backup counters, and the build info.
fn register() {
    for d in DEFS {
        let (name, unit, help) = (d.name, d.unit, d.help);
        match d.kind {
            Counter => metrics::describe_counter!(name, unit, help),
            Gauge => metrics::describe_gauge!(name, unit, help),
            Histogram => metrics::describe_histogram!(name, unit, help),
        }
    }
    metrics::counter!(BACKUPS).increment(0);
    metrics::counter!(BACKUP_BYTES).increment(0);
    metrics::gauge!(
        "aofd_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "redis_version" => crate::server::info::REDIS_VERSION
    )
    .set(1.0);
}

/// Installs the process-global recorder, once; later calls do nothing. Called when the admin
/// API starts, so what the fsync worker records from then on is kept.
pub fn install() {
    let result = EXPORTER.get_or_init(|| {
        let handle = builder()
            .install_recorder()
            .map_err(|e| format!("Could not install the metrics recorder: {e}"))?;
        register();
        Ok(Exporter {
            handle,
            published: tokio::sync::Mutex::new(Published::default()),
        })
    });
    if let Err(e) = result {
        tracing::warn!("{e}; /metrics will answer 503.");
    }
}

/// Keeps the recorder's memory bounded (histogram samples are drained into their buckets)
/// when nobody scrapes; runs on the admin runtime until `stop` is cancelled.
pub async fn upkeep(stop: CancellationToken) {
    let Some(Ok(exporter)) = EXPORTER.get() else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => exporter.handle.run_upkeep(),
            () = stop.cancelled() => return,
        }
    }
}

/// The `/metrics` route (public or behind the token, per `admin-metrics-auth`).
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(app): State<AppState>) -> Result<Response, ApiError> {
    let exporter = match EXPORTER.get() {
        Some(Ok(exporter)) => exporter,
        Some(Err(e)) => return Err(ApiError::unavailable("metrics_unavailable", e.clone())),
        None => {
            return Err(ApiError::unavailable(
                "metrics_unavailable",
                "The metrics recorder is not installed.",
            ))
        }
    };
    let mut published = exporter.published.lock().await;
    let mut snapshot = app.data.run(|st| Snapshot::take(st)).await?;
    // Process-wide figures are read off the data thread, and off the admin runtime's only
    // thread too: mallinfo2 walks every arena, tens of milliseconds on a large heap.
    let memory = tokio::task::spawn_blocking(|| {
        (
            crate::server::info::used_memory(),
            crate::server::info::resident_memory(),
        )
    })
    .await;
    (snapshot.used_memory, snapshot.resident_memory) = memory.unwrap_or((0, 0));
    published.publish(&snapshot);
    let body = exporter.handle.render();
    drop(published);
    Ok(([(CONTENT_TYPE, CONTENT_TYPE_TEXT)], body).into_response())
}

/// The AOF writer's figures.
#[derive(Clone, Debug, Default)]
pub struct WriterSnapshot {
    /// Appended, not yet written.
    pub buffered: u64,
    /// Written, not yet durable.
    pub unsynced: u64,
    /// Age of the oldest unsynced byte (seconds).
    pub unsynced_age: f64,
    /// Successful fdatasyncs since the writer opened.
    pub fsyncs: u64,
    /// Failed fdatasyncs since the writer opened.
    pub fsync_failures: u64,
    /// An fdatasync runs.
    pub fsync_in_flight: bool,
    /// A write or fsync error is unresolved.
    pub in_error: bool,
}

/// What a scrape publishes: copies of the counters the data thread keeps, taken in one job.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Seconds since start.
    pub uptime: f64,
    /// Per-command statistics, by full command name.
    pub commands: Vec<(&'static str, CommandStat)>,
    /// Error replies by code.
    pub errors: Vec<(String, u64)>,
    /// Connections accepted.
    pub connections_received: u64,
    /// Connections refused (maxclients).
    pub rejected_connections: u64,
    /// Keys expired.
    pub expired_keys: u64,
    /// Lookups that found a key.
    pub keyspace_hits: u64,
    /// Lookups that found nothing.
    pub keyspace_misses: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Connected clients.
    pub connected_clients: u64,
    /// Blocked clients.
    pub blocked_clients: u64,
    /// (keys, keys with a TTL) per database.
    pub keys: Vec<(u64, u64)>,
    /// INFO used_memory (filled in off the data thread).
    pub used_memory: u64,
    /// Resident memory (filled in off the data thread).
    pub resident_memory: u64,
    /// INFO aof_enabled.
    pub aof_enabled: bool,
    /// `appendfsync`.
    pub fsync_policy: &'static str,
    /// INFO aof_current_size.
    pub aof_current_size: u64,
    /// INFO aof_base_size.
    pub aof_base_size: u64,
    /// The writer, while one is open.
    pub writer: Option<WriterSnapshot>,
    /// INFO aof_rewrites.
    pub rewrites: u64,
    /// Rewrites that failed.
    pub rewrite_failures: u64,
    /// INFO aof_rewrites_consecutive_failures.
    pub rewrite_consecutive_failures: u32,
    /// INFO aof_last_bgrewrite_status is err.
    pub rewrite_last_failed: bool,
    /// A rewrite child runs.
    pub rewrite_in_progress: bool,
    /// A rewrite is scheduled.
    pub rewrite_scheduled: bool,
    /// The last finished rewrite's duration (seconds).
    pub rewrite_last_duration: f64,
    /// The running rewrite child's COW bytes.
    pub rewrite_cow: u64,
    /// INFO aof_last_cow_size.
    pub rewrite_last_cow: u64,
    /// INFO rdb_saves.
    pub rdb_saves: u64,
    /// A BGSAVE child runs.
    pub rdb_in_progress: bool,
    /// INFO rdb_last_bgsave_status is err.
    pub rdb_last_failed: bool,
    /// INFO rdb_last_save_time.
    pub rdb_last_save: i64,
    /// INFO rdb_changes_since_last_save.
    pub rdb_changes: u64,
    /// INFO rdb_last_cow_size.
    pub rdb_last_cow: u64,
    /// INFO total_forks.
    pub forks: u64,
    /// INFO latest_fork_usec.
    pub latest_fork_usec: u64,
    /// The dataset is loading.
    pub loading: bool,
    /// (loaded, total) bytes of the running load.
    pub loading_bytes: (u64, u64),
}

impl Snapshot {
    /// Copies the figures; runs on the data thread, so it only copies (no system calls, no
    /// walks over the keyspace: O(commands + databases)).
    pub fn take(st: &ServerState) -> Snapshot {
        let s = &st.stats;
        let child = st.background.child.as_ref();
        let rewrite_child = child.filter(|c| c.kind == ChildKind::AofRewrite);
        let rw = &st.rewrite;
        Snapshot {
            uptime: st.started.elapsed().as_secs_f64(),
            commands: s
                .commands
                .sorted()
                .into_iter()
                .map(|(name, stat)| (name, *stat))
                .collect(),
            errors: s
                .errors
                .iter()
                .take(MAX_ERROR_CODES)
                .map(|(code, n)| (code.clone(), *n))
                .collect(),
            connections_received: s.total_connections_received,
            rejected_connections: s.rejected_connections,
            expired_keys: s.expired_keys,
            keyspace_hits: s.keyspace_hits,
            keyspace_misses: s.keyspace_misses,
            net_input_bytes: s.net_input_bytes,
            net_output_bytes: s.net_output_bytes,
            connected_clients: st.clients.len() as u64,
            blocked_clients: st.blocking.waiters.len() as u64,
            keys: st
                .dbs
                .iter()
                .map(|db| (db.len() as u64, db.expires.len() as u64))
                .collect(),
            used_memory: 0,
            resident_memory: 0,
            aof_enabled: st.aof.writer.is_some() || st.aof.wait_rewrite,
            fsync_policy: st.config.appendfsync.name(),
            aof_current_size: st.aof.current_size(),
            aof_base_size: st.aof.base_size,
            writer: st.aof.writer.as_ref().map(|w| {
                let ws = w.stats();
                WriterSnapshot {
                    buffered: ws.buffer_len,
                    unsynced: ws.unsynced_bytes,
                    unsynced_age: ws.unsynced_age.map_or(0.0, |a| a.as_secs_f64()),
                    fsyncs: ws.fsyncs,
                    fsync_failures: ws.fsync_failures,
                    fsync_in_flight: ws.fsync_in_flight,
                    in_error: w.in_error(),
                }
            }),
            rewrites: rw.attempts,
            rewrite_failures: rw.failures,
            rewrite_consecutive_failures: rw.consecutive_failures,
            rewrite_last_failed: !rw.last_ok,
            rewrite_in_progress: rewrite_child.is_some(),
            rewrite_scheduled: rw.scheduled,
            rewrite_last_duration: rw
                .history
                .back()
                .and_then(|r| r.duration_ms)
                .map_or(0.0, |ms| ms as f64 / 1000.0),
            rewrite_cow: rewrite_child.map_or(0, |c| c.cow),
            rewrite_last_cow: rw.last_cow,
            rdb_saves: st.rdb.saves,
            rdb_in_progress: child.is_some_and(|c| c.kind == ChildKind::RdbSave),
            rdb_last_failed: !st.rdb.last_bgsave_ok,
            rdb_last_save: st.rdb.last_save,
            rdb_changes: s.dirty,
            rdb_last_cow: st.rdb.last_cow,
            forks: st.background.total_forks,
            latest_fork_usec: st.background.latest_fork_usec,
            loading: st.loading,
            loading_bytes: st
                .aof
                .loading
                .as_ref()
                .map_or((0, 0), |l| (l.loaded_bytes, l.total_bytes)),
        }
    }
}

/// What each counter series was at the last scrape, to turn the server's counters into
/// Prometheus counters.
///
/// The server's counters can go back to zero (CONFIG RESETSTAT clears the command and error
/// statistics; the fsync counts restart with each writer), while a Prometheus counter must
/// only go up. So each scrape adds the increase since the last one, and a value below the
/// last one is taken as a reset followed by that many events: the exported counter counts
/// every event of the process (less any made between a scrape and a reset).
#[derive(Debug, Default)]
pub struct Published {
    last: HashMap<String, u64>,
    /// Databases shown: up to the highest one that ever held a key (at least db 0), so a
    /// server with many empty databases adds few lines, and an emptied one shows 0.
    dbs_shown: usize,
}

/// The labels of one series.
type Labels<'a> = &'a [(&'static str, &'a str)];

fn series_key(name: &str, labels: Labels<'_>) -> String {
    let mut key = String::from(name);
    for (k, v) in labels {
        key.push('\0');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

fn to_labels(labels: Labels<'_>) -> Vec<Label> {
    labels
        .iter()
        .map(|(k, v)| Label::new(*k, (*v).to_string()))
        .collect()
}

fn gauge(name: &'static str, labels: Labels<'_>, value: f64) {
    metrics::gauge!(name, to_labels(labels)).set(value);
}

fn flag(name: &'static str, value: bool) {
    gauge(name, &[], if value { 1.0 } else { 0.0 });
}

impl Published {
    /// Advances the counter series to the server's `value` (see the type's docs). A labelled
    /// series appears with its first event, so idle commands add no lines.
    fn counter(&mut self, name: &'static str, labels: Labels<'_>, value: u64) {
        let key = series_key(name, labels);
        let previous = self.last.get(&key).copied();
        if previous.is_none() && value == 0 && !labels.is_empty() {
            return;
        }
        self.last.insert(key, value);
        let increase = match previous {
            Some(p) if value >= p => value - p,
            _ => value,
        };
        metrics::counter!(name, to_labels(labels)).increment(increase);
    }

    /// Publishes `s` into the current recorder.
    pub fn publish(&mut self, s: &Snapshot) {
        gauge("aofd_uptime_seconds", &[], s.uptime);
        let mut by_name: Vec<(&str, CommandStat)> = Vec::with_capacity(s.commands.len());
        for (name, stat) in &s.commands {
            // One line per name, even if the table ever held the name twice.
            match by_name.last_mut() {
                Some((last, sum)) if last == name => {
                    sum.calls += stat.calls;
                    sum.failed_calls += stat.failed_calls;
                    sum.rejected_calls += stat.rejected_calls;
                }
                _ => by_name.push((name, *stat)),
            }
        }
        for (name, stat) in &by_name {
            let labels = [("cmd", *name)];
            self.counter("aofd_commands_total", &labels, stat.calls);
            self.counter("aofd_command_failures_total", &labels, stat.failed_calls);
            self.counter(
                "aofd_command_rejections_total",
                &labels,
                stat.rejected_calls,
            );
        }
        for (code, n) in &s.errors {
            self.counter("aofd_error_replies_total", &[("code", code)], *n);
        }
        for (name, value) in [
            ("aofd_connections_received_total", s.connections_received),
            ("aofd_rejected_connections_total", s.rejected_connections),
            ("aofd_expired_keys_total", s.expired_keys),
            ("aofd_keyspace_hits_total", s.keyspace_hits),
            ("aofd_keyspace_misses_total", s.keyspace_misses),
            ("aofd_net_input_bytes_total", s.net_input_bytes),
            ("aofd_net_output_bytes_total", s.net_output_bytes),
            ("aofd_aof_rewrites_total", s.rewrites),
            ("aofd_aof_rewrite_failures_total", s.rewrite_failures),
            ("aofd_rdb_saves_total", s.rdb_saves),
            ("aofd_forks_total", s.forks),
        ] {
            self.counter(name, &[], value);
        }
        gauge("aofd_connected_clients", &[], s.connected_clients as f64);
        gauge("aofd_blocked_clients", &[], s.blocked_clients as f64);
        let in_use = s
            .keys
            .iter()
            .rposition(|(keys, _)| *keys > 0)
            .map_or(1, |i| i + 1);
        self.dbs_shown = self.dbs_shown.max(in_use);
        for (db, (keys, expires)) in s.keys.iter().take(self.dbs_shown).enumerate() {
            let db = db.to_string();
            gauge("aofd_keys", &[("db", &db)], *keys as f64);
            gauge("aofd_expiring_keys", &[("db", &db)], *expires as f64);
        }
        gauge("aofd_used_memory_bytes", &[], s.used_memory as f64);
        gauge("aofd_resident_memory_bytes", &[], s.resident_memory as f64);
        self.publish_aof(s);
        flag("aofd_rdb_bgsave_in_progress", s.rdb_in_progress);
        flag("aofd_rdb_last_bgsave_failed", s.rdb_last_failed);
        gauge(
            "aofd_rdb_last_save_timestamp_seconds",
            &[],
            s.rdb_last_save as f64,
        );
        gauge(
            "aofd_rdb_changes_since_last_save",
            &[],
            s.rdb_changes as f64,
        );
        gauge("aofd_rdb_last_cow_bytes", &[], s.rdb_last_cow as f64);
        gauge(
            "aofd_latest_fork_seconds",
            &[],
            s.latest_fork_usec as f64 / 1e6,
        );
        flag("aofd_loading", s.loading);
        gauge("aofd_loading_loaded_bytes", &[], s.loading_bytes.0 as f64);
        gauge("aofd_loading_total_bytes", &[], s.loading_bytes.1 as f64);
    }

    fn publish_aof(&mut self, s: &Snapshot) {
        flag("aofd_aof_enabled", s.aof_enabled);
        for policy in ["always", "everysec", "no"] {
            let on = if policy == s.fsync_policy { 1.0 } else { 0.0 };
            gauge("aofd_aof_fsync_policy", &[("policy", policy)], on);
        }
        gauge(
            "aofd_aof_current_size_bytes",
            &[],
            s.aof_current_size as f64,
        );
        gauge("aofd_aof_base_size_bytes", &[], s.aof_base_size as f64);
        // Without a writer (AOF off, loading) nothing is buffered or unsynced; the fsync
        // counters keep their totals and continue with the next writer.
        let w = s.writer.clone().unwrap_or_default();
        gauge("aofd_aof_buffered_bytes", &[], w.buffered as f64);
        gauge("aofd_aof_unsynced_bytes", &[], w.unsynced as f64);
        gauge("aofd_aof_unsynced_age_seconds", &[], w.unsynced_age);
        flag("aofd_aof_fsync_in_progress", w.fsync_in_flight);
        flag("aofd_aof_write_error", w.in_error);
        if let Some(w) = &s.writer {
            self.counter("aofd_aof_fsyncs_total", &[], w.fsyncs);
            self.counter("aofd_aof_fsync_failures_total", &[], w.fsync_failures);
        } else {
            self.counter(
                "aofd_aof_fsyncs_total",
                &[],
                self.last_or_zero("aofd_aof_fsyncs_total"),
            );
            self.counter(
                "aofd_aof_fsync_failures_total",
                &[],
                self.last_or_zero("aofd_aof_fsync_failures_total"),
            );
        }
        gauge(
            "aofd_aof_rewrite_consecutive_failures",
            &[],
            f64::from(s.rewrite_consecutive_failures),
        );
        flag("aofd_aof_rewrite_last_failed", s.rewrite_last_failed);
        flag("aofd_aof_rewrite_in_progress", s.rewrite_in_progress);
        flag("aofd_aof_rewrite_scheduled", s.rewrite_scheduled);
        gauge(
            "aofd_aof_rewrite_last_duration_seconds",
            &[],
            s.rewrite_last_duration,
        );
        gauge("aofd_aof_rewrite_cow_bytes", &[], s.rewrite_cow as f64);
        gauge(
            "aofd_aof_rewrite_last_cow_bytes",
            &[],
            s.rewrite_last_cow as f64,
        );
    }

    fn last_or_zero(&self, name: &str) -> u64 {
        self.last.get(name).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Publishes `snapshots` in order into a private recorder and returns the rendering.
    fn render(snapshots: &[Snapshot]) -> String {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        let mut published = Published::default();
        metrics::with_local_recorder(&recorder, || {
            register();
            for s in snapshots {
                published.publish(s);
            }
        });
        handle.render()
    }

    fn value(text: &str, series: &str) -> Option<String> {
        text.lines().find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')
                .map(str::to_string)
        })
    }

    fn commands(calls: u64, failed: u64) -> Vec<(&'static str, CommandStat)> {
        vec![(
            "set",
            CommandStat {
                calls,
                usec: 0,
                rejected_calls: 0,
                failed_calls: failed,
            },
        )]
    }

    #[test]
    fn every_def_has_a_conventional_name() {
        let mut seen = std::collections::HashSet::new();
        for d in DEFS {
            assert!(d.name.starts_with("aofd_"), "{}", d.name);
            assert!(seen.insert(d.name), "{} twice", d.name);
            assert_eq!(d.kind == Counter, d.name.ends_with("_total"), "{}", d.name);
            if d.unit == Unit::Seconds {
                assert!(d.name.ends_with("_seconds"), "{}", d.name);
            }
            if d.unit == Unit::Bytes {
                assert!(d.name.contains("_bytes"), "{}", d.name);
            }
        }
    }

    #[test]
    fn counters_survive_resets_of_the_server_statistics() {
        let mut a = Snapshot {
            commands: commands(5, 0),
            ..Snapshot::default()
        };
        let mut b = a.clone();
        b.commands = commands(8, 1);
        // CONFIG RESETSTAT, then two more SETs.
        let mut c = a.clone();
        c.commands = commands(2, 0);
        a.writer = Some(WriterSnapshot {
            fsyncs: 4,
            ..WriterSnapshot::default()
        });
        // The AOF was turned off, then on again: a new writer counts from zero.
        let off = Snapshot::default();
        let on = Snapshot {
            writer: Some(WriterSnapshot {
                fsyncs: 1,
                ..WriterSnapshot::default()
            }),
            commands: c.commands.clone(),
            ..Snapshot::default()
        };
        let text = render(&[a, b, c, off, on]);
        assert_eq!(
            value(&text, "aofd_commands_total{cmd=\"set\"}").as_deref(),
            Some("10")
        );
        assert_eq!(
            value(&text, "aofd_command_failures_total{cmd=\"set\"}").as_deref(),
            Some("1")
        );
        // A command that never got rejected has no rejection line.
        assert!(!text.contains("aofd_command_rejections_total{"), "{text}");
        assert_eq!(value(&text, "aofd_aof_fsyncs_total").as_deref(), Some("5"));
    }

    #[test]
    fn gauges_and_descriptions_render() {
        let s = Snapshot {
            keys: vec![(3, 1), (0, 0), (1, 0), (0, 0)],
            fsync_policy: "always",
            loading: true,
            loading_bytes: (10, 100),
            ..Snapshot::default()
        };
        let text = render(&[s]);
        assert_eq!(value(&text, "aofd_keys{db=\"0\"}").as_deref(), Some("3"));
        assert_eq!(value(&text, "aofd_keys{db=\"1\"}").as_deref(), Some("0"));
        assert_eq!(value(&text, "aofd_keys{db=\"2\"}").as_deref(), Some("1"));
        // Databases above the highest one in use are left out.
        assert!(!text.contains("aofd_keys{db=\"3\"}"), "{text}");
        assert_eq!(
            value(&text, "aofd_expiring_keys{db=\"0\"}").as_deref(),
            Some("1")
        );
        assert_eq!(
            value(&text, "aofd_aof_fsync_policy{policy=\"always\"}").as_deref(),
            Some("1")
        );
        assert_eq!(
            value(&text, "aofd_aof_fsync_policy{policy=\"no\"}").as_deref(),
            Some("0")
        );
        assert_eq!(value(&text, "aofd_loading").as_deref(), Some("1"));
        assert_eq!(
            value(&text, "aofd_loading_total_bytes").as_deref(),
            Some("100")
        );
        assert_eq!(value(&text, BACKUPS).as_deref(), Some("0"));
        assert!(text.contains("# TYPE aofd_keys gauge"), "{text}");
        assert!(text.contains("# TYPE aofd_backups_total counter"), "{text}");
        assert!(
            text.contains("# HELP aofd_keys Keys in each database"),
            "{text}"
        );
    }

    #[test]
    fn every_rendered_metric_is_described_and_every_described_one_renders() {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        let s = Snapshot {
            commands: vec![(
                "get",
                CommandStat {
                    calls: 1,
                    usec: 0,
                    rejected_calls: 1,
                    failed_calls: 1,
                },
            )],
            errors: vec![("ERR".to_string(), 1)],
            keys: vec![(0, 0)],
            writer: Some(WriterSnapshot::default()),
            ..Snapshot::default()
        };
        metrics::with_local_recorder(&recorder, || {
            register();
            Published::default().publish(&s);
            metrics::histogram!(FSYNC_DURATION).record(0.001);
            metrics::histogram!(REWRITE_DURATION).record(1.0);
        });
        let text = handle.render();
        let rendered: std::collections::BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next())
            .collect();
        let described: std::collections::BTreeSet<&str> = DEFS.iter().map(|d| d.name).collect();
        assert_eq!(rendered, described);
        for d in DEFS {
            let kind = match d.kind {
                Counter => "counter",
                Gauge => "gauge",
                Histogram => "histogram",
            };
            assert!(
                text.contains(&format!("# TYPE {} {kind}\n", d.name)),
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn histograms_have_buckets() {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            register();
            metrics::histogram!(FSYNC_DURATION).record(0.0003);
            metrics::histogram!(FSYNC_DURATION).record(0.02);
        });
        let text = handle.render();
        assert!(
            text.contains("# TYPE aofd_aof_fsync_duration_seconds histogram"),
            "{text}"
        );
        assert_eq!(
            value(
                &text,
                "aofd_aof_fsync_duration_seconds_bucket{le=\"0.0005\"}"
            )
            .as_deref(),
            Some("1")
        );
        assert_eq!(
            value(&text, "aofd_aof_fsync_duration_seconds_count").as_deref(),
            Some("2")
        );
    }
}
