//! `ServerState`: everything the data thread owns — the databases, the clients, the blocking,
//! WATCH and pub/sub registries, configuration and statistics.
//!
//! Architecture Invariant: only the data thread touches a `ServerState`, through the
//! `Rc<RefCell<_>>` its tasks share, and no borrow of it is held across an `.await`. That is what
//! makes every command atomic without a lock, like Redis's single event loop.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::config::Config;
use crate::db::{Db, Key};

use super::background::Background;
use super::blocking::Blocking;
use super::client::{Client, ClientId};
use super::persist::Persistence;
use super::pubsub::PubSub;
use super::rdbsave::RdbState;
use super::rewrite::RewriteState;
use super::stats::Stats;
use super::watch::Watches;

/// The data thread's world.
#[derive(Debug)]
pub struct ServerState {
    /// The databases, `databases` of them.
    pub dbs: Vec<Db>,
    /// Current configuration; CONFIG SET changes it in place.
    pub config: Config,
    /// Connected clients by id, in connection order (CLIENT LIST order).
    pub clients: BTreeMap<ClientId, Client>,
    /// The id the next client gets.
    pub next_client_id: ClientId,
    /// Clients blocked on keys.
    pub blocking: Blocking,
    /// WATCHed keys.
    pub watches: Watches,
    /// Channel and pattern subscriptions.
    pub pubsub: PubSub,
    /// Counters for INFO.
    pub stats: Stats,
    /// When the server started (uptime).
    pub started: Instant,
    /// Whether the active expiry cycle runs (`DEBUG SET-ACTIVE-EXPIRE`).
    pub active_expire_enabled: bool,
    /// Set by SHUTDOWN or a signal: the listeners stop and the process exits.
    pub shutdown_requested: bool,
    /// SHUTDOWN already stopped the child and saved (or skipped saving) the RDB file.
    pub shutdown_prepared: bool,
    /// The database the next active-expire pass starts with.
    pub expire_cursor: usize,
    /// Notified by SHUTDOWN to stop the server.
    pub shutdown_notify: Option<std::rc::Rc<tokio::sync::Notify>>,
    /// The dataset is being loaded (Redis `server.loading`): clients get `-LOADING` for most
    /// commands, nothing expires and nothing is propagated.
    pub loading: bool,
    /// AOF persistence: the writer, loading progress, sizes.
    pub aof: Persistence,
    /// The background child (AOF rewrite or RDB save) and fork counters.
    pub background: Background,
    /// The AOF rewrite's state and records.
    pub rewrite: RewriteState,
    /// RDB snapshots' state.
    pub rdb: RdbState,
    /// Nesting depth of `cmd::call` (Redis's execution units): what is propagated while it is
    /// non-zero is collected in `prop_pending` and written as one unit when it drops to 0.
    pub prop_depth: u32,
    /// Commands propagated by the current execution unit, with their databases.
    pub prop_pending: Vec<(usize, Vec<Vec<u8>>)>,
}

impl ServerState {
    /// Creates an empty server for `config`.
    pub fn new(config: Config) -> Self {
        let dbs = (0..config.databases).map(|_| Db::default()).collect();
        let aof = Persistence::new(&config);
        ServerState {
            dbs,
            config,
            clients: BTreeMap::new(),
            next_client_id: 1,
            blocking: Blocking::default(),
            watches: Watches::default(),
            pubsub: PubSub::default(),
            stats: Stats::default(),
            started: Instant::now(),
            active_expire_enabled: true,
            shutdown_requested: false,
            shutdown_prepared: false,
            expire_cursor: 0,
            shutdown_notify: None,
            loading: false,
            aof,
            background: Background::default(),
            rewrite: RewriteState::default(),
            rdb: RdbState::new(unix_secs()),
            prop_depth: 0,
            prop_pending: Vec::new(),
        }
    }

    /// Asks the server to shut down (SHUTDOWN); connections flush their replies and close.
    pub fn request_shutdown(&mut self) {
        if let Some(notify) = &self.shutdown_notify {
            notify.notify_one();
        }
    }

    /// The client with `id`.
    ///
    /// # Panics
    /// If no such client is registered; callers only pass ids of clients that are executing
    /// (registered for the whole life of their connection task).
    pub fn client(&mut self, id: ClientId) -> &mut Client {
        self.clients
            .get_mut(&id)
            .expect("an executing client is registered")
    }

    /// Deletes `key` from `db` because its TTL passed, with everything a deletion implies:
    /// WATCHers see a change, the expired-keys counter moves, and the deletion is propagated.
    /// Returns whether the key was expired (and is now gone).
    /// Nothing expires while loading (Redis `keyIsExpired`): a key the AOF gave a TTL that has
    /// passed meanwhile must still receive the commands after it, exactly as when they ran.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8], now_ms: i64) -> bool {
        if self.loading || !self.dbs[db].is_expired(key, now_ms) {
            return false;
        }
        self.dbs[db].remove(key);
        self.stats.expired_keys += 1;
        self.watches.touch_expired(&mut self.clients, db, key);
        self.propagate(db, vec![b"DEL".to_vec(), key.to_vec()]);
        true
    }

    /// Records a command in the AOF stream (Redis `alsoPropagate`). Inside an execution unit
    /// ([`ServerState::begin_unit`]) it is collected and written when the unit ends; outside one
    /// (active expiry) it is written at once, on its own. Nothing is propagated while loading or
    /// with the AOF off.
    pub fn propagate(&mut self, db: usize, args: Vec<Vec<u8>>) {
        self.stats.propagated += 1;
        if self.loading || self.aof.writer.is_none() {
            return;
        }
        if self.prop_depth > 0 {
            self.prop_pending.push((db, args));
        } else if let Some(w) = self.aof.writer.as_mut() {
            w.append_command(unix_secs(), db, &args);
        }
    }

    /// Propagates a command as the client sent it (the default for a command that changed
    /// something). When it is the whole unit — a top-level command with nothing propagated before
    /// it, the common case — it is encoded straight from the request's arguments instead of being
    /// copied into the pending unit first.
    pub fn propagate_received(&mut self, db: usize, args: &[Bytes]) {
        if self.prop_depth == 1 && self.prop_pending.is_empty() && !self.loading {
            if let Some(w) = self.aof.writer.as_mut() {
                self.stats.propagated += 1;
                w.append_command(unix_secs(), db, args);
                return;
            }
        }
        self.propagate(db, args.iter().map(|a| a.to_vec()).collect());
    }

    /// Whether propagated commands go anywhere (an AOF is open and nothing is being loaded);
    /// callers skip building a command's copy when they do not.
    pub fn is_propagating(&self) -> bool {
        !self.loading && self.aof.writer.is_some()
    }

    /// Opens an execution unit (a top-level command, including EXEC and everything it runs).
    pub fn begin_unit(&mut self) {
        self.prop_depth += 1;
    }

    /// Closes an execution unit; the outermost one writes what was propagated meanwhile: one
    /// command bare, several wrapped in `MULTI`/`EXEC` (redis-aof.md §2.4).
    pub fn end_unit(&mut self) {
        self.prop_depth = self.prop_depth.saturating_sub(1);
        if self.prop_depth > 0 || self.prop_pending.is_empty() {
            return;
        }
        let ops = std::mem::take(&mut self.prop_pending);
        if let Some(w) = self.aof.writer.as_mut() {
            let now = unix_secs();
            match ops.as_slice() {
                [(db, args)] => {
                    w.append_command(now, *db, args);
                }
                _ => {
                    w.append_unit(now, &ops, true);
                }
            }
        }
        // Keep the allocation for the next unit.
        self.prop_pending = ops;
        self.prop_pending.clear();
    }

    /// Removes a client and everything that refers to it (subscriptions, WATCHes, blocking).
    pub fn remove_client(&mut self, id: ClientId) {
        self.blocking.unblock(id);
        if let Some(client) = self.clients.remove(&id) {
            self.watches.unwatch_all(id, &client.watched);
            self.pubsub.remove_client(id, &client);
        }
    }

    /// Keys of `db` that will expire, for diagnostics and INFO keyspace.
    pub fn volatile_keys(&self, db: usize) -> usize {
        self.dbs[db].expires.len()
    }

    /// One pass of the active expiry cycle, run every `1000 / hz` ms.
    ///
    /// Like Redis's slow cycle: in each database sample up to 20 keys with a TTL, delete the
    /// expired ones, and sample again while more than a quarter of a sample had expired — within
    /// a time budget of a quarter of the cycle, so a mass expiry never causes a long pause.
    pub fn active_expire_cycle(&mut self, budget: std::time::Duration) {
        const SAMPLE: usize = 20;
        // Redis runs no cron while loading: nothing may expire under the replay.
        if !self.active_expire_enabled || self.loading {
            return;
        }
        let start = Instant::now();
        let now = now_ms();
        let n_dbs = self.dbs.len();
        for step in 0..n_dbs {
            let db = (self.expire_cursor + step) % n_dbs;
            loop {
                let len = self.dbs[db].expires.len();
                if len == 0 {
                    break;
                }
                let mut expired: Vec<Key> = Vec::new();
                let sample = SAMPLE.min(len);
                for _ in 0..sample {
                    let idx = random_index(len);
                    if let Some((key, &at)) = self.dbs[db].expires.get_index(idx) {
                        if at <= now {
                            expired.push(key.clone());
                        }
                    }
                }
                expired.sort_unstable();
                expired.dedup();
                for key in &expired {
                    self.expire_if_needed(db, key, now);
                }
                if expired.len() * 4 <= sample || start.elapsed() > budget {
                    break;
                }
            }
            if start.elapsed() > budget {
                self.expire_cursor = db;
                return;
            }
        }
    }
}

/// The current unix time in seconds (for `#TS:` annotations).
pub fn unix_secs() -> i64 {
    now_ms() / 1000
}

/// The current unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A random index below `len` (`len` > 0). Quality needs only to avoid patterns; a xorshift
/// seeded from the clock is enough and keeps a dependency out.
pub fn random_index(len: usize) -> usize {
    (random_u64() % len as u64) as usize
}

/// A pseudo-random 64-bit number (xorshift64*, per-thread state seeded from the clock).
pub fn random_u64() -> u64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1,
        );
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}
