//! Generic key commands (Redis's `generic` group): DEL, UNLINK, EXISTS, TYPE, RENAME(NX), KEYS,
//! SCAN, RANDOMKEY, the EXPIRE/TTL families, PERSIST, TOUCH, COPY, MOVE and OBJECT.
//!
//! They work on every `Value` variant. Replies, errors and the order of checks follow Redis
//! 7.0's `db.c`, `expire.c` and `object.c`; expiry times are propagated as absolute
//! `PEXPIREAT`, and an expiry time already in the past as `DEL`.

use bytes::Bytes;

use super::args;
use super::ctx::Ctx;
use super::error::{wrong_arity, CmdError, CmdResult, DB_INDEX_OUT_OF_RANGE, NO_SUCH_KEY, SYNTAX};
use super::scan::parse_cursor;
use super::spec::{command, flags::*, CommandSpec};
use crate::db::glob::glob_match;
use crate::db::{strenc, Db, Key, Value};
use crate::protocol::parser::parse_i64;
use crate::server::state::random_index;

/// The keys commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "del",
        -2,
        WRITE,
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Delete a key",
        del,
    ),
    command(
        "unlink",
        -2,
        WRITE | FAST,
        (1, -1, 1),
        "generic",
        "4.0.0",
        "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non \
         blocking.",
        del,
    ),
    command(
        "exists",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Determine if a key exists",
        exists,
    ),
    command(
        "type",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Determine the type stored at key",
        type_cmd,
    ),
    command(
        "rename",
        3,
        WRITE,
        (1, 2, 1),
        "generic",
        "1.0.0",
        "Rename a key",
        rename,
    ),
    command(
        "renamenx",
        3,
        WRITE | FAST,
        (1, 2, 1),
        "generic",
        "1.0.0",
        "Rename a key, only if the new key does not exist",
        renamenx,
    ),
    command(
        "keys",
        2,
        READONLY,
        (0, 0, 0),
        "generic",
        "1.0.0",
        "Find all keys matching the given pattern",
        keys,
    ),
    command(
        "scan",
        -2,
        READONLY,
        (0, 0, 0),
        "generic",
        "2.8.0",
        "Incrementally iterate the keys space",
        scan,
    ),
    command(
        "randomkey",
        1,
        READONLY,
        (0, 0, 0),
        "generic",
        "1.0.0",
        "Return a random key from the keyspace",
        randomkey,
    ),
    command(
        "expire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Set a key's time to live in seconds",
        expire,
    ),
    command(
        "pexpire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Set a key's time to live in milliseconds",
        pexpire,
    ),
    command(
        "expireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "1.2.0",
        "Set the expiration for a key as a UNIX timestamp",
        expireat,
    ),
    command(
        "pexpireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        pexpireat,
    ),
    command(
        "ttl",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Get the time to live for a key in seconds",
        ttl,
    ),
    command(
        "pttl",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Get the time to live for a key in milliseconds",
        pttl,
    ),
    command(
        "expiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Get the expiration Unix timestamp for a key",
        expiretime,
    ),
    command(
        "pexpiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Get the expiration Unix timestamp for a key in milliseconds",
        pexpiretime,
    ),
    command(
        "persist",
        2,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "2.2.0",
        "Remove the expiration from a key",
        persist,
    ),
    command(
        "touch",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "generic",
        "3.2.1",
        "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        touch,
    ),
    command(
        "copy",
        -3,
        WRITE | DENYOOM,
        (1, 2, 1),
        "generic",
        "6.2.0",
        "Copy a key",
        copy,
    ),
    command(
        "move",
        3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Move a key to another database",
        move_cmd,
    ),
    command(
        "object",
        -2,
        0,
        (0, 0, 0),
        "generic",
        "2.2.3",
        "A container for object introspection commands",
        object_container,
    )
    .with_subcommands(OBJECT_SUBCOMMANDS),
];

/// OBJECT's subcommands; `cmd::resolve` picks one and checks its arity.
const OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    command(
        "encoding",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "2.2.3",
        "Inspect the internal encoding of a Redis object",
        object_encoding,
    )
    .full("object|encoding"),
    command(
        "freq",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "4.0.0",
        "Get the logarithmic access frequency counter of a Redis object",
        object_freq,
    )
    .full("object|freq"),
    command(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "generic",
        "6.2.0",
        "Show helpful text about the different subcommands",
        object_help,
    )
    .full("object|help"),
    command(
        "idletime",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "2.2.3",
        "Get the time since a Redis object was last accessed",
        object_idletime,
    )
    .full("object|idletime"),
    command(
        "refcount",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "2.2.3",
        "Get the number of references to the value of the key",
        object_refcount,
    )
    .full("object|refcount"),
];

/// `-ERR source and destination objects are the same` (MOVE, COPY).
const SAME_OBJECT: CmdError = CmdError::fixed("ERR source and destination objects are the same");

/// Replies with a count (of keys) as an integer.
fn reply_count(ctx: &mut Ctx<'_>, n: usize) {
    ctx.out.int(i64::try_from(n).unwrap_or(i64::MAX));
}

/// Whether blocked clients may wait for data on a key holding `value` (lists and sorted sets):
/// a key of those types appearing under a new name must wake them, as Redis's `dbAdd` does.
fn wakes_waiters(value: &Value) -> bool {
    matches!(value, Value::List(_) | Value::ZSet(_))
}

/// DEL and UNLINK: there is no background freeing here, so both delete at once.
fn del(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let mut deleted = 0;
    for key in &a[1..] {
        ctx.expire_if_needed(key);
        if ctx.db().remove(key).is_some() {
            ctx.modified(key);
            deleted += 1;
        }
    }
    reply_count(ctx, deleted);
    Ok(())
}

/// EXISTS counts a key given twice twice, as Redis does.
fn exists(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let found = a[1..]
        .iter()
        .filter(|key| ctx.lookup(key).is_some())
        .count();
    reply_count(ctx, found);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let name = ctx.lookup(&a[1]).map_or("none", Value::type_name);
    ctx.out.simple(name);
    Ok(())
}

fn rename(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    rename_generic(ctx, a, false)
}

fn renamenx(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    rename_generic(ctx, a, true)
}

/// RENAME and RENAMENX (Redis `renameGenericCommand`): the value and its TTL move to the new name.
fn rename_generic(ctx: &mut Ctx<'_>, a: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&a[1], &a[2]);
    if !ctx.exists(src) {
        return Err(NO_SUCH_KEY);
    }
    if src == dst {
        // Nothing to do, but a missing key was still an error above.
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if ctx.exists(dst) {
        if nx {
            ctx.out.int(0);
            return Ok(());
        }
        ctx.db().remove(dst);
    }
    let expire = ctx.db().expire_at(src);
    let Some(value) = ctx.db().remove(src) else {
        return Err(NO_SUCH_KEY);
    };
    let wake = wakes_waiters(&value);
    ctx.db().set(dst, value);
    if let Some(at) = expire {
        ctx.db().set_expire(dst, at);
    }
    ctx.modified(src);
    ctx.modified(dst);
    if wake {
        ctx.signal_ready(dst);
    }
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// KEYS: every key matching the pattern, logically expired ones left out (but not deleted:
/// KEYS is a read of the whole keyspace and Redis does not reclaim during it).
fn keys(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let pattern = &a[1][..];
    let all = pattern == b"*";
    let now = ctx.now_ms;
    let db = &ctx.srv.dbs[ctx.db];
    let found: Vec<&[u8]> = db
        .keys
        .keys()
        .map(|k| &k[..])
        .filter(|k| (all || glob_match(pattern, k, false)) && !db.is_expired(k, now))
        .collect();
    ctx.out.array(found.len());
    for key in found {
        ctx.out.bulk(key);
    }
    Ok(())
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
///
/// The cursor is an index into the keyspace walked downwards (`Db::scan_indexes`), which
/// returns every key present for the whole iteration. Keys found expired are deleted (as
/// Redis's `expireIfNeeded` does) and not returned.
fn scan(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&a[1])?;
    let mut count: usize = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_filter: Option<&[u8]> = None;
    let mut i = 2;
    while let Some(opt) = a.get(i) {
        let Some(value) = a.get(i + 1) else {
            return Err(SYNTAX);
        };
        if args::is(opt, "count") {
            let n = args::int(value)?;
            if n < 1 {
                return Err(SYNTAX);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if args::is(opt, "match") {
            // "*" matches everything, so it is the same as no pattern.
            pattern = (&value[..] != b"*").then_some(&value[..]);
        } else if args::is(opt, "type") {
            type_filter = Some(&value[..]);
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    let db = &ctx.srv.dbs[ctx.db];
    let mut batch: Vec<Key> = Vec::new();
    let next = Db::scan_indexes(db.keys.len(), cursor, count, |index| {
        if let Some((key, value)) = db.keys.get_index(index) {
            let name_ok = pattern.is_none_or(|p| glob_match(p, key, false));
            let type_ok =
                type_filter.is_none_or(|t| t.eq_ignore_ascii_case(value.type_name().as_bytes()));
            if name_ok && type_ok {
                batch.push(key.clone());
            }
        }
    });
    // Expired keys are reclaimed after the walk, so deleting cannot disturb the index order.
    batch.retain(|key| !ctx.expire_if_needed(key));
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(batch.len());
    for key in &batch {
        ctx.out.bulk(key);
    }
    Ok(())
}

/// RANDOMKEY: an O(1) random pick; an expired pick is deleted and another one drawn, as in
/// Redis's `dbRandomKey` (which terminates: every retry removes a key).
fn randomkey(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    loop {
        let db = &ctx.srv.dbs[ctx.db];
        if db.keys.is_empty() {
            ctx.out.null();
            return Ok(());
        }
        let Some((key, _)) = db.keys.get_index(random_index(db.keys.len())) else {
            ctx.out.null();
            return Ok(());
        };
        let key = key.clone();
        if !ctx.expire_if_needed(&key) {
            ctx.out.bulk(&key);
            return Ok(());
        }
    }
}

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

/// Parses the NX/XX/GT/LT flags of the EXPIRE family (Redis `parseExtendedExpireArgumentsOrReply`).
fn expire_flags(a: &[Bytes]) -> Result<u8, CmdError> {
    let mut flags = 0;
    for opt in a.get(3..).unwrap_or(&[]) {
        flags |= match () {
            () if args::is(opt, "nx") => EXPIRE_NX,
            () if args::is(opt, "xx") => EXPIRE_XX,
            () if args::is(opt, "gt") => EXPIRE_GT,
            () if args::is(opt, "lt") => EXPIRE_LT,
            () => return Err(CmdError::err(format!("Unsupported option {}", c_text(opt)))),
        };
    }
    if flags & EXPIRE_NX != 0 && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        return Err(CmdError::fixed(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if flags & EXPIRE_GT != 0 && flags & EXPIRE_LT != 0 {
        return Err(CmdError::fixed(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(flags)
}

/// An argument as C's `%s` prints it: up to the first NUL byte.
fn c_text(arg: &Bytes) -> String {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    String::from_utf8_lossy(&arg[..end]).into_owned()
}

/// The EXPIRE family (Redis `expireGenericCommand`). `basetime` is added to the argument (the
/// current time for relative commands, 0 for the *AT ones).
fn expire_generic(ctx: &mut Ctx<'_>, a: &[Bytes], basetime: i64, seconds: bool) -> CmdResult {
    let key = &a[1];
    let flags = expire_flags(a)?;
    let invalid = || {
        CmdError::err(format!(
            "invalid expire time in '{}' command",
            args::lower(&a[0])
        ))
    };
    let mut when = args::int(&a[2])?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    when = when.checked_add(basetime).ok_or_else(invalid)?;
    if !ctx.exists(key) {
        ctx.out.int(0);
        return Ok(());
    }
    let current = ctx.db().expire_at(key);
    let refused = (flags & EXPIRE_NX != 0 && current.is_some())
        || (flags & EXPIRE_XX != 0 && current.is_none())
        // No TTL counts as an infinite one: never greater-than, always less-than.
        || (flags & EXPIRE_GT != 0 && current.is_none_or(|cur| when <= cur))
        || (flags & EXPIRE_LT != 0 && current.is_some_and(|cur| when >= cur));
    if refused {
        ctx.out.int(0);
        return Ok(());
    }
    // While loading, a past time sets the TTL (Redis `checkAlreadyExpired`): the key must still
    // receive the commands the AOF has after this one, and expires once loading is over.
    if when <= ctx.now_ms && !ctx.srv.loading {
        // Already in the past: the key goes now, and replicas/the AOF see a DEL.
        ctx.db().remove(key);
        ctx.modified(key);
        ctx.propagate(vec![b"DEL".to_vec(), key.to_vec()]);
    } else {
        ctx.db().set_expire(key, when);
        ctx.modified(key);
        // PEXPIREAT itself is propagated as the client sent it, as in Redis (which rewrites the
        // name and the time only when they differ).
        if !args::is(&a[0], "pexpireat") {
            let mut argv: Vec<Vec<u8>> = a.iter().map(|arg| arg.to_vec()).collect();
            argv[0] = b"PEXPIREAT".to_vec();
            argv[2] = when.to_string().into_bytes();
            ctx.propagate(argv);
        }
    }
    ctx.out.int(1);
    Ok(())
}

fn expire(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    expire_generic(ctx, a, now, true)
}

fn pexpire(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    expire_generic(ctx, a, now, false)
}

fn expireat(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, 0, true)
}

fn pexpireat(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, 0, false)
}

/// TTL, PTTL, EXPIRETIME and PEXPIRETIME (Redis `ttlGenericCommand`): -2 for a missing key, -1
/// for one without a TTL; seconds are rounded to the nearest.
fn ttl_generic(ctx: &mut Ctx<'_>, key: &[u8], ms: bool, absolute: bool) -> CmdResult {
    if ctx.lookup(key).is_none() {
        ctx.out.int(-2);
        return Ok(());
    }
    let Some(at) = ctx.db().expire_at(key) else {
        ctx.out.int(-1);
        return Ok(());
    };
    let t = if absolute {
        at
    } else {
        at.saturating_sub(ctx.now_ms).max(0)
    };
    // Rounded in wider arithmetic: Redis answers (i64::MAX + 500) / 1000 for a time of i64::MAX.
    let secs = i64::try_from((i128::from(t) + 500) / 1000).unwrap_or(i64::MAX);
    ctx.out.int(if ms { t } else { secs });
    Ok(())
}

fn ttl(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], false, false)
}

fn pttl(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], true, false)
}

fn expiretime(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], false, true)
}

fn pexpiretime(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], true, true)
}

fn persist(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let removed = ctx.exists(&a[1]) && ctx.db().persist(&a[1]);
    if removed {
        ctx.modified(&a[1]);
    }
    ctx.out.int(i64::from(removed));
    Ok(())
}

/// TOUCH: there is no access clock to update, so it only counts the keys that exist.
fn touch(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    exists(ctx, a)
}

/// Parses a database index as Redis's `getIntFromObjectOrReply` + `selectDb` do.
fn db_index(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, CmdError> {
    let n = args::int(arg)?;
    if i32::try_from(n).is_err() {
        return Err(CmdError::fixed(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    usize::try_from(n)
        .ok()
        .filter(|&i| i < ctx.srv.dbs.len())
        .ok_or(DB_INDEX_OUT_OF_RANGE)
}

fn move_cmd(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let dst = db_index(ctx, &a[2])?;
    if dst == ctx.db {
        return Err(SAME_OBJECT);
    }
    if !ctx.exists(key) {
        ctx.out.int(0);
        return Ok(());
    }
    ctx.srv.expire_if_needed(dst, key, ctx.now_ms);
    if ctx.srv.dbs[dst].keys.contains_key(&key[..]) {
        ctx.out.int(0);
        return Ok(());
    }
    let expire = ctx.db().expire_at(key);
    let Some(value) = ctx.db().remove(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    let wake = wakes_waiters(&value);
    ctx.srv.dbs[dst].set(key, value);
    if let Some(at) = expire {
        ctx.srv.dbs[dst].set_expire(key, at);
    }
    ctx.modified(key);
    ctx.modified_in(dst, key);
    if wake {
        ctx.signal_ready_in(dst, key);
    }
    ctx.out.int(1);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE].
fn copy(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let (src, dst) = (&a[1], &a[2]);
    let mut replace = false;
    let mut dst_db = ctx.db;
    let mut j = 3;
    while let Some(opt) = a.get(j) {
        if args::is(opt, "replace") {
            replace = true;
        } else if let (true, Some(index)) = (args::is(opt, "db"), a.get(j + 1)) {
            dst_db = db_index(ctx, index)?;
            j += 1;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    if dst_db == ctx.db && src == dst {
        return Err(SAME_OBJECT);
    }
    let Some(value) = ctx.lookup(src) else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut value = value.clone();
    // A clone allocates exactly, which would turn a `raw` string into `embstr`; Redis's COPY keeps
    // the encoding (see `encoding`).
    if let (Some(Value::Str(original)), Value::Str(copy)) = (ctx.db().get(src), &mut value) {
        strenc::copy_encoding(original, copy);
    }
    let expire = ctx.db().expire_at(src);
    ctx.srv.expire_if_needed(dst_db, dst, ctx.now_ms);
    if ctx.srv.dbs[dst_db].keys.contains_key(&dst[..]) {
        if !replace {
            ctx.out.int(0);
            return Ok(());
        }
        ctx.srv.dbs[dst_db].remove(dst);
    }
    let wake = wakes_waiters(&value);
    ctx.srv.dbs[dst_db].set(dst, value);
    if let Some(at) = expire {
        ctx.srv.dbs[dst_db].set_expire(dst, at);
    }
    ctx.modified_in(dst_db, dst);
    if wake {
        ctx.signal_ready_in(dst_db, dst);
    }
    ctx.out.int(1);
    Ok(())
}

/// Integers Redis shares (`OBJ_SHARED_INTEGERS`); their REFCOUNT is `OBJ_SHARED_REFCOUNT`.
const SHARED_INTEGERS: i64 = 10_000;

/// The encoding Redis 7.0 would report for `value` (OBJECT ENCODING). Strings are judged by
/// their contents; collections track their encoding themselves, since Redis converts them one
/// way only. O(1).
pub fn encoding(value: &Value) -> &'static str {
    match value {
        Value::Str(s) => strenc::encoding(s),
        // Redis 7.0 always keeps lists in a quicklist (of listpacks).
        Value::List(_) => "quicklist",
        Value::Hash(h) => h.encoding(),
        Value::Set(s) => s.encoding(),
        Value::ZSet(z) => z.encoding(),
    }
}

/// Reached only if `resolve` hands over the container itself, which its arity prevents.
fn object_container(_ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    Err(wrong_arity("object"))
}

fn object_encoding(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    match ctx.lookup_with_out(&a[2]) {
        (Some(value), out) => out.bulk(encoding(value).as_bytes()),
        (None, out) => out.null(),
    }
    Ok(())
}

fn object_refcount(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let refcount = match ctx.lookup(&a[2]) {
        None => None,
        // Small integers are shared objects in Redis, reported with OBJ_SHARED_REFCOUNT.
        Some(Value::Str(s))
            if strenc::encoding(s) == "int"
                && parse_i64(s).is_some_and(|n| (0..SHARED_INTEGERS).contains(&n)) =>
        {
            Some(i64::from(i32::MAX))
        }
        Some(_) => Some(1),
    };
    match refcount {
        Some(n) => ctx.out.int(n),
        None => ctx.out.null(),
    }
    Ok(())
}

/// No per-key access clock is kept, so every key looks just touched, as right after a read.
fn object_idletime(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    if ctx.lookup(&a[2]).is_some() {
        ctx.out.int(0);
    } else {
        ctx.out.null();
    }
    Ok(())
}

/// There is no LFU maxmemory policy, so Redis's error for that case applies to every key.
fn object_freq(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    if ctx.lookup(&a[2]).is_none() {
        ctx.out.null();
        return Ok(());
    }
    Err(CmdError::fixed(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note \
         that when switching between policies at runtime LRU and LFU data will take some time \
         to adjust.",
    ))
}

/// OBJECT HELP, in Redis's `addReplyHelp` layout.
fn object_help(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(LINES.len());
    for line in LINES {
        ctx.out.simple(line);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    //! Handler-level tests: values of every type (whose commands live in other families) are
    //! put straight into the keyspace, and what a command propagates is checked directly.

    use std::collections::VecDeque;

    use crate::db::{hash::Hash, set::Set};

    use super::*;
    use crate::config::Config;
    use crate::db::zset::ZSet;
    use crate::protocol::{Reply, Resp};
    use crate::server::state::ServerState;

    /// What running one command produced.
    pub(crate) struct Run {
        /// The reply bytes as text.
        pub reply: String,
        /// The command's `dirty` count.
        pub dirty: u64,
        /// What it asked to propagate instead of itself, as text arguments.
        pub propagated: Option<Vec<Vec<String>>>,
    }

    /// A server with default configuration and no clients.
    pub(crate) fn server() -> ServerState {
        ServerState::new(Config::default())
    }

    /// Runs one command in database 0 as `cmd::call` would, without the bookkeeping.
    pub(crate) fn run(srv: &mut ServerState, argv: &[&str]) -> Run {
        let a: Vec<Bytes> = argv.iter().map(|s| Bytes::from(s.to_string())).collect();
        let mut out = Reply::new(Resp::V2);
        let spec = match crate::cmd::resolve(&a) {
            Ok(spec) if spec.arity_ok(a.len()) => spec,
            Ok(spec) => {
                return Run {
                    reply: format!("-{}\r\n", wrong_arity(spec.full_name)),
                    dirty: 0,
                    propagated: None,
                }
            }
            Err(e) => {
                return Run {
                    reply: format!("-{e}\r\n"),
                    dirty: 0,
                    propagated: None,
                }
            }
        };
        let mut ctx = Ctx::new(srv, 0, &mut out);
        let result = (spec.handler)(&mut ctx, &a);
        let dirty = ctx.dirty;
        let propagated = ctx.propagation.take().map(|cmds| {
            cmds.into_iter()
                .map(|c| {
                    c.iter()
                        .map(|x| String::from_utf8_lossy(x).into_owned())
                        .collect()
                })
                .collect()
        });
        drop(ctx);
        if let Err(e) = result {
            out.error(e.text());
        }
        Run {
            reply: String::from_utf8_lossy(&out.buf).into_owned(),
            dirty,
            propagated,
        }
    }

    /// Runs a command and returns only its reply.
    pub(crate) fn reply(srv: &mut ServerState, argv: &[&str]) -> String {
        run(srv, argv).reply
    }

    fn list(items: &[&str]) -> Value {
        Value::List(Box::new(
            items
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect::<VecDeque<_>>(),
        ))
    }

    fn hash(n: usize, value_len: usize) -> Value {
        let map: Hash = (0..n)
            .map(|i| (format!("f{i}").into_bytes(), vec![b'v'; value_len]))
            .collect();
        Value::Hash(Box::new(map))
    }

    fn set_of(members: impl IntoIterator<Item = String>) -> Value {
        let set: Set = members.into_iter().collect();
        Value::Set(Box::new(set))
    }

    fn zset(n: usize, member_len: usize) -> Value {
        let mut z = ZSet::default();
        for i in 0..n {
            let mut m = format!("{i}-").into_bytes();
            m.resize(member_len.max(m.len()), b'm');
            z.insert(&m, i as f64);
        }
        Value::ZSet(Box::new(z))
    }

    fn put(srv: &mut ServerState, key: &str, value: Value) {
        srv.dbs[0].set(key.as_bytes(), value);
    }

    #[test]
    fn type_and_encoding_of_every_value_kind() {
        let mut srv = server();
        put(&mut srv, "l", list(&["a", "b"]));
        put(&mut srv, "h", hash(3, 5));
        put(&mut srv, "s", set_of(["1".into(), "-2".into()]));
        put(&mut srv, "z", zset(3, 4));
        for (key, ty, enc) in [
            ("l", "list", "quicklist"),
            ("h", "hash", "listpack"),
            ("s", "set", "intset"),
            ("z", "zset", "listpack"),
        ] {
            assert_eq!(reply(&mut srv, &["TYPE", key]), format!("+{ty}\r\n"));
            assert_eq!(
                reply(&mut srv, &["OBJECT", "ENCODING", key]),
                format!("${}\r\n{enc}\r\n", enc.len())
            );
            assert_eq!(reply(&mut srv, &["OBJECT", "REFCOUNT", key]), ":1\r\n");
            assert_eq!(reply(&mut srv, &["OBJECT", "IDLETIME", key]), ":0\r\n");
        }
    }

    #[test]
    fn encoding_thresholds_match_redis_7_0_defaults() {
        assert_eq!(encoding(&hash(512, 64)), "listpack");
        assert_eq!(encoding(&hash(513, 1)), "hashtable");
        assert_eq!(encoding(&hash(1, 65)), "hashtable");
        assert_eq!(encoding(&set_of((0..512).map(|i| i.to_string()))), "intset");
        assert_eq!(
            encoding(&set_of((0..513).map(|i| i.to_string()))),
            "hashtable"
        );
        assert_eq!(encoding(&set_of(["1".into(), "01".into()])), "hashtable");
        assert_eq!(encoding(&zset(128, 64)), "listpack");
        assert_eq!(encoding(&zset(129, 1)), "skiplist");
        assert_eq!(encoding(&zset(1, 65)), "skiplist");
        assert_eq!(encoding(&list(&[])), "quicklist");
        assert_eq!(
            encoding(&Value::Str(b"-9223372036854775808".to_vec())),
            "int"
        );
        assert_eq!(
            encoding(&Value::Str(b"9223372036854775808".to_vec())),
            "embstr"
        );
        assert_eq!(encoding(&Value::Str(vec![b'a'; 44])), "embstr");
        assert_eq!(encoding(&Value::Str(vec![b'a'; 45])), "raw");
        assert_eq!(encoding(&Value::Str(Vec::new())), "embstr");
    }

    #[test]
    fn generic_commands_move_and_copy_every_kind() {
        let mut srv = server();
        put(&mut srv, "l", list(&["a", "b"]));
        put(&mut srv, "h", hash(2, 3));
        put(&mut srv, "s", set_of(["x".into()]));
        put(&mut srv, "z", zset(2, 2));
        srv.dbs[0].set_expire(b"h", i64::MAX);

        assert_eq!(reply(&mut srv, &["RENAME", "l", "l2"]), "+OK\r\n");
        assert_eq!(srv.dbs[0].get(b"l2"), Some(&list(&["a", "b"])));
        assert_eq!(reply(&mut srv, &["RENAMENX", "h", "l2"]), ":0\r\n");
        assert_eq!(reply(&mut srv, &["RENAMENX", "h", "h2"]), ":1\r\n");
        assert_eq!(srv.dbs[0].expire_at(b"h2"), Some(i64::MAX));
        assert_eq!(srv.dbs[0].expire_at(b"h"), None);

        assert_eq!(reply(&mut srv, &["COPY", "h2", "h3"]), ":1\r\n");
        assert_eq!(srv.dbs[0].get(b"h3"), srv.dbs[0].get(b"h2"));
        assert_eq!(srv.dbs[0].expire_at(b"h3"), Some(i64::MAX));
        if let Some(Value::Hash(h)) = srv.dbs[0].get_mut(b"h3") {
            h.put(b"new", b"v");
        }
        assert_ne!(
            srv.dbs[0].get(b"h3"),
            srv.dbs[0].get(b"h2"),
            "a copy is independent"
        );

        assert_eq!(reply(&mut srv, &["COPY", "z", "s"]), ":0\r\n");
        assert_eq!(reply(&mut srv, &["COPY", "z", "s", "REPLACE"]), ":1\r\n");
        assert_eq!(reply(&mut srv, &["TYPE", "s"]), "+zset\r\n");
        assert_eq!(reply(&mut srv, &["COPY", "s", "s", "DB", "3"]), ":1\r\n");
        assert_eq!(srv.dbs[3].get(b"s"), Some(&zset(2, 2)));

        assert_eq!(reply(&mut srv, &["MOVE", "z", "3"]), ":1\r\n");
        assert_eq!(reply(&mut srv, &["MOVE", "s", "3"]), ":0\r\n");
        assert!(srv.dbs[3].get(b"z").is_some());
        assert!(srv.dbs[0].get(b"z").is_none());

        let r = run(&mut srv, &["DEL", "l2", "h2", "h3", "s", "missing"]);
        assert_eq!(r.reply, ":4\r\n");
        assert_eq!(r.dirty, 4);
        assert!(srv.dbs[0].is_empty());
    }

    #[test]
    fn scan_type_filters_every_kind() {
        let mut srv = server();
        put(&mut srv, "l", list(&["a"]));
        put(&mut srv, "h", hash(1, 1));
        put(&mut srv, "s", set_of(["x".into()]));
        put(&mut srv, "z", zset(1, 1));
        put(&mut srv, "str", Value::Str(b"v".to_vec()));
        for (ty, key) in [
            ("list", "l"),
            ("HASH", "h"),
            ("set", "s"),
            ("zset", "z"),
            ("string", "str"),
        ] {
            let expected = format!("*2\r\n$1\r\n0\r\n*1\r\n${}\r\n{key}\r\n", key.len());
            assert_eq!(reply(&mut srv, &["SCAN", "0", "TYPE", ty]), expected);
        }
        assert_eq!(
            reply(&mut srv, &["SCAN", "0", "TYPE", "stream"]),
            "*2\r\n$1\r\n0\r\n*0\r\n"
        );
    }

    #[test]
    fn expire_family_propagates_absolute_times() {
        let mut srv = server();
        put(&mut srv, "k", Value::Str(b"v".to_vec()));
        let r = run(&mut srv, &["EXPIRE", "k", "100", "NX"]);
        assert_eq!(r.reply, ":1\r\n");
        let at = srv.dbs[0].expire_at(b"k").unwrap_or_default();
        assert_eq!(
            r.propagated,
            Some(vec![vec![
                "PEXPIREAT".to_string(),
                "k".to_string(),
                at.to_string(),
                "NX".to_string()
            ]])
        );
        let r = run(&mut srv, &["PEXPIREAT", "k", "99999999999999"]);
        assert_eq!(r.dirty, 1);
        assert_eq!(srv.dbs[0].expire_at(b"k"), Some(99_999_999_999_999));
        let r = run(&mut srv, &["PERSIST", "k"]);
        assert_eq!((r.reply.as_str(), r.dirty), (":1\r\n", 1));
        let r = run(&mut srv, &["PERSIST", "k"]);
        assert_eq!((r.reply.as_str(), r.dirty), (":0\r\n", 0));
        let r = run(&mut srv, &["EXPIRE", "k", "-5"]);
        assert_eq!(r.reply, ":1\r\n");
        assert_eq!(
            r.propagated,
            Some(vec![vec!["DEL".to_string(), "k".to_string()]])
        );
        assert!(srv.dbs[0].is_empty());
        let r = run(&mut srv, &["EXPIRE", "k", "5"]);
        assert_eq!((r.reply.as_str(), r.dirty), (":0\r\n", 0));
    }
}
