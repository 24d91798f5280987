//! Commands: the table, and the path every request takes from arguments to reply.
//!
//! `execute` is Redis's `processCommand` (lookup, arity, authentication, pub/sub context,
//! MULTI queueing) and `call` is Redis's `call` (run the handler, count it, propagate it). The
//! families live one per file, each exporting a `COMMANDS` table.

pub mod args;
pub mod ctx;
pub mod error;
pub mod spec;

pub mod config;
pub mod connection;
pub mod hash;
pub mod keys;
pub mod list;
pub mod persistence;
pub mod pubsub;
pub mod random;
pub mod scan;
pub mod server;
pub mod set;
pub mod string;
pub mod transaction;
pub mod zset;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;

pub use ctx::{BlockRequest, Ctx};
pub use error::{CmdError, CmdResult};
pub use spec::{flags, CommandSpec};

use crate::protocol::{Reply, Resp};
use crate::server::client::ClientId;
use crate::server::state::ServerState;

/// Every family's table, in the order COMMAND lists them.
fn families() -> [&'static [CommandSpec]; 12] {
    [
        connection::COMMANDS,
        server::COMMANDS,
        keys::COMMANDS,
        string::COMMANDS,
        hash::COMMANDS,
        list::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        transaction::COMMANDS,
        pubsub::COMMANDS,
        config::COMMANDS,
        persistence::COMMANDS,
    ]
}

/// The command table, by lower-case name.
///
/// Hashed with FNV-1a rather than SipHash: the table is fixed at startup and only ever read, so a
/// client choosing command names cannot degrade it, and this lookup runs for every command.
fn table() -> &'static CommandTable {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        families()
            .into_iter()
            .flatten()
            .map(|spec| (spec.name, spec))
            .collect()
    })
}

type CommandTable = HashMap<&'static str, &'static CommandSpec, BuildHasherDefault<Fnv1a>>;

/// The FNV-1a hash (64-bit), for the read-only command table.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every top-level command.
pub fn all_commands() -> impl Iterator<Item = &'static CommandSpec> {
    families().into_iter().flatten()
}

/// Finds a top-level command by name, ignoring case.
pub fn lookup_command(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    let name = std::str::from_utf8(&lower[..name.len()]).ok()?;
    table().get(name).copied()
}

/// Resolves `args` to a command or subcommand, with Redis's errors for unknown ones.
///
/// # Errors
/// `unknown command ...` or `unknown subcommand ...` exactly as Redis words them.
pub fn resolve(args: &[Bytes]) -> Result<&'static CommandSpec, CmdError> {
    let Some(spec) = lookup_command(&args[0]) else {
        // Redis formats each argument with `'%.*s'`, so it ends at the first NUL byte, and stops
        // adding arguments once 128 bytes are quoted.
        let mut quoted = String::new();
        for arg in &args[1..] {
            if quoted.len() >= 128 {
                break;
            }
            let room = 128 - quoted.len();
            let text = c_string_lossy(arg);
            quoted.push_str(&format!("'{}' ", truncate_bytes(&text, room)));
        }
        return Err(CmdError::err(format!(
            "unknown command '{}', with args beginning with: {quoted}",
            truncate_bytes(&c_string_lossy(&args[0]), 128)
        )));
    };
    if spec.subcommands.is_empty() || args.len() == 1 {
        return Ok(spec);
    }
    let sub = args[1].to_ascii_lowercase();
    spec.subcommands
        .iter()
        .find(|s| s.name.as_bytes() == sub.as_slice())
        .ok_or_else(|| {
            CmdError::err(format!(
                "unknown subcommand '{}'. Try {} HELP.",
                truncate_bytes(&c_string_lossy(&args[1]), 128),
                String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
            ))
        })
}

/// An argument as C's `%s` prints it: up to its first NUL byte.
fn c_string_lossy(arg: &[u8]) -> String {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    String::from_utf8_lossy(&arg[..end]).into_owned()
}

/// `%.*s` on a string: at most `max` bytes, cut at a character boundary.
fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// What the connection task must do after a command.
#[derive(Debug)]
pub enum Outcome {
    /// Go on with the next command.
    Continue,
    /// Stop reading and wait: the client is blocked on keys.
    Block(BlockRequest),
    /// Write what is buffered, then close the connection.
    Close,
}

/// How `call` runs a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallMode {
    /// A command from the client.
    Normal,
    /// A command queued in MULTI, run by EXEC: blocking commands must not block.
    InExec,
    /// A blocked command re-run because one of its keys became ready.
    Reprocess,
}

/// Commands a RESP2 client in pub/sub mode may still run.
const PUBSUB_CONTEXT_ALLOWED: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "ssubscribe",
    "sunsubscribe",
    "ping",
    "quit",
    "reset",
];

/// Commands that run at once even inside MULTI.
const MULTI_IMMEDIATE: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

/// Processes one request from client `id` (Redis `processCommand`).
pub fn execute(srv: &mut ServerState, id: ClientId, out: &mut Reply, args: Vec<Bytes>) -> Outcome {
    let now = Instant::now();
    let spec = match resolve(&args) {
        Ok(spec) => spec,
        Err(e) => {
            reject(srv, id, out, None, &e);
            return Outcome::Continue;
        }
    };
    // Everything the checks below need from the client, read in one lookup.
    let client = srv.client(id);
    client.last_interaction = now;
    client.last_cmd = spec.full_name;
    let authenticated = client.authenticated;
    let in_multi = client.multi.is_some();
    let resp2_subscriber = client.resp == Resp::V2 && client.subscription_count() > 0;
    if !spec.arity_ok(args.len()) {
        reject(
            srv,
            id,
            out,
            Some(spec),
            &error::wrong_arity(spec.full_name),
        );
        return Outcome::Continue;
    }
    if !authenticated && !spec.has(flags::NO_AUTH) {
        reject(srv, id, out, Some(spec), &error::NOAUTH);
        return Outcome::Continue;
    }
    // Redis's disk-error check: while the AOF cannot be written, writes (EXEC too when it
    // queued one) and PING are refused; reads go on.
    if srv.aof.writer.is_some() && (is_write(srv, id, spec) || spec.name == "ping") {
        if let Some(msg) = srv.aof.misconf() {
            reject(srv, id, out, Some(spec), &CmdError::new(msg));
            return Outcome::Continue;
        }
    }
    if in_multi && spec.has(flags::NO_MULTI) {
        let e = CmdError::fixed("ERR Command not allowed inside a transaction");
        reject(srv, id, out, Some(spec), &e);
        return Outcome::Continue;
    }
    if resp2_subscriber && !PUBSUB_CONTEXT_ALLOWED.contains(&spec.full_name) {
        let e = CmdError::err(format!(
            "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.full_name
        ));
        reject(srv, id, out, Some(spec), &e);
        return Outcome::Continue;
    }
    if srv.loading && !spec.has(flags::LOADING) {
        reject(srv, id, out, Some(spec), &error::LOADING);
        return Outcome::Continue;
    }
    if in_multi && !MULTI_IMMEDIATE.contains(&spec.name) {
        if let Some(queue) = srv.client(id).multi.as_mut() {
            queue.push(args);
        }
        out.simple("QUEUED");
        return Outcome::Continue;
    }
    let outcome = call(srv, id, out, spec, &args, CallMode::Normal);
    serve_blocked(srv);
    match outcome {
        Outcome::Block(mut block) => {
            block.args = args;
            Outcome::Block(block)
        }
        other => other,
    }
}

/// Whether `spec` writes, counting EXEC as a write when a queued command does (Redis's
/// `is_write_command` in `processCommand`).
fn is_write(srv: &ServerState, id: ClientId, spec: &CommandSpec) -> bool {
    if spec.has(flags::WRITE) {
        return true;
    }
    if spec.name != "exec" {
        return false;
    }
    srv.clients
        .get(&id)
        .and_then(|c| c.multi.as_ref())
        .is_some_and(|queue| {
            queue
                .iter()
                .any(|args| resolve(args).is_ok_and(|s| s.has(flags::WRITE)))
        })
}

/// Replies with a rejection (the command did not run) and dooms an open transaction.
fn reject(
    srv: &mut ServerState,
    id: ClientId,
    out: &mut Reply,
    spec: Option<&'static CommandSpec>,
    e: &CmdError,
) {
    out.error(e.text());
    srv.stats.count_error(e.text());
    if let Some(spec) = spec {
        srv.stats.commands.get_mut(spec.full_name).rejected_calls += 1;
    }
    let client = srv.client(id);
    if client.multi.is_some() {
        client.multi_error = true;
    }
}

/// Runs one command and does its bookkeeping (Redis `call`): statistics, error counting,
/// propagation of what it changed.
pub fn call(
    srv: &mut ServerState,
    id: ClientId,
    out: &mut Reply,
    spec: &'static CommandSpec,
    args: &[Bytes],
    mode: CallMode,
) -> Outcome {
    call_at(srv, id, out, spec, args, mode, None)
}

/// [`call`] with the time the command sees fixed to `now_ms` when given: every command of an
/// EXEC sees the time EXEC started, as in Redis, so a key cannot expire half-way through.
pub fn call_at(
    srv: &mut ServerState,
    id: ClientId,
    out: &mut Reply,
    spec: &'static CommandSpec,
    args: &[Bytes],
    mode: CallMode,
    now_ms: Option<i64>,
) -> Outcome {
    let start = Instant::now();
    srv.begin_unit();
    let mut ctx = Ctx::new(srv, id, out);
    if let Some(now_ms) = now_ms {
        ctx.now_ms = now_ms;
    }
    ctx.in_exec = mode == CallMode::InExec;
    ctx.reprocessing = mode == CallMode::Reprocess;
    let result = (spec.handler)(&mut ctx, args);
    let Ctx {
        db,
        dirty,
        propagation,
        block,
        close_after_reply,
        ..
    } = ctx;
    let failed = if let Err(e) = &result {
        out.error(e.text());
        srv.stats.count_error(e.text());
        true
    } else {
        false
    };
    match propagation {
        Some(commands) => {
            for command in commands {
                srv.propagate(db, command);
            }
        }
        None if dirty > 0 && srv.is_propagating() => srv.propagate_received(db, args),
        None if dirty > 0 => srv.stats.propagated += 1,
        None => {}
    }
    srv.end_unit();
    srv.stats.dirty += dirty;
    let stat = srv.stats.commands.get_mut(spec.full_name);
    stat.calls += 1;
    stat.usec += u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    if failed {
        stat.failed_calls += 1;
    }
    srv.stats.total_commands_processed += 1;
    if let Some(block) = block {
        return Outcome::Block(block);
    }
    if close_after_reply {
        return Outcome::Close;
    }
    Outcome::Continue
}

/// Serves clients blocked on keys that became ready (see `server::blocking`).
pub fn serve_blocked(srv: &mut ServerState) {
    while let Some((db, key)) = srv.blocking.next_ready() {
        while let Some(waiter_id) = srv.blocking.first_waiter(db, &key) {
            let Some(waiter) = srv.blocking.waiters.get(&waiter_id) else {
                break;
            };
            let args = waiter.args.clone();
            let Ok(spec) = resolve(&args) else {
                break;
            };
            let resp = srv.clients.get(&waiter_id).map_or(Resp::V2, |c| c.resp);
            let mut out = Reply::new(resp);
            match call(srv, waiter_id, &mut out, spec, &args, CallMode::Reprocess) {
                // Still nothing for it: it keeps its place, and so does everyone behind it.
                Outcome::Block(_) => break,
                Outcome::Continue | Outcome::Close => {
                    if let Some(waiter) = srv.blocking.unblock(waiter_id) {
                        // The receiver is gone only if the connection already closed.
                        let _ = waiter.reply_tx.send(out.buf);
                    }
                    if let Some(client) = srv.clients.get_mut(&waiter_id) {
                        client.blocked = false;
                    }
                }
            }
        }
    }
}
