//! String commands: GET/SET and their variants (SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX),
//! MGET/MSET/MSETNX, APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE and the INCR family.
//!
//! Replies, errors, the order in which errors are detected, and what is propagated follow
//! Redis 7.0's `t_string.c`: relative expiry times are propagated as absolute `PXAT` /
//! `PEXPIREAT`, INCRBYFLOAT as `SET ... KEEPTTL`, GETDEL as `DEL`, GETSET as `SET`.

use bytes::Bytes;

use super::args;
use super::ctx::Ctx;
use super::error::{
    wrong_arity, CmdError, CmdResult, NOT_FLOAT, NOT_INTEGER, OVERFLOW, STRING_TOO_LONG, SYNTAX,
    WRONGTYPE,
};
use super::spec::{command, flags::*, CommandSpec};
use crate::db::{strenc, Value};
use crate::numeric::{ld_add, LdError};
use crate::protocol::parser::parse_i64;

/// The string commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "get",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Get the value of a key",
        get,
    ),
    command(
        "set",
        -3,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Set the string value of a key",
        set,
    ),
    command(
        "setnx",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Set the value of a key, only if the key does not exist",
        setnx,
    ),
    command(
        "setex",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        "2.0.0",
        "Set the value and expiration of a key",
        setex,
    ),
    command(
        "psetex",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        "2.6.0",
        "Set the value and expiration in milliseconds of a key",
        psetex,
    ),
    command(
        "mget",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "string",
        "1.0.0",
        "Get the values of all the given keys",
        mget,
    ),
    command(
        "mset",
        -3,
        WRITE | DENYOOM,
        (1, -1, 2),
        "string",
        "1.0.1",
        "Set multiple keys to multiple values",
        mset,
    ),
    command(
        "msetnx",
        -3,
        WRITE | DENYOOM,
        (1, -1, 2),
        "string",
        "1.0.1",
        "Set multiple keys to multiple values, only if none of the keys exist",
        msetnx,
    ),
    command(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Set the string value of a key and return its old value",
        getset,
    ),
    command(
        "getdel",
        2,
        WRITE | FAST,
        (1, 1, 1),
        "string",
        "6.2.0",
        "Get the value of a key and delete the key",
        getdel,
    ),
    command(
        "getex",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "string",
        "6.2.0",
        "Get the value of a key and optionally set its expiration",
        getex,
    ),
    command(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "2.0.0",
        "Append a value to a key",
        append,
    ),
    command(
        "strlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "string",
        "2.2.0",
        "Get the length of the value stored in a key",
        strlen,
    ),
    command(
        "incr",
        2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Increment the integer value of a key by one",
        incr,
    ),
    command(
        "decr",
        2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Decrement the integer value of a key by one",
        decr,
    ),
    command(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Increment the integer value of a key by the given amount",
        incrby,
    ),
    command(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Decrement the integer value of a key by the given number",
        decrby,
    ),
    command(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "2.6.0",
        "Increment the float value of a key by the given amount",
        incrbyfloat,
    ),
    command(
        "getrange",
        4,
        READONLY,
        (1, 1, 1),
        "string",
        "2.4.0",
        "Get a substring of the string stored at a key",
        getrange,
    ),
    command(
        "setrange",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        "2.2.0",
        "Overwrite part of a string at key starting at the specified offset",
        setrange,
    ),
    command(
        "substr",
        4,
        READONLY,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Get a substring of the string stored at a key",
        getrange,
    ),
];

// Option bits of SET and GETEX, as Redis's `OBJ_*` flags: the parser's compatibility rules are
// expressed with them.
const OPT_NX: u32 = 1 << 0;
const OPT_XX: u32 = 1 << 1;
const OPT_GET: u32 = 1 << 2;
const OPT_KEEPTTL: u32 = 1 << 3;
const OPT_PERSIST: u32 = 1 << 4;
const OPT_EX: u32 = 1 << 5;
const OPT_PX: u32 = 1 << 6;
const OPT_EXAT: u32 = 1 << 7;
const OPT_PXAT: u32 = 1 << 8;
const OPT_ANY_EXPIRE: u32 = OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT;

/// The parsed options of SET or GETEX.
struct StrOpts<'a> {
    /// `OPT_*` bits.
    flags: u32,
    /// The expire argument, still unparsed: Redis validates it only after all options.
    expire: Option<&'a Bytes>,
}

/// Whether the parsed options belong to SET (which takes NX/XX/GET/KEEPTTL) or GETEX (PERSIST).
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptsFor {
    Set,
    Getex,
}

/// Parses SET / GETEX options with Redis's `parseExtendedStringArgumentsOrReply` rules: an option
/// that conflicts with one already seen is a syntax error, but repeating one (`EX 1 EX 2`) is
/// allowed and the last value wins.
fn parse_opts(a: &[Bytes], kind: OptsFor) -> Result<StrOpts<'_>, CmdError> {
    let mut opts = StrOpts {
        flags: 0,
        expire: None,
    };
    let is_set = kind == OptsFor::Set;
    let mut j = if is_set { 3 } else { 2 };
    while let Some(opt) = a.get(j) {
        let next = a.get(j + 1);
        let f = opts.flags;
        let expire_ok = |own: u32| f & (OPT_KEEPTTL | OPT_PERSIST | (OPT_ANY_EXPIRE & !own)) == 0;
        if is_set && args::is(opt, "nx") && f & OPT_XX == 0 {
            opts.flags |= OPT_NX;
        } else if is_set && args::is(opt, "xx") && f & OPT_NX == 0 {
            opts.flags |= OPT_XX;
        } else if is_set && args::is(opt, "get") {
            opts.flags |= OPT_GET;
        } else if is_set && args::is(opt, "keepttl") && f & (OPT_PERSIST | OPT_ANY_EXPIRE) == 0 {
            opts.flags |= OPT_KEEPTTL;
        } else if !is_set && args::is(opt, "persist") && f & (OPT_ANY_EXPIRE | OPT_KEEPTTL) == 0 {
            opts.flags |= OPT_PERSIST;
        } else if let Some(unit) = [
            ("ex", OPT_EX),
            ("px", OPT_PX),
            ("exat", OPT_EXAT),
            ("pxat", OPT_PXAT),
        ]
        .iter()
        .find(|(name, _)| args::is(opt, name))
        .map(|&(_, bit)| bit)
        .filter(|&bit| expire_ok(bit) && next.is_some())
        {
            opts.flags |= unit;
            opts.expire = next;
            j += 1;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    Ok(opts)
}

/// `ERR invalid expire time in '<cmd>' command`, with the command's lower-case name.
fn invalid_expire(cmd: &Bytes) -> CmdError {
    CmdError::err(format!(
        "invalid expire time in '{}' command",
        args::lower(cmd)
    ))
}

/// Turns an EX/PX/EXAT/PXAT argument into an absolute unix time in milliseconds, with Redis's
/// `getExpireMillisecondsOrReply` checks: non-positive values and overflow are errors.
fn expire_ms(ctx: &Ctx<'_>, cmd: &Bytes, arg: &Bytes, unit: u32) -> Result<i64, CmdError> {
    let mut ms = args::int(arg)?;
    let seconds = unit & (OPT_EX | OPT_EXAT) != 0;
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(invalid_expire(cmd));
    }
    if seconds {
        ms *= 1000;
    }
    if unit & (OPT_EX | OPT_PX) != 0 {
        ms = ms
            .checked_add(ctx.now_ms)
            .ok_or_else(|| invalid_expire(cmd))?;
    }
    Ok(ms)
}

/// Replies with the string at `key` (nil if missing). Redis's `getGenericCommand`.
fn reply_get(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    match ctx.lookup_with_out(key) {
        (Some(Value::Str(v)), out) => out.bulk(v),
        (None, out) => out.null(),
        (Some(_), _) => return Err(WRONGTYPE),
    }
    Ok(())
}

fn get(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    reply_get(ctx, &a[1])
}

/// The core of SET, SETNX, SETEX and PSETEX (Redis `setGenericCommand`). `ok_int` selects
/// SETNX's replies (`:1` / `:0`) instead of SET's (`+OK` / nil).
fn set_generic(
    ctx: &mut Ctx<'_>,
    a: &[Bytes],
    key: &Bytes,
    val: &Bytes,
    opts: &StrOpts<'_>,
    ok_int: bool,
) -> CmdResult {
    let flags = opts.flags;
    let unit = flags & OPT_ANY_EXPIRE;
    let when = match opts.expire {
        Some(arg) => Some(expire_ms(ctx, &a[0], arg, unit)?),
        None => None,
    };
    if flags & OPT_GET != 0 {
        reply_get(ctx, key)?;
    }
    let found = ctx.exists(key);
    if (flags & OPT_NX != 0 && found) || (flags & OPT_XX != 0 && !found) {
        if flags & OPT_GET == 0 {
            if ok_int {
                ctx.out.int(0);
            } else {
                ctx.out.null();
            }
        }
        return Ok(());
    }
    let value = Value::Str(val.to_vec());
    if flags & OPT_KEEPTTL != 0 {
        ctx.db().insert_keep_ttl(key, value);
    } else {
        ctx.db().set(key, value);
    }
    if let Some(at) = when {
        ctx.db().set_expire(key, at);
    }
    ctx.modified(key);
    if flags & OPT_GET == 0 {
        if ok_int {
            ctx.out.int(1);
        } else {
            ctx.out.ok();
        }
    }
    // Relative times are propagated as an absolute PXAT so that replaying the AOF later gives
    // the same expiry; GET has no effect on the data and is dropped.
    match when {
        Some(at) if unit != OPT_PXAT => ctx.propagate(vec![
            b"SET".to_vec(),
            key.to_vec(),
            val.to_vec(),
            b"PXAT".to_vec(),
            at.to_string().into_bytes(),
        ]),
        None if flags & OPT_GET != 0 => {
            let argv = a
                .iter()
                .enumerate()
                .filter(|(j, arg)| *j < 3 || !args::is(arg, "get"))
                .map(|(_, arg)| arg.to_vec())
                .collect();
            ctx.propagate(argv);
        }
        _ => {}
    }
    Ok(())
}

fn set(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let opts = parse_opts(a, OptsFor::Set)?;
    set_generic(ctx, a, &a[1], &a[2], &opts, false)
}

fn setnx(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let opts = StrOpts {
        flags: OPT_NX,
        expire: None,
    };
    set_generic(ctx, a, &a[1], &a[2], &opts, true)
}

fn setex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let opts = StrOpts {
        flags: OPT_EX,
        expire: Some(&a[2]),
    };
    set_generic(ctx, a, &a[1], &a[3], &opts, false)
}

fn psetex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let opts = StrOpts {
        flags: OPT_PX,
        expire: Some(&a[2]),
    };
    set_generic(ctx, a, &a[1], &a[3], &opts, false)
}

fn mget(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    ctx.out.array(a.len() - 1);
    for key in &a[1..] {
        match ctx.lookup_with_out(key) {
            (Some(Value::Str(v)), out) => out.bulk(v),
            // MGET answers nil for keys of other types instead of failing.
            (_, out) => out.null(),
        }
    }
    Ok(())
}

/// MSET and MSETNX (Redis `msetGenericCommand`).
fn mset_generic(ctx: &mut Ctx<'_>, a: &[Bytes], nx: bool) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(wrong_arity(&args::lower(&a[0])));
    }
    if nx {
        // Checked before writing anything: MSETNX sets all keys or none.
        let mut busy = false;
        for pair in a[1..].chunks_exact(2) {
            busy |= ctx.exists(&pair[0]);
        }
        if busy {
            ctx.out.int(0);
            return Ok(());
        }
    }
    for pair in a[1..].chunks_exact(2) {
        ctx.db().set(&pair[0], Value::Str(pair[1].to_vec()));
        ctx.modified(&pair[0]);
    }
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    mset_generic(ctx, a, false)
}

fn msetnx(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    mset_generic(ctx, a, true)
}

fn getset(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    reply_get(ctx, &a[1])?;
    ctx.db().set(&a[1], Value::Str(a[2].to_vec()));
    ctx.modified(&a[1]);
    ctx.propagate(vec![b"SET".to_vec(), a[1].to_vec(), a[2].to_vec()]);
    Ok(())
}

fn getdel(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    reply_get(ctx, &a[1])?;
    if ctx.db().remove(&a[1]).is_some() {
        ctx.modified(&a[1]);
        ctx.propagate(vec![b"DEL".to_vec(), a[1].to_vec()]);
    }
    Ok(())
}

fn getex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let opts = parse_opts(a, OptsFor::Getex)?;
    let key = &a[1];
    match ctx.lookup(key) {
        None => {
            ctx.out.null();
            return Ok(());
        }
        Some(Value::Str(_)) => {}
        Some(_) => return Err(WRONGTYPE),
    }
    let unit = opts.flags & OPT_ANY_EXPIRE;
    // The expire time is validated only once the key is known to exist, as in Redis.
    let when = match opts.expire {
        Some(arg) => Some(expire_ms(ctx, &a[0], arg, unit)?),
        None => None,
    };
    if let Some(Value::Str(v)) = ctx.srv.dbs[ctx.db].keys.get(&key[..]) {
        ctx.out.bulk(v);
    }
    match when {
        // An absolute time already in the past deletes the key, as an expiry would.
        // (Not while loading: Redis's `checkAlreadyExpired` is false then.)
        Some(at) if unit & (OPT_EXAT | OPT_PXAT) != 0 && at <= ctx.now_ms && !ctx.srv.loading => {
            ctx.db().remove(key);
            ctx.modified(key);
            ctx.propagate(vec![b"DEL".to_vec(), key.to_vec()]);
        }
        Some(at) => {
            ctx.db().set_expire(key, at);
            ctx.modified(key);
            ctx.propagate(vec![
                b"PEXPIREAT".to_vec(),
                key.to_vec(),
                at.to_string().into_bytes(),
            ]);
        }
        // PERSIST changes something only if there was a TTL to remove.
        None if opts.flags & OPT_PERSIST != 0 && ctx.db().persist(key) => {
            ctx.modified(key);
            ctx.propagate(vec![b"PERSIST".to_vec(), key.to_vec()]);
        }
        // A plain GETEX changes nothing and is not propagated.
        None => {}
    }
    Ok(())
}

fn append(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let max = ctx.srv.config.proto_max_bulk_len;
    let total = match ctx.lookup_mut(&a[1]) {
        None => None,
        Some(Value::Str(s)) => {
            let total = (s.len() as u64).saturating_add(a[2].len() as u64);
            if total > max {
                return Err(STRING_TOO_LONG);
            }
            s.extend_from_slice(&a[2]);
            strenc::mark_raw(s);
            Some(s.len())
        }
        Some(_) => return Err(WRONGTYPE),
    };
    let total = match total {
        Some(n) => n,
        None => {
            // A new key: the argument already passed the protocol's size limit.
            ctx.db().set(&a[1], Value::Str(a[2].to_vec()));
            a[2].len()
        }
    };
    ctx.modified(&a[1]);
    ctx.out.int(i64::try_from(total).unwrap_or(i64::MAX));
    Ok(())
}

fn strlen(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let len = ctx.get_str(&a[1])?.map_or(0, Vec::len);
    ctx.out.int(i64::try_from(len).unwrap_or(i64::MAX));
    Ok(())
}

/// Adds `incr` to the integer at `key` (Redis `incrDecrCommand`); the TTL is kept.
fn incr_decr(ctx: &mut Ctx<'_>, key: &Bytes, incr: i64) -> CmdResult {
    let current = match ctx.lookup_mut(key) {
        None => 0,
        Some(Value::Str(s)) => parse_i64(s).ok_or(NOT_INTEGER)?,
        Some(_) => return Err(WRONGTYPE),
    };
    let value = current.checked_add(incr).ok_or(OVERFLOW)?;
    let mut buf = itoa::Buffer::new();
    let text = buf.format(value).as_bytes();
    match ctx.db().get_mut(key) {
        // Rewritten in place: no allocation for the common counter case.
        // Rewritten in place when the allocation fits exactly: no allocation for the common
        // counter case, and an exact capacity keeps the value reported as `int`.
        Some(Value::Str(s)) if s.capacity() == text.len() => {
            s.clear();
            s.extend_from_slice(text);
        }
        Some(Value::Str(s)) => *s = text.to_vec(),
        _ => ctx.db().insert_keep_ttl(key, Value::Str(text.to_vec())),
    }
    ctx.modified(key);
    ctx.out.int(value);
    Ok(())
}

fn incr(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    incr_decr(ctx, &a[1], 1)
}

fn decr(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    incr_decr(ctx, &a[1], -1)
}

fn incrby(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let incr = args::int(&a[2])?;
    incr_decr(ctx, &a[1], incr)
}

fn decrby(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let decr = args::int(&a[2])?;
    // Negating i64::MIN overflows; Redis has a dedicated message for it.
    let incr = decr
        .checked_neg()
        .ok_or(CmdError::fixed("ERR decrement would overflow"))?;
    incr_decr(ctx, &a[1], incr)
}

fn incrbyfloat(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    // The sum is computed in C `long double` so that the text matches Redis byte for byte.
    let sum = match ctx.lookup_mut(key) {
        None => ld_add(b"0", &a[2]),
        Some(Value::Str(s)) => ld_add(s, &a[2]),
        Some(_) => return Err(WRONGTYPE),
    };
    let sum = sum.map_err(|e| match e {
        LdError::BadValue | LdError::BadIncrement => NOT_FLOAT,
        LdError::NanOrInfinity => CmdError::fixed("ERR increment would produce NaN or Infinity"),
    })?;
    ctx.out.bulk(&sum);
    ctx.propagate(vec![
        b"SET".to_vec(),
        key.to_vec(),
        sum.clone(),
        b"KEEPTTL".to_vec(),
    ]);
    // Redis stores the result with createStringObjectFromLongDouble: `embstr`, never `int`.
    let mut sum = sum;
    strenc::mark_embstr(&mut sum);
    ctx.db().insert_keep_ttl(key, Value::Str(sum));
    ctx.modified(key);
    Ok(())
}

/// GETRANGE and SUBSTR.
fn getrange(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let start = args::int(&a[2])?;
    let end = args::int(&a[3])?;
    match ctx.lookup_with_out(&a[1]) {
        (None, out) => out.bulk(b""),
        (Some(Value::Str(s)), out) => {
            let range = str_range(s.len(), start, end);
            out.bulk(range.and_then(|(from, to)| s.get(from..=to)).unwrap_or(&[]));
        }
        (Some(_), _) => return Err(WRONGTYPE),
    }
    Ok(())
}

/// The inclusive byte range GETRANGE returns for `start..=end` on a string of `len` bytes
/// (negative indexes count from the end), or `None` for an empty reply.
fn str_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = i64::try_from(len).ok()?;
    // Adding a non-negative length to a negative index cannot overflow.
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    if start > end || len == 0 {
        return None;
    }
    Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
}

fn setrange(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let offset = args::int(&a[2])?;
    let offset =
        usize::try_from(offset).map_err(|_| CmdError::fixed("ERR offset is out of range"))?;
    let value = &a[3];
    let max = ctx.srv.config.proto_max_bulk_len;
    let too_long = (offset as u64).saturating_add(value.len() as u64) > max;
    let len = match ctx.lookup_mut(&a[1]) {
        None => {
            if value.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            if too_long {
                return Err(STRING_TOO_LONG);
            }
            let mut s = vec![0u8; offset + value.len()];
            s[offset..].copy_from_slice(value);
            strenc::mark_raw(&mut s);
            let len = s.len();
            ctx.db().set(&a[1], Value::Str(s));
            len
        }
        Some(Value::Str(s)) => {
            if value.is_empty() {
                let len = s.len();
                ctx.out.int(i64::try_from(len).unwrap_or(i64::MAX));
                return Ok(());
            }
            if too_long {
                return Err(STRING_TOO_LONG);
            }
            let end = offset + value.len();
            if s.len() < end {
                s.resize(end, 0);
            }
            s[offset..end].copy_from_slice(value);
            strenc::mark_raw(s);
            s.len()
        }
        Some(_) => return Err(WRONGTYPE),
    };
    ctx.modified(&a[1]);
    ctx.out.int(i64::try_from(len).unwrap_or(i64::MAX));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::from(s.to_string())).collect()
    }

    #[test]
    fn option_parsing_follows_redis_compatibility_rules() {
        let ok = |v: &[&str]| parse_opts(&b(v), OptsFor::Set).map(|o| o.flags);
        assert_eq!(ok(&["set", "k", "v", "EX", "1", "ex", "2"]), Ok(OPT_EX));
        assert_eq!(
            ok(&["set", "k", "v", "nx", "NX", "get"]),
            Ok(OPT_NX | OPT_GET)
        );
        for bad in [
            &["set", "k", "v", "NX", "XX"][..],
            &["set", "k", "v", "EX", "1", "PX", "2"],
            &["set", "k", "v", "KEEPTTL", "EX", "1"],
            &["set", "k", "v", "EX"],
            &["set", "k", "v", "PERSIST"],
        ] {
            assert_eq!(ok(bad), Err(SYNTAX), "{bad:?}");
        }
        let getex = |v: &[&str]| parse_opts(&b(v), OptsFor::Getex).map(|o| o.flags);
        assert_eq!(getex(&["getex", "k", "persist"]), Ok(OPT_PERSIST));
        assert_eq!(getex(&["getex", "k", "PERSIST", "EX", "1"]), Err(SYNTAX));
        assert_eq!(getex(&["getex", "k", "NX"]), Err(SYNTAX));
        assert_eq!(getex(&["getex", "k", "GET"]), Err(SYNTAX));
    }

    #[test]
    fn ranges_match_redis() {
        assert_eq!(str_range(11, 0, 4), Some((0, 4)));
        assert_eq!(str_range(11, -3, -1), Some((8, 10)));
        assert_eq!(str_range(11, -1, -3), None);
        assert_eq!(str_range(11, 0, -100), Some((0, 0)));
        assert_eq!(str_range(11, -100, -100), Some((0, 0)));
        assert_eq!(str_range(11, 100, 200), None);
        assert_eq!(str_range(11, i64::MIN, i64::MAX), Some((0, 10)));
        assert_eq!(str_range(0, 0, -1), None);
    }
}

#[cfg(test)]
mod propagation_tests {
    use crate::cmd::keys::tests::{reply, run, server};

    fn argv(v: &[&str]) -> Option<Vec<Vec<String>>> {
        Some(vec![v.iter().map(|s| s.to_string()).collect()])
    }

    #[test]
    fn relative_expiry_is_propagated_as_pxat() {
        let mut srv = server();
        let r = run(&mut srv, &["SET", "k", "v", "EX", "100", "GET"]);
        assert_eq!(r.reply, "$-1\r\n");
        let at = srv.dbs[0].expire_at(b"k").unwrap_or_default().to_string();
        assert_eq!(r.propagated, argv(&["SET", "k", "v", "PXAT", &at]));
        let r = run(&mut srv, &["SETEX", "k", "100", "w"]);
        let at = srv.dbs[0].expire_at(b"k").unwrap_or_default().to_string();
        assert_eq!(r.propagated, argv(&["SET", "k", "w", "PXAT", &at]));
        let r = run(&mut srv, &["SET", "k", "v", "PXAT", "99999999999999"]);
        assert_eq!((r.propagated, r.dirty), (None, 1));
        let r = run(&mut srv, &["SET", "k", "x", "get", "KEEPTTL", "GET"]);
        assert_eq!(r.reply, "$1\r\nv\r\n");
        assert_eq!(r.propagated, argv(&["SET", "k", "x", "KEEPTTL"]));
        assert_eq!(srv.dbs[0].expire_at(b"k"), Some(99_999_999_999_999));
    }

    #[test]
    fn rewritten_string_commands() {
        let mut srv = server();
        let r = run(&mut srv, &["INCRBYFLOAT", "f", "1.5"]);
        assert_eq!(r.propagated, argv(&["SET", "f", "1.5", "KEEPTTL"]));
        let r = run(&mut srv, &["GETSET", "f", "2"]);
        assert_eq!(r.propagated, argv(&["SET", "f", "2"]));
        let r = run(&mut srv, &["GETEX", "f"]);
        assert_eq!((r.propagated, r.dirty), (None, 0));
        let r = run(&mut srv, &["GETEX", "f", "PERSIST"]);
        assert_eq!((r.propagated, r.dirty), (None, 0));
        let r = run(&mut srv, &["GETEX", "f", "PXAT", "99999999999999"]);
        assert_eq!(r.propagated, argv(&["PEXPIREAT", "f", "99999999999999"]));
        let r = run(&mut srv, &["GETEX", "f", "PERSIST"]);
        assert_eq!(r.propagated, argv(&["PERSIST", "f"]));
        let r = run(&mut srv, &["GETEX", "f", "EXAT", "1"]);
        assert_eq!(r.reply, "$1\r\n2\r\n");
        assert_eq!(r.propagated, argv(&["DEL", "f"]));
        assert_eq!(reply(&mut srv, &["GET", "f"]), "$-1\r\n");
        let r = run(&mut srv, &["MSET", "a", "1", "b", "2"]);
        assert_eq!((r.propagated, r.dirty), (None, 2));
        let r = run(&mut srv, &["GETDEL", "a"]);
        assert_eq!(r.propagated, argv(&["DEL", "a"]));
        let r = run(&mut srv, &["GETDEL", "a"]);
        assert_eq!((r.propagated, r.dirty), (None, 0));
        let r = run(&mut srv, &["SETRANGE", "b", "0", ""]);
        assert_eq!((r.reply.as_str(), r.dirty), (":1\r\n", 0));
    }

    #[test]
    fn every_string_command_rejects_other_types() {
        let mut srv = server();
        let list = crate::db::Value::List(Box::default());
        srv.dbs[0].set(b"l", list.clone());
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for argv in [
            &["GET", "l"][..],
            &["SET", "l", "v", "GET"],
            &["GETSET", "l", "v"],
            &["GETDEL", "l"],
            &["GETEX", "l", "PERSIST"],
            &["APPEND", "l", "x"],
            &["STRLEN", "l"],
            &["INCR", "l"],
            &["DECRBY", "l", "2"],
            &["INCRBYFLOAT", "l", "1"],
            &["GETRANGE", "l", "0", "1"],
            &["SETRANGE", "l", "0", "x"],
            &["SETRANGE", "l", "0", ""],
        ] {
            assert_eq!(reply(&mut srv, argv), wrongtype, "{argv:?}");
        }
        assert_eq!(srv.dbs[0].get(b"l"), Some(&list), "nothing was changed");
        assert_eq!(
            reply(&mut srv, &["MGET", "l", "nokey"]),
            "*2\r\n$-1\r\n$-1\r\n"
        );
        assert_eq!(reply(&mut srv, &["MSETNX", "l", "v"]), ":0\r\n");
        assert_eq!(reply(&mut srv, &["SETNX", "l", "v"]), ":0\r\n");
        // Plain SET overwrites a key of any type.
        assert_eq!(reply(&mut srv, &["SET", "l", "v"]), "+OK\r\n");
        assert_eq!(reply(&mut srv, &["GET", "l"]), "$1\r\nv\r\n");
    }
}
