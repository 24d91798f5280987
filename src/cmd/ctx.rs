//! `Ctx`: what a command handler works with — the server state, the calling client, its reply
//! buffer — plus the keyspace operations that keep WATCH, blocking and propagation consistent.
//!
//! Handlers must go through these helpers for anything that changes keys: `modified` (WATCH,
//! dirty counter), `signal_ready` (wakes blocked clients) and `propagate` (the AOF stream). Reads
//! go through `lookup*`, which applies lazy expiry.

use std::time::Duration;

use bytes::Bytes;

use super::error::{CmdError, WRONGTYPE};
use crate::db::{Db, Value};
use crate::protocol::Reply;
use crate::server::client::{Client, ClientId};
use crate::server::state::{now_ms, ServerState};

/// A request from a blocking command to wait for data on `keys`.
#[derive(Debug)]
pub struct BlockRequest {
    /// The keys to wait on.
    pub keys: Vec<Vec<u8>>,
    /// How long to wait; `None` is forever.
    pub timeout: Option<Duration>,
    /// The command to re-run when a key gets data (filled in by `cmd::execute`).
    pub args: Vec<Bytes>,
}

/// The execution context of one command.
pub struct Ctx<'a> {
    /// The data thread's world.
    pub srv: &'a mut ServerState,
    /// The calling client.
    pub id: ClientId,
    /// Where the reply goes.
    pub out: &'a mut Reply,
    /// The selected database (a copy of the client's, for convenience).
    pub db: usize,
    /// The time the command sees, in unix milliseconds; fixed for the whole command (and for a
    /// whole EXEC), so a key cannot expire half-way through.
    pub now_ms: i64,
    /// Running inside EXEC: blocking commands must not block (they time out at once).
    pub in_exec: bool,
    /// Re-executing a blocked command because one of its keys got data. A key of the wrong type
    /// should then be treated as empty (the client keeps waiting), as Redis does.
    pub reprocessing: bool,
    /// Set by `block_on`.
    pub(crate) block: Option<BlockRequest>,
    /// Close the connection after this reply (QUIT, CLIENT KILL of oneself).
    pub close_after_reply: bool,
    /// Changes made by this command (Redis `dirty`); non-zero means it is propagated.
    pub dirty: u64,
    /// Explicit propagation that replaces the command itself (e.g. `SET k v PXAT t` for
    /// `SET k v EX s`); `None` propagates the command as received when `dirty > 0`.
    pub(crate) propagation: Option<Vec<Vec<Vec<u8>>>>,
}

impl<'a> Ctx<'a> {
    /// Creates a context for client `id`, whose selected database is read from the registry.
    pub fn new(srv: &'a mut ServerState, id: ClientId, out: &'a mut Reply) -> Self {
        let db = srv.clients.get(&id).map_or(0, |c| c.db);
        Ctx {
            srv,
            id,
            out,
            db,
            now_ms: now_ms(),
            in_exec: false,
            reprocessing: false,
            block: None,
            close_after_reply: false,
            dirty: 0,
            propagation: None,
        }
    }

    /// The calling client.
    pub fn client(&mut self) -> &mut Client {
        self.srv.client(self.id)
    }

    /// The selected database, without expiry checks.
    pub fn db(&mut self) -> &mut Db {
        &mut self.srv.dbs[self.db]
    }

    /// Applies lazy expiry to `key` in the selected database. Returns true if it was expired.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        self.srv.expire_if_needed(self.db, key, self.now_ms)
    }

    /// Looks `key` up for reading (lazy expiry; counts a keyspace hit or miss).
    pub fn lookup(&mut self, key: &[u8]) -> Option<&Value> {
        self.expire_if_needed(key);
        let found = self.srv.dbs[self.db].keys.get(key);
        if found.is_some() {
            self.srv.stats.keyspace_hits += 1;
        } else {
            self.srv.stats.keyspace_misses += 1;
        }
        found
    }

    /// Like [`Ctx::lookup`], but also hands out the reply buffer, so a handler can encode the
    /// value without copying it first.
    pub fn lookup_with_out(&mut self, key: &[u8]) -> (Option<&Value>, &mut Reply) {
        self.expire_if_needed(key);
        let found = self.srv.dbs[self.db].keys.get(key);
        if found.is_some() {
            self.srv.stats.keyspace_hits += 1;
        } else {
            self.srv.stats.keyspace_misses += 1;
        }
        (found, &mut *self.out)
    }

    /// Looks `key` up for writing (lazy expiry, no hit/miss accounting).
    pub fn lookup_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.expire_if_needed(key);
        self.srv.dbs[self.db].keys.get_mut(key)
    }

    /// Looks `key` up for writing, creating it with `make()` if missing (lazy expiry first):
    /// the shared path of commands that add to a collection (HSET, SADD, ...).
    pub fn lookup_or_insert(&mut self, key: &[u8], make: impl FnOnce() -> Value) -> &mut Value {
        self.expire_if_needed(key);
        self.srv.dbs[self.db].get_or_insert_with(key, make)
    }

    /// Whether `key` exists (after lazy expiry).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.expire_if_needed(key);
        self.srv.dbs[self.db].keys.contains_key(key)
    }

    /// Reads a string key: `Ok(None)` if missing, WRONGTYPE if it holds another type.
    ///
    /// # Errors
    /// [`WRONGTYPE`] when the key holds a non-string.
    pub fn get_str(&mut self, key: &[u8]) -> Result<Option<&Vec<u8>>, CmdError> {
        match self.lookup(key) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(_) => Err(WRONGTYPE),
        }
    }

    /// Marks `key` as changed: WATCHers of it fail their EXEC, and the command counts as a
    /// change (`dirty`), so it is propagated. Call once per changed key.
    pub fn modified(&mut self, key: &[u8]) {
        self.srv.watches.touch(&mut self.srv.clients, self.db, key);
        self.dirty += 1;
    }

    /// Marks `key` in database `db` as changed (MOVE, COPY ... DB).
    pub fn modified_in(&mut self, db: usize, key: &[u8]) {
        self.srv.watches.touch(&mut self.srv.clients, db, key);
        self.dirty += 1;
    }

    /// Wakes clients blocked on `key` (call after adding elements to a list or sorted set).
    pub fn signal_ready(&mut self, key: &[u8]) {
        self.srv.blocking.signal_ready(self.db, key);
    }

    /// Wakes clients blocked on `key` in database `db`.
    pub fn signal_ready_in(&mut self, db: usize, key: &[u8]) {
        self.srv.blocking.signal_ready(db, key);
    }

    /// Replaces what is propagated for this command: call once per command to propagate, in
    /// order. Several calls make a multi-command unit (wrapped in MULTI/EXEC in the AOF).
    pub fn propagate(&mut self, args: Vec<Vec<u8>>) {
        self.propagation.get_or_insert_with(Vec::new).push(args);
    }

    /// Asks to block the client until one of `keys` gets data or `timeout` passes. The handler
    /// must not write a reply; the command is re-executed when a key becomes ready.
    pub fn block_on(&mut self, keys: Vec<Vec<u8>>, timeout: Option<Duration>) {
        self.block = Some(BlockRequest {
            keys,
            timeout,
            args: Vec::new(),
        });
    }

    /// Whether blocking is possible: not inside EXEC (Redis times out at once there).
    pub fn can_block(&self) -> bool {
        !self.in_exec
    }

    /// The argument as an owned key.
    pub fn key(arg: &Bytes) -> Vec<u8> {
        arg.to_vec()
    }
}
