//! The fork-based AOF rewrite end to end, with the real `aofd` binary, real child processes and
//! real files (reference redis-aof.md §3.4 and §4): every type survives a rewrite and a restart
//! in both BASE formats; writes acknowledged while the child runs are kept; a killed child is
//! counted, cleaned up after and followed by a successful rewrite; the back-off after three
//! failures; a crash of the parent at each step of installing the new BASE loses nothing; the
//! automatic trigger on both sides of its threshold; `CONFIG SET appendonly` at runtime;
//! SHUTDOWN and SIGTERM while a child runs; and BGREWRITEAOF's replies.

mod aof_support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aof_support::{aof_dir, cmd, decode_aof, dump, pipeline, read_aof, Conn, Proc, Val};

/// How long any awaited condition may take on a loaded 2-core machine.
const LIMIT: Duration = Duration::from_secs(60);

const STARTED: &str = "Background append only file rewriting started";
const MANIFEST: &str = "appendonly.aof.manifest";
const FORMAT_MARKER: &str = "appendonly.aof.aofd-format";

// ---------------------------------------------------------------------------------------------
// Helpers

/// Polls `cond` every 10 ms until it holds; panics with `what` after [`LIMIT`].
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One `INFO persistence` field.
fn info(c: &mut Conn, name: &str) -> String {
    c.info_field("persistence", name)
        .unwrap_or_else(|| panic!("INFO persistence has no {name}"))
}

fn info_u64(c: &mut Conn, name: &str) -> u64 {
    info(c, name).parse().expect("a number")
}

/// Waits until `aof_rewrites` reached `attempts` and no rewrite runs or is scheduled.
fn wait_rewrite_done(c: &mut Conn, attempts: u64) {
    wait_for(&format!("rewrite #{attempts} to finish"), || {
        info_u64(c, "aof_rewrites") >= attempts
            && info(c, "aof_rewrite_in_progress") == "0"
            && info(c, "aof_rewrite_scheduled") == "0"
    });
    assert_eq!(info_u64(c, "aof_rewrites"), attempts);
}

/// The manifest's lines.
fn manifest(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(aof_dir(dir).join(MANIFEST))
        .expect("manifest")
        .lines()
        .map(str::to_string)
        .collect()
}

fn line(name: &str, seq: u32, kind: char) -> String {
    format!("file {name} seq {seq} type {kind}")
}

/// The sorted names in a directory.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The rewrite child's temp files (`temp-rewriteaof-*`) in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| n.starts_with("temp-rewriteaof-"))
        .collect()
}

/// The children of `pid` (what `pgrep -P` finds): from `/proc/<pid>/task/*/children`, or by
/// scanning `/proc` where the kernel lacks that file.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut have_children_file = false;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                have_children_file = true;
                out.extend(s.split_whitespace().filter_map(|x| x.parse::<u32>().ok()));
            }
        }
    }
    if !have_children_file {
        for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
            if let Ok(other) = e.file_name().to_string_lossy().parse::<u32>() {
                if ppid_of(other) == Some(pid) {
                    out.push(other);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The parent pid of a live (or zombie) process.
fn ppid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The running rewrite child of `p`: exactly one child process, whose parent is aofd, and the
/// pid the log announced.
fn rewrite_child(p: &Proc) -> u32 {
    let mut kids = Vec::new();
    wait_for("the rewrite child to appear", || {
        kids = children_of(p.pid());
        !kids.is_empty()
    });
    assert_eq!(kids.len(), 1, "aofd has one child: {kids:?}");
    let child = kids[0];
    assert_eq!(ppid_of(child), Some(p.pid()), "the child's parent is aofd");
    assert!(
        p.log_text().contains(&format!(
            "Background append only file rewriting started by pid {child}"
        )),
        "{}",
        p.log_text()
    );
    child
}

/// Waits until the process `pid` no longer exists (not even as a zombie).
fn wait_gone(pid: u32) {
    wait_for(&format!("process {pid} to be gone"), || {
        !Path::new(&format!("/proc/{pid}")).exists()
    });
}

fn sigkill(pid: u32) {
    let pid = i32::try_from(pid).expect("pid");
    // SAFETY: kill(2) on the pid of aofd's child, which the test just found in /proc.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// A command with binary arguments.
fn call_bin(c: &mut Conn, args: &[&[u8]]) -> Val {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    c.send_raw(&out).expect("send");
    c.read().expect("reply")
}

/// `n` plain string keys `fill:<i>` (so a rewrite with `rdb-key-save-delay` lasts).
fn fill(c: &mut Conn, n: usize) {
    let cmds: Vec<Vec<String>> = (0..n)
        .map(|i| vec!["SET".into(), format!("fill:{i}"), format!("value-{i}")])
        .collect();
    pipeline(c, &cmds);
}

fn digest(c: &mut Conn) -> String {
    c.text(&["DEBUG", "DIGEST"])
}

/// Starts aofd like [`Proc::aofd`], with extra environment variables.
fn aofd_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut p = Proc::aofd_env_nowait(dir, extra, env);
    p.wait_log("Ready to accept connections", LIMIT);
    p
}

// ---------------------------------------------------------------------------------------------
// 1. Every type through a rewrite and a restart, both BASE formats

const BIN_KEY: &[u8] = b"bin\x00\xff\xfe\r\n key";
const BIN_VAL: &[u8] = b"\x00\x01\r\n\xff\x80 value";

/// Every type and encoding, binary keys and values, TTLs, several databases.
// One `push` per command reads better than one long `vec![]`.
#[allow(clippy::vec_init_then_push)]
fn populate_all_types(c: &mut Conn) {
    let long = "L".repeat(100);
    let mut cmds: Vec<Vec<String>> = Vec::new();
    // Strings: raw, embedded, int-encoded, negative, float text, long.
    cmds.push(cmd(&["SET", "str", "hello"]));
    cmds.push(cmd(&["SET", "int", "12345"]));
    cmds.push(cmd(&["SET", "negint", "-7"]));
    cmds.push(cmd(&["SET", "bigint", "9223372036854775807"]));
    cmds.push(cmd(&["SET", "float", "3.14"]));
    cmds.push(cmd(&["SET", "empty", ""]));
    cmds.push(cmd(&["SET", "longstr", &long]));
    // Lists: small, and large (>128 elements, values >64 bytes).
    cmds.push(cmd(&["RPUSH", "smalllist", "a", "b", "c", "1", "2"]));
    let mut big = vec!["RPUSH".to_string(), "biglist".to_string()];
    for i in 0..300 {
        big.push(if i % 10 == 0 {
            format!("{i}-{long}")
        } else {
            i.to_string()
        });
    }
    cmds.push(big);
    cmds.push(cmd(&["RPUSH", "longvals", &long, "x", &long]));
    // Sets: intset, hashtable (too many integers), strings.
    cmds.push(cmd(&["SADD", "intset", "1", "2", "3", "-5", "100000"]));
    let mut bigset = vec!["SADD".to_string(), "bigintset".to_string()];
    bigset.extend((0..600).map(|i| i.to_string()));
    cmds.push(bigset);
    cmds.push(cmd(&["SADD", "strset", "a", "b", "c", &long]));
    // Sorted sets: listpack and skiplist, with inf/-inf and fractional scores.
    cmds.push(cmd(&[
        "ZADD", "zsmall", "1", "a", "2.5", "b", "-inf", "ninf", "+inf", "pinf",
    ]));
    let mut bigz = vec!["ZADD".to_string(), "zbig".to_string()];
    for i in 0..200 {
        bigz.push(format!("{}", f64::from(i) / 4.0 - 10.0));
        bigz.push(format!("m{i}"));
    }
    bigz.extend(["-inf", "minf", "inf", "pinf", "0.1", &long].map(str::to_string));
    cmds.push(bigz);
    // Hashes: listpack and hashtable (many fields, long values).
    cmds.push(cmd(&["HSET", "hsmall", "f1", "v1", "f2", "2"]));
    let mut bigh = vec!["HSET".to_string(), "hbig".to_string()];
    for i in 0..200 {
        bigh.push(format!("field{i}"));
        bigh.push(format!("v{i}"));
    }
    cmds.push(bigh);
    cmds.push(cmd(&["HSET", "hlongval", "f", &long]));
    // TTLs on several types.
    cmds.push(cmd(&["EXPIRE", "str", "100000"]));
    cmds.push(cmd(&["PEXPIRE", "biglist", "50000000"]));
    cmds.push(cmd(&["EXPIRE", "zbig", "99999"]));
    cmds.push(cmd(&["EXPIRE", "hsmall", "88888"]));
    cmds.push(cmd(&["EXPIRE", "intset", "77777"]));
    cmds.push(cmd(&["EXPIRE", "int", "66666"]));
    // Other databases.
    cmds.push(cmd(&["SELECT", "1"]));
    cmds.push(cmd(&["SET", "k1", "v1"]));
    cmds.push(cmd(&["LPUSH", "l", "x", "y"]));
    cmds.push(cmd(&["SELECT", "5"]));
    cmds.push(cmd(&["HSET", "h", "a", "1"]));
    cmds.push(cmd(&["ZADD", "z", "1", "m"]));
    cmds.push(cmd(&["EXPIRE", "h", "7777"]));
    cmds.push(cmd(&["SELECT", "15"]));
    cmds.push(cmd(&["SET", "last", "v"]));
    cmds.push(cmd(&["SADD", "s", "only"]));
    cmds.push(cmd(&["SELECT", "0"]));
    pipeline(c, &cmds);
    // Binary keys, fields and values (not UTF-8: sent as raw bytes).
    assert_eq!(
        call_bin(c, &[b"SET", BIN_KEY, BIN_VAL]),
        Val::Status("OK".into())
    );
    assert_eq!(call_bin(c, &[b"EXPIRE", BIN_KEY, b"55555"]), Val::Int(1));
    assert_eq!(
        call_bin(c, &[b"HSET", b"binhash", BIN_KEY, BIN_VAL]),
        Val::Int(1)
    );
    assert_eq!(
        call_bin(
            c,
            &[b"RPUSH", BIN_KEY.get(..6).unwrap_or_default(), BIN_VAL]
        ),
        Val::Int(1)
    );
}

/// The binary keys read back byte for byte.
fn check_binary(c: &mut Conn) {
    assert_eq!(call_bin(c, &[b"GET", BIN_KEY]), Val::Bulk(BIN_VAL.to_vec()));
    assert!(matches!(call_bin(c, &[b"TTL", BIN_KEY]), Val::Int(n) if n > 50000));
    assert_eq!(
        call_bin(c, &[b"HGET", b"binhash", BIN_KEY]),
        Val::Bulk(BIN_VAL.to_vec())
    );
    assert_eq!(
        call_bin(c, &[b"LINDEX", BIN_KEY.get(..6).unwrap_or_default(), b"0"]),
        Val::Bulk(BIN_VAL.to_vec())
    );
}

fn roundtrip(preamble: bool, auto_gc: bool) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let args = [
        "--aof-use-rdb-preamble",
        if preamble { "yes" } else { "no" },
        "--aof-disable-auto-gc",
        if auto_gc { "no" } else { "yes" },
    ];
    let mut p = Proc::aofd(dir, &args);
    let mut c = p.conn();
    populate_all_types(&mut c);
    let before = dump(&mut c, 16);
    let before_digest = digest(&mut c);
    assert_eq!(before.len(), 27, "{before:#?}");

    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    wait_rewrite_done(&mut c, 1);
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info(&mut c, "aof_rewrites_consecutive_failures"), "0");
    assert_eq!(dump(&mut c, 16), before, "after the rewrite");
    assert_eq!(digest(&mut c), before_digest);
    check_binary(&mut c);

    let ext = if preamble { "rdb" } else { "aof" };
    let base2 = format!("appendonly.aof.2.base.{ext}");
    let base1 = format!("appendonly.aof.1.base.{ext}");
    let incr1 = "appendonly.aof.1.incr.aof";
    let incr2 = "appendonly.aof.2.incr.aof";
    let log = p.log_text();
    let pid = log
        .split("Background append only file rewriting started by pid ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the child's pid is logged");
    assert!(
        log.contains(&format!(
            "Successfully renamed the temporary AOF base file temp-rewriteaof-bg-{pid}.aof into \
             {base2}"
        )),
        "{log}"
    );
    assert!(log.contains("Background AOF rewrite finished successfully"));
    if auto_gc {
        assert_eq!(manifest(dir), [line(&base2, 2, 'b'), line(incr2, 2, 'i')]);
        assert_eq!(listing(&aof_dir(dir)), [base2.as_str(), incr2, MANIFEST]);
        assert!(log.contains(&format!(
            "Removing the history file {incr1} in the background"
        )));
        assert!(log.contains(&format!(
            "Removing the history file {base1} in the background"
        )));
    } else {
        // Redis's order: the BASE, then the history list (each entry added at its head),
        // then the INCRs.
        assert_eq!(
            manifest(dir),
            [
                line(&base2, 2, 'b'),
                line(incr1, 1, 'h'),
                line(&base1, 1, 'h'),
                line(incr2, 2, 'i'),
            ]
        );
        assert_eq!(
            listing(&aof_dir(dir)),
            [base1.as_str(), incr1, base2.as_str(), incr2, MANIFEST]
        );
    }
    assert!(temp_files(dir).is_empty(), "{:?}", listing(dir));
    // The BASE's content is in the configured format.
    let base = read_aof(dir, &base2);
    if preamble {
        assert!(base.starts_with(b"REDIS0010"), "an RDB BASE");
    } else {
        let records = decode_aof(&base);
        assert_eq!(records.first().map(String::as_str), Some("SELECT 0"));
        assert!(records.iter().any(|r| r.starts_with("RPUSH biglist ")));
        assert!(records.iter().any(|r| r.starts_with("PEXPIREAT str ")));
        assert!(records.contains(&"SELECT 15".to_string()));
    }
    // Writes after the rewrite go to the new INCR.
    assert_eq!(c.text(&["SET", "after", "rewrite"]), "OK");
    assert_eq!(
        decode_aof(&read_aof(dir, incr2)),
        ["SELECT 0", "SET after rewrite"]
    );
    let expected = dump(&mut c, 16);
    let expected_digest = digest(&mut c);
    drop(c);
    assert!(p.terminate().is_some_and(|s| s.success()));

    let mut p = Proc::aofd(dir, &args);
    let log = p.log_text();
    assert!(
        log.contains(&format!("DB loaded from base file {base2}")),
        "{log}"
    );
    assert!(log.contains(&format!("Opening AOF incr file {incr2} on server start")));
    let mut c = p.conn();
    assert_eq!(dump(&mut c, 16), expected, "after a restart");
    assert_eq!(digest(&mut c), expected_digest);
    check_binary(&mut c);
    if !auto_gc {
        // History is kept across the restart; turning the automatic removal back on removes
        // it (Redis `updateAofAutoGCEnabled`).
        assert_eq!(manifest(dir).len(), 4);
        assert_eq!(
            c.text(&["CONFIG", "SET", "aof-disable-auto-gc", "no"]),
            "OK"
        );
        wait_for("history removal", || manifest(dir).len() == 2);
        assert_eq!(manifest(dir), [line(&base2, 2, 'b'), line(incr2, 2, 'i')]);
        // Plus the data-directory format marker (migrations/), which Redis never reads.
        assert_eq!(
            listing(&aof_dir(dir)),
            [base2.as_str(), incr2, FORMAT_MARKER, MANIFEST]
        );
    }
    drop(c);
    assert!(p.terminate().is_some_and(|s| s.success()));
}

#[test]
fn every_type_survives_a_rewrite_and_a_restart_with_rdb_preamble() {
    roundtrip(true, true);
}

#[test]
fn every_type_survives_a_rewrite_and_a_restart_with_resp_base_and_history_kept() {
    roundtrip(false, false);
}

// ---------------------------------------------------------------------------------------------
// 2. Writers during a rewrite

/// Writes steps 1, 2, ... until `stop`: `INCR ctr:<id>`, `RPUSH list:<id> <n>`,
/// `SET s:<id>:<n> v<n>`, each reply checked. Publishes the last fully acknowledged step.
fn writer(port: u16, id: usize, acked: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    let mut c = Conn::connect(port);
    let (ctr, list) = (format!("ctr:{id}"), format!("list:{id}"));
    let mut n: i64 = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let s = n.to_string();
        assert_eq!(c.call(&["INCR", &ctr]), Val::Int(n));
        assert_eq!(c.call(&["RPUSH", &list, &s]), Val::Int(n));
        assert_eq!(
            c.text(&["SET", &format!("s:{id}:{n}"), &format!("v{n}")]),
            "OK"
        );
        acked.store(n.unsigned_abs(), Ordering::SeqCst);
    }
}

/// Every acknowledged step of writer `id` is there, exactly.
fn check_writer(c: &mut Conn, id: usize, n: u64) {
    assert_eq!(c.text(&["GET", &format!("ctr:{id}")]), n.to_string());
    let expected: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    assert_eq!(
        c.call(&["LRANGE", &format!("list:{id}"), "0", "-1"]),
        Val::Array(
            expected
                .into_iter()
                .map(|s| Val::Bulk(s.into_bytes()))
                .collect()
        )
    );
    let keys: Vec<String> = (1..=n).map(|i| format!("s:{id}:{i}")).collect();
    let mut args = vec!["MGET"];
    args.extend(keys.iter().map(String::as_str));
    let expected: Vec<Val> = (1..=n)
        .map(|i| Val::Bulk(format!("v{i}").into_bytes()))
        .collect();
    assert_eq!(c.call(&args), Val::Array(expected));
}

#[test]
fn writes_acknowledged_during_a_rewrite_survive_it_and_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // 1000 keys x 2 ms: the child runs about two seconds.
    let args = ["--rdb-key-save-delay", "2000"];
    let mut p = Proc::aofd(dir, &args);
    let mut c = p.conn();
    fill(&mut c, 1000);

    let stop = Arc::new(AtomicBool::new(false));
    let acked: Vec<Arc<AtomicU64>> = (0..2).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let threads: Vec<_> = (0..2)
        .map(|id| {
            let (a, s, port) = (acked[id].clone(), stop.clone(), p.port);
            std::thread::spawn(move || writer(port, id, a, s))
        })
        .collect();
    wait_for("the writers to start", || {
        acked.iter().all(|a| a.load(Ordering::SeqCst) > 0)
    });
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    let at_start: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "1");
    wait_rewrite_done(&mut c, 1);
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");
    let at_end: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    for (s, e) in at_start.iter().zip(&at_end) {
        assert!(
            e > s,
            "writes were acknowledged while the child ran: {s} -> {e}"
        );
    }
    // A few more after the rewrite, into the new INCR.
    wait_for("writes after the rewrite", || {
        acked
            .iter()
            .zip(&at_end)
            .all(|(a, e)| a.load(Ordering::SeqCst) > e + 20)
    });
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().expect("writer");
    }
    let finals: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    assert_eq!(
        manifest(dir),
        [
            line("appendonly.aof.2.base.rdb", 2, 'b'),
            line("appendonly.aof.2.incr.aof", 2, 'i')
        ]
    );
    // Everything after the fork is in the new INCR: it starts with the writes in flight.
    let incr = decode_aof(&read_aof(dir, "appendonly.aof.2.incr.aof"));
    assert!(incr.len() > 40, "{}", incr.len());
    for (id, &n) in finals.iter().enumerate() {
        check_writer(&mut c, id, n);
    }
    let expected = dump(&mut c, 1);
    drop(c);
    assert!(p.terminate().is_some_and(|s| s.success()));

    let p = Proc::aofd(dir, &args);
    let mut c = p.conn();
    for (id, &n) in finals.iter().enumerate() {
        check_writer(&mut c, id, n);
    }
    assert_eq!(dump(&mut c, 1), expected);
}

// ---------------------------------------------------------------------------------------------
// 3. A killed child; the back-off after three failures

/// Starts a rewrite, SIGKILLs its child, and checks what Redis 7.0 does after it.
fn kill_child_rewrite(p: &Proc, c: &mut Conn, attempts: u64, failures: u64) {
    let before_log = p.log_text().matches("terminated by signal 9").count();
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    let child = rewrite_child(p);
    sigkill(child);
    wait_for("the failure to be handled", || {
        info(c, "aof_rewrite_in_progress") == "0"
    });
    wait_gone(child);
    assert_eq!(info_u64(c, "aof_rewrites"), attempts);
    assert_eq!(info(c, "aof_last_bgrewrite_status"), "err");
    assert_eq!(info_u64(c, "aof_rewrites_consecutive_failures"), failures);
    let log = p.log_text();
    assert_eq!(
        log.matches("# Background AOF rewrite terminated by signal 9")
            .count(),
        before_log + 1,
        "{log}"
    );
    assert!(temp_files(&p.dir).is_empty(), "{:?}", listing(&p.dir));
}

#[test]
fn a_killed_child_fails_cleanly_and_three_failures_trigger_the_back_off() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut p = Proc::aofd(dir, &["--rdb-key-save-delay", "2000"]);
    let mut c = p.conn();
    fill(&mut c, 1000);
    populate_all_types(&mut c);
    let expected = dump(&mut c, 16);

    kill_child_rewrite(&p, &mut c, 1, 1);
    // §4.4: the INCR opened at the fork stays.
    assert_eq!(
        manifest(dir),
        [
            line("appendonly.aof.1.base.rdb", 1, 'b'),
            line("appendonly.aof.1.incr.aof", 1, 'i'),
            line("appendonly.aof.2.incr.aof", 2, 'i'),
        ]
    );
    assert_eq!(dump(&mut c, 16), expected);

    // The next one succeeds.
    assert_eq!(c.text(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), "OK");
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    wait_rewrite_done(&mut c, 2);
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info(&mut c, "aof_rewrites_consecutive_failures"), "0");
    assert_eq!(
        manifest(dir),
        [
            line("appendonly.aof.2.base.rdb", 2, 'b'),
            line("appendonly.aof.3.incr.aof", 3, 'i'),
        ]
    );

    // Three failures in a row.
    assert_eq!(
        c.text(&["CONFIG", "SET", "rdb-key-save-delay", "2000"]),
        "OK"
    );
    for k in 1..=3 {
        kill_child_rewrite(&p, &mut c, 2 + k, k);
    }
    assert_eq!(
        manifest(dir),
        [
            line("appendonly.aof.2.base.rdb", 2, 'b'),
            line("appendonly.aof.3.incr.aof", 3, 'i'),
            line("appendonly.aof.4.incr.aof", 4, 'i'),
            line("appendonly.aof.5.incr.aof", 5, 'i'),
            line("appendonly.aof.6.incr.aof", 6, 'i'),
        ]
    );
    // The automatic trigger now fires (min-size 1 byte, the AOF doubled) but is limited.
    let base = info_u64(&mut c, "aof_base_size");
    let current = info_u64(&mut c, "aof_current_size");
    let pad = "p".repeat(usize::try_from(base.max(current)).expect("size"));
    assert_eq!(c.text(&["SET", "pad", &pad]), "OK");
    assert_eq!(
        c.text(&["CONFIG", "SET", "auto-aof-rewrite-min-size", "1"]),
        "OK"
    );
    p.wait_log(
        "# Background AOF rewrite has repeatedly failed and triggered the limit, will retry in \
         1 minutes",
        LIMIT,
    );
    // The limit was logged on the path that does not start a rewrite, and the next try is a
    // minute away.
    assert_eq!(info_u64(&mut c, "aof_rewrites"), 5);
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "0");
    assert!(!p.log_text().contains("Starting automatic rewriting"));
    assert_eq!(
        c.text(&["CONFIG", "SET", "auto-aof-rewrite-min-size", "64mb"]),
        "OK"
    );

    // A manual BGREWRITEAOF bypasses the limit.
    assert_eq!(c.text(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), "OK");
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    wait_rewrite_done(&mut c, 6);
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info(&mut c, "aof_rewrites_consecutive_failures"), "0");
    assert_eq!(
        manifest(dir),
        [
            line("appendonly.aof.3.base.rdb", 3, 'b'),
            line("appendonly.aof.7.incr.aof", 7, 'i'),
        ]
    );
    let expected = dump(&mut c, 16);
    drop(c);
    p.kill9();

    // Data intact after a restart (a crash, even).
    let p = Proc::aofd(dir, &[]);
    let mut c = p.conn();
    assert_eq!(dump(&mut c, 16), expected);
    check_binary(&mut c);
}

#[test]
fn data_written_across_failed_rewrites_loads_from_every_incr() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut p = Proc::aofd(dir, &["--rdb-key-save-delay", "2000"]);
    let mut c = p.conn();
    fill(&mut c, 1000);
    c.call(&["SET", "step", "0"]);
    for k in 1..=2u64 {
        kill_child_rewrite(&p, &mut c, k, k);
        c.call(&["SET", "step", &k.to_string()]);
        c.call(&["RPUSH", "steps", &k.to_string()]);
    }
    // b1, i1, i2, i3: the writes after each failure are in i2 and i3.
    assert_eq!(manifest(dir).len(), 4);
    assert_eq!(
        decode_aof(&read_aof(dir, "appendonly.aof.3.incr.aof")),
        ["SELECT 0", "SET step 2", "RPUSH steps 2"]
    );
    let expected = dump(&mut c, 1);
    drop(c);
    p.kill9();
    let p = Proc::aofd(dir, &[]);
    let mut c = p.conn();
    assert_eq!(dump(&mut c, 1), expected);
    assert_eq!(c.text(&["GET", "step"]), "2");
}

// ---------------------------------------------------------------------------------------------
// 4. A crash of the parent at each step of installing the new BASE

fn crash_at(point: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // 300 keys x 1 ms: writes sent right after the fork land in the new INCR.
    let args = ["--rdb-key-save-delay", "1000"];
    let mut p = aofd_with_env(dir, &args, &[("AOFD_FAILPOINT", point)]);
    let mut c = p.conn();
    fill(&mut c, 300);
    populate_all_types(&mut c);
    let before = dump(&mut c, 16);
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    // Writes while the child runs; those acknowledged must survive.
    let mut acked = Vec::new();
    for i in 0..20 {
        match c.try_call(&["SET", &format!("after:{i}"), &format!("v{i}")]) {
            Ok(Val::Status(s)) if s == "OK" => acked.push(i),
            _ => break,
        }
    }
    let status = p.wait_exit(LIMIT).expect("aofd aborts at the failpoint");
    assert!(!status.success(), "{point}: {status:?}");
    assert!(
        p.log_text()
            .contains(&format!("aofd: crashing at failpoint {point}")),
        "{}",
        p.log_text()
    );
    drop(c);

    let p = Proc::aofd(dir, &args);
    let mut c = p.conn();
    let mut after = dump(&mut c, 16);
    // The acknowledged writes are there (an unacknowledged one may be too).
    for i in &acked {
        assert_eq!(
            c.text(&["GET", &format!("after:{i}")]),
            format!("v{i}"),
            "{point}"
        );
    }
    after.retain(|l| !l.starts_with("db0 after:"));
    assert_eq!(after, before, "{point}");
    check_binary(&mut c);
    assert!(temp_files(dir).is_empty() || point == "rewrite-temp-written");
    // Every listed file exists, and history left by the crash was removed at startup (Redis
    // `aofDelHistoryFiles` in `main`).
    let listed = manifest(dir);
    assert!(
        listed.iter().all(|l| !l.ends_with(" type h")),
        "{point}: {listed:?}"
    );
    let files = listing(&aof_dir(dir));
    for l in &listed {
        let name = l.split(' ').nth(1).expect("name");
        assert!(
            files.iter().any(|f| f == name),
            "{point}: {name} in {files:?}"
        );
    }
    // The directory is usable: the next rewrite succeeds and a restart loads the same.
    let expected = dump(&mut c, 16);
    let attempts = info_u64(&mut c, "aof_rewrites") + 1;
    assert_eq!(c.text(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), "OK");
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    wait_rewrite_done(&mut c, attempts);
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok", "{point}");
    drop(c);
    drop(p);
    let p = Proc::aofd(dir, &[]);
    let mut c = p.conn();
    assert_eq!(dump(&mut c, 16), expected, "{point}");
}

#[test]
fn a_crash_at_each_step_of_the_install_loses_nothing() {
    for point in [
        "rewrite-temp-written",
        "rewrite-renamed",
        "rewrite-manifest-persisted",
        "rewrite-history-deleted",
    ] {
        crash_at(point);
    }
}

// ---------------------------------------------------------------------------------------------
// 5. The automatic trigger

/// The length of the record `SET <key> <value>` with a value of `vlen` bytes.
fn set_record_len(key: &str, vlen: usize) -> u64 {
    let bulk = |n: usize| format!("${n}\r\n").len() + n + 2;
    ("*3\r\n".len() + bulk(3) + bulk(key.len()) + bulk(vlen)) as u64
}

/// Writes one `SET <key> <pad>` whose record brings `aof_current_size` to exactly `target`
/// (which must be at least a minimal record away).
fn grow_to(c: &mut Conn, key: &str, target: u64) {
    let current = info_u64(c, "aof_current_size");
    let need = target.checked_sub(current).expect("target ahead");
    let vlen = (0..usize::try_from(need).expect("size"))
        .find(|&v| set_record_len(key, v) == need)
        .or_else(|| {
            // A length whose digit count changes can skip `need`: land one byte short.
            (0..usize::try_from(need).expect("size")).find(|&v| set_record_len(key, v) == need - 1)
        })
        .expect("a value length");
    assert_eq!(c.text(&["SET", key, &"x".repeat(vlen)]), "OK");
}

/// Redis's `growth` (serverCron): integer percent over the base (1 when 0).
fn growth(current: u64, base: u64) -> u64 {
    (current * 100 / base.max(1)).saturating_sub(100)
}

#[test]
fn automatic_rewrite_fires_exactly_past_min_size_and_percentage() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut p = Proc::aofd(
        dir,
        &[
            "--auto-aof-rewrite-min-size",
            "4kb",
            "--auto-aof-rewrite-percentage",
            "100",
            "--hz",
            "100",
        ],
    );
    let mut c = p.conn();
    assert_eq!(
        c.call(&["CONFIG", "GET", "auto-aof-rewrite-min-size"])
            .text(),
        "[auto-aof-rewrite-min-size,4096]"
    );
    // A fresh start: base 0, so any growth counts; only the min-size holds it back.
    assert_eq!(info(&mut c, "aof_base_size"), "0");
    c.call(&["SET", "warm", "up"]); // The SELECT record is written now.
    grow_to(&mut c, "pad1", 4096);
    assert_eq!(info_u64(&mut c, "aof_current_size"), 4096);
    // At min-size exactly: no rewrite, over many cron ticks (hz 100).
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(info(&mut c, "aof_rewrites"), "0");
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "0");
    // One small record more crosses it.
    c.call(&["SET", "cross", "1"]);
    let crossed = 4096 + set_record_len("cross", 1);
    wait_rewrite_done(&mut c, 1);
    let log = p.log_text();
    assert!(
        log.contains(&format!(
            "* Starting automatic rewriting of AOF on {}% growth",
            growth(crossed, 0)
        )),
        "{log}"
    );
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");

    // Now the percentage: the base is the size after the rewrite.
    let base = info_u64(&mut c, "aof_base_size");
    assert_eq!(base, info_u64(&mut c, "aof_current_size"));
    assert!(base > 0);
    c.call(&["SET", "warm", "again"]);
    // Redis fires when current*100/base - 100 >= 100, i.e. current >= 2*base (and > min-size).
    let threshold = (2 * base).max(4097);
    grow_to(&mut c, "pad2", threshold - 1);
    let below = info_u64(&mut c, "aof_current_size");
    assert!(
        below < threshold && below + 2 >= threshold,
        "{below} {threshold}"
    );
    assert!(growth(below, base) < 100);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(info(&mut c, "aof_rewrites"), "1");
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "0");
    c.call(&["SET", "cross", "2"]);
    let crossed = below + set_record_len("cross", 1);
    assert!(growth(crossed, base) >= 100);
    wait_rewrite_done(&mut c, 2);
    let log = p.log_text();
    assert!(
        log.contains(&format!(
            "* Starting automatic rewriting of AOF on {}% growth",
            growth(crossed, base)
        )),
        "{log}"
    );
    assert_eq!(
        manifest(dir),
        [
            line("appendonly.aof.3.base.rdb", 3, 'b'),
            line("appendonly.aof.3.incr.aof", 3, 'i'),
        ]
    );
    let expected = dump(&mut c, 1);
    drop(c);
    p.kill9();
    let p = Proc::aofd(dir, &[]);
    assert_eq!(dump(&mut p.conn(), 1), expected);
}

// ---------------------------------------------------------------------------------------------
// 6. CONFIG SET appendonly at runtime

#[test]
fn config_set_appendonly_yes_writes_base_and_incr_and_keeps_later_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // 300 keys x 2 ms: a write lands while the child runs (into temp-appendonly.aof.incr).
    let mut p = Proc::aofd(dir, &["--appendonly", "no", "--rdb-key-save-delay", "2000"]);
    let mut c = p.conn();
    fill(&mut c, 300);
    populate_all_types(&mut c);
    assert_eq!(info(&mut c, "aof_enabled"), "0");
    assert!(!aof_dir(dir).exists());

    assert_eq!(c.text(&["CONFIG", "SET", "appendonly", "yes"]), "OK");
    assert_eq!(info(&mut c, "aof_enabled"), "1");
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "1");
    assert!(aof_dir(dir).join("temp-appendonly.aof.incr").exists());
    assert_eq!(c.text(&["SET", "during", "rewrite"]), "OK");
    wait_rewrite_done(&mut c, 1);
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");
    let log = p.log_text();
    assert!(log.contains("Creating AOF incr file temp-appendonly.aof.incr on background rewrite"));
    assert!(log.contains(
        "Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into \
         appendonly.aof.1.incr.aof"
    ));
    assert_eq!(
        manifest(dir),
        [
            line("appendonly.aof.1.base.rdb", 1, 'b'),
            line("appendonly.aof.1.incr.aof", 1, 'i'),
        ]
    );
    assert_eq!(
        listing(&aof_dir(dir)),
        [
            "appendonly.aof.1.base.rdb",
            "appendonly.aof.1.incr.aof",
            MANIFEST
        ]
    );
    assert_eq!(c.text(&["SET", "after", "on"]), "OK");
    assert_eq!(
        decode_aof(&read_aof(dir, "appendonly.aof.1.incr.aof")),
        ["SELECT 0", "SET during rewrite", "SET after on"]
    );
    // INFO shows the size fields once the AOF is on.
    assert!(info_u64(&mut c, "aof_current_size") > 0);
    let expected = dump(&mut c, 16);
    let expected_digest = digest(&mut c);
    drop(c);
    p.kill9();

    let p = Proc::aofd(dir, &[]);
    let mut c = p.conn();
    assert_eq!(dump(&mut c, 16), expected);
    assert_eq!(digest(&mut c), expected_digest);
    check_binary(&mut c);
}

#[test]
fn config_set_appendonly_no_kills_a_running_child() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let p = Proc::aofd(dir, &["--rdb-key-save-delay", "5000"]);
    let mut c = p.conn();
    fill(&mut c, 1000);

    // A BGREWRITEAOF child.
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    let child = rewrite_child(&p);
    assert_eq!(c.text(&["CONFIG", "SET", "appendonly", "no"]), "OK");
    assert!(p
        .log_text()
        .contains(&format!("Killing running AOF rewrite child: {child}")));
    wait_gone(child);
    assert!(children_of(p.pid()).is_empty());
    assert!(temp_files(dir).is_empty(), "{:?}", listing(dir));
    assert_eq!(info(&mut c, "aof_enabled"), "0");
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "0");
    assert_eq!(info(&mut c, "aof_rewrite_scheduled"), "0");
    // Redis's own SIGUSR1 kill is not a failure.
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info(&mut c, "aof_rewrites_consecutive_failures"), "0");
    // The manifest is untouched: b1, i1 and the INCR opened at the fork.
    assert_eq!(manifest(dir).len(), 3);

    // The child of turning the AOF on (WAIT_REWRITE): its temp INCR goes too.
    assert_eq!(c.text(&["CONFIG", "SET", "appendonly", "yes"]), "OK");
    let child = rewrite_child(&p);
    assert!(aof_dir(dir).join("temp-appendonly.aof.incr").exists());
    assert_eq!(c.text(&["CONFIG", "SET", "appendonly", "no"]), "OK");
    assert!(p
        .log_text()
        .contains(&format!("Killing running AOF rewrite child: {child}")));
    wait_gone(child);
    assert!(children_of(p.pid()).is_empty());
    assert!(temp_files(dir).is_empty(), "{:?}", listing(dir));
    assert!(!aof_dir(dir).join("temp-appendonly.aof.incr").exists());
    assert_eq!(info(&mut c, "aof_enabled"), "0");
    assert_eq!(info(&mut c, "aof_rewrite_scheduled"), "0");
    // Nothing restarts it.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "0");
    assert_eq!(info_u64(&mut c, "aof_rewrites"), 2);
}

// ---------------------------------------------------------------------------------------------
// 7. SHUTDOWN / SIGTERM while a child runs

fn stop_while_child_runs(by_signal: bool) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut p = Proc::aofd(dir, &["--rdb-key-save-delay", "5000", "--save", ""]);
    let mut c = p.conn();
    fill(&mut c, 1000);
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    let child = rewrite_child(&p);
    wait_for("the child to write its temp file", || {
        !temp_files(dir).is_empty()
    });
    let status = if by_signal {
        p.terminate()
    } else {
        let _ = c.try_call(&["SHUTDOWN"]);
        p.wait_exit(LIMIT)
    };
    let status = status.expect("aofd exits");
    assert_eq!(status.code(), Some(0), "{status:?}");
    wait_gone(child);
    assert!(temp_files(dir).is_empty(), "{:?}", listing(dir));
    let log = std::fs::read_to_string(dir.join("aofd.log")).expect("log");
    assert!(
        log.contains(&format!("Killing running AOF rewrite child: {child}")),
        "{log}"
    );
    // The rewrite did not complete: b1 plus both INCRs, loaded in full.
    assert_eq!(manifest(dir).len(), 3);
    let p = Proc::aofd(dir, &[]);
    let mut c = p.conn();
    assert_eq!(c.call(&["DBSIZE"]), Val::Int(1000));
}

#[test]
fn shutdown_while_a_child_runs_kills_it_and_exits_zero() {
    stop_while_child_runs(false);
}

#[test]
fn sigterm_while_a_child_runs_kills_it_and_exits_zero() {
    stop_while_child_runs(true);
}

// ---------------------------------------------------------------------------------------------
// 8. BGREWRITEAOF replies

#[test]
fn bgrewriteaof_replies_in_progress_and_scheduled_in_multi() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let p = Proc::aofd(dir, &["--rdb-key-save-delay", "2000"]);
    let mut c = p.conn();
    fill(&mut c, 500);
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    assert_eq!(
        c.call(&["BGREWRITEAOF"]),
        Val::Error("ERR Background append only file rewriting already in progress".into())
    );
    assert_eq!(
        c.call(&["BGSAVE"]),
        Val::Error(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE \
             SCHEDULE in order to schedule a BGSAVE whenever possible."
                .into()
        )
    );
    assert_eq!(c.text(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), "OK");
    let child = rewrite_child(&p);
    sigkill(child); // Faster than waiting; the next one runs without the delay.
    wait_rewrite_done(&mut c, 1);

    assert_eq!(c.text(&["MULTI"]), "OK");
    assert_eq!(c.text(&["BGREWRITEAOF"]), "QUEUED");
    assert_eq!(
        c.call(&["EXEC"]),
        Val::Array(vec![Val::Status(
            "Background append only file rewriting scheduled".into()
        )])
    );
    // Scheduling resets the failure count (Redis `bgrewriteaofCommand`).
    assert_eq!(info(&mut c, "aof_rewrites_consecutive_failures"), "0");
    wait_rewrite_done(&mut c, 2);
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(
        manifest(dir),
        [
            line("appendonly.aof.2.base.rdb", 2, 'b'),
            line("appendonly.aof.3.incr.aof", 3, 'i'),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Live progress in INFO

#[test]
fn info_shows_the_childs_progress_while_it_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = Proc::aofd(tmp.path(), &["--rdb-key-save-delay", "2000"]);
    let mut c = p.conn();
    fill(&mut c, 1000);
    assert_eq!(c.text(&["BGREWRITEAOF"]), STARTED);
    // The child reports keys written every 100 ms: catch it part-way.
    let mut processed = 0;
    wait_for("the child's first progress report", || {
        processed = info_u64(&mut c, "current_save_keys_processed");
        processed > 0
    });
    let text = c.text(&["INFO", "persistence"]);
    assert!(text.contains("aof_rewrite_in_progress:1"), "{text}");
    assert!(text.contains("current_save_keys_total:1000\r\n"), "{text}");
    assert!(processed < 1000, "{processed}");
    let perc: f64 = info(&mut c, "current_fork_perc").parse().expect("a number");
    assert!(perc > 0.0 && perc < 100.0, "{perc}");
    assert!(
        info(&mut c, "aof_current_rewrite_time_sec")
            .parse::<i64>()
            .expect("a number")
            >= 0
    );
    wait_rewrite_done(&mut c, 1);
    // Once it ended the live fields are back to zero and the fork is counted.
    assert_eq!(info_u64(&mut c, "current_save_keys_processed"), 0);
    assert_eq!(info_u64(&mut c, "current_save_keys_total"), 0);
    assert_eq!(info(&mut c, "current_fork_perc"), "0.00");
    assert_eq!(info(&mut c, "aof_current_rewrite_time_sec"), "-1");
    assert_eq!(c.info_field("stats", "total_forks").as_deref(), Some("1"));
    assert!(
        c.info_field("stats", "latest_fork_usec")
            .expect("field")
            .parse::<u64>()
            .expect("n")
            > 0
    );
}
