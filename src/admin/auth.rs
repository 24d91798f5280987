//! The admin token: where it comes from, and the check every protected route makes.
//!
//! The token is read from `admin-token-file`; without one, from `admin.token` in `dir`,
//! generated there (32 random bytes, hex, mode 0600) on first start. Requests carry it as
//! `Authorization: Bearer <token>`; it is compared in constant time, so the time a wrong
//! guess takes says nothing about how close it was.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// The file the generated token is kept in, inside `dir`.
pub const GENERATED_TOKEN_FILE: &str = "admin.token";

/// The bearer token the API accepts.
pub struct Token {
    secret: Vec<u8>,
    /// Where it was read from (logged at startup).
    pub path: PathBuf,
    /// Whether this start generated it.
    pub generated: bool,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("path", &self.path)
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// Reads the token from `file`, or from `admin.token` in `dir`, generating that one if it
    /// does not exist.
    ///
    /// # Errors
    /// A message naming the file: unreadable, empty, or not creatable.
    pub fn load(file: Option<&str>, dir: &Path) -> Result<Token, String> {
        if let Some(file) = file {
            let path = PathBuf::from(file);
            let secret = read_secret(&path)?;
            return Ok(Token {
                secret,
                path,
                generated: false,
            });
        }
        let path = dir.join(GENERATED_TOKEN_FILE);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                let secret = random_hex(32)?;
                f.write_all(&secret)
                    .and_then(|()| f.write_all(b"\n"))
                    .and_then(|()| f.sync_all())
                    .map_err(|e| {
                        format!("Can't write the admin token file '{}': {e}", path.display())
                    })?;
                Ok(Token {
                    secret,
                    path,
                    generated: true,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Token {
                secret: read_secret(&path)?,
                path,
                generated: false,
            }),
            Err(e) => Err(format!(
                "Can't create the admin token file '{}': {e}",
                path.display()
            )),
        }
    }

    /// Whether `presented` is the token (constant time in the token's content).
    pub fn matches(&self, presented: &[u8]) -> bool {
        bool::from(self.secret.as_slice().ct_eq(presented))
    }

    /// Whether the file can be read by users other than its owner and group.
    pub fn world_readable(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0)
    }
}

fn read_secret(path: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read(path)
        .map_err(|e| format!("Can't read the admin token file '{}': {e}", path.display()))?;
    let secret = text.trim_ascii().to_vec();
    if secret.is_empty() {
        return Err(format!(
            "The admin token file '{}' is empty; put a secret in it (e.g. `openssl rand -hex 32`) \
             or remove admin-token-file to have one generated",
            path.display()
        ));
    }
    if secret
        .iter()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(format!(
            "The admin token in '{}' contains whitespace or control characters; an HTTP header \
             can't carry it",
            path.display()
        ));
    }
    Ok(secret)
}

/// `n` random bytes from the kernel, as lower-case hex.
fn random_hex(n: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        // SAFETY: the pointer and length describe the unfilled tail of `bytes`, which we own.
        let got = unsafe { libc::getrandom(bytes[filled..].as_mut_ptr().cast(), n - filled, 0) };
        if got < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("Can't generate an admin token: getrandom: {e}"));
        }
        filled += got.unsigned_abs();
    }
    Ok(bytes
        .iter()
        .flat_map(|b| {
            let hex = b"0123456789abcdef";
            [hex[usize::from(b >> 4)], hex[usize::from(b & 15)]]
        })
        .collect())
}

/// Middleware for protected routes: 401 with `WWW-Authenticate: Bearer` unless the request
/// carries the token.
pub async fn require_token(State(token): State<Arc<Token>>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    match presented {
        Some(p) if token.matches(p.trim_ascii()) => next.run(req).await,
        Some(_) => unauthorized("The bearer token is not the admin token."),
        None => unauthorized(
            "This endpoint needs `Authorization: Bearer <token>`; the token is in the file \
             admin-token-file names (or admin.token in the data directory).",
        ),
    }
}

fn unauthorized(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"aofd\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_read_back_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let first = Token::load(None, dir.path()).unwrap();
        assert!(first.generated);
        assert_eq!(first.secret.len(), 64);
        let mode = std::fs::metadata(&first.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = Token::load(None, dir.path()).unwrap();
        assert!(!second.generated);
        assert_eq!(first.secret, second.secret);
        assert!(second.matches(&first.secret));
        assert!(!second.matches(b"nope"));
    }

    #[test]
    fn configured_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.token");
        let e = Token::load(Some(missing.to_str().unwrap()), dir.path()).unwrap_err();
        assert!(e.contains("missing.token"), "{e}");
        let empty = dir.path().join("empty.token");
        std::fs::write(&empty, "\n").unwrap();
        let e = Token::load(Some(empty.to_str().unwrap()), dir.path()).unwrap_err();
        assert!(e.contains("is empty"), "{e}");
        let ok = dir.path().join("ok.token");
        std::fs::write(&ok, "s3cret\n").unwrap();
        assert!(Token::load(Some(ok.to_str().unwrap()), dir.path())
            .unwrap()
            .matches(b"s3cret"));
    }
}
