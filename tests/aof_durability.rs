//! AOF persistence end to end, with the real `aofd` binary and real files: writes survive a
//! restart under each fsync policy, shutdown flushes, the on-disk layout and manifest, every row
//! of the propagation table (redis-aof.md §2.3) read back from the INCR file's bytes, truncated
//! tails at startup, `-LOADING` while a big AOF loads, MISCONF on a full disk (a tmpfs in a
//! private mount namespace), DEBUG LOADAOF, CONFIG SET of the persistence parameters, and the
//! `aofd check-aof` subcommand.

mod aof_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aof_support::{decode_aof, mask_ms, read_aof, Conn, Proc, Val, AOFD};

const INCR1: &str = "appendonly.aof.1.incr.aof";

/// A server plus a connection, and how much of the INCR file was already looked at.
struct Fx {
    p: Proc,
    c: Conn,
    seen: usize,
    _tmp: tempfile::TempDir,
}

impl Fx {
    fn new(extra: &[&str]) -> Fx {
        let tmp = tempfile::tempdir().expect("tempdir");
        let p = Proc::aofd(tmp.path(), extra);
        let c = p.conn();
        Fx {
            p,
            c,
            seen: 0,
            _tmp: tmp,
        }
    }

    fn dir(&self) -> &Path {
        &self.p.dir
    }

    /// Runs the commands (each reply is awaited: the records are in the file by then).
    fn exec(&mut self, cmds: &[&[&str]]) {
        for cmd in cmds {
            self.c.call(cmd);
        }
    }

    /// The records appended since the last call, with absolute ms times masked.
    fn new_records(&mut self) -> Vec<String> {
        let bytes = read_aof(self.dir(), INCR1);
        let fresh = decode_aof(&bytes[self.seen..]);
        self.seen = bytes.len();
        fresh.iter().map(|r| mask_ms(r)).collect()
    }

    /// Runs the commands and returns the records they appended.
    fn records(&mut self, cmds: &[&[&str]]) -> Vec<String> {
        self.new_records();
        self.exec(cmds);
        self.new_records()
    }
}

/// A fixture whose file already starts with `SELECT 0` (so rows show only their own records).
fn fx() -> Fx {
    let mut f = Fx::new(&[]);
    f.exec(&[&["SET", "warmup", "1"]]);
    f.new_records();
    f
}

// ---------------------------------------------------------------------------------------------
// Restarts, shutdown, layout

fn survive_restart(policy: &str, crash: bool) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut p = Proc::aofd(tmp.path(), &["--appendfsync", policy]);
    let mut c = p.conn();
    for i in 0..50 {
        assert_eq!(c.text(&["SET", &format!("k{i}"), &format!("v{i}")]), "OK");
    }
    c.call(&["RPUSH", "list", "a", "b", "c"]);
    c.call(&["SELECT", "2"]);
    c.call(&["HSET", "h", "f", "v"]);
    if crash {
        // Process death loses nothing acknowledged under any policy: the records were written
        // (into the page cache) before the replies left.
        p.kill9();
    } else {
        assert!(p.terminate().is_some_and(|s| s.success()));
    }
    let p2 = Proc::aofd(tmp.path(), &["--appendfsync", policy]);
    let mut c = p2.conn();
    for i in 0..50 {
        assert_eq!(
            c.text(&["GET", &format!("k{i}")]),
            format!("v{i}"),
            "{policy}"
        );
    }
    assert_eq!(c.text(&["LRANGE", "list", "0", "-1"]), "[a,b,c]");
    c.call(&["SELECT", "2"]);
    assert_eq!(c.text(&["HGET", "h", "f"]), "v");
    let log = p2.log_text();
    assert!(
        log.contains("* DB loaded from incr file appendonly.aof.1.incr.aof: "),
        "{log}"
    );
    assert!(log.contains("* DB loaded from append only file: "), "{log}");
    assert!(log.contains("* Opening AOF incr file appendonly.aof.1.incr.aof on server start"));
}

#[test]
fn writes_survive_restart_always() {
    survive_restart("always", false);
    survive_restart("always", true);
}

#[test]
fn writes_survive_restart_everysec() {
    survive_restart("everysec", false);
    survive_restart("everysec", true);
}

#[test]
fn writes_survive_restart_no() {
    survive_restart("no", false);
    survive_restart("no", true);
}

#[test]
fn sigterm_flushes_fsyncs_and_exits_zero() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut p = Proc::aofd(tmp.path(), &["--appendfsync", "no"]);
    let mut c = p.conn();
    c.call(&["SET", "a", "1"]);
    let status = p.terminate().expect("exits");
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(tmp.path().join("aofd.log")).expect("log");
    let order = [
        "# Received SIGTERM scheduling shutdown...",
        "* Calling fsync() on the AOF file.",
        "# Redis is now ready to exit, bye bye...",
    ];
    let mut at = 0;
    for needle in order {
        let found = log[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}:\n{log}"));
        at += found;
    }
    assert_eq!(
        decode_aof(&read_aof(tmp.path(), INCR1)),
        ["SELECT 0", "SET a 1"]
    );
}

#[test]
fn shutdown_command_flushes_and_exits_zero() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut p = Proc::aofd(tmp.path(), &[]);
    let mut c = p.conn();
    c.call(&["SET", "a", "1"]);
    let _ = c.try_call(&["SHUTDOWN"]);
    let status = p.wait_exit(Duration::from_secs(30)).expect("exits");
    assert!(status.success());
    let log = std::fs::read_to_string(tmp.path().join("aofd.log")).expect("log");
    assert!(log.contains("# User requested shutdown..."), "{log}");
    assert!(log.contains("* Calling fsync() on the AOF file."), "{log}");
}

#[test]
fn layout_and_manifest_after_start_and_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut p = Proc::aofd(tmp.path(), &[]);
    let dir = aof_support::aof_dir(tmp.path());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("aof dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "appendonly.aof.1.base.rdb",
            "appendonly.aof.1.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    let manifest = "file appendonly.aof.1.base.rdb seq 1 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type i\n";
    assert_eq!(
        std::fs::read_to_string(dir.join("appendonly.aof.manifest")).expect("manifest"),
        manifest
    );
    let log = p.log_text();
    assert!(log.contains("* Creating AOF base file appendonly.aof.1.base.rdb on server start"));
    assert!(log.contains("* Creating AOF incr file appendonly.aof.1.incr.aof on server start"));
    let mut c = p.conn();
    assert_eq!(
        c.info_field("persistence", "aof_enabled").as_deref(),
        Some("1")
    );
    c.call(&["SET", "a", "1"]);
    assert_eq!(
        c.info_field("persistence", "aof_current_size").as_deref(),
        Some("50")
    );
    p.kill9();

    // Restart: the last INCR is reopened, not recreated, and gets a SELECT before new records.
    let p = Proc::aofd(tmp.path(), &[]);
    assert!(p
        .log_text()
        .contains("* Opening AOF incr file appendonly.aof.1.incr.aof on server start"));
    assert_eq!(
        std::fs::read_to_string(dir.join("appendonly.aof.manifest")).expect("manifest"),
        manifest
    );
    let mut c = p.conn();
    c.call(&["SET", "b", "2"]);
    assert_eq!(
        decode_aof(&read_aof(tmp.path(), INCR1)),
        ["SELECT 0", "SET a 1", "SELECT 0", "SET b 2"]
    );
    // The BASE written at the first start (an RDB of the empty dataset, 89 bytes as in Redis
    // 7.0) counts once it has been loaded.
    assert_eq!(
        c.info_field("persistence", "aof_base_size").as_deref(),
        Some("89")
    );
}

// ---------------------------------------------------------------------------------------------
// Propagation rows (redis-aof.md §2.3), one test each

#[test]
fn row_set_with_relative_or_absolute_expire_becomes_pxat() {
    let mut f = fx();
    let cases: &[&[&str]] = &[
        &["SET", "k", "v", "EX", "100"],
        &["SET", "k", "v", "PX", "100000"],
        &["SET", "k", "v", "EXAT", "9999999999"],
        &["SETEX", "k", "100", "v"],
        &["PSETEX", "k", "100000", "v"],
        &["SET", "k", "v", "EX", "100", "GET"],
    ];
    for cmd in cases {
        assert_eq!(f.records(&[cmd]), ["SET k v PXAT <ms>"], "{cmd:?}");
    }
    // The absolute time is the real one.
    let before = aof_support_now_ms();
    f.exec(&[&["SET", "t", "v", "EX", "100"]]);
    let bytes = read_aof(f.dir(), INCR1);
    let last = decode_aof(&bytes).pop().expect("record");
    let at: i64 = last.rsplit(' ').next().expect("ms").parse().expect("int");
    assert!(
        at >= before + 100_000 && at <= aof_support_now_ms() + 100_000,
        "{last}"
    );
    f.new_records();
    assert_eq!(
        f.records(&[&["SET", "k", "v", "EXAT", "9999999999"]]),
        ["SET k v PXAT <ms>"]
    );
}

fn aof_support_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

#[test]
fn row_set_pxat_keepttl_and_plain_are_unchanged() {
    let mut f = fx();
    assert_eq!(
        f.records(&[
            &["set", "k", "v"],
            &["SET", "k", "v2", "KEEPTTL"],
            &["SET", "k", "v3", "PXAT", "99999999999999"],
        ]),
        [
            "set k v",
            "SET k v2 KEEPTTL",
            "SET k v3 PXAT 99999999999999"
        ]
    );
}

#[test]
fn row_set_get_drops_get() {
    let mut f = fx();
    assert_eq!(
        f.records(&[&["SET", "k", "v", "GET"], &["SET", "k", "w", "GET", "XX"]]),
        ["SET k v", "SET k w XX"]
    );
}

#[test]
fn row_expire_family_becomes_pexpireat() {
    let mut f = fx();
    f.exec(&[&["SET", "k", "v"]]);
    f.new_records();
    assert_eq!(f.records(&[&["EXPIRE", "k", "100"]]), ["PEXPIREAT k <ms>"]);
    assert_eq!(
        f.records(&[&["PEXPIRE", "k", "200000", "GT"]]),
        ["PEXPIREAT k <ms> GT"]
    );
    assert_eq!(
        f.records(&[&["EXPIREAT", "k", "99999999999"]]),
        ["PEXPIREAT k 99999999999000"]
    );
    assert_eq!(
        f.records(&[&["pexpireat", "k", "99999999999999"]]),
        ["pexpireat k 99999999999999"]
    );
    // Refused by its flag: nothing changed, nothing logged.
    assert!(f.records(&[&["EXPIRE", "k", "100", "NX"]]).is_empty());
}

#[test]
fn row_expire_in_the_past_becomes_del() {
    let mut f = fx();
    f.exec(&[&["MSET", "a", "1", "b", "2", "c", "3"]]);
    f.new_records();
    assert_eq!(
        f.records(&[
            &["EXPIRE", "a", "-1"],
            &["PEXPIREAT", "b", "1"],
            &["EXPIREAT", "c", "1"]
        ]),
        ["DEL a", "DEL b", "DEL c"]
    );
}

#[test]
fn row_getex() {
    let mut f = fx();
    f.exec(&[&["SET", "k", "v"]]);
    f.new_records();
    assert!(f.records(&[&["GETEX", "k"]]).is_empty());
    assert_eq!(
        f.records(&[&["GETEX", "k", "EX", "100"]]),
        ["PEXPIREAT k <ms>"]
    );
    assert_eq!(f.records(&[&["GETEX", "k", "PERSIST"]]), ["PERSIST k"]);
    // No TTL left to remove: nothing changes.
    assert!(f.records(&[&["GETEX", "k", "PERSIST"]]).is_empty());
    assert_eq!(f.records(&[&["GETEX", "k", "PXAT", "1"]]), ["DEL k"]);
}

#[test]
fn row_getdel_becomes_del() {
    let mut f = fx();
    f.exec(&[&["SET", "k", "v"]]);
    f.new_records();
    assert_eq!(f.records(&[&["GETDEL", "k"]]), ["DEL k"]);
    assert!(f.records(&[&["GETDEL", "k"]]).is_empty());
}

#[test]
fn row_getset_becomes_set() {
    let mut f = fx();
    assert_eq!(f.records(&[&["GETSET", "k", "nv"]]), ["SET k nv"]);
}

#[test]
fn row_incrbyfloat_becomes_set_keepttl() {
    let mut f = fx();
    f.exec(&[&["SET", "n", "10"]]);
    f.new_records();
    assert_eq!(
        f.records(&[&["INCRBYFLOAT", "n", "0.5"]]),
        ["SET n 10.5 KEEPTTL"]
    );
}

#[test]
fn row_hincrbyfloat_becomes_hset() {
    let mut f = fx();
    f.exec(&[&["HSET", "h", "f", "1"]]);
    f.new_records();
    assert_eq!(
        f.records(&[&["HINCRBYFLOAT", "h", "f", "2.5"]]),
        ["HSET h f 3.5"]
    );
}

#[test]
fn row_spop_becomes_srem_or_del() {
    let mut f = fx();
    f.exec(&[
        &["SADD", "one", "a"],
        &["SADD", "s", "a", "b", "c"],
        &["SADD", "all", "x", "y"],
    ]);
    f.new_records();
    assert_eq!(f.records(&[&["SPOP", "one"]]), ["SREM one a"]);
    let unit = f.records(&[&["SPOP", "s", "2"]]);
    assert_eq!(unit.len(), 4, "{unit:?}");
    assert_eq!(unit[0], "MULTI");
    assert!(unit[1].starts_with("SREM s ") && unit[2].starts_with("SREM s "));
    assert_eq!(unit[3], "EXEC");
    assert_eq!(f.records(&[&["SPOP", "all", "5"]]), ["DEL all"]);
}

#[test]
fn row_blocking_pops_served_at_once_become_non_blocking() {
    let mut f = fx();
    f.exec(&[
        &["RPUSH", "l", "1", "2", "3", "4", "5", "6"],
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    ]);
    f.new_records();
    assert_eq!(f.records(&[&["BLPOP", "l", "0"]]), ["LPOP l"]);
    assert_eq!(f.records(&[&["BRPOP", "l", "0"]]), ["RPOP l"]);
    assert_eq!(
        f.records(&[&["BLMOVE", "l", "m", "LEFT", "RIGHT", "0"]]),
        ["LMOVE l m LEFT RIGHT"]
    );
    assert_eq!(
        f.records(&[&["BRPOPLPUSH", "l", "m", "0"]]),
        ["RPOPLPUSH l m"]
    );
    assert_eq!(f.records(&[&["BZPOPMIN", "z", "0"]]), ["ZPOPMIN z"]);
    assert_eq!(f.records(&[&["BZPOPMAX", "z", "0"]]), ["ZPOPMAX z"]);
}

#[test]
fn row_blocked_client_served_later_logs_the_pop_after_the_push() {
    let mut f = fx();
    let mut waiter = f.p.conn();
    waiter.send(&["BLPOP", "q", "0"]).expect("send");
    // Wait until it is registered as blocked.
    let start = Instant::now();
    while f.c.info_field("clients", "blocked_clients").as_deref() != Some("1") {
        assert!(start.elapsed() < Duration::from_secs(10), "never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
    f.exec(&[&["RPUSH", "q", "x", "y"]]);
    assert_eq!(waiter.read().expect("served").text(), "[q,x]");
    assert_eq!(f.new_records(), ["RPUSH q x y", "LPOP q"]);
}

#[test]
fn row_lmpop_and_zmpop_become_counted_pops() {
    let mut f = fx();
    f.exec(&[
        &["RPUSH", "l", "1", "2", "3"],
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    ]);
    f.new_records();
    assert_eq!(
        f.records(&[&["LMPOP", "2", "nosuch", "l", "LEFT", "COUNT", "2"]]),
        ["LPOP l 2"]
    );
    assert_eq!(
        f.records(&[&["BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "5"]]),
        ["RPOP l 1"]
    );
    assert_eq!(
        f.records(&[&["ZMPOP", "1", "z", "MAX", "COUNT", "1"]]),
        ["ZPOPMAX z 1"]
    );
    assert_eq!(
        f.records(&[&["BZMPOP", "0", "1", "z", "MIN", "COUNT", "5"]]),
        ["ZPOPMIN z 2"]
    );
}

#[test]
fn row_lazy_expiry_is_del_and_wraps_with_the_write_that_caused_it() {
    let mut f = fx();
    f.exec(&[
        &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
        &["SET", "k", "v", "PX", "1"],
        &["SET", "k2", "v", "PX", "1"],
    ]);
    std::thread::sleep(Duration::from_millis(20));
    f.new_records();
    assert_eq!(f.records(&[&["GET", "k"]]), ["DEL k"]);
    // Redis 7.0 makes the expiry and the write one unit.
    assert_eq!(
        f.records(&[&["SET", "k2", "w"]]),
        ["MULTI", "DEL k2", "SET k2 w", "EXEC"]
    );
}

#[test]
fn row_active_expiry_is_del() {
    let mut f = fx();
    f.exec(&[&["SET", "k", "v", "PX", "1"]]);
    f.new_records();
    let start = Instant::now();
    let mut got = Vec::new();
    while start.elapsed() < Duration::from_secs(10) {
        got.extend(f.new_records());
        if !got.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(got, ["DEL k"]);
}

#[test]
fn row_flushdb_and_flushall_are_always_logged() {
    let mut f = fx();
    assert_eq!(
        f.records(&[&["FLUSHDB"], &["flushall"], &["FLUSHALL", "ASYNC"]]),
        ["FLUSHDB", "flushall", "FLUSHALL ASYNC"]
    );
}

#[test]
fn row_transactions_wrap_only_units_of_several_commands() {
    let mut f = fx();
    assert_eq!(
        f.records(&[&["MULTI"], &["SET", "one", "1"], &["GET", "one"], &["EXEC"]]),
        ["SET one 1"]
    );
    assert_eq!(
        f.records(&[
            &["MULTI"],
            &["SET", "x", "1"],
            &["SELECT", "4"],
            &["SET", "y", "2"],
            &["EXEC"],
        ]),
        ["MULTI", "SET x 1", "SELECT 4", "SET y 2", "EXEC"]
    );
    f.exec(&[&["SELECT", "0"]]);
    assert_eq!(f.records(&[&["SET", "z", "3"]]), ["SELECT 0", "SET z 3"]);
    // An EXEC that changed nothing writes nothing.
    assert!(f
        .records(&[&["MULTI"], &["GET", "z"], &["EXEC"]])
        .is_empty());
}

#[test]
fn row_commands_that_change_nothing_are_not_logged() {
    let mut f = fx();
    f.exec(&[&["SET", "k", "v"]]);
    f.new_records();
    assert!(f
        .records(&[
            &["SET", "k", "w", "NX"],
            &["DEL", "nosuch"],
            &["GET", "k"],
            &["PUBLISH", "ch", "m"],
            &["SREM", "nosuch", "m"],
        ])
        .is_empty());
}

#[test]
fn row_timestamp_annotations() {
    let mut f = fx();
    assert_eq!(
        f.c.text(&["CONFIG", "SET", "aof-timestamp-enabled", "yes"]),
        "OK"
    );
    let got = f.records(&[&["SET", "a", "1"], &["SET", "b", "2"]]);
    assert!(got[0].starts_with("#TS:"), "{got:?}");
    let secs: i64 = got[0][4..].parse().expect("seconds");
    assert!((secs - aof_support_now_ms() / 1000).abs() <= 2);
    // One annotation per second at most.
    assert!(
        got.len() == 3 || (got.len() == 4 && got[2].starts_with("#TS:")),
        "{got:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Loading: truncated tails, fatal errors, LOADING replies, DEBUG LOADAOF

/// A directory with an INCR holding `SET a 1`, `SET b 2` and then `tail`.
fn dir_with_tail(tail: &[u8]) -> (tempfile::TempDir, u64) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut p = Proc::aofd(tmp.path(), &[]);
    let mut c = p.conn();
    c.call(&["SET", "a", "1"]);
    c.call(&["SET", "b", "2"]);
    assert!(p.terminate().is_some_and(|s| s.success()));
    let path = aof_support::aof_dir(tmp.path()).join(INCR1);
    let good = std::fs::metadata(&path).expect("incr").len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    std::io::Write::write_all(&mut f, tail).expect("append");
    (tmp, good)
}

#[test]
fn truncated_tail_is_cut_with_aof_load_truncated_yes() {
    let (tmp, good) = dir_with_tail(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$3\r\nba");
    let p = Proc::aofd(tmp.path(), &["--aof-load-truncated", "yes"]);
    let log = p.log_text();
    for line in [
        format!("# !!! Warning: short read while loading the AOF file {INCR1}!!!"),
        format!("# !!! Truncating the AOF {INCR1} at offset {good} !!!"),
        format!("# AOF {INCR1} loaded anyway because aof-load-truncated is enabled"),
        format!("* DB loaded from incr file {INCR1}: "),
    ] {
        assert!(log.contains(&line), "missing {line:?}:\n{log}");
    }
    let len = std::fs::metadata(aof_support::aof_dir(tmp.path()).join(INCR1))
        .expect("incr")
        .len();
    assert_eq!(len, good, "the torn record is cut on disk");
    let mut c = p.conn();
    assert_eq!(c.text(&["GET", "b"]), "2");
    assert_eq!(c.text(&["GET", "c"]), "(nil)");
}

#[test]
fn unfinished_multi_is_reverted() {
    let (tmp, good) =
        dir_with_tail(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n1\r\n");
    let p = Proc::aofd(tmp.path(), &[]);
    let log = p.log_text();
    assert!(log.contains(&format!(
        "# Revert incomplete MULTI/EXEC transaction in AOF file {INCR1}"
    )));
    assert!(log.contains(&format!(
        "# !!! Truncating the AOF {INCR1} at offset {good} !!!"
    )));
    assert_eq!(p.conn().text(&["GET", "c"]), "(nil)");
}

#[test]
fn truncated_tail_stops_startup_with_aof_load_truncated_no() {
    let (tmp, good) = dir_with_tail(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$3\r\nba");
    let mut p = Proc::aofd_nowait(tmp.path(), &["--aof-load-truncated", "no"]);
    let status = p.wait_exit(Duration::from_secs(30)).expect("exits");
    assert_eq!(status.code(), Some(1));
    let log = p.log_text();
    assert!(
        log.contains(&format!(
            "# Unexpected end of file reading the append only file {INCR1}. You can: 1) Make a \
             backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) \
             Alternatively you can set the 'aof-load-truncated' configuration option to yes and \
             restart the server."
        )) || log.contains(&format!(
            "Unexpected end of file reading the append only file {INCR1}"
        )),
        "{log}"
    );
    assert!(
        log.contains("aofd check-aof --fix"),
        "the remedy names aofd check-aof:\n{log}"
    );
    assert!(!log.contains("Ready to accept connections"));
    let len = std::fs::metadata(aof_support::aof_dir(tmp.path()).join(INCR1))
        .expect("incr")
        .len();
    assert!(len > good, "nothing is cut without aof-load-truncated");
}

#[test]
fn unknown_command_and_bad_format_stop_startup() {
    let (tmp, _) = dir_with_tail(b"*1\r\n$7\r\nFOOBAR1\r\n");
    let mut p = Proc::aofd_nowait(tmp.path(), &[]);
    assert_eq!(
        p.wait_exit(Duration::from_secs(30)).and_then(|s| s.code()),
        Some(1)
    );
    let log = p.log_text();
    assert!(
        log.contains(&format!(
            "# Unknown command 'FOOBAR1' reading the append only file {INCR1}"
        )),
        "{log}"
    );

    let (tmp, _) = dir_with_tail(b"XYZ\r\n");
    let mut p = Proc::aofd_nowait(tmp.path(), &[]);
    assert_eq!(
        p.wait_exit(Duration::from_secs(30)).and_then(|s| s.code()),
        Some(1)
    );
    let log = p.log_text();
    assert!(
        log.contains(&format!(
            "# Bad file format reading the append only file {INCR1}: make a backup of your AOF \
             file, then use aofd check-aof --fix"
        )),
        "{log}"
    );
}

/// Writes an AOF directory whose BASE holds `n` SET commands.
fn write_big_aof(dir: &Path, n: usize) -> u64 {
    let aof = aof_support::aof_dir(dir);
    std::fs::create_dir_all(&aof).expect("aof dir");
    let mut base = Vec::with_capacity(n * 48);
    base.extend_from_slice(&aof_support::encode(&["SELECT", "0"]));
    for i in 0..n {
        let k = format!("key:{i:08}");
        base.extend_from_slice(&aof_support::encode(&["SET", &k, "value-value"]));
    }
    std::fs::write(aof.join("appendonly.aof.1.base.aof"), &base).expect("base");
    std::fs::write(aof.join(INCR1), b"").expect("incr");
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .expect("manifest");
    base.len() as u64
}

#[test]
fn clients_get_loading_while_a_big_aof_loads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let n = 400_000;
    let total = write_big_aof(tmp.path(), n);
    let mut p = Proc::aofd_nowait(tmp.path(), &[]);
    let mut c = Conn::connect(p.port);
    let reply = c.call(&["PING"]);
    assert_eq!(
        reply,
        Val::Error("LOADING Redis is loading the dataset in memory".to_string()),
        "the load finished before the client could ask (make the AOF bigger)"
    );
    assert_eq!(
        c.call(&["GET", "key:00000001"]),
        Val::Error("LOADING Redis is loading the dataset in memory".to_string())
    );
    assert_eq!(
        c.call(&["SET", "x", "1"]),
        Val::Error("LOADING Redis is loading the dataset in memory".to_string())
    );
    // Commands with the `loading` flag work.
    let info = c.text(&["INFO", "persistence"]);
    assert!(info.contains("loading:1\r\n"), "{info}");
    assert!(info.contains("aof_enabled:0\r\n"), "{info}");
    assert!(
        info.contains(&format!("loading_total_bytes:{total}\r\n")),
        "{info}"
    );
    assert!(info.contains("loading_loaded_perc:"), "{info}");
    assert!(info.contains("loading_eta_seconds:"), "{info}");
    assert_eq!(c.text(&["ECHO", "hi"]), "hi");
    assert_eq!(c.text(&["SELECT", "1"]), "OK");
    assert_eq!(c.text(&["CONFIG", "GET", "appendonly"]), "[appendonly,yes]");
    assert_eq!(
        c.call(&["CONFIG", "SET", "appendonly", "no"]),
        Val::Error("LOADING Redis is loading the dataset in memory".to_string())
    );
    p.wait_log("Ready to accept connections", Duration::from_secs(120));
    c.call(&["SELECT", "0"]);
    assert_eq!(c.text(&["DBSIZE"]), n.to_string());
    assert_eq!(c.text(&["PING"]), "PONG");
    let info = c.text(&["INFO", "persistence"]);
    assert!(info.contains("loading:0\r\n") && !info.contains("loading_total_bytes"));
    assert!(
        info.contains(&format!("aof_current_size:{total}\r\n")),
        "{info}"
    );
    assert!(
        info.contains(&format!("aof_base_size:{total}\r\n")),
        "{info}"
    );
    let log = p.log_text();
    assert!(log.contains("* DB loaded from base file appendonly.aof.1.base.aof: "));
}

#[test]
fn debug_loadaof_reloads_in_place() {
    let mut f = Fx::new(&[]);
    f.exec(&[
        &["SET", "a", "1"],
        &["RPUSH", "l", "x", "y"],
        &["SELECT", "3"],
        &["SET", "b", "2"],
    ]);
    let digest = f.c.text(&["DEBUG", "DIGEST"]);
    assert_eq!(f.c.text(&["DEBUG", "LOADAOF"]), "OK");
    assert_eq!(f.c.text(&["DEBUG", "DIGEST"]), digest);
    assert_eq!(f.c.text(&["GET", "b"]), "2");
    assert!(f
        .p
        .log_text()
        .contains("# Append Only File loaded by DEBUG LOADAOF"));
    // Logging goes on in the same INCR.
    f.exec(&[&["SET", "c", "3"]]);
    assert_eq!(f.c.text(&["DEBUG", "LOADAOF"]), "OK");
    assert_eq!(f.c.text(&["GET", "c"]), "3");
}

// ---------------------------------------------------------------------------------------------
// CONFIG SET, INFO

#[test]
fn config_set_persistence_parameters() {
    let mut f = fx();
    let c = &mut f.c;
    assert_eq!(c.text(&["CONFIG", "SET", "appendfsync", "always"]), "OK");
    assert_eq!(
        c.info_field("persistence", "aof_fsync_policy").as_deref(),
        Some("always")
    );
    c.call(&["SET", "a", "1"]);
    assert_eq!(
        c.info_field("persistence", "aof_unsynced_bytes").as_deref(),
        Some("0")
    );
    assert_eq!(c.text(&["CONFIG", "SET", "appendfsync", "no"]), "OK");
    assert_eq!(
        c.info_field("persistence", "aof_fsync_policy").as_deref(),
        Some("no")
    );
    assert_eq!(c.text(&["CONFIG", "SET", "appendfsync", "everysec"]), "OK");
    let info = c.text(&["INFO", "persistence"]);
    for field in [
        "aof_enabled:1",
        "aof_last_write_status:ok",
        "aof_pending_rewrite:0",
        "aof_buffer_length:0",
        "aof_pending_bio_fsync:",
        "aof_delayed_fsync:0",
        "aof_fsync_latency_last_usec:",
        "aof_fsync_latency_max_usec:",
        "aof_unsynced_age_ms:",
        "aof_unsynced_age_bound_ms:2000",
    ] {
        assert!(info.contains(field), "{field} in {info}");
    }
    assert!(c.text(&["INFO", "memory"]).contains("mem_aof_buffer:0\r\n"));
    // appendonly yes at runtime is refused; no stops logging cleanly.
    assert_eq!(c.text(&["CONFIG", "SET", "appendonly", "no"]), "OK");
    let size = read_aof(&f.p.dir, INCR1).len();
    let c = &mut f.c;
    c.call(&["SET", "after", "1"]);
    assert_eq!(
        read_aof(&f.p.dir, INCR1).len(),
        size,
        "nothing logged after appendonly no"
    );
    let info = c.text(&["INFO", "persistence"]);
    assert!(
        info.contains("aof_enabled:0") && !info.contains("aof_current_size"),
        "{info}"
    );
    // appendonly yes at runtime: the rewrite writes a new BASE (the dataset so far) and the
    // temp INCR becomes the next INCR.
    assert_eq!(c.text(&["CONFIG", "SET", "appendonly", "yes"]), "OK");
    let info = c.text(&["INFO", "persistence"]);
    assert!(info.contains("aof_enabled:1"), "{info}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = c.text(&["INFO", "persistence"]);
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}");
            break;
        }
        assert!(Instant::now() < deadline, "{info}");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.call(&["SET", "after-on", "2"]);
    let manifest = String::from_utf8(read_aof(&f.p.dir, "appendonly.aof.manifest")).unwrap();
    assert_eq!(
        manifest,
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let incr = decode_aof(&read_aof(&f.p.dir, "appendonly.aof.2.incr.aof"));
    assert_eq!(incr, vec!["SELECT 0", "SET after-on 2"]);
    assert!(f
        .p
        .log_text()
        .contains("* Calling fsync() on the AOF file."));
}

// ---------------------------------------------------------------------------------------------
// Disk full: a tmpfs in a private mount namespace

/// Whether a private mount namespace can be used (root, `unshare -m`, `nsenter`). Without it the
/// disk-full tests are skipped — unless `AOFD_DISKFULL=1` says they must run, then they fail.
fn private_tmpfs_usable() -> bool {
    let required = std::env::var("AOFD_DISKFULL").is_ok_and(|v| v == "1");
    let usable = Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("nsenter").arg("--version").output().is_ok();
    if !usable {
        assert!(
            !required,
            "AOFD_DISKFULL=1 but `unshare -m` / `nsenter` cannot be used here (needs root)"
        );
        println!(
            "disk-full test skipped: unshare -m is not available (set AOFD_DISKFULL=1 to require it)"
        );
    }
    usable
}

/// Starts aofd with its data directory on a 256 KiB tmpfs mounted in a private mount namespace:
/// the shell mounts it, then becomes aofd (exec keeps the PID, so the guard kills aofd itself).
fn aofd_on_small_tmpfs(tmp: &Path, policy: &str) -> (Proc, std::path::PathBuf) {
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let port = aof_support::free_port();
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs '{d}' && exec '{aofd}' --port {port} --bind 127.0.0.1 \
         --dir '{d}' --appendonly yes --appendfsync {policy} --enable-debug-command yes \
         --logfile '{log}'",
        d = data.display(),
        aofd = AOFD,
        log = tmp.join("aofd.log").display(),
    );
    let args: Vec<String> = ["-m", "--propagation", "private", "sh", "-c", &script]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut p = Proc::spawn("unshare", &args, tmp, port, "outer.log");
    p.log = tmp.join("aofd.log");
    p.log_start = 0;
    p.wait_log("Ready to accept connections", Duration::from_secs(30));
    (p, data)
}

#[test]
fn disk_full_under_always_exits_without_acknowledging() {
    if !private_tmpfs_usable() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut p, _data) = aofd_on_small_tmpfs(tmp.path(), "always");
    let mut c = p.conn();
    let value = "x".repeat(8 * 1024);
    let mut failed = false;
    for i in 0..200 {
        match c.try_call(&["SET", &format!("k{i}"), &value]) {
            Ok(Val::Status(s)) if s == "OK" => {}
            Ok(other) => panic!("unexpected reply {other:?}"),
            // The connection closed with no reply: the failed write was never acknowledged.
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the 256 KiB tmpfs filled up");
    let status = p.wait_exit(Duration::from_secs(30)).expect("exits");
    assert_eq!(status.code(), Some(1));
    let log = p.log_text();
    assert!(
        log.contains(
            "# Can't recover from AOF write error when the AOF fsync policy is 'always'. \
             Exiting..."
        ),
        "{log}"
    );
}

#[test]
fn disk_full_gives_misconf_then_recovers_without_losing_anything() {
    if !private_tmpfs_usable() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut p, data) = aofd_on_small_tmpfs(tmp.path(), "everysec");
    let mut writer = p.conn();
    let mut other = p.conn();
    let value = "x".repeat(8 * 1024);
    let mut acked = Vec::new();
    let mut stuck = None;
    writer.set_timeout(Some(Duration::from_millis(1500)));
    for i in 0..200 {
        let key = format!("k{i}");
        match writer.try_call(&["SET", &key, &value]) {
            Ok(Val::Status(s)) if s == "OK" => acked.push(key),
            Ok(other_reply) => panic!("unexpected reply {other_reply:?}"),
            // No reply: its record could not be written, so it is not acknowledged.
            Err(_) => {
                stuck = Some(key);
                break;
            }
        }
    }
    let stuck = stuck.expect("the 256 KiB tmpfs filled up");
    assert!(!acked.is_empty());
    let misconf =
        Val::Error("MISCONF Errors writing to the AOF file: No space left on device".to_string());
    assert_eq!(other.call(&["SET", "other", "1"]), misconf);
    assert_eq!(other.call(&["PING"]), misconf);
    assert_eq!(other.text(&["GET", &acked[0]]), value, "reads keep working");
    assert_eq!(
        other
            .info_field("persistence", "aof_last_write_status")
            .as_deref(),
        Some("err")
    );
    // Space comes back: grow the tmpfs from inside the namespace.
    let status = Command::new("nsenter")
        .args([
            "-t",
            &p.pid().to_string(),
            "-m",
            "mount",
            "-o",
            "remount,size=16m",
        ])
        .arg(&data)
        .status()
        .expect("nsenter");
    assert!(status.success());
    writer.set_timeout(Some(Duration::from_secs(30)));
    assert_eq!(
        writer
            .read()
            .expect("the stuck write is acknowledged")
            .text(),
        "OK"
    );
    acked.push(stuck);
    p.wait_log(
        "AOF write error looks solved, Redis can write again.",
        Duration::from_secs(30),
    );
    assert_eq!(other.text(&["SET", "other", "1"]), "OK");
    assert_eq!(other.text(&["PING"]), "PONG");
    assert_eq!(
        other
            .info_field("persistence", "aof_last_write_status")
            .as_deref(),
        Some("ok")
    );
    // Nothing acknowledged was lost: reload from the files on the tmpfs.
    assert_eq!(other.text(&["DEBUG", "LOADAOF"]), "OK");
    for key in &acked {
        assert_eq!(
            other.text(&["STRLEN", key]),
            value.len().to_string(),
            "{key}"
        );
    }
    assert_eq!(other.text(&["GET", "other"]), "1");
    let log = p.log_text();
    assert!(
        log.contains("# Short write while writing to the AOF file")
            || log.contains("# Error writing to the AOF file: No space left on device"),
        "{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// aofd check-aof

#[test]
fn check_aof_subcommand() {
    let (tmp, good) = dir_with_tail(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$3\r\nba");
    let manifest = aof_support::aof_dir(tmp.path()).join("appendonly.aof.manifest");
    let out = Command::new(AOFD)
        .arg("check-aof")
        .arg(&manifest)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Start checking Multi Part AOF"), "{text}");
    assert!(
        text.contains(&format!(
            "AOF {INCR1} is not valid. Use the --fix option to try fixing it."
        )),
        "{text}"
    );
    let out = Command::new(AOFD)
        .args(["check-aof", "--fix", "--yes"])
        .arg(&manifest)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("All AOF files and manifest are valid"),
        "{text}"
    );
    let len = std::fs::metadata(aof_support::aof_dir(tmp.path()).join(INCR1))
        .expect("incr")
        .len();
    assert_eq!(len, good);
}

#[test]
fn a_rewrite_that_would_not_fit_on_disk_is_refused() {
    if !private_tmpfs_usable() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (p, data) = aofd_on_small_tmpfs(tmp.path(), "everysec");
    let mut c = p.conn();
    // 20 x 8 KiB in the INCR leaves under 100 KiB free on the 256 KiB file system: less than
    // the new BASE would need.
    let value = "x".repeat(8 * 1024);
    for i in 0..20 {
        assert_eq!(c.text(&["SET", &format!("k{i}"), &value]), "OK");
    }
    // The tmpfs is visible inside aofd's mount namespace only.
    let ls = || {
        let out = Command::new("nsenter")
            .args(["-t", &p.pid().to_string(), "-m", "sh", "-c"])
            .arg(format!(
                "ls '{d}/appendonlydir' && cat '{d}/appendonlydir/appendonly.aof.manifest'",
                d = data.display()
            ))
            .output()
            .expect("nsenter");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let before = ls();
    assert!(before.contains("appendonly.aof.1.incr.aof"), "{before}");
    let refused = c.call(&["BGREWRITEAOF"]);
    let Val::Error(text) = refused else {
        panic!("expected an error, got {refused:?}");
    };
    assert!(
        text.starts_with(
            "ERR Can't execute an AOF background rewriting. Not enough disk space for the AOF \
             rewrite: "
        ),
        "{text}"
    );
    assert!(
        text.contains("bytes free and the new base file needs about"),
        "{text}"
    );
    // Nothing changed: no fork, no new INCR, the same manifest, and the data is all there.
    assert_eq!(
        c.info_field("persistence", "aof_rewrites").as_deref(),
        Some("0")
    );
    assert_eq!(
        c.info_field("persistence", "aof_rewrite_in_progress")
            .as_deref(),
        Some("0")
    );
    assert_eq!(ls(), before);
    assert_eq!(c.text(&["DBSIZE"]), "20");
    assert!(p
        .log_text()
        .contains("Not enough disk space for the AOF rewrite"));
}
