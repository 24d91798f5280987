//! Connection commands: PING, ECHO, QUIT, SELECT (and, from the connection work, HELLO, AUTH,
//! RESET, CLIENT).

use bytes::Bytes;

use super::ctx::Ctx;
use super::error::{CmdResult, DB_INDEX_OUT_OF_RANGE};
use super::spec::{command, flags::*, CommandSpec};
use super::{args, CmdError};

/// The connection commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "ping",
        -1,
        FAST,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        ping,
    ),
    command(
        "echo",
        2,
        FAST,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Returns the given string.",
        echo,
    ),
    command(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Closes the connection.",
        quit,
    ),
    command(
        "select",
        2,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Changes the selected database.",
        select,
    ),
];

fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return Err(super::error::wrong_arity("ping"));
    }
    let subscribed = ctx.client().subscription_count() > 0;
    if subscribed && !ctx.out.is_resp3() {
        // In RESP2 pub/sub mode PING answers with a message-shaped array.
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).map_or(&b""[..], |a| &a[..]));
        return Ok(());
    }
    match args.get(1) {
        Some(msg) => ctx.out.bulk(msg),
        None => ctx.out.simple("PONG"),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    ctx.close_after_reply = true;
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let index = args::int(&a[1])
        .map_err(|_| CmdError::fixed("ERR value is not an integer or out of range"))?;
    if index < 0 || index as usize >= ctx.srv.dbs.len() {
        return Err(DB_INDEX_OUT_OF_RANGE);
    }
    ctx.client().db = index as usize;
    ctx.db = index as usize;
    ctx.out.ok();
    Ok(())
}
