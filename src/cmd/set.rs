//! The set command family (SADD ... SSCAN) with Redis 7.0's replies and errors.
//!
//! A set is a `Value::Set` (`db::set::Set`), which tracks the encoding Redis would give it and
//! keeps an intset in numeric order: random picks are a random index, so SPOP and SRANDMEMBER
//! cost O(1) per element (plus the intset's O(n) shift on removal, as in Redis). A set is listed
//! in storage order, which for an intset is the numeric order Redis lists it in; SSCAN returns
//! an intset whole. Results Redis collects in a fresh set before listing them (SUNION, SDIFF,
//! SPOP of the whole set) are listed as that fresh set would be.

use bytes::Bytes;
use indexmap::IndexSet;

use super::args;
use super::ctx::Ctx;
use super::error::{CmdError, CmdResult, SYNTAX, WRONGTYPE};
use super::random::{random_count, sample_unique, MAX_RANDOM_REPLY};
use super::scan::{empty_scan, parse_cursor, parse_scan_options, scan_reply};
use super::spec::{command, flags::*, CommandSpec};
use crate::db::glob::glob_match;
use crate::db::set::{Set, INTSET_MAX_ENTRIES};
use crate::db::{Db, Value};
use crate::protocol::parser::parse_i64;
use crate::protocol::Reply;
use crate::server::state::random_index;

/// The set commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "sadd",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "Adds one or more members to a set. Creates the key if it doesn't exist.",
        sadd,
    ),
    command(
        "srem",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "Removes one or more members from a set. Deletes the set if the last member was removed.",
        srem,
    ),
    command(
        "smembers",
        2,
        READONLY,
        (1, 1, 1),
        "set",
        "1.0.0",
        "Returns all members of a set.",
        smembers,
    ),
    command(
        "sismember",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "Determines whether a member belongs to a set.",
        sismember,
    ),
    command(
        "smismember",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        "set",
        "6.2.0",
        "Determines whether multiple members belong to a set.",
        smismember,
    ),
    command(
        "scard",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "Returns the number of members in a set.",
        scard,
    ),
    command(
        "spop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
        spop,
    ),
    command(
        "srandmember",
        -2,
        READONLY,
        (1, 1, 1),
        "set",
        "1.0.0",
        "Get one or multiple random members from a set",
        srandmember,
    ),
    command(
        "smove",
        4,
        WRITE | FAST,
        (1, 2, 1),
        "set",
        "1.0.0",
        "Moves a member from one set to another.",
        smove,
    ),
    command(
        "sinter",
        -2,
        READONLY,
        (1, -1, 1),
        "set",
        "1.0.0",
        "Returns the intersect of multiple sets.",
        sinter,
    ),
    command(
        "sintercard",
        -3,
        READONLY | MOVABLE_KEYS,
        (0, 0, 0),
        "set",
        "7.0.0",
        "Returns the number of members of the intersect of multiple sets.",
        sintercard,
    ),
    command(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        "set",
        "1.0.0",
        "Stores the intersect of multiple sets in a key.",
        sinterstore,
    ),
    command(
        "sunion",
        -2,
        READONLY,
        (1, -1, 1),
        "set",
        "1.0.0",
        "Returns the union of multiple sets.",
        sunion,
    ),
    command(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        "set",
        "1.0.0",
        "Stores the union of multiple sets in a key.",
        sunionstore,
    ),
    command(
        "sdiff",
        -2,
        READONLY,
        (1, -1, 1),
        "set",
        "1.0.0",
        "Returns the difference of multiple sets.",
        sdiff,
    ),
    command(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        "set",
        "1.0.0",
        "Stores the difference of multiple sets in a key.",
        sdiffstore,
    ),
    command(
        "sscan",
        -3,
        READONLY,
        (1, 1, 1),
        "set",
        "2.0.0",
        "Iterates over members of a set.",
        sscan,
    ),
];

/// SPOP with a count builds a new set of the members to keep instead of popping one by one
/// when fewer than `count / SPOP_MOVE_STRATEGY_MUL` members remain (Redis's threshold).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// Reads `key` as a set: `Ok(None)` if missing, WRONGTYPE if it holds something else. Also hands
/// out the reply buffer so members can be encoded without copying.
fn read_set<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<(Option<&'c Set>, &'c mut Reply), CmdError> {
    match ctx.lookup_with_out(key) {
        (None, out) => Ok((None, out)),
        (Some(Value::Set(s)), out) => Ok((Some(&**s), out)),
        (Some(_), _) => Err(WRONGTYPE),
    }
}

/// Reads `key` as a set for writing: `Ok(None)` if missing, WRONGTYPE if it holds something else.
fn write_set<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut Set>, CmdError> {
    match ctx.lookup_mut(key) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(&mut **s)),
        Some(_) => Err(WRONGTYPE),
    }
}

/// The members of a fresh set that Redis 7.0 would hold as an intset (at most 512 integers in
/// canonical form), in the numeric order an intset lists them; `None` for any other set.
fn intset_order<'s, I>(len: usize, members: I) -> Option<Vec<&'s [u8]>>
where
    I: Iterator<Item = &'s [u8]>,
{
    if len > INTSET_MAX_ENTRIES {
        return None;
    }
    let mut numbers = Vec::with_capacity(len);
    for m in members {
        numbers.push((parse_i64(m)?, m));
    }
    numbers.sort_unstable_by_key(|&(n, _)| n);
    Some(numbers.into_iter().map(|(_, m)| m).collect())
}

/// Calls `f` on every member in the order Redis 7.0 lists a fresh set built from `members`:
/// numeric if it would be an intset, the given order otherwise.
fn for_each_ordered<'s>(members: &[&'s [u8]], mut f: impl FnMut(&'s [u8])) {
    match intset_order(members.len(), members.iter().copied()) {
        Some(sorted) => sorted.into_iter().for_each(f),
        None => members.iter().for_each(|m| f(m)),
    }
}

/// Writes a whole set with `header` (set or array) in Redis's listing order, which is storage
/// order (numeric for an intset).
fn reply_members(out: &mut Reply, s: &Set, header: fn(&mut Reply, usize)) {
    header(out, s.len());
    s.iter().for_each(|m| out.bulk(m));
}

fn sadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let Value::Set(s) = ctx.lookup_or_insert(key, || Value::Set(Box::default())) else {
        return Err(WRONGTYPE);
    };
    let mut added = 0;
    for member in &args[2..] {
        if s.insert(member) {
            added += 1;
        }
    }
    if added > 0 {
        ctx.modified(key);
    }
    ctx.out.int(added);
    Ok(())
}

fn srem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(s) = write_set(ctx, &args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut removed = 0;
    for member in &args[2..] {
        if s.remove(member) {
            removed += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if s.is_empty() {
        ctx.db().remove(&args[1]);
    }
    if removed > 0 {
        ctx.modified(&args[1]);
    }
    ctx.out.int(removed);
    Ok(())
}

fn smembers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (s, out) = read_set(ctx, &args[1])?;
    match s {
        Some(s) => reply_members(out, s, Reply::set),
        None => out.set(0),
    }
    Ok(())
}

fn sismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (s, out) = read_set(ctx, &args[1])?;
    out.int(i64::from(s.is_some_and(|s| s.contains(&args[2][..]))));
    Ok(())
}

fn smismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (s, out) = read_set(ctx, &args[1])?;
    out.array(args.len() - 2);
    for member in &args[2..] {
        out.int(i64::from(s.is_some_and(|s| s.contains(&member[..]))));
    }
    Ok(())
}

fn scard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (s, out) = read_set(ctx, &args[1])?;
    out.int(s.map_or(0, |s| s.len() as i64));
    Ok(())
}

fn spop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => {}
        3 => return spop_count(ctx, args),
        _ => return Err(SYNTAX),
    }
    let key = &args[1];
    let Some(s) = write_set(ctx, key)?.filter(|s| !s.is_empty()) else {
        ctx.out.null();
        return Ok(());
    };
    let Some(member) = s.remove_index(random_index(s.len())) else {
        ctx.out.null();
        return Ok(());
    };
    if s.is_empty() {
        ctx.db().remove(key);
    }
    ctx.modified(key);
    ctx.out.bulk(&member);
    // Replicas and the AOF must remove the same member, not pick their own.
    ctx.propagate(vec![b"SREM".to_vec(), key.to_vec(), member]);
    Ok(())
}

/// SPOP with a count: a set reply of up to `count` distinct members, removed from the set.
fn spop_count(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    const NOT_POSITIVE: CmdError = CmdError::fixed("ERR value is out of range, must be positive");
    let key = &args[1];
    let count = args::non_negative(&args[2], NOT_POSITIVE).map_err(|_| NOT_POSITIVE)?;
    let count = u64::try_from(count).unwrap_or(0);
    let Some(s) = write_set(ctx, key)?.filter(|s| !s.is_empty()) else {
        ctx.out.set(0);
        return Ok(());
    };
    if count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    if count >= s.len() as u64 {
        // The whole set goes, propagated as a DEL. Redis lists it through a fresh set (a
        // one-set SUNION), so a hash table of integers comes out in numeric order too.
        if let Some(Value::Set(whole)) = ctx.db().remove(key) {
            let members: Vec<&[u8]> = whole.iter().map(|m| &m[..]).collect();
            let out = &mut *ctx.out;
            out.set(members.len());
            for_each_ordered(&members, |m| out.bulk(m));
        }
        ctx.modified(key);
        ctx.propagate(vec![b"DEL".to_vec(), key.to_vec()]);
        return Ok(());
    }
    // count < len, so it fits a usize and at least one member remains.
    let n = count as usize;
    let len = s.len();
    let remaining = len - n;
    let popped = if remaining.saturating_mul(SPOP_MOVE_STRATEGY_MUL) > n {
        // Few to pop: pop random members one by one.
        let mut popped = Vec::with_capacity(n);
        for _ in 0..n {
            if let Some(member) = s.remove_index(random_index(s.len())) {
                popped.push(member);
            }
        }
        popped
    } else {
        // Few to keep: as Redis, move random members to keep into a new set, which starts
        // afresh (a hash table of integers becomes an intset again), and pop the rest in the
        // old set's order. O(len), like Redis.
        let mut keep = vec![false; len];
        let mut kept = Set::new();
        for index in sample_unique(len, remaining) {
            if let (Some(flag), Some(member)) = (keep.get_mut(index), s.get_index(index)) {
                *flag = true;
                kept.insert(member);
            }
        }
        let old = std::mem::replace(s, kept);
        old.iter()
            .zip(keep)
            .filter(|(_, kept)| !kept)
            .map(|(m, _)| m.clone())
            .collect()
    };
    ctx.out.set(popped.len());
    for member in &popped {
        ctx.out.bulk(member);
    }
    ctx.modified(key);
    // Redis counts one change per popped member.
    ctx.dirty += (popped.len() as u64).saturating_sub(1);
    for member in popped {
        ctx.propagate(vec![b"SREM".to_vec(), key.to_vec(), member]);
    }
    Ok(())
}

fn srandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => {}
        3 => return srandmember_count(ctx, args),
        _ => return Err(SYNTAX),
    }
    let (s, out) = read_set(ctx, &args[1])?;
    match s.filter(|s| !s.is_empty()) {
        Some(s) => match s.get_index(random_index(s.len())) {
            Some(member) => out.bulk(member),
            None => out.null(),
        },
        None => out.null(),
    }
    Ok(())
}

/// SRANDMEMBER with a count: distinct members for a positive count, repeats allowed for a
/// negative one.
fn srandmember_count(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = random_count(&args[2])?;
    let (s, out) = read_set(ctx, &args[1])?;
    let Some(s) = s.filter(|s| !s.is_empty()) else {
        out.array(0);
        return Ok(());
    };
    let unique = count >= 0;
    let count = count.unsigned_abs();
    let len = s.len();
    if count == 0 {
        out.array(0);
    } else if !unique || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return Err(CmdError::fixed("ERR value is out of range"));
        }
        // Bounded by MAX_RANDOM_REPLY just above, so it fits a usize.
        let n = count as usize;
        out.array(n);
        for _ in 0..n {
            if let Some(member) = s.get_index(random_index(len)) {
                out.bulk(member);
            }
        }
    } else if count >= len as u64 {
        reply_members(out, s, Reply::array);
    } else {
        // count < len, so it fits a usize.
        let picked = sample_unique(len, count as usize);
        out.array(picked.len());
        for index in picked {
            if let Some(member) = s.get_index(index) {
                out.bulk(member);
            }
        }
    }
    Ok(())
}

fn smove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    ctx.expire_if_needed(src);
    ctx.expire_if_needed(dst);
    // A missing source answers 0 before the destination's type is even looked at, as in Redis.
    match ctx.db().get(src) {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some(Value::Set(_)) => {}
        Some(_) => return Err(WRONGTYPE),
    }
    if !matches!(ctx.db().get(dst), None | Some(Value::Set(_))) {
        return Err(WRONGTYPE);
    }
    let Some(Value::Set(s)) = ctx.db().get_mut(src) else {
        return Err(WRONGTYPE);
    };
    if src == dst {
        let present = s.contains(&member[..]);
        ctx.out.int(i64::from(present));
        return Ok(());
    }
    if !s.remove(member) {
        ctx.out.int(0);
        return Ok(());
    }
    if s.is_empty() {
        ctx.db().remove(src);
    }
    ctx.modified(src);
    let added = match ctx.db().get_mut(dst) {
        Some(Value::Set(d)) => d.insert(member),
        _ => {
            // A new destination starts afresh: an intset if the member is an integer.
            let mut d = Set::new();
            d.insert(member);
            ctx.db().set(dst, Value::Set(Box::new(d)));
            true
        }
    };
    if added {
        ctx.modified(dst);
    }
    ctx.out.int(1);
    Ok(())
}

/// Type-checks every key of a multi-set command in order (WRONGTYPE for the first non-set) and
/// applies lazy expiry to each, as Redis's lookups do.
fn check_sets(ctx: &mut Ctx<'_>, keys: &[Bytes]) -> CmdResult {
    for key in keys {
        if matches!(ctx.lookup(key), Some(v) if !matches!(v, Value::Set(_))) {
            return Err(WRONGTYPE);
        }
    }
    Ok(())
}

/// The sets behind `keys` (missing keys as `None`); call `check_sets` first.
fn sets_of<'d>(db: &'d Db, keys: &[Bytes]) -> Vec<Option<&'d Set>> {
    keys.iter()
        .map(|key| match db.get(key) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect()
}

/// The intersection of `sets`, in the order the smallest set lists its members (Redis iterates
/// it and probes the others; an intset in numeric order); stops after `limit` members when
/// `limit` is non-zero.
fn intersection<'s>(sets: &[Option<&'s Set>], limit: usize) -> Vec<&'s [u8]> {
    let mut present: Vec<&Set> = Vec::with_capacity(sets.len());
    for s in sets {
        match s {
            Some(s) => present.push(s),
            // An absent key is an empty set: so is the intersection.
            None => return Vec::new(),
        }
    }
    present.sort_by_key(|s| s.len());
    let Some((smallest, others)) = present.split_first() else {
        return Vec::new();
    };
    let common = smallest
        .iter()
        .map(|m| &m[..])
        .filter(|m| others.iter().all(|o| o.contains(*m)));
    // SINTERCARD's LIMIT stops the walk early, as in Redis.
    match limit {
        0 => common.collect(),
        n => common.take(n).collect(),
    }
}

/// Union or difference of `sets`, in the order Redis builds its result (first seen first).
fn combine<'s>(sets: &[Option<&'s Set>], diff: bool) -> Vec<&'s [u8]> {
    if diff {
        let Some(Some(first)) = sets.first() else {
            return Vec::new();
        };
        let rest = &sets[1..];
        // A key listed again after the first makes the difference empty.
        if rest.iter().flatten().any(|s| std::ptr::eq(*s, *first)) {
            return Vec::new();
        }
        return first
            .iter()
            .filter(|m| !rest.iter().flatten().any(|s| s.contains(&m[..])))
            .map(|m| &m[..])
            .collect();
    }
    let mut union: IndexSet<&[u8]> = IndexSet::new();
    for s in sets.iter().flatten() {
        union.extend(s.iter().map(|m| &m[..]));
    }
    union.into_iter().collect()
}

/// Which multi-set operation to run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

/// SINTER, SUNION, SDIFF: the result as a set reply.
fn set_op_reply(ctx: &mut Ctx<'_>, keys: &[Bytes], op: SetOp) -> CmdResult {
    check_sets(ctx, keys)?;
    let sets = sets_of(&ctx.srv.dbs[ctx.db], keys);
    let out = &mut *ctx.out;
    match op {
        SetOp::Inter => {
            let result = intersection(&sets, 0);
            out.set(result.len());
            result.into_iter().for_each(|m| out.bulk(m));
        }
        SetOp::Union | SetOp::Diff => {
            // Redis collects the result in a new set first, so it lists it as that set would.
            let result = combine(&sets, op == SetOp::Diff);
            out.set(result.len());
            for_each_ordered(&result, |m| out.bulk(m));
        }
    }
    Ok(())
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the result replaces `dst` whatever it held; an empty
/// result deletes it.
fn set_op_store(ctx: &mut Ctx<'_>, dst: &[u8], keys: &[Bytes], op: SetOp) -> CmdResult {
    check_sets(ctx, keys)?;
    let sets = sets_of(&ctx.srv.dbs[ctx.db], keys);
    let members = match op {
        SetOp::Inter => intersection(&sets, 0),
        SetOp::Union => combine(&sets, false),
        SetOp::Diff => combine(&sets, true),
    };
    // Redis adds the members one by one to a fresh intset, which converts as needed.
    let result: Set = members.into_iter().collect();
    ctx.expire_if_needed(dst);
    let len = result.len();
    if len > 0 {
        ctx.db().set(dst, Value::Set(Box::new(result)));
        ctx.modified(dst);
    } else if ctx.db().remove(dst).is_some() {
        ctx.modified(dst);
    } else if op != SetOp::Inter {
        // Redis counts SUNIONSTORE/SDIFFSTORE as a change (and propagates them) even when they
        // neither stored nor deleted anything; SINTERSTORE it does not.
        ctx.dirty += 1;
    }
    ctx.out.int(len as i64);
    Ok(())
}

fn sinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_op_reply(ctx, &args[1..], SetOp::Inter)
}

fn sunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_op_reply(ctx, &args[1..], SetOp::Union)
}

fn sdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_op_reply(ctx, &args[1..], SetOp::Diff)
}

fn sinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_op_store(ctx, &args[1], &args[2..], SetOp::Inter)
}

fn sunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_op_store(ctx, &args[1], &args[2..], SetOp::Union)
}

fn sdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_op_store(ctx, &args[1], &args[2..], SetOp::Diff)
}

fn sintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    const BAD_NUMKEYS: CmdError = CmdError::fixed("ERR numkeys should be greater than 0");
    const BAD_LIMIT: CmdError = CmdError::fixed("ERR LIMIT can't be negative");
    let numkeys = args::int(&args[1]).map_err(|_| BAD_NUMKEYS)?;
    if numkeys < 1 {
        return Err(BAD_NUMKEYS);
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > args.len() - 2 {
        return Err(CmdError::fixed(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let keys = &args[2..2 + numkeys];
    let mut limit = 0usize;
    let mut opts = args[2 + numkeys..].iter();
    while let Some(opt) = opts.next() {
        match opts.next() {
            Some(value) if args::is(opt, "limit") => {
                let n = args::int(value).map_err(|_| BAD_LIMIT)?;
                limit = usize::try_from(n).map_err(|_| BAD_LIMIT)?;
            }
            _ => return Err(SYNTAX),
        }
    }
    check_sets(ctx, keys)?;
    let sets = sets_of(&ctx.srv.dbs[ctx.db], keys);
    let n = intersection(&sets, limit).len();
    ctx.out.int(n as i64);
    Ok(())
}

fn sscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let (s, out) = read_set(ctx, &args[1])?;
    let Some(s) = s else {
        empty_scan(out);
        return Ok(());
    };
    let options = parse_scan_options(&args[3..])?;
    let matches = |m: &[u8]| options.pattern.is_none_or(|p| glob_match(p, m, false));
    if s.is_intset() {
        // Redis walks an intset whole, whatever the cursor and COUNT.
        let picked: Vec<&[u8]> = s.iter().map(|m| &m[..]).filter(|m| matches(m)).collect();
        scan_reply(out, 0, picked.len(), picked.into_iter());
        return Ok(());
    }
    let mut picked = Vec::new();
    let next = Db::scan_indexes(s.len(), cursor, options.count, |i| {
        if let Some(m) = s.get_index(i) {
            if matches(m) {
                picked.push(&m[..]);
            }
        }
    });
    scan_reply(out, next, picked.len(), picked.into_iter());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::hash::tests::{propagation, run, server};
    use crate::protocol::Resp;

    #[test]
    fn resp3_reply_shapes() {
        let (mut srv, id) = server(Resp::V3);
        assert_eq!(run(&mut srv, id, &["SADD", "a", "3", "1", "2"]), ":3\r\n");
        run(&mut srv, id, &["SADD", "b", "2", "3", "4"]);
        assert_eq!(
            run(&mut srv, id, &["SMEMBERS", "a"]),
            "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(run(&mut srv, id, &["SMEMBERS", "nokey"]), "~0\r\n");
        assert_eq!(
            run(&mut srv, id, &["SINTER", "a", "b"]),
            "~2\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(run(&mut srv, id, &["SINTER", "a", "nokey"]), "~0\r\n");
        assert_eq!(
            run(&mut srv, id, &["SUNION", "a", "b"]),
            "~4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"
        );
        assert_eq!(run(&mut srv, id, &["SDIFF", "a", "b"]), "~1\r\n$1\r\n1\r\n");
        assert_eq!(run(&mut srv, id, &["SDIFF", "nokey", "a"]), "~0\r\n");
        assert_eq!(run(&mut srv, id, &["SISMEMBER", "a", "1"]), ":1\r\n");
        assert_eq!(
            run(&mut srv, id, &["SMISMEMBER", "a", "1", "9"]),
            "*2\r\n:1\r\n:0\r\n"
        );
        assert_eq!(
            run(&mut srv, id, &["SSCAN", "a", "0"]),
            "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(run(&mut srv, id, &["SRANDMEMBER", "nokey"]), "_\r\n");
        assert_eq!(run(&mut srv, id, &["SRANDMEMBER", "a", "0"]), "*0\r\n");
        // SRANDMEMBER answers with an array, SPOP with a set.
        assert_eq!(
            run(&mut srv, id, &["SRANDMEMBER", "a", "5"]),
            "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(run(&mut srv, id, &["SPOP", "nokey"]), "_\r\n");
        assert_eq!(run(&mut srv, id, &["SPOP", "nokey", "2"]), "~0\r\n");
        assert_eq!(run(&mut srv, id, &["SPOP", "a", "0"]), "~0\r\n");
        assert!(run(&mut srv, id, &["SPOP", "b", "1"]).starts_with("~1\r\n$1\r\n"));
        assert_eq!(
            run(&mut srv, id, &["SPOP", "a", "5"]),
            "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert!(srv.dbs[0].get(b"a").is_none());
    }

    #[test]
    fn resp2_empty_replies() {
        let (mut srv, id) = server(Resp::V2);
        assert_eq!(run(&mut srv, id, &["SMEMBERS", "nokey"]), "*0\r\n");
        assert_eq!(run(&mut srv, id, &["SPOP", "nokey", "3"]), "*0\r\n");
        assert_eq!(run(&mut srv, id, &["SPOP", "nokey"]), "$-1\r\n");
    }

    #[test]
    fn spop_propagates_what_it_removed() {
        let (mut srv, id) = server(Resp::V2);
        run(&mut srv, id, &["SADD", "s", "a", "b", "c", "d"]);
        let (cmds, dirty) = propagation(&mut srv, id, &["SPOP", "s"]);
        assert_eq!(cmds.len(), 1);
        assert!(cmds[0].starts_with("SREM s "), "{cmds:?}");
        assert_eq!(dirty, 1);
        let (cmds, dirty) = propagation(&mut srv, id, &["SPOP", "s", "2"]);
        assert_eq!(cmds.len(), 2);
        assert!(cmds.iter().all(|c| c.starts_with("SREM s ")), "{cmds:?}");
        assert_eq!(dirty, 2);
        let (cmds, _) = propagation(&mut srv, id, &["SPOP", "s", "10"]);
        assert_eq!(cmds, ["DEL s"]);
        assert!(srv.dbs[0].is_empty());
        let (cmds, dirty) = propagation(&mut srv, id, &["SPOP", "s", "10"]);
        assert_eq!((cmds.len(), dirty), (0, 0));
    }

    #[test]
    fn store_commands_count_changes_like_redis() {
        let (mut srv, id) = server(Resp::V2);
        // An empty result with no destination: SUNIONSTORE/SDIFFSTORE still count a change,
        // SINTERSTORE does not.
        assert_eq!(propagation(&mut srv, id, &["SUNIONSTORE", "d", "x"]).1, 1);
        assert_eq!(propagation(&mut srv, id, &["SDIFFSTORE", "d", "x"]).1, 1);
        assert_eq!(propagation(&mut srv, id, &["SINTERSTORE", "d", "x"]).1, 0);
        run(&mut srv, id, &["SADD", "x", "1"]);
        assert_eq!(propagation(&mut srv, id, &["SINTERSTORE", "d", "x"]).1, 1);
        assert_eq!(
            propagation(&mut srv, id, &["SINTERSTORE", "d", "nokey"]).1,
            1
        );
        assert!(srv.dbs[0].get(b"d").is_none());
    }

    #[test]
    fn stores_drop_the_destination_ttl_and_expired_keys_are_missing() {
        let (mut srv, id) = server(Resp::V2);
        run(&mut srv, id, &["SADD", "a", "1"]);
        run(&mut srv, id, &["SADD", "d", "9"]);
        srv.dbs[0].set_expire(b"d", i64::MAX);
        assert_eq!(run(&mut srv, id, &["SUNIONSTORE", "d", "a"]), ":1\r\n");
        assert_eq!(srv.dbs[0].expire_at(b"d"), None);
        run(&mut srv, id, &["SADD", "e", "5"]);
        srv.dbs[0].set_expire(b"e", 1);
        assert_eq!(run(&mut srv, id, &["SMEMBERS", "e"]), "*0\r\n");
        assert!(srv.dbs[0].get(b"e").is_none());
        run(&mut srv, id, &["SADD", "e", "5"]);
        srv.dbs[0].set_expire(b"e", 1);
        assert_eq!(run(&mut srv, id, &["SMOVE", "e", "a", "5"]), ":0\r\n");
        run(&mut srv, id, &["HSET", "h", "f", "v"]);
        srv.dbs[0].set_expire(b"h", 1);
        assert_eq!(run(&mut srv, id, &["HGET", "h", "f"]), "$-1\r\n");
        assert_eq!(run(&mut srv, id, &["HSET", "h", "g", "v"]), ":1\r\n");
        assert_eq!(srv.dbs[0].expire_at(b"h"), None);
    }

    #[test]
    fn intset_order_is_numeric_and_only_for_canonical_integers() {
        let members: Vec<&[u8]> = vec![b"10", b"-5", b"3"];
        assert_eq!(
            intset_order(3, members.iter().copied()),
            Some(vec![&b"-5"[..], b"3", b"10"])
        );
        let members: Vec<&[u8]> = vec![b"10", b"007"];
        assert_eq!(intset_order(2, members.iter().copied()), None);
        assert_eq!(intset_order(513, std::iter::empty()), None);
    }
}
