//! Per-client state kept by the data thread: everything CLIENT LIST shows and every command may
//! read or change (selected db, protocol, name, transaction, subscriptions).
//!
//! The connection task owns only the socket and its buffers; it finds its `Client` here by id
//! while executing. Keeping all client state in one place lets CLIENT LIST, CLIENT KILL, PUBLISH
//! and WATCH reach other clients without locks or shared cells.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use indexmap::IndexSet;
use tokio::sync::{mpsc, Notify};

use crate::db::Key;
use crate::protocol::Resp;

/// A client id, as CLIENT ID reports it: unique and increasing for the life of the process.
pub type ClientId = u64;

/// Where a client connected from.
#[derive(Clone, Debug)]
pub enum Peer {
    /// A TCP peer and the local address it reached.
    Tcp {
        /// The client's address.
        addr: SocketAddr,
        /// Our address it connected to.
        local: SocketAddr,
    },
    /// A Unix-socket peer, with the path of the socket it reached.
    Unix {
        /// The listening socket's path.
        path: String,
    },
}

/// The state of one connected client.
#[derive(Debug)]
pub struct Client {
    /// CLIENT ID.
    pub id: ClientId,
    /// Where the client came from.
    pub peer: Peer,
    /// The file descriptor of the connection (CLIENT LIST `fd=`).
    pub fd: i32,
    /// CLIENT SETNAME.
    pub name: Option<Vec<u8>>,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: Option<Vec<u8>>,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: Option<Vec<u8>>,
    /// The selected database.
    pub db: usize,
    /// The protocol negotiated with HELLO.
    pub resp: Resp,
    /// Whether the client has authenticated (always true without `requirepass`).
    pub authenticated: bool,
    /// When the connection was accepted.
    pub created: Instant,
    /// When the client last sent a command (for `timeout` and CLIENT LIST `idle=`).
    pub last_interaction: Instant,
    /// The last command it ran, as CLIENT LIST `cmd=` shows it (e.g. `client|list`).
    pub last_cmd: &'static str,
    /// Commands queued after MULTI; `None` outside a transaction.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command failed to queue, so EXEC must answer EXECABORT.
    pub multi_error: bool,
    /// Keys this client WATCHes, as (db, key).
    pub watched: Vec<(usize, Key)>,
    /// A watched key was touched since WATCH: EXEC must fail.
    pub dirty_cas: bool,
    /// SUBSCRIBEd channels (managed by `server::pubsub`; their order is unspecified, as in Redis).
    pub channels: IndexSet<Vec<u8>>,
    /// PSUBSCRIBEd patterns, in subscription order (PUNSUBSCRIBE without arguments follows it).
    pub patterns: IndexSet<Vec<u8>>,
    /// Whether the client is waiting in a blocking command (CLIENT LIST flag `b`).
    pub blocked: bool,
    /// Encoded messages (pub/sub) to be written to this client by its connection task.
    pub push_tx: mpsc::UnboundedSender<Vec<u8>>,
    /// Signalled by CLIENT KILL and shutdown: the connection task closes the connection.
    pub kill: Rc<Notify>,
    /// Set together with `kill`, so a connection that was not waiting still sees it.
    pub killed: bool,
}

impl Client {
    /// Creates the state of a newly accepted client.
    pub fn new(
        id: ClientId,
        peer: Peer,
        fd: i32,
        authenticated: bool,
        push_tx: mpsc::UnboundedSender<Vec<u8>>,
    ) -> Self {
        let now = Instant::now();
        Client {
            id,
            peer,
            fd,
            name: None,
            lib_name: None,
            lib_ver: None,
            db: 0,
            resp: Resp::V2,
            authenticated,
            created: now,
            last_interaction: now,
            last_cmd: "NULL",
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            dirty_cas: false,
            channels: IndexSet::new(),
            patterns: IndexSet::new(),
            blocked: false,
            push_tx,
            kill: Rc::new(Notify::new()),
            killed: false,
        }
    }

    /// Number of channel and pattern subscriptions; non-zero puts a RESP2 client in pub/sub mode.
    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Asks the client's connection task to close the connection.
    pub fn request_kill(&mut self) {
        self.killed = true;
        self.kill.notify_one();
    }
}
