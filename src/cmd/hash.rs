//! The hash command family (HSET ... HSCAN) with Redis 7.0's replies and errors, plus the pieces
//! HSCAN/SSCAN and the random-pick commands of both hashes and sets share (cursor and option
//! parsing, unique random sampling).
//!
//! A hash is a `Value::Hash` (`db::hash::Hash`), which tracks the encoding Redis would give it
//! and keeps a listpack's order. What clients see of a listpack here: HSCAN answers it whole
//! with cursor 0, and HRANDFIELD's sparse unique sample comes in listpack order.

use super::args;
use super::ctx::Ctx;
use super::error::WRONGTYPE;
use super::error::{wrong_arity, CmdError, CmdResult, NOT_FLOAT, OVERFLOW, SYNTAX};
use super::random::{random_count, sample_unique, MAX_RANDOM_REPLY};
use super::scan::{empty_scan, parse_cursor, parse_scan_options, scan_reply};
use super::spec::{command, flags::*, CommandSpec};
use crate::db::glob::glob_match;
use crate::db::hash::Hash;
use crate::db::{Db, Value};
use crate::numeric::{ld_add, LdError};
use crate::protocol::parser::parse_i64;
use crate::protocol::Reply;
use crate::server::state::random_index;
use bytes::Bytes;

/// The hash commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "hset",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Creates or modifies the value of a field in a hash.",
        hset,
    ),
    command(
        "hsetnx",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Sets the value of a field in a hash only when the field doesn't exist.",
        hsetnx,
    ),
    command(
        "hmset",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Sets the values of multiple fields.",
        hmset,
    ),
    command(
        "hget",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the value of a field in a hash.",
        hget,
    ),
    command(
        "hmget",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the values of all fields in a hash.",
        hmget,
    ),
    command(
        "hgetall",
        2,
        READONLY,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns all fields and values in a hash.",
        hgetall,
    ),
    command(
        "hdel",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
        hdel,
    ),
    command(
        "hlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the number of fields in a hash.",
        hlen,
    ),
    command(
        "hexists",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Determines whether a field exists in a hash.",
        hexists,
    ),
    command(
        "hkeys",
        2,
        READONLY,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns all fields in a hash.",
        hkeys,
    ),
    command(
        "hvals",
        2,
        READONLY,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns all values in a hash.",
        hvals,
    ),
    command(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
        hincrby,
    ),
    command(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.6.0",
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
        hincrbyfloat,
    ),
    command(
        "hstrlen",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "3.2.0",
        "Returns the length of the value of a field.",
        hstrlen,
    ),
    command(
        "hrandfield",
        -2,
        READONLY,
        (1, 1, 1),
        "hash",
        "6.2.0",
        "Returns one or more random fields from a hash.",
        hrandfield,
    ),
    command(
        "hscan",
        -3,
        READONLY,
        (1, 1, 1),
        "hash",
        "2.8.0",
        "Iterates over fields and values of a hash.",
        hscan,
    ),
];

/// Reads `key` as a hash: `Ok(None)` if missing, WRONGTYPE if it holds something else. Also hands
/// out the reply buffer so the value can be encoded without copying.
fn read_hash<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<(Option<&'c Hash>, &'c mut Reply), CmdError> {
    match ctx.lookup_with_out(key) {
        (None, out) => Ok((None, out)),
        (Some(Value::Hash(h)), out) => Ok((Some(&**h), out)),
        (Some(_), _) => Err(WRONGTYPE),
    }
}

/// Reads `key` as a hash for writing: `Ok(None)` if missing, WRONGTYPE if it holds something else.
fn write_hash<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut Hash>, CmdError> {
    match ctx.lookup_mut(key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(&mut **h)),
        Some(_) => Err(WRONGTYPE),
    }
}

/// The hash at `key`, created empty if missing; the caller must add a field to it.
fn hash_or_create<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<&'c mut Hash, CmdError> {
    match ctx.lookup_or_insert(key, || Value::Hash(Box::default())) {
        Value::Hash(h) => Ok(&mut **h),
        _ => Err(WRONGTYPE),
    }
}

fn hset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let created = set_pairs(ctx, args, "hset")?;
    ctx.out.int(created);
    Ok(())
}

fn hmset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_pairs(ctx, args, "hmset")?;
    ctx.out.ok();
    Ok(())
}

/// HSET/HMSET: stores every field/value pair; returns how many fields are new.
fn set_pairs(ctx: &mut Ctx<'_>, args: &[Bytes], name: &str) -> Result<i64, CmdError> {
    // Name, key, then pairs: an odd total means a field without a value.
    if !args.len().is_multiple_of(2) {
        return Err(wrong_arity(name));
    }
    let h = hash_or_create(ctx, &args[1])?;
    let mut created = 0;
    for pair in args[2..].chunks_exact(2) {
        if h.put(&pair[0], &pair[1]) {
            created += 1;
        }
    }
    ctx.modified(&args[1]);
    Ok(created)
}

fn hsetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if write_hash(ctx, &args[1])?.is_some_and(|h| h.contains_key(&args[2][..])) {
        ctx.out.int(0);
        return Ok(());
    }
    hash_or_create(ctx, &args[1])?.put(&args[2], &args[3]);
    ctx.modified(&args[1]);
    ctx.out.int(1);
    Ok(())
}

fn hget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (h, out) = read_hash(ctx, &args[1])?;
    match h.and_then(|h| h.get(&args[2][..])) {
        Some(v) => out.bulk(v),
        None => out.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (h, out) = read_hash(ctx, &args[1])?;
    out.array(args.len() - 2);
    for field in &args[2..] {
        match h.and_then(|h| h.get(&field[..])) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    }
    Ok(())
}

fn hgetall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (h, out) = read_hash(ctx, &args[1])?;
    let Some(h) = h else {
        out.map(0);
        return Ok(());
    };
    out.map(h.len());
    for (f, v) in h {
        out.bulk(f);
        out.bulk(v);
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (h, out) = read_hash(ctx, &args[1])?;
    let Some(h) = h else {
        out.array(0);
        return Ok(());
    };
    out.array(h.len());
    for f in h.keys() {
        out.bulk(f);
    }
    Ok(())
}

fn hvals(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (h, out) = read_hash(ctx, &args[1])?;
    let Some(h) = h else {
        out.array(0);
        return Ok(());
    };
    out.array(h.len());
    for v in h.values() {
        out.bulk(v);
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(h) = write_hash(ctx, &args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for field in &args[2..] {
        if h.remove(field) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let emptied = h.is_empty();
    if emptied {
        ctx.db().remove(&args[1]);
    }
    if deleted > 0 {
        ctx.modified(&args[1]);
    }
    ctx.out.int(deleted);
    Ok(())
}

fn hlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (h, out) = read_hash(ctx, &args[1])?;
    out.int(h.map_or(0, |h| h.len() as i64));
    Ok(())
}

fn hexists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (h, out) = read_hash(ctx, &args[1])?;
    out.int(i64::from(h.is_some_and(|h| h.contains_key(&args[2][..]))));
    Ok(())
}

fn hstrlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (h, out) = read_hash(ctx, &args[1])?;
    out.int(
        h.and_then(|h| h.get(&args[2][..]))
            .map_or(0, |v| v.len() as i64),
    );
    Ok(())
}

fn hincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let incr = args::int(&args[3])?;
    let current = match write_hash(ctx, &args[1])?.and_then(|h| h.get(&args[2][..])) {
        Some(v) => parse_i64(v).ok_or(CmdError::fixed("ERR hash value is not an integer"))?,
        None => 0,
    };
    let value = current.checked_add(incr).ok_or(OVERFLOW)?;
    let mut text = itoa::Buffer::new();
    hash_or_create(ctx, &args[1])?.put(&args[2], text.format(value).as_bytes());
    ctx.modified(&args[1]);
    ctx.out.int(value);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // Adding the increment to 0 validates it as Redis does (`strtold`): an infinite one is a
    // distinct error, checked before the key's type.
    match ld_add(b"0", &args[3]) {
        Ok(_) => {}
        Err(LdError::NanOrInfinity) => {
            return Err(CmdError::fixed("ERR value is NaN or Infinity"));
        }
        Err(_) => return Err(NOT_FLOAT),
    }
    let current = write_hash(ctx, &args[1])?.and_then(|h| h.get(&args[2][..]));
    let sum = match ld_add(current.map_or(&b"0"[..], |v| &v[..]), &args[3]) {
        Ok(sum) => sum,
        Err(LdError::BadValue) => return Err(CmdError::fixed("ERR hash value is not a float")),
        Err(LdError::BadIncrement) => return Err(NOT_FLOAT),
        Err(LdError::NanOrInfinity) => {
            return Err(CmdError::fixed(
                "ERR increment would produce NaN or Infinity",
            ))
        }
    };
    hash_or_create(ctx, &args[1])?.put(&args[2], &sum);
    ctx.modified(&args[1]);
    // Replicas and the AOF get the result, so float formatting can never make them diverge.
    ctx.propagate(vec![
        b"HSET".to_vec(),
        args[1].to_vec(),
        args[2].to_vec(),
        sum.clone(),
    ]);
    ctx.out.bulk(&sum);
    Ok(())
}

fn hrandfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() >= 3 {
        let count = random_count(&args[2])?;
        let with_values = match args.len() {
            3 => false,
            4 if args::is(&args[3], "withvalues") => true,
            _ => return Err(SYNTAX),
        };
        // Redis doubles the count for the flat RESP2 reply, so it bounds it first.
        if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
            return Err(CmdError::fixed("ERR value is out of range"));
        }
        return hrandfield_count(ctx, &args[1], count, with_values);
    }
    let (h, out) = read_hash(ctx, &args[1])?;
    match h.filter(|h| !h.is_empty()) {
        Some(h) => match h.get_index(random_index(h.len())) {
            Some((f, _)) => out.bulk(f),
            None => out.null(),
        },
        None => out.null(),
    }
    Ok(())
}

/// HRANDFIELD with a count: distinct fields for a positive count, repeats allowed for a
/// negative one. With values, RESP2 gets a flat list and RESP3 a list of pairs.
fn hrandfield_count(ctx: &mut Ctx<'_>, key: &[u8], count: i64, with_values: bool) -> CmdResult {
    let (h, out) = read_hash(ctx, key)?;
    let Some(h) = h.filter(|h| !h.is_empty()) else {
        out.array(0);
        return Ok(());
    };
    let unique = count >= 0;
    let count = count.unsigned_abs();
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    let resp3 = out.is_resp3();
    let header = |out: &mut Reply, n: usize| {
        if with_values && !resp3 {
            out.array(n.saturating_mul(2));
        } else {
            out.array(n);
        }
    };
    let emit = |out: &mut Reply, index: usize| {
        if let Some((f, v)) = h.get_index(index) {
            if with_values && resp3 {
                out.array(2);
            }
            out.bulk(f);
            if with_values {
                out.bulk(v);
            }
        }
    };
    let len = h.len();
    if !unique || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return Err(CmdError::fixed("ERR value is out of range"));
        }
        // Bounded by MAX_RANDOM_REPLY just above, so it fits a usize.
        let n = count as usize;
        header(out, n);
        for _ in 0..n {
            emit(out, random_index(len));
        }
    } else if count >= len as u64 {
        header(out, len);
        for index in 0..len {
            emit(out, index);
        }
    } else {
        // count < len, so it fits a usize.
        let mut picked = sample_unique(len, count as usize);
        if h.is_listpack() && count.saturating_mul(3) <= len as u64 {
            // Redis samples a small count from a listpack in one pass, so the picks come in
            // listpack order (from a hash table, or for a count near the size, in no order).
            picked.sort_unstable();
        }
        header(out, picked.len());
        for index in picked {
            emit(out, index);
        }
    }
    Ok(())
}

fn hscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let (h, out) = read_hash(ctx, &args[1])?;
    let Some(h) = h else {
        empty_scan(out);
        return Ok(());
    };
    let options = parse_scan_options(&args[3..])?;
    let matches = |f: &[u8]| options.pattern.is_none_or(|p| glob_match(p, f, false));
    if h.is_listpack() {
        // Redis walks a listpack whole, whatever the cursor and COUNT.
        let n = h.keys().filter(|f| matches(f)).count();
        let pairs = h.iter().filter(|(f, _)| matches(f));
        scan_reply(out, 0, n * 2, pairs.flat_map(|(f, v)| [&f[..], &v[..]]));
        return Ok(());
    }
    let mut picked = Vec::new();
    let next = Db::scan_indexes(h.len(), cursor, options.count, |i| {
        if let Some((f, v)) = h.get_index(i) {
            if matches(f) {
                picked.push((&f[..], &v[..]));
            }
        }
    });
    scan_reply(
        out,
        next,
        picked.len() * 2,
        picked.into_iter().flat_map(|(f, v)| [f, v]),
    );
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::Config;
    use crate::protocol::Resp;
    use crate::server::client::{Client, ClientId, Peer};
    use crate::server::state::ServerState;

    /// A server with one registered client speaking `resp`, for reply-shape tests without
    /// sockets (HELLO, which switches a connection to RESP3, belongs to another family).
    pub(in crate::cmd) fn server(resp: Resp) -> (ServerState, ClientId) {
        let mut srv = ServerState::new(Config::default());
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let peer = Peer::Unix {
            path: String::new(),
        };
        let mut client = Client::new(1, peer, -1, true, tx);
        client.resp = resp;
        srv.clients.insert(1, client);
        (srv, 1)
    }

    /// Runs one command and returns its reply as text.
    pub(in crate::cmd) fn run(srv: &mut ServerState, id: ClientId, args: &[&str]) -> String {
        let resp = srv.clients.get(&id).map_or(Resp::V2, |c| c.resp);
        let mut out = Reply::new(resp);
        let args = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        crate::cmd::execute(srv, id, &mut out, args);
        String::from_utf8_lossy(&out.buf).into_owned()
    }

    /// Runs a command's handler directly and returns what it asked to propagate and its dirty
    /// count (the AOF is not there yet to observe them end to end).
    pub(in crate::cmd) fn propagation(
        srv: &mut ServerState,
        id: ClientId,
        args: &[&str],
    ) -> (Vec<String>, u64) {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let Some(spec) = crate::cmd::lookup_command(&args[0]) else {
            panic!("no such command");
        };
        let mut out = Reply::new(Resp::V2);
        let mut ctx = Ctx::new(srv, id, &mut out);
        assert_eq!((spec.handler)(&mut ctx, &args), Ok(()));
        let commands = ctx
            .propagation
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|c| String::from_utf8_lossy(&c.join(&b' ')).into_owned())
            .collect();
        (commands, ctx.dirty)
    }

    #[test]
    fn hincrbyfloat_propagates_as_hset() {
        let (mut srv, id) = server(Resp::V2);
        let (cmds, dirty) = propagation(&mut srv, id, &["HINCRBYFLOAT", "h", "f", "0.1"]);
        assert_eq!((cmds, dirty), (vec!["HSET h f 0.1".to_string()], 1));
        let (cmds, _) = propagation(&mut srv, id, &["HINCRBYFLOAT", "h", "f", "0.2"]);
        assert_eq!(cmds, ["HSET h f 0.3"]);
    }

    #[test]
    fn resp3_reply_shapes() {
        let (mut srv, id) = server(Resp::V3);
        assert_eq!(
            run(&mut srv, id, &["HSET", "h", "a", "1", "b", "2"]),
            ":2\r\n"
        );
        assert_eq!(
            run(&mut srv, id, &["HGETALL", "h"]),
            "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        assert_eq!(run(&mut srv, id, &["HGETALL", "nokey"]), "%0\r\n");
        assert_eq!(run(&mut srv, id, &["HKEYS", "nokey"]), "*0\r\n");
        assert_eq!(run(&mut srv, id, &["HVALS", "nokey"]), "*0\r\n");
        assert_eq!(
            run(&mut srv, id, &["HKEYS", "h"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(run(&mut srv, id, &["HGET", "h", "zz"]), "_\r\n");
        assert_eq!(
            run(&mut srv, id, &["HMGET", "h", "a", "zz"]),
            "*2\r\n$1\r\n1\r\n_\r\n"
        );
        assert_eq!(run(&mut srv, id, &["HRANDFIELD", "nokey"]), "_\r\n");
        assert_eq!(run(&mut srv, id, &["HRANDFIELD", "nokey", "3"]), "*0\r\n");
        // With values, RESP3 nests each pair; the whole hash comes in storage order.
        assert_eq!(
            run(&mut srv, id, &["HRANDFIELD", "h", "5", "WITHVALUES"]),
            "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        let repeated = run(&mut srv, id, &["HRANDFIELD", "h", "-3", "WITHVALUES"]);
        assert!(repeated.starts_with("*3\r\n*2\r\n$1\r\n"), "{repeated}");
        assert_eq!(repeated.matches("*2\r\n").count(), 3, "{repeated}");
        let unique = run(&mut srv, id, &["HRANDFIELD", "h", "1", "WITHVALUES"]);
        assert!(unique.starts_with("*1\r\n*2\r\n"), "{unique}");
        assert_eq!(
            run(&mut srv, id, &["HSCAN", "h", "0"]),
            "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        assert_eq!(
            run(&mut srv, id, &["HINCRBYFLOAT", "h", "f", "1.5"]),
            "$3\r\n1.5\r\n"
        );
    }

    #[test]
    fn resp2_hrandfield_with_values_is_flat() {
        let (mut srv, id) = server(Resp::V2);
        run(&mut srv, id, &["HSET", "h", "a", "1"]);
        assert_eq!(
            run(&mut srv, id, &["HRANDFIELD", "h", "-2", "WITHVALUES"]),
            "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        assert_eq!(run(&mut srv, id, &["HGETALL", "nokey"]), "*0\r\n");
    }

    #[test]
    fn writes_are_counted_and_propagated() {
        let (mut srv, id) = server(Resp::V2);
        run(&mut srv, id, &["HSET", "h", "a", "1"]);
        let (dirty, propagated) = (srv.stats.dirty, srv.stats.propagated);
        assert_eq!(dirty, 1);
        // Failures and no-ops change nothing.
        run(&mut srv, id, &["HDEL", "h", "zz"]);
        run(&mut srv, id, &["HSETNX", "h", "a", "2"]);
        run(&mut srv, id, &["HINCRBY", "h", "a", "x"]);
        assert_eq!((srv.stats.dirty, srv.stats.propagated), (dirty, propagated));
        run(&mut srv, id, &["HINCRBYFLOAT", "h", "a", "0.5"]);
        assert_eq!(srv.stats.dirty, dirty + 1);
        assert_eq!(srv.stats.propagated, propagated + 1);
        run(&mut srv, id, &["HDEL", "h", "a"]);
        assert!(srv.dbs[0].is_empty());
    }
}
