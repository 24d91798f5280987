//! CONFIG: GET, SET, RESETSTAT, REWRITE and HELP, with Redis 7.0's replies and error texts.
//!
//! Everything about individual parameters comes from the parameter table
//! (`config::params::PARAMS`). CONFIG SET is all-or-nothing: the new values are parsed into a
//! copy of the configuration, side effects (chdir, log level) are applied, and only then does
//! the copy replace `srv.config`, which the rest of the server reads on every use.

use bytes::Bytes;

use super::ctx::Ctx;
use super::error::{wrong_arity, CmdError, CmdResult, SYNTAX};
use super::spec::{command, flags::*, CommandSpec};
use crate::config::params::{self, Param, PARAMS};
use crate::config::{Config, EnableDebug};
use crate::db::glob::glob_match;
use crate::server::client::Peer;
use crate::server::state::ServerState;

/// The CONFIG subcommands.
const SUBCOMMANDS: &[CommandSpec] = &[
    command(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.0.0",
        "Returns the effective values of configuration parameters.",
        config_get,
    )
    .full("config|get"),
    command(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.0.0",
        "Sets configuration parameters in-flight.",
        config_set,
    )
    .full("config|set"),
    command(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.0.0",
        "Resets the server's statistics.",
        config_resetstat,
    )
    .full("config|resetstat"),
    command(
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.8.0",
        "Persists the effective configuration to file.",
        config_rewrite,
    )
    .full("config|rewrite"),
    command(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        config_help,
    )
    .full("config|help"),
];

/// The CONFIG command.
pub const COMMANDS: &[CommandSpec] = &[command(
    "config",
    -2,
    0,
    (0, 0, 0),
    "server",
    "2.0.0",
    "A container for server configuration commands.",
    container,
)
.with_subcommands(SUBCOMMANDS)];

/// Reached only if dispatch hands over the bare container, which arity already rejects.
fn container(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Err(wrong_arity("config"))
}

/// The lines of CONFIG HELP.
const HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

fn config_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.array(HELP.len());
    for line in HELP {
        ctx.out.simple(line);
    }
    Ok(())
}

/// Whether a pattern has glob characters (otherwise it is looked up by exact name, which is
/// also how hidden parameters would be reached).
fn is_pattern(arg: &[u8]) -> bool {
    arg.iter().any(|c| matches!(c, b'*' | b'?' | b'['))
}

fn config_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // (name as reported, parameter), each parameter once; RESP3 maps need the count up front.
    let mut found: Vec<(Vec<u8>, &'static Param)> = Vec::new();
    let seen = |found: &Vec<(Vec<u8>, &'static Param)>, name: &[u8]| {
        found.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    for pattern in args.iter().skip(2) {
        if !is_pattern(pattern) {
            let name = String::from_utf8_lossy(pattern);
            if let Some(param) = params::find(&name) {
                if !seen(&found, pattern) {
                    found.push((pattern.to_vec(), param));
                }
            }
            continue;
        }
        for param in PARAMS {
            for name in std::iter::once(&param.name).chain(param.aliases) {
                if glob_match(pattern, name.as_bytes(), true) && !seen(&found, name.as_bytes()) {
                    found.push((name.as_bytes().to_vec(), param));
                }
            }
        }
    }
    let config = &ctx.srv.config;
    ctx.out.map(found.len());
    for (name, param) in &found {
        ctx.out.bulk(name);
        ctx.out.bulk(&(param.get)(config));
    }
    Ok(())
}

/// `ERR CONFIG SET failed (possibly related to argument '<name>') - <reason>`.
fn set_failed(name: &str, reason: &str) -> CmdError {
    CmdError::err(format!(
        "CONFIG SET failed (possibly related to argument '{name}') - {reason}"
    ))
}

/// Whether the calling client may change protected parameters (`enable-protected-configs`).
fn protected_allowed(ctx: &mut Ctx<'_>) -> bool {
    match ctx.srv.config.enable_protected_configs {
        EnableDebug::Yes => true,
        EnableDebug::No => false,
        EnableDebug::Local => match &ctx.client().peer {
            Peer::Unix { .. } => true,
            Peer::Tcp { addr, .. } => addr.ip().is_loopback(),
        },
    }
}

/// CONFIG SET's split of a multi-argument value: on single spaces, as Redis's `sdssplitlen`
/// (so doubled spaces make empty arguments, which the parameter then rejects).
fn split_value(value: &[u8]) -> Vec<Vec<u8>> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(|&b| b == b' ').map(<[u8]>::to_vec).collect()
}

fn config_set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(SYNTAX);
    }
    // First pass, as Redis: find every parameter; the first unknown, immutable, protected or
    // duplicate one is the error, and nothing is parsed before all names are known.
    let mut chosen: Vec<(&'static Param, &Bytes)> = Vec::new();
    let mut first_error: Option<CmdError> = None;
    for pair in args.get(2..).unwrap_or_default().chunks(2) {
        let [name, value] = pair else { break };
        let text = String::from_utf8_lossy(name);
        let Some(param) = params::find(&text) else {
            if first_error.is_none() {
                first_error = Some(CmdError::err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{text}'"
                )));
            }
            continue;
        };
        if first_error.is_some() {
            continue;
        }
        if !param.mutable {
            first_error = Some(set_failed(&text, "can't set immutable config"));
        } else if param.protected && !protected_allowed(ctx) {
            first_error = Some(set_failed(&text, "can't set protected config"));
        } else if chosen.iter().any(|(p, _)| std::ptr::eq(*p, param)) {
            first_error = Some(set_failed(&text, "duplicate parameter"));
        } else {
            chosen.push((param, value));
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let chosen: Vec<(&'static Param, Vec<Vec<u8>>)> = chosen
        .into_iter()
        .map(|(param, value)| {
            let values = if param.multi_arg() {
                split_value(value)
            } else {
                vec![value.to_vec()]
            };
            (param, values)
        })
        .collect();
    set_params(ctx.srv, &chosen, ctx.in_exec)?;
    ctx.out.ok();
    Ok(())
}

/// CONFIG SET's second pass, shared with the admin API so a change made there takes exactly
/// the same path: parses every value into a copy of the configuration (any failure leaves the
/// server untouched), then applies the copy and its effects.
///
/// # Errors
/// Redis's `CONFIG SET failed (...)` error for the first bad value or failed effect, or
/// `-LOADING` for `appendonly` while loading.
pub fn set_params(
    srv: &mut ServerState,
    chosen: &[(&'static Param, Vec<Vec<u8>>)],
    in_exec: bool,
) -> Result<(), CmdError> {
    let mut new = srv.config.clone();
    for (param, values) in chosen {
        (param.set)(&mut new, values).map_err(|reason| set_failed(param.name, &reason))?;
    }
    // `appendonly` cannot change while loading (Redis's DENY_LOADING_CONFIG answers -LOADING).
    if srv.loading && new.appendonly != srv.config.appendonly {
        return Err(super::error::LOADING);
    }
    apply_runtime(&srv.config, &mut new)?;
    let old = std::mem::replace(&mut srv.config, new);
    crate::server::persist::apply_config_change(srv, &old, in_exec)
        .map_err(|(name, reason)| set_failed(name, &reason))
}

/// Applies what a change needs beyond storing the value. Fallible effects come first, so a
/// failure changes nothing.
fn apply_runtime(old: &Config, new: &mut Config) -> Result<(), CmdError> {
    if new.dir != old.dir {
        // Redis chdir()s into the new directory and reports where it ended up.
        std::env::set_current_dir(&new.dir).map_err(|e| set_failed("dir", &os_error_text(&e)))?;
        if let Ok(cwd) = std::env::current_dir() {
            new.dir = cwd.to_string_lossy().into_owned();
        }
    }
    if new.loglevel != old.loglevel {
        crate::logging::set_level(&new.loglevel);
    }
    Ok(())
}

/// An OS error as C's `strerror` words it (without Rust's ` (os error N)` suffix).
fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

fn config_resetstat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    // Redis's resetServerStats + command and error statistics. `dirty` is not a statistic (it
    // drives saving); `propagated` and `pubsub_messages` are internal bookkeeping: all kept.
    let stats = &mut ctx.srv.stats;
    stats.total_connections_received = 0;
    stats.rejected_connections = 0;
    stats.total_commands_processed = 0;
    stats.net_input_bytes = 0;
    stats.net_output_bytes = 0;
    stats.expired_keys = 0;
    stats.keyspace_hits = 0;
    stats.keyspace_misses = 0;
    stats.commands.clear();
    stats.errors.clear();
    stats.total_error_replies = 0;
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    match crate::config::rewrite::rewrite(&ctx.srv.config) {
        Ok(()) => {
            tracing::warn!("CONFIG REWRITE executed with success.");
            ctx.out.ok();
            Ok(())
        }
        Err(e) => {
            if ctx.srv.config.config_file.is_some() {
                tracing::warn!("CONFIG REWRITE failed: {e}");
            }
            Err(CmdError::err(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Reply, Resp};
    use crate::server::client::Client;
    use crate::server::state::ServerState;

    /// Runs one command for a fresh client speaking `resp`; returns the reply text.
    fn run(srv: &mut ServerState, resp: Resp, args: &[&str]) -> String {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let peer = Peer::Unix {
            path: "/tmp/t.sock".to_string(),
        };
        let mut client = Client::new(1, peer, 0, true, tx);
        client.resp = resp;
        srv.clients.insert(1, client);
        let mut out = Reply::new(resp);
        let args = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        crate::cmd::execute(srv, 1, &mut out, args);
        srv.remove_client(1);
        String::from_utf8_lossy(&out.buf).into_owned()
    }

    #[test]
    fn get_is_a_map_in_resp3() {
        let mut srv = ServerState::new(Config::default());
        assert_eq!(
            run(&mut srv, Resp::V3, &["CONFIG", "GET", "port", "hz"]),
            "%2\r\n$4\r\nport\r\n$4\r\n6379\r\n$2\r\nhz\r\n$2\r\n10\r\n"
        );
        assert_eq!(run(&mut srv, Resp::V3, &["CONFIG", "GET", "x*"]), "%0\r\n");
    }

    #[test]
    fn resetstat_resets_counters_but_not_dirty() {
        let mut srv = ServerState::new(Config::default());
        run(&mut srv, Resp::V2, &["SET", "k", "v"]);
        run(&mut srv, Resp::V2, &["NOSUCH"]);
        srv.stats.keyspace_hits = 3;
        srv.stats.net_input_bytes = 10;
        srv.stats.total_connections_received = 2;
        assert!(srv.stats.total_error_replies > 0);
        assert_eq!(run(&mut srv, Resp::V2, &["CONFIG", "RESETSTAT"]), "+OK\r\n");
        let stats = &srv.stats;
        assert_eq!(stats.keyspace_hits, 0);
        assert_eq!(stats.net_input_bytes, 0);
        assert_eq!(stats.total_connections_received, 0);
        assert_eq!(stats.total_error_replies, 0);
        assert!(stats.errors.is_empty());
        // Only CONFIG RESETSTAT itself, counted after it ran (as Redis shows it).
        assert_eq!(
            stats
                .commands
                .sorted()
                .into_iter()
                .map(|(name, _)| name)
                .collect::<Vec<_>>(),
            ["config|resetstat"]
        );
        assert_eq!(stats.total_commands_processed, 1);
        assert_eq!(stats.dirty, 1);
    }

    #[test]
    fn splits_like_sdssplitlen() {
        assert_eq!(split_value(b""), Vec::<Vec<u8>>::new());
        assert_eq!(split_value(b"900 1"), vec![b"900".to_vec(), b"1".to_vec()]);
        assert_eq!(split_value(b" 1").len(), 2);
    }

    #[test]
    fn os_errors_read_like_strerror() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(os_error_text(&e), "No such file or directory");
    }
}
