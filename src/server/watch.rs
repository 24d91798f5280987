//! WATCHed keys: which clients watch which (db, key), so that a change marks their transaction
//! as doomed (`dirty_cas`) and EXEC answers with a null array.

use std::collections::{BTreeMap, HashMap};

use crate::db::Key;

use super::client::{Client, ClientId};

/// The WATCH registry.
#[derive(Debug, Default)]
pub struct Watches {
    /// Watchers per (db, key).
    pub by_key: HashMap<(usize, Key), Vec<ClientId>>,
}

impl Watches {
    /// Marks every client watching `key` in `db` as dirty (Redis `touchWatchedKey`).
    pub fn touch(&mut self, clients: &mut BTreeMap<ClientId, Client>, db: usize, key: &[u8]) {
        if self.by_key.is_empty() {
            return;
        }
        if let Some(ids) = self.by_key.get(&(db, Key::from(key))) {
            for id in ids {
                if let Some(c) = clients.get_mut(id) {
                    c.dirty_cas = true;
                }
            }
        }
    }

    /// Marks the watchers of every watched key of `db` that currently exists (FLUSHDB,
    /// FLUSHALL), as Redis's `touchAllWatchedKeysInDb` does: call it before emptying the db.
    pub fn touch_existing_in_db(
        &mut self,
        clients: &mut BTreeMap<ClientId, Client>,
        dbs: &[crate::db::Db],
        db: usize,
    ) {
        for ((watched_db, key), ids) in &self.by_key {
            if *watched_db != db || !dbs[db].keys.contains_key(key) {
                continue;
            }
            for id in ids {
                if let Some(c) = clients.get_mut(id) {
                    c.dirty_cas = true;
                }
            }
        }
    }

    /// Drops every watch of client `id` (UNWATCH, EXEC, DISCARD, disconnect).
    pub fn unwatch_all(&mut self, id: ClientId, watched: &[(usize, Key)]) {
        for slot in watched {
            if let Some(ids) = self.by_key.get_mut(slot) {
                ids.retain(|&c| c != id);
                if ids.is_empty() {
                    self.by_key.remove(slot);
                }
            }
        }
    }
}
