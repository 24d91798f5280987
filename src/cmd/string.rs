//! String commands. Placeholder with GET and plain SET: the strings work owns this file.

use bytes::Bytes;

use super::ctx::Ctx;
use super::error::{CmdResult, WRONGTYPE};
use super::spec::{command, flags::*, CommandSpec};
use crate::db::Value;

/// The string commands.
pub const COMMANDS: &[CommandSpec] = &[
    command(
        "get",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Returns the string value of a key.",
        get,
    ),
    command(
        "set",
        -3,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Sets the string value of a key.",
        set,
    ),
];

fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match ctx.lookup_with_out(&args[1]) {
        (Some(Value::Str(v)), out) => out.bulk(v),
        (None, out) => out.null(),
        (Some(_), _) => return Err(WRONGTYPE),
    }
    Ok(())
}

fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.db().set(&args[1], Value::Str(args[2].to_vec()));
    ctx.modified(&args[1]);
    ctx.out.ok();
    Ok(())
}
