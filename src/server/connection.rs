//! One client connection: read requests, execute them on the data thread, write the replies.
//!
//! Pipelining: every complete request in the read buffer is executed in order and all their
//! replies leave in one write. A blocked client stops being served until its command completes;
//! pub/sub messages and CLIENT KILL arrive through the client's channel and `Notify`.
//!
//! Reply gating (with `appendonly yes`; design brief §2, `aof::writer` module docs): before a
//! batch executes, the writer's appended end is noted; after it, the batch's gate is computed
//! and the flusher task is woken, and the replies are written only once the writer says the gate
//! is released — every AOF record appended before them written (`everysec`, `no`) or written
//! and fdatasync'ed (`always`). Replies to blocked clients and pub/sub messages wait the same
//! way for everything appended before they are sent. Reads are no exception: a read must not
//! show a write that a crash could still take back.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Notify};

use crate::cmd::{self, BlockRequest, Outcome};
use crate::protocol::{ParseLimits, ProtocolError, Reply, RequestParser};

use super::blocking::Waiter;
use super::client::ClientId;
use super::state::ServerState;

/// Initial size of the read buffer; it grows for large arguments.
const READ_CHUNK: usize = 16 * 1024;

/// Everything a connection task needs besides its socket.
pub struct ConnectionContext {
    /// The shared server state.
    pub state: Rc<RefCell<ServerState>>,
    /// This client's id (registered in `state.clients`).
    pub id: ClientId,
    /// Messages pushed to this client (pub/sub).
    pub push_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    /// Signalled to close the connection.
    pub kill: Rc<Notify>,
}

/// Why a connection ended.
enum End {
    Closed,
    Io,
}

/// Serves one client until it disconnects, is killed, or breaks the protocol; then unregisters it.
pub async fn serve<S>(mut stream: S, mut cx: ConnectionContext)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = run(&mut stream, &mut cx).await;
    cx.state.borrow_mut().remove_client(cx.id);
    let _ = stream.shutdown().await;
}

async fn run<S>(stream: &mut S, cx: &mut ConnectionContext) -> End
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut parser = RequestParser::new();
    let mut out = Reply::default();
    loop {
        let before = cx.state.borrow().aof.appended_end();
        let (close, blocked) = execute_buffered(cx, &mut parser, &mut rbuf, &mut out);
        if !out.is_empty() {
            if !released(cx, Some(before)).await {
                return End::Closed;
            }
            if write(stream, cx, &mut out.buf).await.is_err() {
                return End::Io;
            }
        }
        if close {
            return End::Closed;
        }
        if let Some(blocked) = blocked {
            match wait_blocked(stream, cx, &mut rbuf, blocked).await {
                Some(mut reply) => {
                    // The record of the pop that served it may be anywhere before this point.
                    if !released(cx, Some(0)).await {
                        return End::Closed;
                    }
                    if write(stream, cx, &mut reply).await.is_err() {
                        return End::Io;
                    }
                    continue;
                }
                None => return End::Closed,
            }
        }
        let idle_deadline = idle_deadline(cx);
        tokio::select! {
            biased;
            () = cx.kill.notified() => return End::Closed,
            msg = cx.push_rx.recv() => {
                let Some(mut msg) = msg else { return End::Closed };
                while let Ok(more) = cx.push_rx.try_recv() {
                    msg.extend_from_slice(&more);
                }
                if !released(cx, None).await {
                    return End::Closed;
                }
                if write(stream, cx, &mut msg).await.is_err() {
                    return End::Io;
                }
            }
            read = stream.read_buf(&mut rbuf) => match read {
                Ok(0) | Err(_) => return End::Io,
                Ok(n) => cx.state.borrow_mut().stats.net_input_bytes += n as u64,
            },
            () = sleep_until(idle_deadline) => {
                tracing::debug!(client = cx.id, "Closing idle client.");
                return End::Closed;
            }
        }
        if rbuf.capacity() - rbuf.len() < 1024 && !parser.is_mid_request() {
            rbuf.reserve(READ_CHUNK);
        }
    }
}

/// Waits until replies may be sent: the AOF records appended before them are as safe as the
/// fsync policy promises. `before` is the writer's appended end when the batch started (`None`:
/// the replies are not the result of this client's own commands). Returns false if the client
/// was killed meanwhile (the replies are then dropped with the connection).
async fn released(cx: &ConnectionContext, before: Option<u64>) -> bool {
    let gate = {
        let mut st = cx.state.borrow_mut();
        let before = before.unwrap_or_else(|| st.aof.appended_end());
        let Some(gate) = st.aof.gate(before) else {
            return true;
        };
        if st.aof.released(&gate) {
            return true;
        }
        // Written by the flusher after every batch of this iteration executed.
        st.aof.request_flush();
        gate
    };
    loop {
        let (mut flushed, mut synced) = {
            let mut st = cx.state.borrow_mut();
            let Some(w) = st.aof.writer.as_ref() else {
                return true;
            };
            let synced = w.subscribe();
            let flushed = st.aof.flushed.subscribe();
            if st.aof.released(&gate) {
                return true;
            }
            (flushed, synced)
        };
        tokio::select! {
            biased;
            () = cx.kill.notified() => return false,
            _ = synced.changed() => {}
            _ = flushed.changed() => {}
            // The everysec bound ages with time, and an error state is retried once a second.
            () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
        }
    }
}

/// A client registered as blocked: where its reply will come from, and when it times out.
struct Blocked {
    reply_rx: oneshot::Receiver<Vec<u8>>,
    deadline: Option<tokio::time::Instant>,
}

/// Executes every complete request in `rbuf`. Returns whether to close after writing the
/// replies, and the registration if the last command blocked.
fn execute_buffered(
    cx: &ConnectionContext,
    parser: &mut RequestParser,
    rbuf: &mut BytesMut,
    out: &mut Reply,
) -> (bool, Option<Blocked>) {
    let mut state = cx.state.borrow_mut();
    let st = &mut *state;
    loop {
        let Some(client) = st.clients.get(&cx.id) else {
            return (true, None);
        };
        if client.killed || st.shutdown_requested {
            return (true, None);
        }
        out.resp = client.resp;
        let limits = ParseLimits {
            max_bulk_len: st.config.proto_max_bulk_len,
            query_buffer_limit: st.config.client_query_buffer_limit,
            auth_required: !client.authenticated,
        };
        match parser.parse(rbuf, &limits) {
            Ok(Some(args)) => match cmd::execute(st, cx.id, out, args) {
                Outcome::Continue => {}
                Outcome::Close => return (true, None),
                // Register now, in the same borrow: writing earlier replies may yield, and a push
                // by another client in between must already find this waiter.
                Outcome::Block(block) => return (false, Some(register_blocked(st, cx.id, block))),
            },
            Ok(None) => return (false, None),
            Err(ProtocolError::Reply(msg)) => {
                tracing::info!(client = cx.id, error = %msg, "Closing client after a protocol error.");
                out.error(&format!("ERR {msg}"));
                return (true, None);
            }
            Err(ProtocolError::QueryBufferLimit) => {
                tracing::warn!(
                    client = cx.id,
                    "Closing client that reached max query buffer length."
                );
                return (true, None);
            }
        }
    }
}

/// Registers client `id` as waiting for `block`; its timeout starts now.
fn register_blocked(st: &mut ServerState, id: ClientId, block: BlockRequest) -> Blocked {
    let (reply_tx, reply_rx) = oneshot::channel();
    let deadline = block.timeout.map(|t| tokio::time::Instant::now() + t);
    let db = st.clients.get(&id).map_or(0, |c| c.db);
    let waiter = Waiter {
        db,
        keys: block.keys.into_iter().map(Into::into).collect(),
        args: block.args,
        reply_tx,
    };
    st.blocking.block(id, waiter);
    st.client(id).blocked = true;
    Blocked { reply_rx, deadline }
}

/// Waits until a blocked command is served, times out, or the client goes away. Returns the
/// reply to send, or `None` to close the connection.
async fn wait_blocked<S>(
    stream: &mut S,
    cx: &mut ConnectionContext,
    rbuf: &mut BytesMut,
    blocked: Blocked,
) -> Option<Vec<u8>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Blocked {
        mut reply_rx,
        deadline,
    } = blocked;
    loop {
        tokio::select! {
            biased;
            served = &mut reply_rx => return served.ok(),
            () = cx.kill.notified() => return None,
            () = sleep_until(deadline) => {
                let mut st = cx.state.borrow_mut();
                if st.blocking.unblock(cx.id).is_some() {
                    let client = st.client(cx.id);
                    client.blocked = false;
                    let mut out = Reply::new(client.resp);
                    out.null_array();
                    return Some(out.buf);
                }
                // Served in the same instant: the reply is already in the channel.
                return reply_rx.try_recv().ok();
            }
            // Keep reading so a disconnect is noticed; the bytes wait in the buffer.
            read = stream.read_buf(rbuf) => match read {
                Ok(0) | Err(_) => return None,
                Ok(n) => cx.state.borrow_mut().stats.net_input_bytes += n as u64,
            },
        }
    }
}

/// When an idle client must be closed (`timeout`), if ever. Pub/sub and blocked clients are
/// exempt, as in Redis.
fn idle_deadline(cx: &ConnectionContext) -> Option<tokio::time::Instant> {
    let st = cx.state.borrow();
    let timeout = st.config.timeout;
    if timeout == 0 {
        return None;
    }
    let client = st.clients.get(&cx.id)?;
    if client.subscription_count() > 0 || client.blocked {
        return None;
    }
    let idle = Instant::now().saturating_duration_since(client.last_interaction);
    let left = std::time::Duration::from_secs(timeout).saturating_sub(idle);
    Some(tokio::time::Instant::now() + left)
}

/// Sleeps until `deadline`, or forever.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Writes `buf` completely and clears it.
async fn write<S>(stream: &mut S, cx: &ConnectionContext, buf: &mut Vec<u8>) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    stream.write_all(buf).await?;
    cx.state.borrow_mut().stats.net_output_bytes += buf.len() as u64;
    buf.clear();
    Ok(())
}
