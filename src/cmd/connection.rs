//! Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET and the CLIENT family.
//!
//! Authentication follows Redis 7.0 with only the `default` user: `requirepass` is its password,
//! and without one the user is `nopass` (any password is accepted for it by HELLO and two-argument
//! AUTH, while one-argument AUTH answers that no password is configured).

use std::fmt::Write as _;
use std::time::Instant;

use bytes::Bytes;

use super::ctx::Ctx;
use super::error::{wrong_arity, CmdResult, DB_INDEX_OUT_OF_RANGE, SYNTAX};
use super::spec::{command, flags::*, CommandSpec};
use super::{args, CmdError};
use crate::protocol::{Reply, Resp};
use crate::server::client::{Client, ClientId, Peer};
use crate::server::state::ServerState;

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
        LOADING | FAST,
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
    command(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        "connection",
        "6.0.0",
        "Handshakes with the Redis server.",
        hello,
    ),
    command(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        auth,
    ),
    command(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        "connection",
        "6.2.0",
        "Resets the connection.",
        reset,
    ),
    command(
        "client",
        -2,
        0,
        (0, 0, 0),
        "connection",
        "2.4.0",
        "A container for client connection commands.",
        container,
    )
    .with_subcommands(CLIENT_SUBCOMMANDS),
];

/// Flags shared by most CLIENT subcommands.
const CLIENT_FLAGS: u32 = NOSCRIPT | LOADING | STALE;

/// The CLIENT subcommands.
const CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    command(
        "id",
        2,
        CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "5.0.0",
        "Returns the unique client ID of the connection.",
        client_id,
    )
    .full("client|id"),
    command(
        "getname",
        2,
        CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "2.6.9",
        "Returns the name of the connection.",
        client_getname,
    )
    .full("client|getname"),
    command(
        "setname",
        3,
        CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "2.6.9",
        "Sets the connection name.",
        client_setname,
    )
    .full("client|setname"),
    command(
        "setinfo",
        4,
        CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "7.2.0",
        "Sets information specific to the client or connection.",
        client_setinfo,
    )
    .full("client|setinfo"),
    command(
        "list",
        -2,
        ADMIN | CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "2.4.0",
        "Lists open connections.",
        client_list,
    )
    .full("client|list"),
    command(
        "info",
        2,
        CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "6.2.0",
        "Returns information about the connection.",
        client_info,
    )
    .full("client|info"),
    command(
        "kill",
        -3,
        ADMIN | CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "2.4.0",
        "Terminates open connections.",
        client_kill,
    )
    .full("client|kill"),
    command(
        "unblock",
        -3,
        ADMIN | CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "5.0.0",
        "Unblocks a client blocked by a blocking command from a different connection.",
        client_unblock,
    )
    .full("client|unblock"),
    command(
        "getredir",
        2,
        CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "6.0.0",
        "Returns the client ID to which the connection's tracking notifications are redirected.",
        client_getredir,
    )
    .full("client|getredir"),
    command(
        "no-evict",
        3,
        ADMIN | CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "7.0.0",
        "Sets the client eviction mode of the connection.",
        client_on_off,
    )
    .full("client|no-evict"),
    command(
        "no-touch",
        3,
        CLIENT_FLAGS,
        (0, 0, 0),
        "connection",
        "7.2.0",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        client_on_off,
    )
    .full("client|no-touch"),
    command(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "connection",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        client_help,
    )
    .full("client|help"),
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

/// The handler of a container (CLIENT, COMMAND, ...) called without a subcommand: its arity
/// makes that impossible, so this only guards against a table mistake.
pub(crate) fn container(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    Err(wrong_arity(&args::lower(&args[0])))
}

/// The error HELLO gives an unauthenticated client that did not pass AUTH.
const HELLO_NOAUTH: CmdError = CmdError::fixed(
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO \
     AUTH <user> <pass> option can be used to authenticate the client and select the RESP \
     protocol version at the same time",
);

/// A failed authentication.
const WRONGPASS: CmdError =
    CmdError::fixed("WRONGPASS invalid username-password pair or user is disabled.");

/// A client name or library attribute with a character outside `!`..`~`.
const BAD_CLIENT_NAME: CmdError =
    CmdError::fixed("ERR Client names cannot contain spaces, newlines or special characters.");

/// Whether `user`/`pass` authenticate as the only user there is, `default`.
fn credentials_ok(srv: &ServerState, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    let expected = &srv.config.requirepass;
    if expected.is_empty() {
        // Without requirepass the default user is `nopass`: every password works.
        return true;
    }
    // Compare without an early exit, so the time taken does not reveal a matching prefix.
    expected.len() == pass.len()
        && expected
            .iter()
            .zip(pass)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Whether `name` is a valid client name or library attribute: printable ASCII, no spaces.
fn valid_client_attr(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn hello(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let mut version = None;
    let mut next = 1;
    if let Some(arg) = a.get(1) {
        let v = args::int(arg).map_err(|_| {
            CmdError::fixed("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::fixed("NOPROTO unsupported protocol version"));
        }
        version = Some(if v == 3 { Resp::V3 } else { Resp::V2 });
        next = 2;
    }
    let mut credentials = None;
    let mut name = None;
    let mut j = next;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if args::is(&a[j], "AUTH") && more >= 2 {
            credentials = Some((&a[j + 1], &a[j + 2]));
            j += 3;
        } else if args::is(&a[j], "SETNAME") && more >= 1 {
            name = Some(&a[j + 1]);
            j += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                args::text(&a[j])
            )));
        }
    }
    if let Some((user, pass)) = credentials {
        if !credentials_ok(ctx.srv, user, pass) {
            return Err(WRONGPASS);
        }
        ctx.client().authenticated = true;
    }
    if !ctx.client().authenticated {
        return Err(HELLO_NOAUTH);
    }
    if let Some(name) = name {
        set_name(ctx.client(), name)?;
    }
    if let Some(resp) = version {
        ctx.client().resp = resp;
        ctx.out.resp = resp;
    }
    let id = ctx.id;
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::server::info::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if out.is_resp3() { 3 } else { 2 });
    out.bulk(b"id");
    out.int(i64::try_from(id).unwrap_or(i64::MAX));
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn auth(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    if a.len() > 3 {
        return Err(SYNTAX);
    }
    let (user, pass): (&[u8], &[u8]) = if a.len() == 2 {
        if ctx.srv.config.requirepass.is_empty() {
            return Err(CmdError::fixed(
                "ERR AUTH <password> called without any password configured for the default \
                 user. Are you sure your configuration is correct?",
            ));
        }
        (b"default", &a[1])
    } else {
        (&a[1], &a[2])
    };
    if !credentials_ok(ctx.srv, user, pass) {
        return Err(WRONGPASS);
    }
    ctx.client().authenticated = true;
    ctx.out.ok();
    Ok(())
}

/// RESET: back to the state of a new connection (Redis `clearClientConnectionState`).
fn reset(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    let id = ctx.id;
    let srv = &mut *ctx.srv;
    let authenticated = srv.config.requirepass.is_empty();
    if let Some(client) = srv.clients.get_mut(&id) {
        client.db = 0;
        client.resp = Resp::V2;
        client.authenticated = authenticated;
        client.multi = None;
        client.multi_error = false;
        srv.watches.unwatch_all(id, &client.watched);
        client.watched.clear();
        client.dirty_cas = false;
        srv.pubsub.remove_client(id, client);
        client.channels.clear();
        client.patterns.clear();
        // lib-name and lib-ver stay: they still describe the library behind the connection.
        client.name = None;
    }
    ctx.db = 0;
    ctx.out.resp = Resp::V2;
    ctx.out.simple("RESET");
    Ok(())
}

/// Sets or (with an empty name) clears the client's name, with Redis's validation.
fn set_name(client: &mut Client, name: &[u8]) -> CmdResult {
    if !valid_client_attr(name) {
        return Err(BAD_CLIENT_NAME);
    }
    client.name = if name.is_empty() {
        None
    } else {
        Some(name.to_vec())
    };
    Ok(())
}

fn client_id(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    ctx.out.int(i64::try_from(ctx.id).unwrap_or(i64::MAX));
    Ok(())
}

fn client_getname(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    let id = ctx.id;
    match ctx.srv.clients.get(&id).and_then(|c| c.name.as_deref()) {
        Some(name) => ctx.out.bulk(name),
        None => ctx.out.null(),
    }
    Ok(())
}

fn client_setname(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    set_name(ctx.client(), &a[2])?;
    ctx.out.ok();
    Ok(())
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2; clients send it on connect).
fn client_setinfo(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let attr = &a[2];
    let value = &a[3];
    let is_name = args::is(attr, "lib-name");
    if !is_name && !args::is(attr, "lib-ver") {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            args::text(attr)
        )));
    }
    if !valid_client_attr(value) {
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            args::text(attr)
        )));
    }
    let value = (!value.is_empty()).then(|| value.to_vec());
    let client = ctx.client();
    if is_name {
        client.lib_name = value;
    } else {
        client.lib_ver = value;
    }
    ctx.out.ok();
    Ok(())
}

/// Client types for the TYPE filters of CLIENT LIST and CLIENT KILL.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

impl ClientType {
    fn parse(arg: &Bytes) -> Result<ClientType, CmdError> {
        let name = args::lower(arg);
        match name.as_str() {
            "normal" => Ok(ClientType::Normal),
            "slave" | "replica" => Ok(ClientType::Replica),
            "master" => Ok(ClientType::Master),
            "pubsub" => Ok(ClientType::PubSub),
            _ => Err(CmdError::err(format!(
                "Unknown client type '{}'",
                args::text(arg)
            ))),
        }
    }

    /// The type of `client`: there are no replication links, so it is normal or pub/sub.
    fn of(client: &Client) -> ClientType {
        if client.subscription_count() > 0 {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }
}

/// The peer address as CLIENT LIST shows it (`addr=`): `ip:port`, or `path:0` for Unix sockets.
pub fn peer_addr(client: &Client) -> String {
    match &client.peer {
        Peer::Tcp { addr, .. } => addr.to_string(),
        Peer::Unix { path } => format!("{path}:0"),
    }
}

/// The local address the client connected to (`laddr=`).
pub fn local_addr(client: &Client) -> String {
    match &client.peer {
        Peer::Tcp { local, .. } => local.to_string(),
        Peer::Unix { path } => format!("{path}:0"),
    }
}

/// Appends the CLIENT LIST line of `client` (Redis 7.0's field set and order, plus the 7.2
/// `lib-name`/`lib-ver` fields at the end when the client set them), ending in `\n`.
///
/// Buffer sizes are approximations: the connection task owns the real buffers.
pub fn client_info_line(client: &Client, now: Instant, out: &mut String) {
    let mut flags = String::new();
    if client.subscription_count() > 0 {
        flags.push('P');
    }
    if client.multi.is_some() {
        flags.push('x');
    }
    if client.blocked {
        flags.push('b');
    }
    if client.dirty_cas {
        flags.push('d');
    }
    if matches!(client.peer, Peer::Unix { .. }) {
        flags.push('U');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let multi = client.multi.as_ref().map_or(-1, |q| q.len() as i64);
    let multi_mem: usize = client
        .multi
        .iter()
        .flatten()
        .flat_map(|cmd| cmd.iter().map(Bytes::len))
        .sum();
    let name = client.name.as_deref().unwrap_or_default();
    let age = now.saturating_duration_since(client.created).as_secs();
    let idle = now
        .saturating_duration_since(client.last_interaction)
        .as_secs();
    // A nominal per-client footprint: the read buffer plus the client structure.
    let tot_mem = 16384 + 2048 + multi_mem;
    let _ = write!(
        out,
        "id={} addr={} laddr={} fd={} name={} age={age} idle={idle} flags={flags} db={} sub={} \
         psub={} ssub=0 multi={multi} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem={multi_mem} \
         rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem={tot_mem} events=r cmd={} user=default \
         redir=-1 resp={}",
        client.id,
        peer_addr(client),
        local_addr(client),
        client.fd,
        String::from_utf8_lossy(name),
        client.db,
        client.channels.len(),
        client.patterns.len(),
        client.last_cmd,
        if client.resp == Resp::V3 { 3 } else { 2 },
    );
    if client.lib_name.is_some() || client.lib_ver.is_some() {
        let _ = write!(
            out,
            " lib-name={} lib-ver={}",
            String::from_utf8_lossy(client.lib_name.as_deref().unwrap_or_default()),
            String::from_utf8_lossy(client.lib_ver.as_deref().unwrap_or_default()),
        );
    }
    out.push('\n');
}

fn client_list(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let mut kind = None;
    let mut ids = None;
    if a.len() == 4 && args::is(&a[2], "type") {
        kind = Some(ClientType::parse(&a[3])?);
    } else if a.len() > 3 && args::is(&a[2], "id") {
        let mut wanted = Vec::with_capacity(a.len() - 3);
        for arg in &a[3..] {
            match args::int(arg) {
                Ok(id) if id >= 1 => wanted.push(id as ClientId),
                _ => return Err(CmdError::fixed("ERR Invalid client ID")),
            }
        }
        ids = Some(wanted);
    } else if a.len() != 2 {
        return Err(SYNTAX);
    }
    let now = Instant::now();
    let mut text = String::new();
    match ids {
        Some(ids) => {
            for id in ids {
                if let Some(client) = ctx.srv.clients.get(&id) {
                    client_info_line(client, now, &mut text);
                }
            }
        }
        None => {
            for client in ctx.srv.clients.values() {
                if kind.is_none_or(|k| k == ClientType::of(client)) {
                    client_info_line(client, now, &mut text);
                }
            }
        }
    }
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

fn client_info(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    let mut text = String::new();
    let now = Instant::now();
    client_info_line(ctx.client(), now, &mut text);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// The filters of CLIENT KILL.
#[derive(Default)]
struct KillFilter {
    addr: Option<String>,
    laddr: Option<String>,
    kind: Option<ClientType>,
    id: Option<ClientId>,
    skipme: bool,
}

impl KillFilter {
    fn matches(&self, client: &Client, caller: ClientId) -> bool {
        if self.skipme && client.id == caller {
            return false;
        }
        if self.addr.as_ref().is_some_and(|a| *a != peer_addr(client)) {
            return false;
        }
        if self
            .laddr
            .as_ref()
            .is_some_and(|a| *a != local_addr(client))
        {
            return false;
        }
        if self.kind.is_some_and(|k| k != ClientType::of(client)) {
            return false;
        }
        self.id.is_none_or(|id| id == client.id)
    }
}

/// CLIENT KILL ip:port (old form: +OK or an error) or CLIENT KILL <filter> <value> ...
/// (new form: the number killed).
fn client_kill(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let old_form = a.len() == 3;
    let mut filter = KillFilter::default();
    if old_form {
        filter.addr = Some(args::text(&a[2]));
    } else {
        filter.skipme = true;
        let mut j = 2;
        while j < a.len() {
            let Some(value) = a.get(j + 1) else {
                return Err(SYNTAX);
            };
            let opt = &a[j];
            if args::is(opt, "id") {
                match args::int(value) {
                    Ok(id) if id >= 1 => filter.id = Some(id as ClientId),
                    _ => return Err(CmdError::fixed("ERR client-id should be greater than 0")),
                }
            } else if args::is(opt, "type") {
                filter.kind = Some(ClientType::parse(value)?);
            } else if args::is(opt, "addr") {
                filter.addr = Some(args::text(value));
            } else if args::is(opt, "laddr") {
                filter.laddr = Some(args::text(value));
            } else if args::is(opt, "user") {
                if value.as_ref() != b"default" {
                    return Err(CmdError::err(format!(
                        "No such user '{}'",
                        args::text(value)
                    )));
                }
                // Every client is the default user: the filter matches all of them.
            } else if args::is(opt, "skipme") {
                if args::is(value, "yes") {
                    filter.skipme = true;
                } else if args::is(value, "no") {
                    filter.skipme = false;
                } else {
                    return Err(SYNTAX);
                }
            } else {
                return Err(SYNTAX);
            }
            j += 2;
        }
    }
    let caller = ctx.id;
    let victims: Vec<ClientId> = ctx
        .srv
        .clients
        .values()
        .filter(|c| filter.matches(c, caller))
        .map(|c| c.id)
        .collect();
    for &id in &victims {
        if id == caller {
            // The caller still gets its reply, then the connection closes.
            ctx.close_after_reply = true;
        } else if let Some(client) = ctx.srv.clients.get_mut(&id) {
            client.request_kill();
        }
    }
    if old_form {
        if victims.is_empty() {
            return Err(CmdError::fixed("ERR No such client"));
        }
        ctx.out.ok();
    } else {
        ctx.out.int(victims.len() as i64);
    }
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends another client's blocking command as if it timed
/// out, or with an `-UNBLOCKED` error.
fn client_unblock(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    let mut with_error = false;
    if a.len() == 4 {
        if args::is(&a[3], "timeout") {
            with_error = false;
        } else if args::is(&a[3], "error") {
            with_error = true;
        } else {
            return Err(CmdError::fixed(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    }
    let id = args::int(&a[2])?;
    let target = ClientId::try_from(id).unwrap_or(0);
    let srv = &mut *ctx.srv;
    let resp = match srv.clients.get(&target) {
        Some(client) if client.blocked => client.resp,
        _ => {
            ctx.out.int(0);
            return Ok(());
        }
    };
    let Some(waiter) = srv.blocking.unblock(target) else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut reply = Reply::new(resp);
    if with_error {
        let msg = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
        reply.error(msg);
        srv.stats.count_error(msg);
    } else {
        reply.null_array();
    }
    // The receiver is gone only if the connection is closing anyway.
    let _ = waiter.reply_tx.send(reply.buf);
    if let Some(client) = srv.clients.get_mut(&target) {
        client.blocked = false;
    }
    ctx.out.int(1);
    Ok(())
}

fn client_getredir(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    // Client-side caching is not supported, so tracking is never on.
    ctx.out.int(-1);
    Ok(())
}

/// CLIENT NO-EVICT / NO-TOUCH ON|OFF. There is no client eviction and no LRU, so the mode
/// changes nothing; the argument is still checked.
fn client_on_off(ctx: &mut Ctx<'_>, a: &[Bytes]) -> CmdResult {
    if !args::is(&a[2], "on") && !args::is(&a[2], "off") {
        return Err(SYNTAX);
    }
    ctx.out.ok();
    Ok(())
}

fn client_help(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "CLIENT",
        &[
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
    Ok(())
}

/// Replies with a HELP text the way Redis's `addReplyHelp` does: a title line, the given lines,
/// and the closing HELP entry, each as a status string.
pub(crate) fn reply_help(out: &mut Reply, command: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        out.simple(line);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}
