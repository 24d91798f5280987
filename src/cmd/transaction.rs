//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queueing happens in `cmd::execute` (commands after MULTI are stored and answered `+QUEUED`;
//! a command rejected while queueing sets `multi_error`). This file owns what happens at the
//! edges: opening a transaction, running or discarding the queue, and the optimistic locks of
//! WATCH, whose registry is `server::watch`.

use bytes::Bytes;

use super::ctx::Ctx;
use super::error::{CmdError, CmdResult};
use super::spec::{command, flags::*, CommandSpec};
use super::{call_at, resolve, CallMode, Outcome};
use crate::server::client::ClientId;
use crate::server::state::ServerState;

/// The transaction commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        "transactions",
        "1.2.0",
        "Mark the start of a transaction block",
        multi,
    ),
    command(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        (0, 0, 0),
        "transactions",
        "1.2.0",
        "Execute all commands issued after MULTI",
        exec,
    ),
    command(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        "transactions",
        "2.0.0",
        "Discard all commands issued after MULTI",
        discard,
    ),
    command(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (1, -1, 1),
        "transactions",
        "2.2.0",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        watch,
    ),
    command(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        "transactions",
        "2.2.0",
        "Forget about all watched keys",
        unwatch,
    ),
];

const NESTED_MULTI: CmdError = CmdError::fixed("ERR MULTI calls can not be nested");
const EXEC_WITHOUT_MULTI: CmdError = CmdError::fixed("ERR EXEC without MULTI");
const DISCARD_WITHOUT_MULTI: CmdError = CmdError::fixed("ERR DISCARD without MULTI");
const WATCH_IN_MULTI: CmdError = CmdError::fixed("ERR WATCH inside MULTI is not allowed");
const EXECABORT: CmdError =
    CmdError::fixed("EXECABORT Transaction discarded because of previous errors.");

/// Drops every WATCH of client `id` and forgets that a watched key was touched (UNWATCH, and
/// the end of every transaction).
pub fn unwatch_all(srv: &mut ServerState, id: ClientId) {
    let Some(client) = srv.clients.get_mut(&id) else {
        return;
    };
    let watched = std::mem::take(&mut client.watched);
    client.dirty_cas = false;
    srv.watches.unwatch_all(id, &watched);
}

/// Ends client `id`'s transaction without running it: the queue, the queue-time error flag and
/// every WATCH go (Redis `discardTransaction`; DISCARD, a failed EXEC, RESET).
pub fn discard_transaction(srv: &mut ServerState, id: ClientId) {
    if let Some(client) = srv.clients.get_mut(&id) {
        client.multi = None;
        client.multi_error = false;
    }
    unwatch_all(srv, id);
}

fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let client = ctx.client();
    if client.multi.is_some() {
        return Err(NESTED_MULTI);
    }
    client.multi = Some(Vec::new());
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.client().multi.is_none() {
        return Err(DISCARD_WITHOUT_MULTI);
    }
    discard_transaction(ctx.srv, ctx.id);
    ctx.out.ok();
    Ok(())
}

fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let id = ctx.id;
    // Every queued command sees this time, as in Redis, where nested calls reuse the time
    // cached by the outermost one: nothing can expire half-way through the transaction.
    let now = ctx.now_ms;
    let srv = &mut *ctx.srv;
    let Some(client) = srv.clients.get_mut(&id) else {
        return Err(EXEC_WITHOUT_MULTI);
    };
    let Some(queue) = client.multi.take() else {
        return Err(EXEC_WITHOUT_MULTI);
    };
    let queue_error = std::mem::take(&mut client.multi_error);
    // A watched key that existed at WATCH and has expired since counts as touched even if
    // nobody deleted it yet (Redis 7.0 `isWatchedKeyExpired`).
    let touched = client.dirty_cas || srv.watches.any_expired_since_watch(client, &srv.dbs, now);
    // Unwatch before running anything: the transaction's own writes must not touch its watches.
    unwatch_all(srv, id);
    if queue_error {
        return Err(EXECABORT);
    }
    if touched {
        ctx.out.null_array();
        return Ok(());
    }

    // EXEC itself is never propagated: its handler marks nothing dirty and does not call
    // `Ctx::propagate`, so `call` records nothing for it. Each queued command propagates itself
    // through its own `call` (→ `ServerState::propagate`), lazy-expiry DELs included.
    //
    // AOF hook: Redis 7.0 treats the whole EXEC as one execution unit and, when it produced more
    // than one operation, writes `MULTI` (with the db of the first operation) ... `EXEC` around
    // them in the AOF; a unit with a single operation is written bare (redis-aof.md §2.4). The
    // AOF work should open a propagation unit on `srv` right here (buffering what `propagate`
    // receives) and close it after the loop below, wrapping it in MULTI/EXEC if it holds more
    // than one command.
    let out = &mut *ctx.out;
    out.array(queue.len());
    let mut close = false;
    for args in &queue {
        let spec = match resolve(args) {
            Ok(spec) => spec,
            // Resolved once already when queued; kept total so the array stays well formed.
            Err(e) => {
                out.error(e.text());
                continue;
            }
        };
        match call_at(srv, id, out, spec, args, CallMode::InExec, Some(now)) {
            Outcome::Continue => {}
            Outcome::Close => close = true,
            // Blocking commands time out at once inside EXEC (`Ctx::can_block`); should one
            // ask to block anyway, answer as a timeout so every element of the array exists.
            Outcome::Block(_) => out.null_array(),
        }
    }
    // Blocked clients whose keys this transaction fed are served once, after the whole EXEC,
    // by `cmd::execute` (nothing here or in `call` serves them).
    ctx.close_after_reply |= close;
    Ok(())
}

fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (id, db, now) = (ctx.id, ctx.db, ctx.now_ms);
    let srv = &mut *ctx.srv;
    let Some(client) = srv.clients.get_mut(&id) else {
        return Ok(());
    };
    if client.multi.is_some() {
        return Err(WATCH_IN_MULTI);
    }
    // Already doomed: watching more keys cannot change the outcome, so Redis 7.0 skips it.
    if !client.dirty_cas {
        for key in &args[1..] {
            // WATCH does not expire the key (Redis uses `keyIsExpired`, not a lookup): it only
            // remembers that the key was already gone, so its later deletion is no change.
            let expired = srv.dbs[db].is_expired(key, now);
            srv.watches.watch(client, db, key, expired);
        }
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.srv, ctx.id);
    ctx.out.ok();
    Ok(())
}
