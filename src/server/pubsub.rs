//! Channel and pattern subscriptions: which clients receive a PUBLISHed message, in which order,
//! and how each message is encoded for its receiver.
//!
//! Both sides of a subscription are kept in step: the registry here maps a channel or pattern to
//! its subscribers, and each `Client` lists its own channels and patterns (what its subscription
//! count and UNSUBSCRIBE without arguments use). Every change goes through the methods below so
//! the two never disagree.

use std::collections::{BTreeMap, HashMap};

use indexmap::IndexMap;

use super::client::{Client, ClientId};
use crate::db::glob::glob_match;
use crate::protocol::{Reply, Resp};

/// The pub/sub registry.
#[derive(Debug, Default)]
pub struct PubSub {
    /// Subscribers per channel, in subscription order (the order PUBLISH delivers in, as Redis's
    /// per-channel client list).
    pub channels: HashMap<Vec<u8>, Vec<ClientId>>,
    /// Subscribers per pattern, each list in subscription order. An `IndexMap` so that PUBLISH
    /// visits patterns in a stable order; Redis's dict order is unspecified, so any stable order
    /// is as good, and removal uses `swap_remove` to stay O(1) like a dict delete.
    pub patterns: IndexMap<Vec<u8>, Vec<ClientId>>,
}

impl PubSub {
    /// Subscribes `client` to `channel`. Returns false if it already was.
    pub fn subscribe(&mut self, client: &mut Client, channel: &[u8]) -> bool {
        if client.channels.contains(channel) {
            return false;
        }
        client.channels.insert(channel.to_vec());
        self.channels
            .entry(channel.to_vec())
            .or_default()
            .push(client.id);
        true
    }

    /// Unsubscribes `client` from `channel`. Returns false if it was not subscribed.
    pub fn unsubscribe(&mut self, client: &mut Client, channel: &[u8]) -> bool {
        // Redis keeps a client's channels in a dict, whose order is unspecified: an O(1)
        // swap_remove is faithful enough and keeps UNSUBSCRIBE O(1) per channel for the client.
        if !client.channels.swap_remove(channel) {
            return false;
        }
        remove_subscriber(&mut self.channels, client.id, channel);
        true
    }

    /// Subscribes `client` to `pattern`. Returns false if it already was.
    pub fn psubscribe(&mut self, client: &mut Client, pattern: &[u8]) -> bool {
        if client.patterns.contains(pattern) {
            return false;
        }
        client.patterns.insert(pattern.to_vec());
        self.patterns
            .entry(pattern.to_vec())
            .or_default()
            .push(client.id);
        true
    }

    /// Unsubscribes `client` from `pattern`. Returns false if it was not subscribed.
    pub fn punsubscribe(&mut self, client: &mut Client, pattern: &[u8]) -> bool {
        // A client's patterns are a list in Redis (PUNSUBSCRIBE without arguments follows the
        // subscription order), and removing one is O(n) there too.
        if !client.patterns.shift_remove(pattern) {
            return false;
        }
        remove_pattern_subscriber(&mut self.patterns, client.id, pattern);
        true
    }

    /// Unsubscribes `client` from all its channels, in the client's order, calling `each`
    /// with every channel and the client's subscription count after dropping it.
    pub fn unsubscribe_all(&mut self, client: &mut Client, mut each: impl FnMut(&[u8], usize)) {
        let channels = std::mem::take(&mut client.channels);
        let mut left = channels.len();
        for channel in &channels {
            left -= 1;
            remove_subscriber(&mut self.channels, client.id, channel);
            each(channel, left + client.patterns.len());
        }
    }

    /// Unsubscribes `client` from all its patterns, in subscription order, calling `each`
    /// with every pattern and the client's subscription count after dropping it.
    pub fn punsubscribe_all(&mut self, client: &mut Client, mut each: impl FnMut(&[u8], usize)) {
        let patterns = std::mem::take(&mut client.patterns);
        let mut left = patterns.len();
        for pattern in &patterns {
            left -= 1;
            remove_pattern_subscriber(&mut self.patterns, client.id, pattern);
            each(pattern, client.channels.len() + left);
        }
    }

    /// Drops every subscription of a client from the registry (disconnect, RESET). The client's
    /// own lists are left alone: the caller drops or clears them.
    pub fn remove_client(&mut self, id: ClientId, client: &Client) {
        for channel in &client.channels {
            remove_subscriber(&mut self.channels, id, channel);
        }
        for pattern in &client.patterns {
            remove_pattern_subscriber(&mut self.patterns, id, pattern);
        }
    }

    /// Drops every subscription of `client`, registry and client side, without confirmations
    /// (RESET: Redis's `pubsubUnsubscribeAllChannels(c, 0)` and its pattern twin).
    pub fn drop_client_subscriptions(&mut self, client: &mut Client) {
        self.remove_client(client.id, client);
        client.channels.clear();
        client.patterns.clear();
    }

    /// Number of channels with at least one subscriber (INFO `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Number of distinct patterns with at least one subscriber (PUBSUB NUMPAT, INFO
    /// `pubsub_patterns`).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Number of clients subscribed to `channel` (pattern subscriptions not counted).
    pub fn subscriber_count(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, Vec::len)
    }

    /// Delivers `message` on `channel` (Redis `pubsubPublishMessage`): first to the channel's
    /// subscribers in subscription order, then, pattern by pattern, to the subscribers of every
    /// matching pattern. Returns the number of deliveries (a client subscribed to the channel and
    /// to a matching pattern counts twice, as in Redis).
    ///
    /// Other clients get the message through their push channel. The publishing client itself
    /// (a RESP3 client, or any client inside EXEC) gets it in `own`, its reply buffer, so it
    /// arrives before the PUBLISH reply (and inside the EXEC array), exactly where Redis 7.0
    /// writes it.
    pub fn publish(
        &self,
        clients: &BTreeMap<ClientId, Client>,
        publisher: ClientId,
        own: &mut Reply,
        channel: &[u8],
        message: &[u8],
    ) -> usize {
        let mut receivers = 0usize;
        if let Some(ids) = self.channels.get(channel) {
            let body = encode_body(&[b"message", channel, message]);
            for &id in ids {
                deliver(clients, publisher, own, id, 3, &body);
                receivers += 1;
            }
        }
        for (pattern, ids) in &self.patterns {
            if !glob_match(pattern, channel, false) {
                continue;
            }
            let body = encode_body(&[b"pmessage", pattern, channel, message]);
            for &id in ids {
                deliver(clients, publisher, own, id, 4, &body);
                receivers += 1;
            }
        }
        receivers
    }
}

/// Removes `id` from the subscribers of `channel`, and the channel once nobody listens.
fn remove_subscriber(channels: &mut HashMap<Vec<u8>, Vec<ClientId>>, id: ClientId, channel: &[u8]) {
    if let Some(ids) = channels.get_mut(channel) {
        ids.retain(|&c| c != id);
        if ids.is_empty() {
            channels.remove(channel);
        }
    }
}

/// Removes `id` from the subscribers of `pattern`, and the pattern once nobody listens.
fn remove_pattern_subscriber(
    patterns: &mut IndexMap<Vec<u8>, Vec<ClientId>>,
    id: ClientId,
    pattern: &[u8],
) {
    if let Some(ids) = patterns.get_mut(pattern) {
        ids.retain(|&c| c != id);
        if ids.is_empty() {
            patterns.swap_remove(pattern);
        }
    }
}

/// The elements of a message as bulk strings. The body is the same in RESP2 and RESP3; only the
/// header (`*n` or `>n`) differs, so it is encoded once per PUBLISH and pattern.
fn encode_body(parts: &[&[u8]]) -> Vec<u8> {
    let mut body = Reply::new(Resp::V2);
    for part in parts {
        body.bulk(part);
    }
    body.buf
}

/// Sends one message (`n` elements, already encoded in `body`) to client `id` in its protocol.
fn deliver(
    clients: &BTreeMap<ClientId, Client>,
    publisher: ClientId,
    own: &mut Reply,
    id: ClientId,
    n: usize,
    body: &[u8],
) {
    if id == publisher {
        own.push(n);
        own.raw(body);
        return;
    }
    let Some(client) = clients.get(&id) else {
        return;
    };
    let mut msg = Reply {
        buf: Vec::with_capacity(body.len() + 4),
        resp: client.resp,
    };
    msg.push(n);
    msg.raw(body);
    // The receiver is gone only while the connection is closing; the message is then moot.
    let _ = client.push_tx.send(msg.buf);
}
