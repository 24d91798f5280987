//! The data thread: listeners, connection tasks, background cycles, and orderly shutdown.
//!
//! `start` binds every listener on the caller's thread (so a bad address fails at once and port
//! 0 resolves), then moves them to a new thread that runs a current-thread tokio runtime. That
//! thread owns the `ServerState`; every connection task runs on it.

pub mod background;
pub mod blocking;
pub mod client;
pub mod connection;
pub mod failpoint;
pub mod fork;
pub mod info;
pub mod persist;
pub mod pubsub;
pub mod rdbsave;
pub mod remote;
pub mod rewrite;
pub mod snapshot;
pub mod state;
pub mod stats;
pub mod watch;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, Notify};
use tokio::task::LocalSet;

use crate::config::Config;
use client::{Client, Peer};
use connection::ConnectionContext;
use state::ServerState;

/// A running server, as returned by [`start`].
pub struct RunningServer {
    /// The TCP addresses the data port listens on (with the real port when 0 was asked for).
    pub tcp_addrs: Vec<SocketAddr>,
    /// The Unix socket path, if any.
    pub unix_path: Option<PathBuf>,
    /// Notified to request shutdown from outside the data thread.
    pub shutdown: Arc<Notify>,
    /// Runs work on the data thread from other threads (the admin API).
    pub data: remote::DataHandle,
    /// The data thread; it returns the process exit code when the server has shut down
    /// (non-zero when startup failed, e.g. an AOF that cannot be loaded).
    pub thread: std::thread::JoinHandle<i32>,
}

impl RunningServer {
    /// The first TCP port, for tests and logs.
    pub fn port(&self) -> u16 {
        self.tcp_addrs.first().map_or(0, SocketAddr::port)
    }

    /// Requests shutdown and waits for the data thread to finish.
    pub fn stop(self) {
        self.shutdown.notify_one();
        let _ = self.thread.join();
    }
}

/// Options that are not configuration parameters.
#[derive(Clone, Copy, Debug, Default)]
pub struct StartOptions {
    /// Install SIGTERM/SIGINT handlers that shut the server down (the binary does; tests don't).
    pub handle_signals: bool,
    /// Listen on an ephemeral TCP port chosen by the kernel, whatever `port` says (tests).
    /// In the configuration, port 0 keeps Redis's meaning: no TCP listener.
    pub ephemeral_port: bool,
}

/// Binds the listeners described by `config` and starts the data thread.
///
/// # Errors
/// An error naming the address when a listener cannot be bound, or when the thread cannot start.
pub fn start(config: Config, options: StartOptions) -> std::io::Result<RunningServer> {
    let mut std_tcp = Vec::new();
    let port = if options.ephemeral_port {
        0
    } else {
        config.port
    };
    if config.port != 0 || options.ephemeral_port {
        for host in &config.bind {
            let host = host.trim_start_matches('-');
            let addr = format!("{host}:{port}");
            let addr = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                addr
            };
            let listener = std::net::TcpListener::bind(&addr).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("Could not create server TCP listening socket {addr}: {e}"),
                )
            })?;
            listener.set_nonblocking(true)?;
            std_tcp.push(listener);
        }
    }
    let tcp_addrs = std_tcp
        .iter()
        .map(std::net::TcpListener::local_addr)
        .collect::<std::io::Result<Vec<_>>>()?;
    let std_unix = match &config.unixsocket {
        Some(path) if !path.is_empty() => {
            let _ = std::fs::remove_file(path);
            let listener = std::os::unix::net::UnixListener::bind(path).map_err(|e| {
                std::io::Error::new(e.kind(), format!("Failed opening Unix socket {path}: {e}"))
            })?;
            if config.unixsocketperm != 0 {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    path,
                    std::fs::Permissions::from_mode(config.unixsocketperm),
                )?;
            }
            listener.set_nonblocking(true)?;
            Some((listener, PathBuf::from(path)))
        }
        _ => None,
    };
    let unix_path = std_unix.as_ref().map(|(_, p)| p.clone());
    let shutdown = Arc::new(Notify::new());
    let thread_shutdown = shutdown.clone();
    let (data, jobs) = remote::DataHandle::new();
    let thread = std::thread::Builder::new()
        .name("aofd-data".to_string())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "Could not start the data thread runtime.");
                    return 1;
                }
            };
            let local = LocalSet::new();
            local.block_on(&runtime, async move {
                run(config, std_tcp, std_unix, jobs, thread_shutdown, options).await
            })
        })?;
    Ok(RunningServer {
        tcp_addrs,
        unix_path,
        shutdown,
        data,
        thread,
    })
}

/// The data thread's main task: accept, load the AOF, serve until shutdown, then drain. Returns
/// the exit code.
async fn run(
    config: Config,
    std_tcp: Vec<std::net::TcpListener>,
    std_unix: Option<(std::os::unix::net::UnixListener, PathBuf)>,
    jobs: mpsc::UnboundedReceiver<remote::Job>,
    external_shutdown: Arc<Notify>,
    options: StartOptions,
) -> i32 {
    let hz = config.hz.clamp(1, 500);
    let appendonly = config.appendonly;
    let state = Rc::new(RefCell::new(ServerState::new(config)));
    let shutdown = Rc::new(Notify::new());
    state.borrow_mut().shutdown_notify = Some(shutdown.clone());

    for listener in std_tcp {
        match TcpListener::from_std(listener) {
            Ok(listener) => {
                tokio::task::spawn_local(accept_tcp(listener, state.clone()));
            }
            Err(e) => tracing::error!(error = %e, "Could not register a TCP listener."),
        }
    }
    if let Some((listener, path)) = std_unix {
        match UnixListener::from_std(listener) {
            Ok(listener) => {
                tokio::task::spawn_local(accept_unix(listener, path, state.clone()));
            }
            Err(e) => tracing::error!(error = %e, "Could not register the Unix socket listener."),
        }
    }
    tokio::task::spawn_local(background_cycle(state.clone(), hz));
    tokio::task::spawn_local(persist::flusher(state.clone()));
    tokio::task::spawn_local(background::supervisor(state.clone()));
    tokio::task::spawn_local(remote::serve(state.clone(), jobs));
    tokio::task::spawn_local(crate::service::heartbeat_task());

    // As Redis: the listeners are up while the dataset loads (clients get -LOADING), and
    // "Ready to accept connections" comes once it is loaded.
    let serve = async {
        if appendonly && persist::startup(&state).await.is_err() {
            return 1;
        }
        // Without the AOF, the RDB file is the dataset (with it, the AOF is the source of
        // truth and dump.rdb is not read, as in Redis).
        if !appendonly {
            if let Err(e) = rdbsave::load_dump(&mut state.borrow_mut()) {
                tracing::warn!("{e}");
                return 1;
            }
        }
        tracing::info!("Ready to accept connections");
        let keys = state.borrow().dbs.iter().map(|d| d.len() as u64).sum();
        crate::service::notify::data_ready(keys);
        std::future::pending::<i32>().await
    };
    let code = tokio::select! {
        code = serve => code,
        () = shutdown.notified() => 0,
        () = external_shutdown.notified() => 0,
        () = signals(options.handle_signals) => 0,
    };
    if code != 0 {
        state.borrow_mut().loading = false;
        return code;
    }
    crate::service::notify::stopping();
    drain(&state).await;
    0
}

/// Waits for SIGTERM or SIGINT when asked to, and logs it in Redis's words.
async fn signals(enabled: bool) {
    use tokio::signal::unix::{signal, SignalKind};
    if !enabled {
        return std::future::pending().await;
    }
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("Could not install signal handlers.");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::warn!("Received SIGTERM scheduling shutdown..."),
        _ = int.recv() => tracing::warn!("Received SIGINT scheduling shutdown..."),
    }
    tracing::warn!("User requested shutdown...");
}

/// Stops accepting, lets every connection flush what it has, and waits (bounded) for them.
async fn drain(state: &Rc<RefCell<ServerState>>) {
    {
        let mut st = state.borrow_mut();
        st.shutdown_requested = true;
        for client in st.clients.values_mut() {
            client.request_kill();
        }
    }
    for _ in 0..200 {
        if state.borrow().clients.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut st = state.borrow_mut();
    final_save(&mut st);
    // Whatever the policy, everything appended is written and fdatasync'ed before exiting
    // (Redis's prepareForShutdown logs "Calling fsync() on the AOF file.").
    let had_aof = st.aof.writer.is_some();
    st.aof.stop();
    if let Some(path) = &st.config.unixsocket {
        let _ = std::fs::remove_file(path);
    }
    tracing::warn!("Redis is now ready to exit, bye bye...");
    tracing::warn!(
        aofd_event = "shutdown",
        "aofd is shutting down cleanly{}.",
        if had_aof {
            ": everything appended to the AOF was written and synced to disk first"
        } else {
            ""
        }
    );
}

/// Redis `prepareForShutdown`: stops a running child (removing its temp files), then saves the
/// RDB file when `save` says so. SHUTDOWN calls it with its options (and cancels the shutdown if
/// the save fails without FORCE); a signal or the embedding program gets it from [`drain`],
/// saving when save points are configured.
///
/// # Errors
/// The save failed (logged).
pub fn prepare_shutdown(st: &mut ServerState, save: bool) -> Result<(), String> {
    rewrite::kill(st);
    rdbsave::kill(st);
    if save {
        tracing::info!("Saving the final RDB snapshot before exiting.");
        rdbsave::save_here(st)?;
    }
    Ok(())
}

/// [`prepare_shutdown`] for a shutdown SHUTDOWN did not prepare.
fn final_save(st: &mut ServerState) {
    if st.shutdown_prepared {
        return;
    }
    st.shutdown_prepared = true;
    let save = !st.config.save.is_empty() && !st.loading;
    if prepare_shutdown(st, save).is_err() {
        tracing::warn!("Error trying to save the DB, exiting anyway.");
    }
}

/// Runs the periodic work (Redis `serverCron` subset): active expiry, and once a second the
/// AOF writer's duty (fsync results, retries after a write error).
async fn background_cycle(state: Rc<RefCell<ServerState>>, hz: u32) {
    let period = Duration::from_millis(u64::from(1000 / hz));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hz = hz;
    let mut last_aof_tick = std::time::Instant::now();
    loop {
        ticker.tick().await;
        let mut st = state.borrow_mut();
        if st.shutdown_requested {
            return;
        }
        // CONFIG SET hz takes effect from the next tick.
        if st.config.hz.clamp(1, 500) != hz {
            hz = st.config.hz.clamp(1, 500);
            ticker = tokio::time::interval(Duration::from_millis(u64::from(1000 / hz)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        let period = Duration::from_millis(u64::from(1000 / hz));
        // A quarter of the period, like Redis's ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC.
        st.active_expire_cycle(period / 4);
        if !st.loading {
            rewrite::cron(&mut st);
            rdbsave::cron(&mut st);
        }
        if st.aof.writer.is_some() {
            if last_aof_tick.elapsed() >= Duration::from_secs(1) {
                last_aof_tick = std::time::Instant::now();
                st.aof.tick();
            } else if st.aof.buffered() > 0 {
                // Expiry DELs reach the file in this iteration, like any command's records.
                st.aof.request_flush();
            }
        }
    }
}

async fn accept_tcp(listener: TcpListener, state: Rc<RefCell<ServerState>>) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "Accepting a client connection failed.");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if state.borrow().shutdown_requested {
            return;
        }
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(addr);
        let fd = stream.as_raw_fd();
        admit(stream, Peer::Tcp { addr, local }, fd, &state).await;
    }
}

async fn accept_unix(listener: UnixListener, path: PathBuf, state: Rc<RefCell<ServerState>>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "Accepting a Unix socket connection failed.");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if state.borrow().shutdown_requested {
            return;
        }
        let fd = stream.as_raw_fd();
        let peer = Peer::Unix {
            path: path.display().to_string(),
        };
        admit(stream, peer, fd, &state).await;
    }
}

/// Registers a new client (or refuses it at `maxclients`) and spawns its connection task.
async fn admit<S>(mut stream: S, peer: Peer, fd: i32, state: &Rc<RefCell<ServerState>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    let (push_tx, push_rx) = mpsc::unbounded_channel();
    let registered = {
        let mut st = state.borrow_mut();
        st.stats.total_connections_received += 1;
        if st.clients.len() as u64 >= st.config.maxclients {
            st.stats.rejected_connections += 1;
            None
        } else {
            let id = st.next_client_id;
            st.next_client_id += 1;
            let authenticated = st.config.requirepass.is_empty();
            let client = Client::new(id, peer, fd, authenticated, push_tx);
            let kill = client.kill.clone();
            st.clients.insert(id, client);
            Some((id, kill))
        }
    };
    let Some((id, kill)) = registered else {
        // Redis writes this error and closes the connection.
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    };
    let cx = ConnectionContext {
        state: state.clone(),
        id,
        push_rx,
        kill,
    };
    tokio::task::spawn_local(connection::serve(stream, cx));
}
