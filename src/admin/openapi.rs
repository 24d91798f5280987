//! `GET /v1/openapi.json`: the OpenAPI 3.0.3 description of the whole admin API.
//!
//! The document is hand-written (`openapi.json` beside this file, embedded at build time)
//! rather than derived from the handlers with a proc macro, to keep the dependency tree small.
//! Tests keep it honest: `tests/admin_openapi.rs` checks that its (method, path) pairs are
//! exactly the routes the `src/admin` modules register and that each one is served, and
//! `scripts/schemathesis` checks every documented response (codes, content types, schemas)
//! against a running server.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::AppState;

/// The document, as served.
pub const SPEC: &str = include_str!("openapi.json");

/// The routes of this module (behind the token, like every endpoint but `/healthz`).
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(spec))
}

async fn spec() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], SPEC)
}

/// Every (method, path) the document describes, methods in upper case, paths as written
/// there (`/v1/rewrites/{id}`, the same syntax axum routes use). Empty if the document does
/// not parse, which the unit tests rule out.
pub fn documented_routes() -> Vec<(String, String)> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(SPEC) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for method in item.keys() {
                if HTTP_METHODS.contains(&method.as_str()) {
                    out.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    out.sort();
    out
}

/// The keys of an OpenAPI path item that are operations.
const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_parses_and_names_this_version() {
        let doc: serde_json::Value = serde_json::from_str(SPEC).expect("openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(!documented_routes().is_empty());
    }
}
