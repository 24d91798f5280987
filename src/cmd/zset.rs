//! The sorted-set command family (ZADD ... ZSCAN, the blocking BZPOPMIN / BZPOPMAX / BZMPOP),
//! with Redis 7.0's argument rules, error texts and reply shapes in RESP2 and RESP3.
//!
//! Shapes worth knowing: WITHSCORES replies are a flat `member, score, ...` array in RESP2 and
//! an array of `[member, score]` pairs in RESP3; scores are doubles (`%.17g` bulk strings in
//! RESP2). Range bounds parse like Redis's `zslParseRange` (C `strtod`: leading blanks and
//! overflow are accepted) and `zslParseLexRangeItem`.
//!
//! Propagation: BZPOPMIN/BZPOPMAX become `ZPOPMIN|ZPOPMAX key`, ZMPOP/BZMPOP become
//! `ZPOPMIN|ZPOPMAX key <popped>`; everything else is propagated as received.

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};

use super::args;
use super::ctx::Ctx;
use super::error::{CmdError, CmdResult, SYNTAX, WRONGTYPE};
use super::random::sample_unique;
use super::scan::{empty_scan, parse_cursor, parse_scan_options, ScanOptions};
use super::spec::{command, flags::*, CommandSpec};
use crate::db::glob::glob_match;
use crate::db::zset::{LexBound, LexRange, ScoreBound, ScoreRange, ZSet};
use crate::db::{Db, Value};
use crate::protocol::reply::format_double;
use crate::protocol::Reply;
use crate::server::state::random_index;

/// The sorted-set commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Add one or more members to a sorted set, or update its score if it already exists",
        zadd,
    ),
    command(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Increment the score of a member in a sorted set",
        zincrby,
    ),
    command(
        "zrem",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Remove one or more members from a sorted set",
        zrem,
    ),
    command(
        "zcard",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Get the number of members in a sorted set",
        zcard,
    ),
    command(
        "zscore",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Get the score associated with the given member in a sorted set",
        zscore,
    ),
    command(
        "zmscore",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "6.2.0",
        "Get the score associated with the given members in a sorted set",
        zmscore,
    ),
    command(
        "zrank",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Determine the index of a member in a sorted set",
        zrank,
    ),
    command(
        "zrevrank",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
        zrevrank,
    ),
    command(
        "zrange",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Return a range of members in a sorted set",
        zrange,
    ),
    command(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        (1, 2, 1),
        "sorted-set",
        "6.2.0",
        "Store a range of members from sorted set into another key",
        zrangestore,
    ),
    command(
        "zrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "1.0.5",
        "Return a range of members in a sorted set, by score",
        zrangebyscore,
    ),
    command(
        "zrevrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "2.2.0",
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        zrevrangebyscore,
    ),
    command(
        "zrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range",
        zrangebylex,
    ),
    command(
        "zrevrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        zrevrangebylex,
    ),
    command(
        "zrevrange",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        zrevrange,
    ),
    command(
        "zcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Count the members in a sorted set with scores within the given values",
        zcount,
    ),
    command(
        "zlexcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Count the number of members in a sorted set between a given lexicographical range",
        zlexcount,
    ),
    command(
        "zpopmin",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "sorted-set",
        "5.0.0",
        "Remove and return members with the lowest scores in a sorted set",
        zpopmin,
    ),
    command(
        "zpopmax",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "sorted-set",
        "5.0.0",
        "Remove and return members with the highest scores in a sorted set",
        zpopmax,
    ),
    command(
        "zmpop",
        -4,
        WRITE | MOVABLE_KEYS,
        (0, 0, 0),
        "sorted-set",
        "7.0.0",
        "Remove and return members with scores in a sorted set",
        zmpop,
    ),
    command(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        (1, -2, 1),
        "sorted-set",
        "5.0.0",
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
        bzpopmin,
    ),
    command(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        (1, -2, 1),
        "sorted-set",
        "5.0.0",
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
        bzpopmax,
    ),
    command(
        "bzmpop",
        -5,
        WRITE | BLOCKING | MOVABLE_KEYS,
        (0, 0, 0),
        "sorted-set",
        "7.0.0",
        "Remove and return members with scores in a sorted set or block until one is available",
        bzmpop,
    ),
    command(
        "zremrangebyscore",
        4,
        WRITE,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Remove all members in a sorted set within the given scores",
        zremrangebyscore,
    ),
    command(
        "zremrangebyrank",
        4,
        WRITE,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Remove all members in a sorted set within the given indexes",
        zremrangebyrank,
    ),
    command(
        "zremrangebylex",
        4,
        WRITE,
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Remove all members in a sorted set between the given lexicographical range",
        zremrangebylex,
    ),
    command(
        "zrandmember",
        -2,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "6.2.0",
        "Get one or multiple random elements from a sorted set",
        zrandmember,
    ),
    command(
        "zunionstore",
        -4,
        WRITE | DENYOOM | MOVABLE_KEYS,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Add multiple sorted sets and store the resulting sorted set in a new key",
        zunionstore,
    ),
    command(
        "zinterstore",
        -4,
        WRITE | DENYOOM | MOVABLE_KEYS,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        zinterstore,
    ),
    command(
        "zdiffstore",
        -4,
        WRITE | DENYOOM | MOVABLE_KEYS,
        (1, 1, 1),
        "sorted-set",
        "6.2.0",
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
        zdiffstore,
    ),
    command(
        "zunion",
        -3,
        READONLY | MOVABLE_KEYS,
        (0, 0, 0),
        "sorted-set",
        "6.2.0",
        "Add multiple sorted sets",
        zunion,
    ),
    command(
        "zinter",
        -3,
        READONLY | MOVABLE_KEYS,
        (0, 0, 0),
        "sorted-set",
        "6.2.0",
        "Intersect multiple sorted sets",
        zinter,
    ),
    command(
        "zdiff",
        -3,
        READONLY | MOVABLE_KEYS,
        (0, 0, 0),
        "sorted-set",
        "6.2.0",
        "Subtract multiple sorted sets",
        zdiff,
    ),
    command(
        "zintercard",
        -3,
        READONLY | MOVABLE_KEYS,
        (0, 0, 0),
        "sorted-set",
        "7.0.0",
        "Intersect multiple sorted sets and return the cardinality of the result",
        zintercard,
    ),
    command(
        "zscan",
        -3,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "2.8.0",
        "Incrementally iterate sorted sets elements and associated scores",
        zscan,
    ),
];

/// `zslParseRange` failed.
const NOT_FLOAT_RANGE: CmdError = CmdError::fixed("ERR min or max is not a float");
/// `zslParseLexRange` failed.
const NOT_LEX_RANGE: CmdError = CmdError::fixed("ERR min or max not valid string range item");
/// ZADD INCR / ZINCRBY produced inf + -inf.
const NAN_RESULT: CmdError = CmdError::fixed("ERR resulting score is not a number (NaN)");
/// A COUNT that must be positive (ZPOPMIN / ZPOPMAX).
const NOT_POSITIVE: CmdError = CmdError::fixed("ERR value is out of range, must be positive");

// ---------------------------------------------------------------------------------------------
// Shared helpers.

/// Looks `key` up for reading together with the reply buffer: `Ok(None)` if missing.
fn read_zset<'a>(
    ctx: &'a mut Ctx<'_>,
    key: &[u8],
) -> Result<(Option<&'a ZSet>, &'a mut Reply), CmdError> {
    match ctx.lookup_with_out(key) {
        (None, out) => Ok((None, out)),
        (Some(Value::ZSet(z)), out) => Ok((Some(z), out)),
        (Some(_), _) => Err(WRONGTYPE),
    }
}

/// Looks `key` up for writing: `Ok(None)` if missing.
fn write_zset<'a>(ctx: &'a mut Ctx<'_>, key: &[u8]) -> Result<Option<&'a mut ZSet>, CmdError> {
    match ctx.lookup_mut(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(WRONGTYPE),
    }
}

/// After removing members from `key`: deletes the key if the set is now empty, and marks it
/// modified if anything was removed.
fn after_removal(ctx: &mut Ctx<'_>, key: &[u8], removed: usize) {
    if removed == 0 {
        return;
    }
    if matches!(ctx.db().get(key), Some(Value::ZSet(z)) if z.is_empty()) {
        ctx.db().remove(key);
    }
    ctx.modified(key);
}

/// Stores `result` in `dst` (replacing whatever is there, TTL included) or deletes `dst` when
/// the result is empty, then replies with the result's size (the *STORE commands).
fn store_result(ctx: &mut Ctx<'_>, dst: &[u8], mut result: ZSet) {
    result.settle_encoding();
    let n = result.len();
    ctx.expire_if_needed(dst);
    if n > 0 {
        ctx.db().set(dst, Value::ZSet(Box::new(result)));
        ctx.modified(dst);
        ctx.signal_ready(dst);
    } else if ctx.db().remove(dst).is_some() {
        ctx.modified(dst);
    }
    ctx.out.int(i64::try_from(n).unwrap_or(i64::MAX));
}

/// Replies with `n` members (and their scores), flat in RESP2 and as pairs in RESP3.
fn emit<'a>(
    out: &mut Reply,
    items: impl Iterator<Item = (&'a [u8], f64)>,
    n: usize,
    withscores: bool,
) {
    let pairs = withscores && out.is_resp3();
    if withscores && !pairs {
        out.array(n.saturating_mul(2));
    } else {
        out.array(n);
    }
    for (member, score) in items.take(n) {
        if pairs {
            out.array(2);
        }
        out.bulk(member);
        if withscores {
            out.double(score);
        }
    }
}

/// Parses a float the way C `strtod` does when the whole string must be consumed: leading
/// blanks are skipped, an empty string is 0, out-of-range values become ±inf or 0, and the
/// string ends at the first NUL byte (Redis passes the raw C string). NaN is rejected.
fn strtod_whole(arg: &[u8]) -> Option<f64> {
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    if arg.is_empty() {
        return Some(0.0);
    }
    let start = arg
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let body = &arg[start..];
    let value = args::parse_f64(body).or_else(|| {
        // parse_f64 refuses overflow and underflow; strtod accepts them as ±inf / 0, and so
        // does Rust's (correctly rounded) decimal parser.
        std::str::from_utf8(body).ok()?.parse::<f64>().ok()
    })?;
    (!value.is_nan()).then_some(value)
}

/// Parses `min max` score bounds (`1.5`, `(1.5`, `-inf`, `+inf`).
fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let bound = |arg: &[u8]| -> Option<ScoreBound> {
        match arg.split_first() {
            Some((b'(', rest)) => Some(ScoreBound {
                value: strtod_whole(rest)?,
                exclusive: true,
            }),
            _ => Some(ScoreBound {
                value: strtod_whole(arg)?,
                exclusive: false,
            }),
        }
    };
    match (bound(min), bound(max)) {
        (Some(min), Some(max)) => Ok(ScoreRange { min, max }),
        _ => Err(NOT_FLOAT_RANGE),
    }
}

/// Parses `min max` lexicographic bounds (`-`, `+`, `[member`, `(member`).
fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
    let bound = |arg: &[u8]| -> Option<LexBound> {
        // `+` and `-` must stand alone (up to a NUL byte, as Redis reads a C string).
        let alone = arg.get(1).is_none_or(|&b| b == 0);
        match arg.split_first()? {
            (b'+', _) if alone => Some(LexBound::Max),
            (b'-', _) if alone => Some(LexBound::Min),
            (b'(', rest) => Some(LexBound::Exclusive(rest.to_vec())),
            (b'[', rest) => Some(LexBound::Inclusive(rest.to_vec())),
            _ => None,
        }
    };
    match (bound(min), bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(NOT_LEX_RANGE),
    }
}

/// A contiguous run of ranks to visit: `n` members from `rank`, downwards when `rev`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Window {
    rank: usize,
    n: usize,
    rev: bool,
}

impl Window {
    /// Redis's index sanitising for `start stop` (negative counts from the end; `stop` is
    /// inclusive): the ranks `first..=last` in ascending order, if any.
    fn index_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
        let len = i64::try_from(len).unwrap_or(i64::MAX);
        let mut start = if start < 0 {
            start.saturating_add(len)
        } else {
            start
        };
        let mut stop = if stop < 0 {
            stop.saturating_add(len)
        } else {
            stop
        };
        if start < 0 {
            start = 0;
        }
        if start > stop || start >= len {
            return None;
        }
        if stop >= len {
            stop = len - 1;
        }
        Some((usize::try_from(start).ok()?, usize::try_from(stop).ok()?))
    }

    /// ZRANGE by index: `start`/`stop` count from the top when `rev`.
    fn by_index(start: i64, stop: i64, len: usize, rev: bool) -> Window {
        match Self::index_range(start, stop, len) {
            None => Window::default(),
            Some((first, last)) => Window {
                rank: if rev { len - 1 - first } else { first },
                n: last - first + 1,
                rev,
            },
        }
    }

    /// The ranks `start..end` of a score or lex range, after LIMIT `offset count`. A negative
    /// offset selects nothing and a negative count means "all" (Redis's loops behave so).
    fn limited(start: usize, end: usize, offset: i64, count: i64, rev: bool) -> Window {
        let Ok(offset) = usize::try_from(offset) else {
            return Window::default();
        };
        let available = end.saturating_sub(start);
        if offset >= available {
            return Window::default();
        }
        let mut n = available - offset;
        if let Ok(count) = usize::try_from(count) {
            n = n.min(count);
        }
        Window {
            rank: if rev {
                end - 1 - offset
            } else {
                start + offset
            },
            n,
            rev,
        }
    }

    fn iter(self, z: &ZSet) -> impl Iterator<Item = (&[u8], f64)> {
        z.iter_from_rank(self.rank, self.rev).take(self.n)
    }
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM.

/// ZADD's option flags.
#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What adding one member did.
enum AddOutcome {
    Added(f64),
    Updated(f64),
    /// Score unchanged (same value), with the resulting score.
    Same(f64),
    /// Not done because of NX / XX / GT / LT.
    Skipped,
    /// The increment produced NaN.
    Nan,
}

/// Redis's `zsetAdd`: adds or updates one member under the flags (one lookup of `member`).
fn zset_add(z: &mut ZSet, member: &[u8], score: f64, f: AddFlags) -> AddOutcome {
    let mut outcome = AddOutcome::Skipped;
    z.upsert(member, |current| match current {
        Some(current) => {
            if f.nx {
                return None;
            }
            let score = if f.incr { score + current } else { score };
            if score.is_nan() {
                outcome = AddOutcome::Nan;
                return None;
            }
            if (f.lt && score >= current) || (f.gt && score <= current) {
                return None;
            }
            // -0.0 == 0.0: an "update" between them changes nothing, as in Redis.
            if score == current {
                outcome = AddOutcome::Same(score);
                return None;
            }
            outcome = AddOutcome::Updated(score);
            Some(score)
        }
        None if f.xx => None,
        None => {
            outcome = AddOutcome::Added(score);
            Some(score)
        }
    });
    outcome
}

fn zadd(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let (f, idx) = parse_add_flags(a, AddFlags::default());
    zadd_generic(ctx, &a[1], &a[idx..], f)
}

/// ZINCRBY is ZADD with INCR in Redis, options included: `ZINCRBY k XX m` parses `XX` as an
/// option and then fails for lack of a score/member pair.
fn zincrby(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let initial = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    let (f, idx) = parse_add_flags(a, initial);
    zadd_generic(ctx, &a[1], &a[idx..], f)
}

/// Reads ZADD's options from `a[2..]`; returns them and the index of the first score.
fn parse_add_flags(a: &[Bytes], mut f: AddFlags) -> (AddFlags, usize) {
    let mut idx = 2;
    // Compared in place: ZADD runs this on every call, and the first score always reaches it.
    while let Some(opt) = a.get(idx) {
        let is = |name: &[u8]| opt.eq_ignore_ascii_case(name);
        if is(b"nx") {
            f.nx = true;
        } else if is(b"xx") {
            f.xx = true;
        } else if is(b"gt") {
            f.gt = true;
        } else if is(b"lt") {
            f.lt = true;
        } else if is(b"ch") {
            f.ch = true;
        } else if is(b"incr") {
            f.incr = true;
        } else {
            break;
        }
        idx += 1;
    }
    (f, idx)
}

/// ZADD / ZINCRBY after option parsing: `pairs` is `score member ...`.
fn zadd_generic(ctx: &mut Ctx<'_>, key: &[u8], pairs: &[Bytes], f: AddFlags) -> CmdResult {
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(SYNTAX);
    }
    if f.nx && f.xx {
        return Err(CmdError::fixed(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::fixed(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && pairs.len() > 2 {
        return Err(CmdError::fixed(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    // Every score is checked before anything changes: the command runs fully or not at all.
    // The first one is kept apart so the usual single-pair ZADD allocates nothing here.
    let first = args::float(&pairs[0])?;
    let rest = pairs
        .get(2..)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|p| args::float(&p[0]))
        .collect::<Result<Vec<f64>, CmdError>>()?;
    let scores = std::iter::once(first).chain(rest);
    let z = match write_zset(ctx, key)? {
        Some(z) => z,
        None if f.xx => {
            if f.incr {
                ctx.out.null();
            } else {
                ctx.out.int(0);
            }
            return Ok(());
        }
        None => {
            // Redis 7.0 starts every new set as a listpack and converts it while adding.
            ctx.db().set(key, Value::ZSet(Box::default()));
            match ctx.db().get_mut(key) {
                Some(Value::ZSet(z)) => z,
                _ => return Ok(()),
            }
        }
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    let mut nan = false;
    for (pair, score) in pairs.chunks_exact(2).zip(scores) {
        match zset_add(z, &pair[1], score, f) {
            AddOutcome::Added(s) => {
                added += 1;
                processed += 1;
                last = s;
            }
            AddOutcome::Updated(s) => {
                updated += 1;
                processed += 1;
                last = s;
            }
            AddOutcome::Same(s) => {
                processed += 1;
                last = s;
            }
            AddOutcome::Skipped => {}
            AddOutcome::Nan => {
                nan = true;
                break;
            }
        }
    }
    if added + updated > 0 {
        ctx.modified(key);
        ctx.signal_ready(key);
    }
    if nan {
        return Err(NAN_RESULT);
    }
    if f.incr {
        if processed > 0 {
            ctx.out.double(last);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if f.ch { added + updated } else { added });
    }
    Ok(())
}

fn zrem(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let Some(z) = write_zset(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut removed = 0;
    for member in &a[2..] {
        if z.remove(member).is_some() {
            removed += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    after_removal(ctx, key, removed);
    ctx.out.int(i64::try_from(removed).unwrap_or(i64::MAX));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Point reads.

fn zcard(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let (z, out) = read_zset(ctx, &a[1])?;
    out.int(z.map_or(0, |z| i64::try_from(z.len()).unwrap_or(i64::MAX)));
    Ok(())
}

fn zscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let (z, out) = read_zset(ctx, &a[1])?;
    match z.and_then(|z| z.score(&a[2])) {
        Some(s) => out.double(s),
        None => out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let (z, out) = read_zset(ctx, &a[1])?;
    out.array(a.len() - 2);
    for member in &a[2..] {
        match z.and_then(|z| z.score(member)) {
            Some(s) => out.double(s),
            None => out.null(),
        }
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    rank_generic(ctx, a, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    rank_generic(ctx, a, true)
}

fn rank_generic(ctx: &mut Ctx<'_>, a: &[Bytes], rev: bool) -> CmdResult {
    let (z, out) = read_zset(ctx, &a[1])?;
    let rank = z.and_then(|z| {
        let r = z.rank(&a[2])?;
        Some(if rev { z.len() - 1 - r } else { r })
    });
    match rank {
        Some(r) => out.int(i64::try_from(r).unwrap_or(i64::MAX)),
        None => out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The ZRANGE family.

/// What a range argument pair means.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    /// Not yet decided by an option (ZRANGE, ZRANGESTORE).
    Auto,
    Rank,
    Score,
    Lex,
}

/// Parsed range bounds.
enum Bounds {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn zrange(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeKind::Auto, None)
}

fn zrangestore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 2, Some(&a[1]), RangeKind::Auto, None)
}

fn zrangebyscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeKind::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeKind::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeKind::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeKind::Lex, Some(true))
}

fn zrevrange(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeKind::Rank, Some(true))
}

/// Redis's `zrangeGenericCommand`: the source key is `a[src]`, followed by min, max and the
/// options. `kind` and `rev` are fixed by the legacy commands and chosen by options otherwise.
fn zrange_generic(
    ctx: &mut Ctx<'_>,
    a: &[Bytes],
    src: usize,
    store: Option<&Bytes>,
    mut kind: RangeKind,
    mut rev: Option<bool>,
) -> CmdResult {
    let key = &a[src];
    let (mut min_idx, mut max_idx) = (src + 1, src + 2);
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut withscores = false;
    let mut j = src + 3;
    while let Some(arg) = a.get(j) {
        let left = a.len() - j - 1;
        if store.is_none() && args::is(arg, "withscores") {
            withscores = true;
        } else if args::is(arg, "limit") && left >= 2 {
            offset = args::int(&a[j + 1])?;
            limit = args::int(&a[j + 2])?;
            j += 2;
        } else if rev.is_none() && args::is(arg, "rev") {
            rev = Some(true);
        } else if kind == RangeKind::Auto && args::is(arg, "bylex") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Auto && args::is(arg, "byscore") {
            kind = RangeKind::Score;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == RangeKind::Auto {
        kind = RangeKind::Rank;
    }
    // Redis tests the count against -1, so `LIMIT x -1` passes with a by-index range.
    if limit != -1 && kind == RangeKind::Rank {
        return Err(CmdError::fixed(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(CmdError::fixed(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && kind != RangeKind::Rank {
        // Reversed score and lex ranges are written `max min`.
        std::mem::swap(&mut min_idx, &mut max_idx);
    }
    let bounds = match kind {
        RangeKind::Score => Bounds::Score(parse_score_range(&a[min_idx], &a[max_idx])?),
        RangeKind::Lex => Bounds::Lex(parse_lex_range(&a[min_idx], &a[max_idx])?),
        RangeKind::Auto | RangeKind::Rank => {
            Bounds::Rank(args::int(&a[min_idx])?, args::int(&a[max_idx])?)
        }
    };
    let (z, out) = read_zset(ctx, key)?;
    let window = z.map_or(Window::default(), |z| match &bounds {
        Bounds::Rank(start, stop) => Window::by_index(*start, *stop, z.len(), rev),
        Bounds::Score(range) => {
            let (s, e) = z.score_range_ranks(range);
            Window::limited(s, e, offset, limit, rev)
        }
        Bounds::Lex(range) => {
            let (s, e) = z.lex_range_ranks(range);
            Window::limited(s, e, offset, limit, rev)
        }
    });
    match (store, z) {
        (Some(dst), z) => {
            let mut result = ZSet::new();
            result.set_skiplist_encoding();
            if let Some(z) = z {
                for (member, score) in window.iter(z) {
                    result.insert(member, score);
                }
            }
            store_result(ctx, dst, result);
        }
        (None, Some(z)) => emit(out, window.iter(z), window.n, withscores),
        (None, None) => out.array(0),
    }
    Ok(())
}

fn zcount(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let range = parse_score_range(&a[2], &a[3])?;
    let (z, out) = read_zset(ctx, &a[1])?;
    let n = z.map_or(0, |z| {
        let (s, e) = z.score_range_ranks(&range);
        e - s
    });
    out.int(i64::try_from(n).unwrap_or(i64::MAX));
    Ok(())
}

fn zlexcount(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let range = parse_lex_range(&a[2], &a[3])?;
    let (z, out) = read_zset(ctx, &a[1])?;
    let n = z.map_or(0, |z| {
        let (s, e) = z.lex_range_ranks(&range);
        e - s
    });
    out.int(i64::try_from(n).unwrap_or(i64::MAX));
    Ok(())
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let bounds = Bounds::Score(parse_score_range(&a[2], &a[3])?);
    zremrange_generic(ctx, &a[1], &bounds)
}

fn zremrangebylex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let bounds = Bounds::Lex(parse_lex_range(&a[2], &a[3])?);
    zremrange_generic(ctx, &a[1], &bounds)
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let bounds = Bounds::Rank(args::int(&a[2])?, args::int(&a[3])?);
    zremrange_generic(ctx, &a[1], &bounds)
}

/// Removes the members in `bounds` from `key`; replies with how many.
fn zremrange_generic(ctx: &mut Ctx<'_>, key: &[u8], bounds: &Bounds) -> CmdResult {
    let Some(z) = write_zset(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let (start, end) = match bounds {
        Bounds::Rank(start, stop) => match Window::index_range(*start, *stop, z.len()) {
            Some((first, last)) => (first, last + 1),
            None => (0, 0),
        },
        Bounds::Score(range) => z.score_range_ranks(range),
        Bounds::Lex(range) => z.lex_range_ranks(range),
    };
    let removed = z.remove_rank_range(start, end, |_, _| {});
    after_removal(ctx, key, removed);
    ctx.out.int(i64::try_from(removed).unwrap_or(i64::MAX));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pops, blocking pops.

/// How a pop reply is laid out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PopShape {
    /// `member, score, ...` (ZPOPMIN/ZPOPMAX in RESP2, or without a count).
    Flat,
    /// `[member, score], ...` (ZPOPMIN/ZPOPMAX with a count in RESP3).
    Pairs,
    /// `key, member, score` (BZPOPMIN/BZPOPMAX).
    KeyFlat,
    /// `key, [[member, score], ...]` (ZMPOP/BZMPOP).
    KeyPairs,
}

/// Pops up to `count` members from the zset at `key` (which exists), lowest first or highest
/// first; deletes the key when emptied and marks it modified.
fn pop_from(ctx: &mut Ctx<'_>, key: &[u8], max: bool, count: usize) -> Vec<(Vec<u8>, f64)> {
    let Some(Value::ZSet(z)) = ctx.db().get_mut(key) else {
        return Vec::new();
    };
    let len = z.len();
    let n = count.min(len);
    let mut popped = Vec::with_capacity(n);
    let (start, end) = if max { (len - n, len) } else { (0, n) };
    z.remove_rank_range(start, end, |m, s| popped.push((m.to_vec(), s)));
    if max {
        popped.reverse();
    }
    after_removal(ctx, key, popped.len());
    popped
}

/// Writes popped members in `shape`.
fn reply_popped(out: &mut Reply, key: &[u8], popped: &[(Vec<u8>, f64)], shape: PopShape) {
    match shape {
        PopShape::Flat => out.array(popped.len() * 2),
        PopShape::Pairs => out.array(popped.len()),
        PopShape::KeyFlat => {
            out.array(popped.len() * 2 + 1);
            out.bulk(key);
        }
        PopShape::KeyPairs => {
            out.array(2);
            out.bulk(key);
            out.array(popped.len());
        }
    }
    let pairs = matches!(shape, PopShape::Pairs | PopShape::KeyPairs);
    for (member, score) in popped {
        if pairs {
            out.array(2);
        }
        out.bulk(member);
        out.double(*score);
    }
}

/// The command that replicates a pop of `n` members from `key`.
fn pop_propagation(key: &[u8], max: bool, n: Option<usize>) -> Vec<Vec<u8>> {
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut cmd = vec![name.to_vec(), key.to_vec()];
    if let Some(n) = n {
        cmd.push(n.to_string().into_bytes());
    }
    cmd
}

fn zpopmin(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    zpop(ctx, a, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    zpop(ctx, a, true)
}

/// ZPOPMIN / ZPOPMAX `key [count]`.
fn zpop(ctx: &mut Ctx<'_>, a: &[Bytes], max: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(SYNTAX);
    }
    let count = match a.get(2) {
        Some(arg) => {
            let n = args::int(arg).map_err(|_| NOT_POSITIVE)?;
            Some(usize::try_from(n).map_err(|_| NOT_POSITIVE)?)
        }
        None => None,
    };
    let key = &a[1];
    if write_zset(ctx, key)?.is_none() || count == Some(0) {
        ctx.out.array(0);
        return Ok(());
    }
    let shape = if count.is_some() && ctx.out.is_resp3() {
        PopShape::Pairs
    } else {
        PopShape::Flat
    };
    let popped = pop_from(ctx, key, max, count.unwrap_or(1));
    reply_popped(ctx.out, key, &popped, shape);
    Ok(())
}

/// ZMPOP / BZMPOP arguments after the timeout.
struct MpopArgs<'a> {
    keys: &'a [Bytes],
    max: bool,
    count: usize,
}

/// Parses `numkeys key ... MIN|MAX [COUNT count]` starting at `a[numkeys_idx]`.
fn parse_mpop(a: &[Bytes], numkeys_idx: usize) -> Result<MpopArgs<'_>, CmdError> {
    let numkeys = args::int(&a[numkeys_idx])
        .ok()
        .filter(|&n| n >= 1)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(CmdError::fixed("ERR numkeys should be greater than 0"))?;
    let first = numkeys_idx + 1;
    let where_idx = first
        .checked_add(numkeys)
        .filter(|&i| i < a.len())
        .ok_or(SYNTAX)?;
    let max = if args::is(&a[where_idx], "min") {
        false
    } else if args::is(&a[where_idx], "max") {
        true
    } else {
        return Err(SYNTAX);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while let Some(opt) = a.get(j) {
        if count.is_none() && args::is(opt, "count") && j + 1 < a.len() {
            let n = args::int(&a[j + 1])
                .ok()
                .filter(|&n| n >= 1)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(CmdError::fixed("ERR count should be greater than 0"))?;
            count = Some(n);
            j += 2;
        } else {
            return Err(SYNTAX);
        }
    }
    Ok(MpopArgs {
        keys: &a[first..where_idx],
        max,
        count: count.unwrap_or(1),
    })
}

/// The first key of `keys` holding a (non-empty) zset. A key of another type is an error,
/// unless `skip_wrong_type` (a blocked command being re-run keeps waiting instead).
fn first_nonempty<'k>(
    ctx: &mut Ctx<'_>,
    keys: &'k [Bytes],
    skip_wrong_type: bool,
) -> Result<Option<&'k Bytes>, CmdError> {
    for key in keys {
        match ctx.lookup_mut(key) {
            None => {}
            Some(Value::ZSet(z)) if !z.is_empty() => return Ok(Some(key)),
            Some(Value::ZSet(_)) => {}
            Some(_) if skip_wrong_type => {}
            Some(_) => return Err(WRONGTYPE),
        }
    }
    Ok(None)
}

fn zmpop(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let p = parse_mpop(a, 1)?;
    let Some(key) = first_nonempty(ctx, p.keys, false)? else {
        ctx.out.null_array();
        return Ok(());
    };
    let popped = pop_from(ctx, key, p.max, p.count);
    reply_popped(ctx.out, key, &popped, PopShape::KeyPairs);
    ctx.propagate(pop_propagation(key, p.max, Some(popped.len())));
    Ok(())
}

fn bzpopmin(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    bzpop(ctx, a, false)
}

fn bzpopmax(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    bzpop(ctx, a, true)
}

/// BZPOPMIN / BZPOPMAX `key [key ...] timeout`.
fn bzpop(ctx: &mut Ctx<'_>, a: &[Bytes], max: bool) -> CmdResult {
    let last = a.len() - 1;
    let timeout = args::timeout(&a[last])?;
    let keys = &a[1..last];
    blocking_pop(ctx, keys, max, None, timeout)
}

fn bzmpop(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let p = parse_mpop(a, 2)?;
    let timeout = args::timeout(&a[1])?;
    blocking_pop(ctx, p.keys, p.max, Some(p.count), timeout)
}

/// Pops from the first non-empty key, or blocks on all of them. `count` is `None` for
/// BZPOPMIN/BZPOPMAX (one member, `key, member, score` reply) and set for BZMPOP.
fn blocking_pop(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    max: bool,
    count: Option<usize>,
    timeout: Option<std::time::Duration>,
) -> CmdResult {
    let reprocessing = ctx.reprocessing;
    if let Some(key) = first_nonempty(ctx, keys, reprocessing)? {
        let popped = pop_from(ctx, key, max, count.unwrap_or(1));
        let shape = if count.is_some() {
            PopShape::KeyPairs
        } else {
            PopShape::KeyFlat
        };
        reply_popped(ctx.out, key, &popped, shape);
        let n = count.map(|_| popped.len());
        ctx.propagate(pop_propagation(key, max, n));
        return Ok(());
    }
    if !ctx.can_block() {
        // Inside EXEC nothing can arrive: Redis answers as if the timeout had passed.
        ctx.out.null_array();
        return Ok(());
    }
    ctx.block_on(keys.iter().map(|k| k.to_vec()).collect(), timeout);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER.

fn zrandmember(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let Some(count_arg) = a.get(2) else {
        let (z, out) = read_zset(ctx, &a[1])?;
        match z.filter(|z| !z.is_empty()) {
            Some(z) => match z.get_by_index(random_index(z.len())) {
                Some((member, _)) => out.bulk(member),
                None => out.null(),
            },
            None => out.null(),
        }
        return Ok(());
    };
    let count = args::int(count_arg)?;
    if count == i64::MIN {
        return Err(CmdError::fixed(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match a.get(3) {
        None => false,
        Some(arg) if a.len() == 4 && args::is(arg, "withscores") => true,
        Some(_) => return Err(SYNTAX),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::fixed("ERR value is out of range"));
    }
    let (z, out) = read_zset(ctx, &a[1])?;
    let Some(z) = z else {
        out.array(0);
        return Ok(());
    };
    let pairs = withscores && out.is_resp3();
    let header = |out: &mut Reply, n: usize| {
        if withscores && !pairs {
            out.array(n.saturating_mul(2));
        } else {
            out.array(n);
        }
    };
    let item = |out: &mut Reply, (member, score): (&[u8], f64)| {
        if pairs {
            out.array(2);
        }
        out.bulk(member);
        if withscores {
            out.double(score);
        }
    };
    let size = z.len();
    let unique = count >= 0;
    let n = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    if n == 0 || size == 0 {
        out.array(0);
        return Ok(());
    }
    if !unique || n == 1 {
        // Sampling with repetitions: every pick is independent. As in Redis, the reply has
        // exactly `n` entries, however large.
        header(out, n);
        for _ in 0..n {
            if let Some(entry) = z.get_by_index(random_index(size)) {
                item(out, entry);
            }
        }
        return Ok(());
    }
    if n >= size {
        // The whole set, highest score first (as Redis 7.0 replies it).
        header(out, size);
        for entry in z.iter_from_rank(size - 1, true) {
            item(out, entry);
        }
        return Ok(());
    }
    header(out, n);
    for i in sample_unique(size, n) {
        if let Some(entry) = z.get_by_index(i) {
            item(out, entry);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD.

/// The set operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How scores of the same member combine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`: inf + -inf gives 0, and a NaN operand of MIN/MAX loses.
    fn apply(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *target {
                    *target = value;
                }
            }
            Aggregate::Max => {
                if value > *target {
                    *target = value;
                }
            }
        }
    }
}

/// An input of a set operation: a sorted set, or a plain set whose members score 1.
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    Sorted(&'a ZSet),
    Plain(&'a IndexSet<Vec<u8>>),
}

impl<'a> Source<'a> {
    fn of(db: &'a Db, key: &[u8]) -> Source<'a> {
        match db.get(key) {
            Some(Value::ZSet(z)) => Source::Sorted(z),
            Some(Value::Set(s)) => Source::Plain(s),
            _ => Source::Missing,
        }
    }

    fn len(self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Sorted(z) => z.len(),
            Source::Plain(s) => s.len(),
        }
    }

    fn score(self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Sorted(z) => z.score(member),
            Source::Plain(s) => s.contains(member).then_some(1.0),
        }
    }

    fn for_each(self, mut f: impl FnMut(&'a [u8], f64) -> bool) {
        match self {
            Source::Missing => {}
            Source::Sorted(z) => {
                for (m, s) in z.iter() {
                    if !f(m, s) {
                        return;
                    }
                }
            }
            Source::Plain(set) => {
                for m in set {
                    if !f(m, 1.0) {
                        return;
                    }
                }
            }
        }
    }
}

fn zunionstore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, Some(&a[1]), 2, SetOp::Union, false)
}

fn zinterstore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, Some(&a[1]), 2, SetOp::Inter, false)
}

fn zdiffstore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, Some(&a[1]), 2, SetOp::Diff, false)
}

fn zunion(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Union, false)
}

fn zinter(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Inter, false)
}

fn zdiff(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Diff, false)
}

fn zintercard(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Inter, true)
}

/// Redis's `zunionInterDiffGenericCommand`.
fn setop_generic(
    ctx: &mut Ctx<'_>,
    a: &[Bytes],
    dst: Option<&Bytes>,
    numkeys_idx: usize,
    op: SetOp,
    card_only: bool,
) -> CmdResult {
    let numkeys = args::int(&a[numkeys_idx])?;
    if numkeys < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            args::lower(&a[0])
        )));
    }
    let first = numkeys_idx + 1;
    let numkeys = usize::try_from(numkeys)
        .ok()
        .filter(|&n| n <= a.len() - first)
        .ok_or(SYNTAX)?;
    let keys = &a[first..first + numkeys];
    // Types are checked (and expired keys dropped) before the options are parsed, as in Redis.
    for key in keys {
        match ctx.lookup(key) {
            None | Some(Value::ZSet(_)) | Some(Value::Set(_)) => {}
            Some(_) => return Err(WRONGTYPE),
        }
    }
    let mut weights = vec![1.0f64; numkeys];
    let mut aggregate = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first + numkeys;
    while let Some(arg) = a.get(j) {
        let remaining = a.len() - j;
        if op != SetOp::Diff && !card_only && remaining > numkeys && args::is(arg, "weights") {
            for (w, warg) in weights.iter_mut().zip(&a[j + 1..]) {
                *w = args::parse_f64(warg)
                    .ok_or(CmdError::fixed("ERR weight value is not a float"))?;
            }
            j += 1 + numkeys;
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && args::is(arg, "aggregate") {
            let which = &a[j + 1];
            aggregate = if args::is(which, "sum") {
                Aggregate::Sum
            } else if args::is(which, "min") {
                Aggregate::Min
            } else if args::is(which, "max") {
                Aggregate::Max
            } else {
                return Err(SYNTAX);
            };
            j += 2;
        } else if dst.is_none() && !card_only && args::is(arg, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && args::is(arg, "limit") {
            let n = args::int(&a[j + 1])
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(CmdError::fixed("ERR LIMIT can't be negative"))?;
            limit = n;
            j += 2;
        } else {
            return Err(SYNTAX);
        }
    }

    let db = &ctx.srv.dbs[ctx.db];
    let mut sources: Vec<(Source<'_>, f64)> = keys
        .iter()
        .zip(&weights)
        .map(|(key, &w)| (Source::of(db, key), w))
        .collect();
    if op != SetOp::Diff {
        // Smallest first: the intersection walks the smallest input (stable, so equal sizes
        // keep the order given, which fixes the order of floating-point sums).
        sources.sort_by_key(|(src, _)| src.len());
    }
    // Results are built in a skip list, as in Redis (a stored one may become a listpack).
    let mut result = ZSet::new();
    result.set_skiplist_encoding();
    let mut cardinality = 0usize;
    match op {
        SetOp::Union => {
            let mut acc: IndexMap<&[u8], f64> = IndexMap::new();
            for &(src, weight) in &sources {
                src.for_each(|member, score| {
                    let mut value = weight * score;
                    if value.is_nan() {
                        value = 0.0;
                    }
                    match acc.get_mut(member) {
                        Some(total) => aggregate.apply(total, value),
                        None => {
                            acc.insert(member, value);
                        }
                    }
                    true
                });
            }
            for (member, score) in acc {
                result.insert(member, score);
            }
        }
        SetOp::Inter => {
            if let Some((&(head, head_weight), rest)) = sources.split_first() {
                head.for_each(|member, score| {
                    let mut total = head_weight * score;
                    if total.is_nan() {
                        total = 0.0;
                    }
                    for &(src, weight) in rest {
                        match src.score(member) {
                            Some(s) => aggregate.apply(&mut total, weight * s),
                            None => return true,
                        }
                    }
                    if card_only {
                        cardinality += 1;
                        return limit == 0 || cardinality < limit;
                    }
                    result.insert(member, total);
                    true
                });
            }
        }
        SetOp::Diff => {
            if let Some((&(head, _), rest)) = sources.split_first() {
                head.for_each(|member, score| {
                    if rest.iter().all(|(src, _)| src.score(member).is_none()) {
                        result.insert(member, score);
                    }
                    true
                });
            }
        }
    }
    if let Some(dst) = dst {
        store_result(ctx, dst, result);
    } else if card_only {
        ctx.out.int(i64::try_from(cardinality).unwrap_or(i64::MAX));
    } else {
        emit(ctx.out, result.iter(), result.len(), withscores);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZSCAN.

fn zscan(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&a[2])?;
    let (z, out) = read_zset(ctx, &a[1])?;
    let Some(z) = z else {
        empty_scan(out);
        return Ok(());
    };
    let ScanOptions { pattern, count } = parse_scan_options(&a[3..])?;
    let keep = |member: &[u8]| pattern.is_none_or(|p| glob_match(p, member, false));
    let mut found: Vec<(&[u8], f64)> = Vec::new();
    let next = if z.is_listpack() {
        // Small sets come back whole and in order, as Redis's listpack encoding does.
        found.extend(z.iter().filter(|(m, _)| keep(m)));
        0
    } else {
        Db::scan_indexes(z.len(), cursor, count, |i| {
            if let Some((m, s)) = z.get_by_index(i) {
                if keep(m) {
                    found.push((m, s));
                }
            }
        })
    };
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(found.len() * 2);
    for (member, score) in found {
        out.bulk(member);
        out.bulk(format_double(score).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! RESP3 reply shapes, driven through `cmd::execute` with a RESP3 client (HELLO lives in
    //! another part of the server).

    use super::*;
    use crate::cmd::{execute, CallMode, Outcome};
    use crate::config::Config;
    use crate::protocol::Resp;
    use crate::server::client::{Client, Peer};
    use crate::server::state::ServerState;

    fn server(resp: Resp) -> ServerState {
        let mut srv = ServerState::new(Config::default());
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let addr = "127.0.0.1:1".parse().unwrap_or_else(|_| unreachable!());
        let mut client = Client::new(1, Peer::Tcp { addr, local: addr }, -1, true, tx);
        client.resp = resp;
        srv.clients.insert(1, client);
        srv
    }

    fn run(srv: &mut ServerState, line: &str) -> String {
        let args = line
            .split(' ')
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        let mut out = Reply::new(srv.clients[&1].resp);
        let outcome = execute(srv, 1, &mut out, args);
        assert!(matches!(outcome, Outcome::Continue), "{line} blocked");
        String::from_utf8_lossy(&out.buf).into_owned()
    }

    #[test]
    fn resp3_shapes() {
        let mut srv = server(Resp::V3);
        let s = &mut srv;
        assert_eq!(run(s, "ZADD z 1 a 2 b 3 c"), ":3\r\n");
        assert_eq!(run(s, "ZSCORE z a"), ",1\r\n");
        assert_eq!(run(s, "ZSCORE z x"), "_\r\n");
        assert_eq!(run(s, "ZMSCORE z a x"), "*2\r\n,1\r\n_\r\n");
        assert_eq!(run(s, "ZRANK z x"), "_\r\n");
        assert_eq!(
            run(s, "ZRANGE z 0 1 WITHSCORES"),
            "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n"
        );
        assert_eq!(run(s, "ZRANGE z 0 1"), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(
            run(s, "ZREVRANGEBYSCORE z +inf (2 WITHSCORES"),
            "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"
        );
        assert_eq!(
            run(s, "ZUNION 1 z WITHSCORES"),
            "*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n"
        );
        assert_eq!(
            run(s, "ZRANDMEMBER z 5 WITHSCORES"),
            "*3\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\na\r\n,1\r\n"
        );
        assert_eq!(run(s, "ZRANDMEMBER nokey"), "_\r\n");
        assert_eq!(run(s, "ZINCRBY z 0.5 a"), ",1.5\r\n");
        assert_eq!(run(s, "ZADD z NX INCR 1 a"), "_\r\n");
        assert_eq!(run(s, "ZPOPMIN z"), "*2\r\n$1\r\na\r\n,1.5\r\n");
        assert_eq!(run(s, "ZPOPMIN z 1"), "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
        assert_eq!(
            run(s, "ZMPOP 1 z MAX COUNT 9"),
            "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"
        );
        assert_eq!(run(s, "ZMPOP 1 z MAX"), "_\r\n");
        assert_eq!(run(s, "ZADD z -inf a +inf b"), ":2\r\n");
        assert_eq!(
            run(s, "BZPOPMIN z 0"),
            "*3\r\n$1\r\nz\r\n$1\r\na\r\n,-inf\r\n"
        );
        assert_eq!(
            run(s, "BZMPOP 0 1 z MIN"),
            "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,inf\r\n"
        );
        assert_eq!(run(s, "ZADD z 1.5 a"), ":1\r\n");
        assert_eq!(
            run(s, "ZSCAN z 0"),
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$3\r\n1.5\r\n"
        );
    }

    #[test]
    fn plain_sets_are_sources_with_score_one() {
        // SADD belongs to another part of the server; put the set in the keyspace directly.
        let mut srv = server(Resp::V2);
        let set: crate::db::set::Set = [b"a", b"b", b"c"].into_iter().collect();
        srv.dbs[0].set(b"s", Value::Set(Box::new(set)));
        let s = &mut srv;
        assert_eq!(run(s, "ZADD z 2 a 5 d"), ":2\r\n");
        assert_eq!(
            run(s, "ZUNION 2 s z WITHSCORES"),
            "*8\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n1\r\n\
             $1\r\na\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n5\r\n"
        );
        assert_eq!(
            run(s, "ZINTER 2 s z WEIGHTS 3 1 WITHSCORES"),
            "*2\r\n$1\r\na\r\n$1\r\n5\r\n"
        );
        assert_eq!(
            run(s, "ZDIFF 2 s z WITHSCORES"),
            "*4\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n1\r\n"
        );
        assert_eq!(run(s, "ZINTERCARD 2 s z"), ":1\r\n");
        assert_eq!(run(s, "ZUNIONSTORE out 2 s z AGGREGATE MAX"), ":4\r\n");
        assert_eq!(
            run(s, "ZRANGE out 0 -1 WITHSCORES"),
            "*8\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n1\r\n\
             $1\r\na\r\n$1\r\n2\r\n$1\r\nd\r\n$1\r\n5\r\n"
        );
        assert!(run(s, "ZRANGE s 0 -1").starts_with("-WRONGTYPE"));
    }

    #[test]
    fn pops_propagate_as_zpop() {
        let mut srv = server(Resp::V2);
        let before = srv.stats.propagated;
        assert_eq!(run(&mut srv, "ZADD z 1 a 2 b 3 c"), ":3\r\n");
        assert_eq!(srv.stats.propagated, before + 1);
        let args = |line: &str| -> Vec<Vec<u8>> {
            line.split(' ').map(|s| s.as_bytes().to_vec()).collect()
        };
        assert_eq!(pop_propagation(b"z", false, None), args("ZPOPMIN z"));
        assert_eq!(pop_propagation(b"z", true, Some(2)), args("ZPOPMAX z 2"));
        // Nothing changed, nothing propagated.
        assert_eq!(run(&mut srv, "ZADD z 1 a"), ":0\r\n");
        assert_eq!(run(&mut srv, "ZMPOP 1 nokey MIN"), "*-1\r\n");
        assert_eq!(srv.stats.propagated, before + 1);
        assert_eq!(
            run(&mut srv, "BZPOPMIN z 0"),
            "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        assert_eq!(srv.stats.propagated, before + 2);
    }

    #[test]
    fn blocking_pop_inside_exec_does_not_block() {
        // MULTI belongs to another part of the server; run the command as EXEC would.
        let mut srv = server(Resp::V2);
        for line in ["BZPOPMIN nokey 0", "BZMPOP 0 1 nokey MIN"] {
            let args: Vec<Bytes> = line
                .split(' ')
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect();
            let spec = crate::cmd::resolve(&args).unwrap_or_else(|e| panic!("{e}"));
            let mut out = Reply::new(Resp::V2);
            let outcome = crate::cmd::call(&mut srv, 1, &mut out, spec, &args, CallMode::InExec);
            assert!(matches!(outcome, Outcome::Continue));
            assert_eq!(out.buf, b"*-1\r\n");
        }
    }

    #[test]
    fn strtod_rules() {
        assert_eq!(strtod_whole(b""), Some(0.0));
        assert_eq!(strtod_whole(b" 1"), Some(1.0));
        assert_eq!(strtod_whole(b"1e999"), Some(f64::INFINITY));
        assert_eq!(strtod_whole(b"-1e999"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod_whole(b"0x10"), Some(16.0));
        assert_eq!(strtod_whole(b"1\0junk"), Some(1.0));
        assert_eq!(strtod_whole(b" "), None);
        assert_eq!(strtod_whole(b"nan"), None);
        assert_eq!(strtod_whole(b"1 "), None);
        assert_eq!(strtod_whole(b"abc"), None);
    }

    #[test]
    fn windows() {
        assert_eq!(
            Window::by_index(0, -1, 3, false),
            Window {
                rank: 0,
                n: 3,
                rev: false
            }
        );
        assert_eq!(
            Window::by_index(0, 0, 3, true),
            Window {
                rank: 2,
                n: 1,
                rev: true
            }
        );
        assert_eq!(Window::by_index(i64::MIN, i64::MIN, 3, false).n, 0);
        assert_eq!(Window::by_index(5, 10, 3, false).n, 0);
        assert_eq!(Window::limited(2, 5, 1, -1, false).rank, 3);
        assert_eq!(Window::limited(2, 5, 1, -1, true).rank, 3);
        assert_eq!(Window::limited(2, 5, -1, 2, false).n, 0);
        assert_eq!(Window::limited(2, 5, 0, 2, true).n, 2);
    }
}
