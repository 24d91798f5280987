//! `/v1/persistence` (what the AOF is doing) and `/v1/persistence/fsync` (the durability
//! policy, read and changed at runtime).
//!
//! A policy change runs CONFIG SET's own path (`cmd::config::set_params`) on the data thread,
//! so it is indistinguishable from `CONFIG SET appendfsync`: INFO shows it, the writer switches
//! at once, and CONFIG REWRITE would write it. `"persist": true` also records it in the data
//! directory's `aofd-runtime.conf` (`config::runtime`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, JsonBody};
use super::{AppState, Requester};
use crate::aof::manifest::{AofInfo, FileKind};
use crate::config::params;
use crate::server::rewrite::RewriteRecord;
use crate::server::state::ServerState;

/// The routes of this module (all behind the token).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/persistence", get(status))
        .route("/v1/persistence/fsync", get(get_fsync).put(put_fsync))
}

/// `GET /v1/persistence`.
#[derive(Debug, Serialize)]
pub struct Status {
    /// `appendonly`.
    pub appendonly: bool,
    /// `on`, `off`, or `wait_rewrite` (turned on at runtime, first BASE being written).
    pub aof_state: &'static str,
    /// `appendfsync`.
    pub fsync_policy: &'static str,
    /// The AOF directory (absolute).
    pub aof_dir: String,
    /// The manifest and the size of every file it names.
    pub manifest: Manifest,
    /// INFO `aof_current_size`.
    pub current_size_bytes: u64,
    /// INFO `aof_base_size`.
    pub base_size_bytes: u64,
    /// The writer's state; `null` while the AOF is off or loading.
    pub writer: Option<Writer>,
    /// Loading progress; `null` when not loading.
    pub loading: Option<Loading>,
    /// Rewrites.
    pub rewrite: RewriteSummary,
}

/// The manifest as on disk.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// Its file name.
    pub file: String,
    /// Every file it names: BASE, INCRs in order, then HISTORY.
    pub files: Vec<ManifestFile>,
}

/// One manifest line and its file's size.
#[derive(Debug, Serialize)]
pub struct ManifestFile {
    /// File name in the AOF directory.
    pub name: String,
    /// Sequence number.
    pub seq: i64,
    /// `base`, `incr` or `history`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its size; `null` when it can't be read (a HISTORY file already deleted).
    pub size_bytes: Option<u64>,
}

/// The writer's state.
#[derive(Debug, Serialize)]
pub struct Writer {
    /// INFO `aof_last_write_status`.
    pub last_write_status: &'static str,
    /// The unresolved write or fsync error, Redis's MISCONF text.
    pub last_write_error: Option<String>,
    /// Bytes appended but not yet written.
    pub buffered_bytes: u64,
    /// Bytes written but not yet fdatasync'ed.
    pub unsynced_bytes: u64,
    /// Age of the oldest unsynced byte.
    pub unsynced_age_ms: Option<u64>,
    /// fdatasync statistics.
    pub fsync: FsyncSummary,
}

/// fdatasync statistics (since the process started, the histogram; since the writer opened,
/// the counts).
#[derive(Debug, Serialize)]
pub struct FsyncSummary {
    /// Successful calls.
    pub count: u64,
    /// Failed calls.
    pub failures: u64,
    /// One is running now.
    pub in_flight: bool,
    /// The last call's latency.
    pub last_latency_us: u64,
    /// The longest call's latency.
    pub max_latency_us: u64,
}

/// Loading progress.
#[derive(Debug, Serialize)]
pub struct Loading {
    /// Bytes of the files to load.
    pub total_bytes: u64,
    /// Bytes applied so far.
    pub loaded_bytes: u64,
    /// Seconds since loading began.
    pub elapsed_sec: f64,
}

/// Rewrite state.
#[derive(Debug, Serialize)]
pub struct RewriteSummary {
    /// A rewrite child runs.
    pub in_progress: bool,
    /// One is scheduled (waits for another child).
    pub scheduled: bool,
    /// INFO `aof_last_bgrewrite_status`.
    pub last_status: &'static str,
    /// INFO `aof_rewrites_consecutive_failures`.
    pub consecutive_failures: u32,
    /// The running rewrite.
    pub current: Option<RewriteRecord>,
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Base => "base",
        FileKind::Incr => "incr",
        FileKind::History => "history",
    }
}

/// Reads the status on the data thread.
pub fn read_status(st: &ServerState) -> Status {
    let aof = &st.aof;
    let files: Vec<&AofInfo> = aof
        .manifest
        .files_to_load()
        .chain(aof.manifest.history.iter())
        .collect();
    let files = files
        .into_iter()
        .map(|info| ManifestFile {
            name: info.name.clone(),
            seq: info.seq,
            kind: kind_name(info.kind),
            size_bytes: std::fs::metadata(aof.aof_dir.join(&info.name))
                .ok()
                .map(|m| m.len()),
        })
        .collect();
    let aof_state = if aof.wait_rewrite {
        "wait_rewrite"
    } else if st.config.appendonly {
        "on"
    } else {
        "off"
    };
    let writer = aof.writer.as_ref().map(|w| {
        let s = w.stats();
        Writer {
            last_write_status: if w.in_error() { "err" } else { "ok" },
            last_write_error: w.misconf(),
            buffered_bytes: s.buffer_len,
            unsynced_bytes: s.unsynced_bytes,
            unsynced_age_ms: s
                .unsynced_age
                .map(|a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX)),
            fsync: FsyncSummary {
                count: s.fsyncs,
                failures: s.fsync_failures,
                in_flight: s.fsync_in_flight,
                last_latency_us: micros(s.fsync_latency_last),
                max_latency_us: micros(s.fsync_latency_max),
            },
        }
    });
    Status {
        appendonly: st.config.appendonly,
        aof_state,
        fsync_policy: st.config.appendfsync.name(),
        aof_dir: aof.aof_dir.to_string_lossy().into_owned(),
        manifest: Manifest {
            file: aof.names.manifest(),
            files,
        },
        current_size_bytes: aof.current_size(),
        base_size_bytes: aof.base_size,
        writer,
        loading: aof.loading.as_ref().map(|l| Loading {
            total_bytes: l.total_bytes,
            loaded_bytes: l.loaded_bytes,
            elapsed_sec: l.started.elapsed().as_secs_f64(),
        }),
        rewrite: RewriteSummary {
            in_progress: st.rewrite.current().is_some(),
            scheduled: st.rewrite.scheduled,
            last_status: if st.rewrite.last_ok { "ok" } else { "err" },
            consecutive_failures: st.rewrite.consecutive_failures,
            current: st.rewrite.current().cloned(),
        },
    }
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

async fn status(State(app): State<AppState>) -> Result<Json<Status>, ApiError> {
    Ok(Json(app.data.run(|st| read_status(st)).await?))
}

/// `GET /v1/persistence/fsync`.
#[derive(Debug, Serialize)]
pub struct FsyncPolicy {
    /// `always`, `everysec` or `no`.
    pub policy: &'static str,
}

async fn get_fsync(State(app): State<AppState>) -> Result<Json<FsyncPolicy>, ApiError> {
    let policy = app.data.run(|st| st.config.appendfsync.name()).await?;
    Ok(Json(FsyncPolicy { policy }))
}

/// The body of `PUT /v1/persistence/fsync`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetFsync {
    /// The new policy.
    pub policy: String,
    /// Keep it across restarts (in `aofd-runtime.conf`).
    #[serde(default)]
    pub persist: bool,
}

/// The answer to `PUT /v1/persistence/fsync`.
#[derive(Debug, Serialize)]
pub struct FsyncChanged {
    /// The policy now in force.
    pub policy: &'static str,
    /// The one before.
    pub previous: &'static str,
    /// Whether it was recorded for restarts.
    pub persisted: bool,
    /// Where, when it was.
    pub persisted_in: Option<String>,
}

async fn put_fsync(
    State(app): State<AppState>,
    requester: Requester,
    JsonBody(body): JsonBody<SetFsync>,
) -> Result<Json<FsyncChanged>, ApiError> {
    let policy = body.policy.to_ascii_lowercase();
    if !["always", "everysec", "no"].contains(&policy.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_policy",
            format!(
                "Unknown fsync policy '{}': use always, everysec or no.",
                body.policy
            ),
        ));
    }
    let Requester(who) = requester;
    let value = policy.clone();
    // The change is logged where it is applied (the `fsync_policy_changed` event), naming `who`.
    let (previous, now) = app
        .data
        .run(move |st| {
            let previous = st.config.appendfsync.name();
            let param = params::find("appendfsync").expect("appendfsync is a parameter");
            crate::service::with_requester(&who, || {
                crate::cmd::config::set_params(st, &[(param, vec![value.into_bytes()])], false)
            })
            .map(|()| (previous, st.config.appendfsync.name()))
            .map_err(|e| e.0.into_owned())
        })
        .await?
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, "config_set_failed", e))?;
    let mut persisted_in = None;
    if body.persist {
        let path = crate::config::runtime::record(&app.dir, "appendfsync", now).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "persist_failed",
                format!(
                    "The policy is now {now}, but it could not be recorded in {}: {e}",
                    app.dir.join(crate::config::RUNTIME_FILE).display()
                ),
            )
        })?;
        tracing::warn!(
            file = %path.display(),
            "The fsync policy {now} is recorded in {} and will survive restarts.",
            path.display()
        );
        persisted_in = Some(path.to_string_lossy().into_owned());
    }
    Ok(Json(FsyncChanged {
        policy: now,
        previous,
        persisted: body.persist,
        persisted_in,
    }))
}
