//! RDB snapshots end to end, on the real `aofd` binary (always runs):
//! - SAVE writes `dump.rdb` in `dir` (LASTSAVE, `rdb_changes_since_last_save`, `rdb_saves`), and
//!   a restart with `appendonly no` loads it back (every type, TTLs; a key whose TTL passed while
//!   the server was down is skipped and counted in `rdb_last_load_keys_expired`);
//! - with `appendonly yes` the AOF is the dataset and a `dump.rdb` next to it is ignored;
//! - BGSAVE and BGREWRITEAOF: replies while a child runs, one scheduling the other, the INFO
//!   fields about children (`rdb_bgsave_in_progress`, `aof_rewrite_scheduled`, `total_forks`,
//!   `latest_fork_usec`, copy-on-write sizes);
//! - save points start a BGSAVE; SHUTDOWN (and SIGTERM) save when save points are configured,
//!   `SHUTDOWN NOSAVE` does not;
//! - DEBUG RELOAD round-trips every type with the same digest and encodings;
//! - a corrupt `dump.rdb` stops the startup with exit code 1 and a log line naming the file and
//!   the offset.

mod aof_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aof_support::{cmd, dump, pipeline, with_items, Conn, Proc, Val};

/// Starts aofd in `dir` without the AOF, with `extra` arguments after the defaults.
fn aofd_no_aof(dir: &Path, extra: &[&str]) -> Proc {
    let mut args = vec!["--appendonly", "no"];
    args.extend_from_slice(extra);
    Proc::aofd(dir, &args)
}

/// A dataset with every type in its small and large encodings, integer and binary-ish strings,
/// compressible values, TTLs and several databases.
fn every_type(c: &mut Conn) {
    let compressible = "compress me ".repeat(500);
    let long_field = "x".repeat(100);
    let db0 = vec![
        cmd(&["SELECT", "0"]),
        cmd(&["SET", "str:int", "12345"]),
        cmd(&["SET", "str:neg", "-42"]),
        cmd(&["SET", "str:embstr", "hello"]),
        cmd(&["SET", "str:raw", &"raw-".repeat(20)]),
        cmd(&["SET", "str:big", &compressible]),
        cmd(&["SET", "str:odd \r\n\t key", "\u{0}\u{1}\r\n$-1\r\n"]),
        cmd(&["SET", "str:empty", ""]),
        cmd(&["RPUSH", "list:small", "a", "b", "c", "1", "2"]),
        with_items(&["RPUSH", "list:big"], 300, |i| vec![format!("item-{i}")]),
        with_items(&["RPUSH", "list:bigval"], 5, |_| vec![compressible.clone()]),
        cmd(&["SADD", "set:int", "1", "2", "3", "-5"]),
        cmd(&["SADD", "set:str", "a", "b", "c"]),
        with_items(&["SADD", "set:bigint"], 600, |i| vec![i.to_string()]),
        with_items(&["SADD", "set:bigstr"], 200, |i| vec![format!("m{i}")]),
        cmd(&["HSET", "hash:small", "f1", "v1", "f2", "2"]),
        with_items(&["HSET", "hash:big"], 600, |i| {
            vec![format!("f{i}"), format!("v{i}")]
        }),
        cmd(&["HSET", "hash:longval", "f", &long_field, "g", "1"]),
        cmd(&["ZADD", "zset:small", "1", "a", "2.5", "b", "-3", "c"]),
        with_items(&["ZADD", "zset:big"], 200, |i| {
            vec![format!("{}.25", i), format!("member-{i}")]
        }),
        cmd(&["ZADD", "zset:inf", "inf", "x", "-inf", "y", "0", "z"]),
        cmd(&["SET", "ttl:str", "v", "EX", "10000"]),
        cmd(&["RPUSH", "ttl:list", "a", "b"]),
        cmd(&["PEXPIRE", "ttl:list", "20000000"]),
        with_items(&["HSET", "ttl:hash"], 150, |i| {
            vec![format!("f{i}"), format!("v{i}")]
        }),
        cmd(&["EXPIRE", "ttl:hash", "5000"]),
        cmd(&["ZADD", "ttl:zset", "1", "a"]),
        cmd(&["PEXPIREAT", "ttl:zset", "99999999999999"]),
        cmd(&["SELECT", "1"]),
        cmd(&["SET", "db1:k", "v1"]),
        cmd(&["SADD", "db1:s", "x", "y"]),
        cmd(&["EXPIRE", "db1:s", "7000"]),
        cmd(&["SELECT", "15"]),
        cmd(&["SET", "db15:k", "last"]),
        cmd(&["SELECT", "0"]),
    ];
    pipeline(c, &db0);
}

/// `count` plain keys (for snapshots that must take a while under `rdb-key-save-delay`).
fn many_keys(c: &mut Conn, count: usize) {
    let cmds: Vec<Vec<String>> = (0..count)
        .collect::<Vec<_>>()
        .chunks(100)
        .map(|chunk| {
            let mut v = cmd(&["MSET"]);
            for i in chunk {
                v.push(format!("key:{i}"));
                v.push(format!("value number {i} {}", "y".repeat(40)));
            }
            v
        })
        .collect();
    pipeline(c, &cmds);
}

/// Every key's OBJECT ENCODING, by database.
fn encodings(c: &mut Conn) -> BTreeMap<(usize, String), String> {
    let mut out = BTreeMap::new();
    for db in 0..16 {
        c.call(&["SELECT", &db.to_string()]);
        if let Val::Array(keys) = c.call(&["KEYS", "*"]) {
            for key in keys {
                let key = key.text();
                let enc = c.text(&["OBJECT", "ENCODING", &key]);
                out.insert((db, key), enc);
            }
        }
    }
    c.call(&["SELECT", "0"]);
    out
}

fn info(c: &mut Conn, section: &str, name: &str) -> String {
    c.info_field(section, name)
        .unwrap_or_else(|| panic!("INFO {section} has no {name}"))
}

fn info_num(c: &mut Conn, section: &str, name: &str) -> i64 {
    info(c, section, name)
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after `limit`.
fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unix_secs() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(since.as_secs()).expect("secs")
}

/// SHUTDOWN with `args` and waits for the exit; returns the exit code.
fn shutdown(p: &mut Proc, args: &[&str]) -> i32 {
    let mut c = p.conn();
    let mut cmd = vec!["SHUTDOWN"];
    cmd.extend_from_slice(args);
    let _ = c.try_call(&cmd);
    let status = p.wait_exit(Duration::from_secs(30)).expect("exits");
    status.code().unwrap_or(-1)
}

#[test]
fn save_writes_dump_rdb_and_a_restart_loads_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut a = aofd_no_aof(dir, &["--save", ""]);
    let mut c = a.conn();
    let started = c.call(&["LASTSAVE"]);
    let Val::Int(lastsave0) = started else {
        panic!("LASTSAVE: {started:?}")
    };
    assert_eq!(info_num(&mut c, "persistence", "rdb_saves"), 0);
    every_type(&mut c);
    assert!(info_num(&mut c, "persistence", "rdb_changes_since_last_save") > 20);
    let expected = dump(&mut c, 16);
    assert!(expected.len() > 20, "{expected:?}");
    let expected_enc = encodings(&mut c);

    // A key that expires before the restart but is still in the keyspace when saved (no active
    // expiry, never read): it is written with its past TTL and skipped at load.
    c.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    assert_eq!(c.text(&["SET", "soon:gone", "v", "PX", "1"]), "OK");
    std::thread::sleep(Duration::from_millis(10));
    // LASTSAVE has a resolution of one second: let a second start so that it visibly moves.
    wait_until(Duration::from_secs(3), "the next second", || {
        unix_secs() > lastsave0
    });
    assert!(!dir.join("dump.rdb").exists());
    assert_eq!(c.text(&["SAVE"]), "OK");
    assert!(dir.join("dump.rdb").exists());
    let Val::Int(lastsave1) = c.call(&["LASTSAVE"]) else {
        panic!("LASTSAVE")
    };
    assert!(lastsave1 > lastsave0, "{lastsave1} > {lastsave0}");
    assert_eq!(
        info_num(&mut c, "persistence", "rdb_last_save_time"),
        lastsave1
    );
    assert_eq!(
        info_num(&mut c, "persistence", "rdb_changes_since_last_save"),
        0
    );
    assert_eq!(info_num(&mut c, "persistence", "rdb_saves"), 1);
    assert_eq!(info(&mut c, "persistence", "rdb_last_bgsave_status"), "ok");
    // No temp file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("temp-")), "{names:?}");
    assert!(a.log_text().contains("DB saved on disk"));
    assert_eq!(shutdown(&mut a, &["NOSAVE"]), 0);
    drop(a);

    let a = aofd_no_aof(dir, &["--save", ""]);
    let mut c = a.conn();
    assert_eq!(dump(&mut c, 16), expected, "log:\n{}", a.log_text());
    assert_eq!(encodings(&mut c), expected_enc);
    assert_eq!(
        info_num(&mut c, "persistence", "rdb_last_load_keys_expired"),
        1
    );
    assert_eq!(
        info_num(&mut c, "persistence", "rdb_last_load_keys_loaded"),
        i64::try_from(expected.len()).expect("count")
    );
    let log = a.log_text();
    assert!(log.contains("DB loaded from disk"), "{log}");
    assert!(
        log.contains(&format!(
            "Done loading RDB, keys loaded: {}, keys expired: 1.",
            expected.len()
        )),
        "{log}"
    );
    // Nothing was changed by loading.
    assert_eq!(
        info_num(&mut c, "persistence", "rdb_changes_since_last_save"),
        0
    );
}

#[test]
fn with_appendonly_yes_the_aof_is_the_dataset_and_dump_rdb_is_ignored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // The AOF's dataset.
    let mut a = Proc::aofd(dir, &["--save", ""]);
    let mut c = a.conn();
    c.call(&["SET", "who", "aof"]);
    c.call(&["SET", "only-in-aof", "1"]);
    assert_eq!(shutdown(&mut a, &[]), 0);
    drop(a);
    assert!(!dir.join("dump.rdb").exists());
    // A different dataset in dump.rdb, written without the AOF (which it leaves alone).
    let mut a = aofd_no_aof(dir, &["--save", ""]);
    let mut c = a.conn();
    assert_eq!(dump(&mut c, 16), Vec::<String>::new());
    c.call(&["SET", "who", "rdb"]);
    c.call(&["SET", "only-in-rdb", "1"]);
    assert_eq!(c.text(&["SAVE"]), "OK");
    assert_eq!(shutdown(&mut a, &["NOSAVE"]), 0);
    drop(a);
    assert!(dir.join("dump.rdb").exists());

    let a = Proc::aofd(dir, &["--save", ""]);
    let mut c = a.conn();
    assert_eq!(c.text(&["GET", "who"]), "aof");
    assert_eq!(c.call(&["EXISTS", "only-in-rdb"]), Val::Int(0));
    assert_eq!(c.call(&["EXISTS", "only-in-aof"]), Val::Int(1));
    drop(a);
    // And without the AOF, the same directory starts from dump.rdb.
    let a = aofd_no_aof(dir, &["--save", ""]);
    let mut c = a.conn();
    assert_eq!(c.text(&["GET", "who"]), "rdb");
    assert_eq!(c.call(&["EXISTS", "only-in-aof"]), Val::Int(0));
}

#[test]
fn bgsave_and_bgrewriteaof_wait_for_each_other() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let a = Proc::aofd(dir, &["--save", ""]);
    let mut c = a.conn();
    many_keys(&mut c, 800);
    every_type(&mut c);
    assert_eq!(info_num(&mut c, "stats", "total_forks"), 0);
    let rewrites0 = info_num(&mut c, "persistence", "aof_rewrites");
    // About a millisecond per key: each child runs for a second or so.
    c.call(&["CONFIG", "SET", "rdb-key-save-delay", "1000"]);

    assert_eq!(
        c.call(&["BGSAVE"]),
        Val::Status("Background saving started".into())
    );
    assert_eq!(info_num(&mut c, "persistence", "rdb_bgsave_in_progress"), 1);
    assert!(info_num(&mut c, "persistence", "rdb_current_bgsave_time_sec") >= 0);
    assert_eq!(
        c.call(&["BGSAVE"]),
        Val::Error("ERR Background save already in progress".into())
    );
    assert_eq!(
        c.call(&["BGSAVE", "SCHEDULE"]),
        Val::Error("ERR Background save already in progress".into())
    );
    assert_eq!(
        c.call(&["SAVE"]),
        Val::Error("ERR Background save already in progress".into())
    );
    assert_eq!(
        c.call(&["BGSAVE", "NOW"]),
        Val::Error("ERR syntax error".into())
    );
    // A rewrite asked for while the BGSAVE runs is scheduled, and starts once it ends.
    assert_eq!(
        c.call(&["BGREWRITEAOF"]),
        Val::Status("Background append only file rewriting scheduled".into())
    );
    assert_eq!(info_num(&mut c, "persistence", "aof_rewrite_scheduled"), 1);
    assert_eq!(info_num(&mut c, "persistence", "aof_pending_rewrite"), 1);
    assert_eq!(
        info_num(&mut c, "persistence", "aof_rewrite_in_progress"),
        0
    );
    assert_eq!(info_num(&mut c, "persistence", "aof_rewrites"), rewrites0);
    wait_until(Duration::from_secs(30), "the scheduled rewrite", || {
        info_num(&mut c, "persistence", "aof_rewrites") > rewrites0
    });
    // The BGSAVE had ended successfully before the rewrite forked.
    assert_eq!(info_num(&mut c, "persistence", "rdb_bgsave_in_progress"), 0);
    assert_eq!(info(&mut c, "persistence", "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_num(&mut c, "persistence", "rdb_saves"), 1);
    assert!(dir.join("dump.rdb").exists());
    assert!(info_num(&mut c, "persistence", "rdb_last_cow_size") > 0);
    assert!(info_num(&mut c, "persistence", "rdb_last_bgsave_time_sec") >= 0);
    assert_eq!(info_num(&mut c, "persistence", "aof_rewrite_scheduled"), 0);
    assert_eq!(
        info_num(&mut c, "persistence", "aof_rewrite_in_progress"),
        1
    );
    let log = a.log_text();
    let saved = log
        .find("Background saving terminated with success")
        .expect("bgsave ended");
    let rewrite = log
        .find("Background append only file rewriting started")
        .expect("rewrite started");
    assert!(saved < rewrite, "{log}");

    // Now the rewrite runs: BGSAVE must wait (or be scheduled).
    assert_eq!(
        c.call(&["BGSAVE"]),
        Val::Error(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE \
             SCHEDULE in order to schedule a BGSAVE whenever possible."
                .into()
        )
    );
    assert_eq!(
        c.call(&["BGREWRITEAOF"]),
        Val::Error("ERR Background append only file rewriting already in progress".into())
    );
    assert_eq!(
        c.call(&["BGSAVE", "SCHEDULE"]),
        Val::Status("Background saving scheduled".into())
    );
    assert_eq!(info_num(&mut c, "persistence", "rdb_saves"), 1);
    wait_until(Duration::from_secs(30), "the scheduled BGSAVE", || {
        info_num(&mut c, "persistence", "rdb_saves") == 2
    });
    assert_eq!(
        info_num(&mut c, "persistence", "aof_rewrite_in_progress"),
        0
    );
    assert_eq!(
        info(&mut c, "persistence", "aof_last_bgrewrite_status"),
        "ok"
    );
    assert!(info_num(&mut c, "persistence", "aof_last_cow_size") > 0);
    c.call(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_until(Duration::from_secs(30), "the BGSAVE to end", || {
        info_num(&mut c, "persistence", "rdb_bgsave_in_progress") == 0
    });
    assert_eq!(info(&mut c, "persistence", "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_num(&mut c, "stats", "total_forks"), 3);
    assert!(info_num(&mut c, "stats", "latest_fork_usec") > 0);
    let log = a.log_text();
    let rewrite_done = log
        .find("Background AOF rewrite finished successfully")
        .expect("rewrite ended");
    let second = log
        .rfind("Background saving started")
        .expect("second bgsave");
    assert!(rewrite_done < second, "{log}");
    assert_eq!(
        log.matches("Background saving terminated with success")
            .count(),
        2
    );
    // With nothing running, BGSAVE starts at once again and the file is complete.
    wait_until(Duration::from_secs(10), "no child", || {
        info_num(&mut c, "persistence", "rdb_bgsave_in_progress") == 0
            && info_num(&mut c, "persistence", "aof_rewrite_in_progress") == 0
    });
    let expected = dump(&mut c, 16);
    drop(c);
    drop(a);
    let a = aofd_no_aof(dir, &["--save", ""]);
    assert_eq!(dump(&mut a.conn(), 16), expected);
}

#[test]
fn bgsave_inside_multi_is_scheduled() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = aofd_no_aof(tmp.path(), &["--save", ""]);
    let mut c = a.conn();
    c.call(&["SET", "k", "v"]);
    c.call(&["MULTI"]);
    assert_eq!(c.call(&["BGSAVE"]), Val::Status("QUEUED".into()));
    assert_eq!(
        c.call(&["EXEC"]),
        Val::Array(vec![Val::Status("Background saving scheduled".into())])
    );
    wait_until(Duration::from_secs(10), "the scheduled BGSAVE", || {
        info_num(&mut c, "persistence", "rdb_saves") == 1
            && info_num(&mut c, "persistence", "rdb_bgsave_in_progress") == 0
    });
    assert!(tmp.path().join("dump.rdb").exists());
}

#[test]
fn save_points_start_a_bgsave() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut a = aofd_no_aof(dir, &["--save", "1 1"]);
    let mut c = a.conn();
    assert_eq!(c.text(&["CONFIG", "GET", "save"]), "[save,1 1]");
    c.call(&["SET", "k", "v"]);
    a.wait_log("1 changes in 1 seconds. Saving...", Duration::from_secs(15));
    a.wait_log(
        "Background saving terminated with success",
        Duration::from_secs(15),
    );
    assert!(dir.join("dump.rdb").exists());
    assert_eq!(info_num(&mut c, "persistence", "rdb_saves"), 1);
    assert_eq!(
        info_num(&mut c, "persistence", "rdb_changes_since_last_save"),
        0
    );
    assert_eq!(info_num(&mut c, "stats", "total_forks"), 1);
    // No change, no save.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(info_num(&mut c, "persistence", "rdb_saves"), 1);
}

#[test]
fn shutdown_saves_with_save_points_and_nosave_does_not() {
    // Save points configured: SHUTDOWN saves.
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut a = aofd_no_aof(tmp.path(), &["--save", "3600 1"]);
    every_type(&mut a.conn());
    let expected = dump(&mut a.conn(), 16);
    assert_eq!(shutdown(&mut a, &[]), 0);
    assert!(a
        .log_text()
        .contains("Saving the final RDB snapshot before exiting."));
    drop(a);
    assert!(tmp.path().join("dump.rdb").exists());
    let a = aofd_no_aof(tmp.path(), &["--save", ""]);
    assert_eq!(dump(&mut a.conn(), 16), expected);
    drop(a);

    // SHUTDOWN NOSAVE: no file.
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut a = aofd_no_aof(tmp.path(), &["--save", "3600 1"]);
    a.conn().call(&["SET", "k", "v"]);
    assert_eq!(shutdown(&mut a, &["NOSAVE"]), 0);
    assert!(!tmp.path().join("dump.rdb").exists());
    drop(a);

    // No save points: no file, unless SHUTDOWN SAVE.
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut a = aofd_no_aof(tmp.path(), &["--save", ""]);
    a.conn().call(&["SET", "k", "v"]);
    assert_eq!(shutdown(&mut a, &[]), 0);
    assert!(!tmp.path().join("dump.rdb").exists());
    drop(a);
    let mut a = aofd_no_aof(tmp.path(), &["--save", ""]);
    a.conn().call(&["SET", "k", "v2"]);
    assert_eq!(shutdown(&mut a, &["SAVE"]), 0);
    assert!(tmp.path().join("dump.rdb").exists());
    drop(a);
    let a = aofd_no_aof(tmp.path(), &["--save", ""]);
    assert_eq!(a.conn().text(&["GET", "k"]), "v2");
    drop(a);

    // SIGTERM with save points saves too.
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut a = aofd_no_aof(tmp.path(), &["--save", "3600 1"]);
    a.conn().call(&["SET", "k", "term"]);
    let status = a.terminate().expect("exits");
    assert_eq!(status.code(), Some(0));
    drop(a);
    let a = aofd_no_aof(tmp.path(), &["--save", ""]);
    assert_eq!(a.conn().text(&["GET", "k"]), "term");
}

#[test]
fn debug_reload_round_trips_every_type() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = aofd_no_aof(tmp.path(), &["--save", ""]);
    let mut c = a.conn();
    every_type(&mut c);
    let digest = c.text(&["DEBUG", "DIGEST"]);
    assert_ne!(digest, "0".repeat(40));
    let expected = dump(&mut c, 16);
    let enc = encodings(&mut c);
    // The collections really come in both encodings.
    for (key, want) in [
        // Redis 7.0 lists are always quicklists (listpack lists came in 7.2).
        ("list:small", "quicklist"),
        ("list:big", "quicklist"),
        ("set:int", "intset"),
        ("set:bigint", "hashtable"),
        ("hash:small", "listpack"),
        ("hash:big", "hashtable"),
        ("hash:longval", "hashtable"),
        ("zset:small", "listpack"),
        ("zset:big", "skiplist"),
        ("str:int", "int"),
        ("str:embstr", "embstr"),
        ("str:raw", "raw"),
    ] {
        assert_eq!(
            enc.get(&(0, key.to_string())).map(String::as_str),
            Some(want),
            "{key}"
        );
    }
    assert_eq!(c.text(&["DEBUG", "RELOAD"]), "OK");
    assert_eq!(c.text(&["DEBUG", "DIGEST"]), digest);
    assert_eq!(dump(&mut c, 16), expected);
    assert_eq!(encodings(&mut c), enc);
    assert!(tmp.path().join("dump.rdb").exists());
    assert!(a.log_text().contains("DB reloaded by DEBUG RELOAD"));
    // DEBUG RELOAD's save is not a SAVE (Redis 7.0 counts only SAVE and BGSAVE).
    assert_eq!(info_num(&mut c, "persistence", "rdb_saves"), 0);
    // NOSAVE loads the file as it is: the key written since is gone.
    c.call(&["SET", "after", "1"]);
    assert_eq!(c.text(&["DEBUG", "RELOAD", "NOSAVE"]), "OK");
    assert_eq!(c.call(&["EXISTS", "after"]), Val::Int(0));
    assert_eq!(c.text(&["DEBUG", "DIGEST"]), digest);
}

#[test]
fn a_corrupt_dump_rdb_stops_the_startup() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut a = aofd_no_aof(dir, &["--save", ""]);
    every_type(&mut a.conn());
    assert_eq!(a.conn().text(&["SAVE"]), "OK");
    assert_eq!(shutdown(&mut a, &["NOSAVE"]), 0);
    drop(a);
    let path = dir.join("dump.rdb");
    let mut bytes = std::fs::read(&path).expect("dump.rdb");
    // Inside the big compressible string: the structure still parses, the checksum does not.
    let at = bytes
        .windows(7)
        .position(|w| w == b"str:big")
        .expect("key in file")
        + 40;
    bytes[at] ^= 0x5a;
    std::fs::write(&path, &bytes).expect("write");

    let mut a = Proc::aofd_nowait(dir, &["--appendonly", "no", "--save", ""]);
    let status = a.wait_exit(Duration::from_secs(30)).expect("exits");
    assert_eq!(status.code(), Some(1), "log:\n{}", a.log_text());
    let log = a.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("dump.rdb") && l.contains("offset"))
        .unwrap_or_else(|| panic!("no line names the file and offset:\n{log}"));
    assert!(line.contains(&path.display().to_string()), "{line}");
    assert!(!log.contains("Ready to accept connections"), "{log}");

    // A file cut short fails the same way.
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
    let mut a = Proc::aofd_nowait(dir, &["--appendonly", "no", "--save", ""]);
    let status = a.wait_exit(Duration::from_secs(30)).expect("exits");
    assert_eq!(status.code(), Some(1), "log:\n{}", a.log_text());
    assert!(
        a.log_text()
            .lines()
            .any(|l| l.contains("dump.rdb") && l.contains("offset")),
        "{}",
        a.log_text()
    );
}

#[test]
fn flushall_with_save_points_rewrites_dump_rdb_and_stops_a_bgsave() {
    // Redis 7.0 (`flushAllDataAndResetRDB`): with save points, FLUSHALL saves the (now empty)
    // dataset at once, so a crash right after it does not bring the keys back.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut a = aofd_no_aof(dir, &["--save", "3600 1"]);
    let mut c = a.conn();
    c.call(&["SET", "k", "v"]);
    assert_eq!(c.text(&["SAVE"]), "OK");
    c.call(&["SET", "k2", "v"]);
    assert_eq!(c.text(&["FLUSHALL"]), "OK");
    assert_eq!(
        info_num(&mut c, "persistence", "rdb_changes_since_last_save"),
        0
    );
    // Only SAVE and BGSAVE count as saves.
    assert_eq!(info_num(&mut c, "persistence", "rdb_saves"), 1);
    // A BGSAVE running at FLUSHALL is stopped (it would save the old dataset), and that is not
    // a failed save.
    many_keys(&mut c, 300);
    c.call(&["CONFIG", "SET", "rdb-key-save-delay", "100000"]);
    assert_eq!(
        c.call(&["BGSAVE"]),
        Val::Status("Background saving started".into())
    );
    assert_eq!(c.text(&["FLUSHALL"]), "OK");
    assert_eq!(info_num(&mut c, "persistence", "rdb_bgsave_in_progress"), 0);
    assert_eq!(info(&mut c, "persistence", "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_num(&mut c, "persistence", "rdb_saves"), 2);
    let names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("temp-")), "{names:?}");
    a.kill9();
    drop(a);
    let a = aofd_no_aof(dir, &["--save", ""]);
    assert_eq!(dump(&mut a.conn(), 16), Vec::<String>::new());
    drop(a);

    // Without save points FLUSHALL leaves dump.rdb alone (as Redis does).
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut a = aofd_no_aof(dir, &["--save", ""]);
    let mut c = a.conn();
    c.call(&["SET", "k", "v"]);
    assert_eq!(c.text(&["SAVE"]), "OK");
    assert_eq!(c.text(&["FLUSHALL"]), "OK");
    a.kill9();
    drop(a);
    let a = aofd_no_aof(dir, &["--save", ""]);
    assert_eq!(a.conn().text(&["GET", "k"]), "v");
    drop(a);

    // With the AOF, the FLUSHALL that saved is still in the AOF.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut a = Proc::aofd(dir, &["--save", "3600 1", "--appendfsync", "always"]);
    let mut c = a.conn();
    c.call(&["SET", "k", "v"]);
    assert_eq!(c.text(&["FLUSHALL"]), "OK");
    c.call(&["SET", "k2", "v2"]);
    a.kill9();
    drop(a);
    let a = Proc::aofd(dir, &["--save", ""]);
    let mut c = a.conn();
    assert_eq!(c.call(&["EXISTS", "k"]), Val::Int(0));
    assert_eq!(c.text(&["GET", "k2"]), "v2");
}
