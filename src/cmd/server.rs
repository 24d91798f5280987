//! Server commands: COMMAND (introspection of the command table), INFO, DBSIZE, FLUSHDB,
//! FLUSHALL, TIME, SHUTDOWN and DEBUG.
//!
//! COMMAND answers from the table itself (`cmd::all_commands`), so a command added to any family
//! shows up here without further work; ACL categories are derived from flags and group the way
//! Redis's command JSON files assign them.

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;

use super::connection::reply_help;
use super::ctx::Ctx;
use super::error::{CmdResult, NO_SUCH_KEY, SYNTAX};
use super::keys::encoding;
use super::spec::{command, flags, flags::*, CommandSpec};
use super::{all_commands, args, lookup_command, CmdError};
use crate::config::EnableDebug;
use crate::db::{Db, Value};
use crate::protocol::Reply;
use crate::server::client::Peer;
use crate::server::info;

/// The server commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "command",
        -1,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.8.13",
        "Returns detailed information about all commands.",
        command_all,
    )
    .with_subcommands(COMMAND_SUBCOMMANDS),
    command(
        "info",
        -1,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        info_cmd,
    ),
    command(
        "dbsize",
        1,
        READONLY | FAST,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        dbsize,
    ),
    command(
        "flushdb",
        -1,
        WRITE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Removes all keys from the current database.",
        flushdb,
    ),
    command(
        "flushall",
        -1,
        WRITE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        flushall,
    ),
    command(
        "time",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "server",
        "2.6.0",
        "Returns the server time.",
        time,
    ),
    command(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        shutdown,
    ),
    command(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "A container for debugging commands.",
        debug,
    ),
];

/// The COMMAND subcommands.
const COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    command(
        "count",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.8.13",
        "Returns a count of commands.",
        command_count,
    )
    .full("command|count"),
    command(
        "docs",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "7.0.0",
        "Returns documentary information about one, multiple or all commands.",
        command_docs,
    )
    .full("command|docs"),
    command(
        "getkeys",
        -4,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.8.13",
        "Extracts the key names from an arbitrary command.",
        command_getkeys,
    )
    .full("command|getkeys"),
    command(
        "getkeysandflags",
        -4,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "7.0.0",
        "Extracts the key names and access flags for an arbitrary command.",
        command_getkeys,
    )
    .full("command|getkeysandflags"),
    command(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        command_help,
    )
    .full("command|help"),
    command(
        "info",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.8.13",
        "Returns information about one, multiple or all commands.",
        command_info,
    )
    .full("command|info"),
    command(
        "list",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "7.0.0",
        "Returns a list of command names.",
        command_list,
    )
    .full("command|list"),
];

// ---------------------------------------------------------------------------------------------
// COMMAND

/// Redis's ACL categories, in the order COMMAND INFO lists them (their bit order).
const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// Server-group commands Redis puts in @keyspace.
const KEYSPACE_SERVER_COMMANDS: &[&str] = &["flushdb", "flushall", "dbsize", "swapdb"];

/// Commands without the admin flag that Redis still marks @dangerous.
const DANGEROUS_COMMANDS: &[&str] = &[
    "flushdb",
    "flushall",
    "keys",
    "info",
    "lastsave",
    "sort",
    "sort_ro",
    "swapdb",
    "migrate",
    "restore",
    "restore-asking",
];

/// Whether `spec` is in ACL category `category`.
fn in_category(spec: &CommandSpec, category: &str) -> bool {
    let name = spec.full_name;
    match category {
        "keyspace" => spec.group == "generic" || KEYSPACE_SERVER_COMMANDS.contains(&name),
        "read" => spec.has(READONLY),
        "write" => spec.has(WRITE),
        "set" => spec.group == "set",
        "sortedset" => spec.group == "sorted_set",
        "list" => spec.group == "list",
        "hash" => spec.group == "hash",
        "string" => spec.group == "string",
        "pubsub" => spec.has(PUBSUB) || spec.group == "pubsub",
        "admin" => spec.has(ADMIN) || name == "lastsave",
        "fast" => spec.has(FAST),
        "slow" => !spec.has(FAST),
        "blocking" => spec.has(BLOCKING),
        "dangerous" => spec.has(ADMIN) || DANGEROUS_COMMANDS.contains(&name),
        "connection" => spec.group == "connection",
        "transaction" => spec.group == "transactions",
        _ => false,
    }
}

/// The ACL categories of `spec`, in Redis's order.
fn categories(spec: &CommandSpec) -> impl Iterator<Item = &'static str> + '_ {
    CATEGORIES
        .iter()
        .copied()
        .filter(move |c| in_category(spec, c))
}

/// Finds a command or a subcommand written as `container|sub`, ignoring case.
fn lookup_full_name(name: &[u8]) -> Option<&'static CommandSpec> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup_command(name),
        Some(bar) => {
            let parent = lookup_command(&name[..bar])?;
            let sub = name[bar + 1..].to_ascii_lowercase();
            parent
                .subcommands
                .iter()
                .find(|s| s.name.as_bytes() == sub.as_slice())
        }
    }
}

/// The key-spec access flags of a command's keys (a simplification of Redis's per-key flags).
fn key_flags(spec: &CommandSpec) -> [&'static str; 2] {
    if spec.has(WRITE) {
        ["RW", "update"]
    } else {
        ["RO", "access"]
    }
}

/// One COMMAND INFO entry: the ten fields Redis 7.0 gives every command.
fn reply_command_info(out: &mut Reply, spec: &CommandSpec) {
    out.array(10);
    out.bulk(spec.full_name.as_bytes());
    out.int(i64::from(spec.arity));
    let names: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(bit, _)| spec.has(*bit))
        .map(|(_, name)| *name)
        .collect();
    out.set(names.len());
    for name in names {
        out.simple(name);
    }
    out.int(i64::from(spec.first_key));
    out.int(i64::from(spec.last_key));
    out.int(i64::from(spec.key_step));
    let cats: Vec<&str> = categories(spec).collect();
    out.set(cats.len());
    for cat in cats {
        out.simple(&format!("@{cat}"));
    }
    // Tips.
    out.set(0);
    if spec.first_key > 0 {
        out.set(1);
        reply_key_spec(out, spec);
    } else {
        out.set(0);
    }
    out.set(spec.subcommands.len());
    for sub in spec.subcommands {
        reply_command_info(out, sub);
    }
}

/// The key specification of a command whose keys are a plain range.
fn reply_key_spec(out: &mut Reply, spec: &CommandSpec) {
    let last = if spec.last_key < 0 {
        i64::from(spec.last_key)
    } else {
        i64::from(spec.last_key) - i64::from(spec.first_key)
    };
    out.map(3);
    out.bulk(b"flags");
    out.set(2);
    for flag in key_flags(spec) {
        out.simple(flag);
    }
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"index");
    out.bulk(b"spec");
    out.map(1);
    out.bulk(b"index");
    out.int(i64::from(spec.first_key));
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"range");
    out.bulk(b"spec");
    out.map(3);
    out.bulk(b"lastkey");
    out.int(last);
    out.bulk(b"keystep");
    out.int(i64::from(spec.key_step));
    out.bulk(b"limit");
    out.int(0);
}

/// COMMAND DOCS entry (without the name): summary, since, group and the subcommands' docs.
fn reply_command_docs(out: &mut Reply, spec: &CommandSpec) {
    let has_subs = !spec.subcommands.is_empty();
    out.map(3 + usize::from(has_subs));
    out.bulk(b"summary");
    out.bulk(spec.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(spec.since.as_bytes());
    out.bulk(b"group");
    out.bulk(spec.group.as_bytes());
    if has_subs {
        out.bulk(b"subcommands");
        out.map(spec.subcommands.len());
        for sub in spec.subcommands {
            out.bulk(sub.full_name.as_bytes());
            reply_command_docs(out, sub);
        }
    }
}

/// COMMAND without a subcommand: every command's info.
fn command_all(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    let count = all_commands().count();
    ctx.out.array(count);
    for spec in all_commands() {
        reply_command_info(ctx.out, spec);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    ctx.out.int(all_commands().count() as i64);
    Ok(())
}

fn command_info(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    if a.len() == 2 {
        return command_all(ctx, a);
    }
    ctx.out.array(a.len() - 2);
    for name in &a[2..] {
        match lookup_full_name(name) {
            Some(spec) => reply_command_info(ctx.out, spec),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn command_docs(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    if a.len() == 2 {
        ctx.out.map(all_commands().count());
        for spec in all_commands() {
            ctx.out.bulk(spec.full_name.as_bytes());
            reply_command_docs(ctx.out, spec);
        }
        return Ok(());
    }
    let found: Vec<&CommandSpec> = a[2..].iter().filter_map(|n| lookup_full_name(n)).collect();
    ctx.out.map(found.len());
    for spec in found {
        ctx.out.bulk(spec.full_name.as_bytes());
        reply_command_docs(ctx.out, spec);
    }
    Ok(())
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern].
fn command_list(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    enum Filter {
        All,
        Module,
        Category(String),
        Pattern(Bytes),
    }
    let filter = match a.len() {
        2 => Filter::All,
        5 if args::is(&a[2], "filterby") => {
            if args::is(&a[3], "module") {
                Filter::Module
            } else if args::is(&a[3], "aclcat") {
                Filter::Category(args::lower(&a[4]))
            } else if args::is(&a[3], "pattern") {
                Filter::Pattern(a[4].clone())
            } else {
                return Err(SYNTAX);
            }
        }
        _ => return Err(SYNTAX),
    };
    let names: Vec<&'static str> = all_commands()
        .flat_map(|spec| std::iter::once(spec).chain(spec.subcommands.iter()))
        .filter(|spec| match &filter {
            Filter::All => true,
            // There are no modules.
            Filter::Module => false,
            Filter::Category(cat) => in_category(spec, cat),
            Filter::Pattern(p) => crate::db::glob::glob_match(p, spec.full_name.as_bytes(), true),
        })
        .map(|spec| spec.full_name)
        .collect();
    ctx.out.array(names.len());
    for name in names {
        ctx.out.bulk(name.as_bytes());
    }
    Ok(())
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS for commands whose keys are a first/last/step range.
fn command_getkeys(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let with_flags = args::is(&a[1], "getkeysandflags");
    let target = &a[2..];
    let spec =
        super::resolve(target).map_err(|_| CmdError::fixed("ERR Invalid command specified"))?;
    if spec.first_key <= 0 && !spec.has(MOVABLE_KEYS) {
        return Err(CmdError::fixed("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(target.len()) {
        return Err(CmdError::fixed(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    if spec.has(MOVABLE_KEYS) {
        // Key positions depend on the arguments, which the table does not describe.
        return Err(CmdError::fixed(
            "ERR Invalid arguments specified for command",
        ));
    }
    let keys = key_positions(spec, target.len());
    if keys.is_empty() {
        return Err(CmdError::fixed(
            "ERR Invalid arguments specified for command",
        ));
    }
    ctx.out.array(keys.len());
    for i in keys {
        let Some(key) = target.get(i) else { continue };
        if with_flags {
            ctx.out.array(2);
            ctx.out.bulk(key);
            ctx.out.set(2);
            for flag in key_flags(spec) {
                ctx.out.simple(flag);
            }
        } else {
            ctx.out.bulk(key);
        }
    }
    Ok(())
}

/// The argument indexes holding keys, from the spec's first/last/step.
fn key_positions(spec: &CommandSpec, argc: usize) -> Vec<usize> {
    if spec.first_key <= 0 {
        return Vec::new();
    }
    let argc = i64::try_from(argc).unwrap_or(i64::MAX);
    let first = i64::from(spec.first_key);
    let last = if spec.last_key < 0 {
        argc + i64::from(spec.last_key)
    } else {
        i64::from(spec.last_key)
    };
    let step = i64::from(spec.key_step.max(1));
    let mut positions = Vec::new();
    let mut i = first;
    while i <= last && i < argc {
        positions.push(i as usize);
        i += step;
    }
    positions
}

fn command_help(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// INFO, DBSIZE, FLUSHDB, FLUSHALL, TIME

fn info_cmd(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let text = info::generate(ctx.srv, ctx.id, &a[1..]);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

fn dbsize(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
    Ok(())
}

/// The optional ASYNC|SYNC of FLUSHDB and FLUSHALL. Freeing is always synchronous here, so the
/// choice changes nothing.
fn flush_mode(a: &[Bytes]) -> CmdResult {
    match a.get(1) {
        None if a.len() == 1 => Ok(()),
        Some(m) if a.len() == 2 && (args::is(m, "async") || args::is(m, "sync")) => Ok(()),
        _ => Err(SYNTAX),
    }
}

/// Empties database `db`: WATCHers of its existing keys fail first, as in Redis. Returns the
/// number of keys removed.
fn empty_db(ctx: &mut Ctx<'_>, db: usize) -> u64 {
    let srv = &mut *ctx.srv;
    let removed = srv.dbs[db].len() as u64;
    if removed > 0 {
        srv.watches
            .touch_existing_in_db(&mut srv.clients, &srv.dbs, db);
        srv.dbs[db].clear();
    }
    removed
}

fn flushdb(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    flush_mode(a)?;
    let removed = empty_db(ctx, ctx.db);
    // A flush is always a change, even of an empty database: it must be propagated.
    ctx.dirty += removed + 1;
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    flush_mode(a)?;
    let mut removed = 0;
    for db in 0..ctx.srv.dbs.len() {
        removed += empty_db(ctx, db);
    }
    ctx.dirty += removed + 1;
    // Redis `flushAllDataAndResetRDB`: a running BGSAVE would write the flushed dataset, and
    // with save points the RDB file is rewritten at once, so a restart does not bring the
    // flushed keys back. That save resets the dirty counter (`rdb_changes_since_last_save`
    // is 0 afterwards); the FLUSHALL itself is still propagated.
    crate::server::rdbsave::kill(ctx.srv);
    if !ctx.srv.config.save.is_empty() {
        let _ = crate::server::rdbsave::save_here(ctx.srv);
        ctx.dirty = 0;
        ctx.propagate(a.iter().map(|arg| arg.to_vec()).collect());
    }
    ctx.out.ok();
    Ok(())
}

fn time(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    let micros = info::unix_micros();
    ctx.out.array(2);
    ctx.out.bulk_int(micros / 1_000_000);
    ctx.out.bulk_int(micros % 1_000_000);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SHUTDOWN

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. The caller gets no reply: the connection
/// closes as the server stops, as with Redis.
fn shutdown(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let (mut nosave, mut save, mut abort, mut other, mut force) =
        (false, false, false, false, false);
    for arg in &a[1..] {
        if args::is(arg, "nosave") {
            nosave = true;
        } else if args::is(arg, "save") {
            save = true;
        } else if args::is(arg, "abort") {
            abort = true;
        } else if args::is(arg, "now") {
            other = true;
        } else if args::is(arg, "force") {
            other = true;
            force = true;
        } else {
            return Err(SYNTAX);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(SYNTAX);
    }
    if abort {
        // Shutdown is immediate, so there is never one in progress to abort.
        return Err(CmdError::fixed("ERR No shutdown in progress."));
    }
    tracing::warn!("User requested shutdown...");
    // Save when asked to or when save points are configured; a failed save cancels the
    // shutdown unless FORCE.
    let srv = &mut *ctx.srv;
    let save = save || (!nosave && !srv.config.save.is_empty());
    if crate::server::prepare_shutdown(srv, save).is_err() && !force {
        tracing::warn!("Error trying to save the DB, can't exit.");
        return Err(CmdError::fixed(
            "ERR Errors trying to SHUTDOWN. Check logs.",
        ));
    }
    srv.shutdown_prepared = true;
    srv.request_shutdown();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// DEBUG

/// Redis 7.0's refusal when `enable-debug-command` does not allow the caller.
const DEBUG_NOT_ALLOWED: CmdError = CmdError::fixed(
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you \
     can run it from a local connection, otherwise you need to set this option in the \
     configuration file, and then restart the server.",
);

/// Whether the caller may run DEBUG under `enable-debug-command`.
fn debug_allowed(ctx: &mut Ctx<'_>) -> bool {
    match ctx.srv.config.enable_debug_command {
        EnableDebug::Yes => true,
        EnableDebug::No => false,
        EnableDebug::Local => match &ctx.client().peer {
            Peer::Unix { .. } => true,
            Peer::Tcp { addr, .. } => addr.ip().to_canonical().is_loopback(),
        },
    }
}

fn debug(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    if !debug_allowed(ctx) {
        return Err(DEBUG_NOT_ALLOWED);
    }
    let sub = args::lower(&a[1]);
    match (sub.as_str(), a.len()) {
        ("help", 2) => debug_help(ctx.out),
        ("sleep", 3) => {
            // atof semantics: anything that does not parse sleeps for 0 seconds.
            let secs = args::parse_f64(&a[2]).unwrap_or(0.0);
            if secs > 0.0 && secs.is_finite() {
                // Stopping the whole server is the point of DEBUG SLEEP.
                std::thread::sleep(Duration::from_secs_f64(secs.min(1e9)));
            }
            ctx.out.ok();
        }
        ("set-active-expire", 3) => {
            ctx.srv.active_expire_enabled = atoi(&a[2]) != 0;
            ctx.out.ok();
        }
        ("object", 3) => debug_object(ctx, &a[2])?,
        ("digest", 2) => {
            let digest = dataset_digest(&ctx.srv.dbs);
            ctx.out.simple(&hex(&digest));
        }
        ("digest-value", _) => {
            ctx.out.array(a.len() - 2);
            for key in &a[2..] {
                let mut digest = [0u8; 20];
                ctx.expire_if_needed(key);
                let db = &ctx.srv.dbs[ctx.db];
                if let Some(value) = db.get(key) {
                    value_digest(&mut digest, value, db.expire_at(key).is_some());
                }
                ctx.out.simple(&hex(&digest));
            }
        }
        ("error", 3) => {
            let text = String::from_utf8_lossy(&a[2]);
            let msg = match text.strip_prefix('-') {
                Some(coded) => coded.to_string(),
                None => format!("ERR {text}"),
            };
            return Err(CmdError::new(msg));
        }
        ("loadaof", 2) => {
            if ctx.srv.loading {
                return Err(super::error::LOADING);
            }
            crate::server::persist::reload(ctx.srv);
            ctx.out.ok();
        }
        ("reload", _) => debug_reload(ctx, &a[2..])?,
        ("log", 3) => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&a[2]));
            ctx.out.ok();
        }
        _ => {
            return Err(CmdError::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                args::text(&a[1])
            )))
        }
    }
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE] (Redis `debug.c`): saves the RDB file, empties the
/// dataset and loads the file back, so a test can check that a dataset round-trips.
fn debug_reload(ctx: &mut Ctx<'_>, opts: &[Bytes]) -> Result<(), CmdError> {
    let (mut flush, mut save) = (true, true);
    for opt in opts {
        if args::is(opt, "merge") {
            // Duplicates replace existing keys (store_key), which is what MERGE asks for.
        } else if args::is(opt, "noflush") {
            flush = false;
        } else if args::is(opt, "nosave") {
            save = false;
        } else {
            return Err(CmdError::fixed(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    let srv = &mut *ctx.srv;
    if save && crate::server::rdbsave::save_here(srv).is_err() {
        return Err(CmdError::fixed("ERR Error trying to save the DB"));
    }
    if flush {
        crate::server::persist::empty_data(srv);
    }
    match crate::server::rdbsave::load_dump(srv) {
        Ok(true) => {
            tracing::info!("DB reloaded by DEBUG RELOAD");
            ctx.out.ok();
            Ok(())
        }
        Ok(false) => Err(CmdError::fixed("ERR Error trying to load the RDB dump")),
        Err(e) => {
            // The dataset is gone and the file does not load: Redis exits here too.
            tracing::warn!("{e}");
            std::process::exit(1);
        }
    }
}

/// C `atoi`: optional sign and leading digits; anything else counts as 0.
fn atoi(arg: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim_start();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if negative {
        -n
    } else {
        n
    }
}

fn debug_help(out: &mut Reply) {
    reply_help(
        out,
        "DEBUG",
        &[
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "ERROR <string>",
            "    Return a Redis protocol error with <string> as message. Useful for clients",
            "    unit tests to simulate Redis errors.",
            "LOADAOF",
            "    Flush the AOF buffers on disk and reload the AOF in memory.",
            "LOG <message>",
            "    Write <message> to the server log.",
            "OBJECT <key>",
            "    Show low level info about `key` and associated value.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
        ],
    );
}

/// Whether `s` is what Redis would store as an integer (`string2ll` round-trips).
fn is_int_string(s: &[u8]) -> bool {
    s.len() <= 20
        && crate::protocol::parser::parse_i64(s).is_some_and(|n| n.to_string().as_bytes() == s)
}

/// Bytes an RDB length prefix takes.
fn rdb_len_size(n: usize) -> usize {
    match n {
        0..=63 => 1,
        64..=16383 => 2,
        _ if u32::try_from(n).is_ok() => 5,
        _ => 9,
    }
}

/// Bytes a string takes in an RDB file (integers are stored in 1, 2 or 4 bytes).
fn rdb_string_size(s: &[u8]) -> usize {
    if is_int_string(s) {
        if let Some(n) = crate::protocol::parser::parse_i64(s) {
            if i8::try_from(n).is_ok() {
                return 2;
            }
            if i16::try_from(n).is_ok() {
                return 3;
            }
            if i32::try_from(n).is_ok() {
                return 5;
            }
        }
    }
    rdb_len_size(s.len()) + s.len()
}

/// An estimate of `rdbSavedObjectLen` (DEBUG OBJECT `serializedlength`).
fn serialized_length(value: &Value) -> usize {
    match value {
        Value::Str(s) => rdb_string_size(s),
        Value::List(l) => {
            // One listpack node: its header and per-entry overhead of about two bytes.
            let body: usize = l.iter().map(|e| e.len() + 2).sum::<usize>() + 7;
            rdb_len_size(1) + rdb_len_size(body) + body
        }
        Value::Hash(h) => {
            rdb_len_size(h.len())
                + h.iter()
                    .map(|(k, v)| rdb_string_size(k) + rdb_string_size(v))
                    .sum::<usize>()
        }
        Value::Set(s) => {
            rdb_len_size(s.len()) + s.iter().map(|m| rdb_string_size(m)).sum::<usize>()
        }
        Value::ZSet(z) => {
            rdb_len_size(z.len()) + z.iter().map(|(m, _)| rdb_string_size(m) + 8).sum::<usize>()
        }
    }
}

/// DEBUG OBJECT key, in Redis 7.0's line format.
fn debug_object(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    // Like Redis, this looks at the raw keyspace: no lazy expiry, no hit/miss counting.
    let value = ctx.srv.dbs[ctx.db].get(key).ok_or(NO_SUCH_KEY)?;
    let enc = encoding(value);
    // Redis shares the objects of the integers 0..9999: they report the maximum refcount.
    let refcount = match value {
        Value::Str(s) if enc == "int" => match crate::protocol::parser::parse_i64(s) {
            Some(0..=9999) => i32::MAX,
            _ => 1,
        },
        _ => 1,
    };
    let mut line = format!(
        "Value at:{:p} refcount:{refcount} encoding:{enc} serializedlength:{} lru:{} \
         lru_seconds_idle:0",
        value as *const Value,
        serialized_length(value),
        info::lru_clock(),
    );
    if let Value::List(l) = value {
        let size: usize = l.iter().map(|e| e.len() + 2).sum::<usize>() + 7;
        let nodes = usize::from(!l.is_empty());
        let _ = write!(
            line,
            " ql_nodes:{nodes} ql_avg_node:{:.2} ql_listpack_max:-2 ql_compressed:0 \
             ql_uncompressed_size:{size}",
            l.len() as f64 / nodes.max(1) as f64
        );
    }
    ctx.out.simple(&line);
    Ok(())
}

// DEBUG DIGEST follows Redis's scheme: per key, mix (order-dependent SHA-1 chaining) the key,
// the type and the value; XOR (order-independent) the per-key digests together, and the
// elements of unordered collections likewise, so equal datasets give equal digests whatever
// the insertion order.

/// `digest ^= sha1(data)`.
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let hash = sha1::digest(data);
    for (d, h) in digest.iter_mut().zip(hash) {
        *d ^= h;
    }
}

/// `digest = sha1(digest ^ sha1(data))`.
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1::digest(digest);
}

/// Redis's type numbers, which are part of the digest.
fn type_code(value: &Value) -> u32 {
    match value {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
    }
}

/// Folds one value (and whether it has a TTL) into `digest` (Redis `xorObjectDigest`).
fn value_digest(digest: &mut [u8; 20], value: &Value, has_ttl: bool) {
    mix_digest(digest, &type_code(value).to_be_bytes());
    match value {
        Value::Str(s) => mix_digest(digest, s),
        Value::List(l) => {
            for e in l.iter() {
                mix_digest(digest, e);
            }
        }
        Value::Set(s) => {
            for m in s.iter() {
                xor_digest(digest, m);
            }
        }
        Value::ZSet(z) => {
            for (member, score) in z.iter() {
                let mut element = [0u8; 20];
                mix_digest(&mut element, member);
                mix_digest(
                    &mut element,
                    crate::protocol::reply::format_double(score).as_bytes(),
                );
                xor_digest(digest, &element);
            }
        }
        Value::Hash(h) => {
            for (field, v) in h.iter() {
                let mut element = [0u8; 20];
                mix_digest(&mut element, field);
                mix_digest(&mut element, v);
                xor_digest(digest, &element);
            }
        }
    }
    if has_ttl {
        xor_digest(digest, b"!!expire!!");
    }
}

/// The digest of every database (all zeros when they are all empty).
fn dataset_digest(dbs: &[Db]) -> [u8; 20] {
    let mut total = [0u8; 20];
    for (index, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut total, &(index as u32).to_be_bytes());
        for (key, value) in &db.keys {
            let mut digest = [0u8; 20];
            mix_digest(&mut digest, key);
            value_digest(&mut digest, value, db.expires.contains_key(key));
            xor_digest(&mut total, &digest);
        }
    }
    total
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-1 (FIPS 180-1), for DEBUG DIGEST only: a few dozen lines spare a dependency.
mod sha1 {
    /// The SHA-1 hash of `data`.
    pub fn digest(data: &[u8]) -> [u8; 20] {
        let mut h: [u32; 5] = [
            0x6745_2301,
            0xEFCD_AB89,
            0x98BA_DCFE,
            0x1032_5476,
            0xC3D2_E1F0,
        ];
        let bit_len = (data.len() as u64).wrapping_mul(8);
        let mut tail = Vec::with_capacity(128);
        let full = data.len() - data.len() % 64;
        tail.extend_from_slice(&data[full..]);
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&bit_len.to_be_bytes());
        for block in data[..full].chunks_exact(64).chain(tail.chunks_exact(64)) {
            compress(&mut h, block);
        }
        let mut out = [0u8; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    fn compress(h: &mut [u32; 5], block: &[u8]) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate().take(16) {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = *h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *slot = slot.wrapping_add(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_answers() {
        assert_eq!(
            hex(&sha1::digest(b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hex(&sha1::digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(&sha1::digest(long)),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    /// Reference digests computed by redis-server 7.0.15 for the same values.
    #[test]
    fn digests_match_redis() {
        use crate::db::{hash::Hash, set::Set};
        let set: Set = [&b"y"[..], b"1", b"x"].into_iter().collect();
        let mut d = [0u8; 20];
        value_digest(&mut d, &Value::Set(Box::new(set)), false);
        assert_eq!(hex(&d), "03ee76a1ebe8db27d61b3ea784011d5acc537675");
        let hash: Hash = [(b"g", b"w"), (b"f", b"v")].into_iter().collect();
        let mut d = [0u8; 20];
        value_digest(&mut d, &Value::Hash(Box::new(hash)), false);
        assert_eq!(hex(&d), "d127864ed50239662bf61bafc9bda63c17da5b37");
        let mut d = [0u8; 20];
        value_digest(&mut d, &Value::Str(b"v".to_vec()), true);
        assert_eq!(hex(&d), "311b17018163335616e089f6b951c82c477335ac");

        let mut dbs: Vec<Db> = (0..4).map(|_| Db::default()).collect();
        assert_eq!(hex(&dataset_digest(&dbs)), "0".repeat(40));
        let list = [b"a".to_vec(), b"b".to_vec()].into_iter().collect();
        dbs[0].set(b"l", Value::List(Box::new(list)));
        dbs[0].set(b"s", Value::Str(b"hello".to_vec()));
        dbs[0].set(b"a", Value::Str(b"1".to_vec()));
        assert_eq!(
            hex(&dataset_digest(&dbs)),
            "df6bc6277b330ca126aa2ceda027e36e103259f3"
        );
        dbs[3].set(b"x", Value::Str(b"y".to_vec()));
        assert_eq!(
            hex(&dataset_digest(&dbs)),
            "7f638394f2c871ac0002a6b79756cedfedf51238"
        );
    }

    #[test]
    fn atoi_is_lenient_like_c() {
        assert_eq!(atoi(b"0"), 0);
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"12abc"), 12);
        assert_eq!(atoi(b"-3"), -3);
    }

    #[test]
    fn encodings_follow_redis_7_0_defaults() {
        assert_eq!(encoding(&Value::Str(b"123".to_vec())), "int");
        assert_eq!(encoding(&Value::Str(b"0123".to_vec())), "embstr");
        assert_eq!(encoding(&Value::Str(vec![b'a'; 44])), "embstr");
        assert_eq!(encoding(&Value::Str(vec![b'a'; 45])), "raw");
    }
}
