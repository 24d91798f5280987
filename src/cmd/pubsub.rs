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
fn container(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
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

/// In-process clients for the unit tests of the pub/sub and transaction commands: a server
/// state, clients registered in it with their push channels, and a way to run a command as one
/// of them and get the exact reply bytes. It covers what a socket test cannot reach in this
/// build (RESP3 before HELLO exists, keys with a TTL set directly).
#[cfg(test)]
pub(crate) mod harness {
    use bytes::Bytes;
    use tokio::sync::mpsc;

    use crate::cmd::execute;
    use crate::config::Config;
    use crate::protocol::{Reply, Resp};
    use crate::server::client::{Client, ClientId, Peer};
    use crate::server::state::ServerState;

    /// A client of the test server and the receiving end of its pushed messages.
    pub(crate) struct TestClient {
        /// Its id.
        pub(crate) id: ClientId,
        /// What PUBLISH sent it through its connection's channel.
        pub(crate) pushed: mpsc::UnboundedReceiver<Vec<u8>>,
    }

    impl TestClient {
        /// Everything pushed so far, concatenated, as text.
        pub(crate) fn take_pushed(&mut self) -> String {
            let mut all = Vec::new();
            while let Ok(msg) = self.pushed.try_recv() {
                all.extend_from_slice(&msg);
            }
            String::from_utf8_lossy(&all).into_owned()
        }
    }

    /// A fresh server state with default configuration.
    pub(crate) fn server() -> ServerState {
        ServerState::new(Config::default())
    }

    /// Registers a client speaking `resp`.
    pub(crate) fn connect(srv: &mut ServerState, resp: Resp) -> TestClient {
        let id = srv.next_client_id;
        srv.next_client_id += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        let peer = Peer::Unix {
            path: String::new(),
        };
        let mut client = Client::new(id, peer, -1, true, tx);
        client.resp = resp;
        srv.clients.insert(id, client);
        TestClient { id, pushed: rx }
    }

    /// Runs one command as client `id`; returns the reply bytes as text.
    pub(crate) fn run(srv: &mut ServerState, id: ClientId, args: &[&str]) -> String {
        let resp = srv.clients.get(&id).map_or(Resp::V2, |c| c.resp);
        let mut out = Reply::new(resp);
        let args = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        execute(srv, id, &mut out, args);
        String::from_utf8_lossy(&out.buf).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::harness::{connect, run, server};
    use crate::protocol::Resp;

    #[test]
    fn resp3_confirmations_are_pushes() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V3);
        assert_eq!(
            run(&mut srv, a.id, &["unsubscribe"]),
            ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"
        );
        assert_eq!(
            run(&mut srv, a.id, &["punsubscribe"]),
            ">3\r\n$12\r\npunsubscribe\r\n_\r\n:0\r\n"
        );
        assert_eq!(
            run(&mut srv, a.id, &["subscribe", "x"]),
            ">3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"
        );
        assert_eq!(
            run(&mut srv, a.id, &["psubscribe", "x*"]),
            ">3\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n:2\r\n"
        );
        // A RESP3 client may run any command while subscribed.
        assert_eq!(run(&mut srv, a.id, &["get", "k"]), "_\r\n");
        assert_eq!(
            run(&mut srv, a.id, &["unsubscribe"]),
            ">3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:1\r\n"
        );
        assert_eq!(
            run(&mut srv, a.id, &["unsubscribe"]),
            ">3\r\n$11\r\nunsubscribe\r\n_\r\n:1\r\n"
        );
        assert_eq!(
            run(&mut srv, a.id, &["punsubscribe"]),
            ">3\r\n$12\r\npunsubscribe\r\n$2\r\nx*\r\n:0\r\n"
        );
    }

    #[test]
    fn own_messages_precede_the_publish_reply() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V3);
        let mut b = connect(&mut srv, Resp::V3);
        let mut c = connect(&mut srv, Resp::V2);
        run(&mut srv, a.id, &["subscribe", "x"]);
        run(&mut srv, a.id, &["psubscribe", "x*"]);
        run(&mut srv, b.id, &["psubscribe", "x*"]);
        run(&mut srv, c.id, &["subscribe", "x"]);
        // Redis writes the publisher's own messages into its output buffer before the reply.
        assert_eq!(
            run(&mut srv, a.id, &["publish", "x", "m1"]),
            concat!(
                ">3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2\r\nm1\r\n",
                ">4\r\n$8\r\npmessage\r\n$2\r\nx*\r\n$1\r\nx\r\n$2\r\nm1\r\n",
                ":4\r\n"
            )
        );
        // Others get theirs through the push channel, each in its own protocol.
        assert_eq!(
            b.take_pushed(),
            ">4\r\n$8\r\npmessage\r\n$2\r\nx*\r\n$1\r\nx\r\n$2\r\nm1\r\n"
        );
        assert_eq!(
            c.take_pushed(),
            "*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2\r\nm1\r\n"
        );
    }

    #[test]
    fn publish_inside_exec_lands_inside_the_array() {
        // Redis 7.0 writes the publisher's own message where it is produced: inside EXEC's
        // array, before PUBLISH's own element (redis-server 7.0.15 does exactly this).
        let mut srv = server();
        let a = connect(&mut srv, Resp::V3);
        run(&mut srv, a.id, &["subscribe", "x"]);
        run(&mut srv, a.id, &["multi"]);
        run(&mut srv, a.id, &["publish", "x", "m"]);
        run(&mut srv, a.id, &["set", "k", "v"]);
        assert_eq!(
            run(&mut srv, a.id, &["exec"]),
            "*2\r\n>3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$1\r\nm\r\n:1\r\n+OK\r\n"
        );
    }

    #[test]
    fn resp2_subscribe_inside_exec_then_context_applies() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V2);
        run(&mut srv, a.id, &["multi"]);
        run(&mut srv, a.id, &["subscribe", "c"]);
        run(&mut srv, a.id, &["publish", "c", "m"]);
        run(&mut srv, a.id, &["ping"]);
        assert_eq!(
            run(&mut srv, a.id, &["exec"]),
            concat!(
                "*3\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
                "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n:1\r\n",
                "*2\r\n$4\r\npong\r\n$0\r\n\r\n"
            )
        );
        assert!(run(&mut srv, a.id, &["get", "x"]).starts_with("-ERR Can't execute 'get'"));
    }

    #[test]
    fn disconnect_and_reset_drop_every_subscription() {
        let mut srv = server();
        let a = connect(&mut srv, Resp::V2);
        let b = connect(&mut srv, Resp::V2);
        run(&mut srv, a.id, &["subscribe", "x", "y"]);
        run(&mut srv, a.id, &["psubscribe", "p*"]);
        run(&mut srv, b.id, &["subscribe", "x"]);
        srv.remove_client(a.id);
        assert_eq!(
            run(&mut srv, b.id, &["unsubscribe", "x"]),
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:0\r\n"
        );
        assert!(srv.pubsub.channels.is_empty());
        assert!(srv.pubsub.patterns.is_empty());

        let c = connect(&mut srv, Resp::V2);
        run(&mut srv, c.id, &["subscribe", "x"]);
        run(&mut srv, c.id, &["psubscribe", "p*"]);
        let pubsub = &mut srv.pubsub;
        if let Some(client) = srv.clients.get_mut(&c.id) {
            pubsub.drop_client_subscriptions(client);
            assert_eq!(client.subscription_count(), 0);
        }
        assert_eq!(srv.pubsub.channel_count(), 0);
        assert_eq!(srv.pubsub.pattern_count(), 0);
    }
}
