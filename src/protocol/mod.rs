//! The RESP codec: request parsing and reply encoding, shared by the network, and later the AOF
//! writer, loader, rewrite child and checker.
//!
//! Nothing in here does I/O or knows about tokio, the keyspace or the AOF: it turns bytes into
//! argument vectors and replies into bytes, so every consumer frames RESP the same way.

pub mod parser;
pub mod reply;
pub mod splitargs;

pub use parser::{ParseLimits, ProtocolError, RequestParser};
pub use reply::{Reply, Resp};
