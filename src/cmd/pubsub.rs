//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB.
//!
//! The registry and message delivery live in `server::pubsub`. Subscription confirmations are
//! pushes (`>3`) in RESP3 and three-element arrays in RESP2; the RESP2 restriction to pub/sub
//! commands while subscribed is enforced by `cmd::execute`.

use bytes::Bytes;

use super::ctx::Ctx;
use super::error::{wrong_arity, CmdError, CmdResult};
use super::spec::{command, flags::*, CommandSpec};
use crate::db::glob::glob_match;
use crate::protocol::Reply;
use crate::server::client::Client;
use crate::server::pubsub::PubSub;

/// The pub/sub commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "subscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Listen for messages published to the given channels",
        subscribe,
    ),
    command(
        "unsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Stop listening for messages posted to the given channels",
        unsubscribe,
    ),
    command(
        "psubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Listen for messages published to channels matching the given patterns",
        psubscribe,
    ),
    command(
        "punsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Stop listening for messages posted to channels matching the given patterns",
        punsubscribe,
    ),
    command(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Post a message to a channel",
        publish,
    ),
    command(
        "pubsub",
        -2,
        0,
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands",
        container,
    )
    .with_subcommands(PUBSUB_SUBCOMMANDS),
];

/// PUBSUB's subcommands.
const PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    command(
        "channels",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "List active channels",
        pubsub_channels,
    )
    .full("pubsub|channels"),
    command(
        "numsub",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "Get the count of subscribers for channels",
        pubsub_numsub,
    )
    .full("pubsub|numsub"),
    command(
        "numpat",
        2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "Get the count of unique patterns pattern subscriptions",
        pubsub_numpat,
    )
    .full("pubsub|numpat"),
    command(
        "shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "7.0.0",
        "List active shard channels",
        pubsub_shardchannels,
    )
    .full("pubsub|shardchannels"),
    command(
        "shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "7.0.0",
        "Get the count of subscribers for shard channels",
        pubsub_shardnumsub,
    )
    .full("pubsub|shardnumsub"),
    command(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "6.2.0",
        "Show helpful text about the different subcommands",
        pubsub_help,
    )
    .full("pubsub|help"),
];

/// PUBSUB HELP, line by line, as Redis 7.0 prints it.
const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// Writes one subscription confirmation: `[kind, name, count]`, a push in RESP3. `name` is
/// `None` for an UNSUBSCRIBE/PUNSUBSCRIBE without arguments from a client with nothing to drop.
fn confirm(out: &mut Reply, kind: &[u8], name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(kind);
    match name {
        Some(name) => out.bulk(name),
        None => out.null(),
    }
    out.int(i64::try_from(count).unwrap_or(i64::MAX));
}

/// The registry, the calling client and the reply buffer, borrowed together. `None` only if
/// the client is not registered, which cannot happen while it executes a command.
fn split<'c>(ctx: &'c mut Ctx<'_>) -> Option<(&'c mut PubSub, &'c mut Client, &'c mut Reply)> {
    let srv = &mut *ctx.srv;
    let client = srv.clients.get_mut(&ctx.id)?;
    Some((&mut srv.pubsub, client, &mut *ctx.out))
}

fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some((pubsub, client, out)) = split(ctx) else {
        return Ok(());
    };
    for channel in &args[1..] {
        pubsub.subscribe(client, channel);
        confirm(
            out,
            b"subscribe",
            Some(channel),
            client.subscription_count(),
        );
    }
    Ok(())
}

fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some((pubsub, client, out)) = split(ctx) else {
        return Ok(());
    };
    for pattern in &args[1..] {
        pubsub.psubscribe(client, pattern);
        confirm(
            out,
            b"psubscribe",
            Some(pattern),
            client.subscription_count(),
        );
    }
    Ok(())
}

fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some((pubsub, client, out)) = split(ctx) else {
        return Ok(());
    };
    if args.len() > 1 {
        for channel in &args[1..] {
            pubsub.unsubscribe(client, channel);
            confirm(
                out,
                b"unsubscribe",
                Some(channel),
                client.subscription_count(),
            );
        }
        return Ok(());
    }
    if client.channels.is_empty() {
        confirm(out, b"unsubscribe", None, client.subscription_count());
        return Ok(());
    }
    pubsub.unsubscribe_all(client, |channel, count| {
        confirm(out, b"unsubscribe", Some(channel), count);
    });
    Ok(())
}

fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some((pubsub, client, out)) = split(ctx) else {
        return Ok(());
    };
    if args.len() > 1 {
        for pattern in &args[1..] {
            pubsub.punsubscribe(client, pattern);
            confirm(
                out,
                b"punsubscribe",
                Some(pattern),
                client.subscription_count(),
            );
        }
        return Ok(());
    }
    if client.patterns.is_empty() {
        confirm(out, b"punsubscribe", None, client.subscription_count());
        return Ok(());
    }
    pubsub.punsubscribe_all(client, |pattern, count| {
        confirm(out, b"punsubscribe", Some(pattern), count);
    });
    Ok(())
}

fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // Nothing is marked dirty: PUBLISH changes no key and Redis never writes it to the AOF
    // (it is forced to replicas only, which aofd does not have).
    let srv = &*ctx.srv;
    let receivers = srv
        .pubsub
        .publish(&srv.clients, ctx.id, ctx.out, &args[1], &args[2]);
    ctx.out.int(i64::try_from(receivers).unwrap_or(i64::MAX));
    Ok(())
}

/// The PUBSUB container is only reached without a subcommand, which the arity check rejects
/// first; answer the same way should it ever be called.
fn container(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let _ = args;
    Err(wrong_arity("pubsub"))
}

/// `unknown subcommand or wrong number of arguments for '<sub>'. Try PUBSUB HELP.`
fn subcommand_syntax_error(args: &[Bytes]) -> CmdError {
    let sub = String::from_utf8_lossy(args.get(1).map_or(&b""[..], |a| &a[..]));
    let sub: String = sub.chars().take(128).collect();
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ))
}

fn pubsub_channels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(subcommand_syntax_error(args));
    }
    let pattern = args.get(2);
    let channels: Vec<&Vec<u8>> = ctx
        .srv
        .pubsub
        .channels
        .keys()
        .filter(|ch| pattern.is_none_or(|p| glob_match(p, ch, false)))
        .collect();
    ctx.out.array(channels.len());
    for channel in channels {
        ctx.out.bulk(channel);
    }
    Ok(())
}

fn pubsub_numsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // A flat array of channel, count pairs, in RESP3 too (Redis 7.0 does not use a map here).
    let channels = &args[2..];
    ctx.out.array(channels.len().saturating_mul(2));
    for channel in channels {
        let n = ctx.srv.pubsub.subscriber_count(channel);
        ctx.out.bulk(channel);
        ctx.out.int(i64::try_from(n).unwrap_or(i64::MAX));
    }
    Ok(())
}

fn pubsub_numpat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.srv.pubsub.pattern_count();
    ctx.out.int(i64::try_from(n).unwrap_or(i64::MAX));
    Ok(())
}

/// Shard channels (SSUBSCRIBE) are not implemented, so none is ever active: the answer is
/// always empty, which is what Redis answers when nobody has SSUBSCRIBEd.
fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(subcommand_syntax_error(args));
    }
    ctx.out.array(0);
    Ok(())
}

/// Every shard channel has no subscriber (see [`pubsub_shardchannels`]).
fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let channels = &args[2..];
    ctx.out.array(channels.len().saturating_mul(2));
    for channel in channels {
        ctx.out.bulk(channel);
        ctx.out.int(0);
    }
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.array(PUBSUB_HELP.len());
    for line in PUBSUB_HELP {
        ctx.out.simple(line);
    }
    Ok(())
}
