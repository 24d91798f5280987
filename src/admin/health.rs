//! `/healthz` (the process answers; public, so a liveness probe needs no secret) and `/readyz`
//! (it can serve: loaded, and writes not refused for a disk error; behind the token like every
//! other endpoint, since its answer tells an outsider about the disk's state).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::error::ApiError;
use super::AppState;

/// Routes anyone may call.
pub fn public_routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Routes behind the token.
pub fn protected_routes() -> Router<AppState> {
    Router::new().route("/readyz", get(readyz))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(app): State<AppState>) -> Result<Response, ApiError> {
    let (loading, misconf) = app.data.run(|st| (st.loading, st.aof.misconf())).await?;
    if loading {
        return Err(ApiError::unavailable(
            "loading",
            "The dataset is still loading from disk.",
        ));
    }
    if let Some(reason) = misconf {
        return Err(ApiError::unavailable(
            "writes_refused",
            format!("Writes are refused until the disk error is resolved: {reason}"),
        ));
    }
    Ok((StatusCode::OK, Json(json!({ "status": "ready" }))).into_response())
}
