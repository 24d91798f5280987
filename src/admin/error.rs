//! The API's error responses: a status and `{"error": {"code": ..., "message": ...}}`, the
//! same shape for every failure (bad JSON, unknown route, conflicts), so a script can read
//! `.error.code` whatever went wrong.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::server::remote::Gone;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code (`unauthorized`, `invalid_policy`, ...).
    pub code: &'static str,
    /// A sentence for the operator.
    pub message: String,
    /// Extra fields merged into the `error` object (e.g. the running rewrite's id on a 409).
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503 with a reason.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// Adds a field to the `error` object.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra
            .get_or_insert_with(serde_json::Map::new)
            .insert(key.to_string(), value.into());
        self
    }
}

impl From<Gone> for ApiError {
    fn from(_: Gone) -> Self {
        ApiError::unavailable("shutting_down", "The server is shutting down.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = self.extra.unwrap_or_default();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.into());
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// The answer for a route that does not exist.
pub async fn no_route() -> ApiError {
    ApiError::not_found("No such endpoint; GET /v1/openapi.json lists them.")
}

/// The answer for a known route asked with a method it does not have.
pub async fn bad_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This endpoint does not take that method; GET /v1/openapi.json lists them.",
    )
}

/// A JSON request body whose rejections (not JSON, wrong fields, too large) are answered in
/// the API's error shape instead of axum's plain text.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = match rejection {
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        JsonRejection::JsonSyntaxError(_) => "malformed_json",
        JsonRejection::JsonDataError(_) => "invalid_body",
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        _ => "bad_request",
    };
    ApiError::new(status, code, rejection.body_text())
}
