//! The admin HTTP API: a separate axum server, on its own thread and runtime, for operators
//! with curl (persistence status and fsync policy, rewrites, backups, metrics, health).
//!
//! It never touches the dataset: everything it reads or changes goes to the data thread as a
//! job through [`DataHandle`] (`server::remote`), which runs between two commands. So a slow
//! or stuck HTTP client cannot delay a Redis client, and the data thread's invariants hold.
//!
//! Listeners are bound by [`start`] on the caller's thread, so a bad `admin-listen` fails the
//! startup with the address named. Shutdown ([`AdminServer::stop`]) is graceful and bounded:
//! streaming responses (SSE, backups) end when the shutdown token is cancelled.

pub mod auth;
pub mod backup;
pub mod error;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod persistence;
pub mod rewrites;
pub mod tar;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum::{middleware, Router};
use tokio_util::sync::CancellationToken;

use crate::server::remote::DataHandle;
use auth::Token;

/// Largest request body accepted (the API's bodies are a few bytes of JSON).
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Runs work on the data thread.
    pub data: DataHandle,
    /// The admin token.
    pub token: Arc<Token>,
    /// Cancelled at shutdown: every streaming response ends with it.
    pub shutdown: CancellationToken,
    /// The data directory (absolute): where `persist: true` choices are recorded.
    pub dir: PathBuf,
}

/// The admin settings, resolved at startup.
pub struct AdminConfig {
    /// `admin-listen`: `host:port` or `unix:<path>` entries.
    pub listen: Vec<String>,
    /// The token.
    pub token: Token,
    /// `admin-metrics-auth`.
    pub metrics_auth: bool,
    /// The data directory (absolute).
    pub dir: PathBuf,
}

/// Where the admin API listens, once bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoundAddr {
    /// A TCP address (with the real port when 0 was asked for).
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
}

/// The running admin server.
pub struct AdminServer {
    /// Its addresses.
    pub addrs: Vec<BoundAddr>,
    shutdown: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AdminServer {
    /// The first TCP address, for tests and logs.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.addrs.iter().find_map(|a| match a {
            BoundAddr::Tcp(addr) => Some(*addr),
            BoundAddr::Unix(_) => None,
        })
    }

    /// Ends every stream, stops accepting, and waits (at most 5 s) for requests in flight.
    pub fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !thread.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                tracing::warn!("The admin API did not stop within 5 seconds; exiting anyway.");
            }
        }
        for addr in &self.addrs {
            if let BoundAddr::Unix(path) = addr {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

enum StdListener {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener, PathBuf),
}

/// The admin listeners, bound and not yet served.
pub struct Bound {
    listeners: Vec<StdListener>,
    addrs: Vec<BoundAddr>,
    config: AdminConfig,
}

/// Binds the admin listeners, before the data thread starts, so a taken port stops the
/// startup before anything else happens.
///
/// # Errors
/// A message naming the address that could not be bound.
pub fn bind(config: AdminConfig) -> Result<Bound, String> {
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for entry in &config.listen {
        let bind_error =
            |e: std::io::Error| format!("Can't listen for the admin API on {entry}: {e}");
        if let Some(path) = entry.strip_prefix("unix:") {
            let _ = std::fs::remove_file(path);
            let listener = std::os::unix::net::UnixListener::bind(path).map_err(bind_error)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
                .map_err(bind_error)?;
            listener.set_nonblocking(true).map_err(bind_error)?;
            addrs.push(BoundAddr::Unix(PathBuf::from(path)));
            listeners.push(StdListener::Unix(listener, PathBuf::from(path)));
        } else {
            let listener = std::net::TcpListener::bind(entry).map_err(bind_error)?;
            listener.set_nonblocking(true).map_err(bind_error)?;
            addrs.push(BoundAddr::Tcp(listener.local_addr().map_err(bind_error)?));
            listeners.push(StdListener::Tcp(listener));
        }
    }
    Ok(Bound {
        listeners,
        addrs,
        config,
    })
}

impl Bound {
    /// Starts the admin thread serving the bound listeners.
    ///
    /// # Errors
    /// The thread could not start.
    pub fn serve(self, data: DataHandle) -> Result<AdminServer, String> {
        let Bound {
            listeners,
            addrs,
            config,
        } = self;
        for addr in &addrs {
            match addr {
                BoundAddr::Tcp(a) => tracing::info!("Admin API listening on http://{a}"),
                BoundAddr::Unix(p) => tracing::info!("Admin API listening on unix:{}", p.display()),
            }
        }
        let shutdown = CancellationToken::new();
        let state = AppState {
            data,
            token: Arc::new(config.token),
            shutdown: shutdown.clone(),
            dir: config.dir,
        };
        metrics::install();
        let app = router(state, config.metrics_auth);
        let stop = shutdown.clone();
        let thread = std::thread::Builder::new()
            .name("aofd-admin".to_string())
            .spawn(move || serve(listeners, app, stop))
            .map_err(|e| format!("Can't start the admin API thread: {e}"))?;
        Ok(AdminServer {
            addrs,
            shutdown,
            thread: Some(thread),
        })
    }
}

/// Every route: the public ones, then those behind the token.
fn router(state: AppState, metrics_auth: bool) -> Router {
    let mut protected = Router::new()
        .merge(health::protected_routes())
        .merge(persistence::routes())
        .merge(rewrites::routes())
        .merge(backup::routes())
        .merge(openapi::routes());
    let mut public = health::public_routes();
    if metrics_auth {
        protected = protected.merge(metrics::routes());
    } else {
        public = public.merge(metrics::routes());
    }
    let protected = protected.route_layer(middleware::from_fn_with_state(
        state.token.clone(),
        auth::require_token,
    ));
    Router::new()
        .merge(public)
        .merge(protected)
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::bad_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// The admin thread: a current-thread runtime serving every listener until `stop` is
/// cancelled.
fn serve(listeners: Vec<StdListener>, app: Router, stop: CancellationToken) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "Could not start the admin API runtime.");
            return;
        }
    };
    runtime.block_on(async move {
        tokio::spawn(metrics::upkeep(stop.clone()));
        let mut servers = tokio::task::JoinSet::new();
        for listener in listeners {
            let app = app.clone();
            let stop = stop.clone();
            match listener {
                StdListener::Tcp(l) => match tokio::net::TcpListener::from_std(l) {
                    Ok(l) => {
                        servers.spawn(async move {
                            let service = app.into_make_service_with_connect_info::<SocketAddr>();
                            axum::serve(l, service)
                                .with_graceful_shutdown(stop.cancelled_owned())
                                .await
                        });
                    }
                    Err(e) => tracing::error!(error = %e, "Could not register the admin listener."),
                },
                StdListener::Unix(l, path) => match tokio::net::UnixListener::from_std(l) {
                    Ok(l) => {
                        servers.spawn(async move {
                            let app = app.layer(axum::Extension(UnixPeer(path)));
                            axum::serve(l, app)
                                .with_graceful_shutdown(stop.cancelled_owned())
                                .await
                        });
                    }
                    Err(e) => tracing::error!(error = %e, "Could not register the admin listener."),
                },
            }
        }
        while let Some(result) = servers.join_next().await {
            if let Ok(Err(e)) = result {
                tracing::warn!(error = %e, "The admin API listener failed.");
            }
        }
    });
}

/// Marks requests that came through the admin Unix socket.
#[derive(Clone, Debug)]
struct UnixPeer(PathBuf);

/// Who made a request, for the log lines of changes made through the API:
/// `admin API client 127.0.0.1:53122 (curl/8.5.0)`.
#[derive(Clone, Debug)]
pub struct Requester(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Requester {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer =
            if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
                addr.to_string()
            } else if let Some(UnixPeer(path)) = parts.extensions.get::<UnixPeer>() {
                format!("unix:{}", path.display())
            } else {
                "unknown".to_string()
            };
        let agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|a| format!(" ({})", a.chars().take(80).collect::<String>()))
            .unwrap_or_default();
        Ok(Requester(format!("admin API client {peer}{agent}")))
    }
}
