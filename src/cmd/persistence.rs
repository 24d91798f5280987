//! Persistence commands: BGREWRITEAOF, BGSAVE, SAVE and LASTSAVE, with Redis 7.0's replies
//! (reference redis-aof.md §4.1). The work is in `server::rewrite` and `server::rdbsave`.

use bytes::Bytes;

use super::ctx::Ctx;
use super::error::{CmdResult, SYNTAX};
use super::spec::{command, flags::*, CommandSpec};
use super::{args, CmdError};
use crate::server::background::ChildKind;
use crate::server::rdbsave;
use crate::server::rewrite::{self, StartError, Trigger};

/// The persistence commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk.",
        bgrewriteaof,
    ),
    command(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        bgsave,
    ),
    command(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        save,
    ),
    command(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        lastsave,
    ),
];

/// Redis 7.0's reply when a rewrite cannot start.
const CANT_REWRITE: &str = "ERR Can't execute an AOF background rewriting. Please check the \
                            server logs for more information.";

fn bgrewriteaof(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    let srv = &mut *ctx.srv;
    if srv.background.running(ChildKind::AofRewrite) {
        return Err(CmdError::fixed(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    if srv.background.busy() || ctx.in_exec {
        srv.rewrite.scheduled = true;
        srv.rewrite.consecutive_failures = 0;
        ctx.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    match rewrite::start(srv, Trigger::Manual) {
        Ok(()) => {
            ctx.out
                .simple("Background append only file rewriting started");
            Ok(())
        }
        Err(StartError::NoSpace(why)) => Err(CmdError::new(format!(
            "ERR Can't execute an AOF background rewriting. {why}."
        ))),
        Err(_) => Err(CmdError::fixed(CANT_REWRITE)),
    }
}

fn bgsave(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let schedule = match a.get(1) {
        None => false,
        Some(arg) if a.len() == 2 && args::is(arg, "schedule") => true,
        Some(_) => return Err(SYNTAX),
    };
    let srv = &mut *ctx.srv;
    if srv.background.running(ChildKind::RdbSave) {
        return Err(CmdError::fixed("ERR Background save already in progress"));
    }
    if srv.background.busy() || ctx.in_exec {
        if schedule || ctx.in_exec {
            srv.rdb.scheduled = true;
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::fixed(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE \
             SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ));
    }
    match rdbsave::start_background(srv) {
        Ok(()) => {
            ctx.out.simple("Background saving started");
            Ok(())
        }
        Err(_) => Err(CmdError::fixed("ERR")),
    }
}

fn save(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    if ctx.srv.background.running(ChildKind::RdbSave) {
        return Err(CmdError::fixed("ERR Background save already in progress"));
    }
    ctx.srv.rdb.saves += 1;
    match rdbsave::save_here(ctx.srv) {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        Err(_) => Err(CmdError::fixed("ERR")),
    }
}

fn lastsave(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.srv.rdb.last_save);
    Ok(())
}
