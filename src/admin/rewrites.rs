//! `/v1/rewrites`: start an AOF rewrite, list recent ones, read one, watch one to the end as
//! Server-Sent Events, and cancel one.
//!
//! The records are the data thread's (`server::rewrite::RewriteRecord`); this module only
//! shapes them for HTTP ([`View`] adds elapsed time, progress and the result) and maps the
//! data thread's refusals to statuses: 409 when one already runs (with its id), 503 when
//! one can't start (with the reason).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Serialize;
use tokio::sync::watch;

use super::error::ApiError;
use super::{AppState, Requester};
use crate::server::rewrite::{self, CancelError, Phase, RewriteRecord, StartError, Trigger};

/// The routes of this module (all behind the token).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/rewrites", get(list).post(start))
        .route("/v1/rewrites/{id}", get(one).delete(cancel))
        .route("/v1/rewrites/{id}/events", get(events))
}

/// A rewrite as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct View {
    /// Its id (sequential since the server started).
    pub id: u64,
    /// Why it started: `manual` (BGREWRITEAOF), `scheduled`, `automatic`, `aof_enabled`,
    /// `api`.
    pub trigger: Trigger,
    /// `writing`, `succeeded`, `failed`, `killed` or `cancelled`.
    pub phase: Phase,
    /// `null` while it runs, else how it ended (the phase).
    pub result: Option<Phase>,
    /// The child's pid.
    pub pid: i32,
    /// When it started (Unix ms).
    pub started_unix_ms: i64,
    /// Milliseconds since it started, or how long it took.
    pub elapsed_ms: u64,
    /// Keys written so far.
    pub keys_written: u64,
    /// Keys in the snapshot.
    pub keys_total: u64,
    /// `keys_written / keys_total` (1 for an empty dataset once done).
    pub progress: f64,
    /// Bytes written so far.
    pub bytes_written: u64,
    /// Copy-on-write bytes the child caused.
    pub cow_bytes: u64,
    /// How long the fork took.
    pub fork_usec: u64,
    /// The new BASE, once it succeeded.
    pub base_file: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

impl From<&RewriteRecord> for View {
    fn from(r: &RewriteRecord) -> View {
        let running = r.phase == Phase::Writing;
        let elapsed_ms = r.duration_ms.unwrap_or_else(|| {
            u64::try_from(crate::server::state::now_ms().saturating_sub(r.started_unix_ms))
                .unwrap_or(0)
        });
        let progress = if r.keys_total > 0 {
            (r.keys_done as f64 / r.keys_total as f64).min(1.0)
        } else if running {
            0.0
        } else {
            1.0
        };
        View {
            id: r.id,
            trigger: r.trigger,
            phase: r.phase,
            result: (!running).then_some(r.phase),
            pid: r.pid,
            started_unix_ms: r.started_unix_ms,
            elapsed_ms,
            keys_written: r.keys_done,
            keys_total: r.keys_total,
            progress,
            bytes_written: r.bytes,
            cow_bytes: r.cow_bytes,
            fork_usec: r.fork_usec,
            base_file: r.base_file.clone(),
            error: r.error.clone(),
        }
    }
}

/// `GET /v1/rewrites`.
#[derive(Debug, Serialize)]
pub struct List {
    /// The running rewrite, if any.
    pub current: Option<View>,
    /// Recent finished rewrites, newest first.
    pub history: Vec<View>,
}

async fn list(State(app): State<AppState>) -> Result<Json<List>, ApiError> {
    let list = app
        .data
        .run(|st| List {
            current: st.rewrite.current().map(View::from),
            history: st.rewrite.history.iter().rev().map(View::from).collect(),
        })
        .await?;
    Ok(Json(list))
}

/// Why `POST /v1/rewrites` did not start one.
enum Refused {
    Running(u64),
    Loading,
    OtherChild,
    NoSpace(String),
    Failed,
}

async fn start(State(app): State<AppState>, requester: Requester) -> Result<Response, ApiError> {
    let Requester(who) = requester;
    let who_for_log = who.clone();
    let started = app
        .data
        .run(move |st| {
            if st.loading {
                return Err(Refused::Loading);
            }
            if let Some(current) = st.rewrite.current() {
                return Err(Refused::Running(current.id));
            }
            match crate::service::with_requester(&who_for_log, || rewrite::start(st, Trigger::Api))
            {
                Ok(()) => {
                    let record = st.rewrite.current().map(View::from);
                    if let Some(r) = &record {
                        tracing::info!(
                            rewrite_id = r.id,
                            requested_by = %who_for_log,
                            "AOF rewrite {} started by {who_for_log}.",
                            r.id
                        );
                    }
                    record.ok_or(Refused::Failed)
                }
                Err(StartError::InProgress) => {
                    Err(Refused::Running(st.rewrite.current().map_or(0, |r| r.id)))
                }
                Err(StartError::OtherChild) => Err(Refused::OtherChild),
                Err(StartError::NoSpace(why)) => Err(Refused::NoSpace(why)),
                Err(StartError::Failed) => Err(Refused::Failed),
            }
        })
        .await?;
    match started {
        Ok(view) => {
            let location = format!("/v1/rewrites/{}", view.id);
            let mut response = (StatusCode::ACCEPTED, Json(view)).into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(LOCATION, value);
            }
            Ok(response)
        }
        Err(Refused::Running(id)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "rewrite_in_progress",
            format!("Rewrite {id} is already running; watch /v1/rewrites/{id}/events."),
        )
        .with("rewrite_id", id)),
        Err(Refused::Loading) => Err(ApiError::unavailable(
            "loading",
            "The dataset is still loading; a rewrite can start once it is loaded.",
        )),
        Err(Refused::OtherChild) => Err(ApiError::unavailable(
            "other_child_running",
            "A BGSAVE child is running and only one child runs at a time; try again when it \
             finishes (or use BGREWRITEAOF, which schedules it).",
        )),
        Err(Refused::NoSpace(why)) => Err(ApiError::unavailable("no_space", why)),
        Err(Refused::Failed) => Err(ApiError::unavailable(
            "rewrite_failed_to_start",
            "The rewrite could not start; the server log says why.",
        )),
    }
}

/// The `{id}` of a path; a segment that is not UTF-8 is answered in the API's error shape too.
fn parse_id(path: Result<Path<String>, PathRejection>) -> Result<u64, ApiError> {
    let Path(text) = path.map_err(|e| {
        ApiError::bad_request(
            "invalid_id",
            format!("The path does not hold a rewrite id: {}", e.body_text()),
        )
    })?;
    text.parse::<u64>().map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            format!("'{text}' is not a rewrite id (a positive integer)."),
        )
    })
}

fn unknown(id: u64) -> ApiError {
    ApiError::not_found(format!(
        "No rewrite {id}: the last 16 finished ones and the running one are kept."
    ))
}

async fn one(
    State(app): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<View>, ApiError> {
    let id = parse_id(id)?;
    let record = app.data.run(move |st| st.rewrite.find(id)).await?;
    record
        .as_ref()
        .map(|r| Json(View::from(r)))
        .ok_or_else(|| unknown(id))
}

async fn cancel(
    State(app): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    requester: Requester,
) -> Result<Json<View>, ApiError> {
    let id = parse_id(id)?;
    let Requester(who) = requester;
    let result = app
        .data
        .run(move |st| crate::service::with_requester(&who, || rewrite::cancel(st, id)))
        .await?;
    match result {
        Ok(record) => Ok(Json(View::from(&record))),
        Err(CancelError::Unknown) => Err(unknown(id)),
        Err(CancelError::Finished(record)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "rewrite_finished",
            format!(
                "Rewrite {id} is not running: it ended as {}.",
                phase_name(record.phase)
            ),
        )
        .with("rewrite_id", id)),
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Writing => "writing",
        Phase::Succeeded => "succeeded",
        Phase::Failed => "failed",
        Phase::Killed => "killed",
        Phase::Cancelled => "cancelled",
    }
}

/// Where an event stream is.
enum Watch {
    /// The record read when the stream opened, not yet sent.
    First(View, watch::Receiver<Option<RewriteRecord>>),
    /// Waiting for the next change.
    Running(watch::Receiver<Option<RewriteRecord>>),
    /// The result was sent.
    Done,
}

impl Watch {
    /// Sends `view`; the stream ends after it when it carries the result.
    fn after(view: View, rx: watch::Receiver<Option<RewriteRecord>>) -> (View, Watch) {
        let next = if view.result.is_some() {
            Watch::Done
        } else {
            Watch::Running(rx)
        };
        (view, next)
    }
}

/// How often an idle event stream sends a comment so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn event(kind: &'static str, view: &View) -> Result<Event, Infallible> {
    Ok(Event::default()
        .event(kind)
        .id(view.id.to_string())
        .json_data(view)
        .unwrap_or_else(|_| Event::default().event(kind)))
}

async fn events(
    State(app): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = parse_id(id)?;
    // The record and the subscription are taken in one job, so no update falls between them.
    let (record, updates) = app
        .data
        .run(move |st| (st.rewrite.find(id), st.rewrite.subscribe()))
        .await?;
    let Some(record) = record else {
        return Err(unknown(id));
    };
    let first = View::from(&record);
    let data = app.data.clone();
    // Progress events for this rewrite while it runs, then one `result` event, then the end.
    // The watch only ever holds the newest record, so a slow reader skips intermediate
    // progress but never sees it go backwards, and always gets the final state.
    let stream = stream::unfold(Watch::First(first, updates), move |state| {
        let data = data.clone();
        async move {
            match state {
                Watch::First(view, rx) => Some(Watch::after(view, rx)),
                Watch::Running(mut rx) => loop {
                    if rx.changed().await.is_err() {
                        return None;
                    }
                    let update = rx.borrow_and_update().clone();
                    match update {
                        Some(r) if r.id == id => return Some(Watch::after(View::from(&r), rx)),
                        // A newer rewrite replaced ours in the watch before we looked: ours
                        // ended meanwhile, and the data thread has its final record.
                        Some(r) if r.id > id => {
                            let record = data.run(move |st| st.rewrite.find(id)).await.ok()??;
                            return Some((View::from(&record), Watch::Done));
                        }
                        _ => {}
                    }
                },
                Watch::Done => None,
            }
        }
    })
    .map(|view| {
        let kind = if view.result.is_some() {
            "result"
        } else {
            "progress"
        };
        event(kind, &view)
    })
    .take_until(app.shutdown.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
