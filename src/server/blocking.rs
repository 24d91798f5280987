//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...): who waits for which key, and in which
//! order they are served.
//!
//! How a blocking command works:
//! 1) The command finds no data and calls `Ctx::block_on(keys, timeout)`. The connection task
//!    registers a `Waiter` here and stops reading from the client.
//! 2) Any command that adds data to a key calls `Ctx::signal_ready(key)`; keys nobody waits for
//!    are ignored.
//! 3) After each top-level command (an EXEC counts as one), `cmd::serve_blocked` takes the ready
//!    keys in order and re-executes the first waiter's command (FIFO per key, as Redis does).
//!    If it produces a reply, the waiter is removed from every key and the reply is sent through
//!    its oneshot channel; if the command would block again, the waiter keeps its place.
//! 4) On timeout, disconnect or CLIENT KILL the connection task removes its waiter.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::db::Key;

use super::client::ClientId;

/// A client waiting in a blocking command.
#[derive(Debug)]
pub struct Waiter {
    /// The database the command runs in.
    pub db: usize,
    /// The keys it waits on.
    pub keys: Vec<Key>,
    /// The command to re-execute once one of its keys has data.
    pub args: Vec<Bytes>,
    /// Receives the encoded reply when the command is served.
    pub reply_tx: oneshot::Sender<Vec<u8>>,
}

/// Every blocked client and the keys that became ready since the last command.
#[derive(Debug, Default)]
pub struct Blocking {
    /// Waiting clients per (db, key), in arrival order.
    pub by_key: HashMap<(usize, Key), VecDeque<ClientId>>,
    /// The waiters themselves.
    pub waiters: HashMap<ClientId, Waiter>,
    /// Keys that received data while someone waited on them, in signal order.
    pub ready: VecDeque<(usize, Key)>,
    /// The members of `ready`, to signal each key once.
    ready_set: HashSet<(usize, Key)>,
}

impl Blocking {
    /// Registers `id` as waiting on each key of `waiter`.
    pub fn block(&mut self, id: ClientId, waiter: Waiter) {
        for key in &waiter.keys {
            self.by_key
                .entry((waiter.db, key.clone()))
                .or_default()
                .push_back(id);
        }
        self.waiters.insert(id, waiter);
    }

    /// Removes `id` from every queue. Returns its waiter if it was still waiting.
    pub fn unblock(&mut self, id: ClientId) -> Option<Waiter> {
        let waiter = self.waiters.remove(&id)?;
        for key in &waiter.keys {
            let slot = (waiter.db, key.clone());
            if let Some(queue) = self.by_key.get_mut(&slot) {
                queue.retain(|&c| c != id);
                if queue.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        Some(waiter)
    }

    /// Notes that `key` in `db` received data, if anyone waits for it.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if self.by_key.is_empty() {
            return;
        }
        let slot = (db, Key::from(key));
        if self.by_key.contains_key(&slot) && self.ready_set.insert(slot.clone()) {
            self.ready.push_back(slot);
        }
    }

    /// Takes the next ready key.
    pub fn next_ready(&mut self) -> Option<(usize, Key)> {
        let slot = self.ready.pop_front()?;
        self.ready_set.remove(&slot);
        Some(slot)
    }

    /// The first client waiting on `key` in `db`.
    pub fn first_waiter(&self, db: usize, key: &[u8]) -> Option<ClientId> {
        self.by_key
            .get(&(db, Key::from(key)))
            .and_then(|q| q.front().copied())
    }

    /// Number of blocked clients (INFO `blocked_clients`).
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// Whether no client is blocked.
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }
}
