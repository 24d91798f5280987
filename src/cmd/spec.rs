//! The command table's row type: name, arity, flags, key positions and documentation.
//!
//! The table is data, as in Redis's `commands.def`: arity, authentication, transaction and
//! pub/sub-context checks happen once, in `cmd::execute`, from these fields.

use bytes::Bytes;

use super::ctx::Ctx;
use super::error::CmdResult;

/// A command implementation. `args[0]` is the command name as the client sent it.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// Command flags (COMMAND INFO names them in this order).
pub mod flags {
    /// Changes the dataset.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads the dataset.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory use.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Pub/sub related.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 6;
    /// Allowed while loading the dataset.
    pub const LOADING: u32 = 1 << 7;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 8;
    /// Not shown by MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 9;
    /// Not logged by SLOWLOG.
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    /// O(1) or O(log n).
    pub const FAST: u32 = 1 << 11;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 12;
    /// May replicate even on a read-only server.
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 14;
    /// Allowed while a script is busy.
    pub const ALLOW_BUSY: u32 = 1 << 15;
    /// Key arguments cannot be found from first/last/step alone (COMMAND INFO `movablekeys`).
    pub const MOVABLE_KEYS: u32 = 1 << 16;
    /// Not allowed during an asynchronous (replica) load.
    pub const NO_ASYNC_LOADING: u32 = 1 << 17;

    /// Every flag with the name COMMAND INFO gives it.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (MOVABLE_KEYS, "movablekeys"),
    ];
}

/// One command (or subcommand) of the table.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name; for a subcommand just the subcommand (`get` of `config|get`).
    pub name: &'static str,
    /// Full name used in errors and statistics: `get`, `config|get`.
    pub full_name: &'static str,
    /// Redis arity: exact argument count if positive, minimum count if negative (name included).
    pub arity: i32,
    /// `flags::*` bits.
    pub flags: u32,
    /// Position of the first key argument (0 = none).
    pub first_key: i32,
    /// Position of the last key argument (-1 = the last argument).
    pub last_key: i32,
    /// Step between key arguments.
    pub key_step: i32,
    /// Redis's command group (`string`, `list`, `server`, ...).
    pub group: &'static str,
    /// The Redis version that introduced the command.
    pub since: &'static str,
    /// One-line description (COMMAND DOCS).
    pub summary: &'static str,
    /// The implementation; containers without a handler of their own answer with an arity error.
    pub handler: Handler,
    /// Subcommands, for containers such as CONFIG and CLIENT.
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Whether the command has `flag`.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// Builds a table row. `keys` is (first, last, step).
#[allow(clippy::too_many_arguments)] // A table row reads best as one call per command.
pub const fn command(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        full_name: name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        key_step: keys.2,
        group,
        since,
        summary,
        handler,
        subcommands: &[],
    }
}

impl CommandSpec {
    /// Sets the full name of a subcommand (`config|get`).
    pub const fn full(mut self, full_name: &'static str) -> Self {
        self.full_name = full_name;
        self
    }

    /// Attaches subcommands to a container command.
    pub const fn with_subcommands(mut self, subcommands: &'static [CommandSpec]) -> Self {
        self.subcommands = subcommands;
        self
    }
}
