//! Tests of `aofd check-aof`: verdicts, output lines, exit codes and fixes compared with the
//! installed `redis-check-aof` 7.0 on the same damaged copies of directories written by a real
//! `redis-server` (skipped, with a note, where those binaries are missing).

use super::check_aof_main;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Runs aofd's checker; returns (exit code, stdout, stderr).
fn ours(args: &[&str], stdin: &str) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut input = stdin.as_bytes();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = check_aof_main(&args, &mut input, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

fn have(binary: &str) -> bool {
    Command::new(binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs redis-check-aof; returns (exit code, stdout without its log-format lines).
fn theirs(args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new("redis-check-aof")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-check-aof runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

/// A redis-server 7.0 directory written with `aof-use-rdb-preamble no`: a RESP BASE (after a
/// BGREWRITEAOF) and an INCR with plain commands, a transaction and a second database.
fn redis_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !have("redis-server") || !have("redis-cli") {
            eprintln!("note: redis-server/redis-cli not installed, interop checks skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
            .to_string();
        let mut server = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
            ])
            .args(["--aof-use-rdb-preamble", "no", "--appendfsync", "always"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let cli = |script: &str| -> String {
            let mut c = Command::new("redis-cli")
                .args(["-p", &port])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            c.stdin
                .take()
                .unwrap()
                .write_all(script.as_bytes())
                .unwrap();
            String::from_utf8_lossy(&c.wait_with_output().unwrap().stdout).into_owned()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !cli("PING\n").contains("PONG") {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        cli("SET a 1\nSET b 2\nSELECT 3\nSET c 3\nRPUSH l x y z\nBGREWRITEAOF\n");
        let rewritten = || {
            let info = cli("INFO persistence\n");
            info.contains("aof_rewrite_in_progress:0")
                && info.contains("aof_rewrite_scheduled:0")
                && dir
                    .path()
                    .join("appendonlydir/appendonly.aof.2.base.aof")
                    .exists()
        };
        while !rewritten() {
            assert!(
                std::time::Instant::now() < deadline,
                "rewrite did not finish"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        cli("SET d 4\nMULTI\nSET x 1\nINCR n\nEXEC\nSELECT 5\nSET e 5\nDEL a\n");
        // Killed by its own PID, never by name.
        server.kill().unwrap();
        server.wait().unwrap();
        Some(dir)
    })
    .as_ref()
    .map(|d| d.path())
}

/// A fresh copy of the redis-server directory's `appendonlydir` under `case`.
fn copy_of(src: &Path, case: &Path) -> PathBuf {
    let dst = case.join("appendonlydir");
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(src.join("appendonlydir")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    dst
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn restore(dir: &Path, files: &[(String, Vec<u8>)]) {
    for e in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    for (name, data) in files {
        std::fs::write(dir.join(name), data).unwrap();
    }
}

/// Runs both checkers on the same damaged directory (restored between the runs) and asserts
/// identical exit codes, output and resulting files. Returns our output.
fn same_verdict(dir: &Path, args: &[&str], stdin: &str) -> String {
    let before = snapshot(dir);
    let (their_code, their_out) = theirs(args, stdin);
    let their_files = snapshot(dir);
    restore(dir, &before);
    let (code, out, err) = ours(args, stdin);
    let our_files = snapshot(dir);
    // Redis prints the manifest's fatal block as log lines on stdout; ours is on stderr.
    let their_plain: Vec<&str> = their_out
        .lines()
        .filter(|l| !l.is_empty() && !l.contains(":C "))
        .filter(|l| !l.starts_with("***"))
        .collect();
    let our_plain: Vec<&str> = out.lines().collect();
    let their_plain: Vec<String> = their_plain
        .iter()
        .map(|l| l.replace("redis-check-aof", "aofd check-aof"))
        .collect();
    assert_eq!(
        our_plain, their_plain,
        "stdout for {args:?}\nours err: {err}"
    );
    assert_eq!(code, their_code, "exit code for {args:?}:\n{out}");
    assert_eq!(our_files, their_files, "files after {args:?}");
    if their_out.contains("FATAL AOF MANIFEST FILE ERROR") {
        let msg = their_out
            .lines()
            .rfind(|l| l.contains(":C ") && l.contains(" # ") && !l.ends_with("# "))
            .and_then(|l| l.split(" # ").nth(1))
            .unwrap_or_else(|| panic!("no message in {their_out:?}"))
            .to_string();
        assert!(err.contains(&msg), "manifest error {msg:?} not in {err:?}");
    }
    out
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn usage_and_argument_errors() {
    let usage = "Usage: aofd check-aof [--fix|--truncate-to-timestamp $timestamp] \
                 <file.manifest|file.aof>\n";
    assert_eq!(ours(&[], ""), (1, usage.to_string(), String::new()));
    assert_eq!(ours(&["a", "b"], "").0, 1);
    assert_eq!(ours(&["--fix", "a", "b", "c"], "").1, usage);
    assert_eq!(
        ours(&["--truncate-to-timestamp", "12x", "f"], "").1,
        "Invalid timestamp, aborting...\n"
    );
    assert_eq!(
        ours(&["/nonexistent/x.aof"], "").1,
        "Cannot open file /nonexistent/x.aof: No such file or directory\n"
    );
}

#[test]
fn intact_redis_directory_is_valid() {
    let Some(src) = redis_dir() else { return };
    let case = tempfile::tempdir().unwrap();
    let dir = copy_of(src, case.path());
    let manifest = dir.join("appendonly.aof.manifest");
    let out = same_verdict(&dir, &[manifest.to_str().unwrap()], "");
    assert!(
        out.ends_with("All AOF files and manifest are valid\n"),
        "{out}"
    );
    let incr = dir.join("appendonly.aof.2.incr.aof");
    same_verdict(&dir, &[incr.to_str().unwrap()], "");
}

#[test]
fn every_cut_of_the_last_incr_matches_redis() {
    let Some(src) = redis_dir() else { return };
    let case = tempfile::tempdir().unwrap();
    let dir = copy_of(src, case.path());
    let manifest = dir.join("appendonly.aof.manifest");
    let incr = dir.join("appendonly.aof.2.incr.aof");
    let full = std::fs::read(&incr).unwrap();
    let pristine = snapshot(&dir);
    // Every cut inside the last 60 bytes (the last records) plus a few inside the transaction.
    let mut cuts: Vec<usize> = (full.len().saturating_sub(60)..full.len()).collect();
    cuts.extend([1, 2, 5, 30, 60, 90]);
    for cut in cuts {
        restore(&dir, &pristine);
        std::fs::write(&incr, &full[..cut]).unwrap();
        same_verdict(&dir, &[manifest.to_str().unwrap()], "");
    }
    // --fix, answered yes and no, truncates the same way.
    restore(&dir, &pristine);
    std::fs::write(&incr, &full[..full.len() - 3]).unwrap();
    let out = same_verdict(&dir, &["--fix", manifest.to_str().unwrap()], "y\n");
    assert!(out.contains("Continue? [y/N]: Successfully truncated AOF appendonly.aof.2.incr.aof"));
    std::fs::write(&incr, &full[..full.len() - 3]).unwrap();
    let out = same_verdict(&dir, &["--fix", manifest.to_str().unwrap()], "n\n");
    assert!(out.ends_with("Continue? [y/N]: Aborting...\n"));
    // --yes answers for scripts.
    let (code, out, _) = ours(&["--fix", "--yes", manifest.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("All AOF files and manifest are valid\n"));
}

#[test]
fn damaged_records_match_redis() {
    let Some(src) = redis_dir() else { return };
    let case = tempfile::tempdir().unwrap();
    let dir = copy_of(src, case.path());
    let manifest = dir.join("appendonly.aof.manifest");
    let m = manifest.to_str().unwrap().to_string();
    let incr = dir.join("appendonly.aof.2.incr.aof");
    let pristine = snapshot(&dir);
    let damages: &[&[u8]] = &[
        b"XYZ\r\n",
        b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$1\r\n1\r\n",
        b"*1\r\n$5\r\nMULTI\r\n*1\r\n$5\r\nmulti\r\n",
        b"*1\r\n$4\r\nEXEC\r\n",
        b"*1\r\n$4\r\nPINGxy",
        b"*1\r\n:4\r\n",
        b"*1\r\n$-4\r\n",
        b"*\r\n*0\r\n",
        b"*3",
        b"*1\r\n$4\r\nP\xc3NG\xc3\xa9",
        b"#TS:12\r\n*1\r\n$4\r\nPING\r\n",
        b"*1\r\n$5\r\nMULTI\r\n#TS:1\r\n*1\r\n$4\r\nEXEC\r\n",
        b"*2x\r\n",
    ];
    for damage in damages {
        restore(&dir, &pristine);
        append(&incr, damage);
        same_verdict(&dir, &[&m], "");
        same_verdict(&dir, &["--fix", &m], "y\n");
        restore(&dir, &pristine);
        append(&incr, damage);
        same_verdict(&dir, &[incr.to_str().unwrap()], "");
    }
}

#[test]
fn only_the_last_file_is_ever_truncated() {
    let Some(src) = redis_dir() else { return };
    let case = tempfile::tempdir().unwrap();
    let dir = copy_of(src, case.path());
    let m = dir
        .join("appendonly.aof.manifest")
        .to_str()
        .unwrap()
        .to_string();
    let base = dir.join("appendonly.aof.2.base.aof");
    append(&base, b"*3\r\n$3\r\nSET\r\n$1\r\nz");
    let out = same_verdict(&dir, &["--fix", &m], "y\n");
    assert!(out.contains("because it is not the last file"), "{out}");
    same_verdict(&dir, &[&m], "");
}

#[test]
fn manifest_problems_match_redis() {
    let Some(src) = redis_dir() else { return };
    let case = tempfile::tempdir().unwrap();
    let dir = copy_of(src, case.path());
    let manifest = dir.join("appendonly.aof.manifest");
    let m = manifest.to_str().unwrap().to_string();
    let pristine = snapshot(&dir);
    let original = std::fs::read_to_string(&manifest).unwrap();
    let variants = [
        format!("{original}file appendonly.aof.1.incr.aof seq 1 type i\n"),
        format!("{original}file appendonly.aof.9.incr.aof seq 9 type x\n"),
        format!("{original}\n"),
        format!("{original}file appendonly.aof.9.incr.aof seq 9 type i"),
        format!("# comment\n{original}file appendonly.aof.9.incr.aof seq 9 type i\n"),
        format!("{original}file appendonly.aof.2.base.aof seq 7 type b\n"),
        original.replace("appendonly.aof.2.base.aof", "sub/x.aof"),
        format!("{original}file appendonly.aof.3.incr.aof seq 3 type i startoffset 1\n"),
    ];
    for (i, text) in variants.iter().enumerate() {
        restore(&dir, &pristine);
        std::fs::write(&manifest, text).unwrap();
        if i == 7 {
            std::fs::write(dir.join("appendonly.aof.3.incr.aof"), b"").unwrap();
        }
        same_verdict(&dir, &[&m], "");
    }
    // A listed file that is missing (BASE is sniffed first, INCR opened for the check).
    restore(&dir, &pristine);
    std::fs::remove_file(dir.join("appendonly.aof.2.incr.aof")).unwrap();
    same_verdict(&dir, &[&m], "");
    restore(&dir, &pristine);
    std::fs::remove_file(dir.join("appendonly.aof.2.base.aof")).unwrap();
    same_verdict(&dir, &[&m], "");
}

#[test]
fn truncate_to_timestamp_matches_redis() {
    if !have("redis-check-aof") {
        return;
    }
    let case = tempfile::tempdir().unwrap();
    let dir = case.path().join("appendonlydir");
    std::fs::create_dir_all(&dir).unwrap();
    let set = |k: &str| format!("*3\r\n$3\r\nSET\r\n$1\r\n{k}\r\n$1\r\n1\r\n");
    let ts_file = format!(
        "#TS:1000\r\n{}#TS:2000\r\n{}{}#TS:3000\r\n{}",
        set("a"),
        set("b"),
        set("c"),
        set("d")
    );
    let single = dir.join("ts.aof");
    for t in ["1500", "2500", "999", "3000", "0", "-5"] {
        std::fs::write(&single, &ts_file).unwrap();
        same_verdict(
            &dir,
            &["--truncate-to-timestamp", t, single.to_str().unwrap()],
            "",
        );
    }
    std::fs::write(&single, "#TS:12x\r\n").unwrap();
    same_verdict(
        &dir,
        &["--truncate-to-timestamp", "5", single.to_str().unwrap()],
        "",
    );
    std::fs::remove_file(&single).unwrap();
    // Multi-part: allowed in the last file only.
    std::fs::write(dir.join("a.1.base.aof"), &ts_file).unwrap();
    std::fs::write(dir.join("a.1.incr.aof"), &ts_file).unwrap();
    let manifest = dir.join("a.manifest");
    std::fs::write(
        &manifest,
        "file a.1.base.aof seq 1 type b\nfile a.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let m = manifest.to_str().unwrap();
    let out = same_verdict(&dir, &["--truncate-to-timestamp", "2500", m], "");
    assert!(out.contains("because it is not the last file."), "{out}");
    std::fs::write(&manifest, "file a.1.incr.aof seq 1 type i\n").unwrap();
    let out = same_verdict(&dir, &["--truncate-to-timestamp", "2500", m], "");
    assert!(
        out.contains("Successfully truncated AOF a.1.incr.aof to timestamp 2500"),
        "{out}"
    );
}

#[test]
fn empty_files_and_rdb() {
    if !have("redis-check-aof") {
        return;
    }
    let case = tempfile::tempdir().unwrap();
    let dir = case.path().to_path_buf();
    std::fs::write(dir.join("a.1.base.aof"), b"").unwrap();
    std::fs::write(dir.join("a.1.incr.aof"), b"").unwrap();
    let manifest = dir.join("a.manifest");
    std::fs::write(
        &manifest,
        "file a.1.base.aof seq 1 type b\nfile a.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let out = same_verdict(&dir, &[manifest.to_str().unwrap()], "");
    assert!(out.contains("INCR AOF a.1.incr.aof is empty"));
    let empty = dir.join("e.aof");
    std::fs::write(&empty, b"").unwrap();
    same_verdict(&dir, &[empty.to_str().unwrap()], "");
    // A damaged RDB BASE is refused, as redis-check-aof does after redis-check-rdb.
    std::fs::write(dir.join("a.1.base.aof"), b"REDIS0009\xfa\x09redis-ver").unwrap();
    let (code, out, _) = ours(&[manifest.to_str().unwrap()], "");
    assert_eq!(code, 1);
    assert!(out.contains("Start to check BASE AOF (RDB format)."));
    assert!(out.contains("RDB preamble of AOF file is not sane, aborting."));
    // A sound one, with a RESP tail, passes.
    let mut db = crate::db::Db::default();
    db.set(b"k", crate::db::Value::Str(b"v".to_vec()));
    let mut base = Vec::new();
    let opts = crate::rdb::save::SaveOptions::default();
    crate::rdb::save::save(&mut base, &[db], &opts, &mut |_| {}).unwrap();
    base.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n");
    std::fs::write(dir.join("a.1.base.aof"), &base).unwrap();
    let (code, out, _) = ours(&[manifest.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("[info] 1 keys read"), "{out}");
    assert!(
        out.contains("RDB preamble is OK, proceeding with AOF tail..."),
        "{out}"
    );
}

#[test]
fn loader_replays_a_redis_directory() {
    use crate::aof::loader::{load_all, LoadOptions, LoadStatus};
    use crate::aof::manifest::AofManifest;
    use crate::aof::names::AofNames;
    let Some(src) = redis_dir() else { return };
    let case = tempfile::tempdir().unwrap();
    let dir = copy_of(src, case.path());
    let names = AofNames::new("appendonly.aof");
    let manifest = AofManifest::load_from_dir(&dir, &names).unwrap();
    let log = crate::aof::MemoryLog::new();
    let mut opts = LoadOptions {
        aof_load_truncated: false,
        databases: 16,
        log: &log,
        progress: None,
    };
    let mut seen = Vec::new();
    let mut target = |db: usize, args: Vec<Vec<u8>>| {
        let words: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).to_lowercase())
            .collect();
        seen.push(format!("{db} {}", words.join(" ")));
        Ok(())
    };
    let outcome = load_all(&dir, &names, &manifest, &mut opts, &mut target).unwrap();
    assert_eq!(outcome.status, LoadStatus::Loaded);
    for expected in [
        "0 set a 1",
        "3 set c 3",
        "3 rpush l x y z",
        "0 set d 4",
        "0 set x 1",
        "0 incr n",
        "5 set e 5",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} not in {seen:?}"
        );
    }
}

/// A directory written by aofd's own startup, writer and shutdown path (real files) passes
/// redis-check-aof and loads into redis-server 7.0 with the same data.
#[test]
fn redis_server_loads_what_aofd_writes() {
    use crate::aof::file::RealFile;
    use crate::aof::fsync::FsyncPolicy;
    use crate::aof::manifest::{open_on_server_start, AofManifest};
    use crate::aof::names::AofNames;
    use crate::aof::writer::{AofWriter, WriterConfig};
    use std::sync::Arc;
    if !have("redis-server") || !have("redis-cli") || !have("redis-check-aof") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let aof_dir = data.path().join("appendonlydir");
    let names = AofNames::new("appendonly.aof");
    let log = Arc::new(crate::aof::MemoryLog::new());
    let am = AofManifest::load_from_dir(&aof_dir, &names).unwrap();
    let files = open_on_server_start(
        &aof_dir,
        &names,
        &am,
        crate::aof::names::BaseFormat::Resp,
        b"",
        &*log,
    )
    .unwrap();
    let file = Arc::new(RealFile::open_append(&files.incr_path).unwrap());
    let cfg = WriterConfig {
        policy: FsyncPolicy::Always,
        timestamps: true,
        ..WriterConfig::default()
    };
    let mut w = AofWriter::open(file, &cfg, log.clone()).unwrap();
    let now = 1_795_404_892;
    w.append_command(now, 0, &["SET", "a", "1"]);
    w.append_command(now, 2, &["RPUSH", "list", "x", "y"]);
    w.append_unit(
        now + 1,
        &[(2, vec!["SET", "b", "2"]), (0, vec!["SET", "c", "3"])],
        true,
    );
    w.flush().unwrap();
    w.shutdown().unwrap();

    let manifest = aof_dir.join("appendonly.aof.manifest");
    let (code, out) = theirs(&[manifest.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("All AOF files and manifest are valid"),
        "{out}"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut server = Command::new("redis-server")
        .args([
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
        ])
        .arg("--dir")
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let cli = |args: &[&str]| -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &port])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while cli(&["PING"]) != "PONG" {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let got = (
        cli(&["GET", "a"]),
        cli(&["-n", "2", "LRANGE", "list", "0", "-1"]),
        cli(&["-n", "2", "GET", "b"]),
        cli(&["GET", "c"]),
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        got,
        (
            "1".to_string(),
            "x\ny".to_string(),
            "2".to_string(),
            "3".to_string()
        )
    );
}
