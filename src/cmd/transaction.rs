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

#[cfg(test)]
mod tests {
    use crate::cmd::pubsub::harness::{connect, run, server};
    use crate::db::Value;
    use crate::protocol::Resp;
    use crate::server::state::{now_ms, ServerState};

    /// Stores `key` in db 0 with a TTL ending `ms_from_now` from now (negative: already past).
    fn set_with_ttl(srv: &mut ServerState, key: &str, ms_from_now: i64) {
        srv.dbs[0].set(key.as_bytes(), Value::Str(b"v".to_vec()));
        srv.dbs[0].set_expire(key.as_bytes(), now_ms() + ms_from_now);
    }

    /// Moves the TTL of `key` into the past, as if time had passed.
    fn let_expire(srv: &mut ServerState, key: &str) {
        srv.dbs[0].set_expire(key.as_bytes(), now_ms() - 1);
    }

    /// WATCH `key` as `id`, then run `between`, then MULTI/PING/EXEC; returns EXEC's reply.
    fn exec_after(
        srv: &mut ServerState,
        id: u64,
        key: &str,
        between: impl FnOnce(&mut ServerState),
    ) -> String {
        assert_eq!(run(srv, id, &["watch", key]), "+OK\r\n");
        between(srv);
        assert_eq!(run(srv, id, &["multi"]), "+OK\r\n");
        assert_eq!(run(srv, id, &["ping"]), "+QUEUED\r\n");
        run(srv, id, &["exec"])
    }

    const PASSED: &str = "*1\r\n+PONG\r\n";
    const FAILED: &str = "*-1\r\n";

    #[test]
    fn key_expiring_after_watch_fails_exec_even_if_never_deleted() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V2);
        set_with_ttl(&mut srv, "k", 100_000);
        let reply = exec_after(&mut srv, a.id, "k", |srv| let_expire(srv, "k"));
        assert_eq!(reply, FAILED);
    }

    #[test]
    fn key_expiring_after_watch_and_deleted_by_a_read_fails_exec() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V2);
        let b = connect(&mut srv, Resp::V2);
        set_with_ttl(&mut srv, "k", 100_000);
        let reply = exec_after(&mut srv, a.id, "k", |srv| {
            let_expire(srv, "k");
            assert_eq!(run(srv, b.id, &["get", "k"]), "$-1\r\n");
        });
        assert_eq!(reply, FAILED);
    }

    #[test]
    fn key_already_expired_at_watch_is_no_change_when_deleted() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V2);
        let b = connect(&mut srv, Resp::V2);
        set_with_ttl(&mut srv, "k", -10);
        assert_eq!(exec_after(&mut srv, a.id, "k", |_| {}), PASSED);
        set_with_ttl(&mut srv, "k", -10);
        let reply = exec_after(&mut srv, a.id, "k", |srv| {
            assert_eq!(run(srv, b.id, &["get", "k"]), "$-1\r\n");
        });
        assert_eq!(reply, PASSED);
        // Read by the watching client itself before MULTI: still no change.
        set_with_ttl(&mut srv, "k", -10);
        let reply = exec_after(&mut srv, a.id, "k", |srv| {
            assert_eq!(run(srv, a.id, &["get", "k"]), "$-1\r\n");
        });
        assert_eq!(reply, PASSED);
    }

    #[test]
    fn key_already_expired_at_watch_then_written_fails_exec() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V2);
        let b = connect(&mut srv, Resp::V2);
        set_with_ttl(&mut srv, "k", -10);
        let reply = exec_after(&mut srv, a.id, "k", |srv| {
            assert_eq!(run(srv, b.id, &["set", "k", "x"]), "+OK\r\n");
        });
        assert_eq!(reply, FAILED);
        set_with_ttl(&mut srv, "k", -10);
        let reply = exec_after(&mut srv, a.id, "k", |srv| {
            assert_eq!(run(srv, b.id, &["get", "k"]), "$-1\r\n");
            assert_eq!(run(srv, b.id, &["set", "k", "x"]), "+OK\r\n");
        });
        assert_eq!(reply, FAILED);
    }

    #[test]
    fn flush_touches_existing_keys_only() {
        let flush = |srv: &mut ServerState| {
            let ServerState {
                watches,
                clients,
                dbs,
                ..
            } = srv;
            watches.touch_existing_in_db(clients, dbs, 0);
            dbs[0].clear();
        };
        let mut srv = server();
        let a = connect(&mut srv, Resp::V2);
        // Existing key: flushed, so changed.
        run(&mut srv, a.id, &["set", "k", "v"]);
        assert_eq!(exec_after(&mut srv, a.id, "k", flush), FAILED);
        // Missing key: nothing happens to it.
        assert_eq!(exec_after(&mut srv, a.id, "nokey", flush), PASSED);
        // Already expired at WATCH: its removal is no change.
        set_with_ttl(&mut srv, "k", -10);
        assert_eq!(exec_after(&mut srv, a.id, "k", flush), PASSED);
        // Existing at WATCH, expired (not yet deleted) at flush time: changed.
        set_with_ttl(&mut srv, "k", 100_000);
        let reply = exec_after(&mut srv, a.id, "k", |srv| {
            let_expire(srv, "k");
            flush(srv);
        });
        assert_eq!(reply, FAILED);
    }

    #[test]
    fn watches_are_dropped_at_the_end_of_every_transaction() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V2);
        let b = connect(&mut srv, Resp::V2);
        run(&mut srv, a.id, &["watch", "k", "k", "j"]);
        assert_eq!(srv.watches.len(), 2);
        run(&mut srv, a.id, &["multi"]);
        run(&mut srv, a.id, &["exec"]);
        assert!(srv.watches.is_empty());
        run(&mut srv, a.id, &["watch", "k"]);
        run(&mut srv, a.id, &["multi"]);
        run(&mut srv, a.id, &["discard"]);
        assert!(srv.watches.is_empty());
        run(&mut srv, a.id, &["watch", "k"]);
        run(&mut srv, b.id, &["watch", "k"]);
        srv.remove_client(a.id);
        assert_eq!(
            srv.watches.by_key.values().map(|w| w.len()).sum::<usize>(),
            1
        );
        run(&mut srv, b.id, &["unwatch"]);
        assert!(srv.watches.is_empty());
    }

    #[test]
    fn resp3_null_for_a_touched_watch() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V3);
        let b = connect(&mut srv, Resp::V3);
        let reply = exec_after(&mut srv, a.id, "k", |srv| {
            run(srv, b.id, &["set", "k", "1"]);
        });
        assert_eq!(reply, "_\r\n");
    }

    #[test]
    fn exec_never_propagates_itself() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V2);
        run(&mut srv, a.id, &["multi"]);
        run(&mut srv, a.id, &["set", "a", "1"]);
        run(&mut srv, a.id, &["get", "a"]);
        run(&mut srv, a.id, &["set", "b", "2"]);
        let before = srv.stats.propagated;
        assert_eq!(
            run(&mut srv, a.id, &["exec"]),
            "*3\r\n+OK\r\n$1\r\n1\r\n+OK\r\n"
        );
        // The two SETs, and nothing for EXEC (nor for the read).
        assert_eq!(srv.stats.propagated - before, 2);
        run(&mut srv, a.id, &["multi"]);
        let before = srv.stats.propagated;
        assert_eq!(run(&mut srv, a.id, &["exec"]), "*0\r\n");
        assert_eq!(srv.stats.propagated, before);
    }
}
