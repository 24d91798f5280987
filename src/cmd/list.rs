//! The list command family (Redis `t_list.c`): pushes, pops, ranges, LPOS, LMOVE, LMPOP, and the
//! blocking forms BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP.
//!
//! A list is a `VecDeque`: pushes and pops at both ends are O(1) and indexing is O(1), so no
//! command is slower than Redis's quicklist.
//!
//! Blocking (see `server::blocking`): a blocking command that finds data behaves like its
//! non-blocking form and is propagated as that form (`BLPOP` as `LPOP key`, `BLMOVE` as `LMOVE`,
//! `BLMPOP` as `LPOP key count`), as Redis rewrites it. Otherwise it asks to block with
//! `Ctx::block_on`, or, inside EXEC, answers at once as if it had timed out. When it is re-run
//! because a key became ready (`ctx.reprocessing`), a key holding another type counts as empty,
//! so the client keeps waiting instead of getting an error it did not cause — what Redis 7.0
//! does by only serving keys that hold lists.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::args;
use super::ctx::Ctx;
use super::error::{
    wrong_arity, CmdError, CmdResult, INDEX_OUT_OF_RANGE, NO_SUCH_KEY, SYNTAX, WRONGTYPE,
};
use super::spec::{command, flags::*, CommandSpec};
use crate::db::Value;
use crate::protocol::Reply;

/// The list commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        "list",
        "6.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one \
         is available",
        blmove,
    ),
    command(
        "blmpop",
        -5,
        WRITE | BLOCKING | MOVABLE_KEYS,
        (0, 0, 0),
        "list",
        "7.0.0",
        "Pop elements from a list, or block until one is available",
        blmpop,
    ),
    command(
        "blpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        (1, -2, 1),
        "list",
        "2.0.0",
        "Remove and get the first element in a list, or block until one is available",
        blpop,
    ),
    command(
        "brpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        (1, -2, 1),
        "list",
        "2.0.0",
        "Remove and get the last element in a list, or block until one is available",
        brpop,
    ),
    command(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        "list",
        "2.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one \
         is available",
        brpoplpush,
    ),
    command(
        "lindex",
        3,
        READONLY,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Get an element from a list by its index",
        lindex,
    ),
    command(
        "linsert",
        5,
        WRITE | DENYOOM,
        (1, 1, 1),
        "list",
        "2.2.0",
        "Insert an element before or after another element in a list",
        linsert,
    ),
    command(
        "llen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Get the length of a list",
        llen,
    ),
    command(
        "lmove",
        5,
        WRITE | DENYOOM,
        (1, 2, 1),
        "list",
        "6.2.0",
        "Pop an element from a list, push it to another list and return it",
        lmove,
    ),
    command(
        "lmpop",
        -4,
        WRITE | MOVABLE_KEYS,
        (0, 0, 0),
        "list",
        "7.0.0",
        "Pop elements from a list",
        lmpop,
    ),
    command(
        "lpop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Remove and get the first elements in a list",
        lpop,
    ),
    command(
        "lpos",
        -3,
        READONLY,
        (1, 1, 1),
        "list",
        "6.0.6",
        "Return the index of matching elements on a list",
        lpos,
    ),
    command(
        "lpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Prepend one or multiple elements to a list",
        lpush,
    ),
    command(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        "2.2.0",
        "Prepend an element to a list, only if the list exists",
        lpushx,
    ),
    command(
        "lrange",
        4,
        READONLY,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Get a range of elements from a list",
        lrange,
    ),
    command(
        "lrem",
        4,
        WRITE,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Remove elements from a list",
        lrem,
    ),
    command(
        "lset",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Set the value of an element in a list by its index",
        lset,
    ),
    command(
        "ltrim",
        4,
        WRITE,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Trim a list to the specified range",
        ltrim,
    ),
    command(
        "rpop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Remove and get the last elements in a list",
        rpop,
    ),
    command(
        "rpoplpush",
        3,
        WRITE | DENYOOM,
        (1, 2, 1),
        "list",
        "1.2.0",
        "Remove the last element in a list, prepend it to another list and return it",
        rpoplpush,
    ),
    command(
        "rpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        "Append one or multiple elements to a list",
        rpush,
    ),
    command(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        "2.2.0",
        "Append an element to a list, only if the list exists",
        rpushx,
    ),
];

/// LPOP/RPOP count that does not parse or is negative (Redis uses this text for both).
const MUST_BE_POSITIVE: CmdError = CmdError::fixed("ERR value is out of range, must be positive");
/// LPOS RANK 0.
const RANK_ZERO: CmdError = CmdError::fixed(
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use \
     negative to start from the end of the list",
);
/// LPOS COUNT that does not parse or is negative.
const COUNT_NEGATIVE: CmdError = CmdError::fixed("ERR COUNT can't be negative");
/// LPOS MAXLEN that does not parse or is negative.
const MAXLEN_NEGATIVE: CmdError = CmdError::fixed("ERR MAXLEN can't be negative");
/// LMPOP/BLMPOP numkeys that does not parse or is below 1.
const NUMKEYS: CmdError = CmdError::fixed("ERR numkeys should be greater than 0");
/// LMPOP/BLMPOP COUNT that does not parse or is below 1.
const MPOP_COUNT: CmdError = CmdError::fixed("ERR count should be greater than 0");

/// A list as stored in the keyspace.
type List = VecDeque<Vec<u8>>;

/// One end of a list: LEFT (head) or RIGHT (tail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Head,
    Tail,
}

impl End {
    fn pop(self, list: &mut List) -> Option<Vec<u8>> {
        match self {
            End::Head => list.pop_front(),
            End::Tail => list.pop_back(),
        }
    }

    fn push(self, list: &mut List, value: Vec<u8>) {
        match self {
            End::Head => list.push_front(value),
            End::Tail => list.push_back(value),
        }
    }

    /// The non-blocking pop a blocking pop from this end is propagated as.
    fn pop_command(self) -> &'static [u8] {
        match self {
            End::Head => b"LPOP",
            End::Tail => b"RPOP",
        }
    }
}

/// Parses `LEFT` / `RIGHT` (any case).
fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if args::is(arg, "left") {
        Ok(End::Head)
    } else if args::is(arg, "right") {
        Ok(End::Tail)
    } else {
        Err(SYNTAX)
    }
}

/// Parses an integer that must be at least `min`; Redis answers `err` both when it does not
/// parse and when it is too small.
fn int_at_least(arg: &[u8], min: i64, err: CmdError) -> Result<i64, CmdError> {
    args::int(arg).ok().filter(|&n| n >= min).ok_or(err)
}

/// A non-negative count as a `usize` (saturating: no list is that long anyway).
fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A list length as a reply integer.
fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Looks `key` up for reading (hit/miss statistics, lazy expiry) and hands out the reply buffer
/// beside it, so elements are encoded without copying.
fn list_read<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<(Option<&'c List>, &'c mut Reply), CmdError> {
    match ctx.lookup_with_out(key) {
        (None, out) => Ok((None, out)),
        (Some(Value::List(list)), out) => Ok((Some(list), out)),
        (Some(_), _) => Err(WRONGTYPE),
    }
}

/// Looks `key` up for writing (lazy expiry) and hands out the reply buffer beside it.
fn list_mut<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<(Option<&'c mut List>, &'c mut Reply), CmdError> {
    ctx.expire_if_needed(key);
    let out = &mut *ctx.out;
    match ctx.srv.dbs[ctx.db].keys.get_mut(key) {
        None => Ok((None, out)),
        Some(Value::List(list)) => Ok((Some(list), out)),
        Some(_) => Err(WRONGTYPE),
    }
}

/// Records that `key` changed by `changes` elements. The key is always touched for WATCH; Redis
/// adds one to `dirty` per element (so a no-op LTRIM touches WATCHers but is not propagated).
fn note_changes(ctx: &mut Ctx<'_>, key: &[u8], changes: usize) {
    ctx.modified(key);
    // `modified` counted one change; replace it with the element count.
    ctx.dirty = ctx
        .dirty
        .saturating_sub(1)
        .saturating_add(u64::try_from(changes).unwrap_or(u64::MAX));
}

/// Records that `changes` elements were removed from `key`, deleting the key if it is now an
/// empty list (Redis never keeps empty collections).
fn note_removed(ctx: &mut Ctx<'_>, key: &[u8], changes: usize) {
    if ctx.db().get(key).is_some_and(Value::is_empty_collection) {
        ctx.db().remove(key);
    }
    note_changes(ctx, key, changes);
}

/// Resolves a possibly negative index against a list of `len` elements.
fn resolve_index(len: usize, index: i64) -> Option<usize> {
    let resolved = if index < 0 {
        to_i64(len).checked_add(index)?
    } else {
        index
    };
    usize::try_from(resolved).ok().filter(|&i| i < len)
}

/// Redis's LRANGE/LTRIM range rules: negative indexes count from the end, `start` is clamped at
/// 0 and `end` at the last element. `None` when the range is empty.
fn clamp_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = to_i64(len);
    // `len >= 0`, so adding a negative index cannot overflow.
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    let end = end.min(len - 1);
    Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
}

// ---------------------------------------------------------------------------------------------
// Pushes.

fn lpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Head, false)
}

fn rpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Head, true)
}

fn rpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Tail, true)
}

/// LPUSH, RPUSH and their X forms (which only push to an existing list).
fn push_generic(ctx: &mut Ctx<'_>, args: &[Bytes], end: End, only_existing: bool) -> CmdResult {
    let key = &args[1];
    let elements = &args[2..];
    let len = match list_mut(ctx, key)? {
        (Some(list), _) => {
            for element in elements {
                end.push(list, element.to_vec());
            }
            list.len()
        }
        (None, out) if only_existing => {
            out.int(0);
            return Ok(());
        }
        (None, _) => {
            let mut list = VecDeque::with_capacity(elements.len());
            for element in elements {
                end.push(&mut list, element.to_vec());
            }
            let len = list.len();
            ctx.db().set(key, Value::List(Box::new(list)));
            len
        }
    };
    note_changes(ctx, key, elements.len());
    ctx.signal_ready(key);
    ctx.out.int(to_i64(len));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pops.

fn lpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, End::Head)
}

fn rpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, End::Tail)
}

/// LPOP/RPOP key [count]. Without a count: one element or a null bulk. With one: an array of up
/// to `count` elements, an empty array for 0, and a null array for a missing key (Redis 7.0).
fn pop_generic(ctx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(wrong_arity(match end {
            End::Head => "lpop",
            End::Tail => "rpop",
        }));
    }
    let count = match args.get(2) {
        Some(arg) => Some(to_usize(int_at_least(arg, 0, MUST_BE_POSITIVE)?)),
        None => None,
    };
    let key = &args[1];
    let popped = match list_mut(ctx, key)? {
        (None, out) => {
            if count.is_some() {
                out.null_array();
            } else {
                out.null();
            }
            return Ok(());
        }
        (Some(list), out) => match count {
            None => match end.pop(list) {
                Some(value) => {
                    out.bulk(&value);
                    1
                }
                None => {
                    out.null();
                    return Ok(());
                }
            },
            Some(count) => {
                let n = count.min(list.len());
                out.array(n);
                for _ in 0..n {
                    if let Some(value) = end.pop(list) {
                        out.bulk(&value);
                    }
                }
                if n == 0 {
                    return Ok(());
                }
                n
            }
        },
    };
    note_removed(ctx, key, popped);
    Ok(())
}

/// The first of `keys` that holds a non-empty list. A key of another type is an error, except
/// while re-executing a blocked command (see the module documentation).
fn first_non_empty<'k>(
    ctx: &mut Ctx<'_>,
    keys: &'k [Bytes],
) -> Result<Option<&'k Bytes>, CmdError> {
    let lenient = ctx.reprocessing;
    for key in keys {
        ctx.expire_if_needed(key);
        match ctx.db().get(key) {
            Some(Value::List(list)) if !list.is_empty() => return Ok(Some(key)),
            // Redis never keeps an empty list, but one would simply count as missing.
            None | Some(Value::List(_)) => {}
            Some(_) if lenient => {}
            Some(_) => return Err(WRONGTYPE),
        }
    }
    Ok(None)
}

/// Pops up to `count` elements from the non-empty list at `key` and replies `[key, [elements]]`
/// (LMPOP, BLMPOP), propagated as `LPOP key n` / `RPOP key n`.
fn pop_with_key(ctx: &mut Ctx<'_>, key: &[u8], end: End, count: usize) -> CmdResult {
    let (Some(list), out) = list_mut(ctx, key)? else {
        return Ok(());
    };
    let n = count.min(list.len());
    out.array(2);
    out.bulk(key);
    out.array(n);
    for _ in 0..n {
        if let Some(value) = end.pop(list) {
            out.bulk(&value);
        }
    }
    note_removed(ctx, key, n);
    let mut itoa = itoa::Buffer::new();
    ctx.propagate(vec![
        end.pop_command().to_vec(),
        key.to_vec(),
        itoa.format(n).as_bytes().to_vec(),
    ]);
    Ok(())
}

/// No data for a blocking command: block on `keys`, or inside EXEC answer as a timeout would
/// (with `null`, the reply the command gives there).
fn block_or_give_up(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    timeout: Option<Duration>,
    null: fn(&mut Reply),
) {
    if ctx.can_block() {
        ctx.block_on(keys.iter().map(|k| k.to_vec()).collect(), timeout);
    } else {
        null(ctx.out);
    }
}

fn blpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    blocking_pop(ctx, args, End::Head)
}

fn brpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    blocking_pop(ctx, args, End::Tail)
}

/// BLPOP/BRPOP key [key ...] timeout: `[key, element]` from the first non-empty list.
fn blocking_pop(ctx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    let (timeout_arg, keys) = match args[1..].split_last() {
        Some(split) => split,
        None => return Err(SYNTAX),
    };
    // Redis checks the timeout before looking at any key.
    let timeout = args::timeout(timeout_arg)?;
    let Some(key) = first_non_empty(ctx, keys)? else {
        block_or_give_up(ctx, keys, timeout, Reply::null_array);
        return Ok(());
    };
    let (Some(list), out) = list_mut(ctx, key)? else {
        return Ok(());
    };
    if let Some(value) = end.pop(list) {
        out.array(2);
        out.bulk(key);
        out.bulk(&value);
    }
    note_removed(ctx, key, 1);
    ctx.propagate(vec![end.pop_command().to_vec(), key.to_vec()]);
    Ok(())
}

/// The parsed arguments of LMPOP/BLMPOP: `numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
struct MpopArgs<'a> {
    keys: &'a [Bytes],
    end: End,
    count: usize,
}

/// Parses LMPOP/BLMPOP from the `numkeys` argument at `numkeys_at`, in Redis's order and with
/// its errors.
fn parse_mpop(args: &[Bytes], numkeys_at: usize) -> Result<MpopArgs<'_>, CmdError> {
    let numkeys = int_at_least(&args[numkeys_at], 1, NUMKEYS)?;
    let first_key = numkeys_at + 1;
    let where_at = to_usize(numkeys)
        .checked_add(first_key)
        .filter(|&at| at < args.len())
        .ok_or(SYNTAX)?;
    let end = parse_end(&args[where_at])?;
    let mut count = None;
    let mut i = where_at + 1;
    while let Some(opt) = args.get(i) {
        match args.get(i + 1) {
            Some(value) if count.is_none() && args::is(opt, "count") => {
                count = Some(to_usize(int_at_least(value, 1, MPOP_COUNT)?));
                i += 2;
            }
            _ => return Err(SYNTAX),
        }
    }
    Ok(MpopArgs {
        keys: &args[first_key..where_at],
        end,
        count: count.unwrap_or(1),
    })
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count].
fn lmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mpop = parse_mpop(args, 1)?;
    match first_non_empty(ctx, mpop.keys)? {
        Some(key) => pop_with_key(ctx, key, mpop.end, mpop.count),
        None => {
            ctx.out.null_array();
            Ok(())
        }
    }
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count].
fn blmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mpop = parse_mpop(args, 2)?;
    // Redis parses the timeout after the other arguments.
    let timeout = args::timeout(&args[1])?;
    match first_non_empty(ctx, mpop.keys)? {
        Some(key) => pop_with_key(ctx, key, mpop.end, mpop.count),
        None => {
            block_or_give_up(ctx, mpop.keys, timeout, Reply::null_array);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Moves.

/// Pops from `src` at `from` and pushes to `dst` at `to`, replying with the element. Returns
/// false, having replied nothing, when `src` holds no list (or, with `lenient_source`, holds
/// another type). A `dst` of another type is WRONGTYPE, checked before anything changes.
fn move_element(
    ctx: &mut Ctx<'_>,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    lenient_source: bool,
) -> Result<bool, CmdError> {
    ctx.expire_if_needed(src);
    match ctx.db().get(src) {
        Some(Value::List(list)) if !list.is_empty() => {}
        None | Some(Value::List(_)) => return Ok(false),
        Some(_) if lenient_source => return Ok(false),
        Some(_) => return Err(WRONGTYPE),
    }
    ctx.expire_if_needed(dst);
    if ctx
        .db()
        .get(dst)
        .is_some_and(|v| !matches!(v, Value::List(_)))
    {
        return Err(WRONGTYPE);
    }
    let (Some(list), out) = list_mut(ctx, src)? else {
        return Ok(false);
    };
    let Some(value) = from.pop(list) else {
        return Ok(false);
    };
    out.bulk(&value);
    if src == dst {
        // A rotation: the element goes back into the same list, which never becomes empty.
        to.push(list, value);
    } else {
        if list.is_empty() {
            ctx.db().remove(src);
        }
        if let Some(Value::List(target)) = ctx.db().get_mut(dst) {
            to.push(target, value);
        } else {
            let mut target = VecDeque::with_capacity(1);
            to.push(&mut target, value);
            ctx.db().set(dst, Value::List(Box::new(target)));
        }
        // Redis touches the destination for WATCH and counts one change for the whole move.
        note_changes(ctx, dst, 0);
    }
    note_changes(ctx, src, 1);
    ctx.signal_ready(dst);
    Ok(true)
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT.
fn lmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let from = parse_end(&args[3])?;
    let to = parse_end(&args[4])?;
    if !move_element(ctx, &args[1], &args[2], from, to, false)? {
        ctx.out.null();
    }
    Ok(())
}

/// RPOPLPUSH source destination.
fn rpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if !move_element(ctx, &args[1], &args[2], End::Tail, End::Head, false)? {
        ctx.out.null();
    }
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, propagated as LMOVE.
fn blmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let from = parse_end(&args[3])?;
    let to = parse_end(&args[4])?;
    let timeout = args::timeout(&args[5])?;
    if blocking_move(ctx, args, from, to, timeout)? {
        ctx.propagate(vec![
            b"LMOVE".to_vec(),
            args[1].to_vec(),
            args[2].to_vec(),
            args[3].to_vec(),
            args[4].to_vec(),
        ]);
    }
    Ok(())
}

/// BRPOPLPUSH source destination timeout, propagated as RPOPLPUSH.
fn brpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let timeout = args::timeout(&args[3])?;
    if blocking_move(ctx, args, End::Tail, End::Head, timeout)? {
        ctx.propagate(vec![
            b"RPOPLPUSH".to_vec(),
            args[1].to_vec(),
            args[2].to_vec(),
        ]);
    }
    Ok(())
}

/// The common part of BLMOVE and BRPOPLPUSH: move now, or block on the source. Inside EXEC the
/// give-up reply is a null bulk, not a null array (Redis 7.0 `addReplyNull` there).
fn blocking_move(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    from: End,
    to: End,
    timeout: Option<Duration>,
) -> Result<bool, CmdError> {
    let lenient = ctx.reprocessing;
    if move_element(ctx, &args[1], &args[2], from, to, lenient)? {
        return Ok(true);
    }
    block_or_give_up(ctx, &args[1..2], timeout, Reply::null);
    Ok(false)
}

// ---------------------------------------------------------------------------------------------
// Reads and in-place edits.

/// LLEN key.
fn llen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (list, out) = list_read(ctx, &args[1])?;
    out.int(to_i64(list.map_or(0, VecDeque::len)));
    Ok(())
}

/// LRANGE key start stop.
fn lrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = args::int(&args[2])?;
    let stop = args::int(&args[3])?;
    let (list, out) = list_read(ctx, &args[1])?;
    let Some((list, (start, stop))) =
        list.and_then(|list| Some((list, clamp_range(list.len(), start, stop)?)))
    else {
        out.array(0);
        return Ok(());
    };
    out.array(stop - start + 1);
    for element in list.range(start..=stop) {
        out.bulk(element);
    }
    Ok(())
}

/// LINDEX key index. The key is looked up before the index is parsed, as in Redis.
fn lindex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (list, out) = list_read(ctx, &args[1])?;
    let Some(list) = list else {
        out.null();
        return Ok(());
    };
    let index = args::int(&args[2])?;
    match resolve_index(list.len(), index).and_then(|i| list.get(i)) {
        Some(element) => out.bulk(element),
        None => out.null(),
    }
    Ok(())
}

/// LSET key index element.
fn lset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (list, out) = list_mut(ctx, &args[1])?;
    let list = list.ok_or(NO_SUCH_KEY)?;
    let index = args::int(&args[2])?;
    let slot = resolve_index(list.len(), index)
        .and_then(|i| list.get_mut(i))
        .ok_or(INDEX_OUT_OF_RANGE)?;
    *slot = args[3].to_vec();
    out.ok();
    note_changes(ctx, &args[1], 1);
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot, 0 without the
/// key.
fn linsert(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let after = if args::is(&args[2], "after") {
        true
    } else if args::is(&args[2], "before") {
        false
    } else {
        return Err(SYNTAX);
    };
    let (list, out) = list_mut(ctx, &args[1])?;
    let Some(list) = list else {
        out.int(0);
        return Ok(());
    };
    let Some(pivot) = list.iter().position(|e| e[..] == args[3][..]) else {
        out.int(-1);
        return Ok(());
    };
    list.insert(pivot + usize::from(after), args[4].to_vec());
    out.int(to_i64(list.len()));
    note_changes(ctx, &args[1], 1);
    Ok(())
}

/// LREM key count element.
fn lrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = args::int(&args[2])?;
    let (list, out) = list_mut(ctx, &args[1])?;
    let Some(list) = list else {
        out.int(0);
        return Ok(());
    };
    let removed = remove_matches(list, &args[3], count);
    out.int(to_i64(removed));
    if removed > 0 {
        note_removed(ctx, &args[1], removed);
    }
    Ok(())
}

/// Removes elements equal to `target`: the first `count` from the head if `count > 0`, the last
/// `-count` from the tail if `count < 0`, all if 0. Returns how many were removed. O(n), as
/// LREM is in Redis.
fn remove_matches(list: &mut List, target: &[u8], count: i64) -> usize {
    let before = list.len();
    if count >= 0 {
        let limit = if count == 0 {
            usize::MAX
        } else {
            to_usize(count)
        };
        let mut removed = 0usize;
        list.retain(|e| {
            if removed < limit && e[..] == *target {
                removed += 1;
                false
            } else {
                true
            }
        });
    } else {
        // Find where the last `-count` matches begin, then drop every match from there on.
        let limit = count.unsigned_abs();
        let mut seen = 0u64;
        let mut from = list.len();
        for (i, e) in list.iter().enumerate().rev() {
            if seen == limit {
                break;
            }
            if e[..] == *target {
                seen += 1;
                from = i;
            }
        }
        let mut i = 0usize;
        list.retain(|e| {
            let keep = i < from || e[..] != *target;
            i += 1;
            keep
        });
    }
    before - list.len()
}

/// LTRIM key start stop. Redis touches the key for WATCH even when nothing is trimmed.
fn ltrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = args::int(&args[2])?;
    let stop = args::int(&args[3])?;
    let (list, out) = list_mut(ctx, &args[1])?;
    let Some(list) = list else {
        out.ok();
        return Ok(());
    };
    let len = list.len();
    let (front, back) = match clamp_range(len, start, stop) {
        Some((start, stop)) => (start, len - stop - 1),
        None => (len, 0),
    };
    list.drain(..front);
    list.truncate(list.len().saturating_sub(back));
    out.ok();
    note_removed(ctx, &args[1], front + back);
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
fn lpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while let Some(opt) = args.get(i) {
        let Some(value) = args.get(i + 1) else {
            return Err(SYNTAX);
        };
        if args::is(opt, "rank") {
            rank = args::int(value)?;
            if rank == 0 {
                return Err(RANK_ZERO);
            }
        } else if args::is(opt, "count") {
            count = Some(int_at_least(value, 0, COUNT_NEGATIVE)?);
        } else if args::is(opt, "maxlen") {
            maxlen = int_at_least(value, 0, MAXLEN_NEGATIVE)?;
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    let from_tail = rank < 0;
    // Redis 7.0.15 negates in C `long`: RANK -9223372036854775808 stays negative, so every match
    // qualifies and the COUNT limit never triggers. Wrapping arithmetic reproduces that.
    let rank = if from_tail { rank.wrapping_neg() } else { rank };
    let (list, out) = list_read(ctx, &args[1])?;
    let Some(list) = list else {
        if count.is_some() {
            out.array(0);
        } else {
            out.null();
        }
        return Ok(());
    };
    let len = list.len();
    let scan = if maxlen == 0 {
        len
    } else {
        to_usize(maxlen).min(len)
    };
    let element = &args[2][..];
    let mut matches: i64 = 0;
    let mut found = Vec::new();
    for step in 0..scan {
        let index = if from_tail { len - 1 - step } else { step };
        if list.get(index).is_none_or(|e| e[..] != *element) {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        found.push(to_i64(index));
        match count {
            None => break,
            Some(limit) => {
                if limit != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= limit {
                    break;
                }
            }
        }
    }
    if count.is_some() {
        out.array(found.len());
        for index in found {
            out.int(index);
        }
    } else {
        match found.first() {
            Some(&index) => out.int(index),
            None => out.null(),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{call, lookup_command, CallMode, Outcome};
    use crate::config::Config;
    use crate::protocol::Resp;
    use crate::server::client::{Client, Peer};
    use crate::server::state::ServerState;

    fn list(items: &[&str]) -> List {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn ranges_follow_redis() {
        assert_eq!(clamp_range(6, 0, -1), Some((0, 5)));
        assert_eq!(clamp_range(6, -100, 100), Some((0, 5)));
        assert_eq!(clamp_range(6, 4, 2), None);
        assert_eq!(clamp_range(6, 6, 10), None);
        assert_eq!(clamp_range(6, 0, i64::MIN), None);
        assert_eq!(clamp_range(6, i64::MIN, i64::MAX), Some((0, 5)));
        assert_eq!(clamp_range(0, 0, -1), None);
        assert_eq!(resolve_index(3, -1), Some(2));
        assert_eq!(resolve_index(3, -4), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(3, i64::MIN), None);
    }

    #[test]
    fn lrem_counts_from_either_end() {
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(remove_matches(&mut l, b"a", 2), 2);
        assert_eq!(l, list(&["b", "c", "a"]));
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(remove_matches(&mut l, b"a", -2), 2);
        assert_eq!(l, list(&["a", "b", "c"]));
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(remove_matches(&mut l, b"a", 0), 3);
        assert_eq!(l, list(&["b", "c"]));
        let mut l = list(&["a", "b"]);
        assert_eq!(remove_matches(&mut l, b"a", i64::MIN), 1);
        assert_eq!(l, list(&["b"]));
    }

    /// Runs `args` as client 1 in `mode` and returns the reply text and the outcome.
    fn run(srv: &mut ServerState, mode: CallMode, args: &[&str]) -> (String, Outcome) {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        let spec = lookup_command(&args[0]).expect("known command");
        let mut out = Reply::new(srv.client(1).resp);
        let outcome = call(srv, 1, &mut out, spec, &args, mode);
        (String::from_utf8_lossy(&out.buf).into_owned(), outcome)
    }

    fn server() -> ServerState {
        let mut srv = ServerState::new(Config::default());
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let peer = Peer::Unix {
            path: "test".to_string(),
        };
        srv.clients.insert(1, Client::new(1, peer, -1, true, tx));
        srv
    }

    /// Inside EXEC blocking commands answer at once, as a timeout would; BLMOVE and BRPOPLPUSH
    /// with a null bulk, the others with a null array (checked against redis-server 7.0.15).
    #[test]
    fn blocking_commands_do_not_block_inside_exec() {
        let mut srv = server();
        for (resp, null_bulk, null_array) in [
            (Resp::V2, "$-1\r\n", "*-1\r\n"),
            (Resp::V3, "_\r\n", "_\r\n"),
        ] {
            srv.client(1).resp = resp;
            for (args, want) in [
                (&["BLPOP", "k", "0"][..], null_array),
                (&["BRPOP", "k", "j", "0"], null_array),
                (&["BLMPOP", "0", "1", "k", "LEFT"], null_array),
                (&["BLMOVE", "k", "d", "LEFT", "RIGHT", "0"], null_bulk),
                (&["BRPOPLPUSH", "k", "d", "0"], null_bulk),
            ] {
                let (reply, outcome) = run(&mut srv, CallMode::InExec, args);
                assert_eq!(reply, want, "{args:?}");
                assert!(matches!(outcome, Outcome::Continue), "{args:?}");
            }
        }
        assert!(srv.blocking.is_empty());
    }

    #[test]
    fn blocking_commands_block_outside_exec_and_serve_data_inside() {
        let mut srv = server();
        let (reply, outcome) = run(&mut srv, CallMode::Normal, &["BLPOP", "a", "b", "1.5"]);
        assert_eq!(reply, "");
        let Outcome::Block(block) = outcome else {
            panic!("expected a block request");
        };
        assert_eq!(block.keys, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(block.timeout, Some(Duration::from_millis(1500)));
        run(&mut srv, CallMode::Normal, &["RPUSH", "b", "x"]);
        let (reply, _) = run(&mut srv, CallMode::InExec, &["BLPOP", "a", "b", "0"]);
        assert_eq!(reply, "*2\r\n$1\r\nb\r\n$1\r\nx\r\n");
        assert!(srv.dbs[0].is_empty());
    }

    /// RESP3 nulls for the non-blocking commands (HELLO is not in this branch).
    #[test]
    fn resp3_nulls() {
        let mut srv = server();
        srv.client(1).resp = Resp::V3;
        for (args, want) in [
            (&["LPOP", "k"][..], "_\r\n"),
            (&["RPOP", "k", "2"], "_\r\n"),
            (&["LMPOP", "1", "k", "LEFT"], "_\r\n"),
            (&["LPOS", "k", "x"], "_\r\n"),
            (&["LINDEX", "k", "0"], "_\r\n"),
            (&["LMOVE", "k", "d", "LEFT", "LEFT"], "_\r\n"),
            (&["LPOS", "k", "x", "COUNT", "0"], "*0\r\n"),
        ] {
            assert_eq!(run(&mut srv, CallMode::Normal, args).0, want, "{args:?}");
        }
    }

    /// While re-executing, a key of the wrong type is skipped instead of answering WRONGTYPE.
    #[test]
    fn reprocessing_treats_wrong_type_as_empty() {
        let mut srv = server();
        run(&mut srv, CallMode::Normal, &["SET", "a", "str"]);
        let (reply, _) = run(&mut srv, CallMode::Normal, &["BLPOP", "a", "0"]);
        assert!(reply.starts_with("-WRONGTYPE"));
        let (reply, outcome) = run(&mut srv, CallMode::Reprocess, &["BLPOP", "a", "0"]);
        assert_eq!(reply, "");
        assert!(matches!(outcome, Outcome::Block(_)));
        let (reply, outcome) = run(
            &mut srv,
            CallMode::Reprocess,
            &["BLMOVE", "a", "d", "LEFT", "LEFT", "0"],
        );
        assert_eq!(reply, "");
        assert!(matches!(outcome, Outcome::Block(_)));
    }
}
