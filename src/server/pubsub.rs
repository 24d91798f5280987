//! Channel and pattern subscriptions: which clients receive a PUBLISHed message.

use std::collections::HashMap;

use super::client::{Client, ClientId};

/// The pub/sub registry. Placeholder shape; the pub/sub work owns this file.
#[derive(Debug, Default)]
pub struct PubSub {
    /// Subscribers per channel, in subscription order.
    pub channels: HashMap<Vec<u8>, Vec<ClientId>>,
    /// Subscribers per pattern, in subscription order.
    pub patterns: HashMap<Vec<u8>, Vec<ClientId>>,
}

impl PubSub {
    /// Drops every subscription of a disconnecting client.
    pub fn remove_client(&mut self, id: ClientId, client: &Client) {
        for ch in &client.channels {
            if let Some(ids) = self.channels.get_mut(ch) {
                ids.retain(|&c| c != id);
                if ids.is_empty() {
                    self.channels.remove(ch);
                }
            }
        }
        for p in &client.patterns {
            if let Some(ids) = self.patterns.get_mut(p) {
                ids.retain(|&c| c != id);
                if ids.is_empty() {
                    self.patterns.remove(p);
                }
            }
        }
    }
}
