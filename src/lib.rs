//! aofd: a Redis-compatible in-memory key-value daemon with Redis 7 multi-part AOF persistence.
//!
//! # Layout
//! - [`protocol`]: RESP request parsing and reply encoding; no I/O.
//! - [`db`]: the keyspace — databases, values, expiry times, glob matching.
//! - [`cmd`]: the command table and every command family, one file each.
//! - [`server`]: the data thread — listeners, connections, client registry, blocking, WATCH,
//!   pub/sub, statistics.
//! - [`aof`]: AOF persistence in Redis 7's multi-part format — names, manifest, records, loading,
//!   the checker, the writer and its fsync worker.
//! - [`config`]: every parameter, and loading them from defaults, files, environment and flags.
//! - [`logging`]: log output in readable sentences.
//! - [`restore`]: `aofd restore`, a backup from the admin API back into a data directory.
//! - [`migrate`]: data-directory migrations (`migrations/`), `aofd migrate`, `aofd import`,
//!   `aofd migrate-config`.
//! - [`status`]: the one-line service status announced during startup.
//! - [`service`]: systemd integration: readiness, status, watchdog, reload, the journal.
//! - [`app`]: wires it together for the binary.
//!
//! See ARCHITECTURE.md for the invariants that hold these together.

pub mod admin;
pub mod aof;
pub mod app;
pub mod cmd;
pub mod config;
pub mod db;
pub mod logging;
pub mod migrate;
pub mod numeric;
pub mod protocol;
pub mod rdb;
pub mod restore;
pub mod server;
pub mod service;
pub mod status;
