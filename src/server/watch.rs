//! WATCHed keys: which clients watch which (db, key), so that a change marks their transaction
//! as doomed (`dirty_cas`) and EXEC answers with a null array.
//!
//! Expiry follows Redis 7.0: a key that exists when WATCHed and expires before EXEC fails the
//! transaction (whether or not the expired key was deleted meanwhile), but a key that was
//! already logically expired when WATCHed is remembered as such, and its later deletion is no
//! change (it was already gone as far as clients could tell).

use std::collections::{BTreeMap, HashMap};

use crate::db::{Db, Key};

use super::client::{Client, ClientId};

/// The WATCH registry.
#[derive(Debug, Default)]
pub struct Watches {
    /// Watchers per (db, key), each with its "already expired when WATCHed" flag (Redis's
    /// `watchedKey.expired`).
    pub by_key: HashMap<(usize, Key), HashMap<ClientId, bool>>,
}

impl Watches {
    /// Registers client `id` as watching `key` in `db` (Redis `watchForKey`). `expired` says
    /// whether the key is logically expired right now. Returns false if it already watched it.
    pub fn watch(&mut self, client: &mut Client, db: usize, key: &[u8], expired: bool) -> bool {
        let slot = (db, Key::from(key));
        let watchers = self.by_key.entry(slot.clone()).or_default();
        if watchers.contains_key(&client.id) {
            return false;
        }
        watchers.insert(client.id, expired);
        client.watched.push(slot);
        true
    }

    /// Marks every client watching `key` in `db` as dirty (Redis `touchWatchedKey`): the key was
    /// written by a command.
    pub fn touch(&mut self, clients: &mut BTreeMap<ClientId, Client>, db: usize, key: &[u8]) {
        if self.by_key.is_empty() {
            return;
        }
        if let Some(watchers) = self.by_key.get_mut(&(db, Key::from(key))) {
            for (id, expired) in watchers.iter_mut() {
                // Written after being seen expired: a real change now, so the flag goes too.
                *expired = false;
                if let Some(c) = clients.get_mut(id) {
                    c.dirty_cas = true;
                }
            }
        }
    }

    /// Like [`Watches::touch`], for the deletion of `key` because its TTL passed (lazy or active
    /// expiry). Watchers that saw the key already expired when they WATCHed it see no change:
    /// their flag is cleared (the key is now simply missing) and they stay clean, as in Redis.
    pub fn touch_expired(
        &mut self,
        clients: &mut BTreeMap<ClientId, Client>,
        db: usize,
        key: &[u8],
    ) {
        if self.by_key.is_empty() {
            return;
        }
        if let Some(watchers) = self.by_key.get_mut(&(db, Key::from(key))) {
            for (id, expired) in watchers.iter_mut() {
                if *expired {
                    *expired = false;
                    continue;
                }
                if let Some(c) = clients.get_mut(id) {
                    c.dirty_cas = true;
                }
            }
        }
    }

    /// Marks the watchers of every watched key of `db` that currently exists (FLUSHDB,
    /// FLUSHALL), as Redis's `touchAllWatchedKeysInDb` does: call it before emptying the db. A key
    /// that was already expired when WATCHed is no change: its flag is just cleared.
    pub fn touch_existing_in_db(
        &mut self,
        clients: &mut BTreeMap<ClientId, Client>,
        dbs: &[Db],
        db: usize,
    ) {
        let Some(emptied) = dbs.get(db) else {
            return;
        };
        for ((watched_db, key), watchers) in &mut self.by_key {
            if *watched_db != db || !emptied.keys.contains_key(key) {
                continue;
            }
            for (id, expired) in watchers.iter_mut() {
                if *expired {
                    *expired = false;
                    continue;
                }
                if let Some(c) = clients.get_mut(id) {
                    c.dirty_cas = true;
                }
            }
        }
    }

    /// Whether a key `client` watches has expired since it was WATCHed (Redis
    /// `isWatchedKeyExpired`, checked by EXEC): such a key counts as changed even if nobody has
    /// deleted it yet.
    pub fn any_expired_since_watch(&self, client: &Client, dbs: &[Db], now_ms: i64) -> bool {
        client.watched.iter().any(|slot| {
            let seen_expired = self
                .by_key
                .get(slot)
                .and_then(|w| w.get(&client.id))
                .copied()
                .unwrap_or(false);
            !seen_expired
                && dbs
                    .get(slot.0)
                    .is_some_and(|d| d.is_expired(&slot.1, now_ms))
        })
    }

    /// Drops every watch of client `id` (UNWATCH, EXEC, DISCARD, disconnect).
    pub fn unwatch_all(&mut self, id: ClientId, watched: &[(usize, Key)]) {
        for slot in watched {
            if let Some(watchers) = self.by_key.get_mut(slot) {
                watchers.remove(&id);
                if watchers.is_empty() {
                    self.by_key.remove(slot);
                }
            }
        }
    }

    /// Number of keys watched by at least one client.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no key is watched.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}
