//! Counters the data thread keeps for INFO (stats, commandstats, errorstats).

use std::collections::BTreeMap;

/// Calls and time spent per command (INFO commandstats).
#[derive(Debug, Default, Clone, Copy)]
pub struct CommandStat {
    /// Successful and failed calls.
    pub calls: u64,
    /// Microseconds spent executing.
    pub usec: u64,
    /// Calls rejected before execution (unknown arity, NOAUTH, ...).
    pub rejected_calls: u64,
    /// Calls that returned an error.
    pub failed_calls: u64,
}

/// Per-command statistics, found by the address of the command's static name: a lookup per
/// executed command compares integers instead of strings.
#[derive(Debug, Default)]
pub struct CommandStats(BTreeMap<usize, (&'static str, CommandStat)>);

impl CommandStats {
    /// The statistics of the command whose full name is `name` (a command table string).
    pub fn get_mut(&mut self, name: &'static str) -> &mut CommandStat {
        &mut self
            .0
            .entry(name.as_ptr() as usize)
            .or_insert((name, CommandStat::default()))
            .1
    }

    /// Every command with statistics, by name.
    pub fn sorted(&self) -> Vec<(&'static str, &CommandStat)> {
        let mut all: Vec<_> = self.0.values().map(|(name, stat)| (*name, stat)).collect();
        all.sort_unstable_by_key(|(name, _)| *name);
        all
    }

    /// Forgets everything (CONFIG RESETSTAT).
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub total_connections_received: u64,
    /// Connections refused because of `maxclients`.
    pub rejected_connections: u64,
    /// Commands processed.
    pub total_commands_processed: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Keys deleted because their TTL passed.
    pub expired_keys: u64,
    /// Key lookups that found a key.
    pub keyspace_hits: u64,
    /// Key lookups that found nothing.
    pub keyspace_misses: u64,
    /// Changes to the dataset since start (Redis `dirty`).
    pub dirty: u64,
    /// Commands sent to the propagation stream.
    pub propagated: u64,
    /// Per-command statistics, keyed by the command's full name (`config|get`).
    pub commands: CommandStats,
    /// Error replies by error code (`ERR`, `WRONGTYPE`, ...), for INFO errorstats.
    pub errors: BTreeMap<String, u64>,
    /// Error replies in total.
    pub total_error_replies: u64,
    /// Publish messages delivered (INFO pubsub fields are computed from the registry).
    pub pubsub_messages: u64,
    /// The highest `used_memory` INFO has reported (`used_memory_peak`).
    pub used_memory_peak: u64,
}

impl Stats {
    /// Counts an error reply under its code, the first word of the message.
    pub fn count_error(&mut self, msg: &str) {
        let code = msg.split(' ').next().unwrap_or("ERR");
        *self.errors.entry(code.to_string()).or_default() += 1;
        self.total_error_replies += 1;
    }
}
