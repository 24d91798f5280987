//! INFO: the text report of every section, with Redis 7.0's section names, field names and
//! field order, so that tools written for Redis (redis-py's `info()`, redis-cli, monitoring
//! agents) parse it unchanged.
//!
//! Fields describing subsystems aofd does not have (replication links, Lua, forks, tracking)
//! keep the values an idle Redis shows for them. Memory figures come from the C allocator
//! (`mallinfo2`) and `/proc/self/statm`, since Rust's allocator keeps no totals of its own.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::background::ChildKind;
use super::client::{ClientId, Peer};
use super::state::{random_u64, ServerState};

/// The version every client sees (HELLO, INFO): the Redis release whose behaviour aofd follows.
pub const REDIS_VERSION: &str = "7.0.15";

/// The sections in output order; `true` marks the ones INFO without arguments (`default`)
/// includes. `all` and `everything` include every one.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
];

/// INFO `aof_enabled`: the AOF is on, and loading is over (Redis shows 0 while loading, because
/// loading switches its AOF state off meanwhile).
fn aof_enabled(srv: &ServerState) -> bool {
    srv.aof.writer.is_some() || srv.aof.wait_rewrite
}

/// The unix time (seconds) the server started at; LASTSAVE reports it while no save has run.
pub fn start_unix_secs(srv: &ServerState) -> i64 {
    let now = unix_micros() / 1_000_000;
    now - i64::try_from(srv.started.elapsed().as_secs()).unwrap_or(0)
}

/// The current unix time in microseconds.
pub fn unix_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Redis's 24-bit LRU clock in seconds resolution (`lru_clock`, DEBUG OBJECT `lru`).
pub fn lru_clock() -> u32 {
    ((unix_micros() / 1_000_000) & ((1 << 24) - 1)) as u32
}

/// Forty random hex digits, fixed for the life of the process (`run_id`, `master_replid`).
fn process_hex_id(slot: &'static OnceLock<String>) -> &'static str {
    slot.get_or_init(|| {
        let mut s = String::with_capacity(40);
        while s.len() < 40 {
            let _ = write!(s, "{:016x}", random_u64());
        }
        s.truncate(40);
        s
    })
}

/// Generates the INFO text for the section names in `args` (none means `default`), as seen by
/// client `caller`. Unknown section names are ignored, as in Redis; the result may be empty.
pub fn generate(srv: &mut ServerState, caller: ClientId, args: &[Bytes]) -> String {
    let mut wanted = [false; SECTIONS.len()];
    if args.is_empty() {
        for (w, (_, default)) in wanted.iter_mut().zip(SECTIONS) {
            *w = *default;
        }
    }
    for arg in args {
        let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
        match name.as_str() {
            "all" | "everything" => wanted = [true; SECTIONS.len()],
            "default" => {
                for (w, (_, default)) in wanted.iter_mut().zip(SECTIONS) {
                    *w |= *default;
                }
            }
            _ => {
                if let Some(i) = SECTIONS.iter().position(|(s, _)| *s == name) {
                    wanted[i] = true;
                }
            }
        }
    }
    let mut out = String::with_capacity(4096);
    for (i, (name, _)) in SECTIONS.iter().enumerate() {
        if !wanted[i] {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *name {
            "server" => server(srv, caller, &mut out),
            "clients" => clients(srv, &mut out),
            "memory" => memory(srv, &mut out),
            "persistence" => persistence(srv, &mut out),
            "stats" => stats(srv, &mut out),
            "replication" => replication(&mut out),
            "cpu" => cpu(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "commandstats" => commandstats(srv, &mut out),
            "errorstats" => errorstats(srv, &mut out),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            _ => keyspace(srv, &mut out),
        }
    }
    out
}

/// Appends `name:value\r\n`.
macro_rules! field {
    ($out:expr, $name:expr, $value:expr) => {
        let _ = write!($out, "{}:{}\r\n", $name, $value);
    };
}

fn server(srv: &ServerState, caller: ClientId, out: &mut String) {
    static RUN_ID: OnceLock<String> = OnceLock::new();
    let tcp_port = match srv.clients.get(&caller).map(|c| &c.peer) {
        // The port the caller reached is the one really listened on (tests ask for port 0).
        Some(Peer::Tcp { local, .. }) => local.port(),
        _ => srv.config.port,
    };
    let uptime = srv.started.elapsed().as_secs();
    let executable = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    out.push_str("# Server\r\n");
    field!(out, "redis_version", REDIS_VERSION);
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", 0);
    field!(out, "redis_build_id", "0");
    field!(out, "redis_mode", "standalone");
    field!(out, "os", os_name());
    field!(out, "arch_bits", usize::BITS);
    field!(out, "monotonic_clock", "POSIX clock_gettime");
    field!(out, "multiplexing_api", "epoll");
    field!(out, "atomicvar_api", "c11-builtin");
    field!(out, "gcc_version", "0.0.0");
    field!(out, "process_id", std::process::id());
    field!(out, "process_supervised", "no");
    field!(out, "run_id", process_hex_id(&RUN_ID));
    field!(out, "tcp_port", tcp_port);
    field!(out, "server_time_usec", unix_micros());
    field!(out, "uptime_in_seconds", uptime);
    field!(out, "uptime_in_days", uptime / 86400);
    field!(out, "hz", srv.config.hz);
    field!(out, "configured_hz", srv.config.hz);
    field!(out, "lru_clock", lru_clock());
    field!(out, "executable", executable);
    field!(out, "config_file", "");
    field!(out, "io_threads_active", 0);
}

/// `uname -s -r -m`, as Redis prints it.
fn os_name() -> String {
    // SAFETY: utsname is plain old data, so all-zero bytes are a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname for the duration of the call.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "Linux".to_string();
    }
    let text = |field: &[libc::c_char]| {
        let bytes: Vec<u8> = field
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        text(&uts.sysname),
        text(&uts.release),
        text(&uts.machine)
    )
}

fn clients(srv: &ServerState, out: &mut String) {
    out.push_str("# Clients\r\n");
    field!(out, "connected_clients", srv.clients.len());
    field!(out, "cluster_connections", 0);
    field!(out, "maxclients", srv.config.maxclients);
    field!(out, "client_recent_max_input_buffer", 0);
    field!(out, "client_recent_max_output_buffer", 0);
    field!(out, "blocked_clients", srv.blocking.waiters.len());
    field!(out, "tracking_clients", 0);
    field!(out, "clients_in_timeout_table", 0);
}

/// What the process uses, in bytes: allocated by the allocator, its arenas, and resident.
struct MemoryUse {
    allocated: u64,
    active: u64,
    rss: u64,
}

/// Resident memory of the process, from `/proc/self/statm`: cheap, unlike `mallinfo2`, which
/// walks every arena and takes tens of milliseconds on a large heap. Used where the data thread
/// needs a size just before a fork (the RDB `used-mem` field, the rewrite's disk-space estimate).
pub fn resident_memory() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages.saturating_mul(page_size()))
}

/// INFO `used_memory`: bytes allocated through the C allocator. Callable from any thread (the
/// metrics scrape calls it off the data thread, since `mallinfo2` walks every arena).
pub fn used_memory() -> u64 {
    memory_use().allocated
}

fn memory_use() -> MemoryUse {
    // SAFETY: mallinfo2 takes no arguments and only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    let allocated = (info.uordblks + info.hblkhd) as u64;
    let active = (info.arena + info.hblkhd) as u64;
    let rss = resident_memory();
    MemoryUse {
        allocated,
        active: active.max(allocated),
        rss,
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// Total RAM of the machine.
fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    u64::try_from(pages)
        .unwrap_or(0)
        .saturating_mul(page_size())
}

/// Redis's `bytesToHuman`: `123B`, `1.50K`, `2.00M`, ...
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(f64, &str); 5] = [
        (1024.0, "K"),
        (1048576.0, "M"),
        (1073741824.0, "G"),
        (1099511627776.0, "T"),
        (1125899906842624.0, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    let value = n as f64;
    for (i, (unit, suffix)) in UNITS.iter().enumerate() {
        let next = UNITS.get(i + 1).map_or(f64::INFINITY, |u| u.0);
        if value < next {
            return format!("{:.2}{suffix}", value / unit);
        }
    }
    format!("{n}B")
}

/// A ratio with two decimals, 0 when the divisor is 0.
fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        return "0.00".to_string();
    }
    format!("{:.2}", a as f64 / b as f64)
}

fn memory(srv: &mut ServerState, out: &mut String) {
    let mem = memory_use();
    let used = mem.allocated;
    srv.stats.used_memory_peak = srv.stats.used_memory_peak.max(used);
    let peak = srv.stats.used_memory_peak;
    // Per-client overhead: a nominal read buffer and client structure each.
    let overhead = (srv.clients.len() as u64 * (16384 + 2048)).min(used);
    let dataset = used - overhead;
    let total = total_system_memory();
    out.push_str("# Memory\r\n");
    field!(out, "used_memory", used);
    field!(out, "used_memory_human", bytes_to_human(used));
    field!(out, "used_memory_rss", mem.rss);
    field!(out, "used_memory_rss_human", bytes_to_human(mem.rss));
    field!(out, "used_memory_peak", peak);
    field!(out, "used_memory_peak_human", bytes_to_human(peak));
    field!(
        out,
        "used_memory_peak_perc",
        format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64)
    );
    field!(out, "used_memory_overhead", overhead);
    field!(out, "used_memory_startup", 0);
    field!(out, "used_memory_dataset", dataset);
    field!(
        out,
        "used_memory_dataset_perc",
        format!("{:.2}%", dataset as f64 * 100.0 / used.max(1) as f64)
    );
    field!(out, "allocator_allocated", used);
    field!(out, "allocator_active", mem.active);
    field!(out, "allocator_resident", mem.rss);
    field!(out, "total_system_memory", total);
    field!(out, "total_system_memory_human", bytes_to_human(total));
    field!(out, "used_memory_lua", 0);
    field!(out, "used_memory_vm_eval", 0);
    field!(out, "used_memory_lua_human", "0B");
    field!(out, "used_memory_scripts_eval", 0);
    field!(out, "number_of_cached_scripts", 0);
    field!(out, "number_of_functions", 0);
    field!(out, "number_of_libraries", 0);
    field!(out, "used_memory_vm_functions", 0);
    field!(out, "used_memory_vm_total", 0);
    field!(out, "used_memory_vm_total_human", "0B");
    field!(out, "used_memory_functions", 0);
    field!(out, "used_memory_scripts", 0);
    field!(out, "used_memory_scripts_human", "0B");
    field!(out, "maxmemory", 0);
    field!(out, "maxmemory_human", "0B");
    field!(out, "maxmemory_policy", "noeviction");
    field!(out, "allocator_frag_ratio", ratio(mem.active, used));
    field!(out, "allocator_frag_bytes", mem.active - used);
    field!(out, "allocator_rss_ratio", ratio(mem.rss, mem.active));
    field!(
        out,
        "allocator_rss_bytes",
        mem.rss as i64 - mem.active as i64
    );
    field!(out, "rss_overhead_ratio", "1.00");
    field!(out, "rss_overhead_bytes", 0);
    field!(out, "mem_fragmentation_ratio", ratio(mem.rss, used));
    field!(out, "mem_fragmentation_bytes", mem.rss as i64 - used as i64);
    field!(out, "mem_not_counted_for_evict", 0);
    field!(out, "mem_replication_backlog", 0);
    field!(out, "mem_total_replication_buffers", 0);
    field!(out, "mem_clients_slaves", 0);
    field!(out, "mem_clients_normal", overhead);
    field!(out, "mem_cluster_links", 0);
    field!(out, "mem_aof_buffer", srv.aof.buffered());
    field!(out, "mem_allocator", "libc");
    field!(out, "active_defrag_running", 0);
    field!(out, "lazyfree_pending_objects", 0);
    field!(out, "lazyfreed_objects", 0);
}

fn persistence(srv: &ServerState, out: &mut String) {
    out.push_str("# Persistence\r\n");
    field!(out, "loading", u8::from(srv.loading));
    field!(out, "async_loading", 0);
    let child = srv.background.child.as_ref();
    field!(out, "current_cow_peak", child.map_or(0, |c| c.cow_peak));
    field!(out, "current_cow_size", child.map_or(0, |c| c.cow));
    field!(
        out,
        "current_cow_size_age",
        child
            .and_then(|c| c.cow_at)
            .map_or(0, |at| at.elapsed().as_secs())
    );
    field!(
        out,
        "current_fork_perc",
        format!("{:.2}", srv.background.fork_perc())
    );
    field!(
        out,
        "current_save_keys_processed",
        child.map_or(0, |c| c.keys_done)
    );
    field!(
        out,
        "current_save_keys_total",
        child.map_or(0, |c| c.keys_total)
    );
    let rdb = &srv.rdb;
    let rdb_child = child.filter(|c| c.kind == ChildKind::RdbSave);
    let aof_child = child.filter(|c| c.kind == ChildKind::AofRewrite);
    field!(out, "rdb_changes_since_last_save", srv.stats.dirty);
    field!(out, "rdb_bgsave_in_progress", u8::from(rdb_child.is_some()));
    field!(out, "rdb_last_save_time", rdb.last_save);
    field!(
        out,
        "rdb_last_bgsave_status",
        if rdb.last_bgsave_ok { "ok" } else { "err" }
    );
    field!(out, "rdb_last_bgsave_time_sec", rdb.last_bgsave_time_sec);
    field!(
        out,
        "rdb_current_bgsave_time_sec",
        rdb_child.map_or(-1, |c| c.started.elapsed().as_secs() as i64)
    );
    field!(out, "rdb_saves", rdb.saves);
    field!(out, "rdb_last_cow_size", rdb.last_cow);
    field!(
        out,
        "rdb_last_load_keys_expired",
        rdb.last_load_keys_expired
    );
    field!(out, "rdb_last_load_keys_loaded", rdb.last_load_keys_loaded);
    let aof = aof_enabled(srv);
    let rw = &srv.rewrite;
    field!(out, "aof_enabled", u8::from(aof));
    field!(
        out,
        "aof_rewrite_in_progress",
        u8::from(aof_child.is_some())
    );
    field!(out, "aof_rewrite_scheduled", u8::from(rw.scheduled));
    field!(out, "aof_last_rewrite_time_sec", rw.last_time_sec);
    field!(
        out,
        "aof_current_rewrite_time_sec",
        aof_child.map_or(-1, |c| c.started.elapsed().as_secs() as i64)
    );
    field!(
        out,
        "aof_last_bgrewrite_status",
        if rw.last_ok { "ok" } else { "err" }
    );
    field!(out, "aof_rewrites", rw.attempts);
    field!(
        out,
        "aof_rewrites_consecutive_failures",
        rw.consecutive_failures
    );
    field!(
        out,
        "aof_last_write_status",
        if super::persist::last_write_ok(srv) {
            "ok"
        } else {
            "err"
        }
    );
    field!(out, "aof_last_cow_size", rw.last_cow);
    field!(out, "module_fork_in_progress", 0);
    field!(out, "module_fork_last_cow_size", 0);
    // Redis prints these six when `appendonly` is configured on (even while loading), then the
    // loading_* fields; aofd's own aof_* fields follow Redis's (docs/durability.md).
    if srv.config.appendonly {
        super::persist::info_aof_fields(srv, out);
    }
    super::persist::info_loading_fields(srv, out);
    super::persist::info_aofd_fields(srv, out);
}

fn stats(srv: &ServerState, out: &mut String) {
    let s = &srv.stats;
    out.push_str("# Stats\r\n");
    field!(
        out,
        "total_connections_received",
        s.total_connections_received
    );
    field!(out, "total_commands_processed", s.total_commands_processed);
    field!(out, "instantaneous_ops_per_sec", 0);
    field!(out, "total_net_input_bytes", s.net_input_bytes);
    field!(out, "total_net_output_bytes", s.net_output_bytes);
    field!(out, "total_net_repl_input_bytes", 0);
    field!(out, "total_net_repl_output_bytes", 0);
    field!(out, "instantaneous_input_kbps", "0.00");
    field!(out, "instantaneous_output_kbps", "0.00");
    field!(out, "instantaneous_input_repl_kbps", "0.00");
    field!(out, "instantaneous_output_repl_kbps", "0.00");
    field!(out, "rejected_connections", s.rejected_connections);
    field!(out, "sync_full", 0);
    field!(out, "sync_partial_ok", 0);
    field!(out, "sync_partial_err", 0);
    field!(out, "expired_keys", s.expired_keys);
    field!(out, "expired_stale_perc", "0.00");
    field!(out, "expired_time_cap_reached_count", 0);
    field!(out, "expire_cycle_cpu_milliseconds", 0);
    field!(out, "evicted_keys", 0);
    field!(out, "evicted_clients", 0);
    field!(out, "total_eviction_exceeded_time", 0);
    field!(out, "current_eviction_exceeded_time", 0);
    field!(out, "keyspace_hits", s.keyspace_hits);
    field!(out, "keyspace_misses", s.keyspace_misses);
    field!(out, "pubsub_channels", srv.pubsub.channels.len());
    field!(out, "pubsub_patterns", srv.pubsub.patterns.len());
    field!(out, "pubsubshard_channels", 0);
    field!(out, "latest_fork_usec", srv.background.latest_fork_usec);
    field!(out, "total_forks", srv.background.total_forks);
    field!(out, "migrate_cached_sockets", 0);
    field!(out, "slave_expires_tracked_keys", 0);
    field!(out, "active_defrag_hits", 0);
    field!(out, "active_defrag_misses", 0);
    field!(out, "active_defrag_key_hits", 0);
    field!(out, "active_defrag_key_misses", 0);
    field!(out, "total_active_defrag_time", 0);
    field!(out, "current_active_defrag_time", 0);
    field!(out, "tracking_total_keys", 0);
    field!(out, "tracking_total_items", 0);
    field!(out, "tracking_total_prefixes", 0);
    field!(out, "unexpected_error_replies", 0);
    field!(out, "total_error_replies", s.total_error_replies);
    field!(out, "dump_payload_sanitizations", 0);
    field!(out, "total_reads_processed", 0);
    field!(out, "total_writes_processed", 0);
    field!(out, "io_threaded_reads_processed", 0);
    field!(out, "io_threaded_writes_processed", 0);
    field!(out, "reply_buffer_shrinks", 0);
    field!(out, "reply_buffer_expands", 0);
}

fn replication(out: &mut String) {
    static REPLID: OnceLock<String> = OnceLock::new();
    out.push_str("# Replication\r\n");
    field!(out, "role", "master");
    field!(out, "connected_slaves", 0);
    field!(out, "master_failover_state", "no-failover");
    field!(out, "master_replid", process_hex_id(&REPLID));
    field!(out, "master_replid2", "0".repeat(40));
    field!(out, "master_repl_offset", 0);
    field!(out, "second_repl_offset", -1);
    field!(out, "repl_backlog_active", 0);
    field!(out, "repl_backlog_size", 1048576);
    field!(out, "repl_backlog_first_byte_offset", 0);
    field!(out, "repl_backlog_histlen", 0);
}

/// `getrusage` for `who`, as (system, user) seconds.
fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: rusage is plain old data, so all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the duration of the call.
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1_000_000.0;
    (secs(usage.ru_stime), secs(usage.ru_utime))
}

fn cpu(out: &mut String) {
    // Linux's RUSAGE_THREAD: INFO runs on the data thread, Redis's "main thread".
    const RUSAGE_THREAD: libc::c_int = 1;
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (sys_children, user_children) = rusage(libc::RUSAGE_CHILDREN);
    let (sys_main, user_main) = rusage(RUSAGE_THREAD);
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys", format!("{sys:.6}"));
    field!(out, "used_cpu_user", format!("{user:.6}"));
    field!(out, "used_cpu_sys_children", format!("{sys_children:.6}"));
    field!(out, "used_cpu_user_children", format!("{user_children:.6}"));
    field!(out, "used_cpu_sys_main_thread", format!("{sys_main:.6}"));
    field!(out, "used_cpu_user_main_thread", format!("{user_main:.6}"));
}

fn commandstats(srv: &ServerState, out: &mut String) {
    out.push_str("# Commandstats\r\n");
    for (name, stat) in srv.stats.commands.sorted() {
        if stat.calls == 0 && stat.failed_calls == 0 && stat.rejected_calls == 0 {
            continue;
        }
        let per_call = if stat.calls == 0 {
            0.0
        } else {
            stat.usec as f64 / stat.calls as f64
        };
        let _ = write!(
            out,
            "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},\
             failed_calls={}\r\n",
            stat.calls, stat.usec, stat.rejected_calls, stat.failed_calls
        );
    }
}

fn errorstats(srv: &ServerState, out: &mut String) {
    out.push_str("# Errorstats\r\n");
    for (code, count) in &srv.stats.errors {
        let _ = write!(out, "errorstat_{code}:count={count}\r\n");
    }
}

fn keyspace(srv: &ServerState, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for (i, db) in srv.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "db{i}:keys={},expires={},avg_ttl=0\r\n",
            db.len(),
            db.expires.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_follow_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(916432), "894.95K");
        assert_eq!(bytes_to_human(12148736), "11.59M");
        assert_eq!(bytes_to_human(25276063744), "23.54G");
    }
}
