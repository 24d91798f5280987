//! Data-directory migrations, `aofd migrate`, `aofd import` and `aofd migrate-config`, with the
//! real binary on real directories:
//! - the committed fixtures (`migrations/generate-fixtures.sh`, written by redis-server 7.0: a
//!   Redis 6 style RESP AOF, one with an RDB preamble, a `dump.rdb`, a Redis 7 `appendonlydir`)
//!   start under aofd with every key, migrated at startup or imported;
//! - a crash (`AOFD_FAILPOINT`) at every step of each migration and of an import, then a restart:
//!   it completes and nothing is lost;
//! - the dry run's plan, Redis's rules for a legacy file found in both places;
//! - `migrate-config` on a copy of Debian's `/etc/redis/redis.conf` writes a file aofd starts
//!   with, and follows `include`.
//!
//! With `AOFD_DIFFERENTIAL=1` (then a missing redis-server is a failure), the fixtures are also
//! generated afresh by redis-server 7.0, each dataset is compared with what redis-server itself
//! holds for the same input, and every directory aofd migrated loads in redis-server again.

mod aof_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aof_support::{aof_dir, dump, free_port, redis_server, Conn, Proc, Val, AOFD};

/// The dataset every fixture holds (see `migrations/generate-fixtures.sh`): keys whose TTL has
/// passed are absent.
const EXPECTED: &[&str] = &[
    "db0 hash hash f1=v1,f2=v2,f3=v3 ttl=-1",
    "db0 list list [a,b,c,1,-2,tail] ttl=-1",
    "db0 set:int set 1,2,3 ttl=-1",
    "db0 set:str set x,z ttl=-1",
    "db0 str:int string 12355 ttl=-1",
    r"db0 str:odd key string a b\r\nc ttl=-1",
    "db0 str:plain string hello ttl=-1",
    "db0 tail:only string after-snapshot ttl=-1",
    "db0 ttl:future string kept expires@4102444800",
    "db0 zset zset [one,2,two,2,two.5,2.5] ttl=-1",
    "db3 db3:key string in-db-3 ttl=-1",
    "db3 db3:list list [x] ttl=-1",
    "db5 db5:key string in-db-5 ttl=-1",
];

const TYPES_LINE: &str = "keys per type: string 7, list 2, hash 1, set 2, zset 1";

const LIMIT: Duration = Duration::from_secs(60);

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The committed fixtures, or with `Some(dir)` the ones generated there.
struct Fixtures {
    root: PathBuf,
}

impl Fixtures {
    fn committed() -> Self {
        Fixtures {
            root: repo("migrations"),
        }
    }
    fn resp(&self) -> PathBuf {
        self.root
            .join("0001-legacy-aof/fixtures/appendonly-resp.aof")
    }
    fn preamble(&self) -> PathBuf {
        self.root
            .join("0001-legacy-aof/fixtures/appendonly-preamble.aof")
    }
    fn dump(&self) -> PathBuf {
        self.root.join("0002-dump-rdb/fixtures/dump.rdb")
    }
    fn redis7(&self) -> PathBuf {
        self.root.join("fixtures/redis7-appendonlydir")
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// Starts aofd (appendonly yes, no save points) with `env` set (the harness's own `AOFD_*`
/// variables removed); does not wait.
fn spawn(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut args = vec!["--save", ""];
    args.extend_from_slice(extra);
    Proc::aofd_env_nowait(dir, &args, env)
}

fn start(dir: &Path, extra: &[&str]) -> Proc {
    let mut p = spawn(dir, extra, &[]);
    p.wait_log("Ready to accept connections", LIMIT);
    p
}

/// Runs `aofd <args>` to completion with `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(AOFD);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AOFD_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run aofd")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dump_of(p: &Proc) -> Vec<String> {
    dump(&mut p.conn(), 16)
}

fn expected() -> Vec<String> {
    EXPECTED.iter().map(|s| s.to_string()).collect()
}

fn manifest_text(dir: &Path) -> String {
    std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).unwrap_or_default()
}

fn marker(dir: &Path) -> String {
    std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.aofd-format")).unwrap_or_default()
}

fn temp_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for d in [dir.to_path_buf(), aof_dir(dir)] {
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("temp-") {
                    out.push(name);
                }
            }
        }
    }
    out
}

/// Runs aofd with a crash point and checks it died there.
fn crash_at(dir: &Path, point: &str) {
    let mut p = spawn(dir, &[], &[("AOFD_FAILPOINT", point)]);
    let status = p.wait_exit(LIMIT).expect("aofd aborts at the failpoint");
    assert!(!status.success(), "{point}: {status:?}\n{}", p.log_text());
    assert!(
        p.log_text()
            .contains(&format!("aofd: crashing at failpoint {point}")),
        "{point}:\n{}",
        p.log_text()
    );
}

// ---------------------------------------------------------------------------------------------
// 0001: Redis 6 single-file AOF

fn legacy_upgrade(fixture: &Path) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::copy(fixture, dir.join("appendonly.aof")).expect("copy");
    let p = start(dir, &[]);
    assert_eq!(dump_of(&p), expected());
    let log = p.log_text();
    assert!(
        log.contains(
            "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF \
             directory (appendonlydir)."
        ),
        "{log}"
    );
    // Redis 7.0's layout after an upgrade, exactly.
    assert_eq!(
        manifest_text(dir),
        "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert!(!dir.join("appendonly.aof").exists());
    assert_eq!(
        std::fs::read(aof_dir(dir).join("appendonly.aof")).expect("moved"),
        std::fs::read(fixture).expect("fixture"),
        "moved, not rewritten"
    );
    assert!(marker(dir).contains("version 2"), "{}", marker(dir));
    // New writes go to the INCR; a restart keeps everything and migrates nothing.
    p.conn().call(&["SET", "after", "upgrade"]);
    drop(p);
    let p = start(dir, &[]);
    assert!(!p.log_text().contains("Applying"), "{}", p.log_text());
    let mut want = expected();
    want.push("db0 after string upgrade ttl=-1".to_string());
    want.sort();
    assert_eq!(dump_of(&p), want);
    // The first rewrite retires the legacy BASE as history and deletes it, as in Redis.
    let mut c = p.conn();
    assert_eq!(
        c.call(&["BGREWRITEAOF"]),
        Val::Status("Background append only file rewriting started".into())
    );
    let t = Instant::now();
    while aof_dir(dir).join("appendonly.aof").exists() {
        assert!(t.elapsed() < LIMIT, "legacy BASE not retired");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(dump(&mut c, 16), want);
}

#[test]
fn legacy_resp_aof_is_upgraded_at_startup() {
    legacy_upgrade(&Fixtures::committed().resp());
}

#[test]
fn legacy_rdb_preamble_aof_is_upgraded_at_startup() {
    legacy_upgrade(&Fixtures::committed().preamble());
}

#[test]
fn crash_at_every_step_of_0001_then_restart() {
    let fx = Fixtures::committed();
    for (i, point) in [
        "migrate-0001-dir-created",
        "migrate-0001-manifest-persisted",
        "migrate-0001-renamed",
        "migrate-version-recorded",
    ]
    .iter()
    .enumerate()
    {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let fixture = if i % 2 == 0 { fx.resp() } else { fx.preamble() };
        std::fs::copy(&fixture, dir.join("appendonly.aof")).expect("copy");
        crash_at(dir, point);
        // The legacy file is in exactly one place whatever the step.
        let places = [
            dir.join("appendonly.aof"),
            aof_dir(dir).join("appendonly.aof"),
        ];
        assert_eq!(places.iter().filter(|p| p.exists()).count(), 1, "{point}");
        let p = start(dir, &[]);
        assert_eq!(dump_of(&p), expected(), "{point}\n{}", p.log_text());
        assert!(!dir.join("appendonly.aof").exists(), "{point}");
        assert!(marker(dir).contains("version 2"), "{point}");
        assert!(temp_files(dir).is_empty(), "{point}: {:?}", temp_files(dir));
    }
}

#[test]
fn offline_migrate_resumes_after_a_crash() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let d = dir.to_str().expect("utf-8");
    std::fs::copy(Fixtures::committed().preamble(), dir.join("appendonly.aof")).expect("copy");
    let out = run(
        &["migrate", "--dir", d],
        &[("AOFD_FAILPOINT", "migrate-0001-manifest-persisted")],
    );
    assert!(!out.status.success());
    // The plan now says the upgrade resumes.
    let plan = run(&["migrate", "--dir", d, "--dry-run"], &[]);
    assert!(plan.status.success());
    assert!(
        text(&plan.stdout).contains("0001 (legacy-aof): resume an interrupted upgrade"),
        "{}",
        text(&plan.stdout)
    );
    let out = run(&["migrate", "--dir", d], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("is at format version 2."));
    let p = start(dir, &[]);
    assert_eq!(dump_of(&p), expected());
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let d = dir.to_str().expect("utf-8");
    std::fs::copy(Fixtures::committed().resp(), dir.join("appendonly.aof")).expect("copy");
    std::fs::copy(Fixtures::committed().dump(), dir.join("dump.rdb")).expect("copy");
    let out = run(&["migrate", "--dir", d, "--dry-run"], &[]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!(
            "Data directory: {d}\nAOF: appendonlydir/appendonly.aof.manifest\n\
             Format version: 0 (latest 2)\nPlan:\n  \
             0001 (legacy-aof): move the Redis 6 style AOF appendonly.aof into appendonlydir \
             (created) as its BASE: first the manifest 'file appendonly.aof seq 1 type b', then \
             the rename\n  \
             0002 (dump-rdb): nothing to do (the Redis 6 style appendonly.aof is the dataset \
             there; migration 0001 moves it)\n  \
             then: record format version 2 in appendonlydir/appendonly.aof.aofd-format\n\
             Dry run: nothing was changed.\n"
        )
    );
    assert!(!aof_dir(dir).exists());
    assert!(dir.join("appendonly.aof").exists());
    // Only a dump.rdb: 0002's plan.
    std::fs::remove_file(dir.join("appendonly.aof")).expect("rm");
    let out = run(&["migrate", "--dir", d, "--dry-run"], &[]);
    let plan = text(&out.stdout);
    assert!(
        plan.contains(
            "0002 (dump-rdb): import dump.rdb (469 B) into a new BASE \
             appendonlydir/appendonly.aof.1.base.rdb; dump.rdb is kept"
        ),
        "{plan}"
    );
    // Nothing at all: nothing to record.
    std::fs::remove_file(dir.join("dump.rdb")).expect("rm");
    let out = run(&["migrate", "--dir", d, "--dry-run"], &[]);
    assert!(
        text(&out.stdout).contains("then: nothing to record (no AOF yet"),
        "{}",
        text(&out.stdout)
    );
    // Usage errors.
    let out = run(&["migrate", "--dry-run"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--dir <dir> is required"));
}

#[test]
fn legacy_file_in_both_places_is_handled_as_redis_does() {
    let fx = Fixtures::committed();
    // A valid manifest wins: the file in dir is ignored and left alone.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    copy_dir(&fx.redis7(), &aof_dir(dir));
    std::fs::write(
        dir.join("appendonly.aof"),
        b"*3\r\n$3\r\nSET\r\n$5\r\nstale\r\n$1\r\n1\r\n",
    )
    .expect("write");
    let p = start(dir, &[]);
    assert_eq!(dump_of(&p), expected());
    assert!(dir.join("appendonly.aof").exists());
    assert!(p.log_text().contains(
        "0001 (legacy-aof): nothing to do (appendonlydir has a manifest; appendonly.aof in the \
         data directory is ignored"
    ));
    drop(p);
    // In both places with no manifest (redis-server stops on an assertion): refused, untouched.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::create_dir_all(aof_dir(dir)).expect("mkdir");
    std::fs::copy(fx.resp(), dir.join("appendonly.aof")).expect("copy");
    std::fs::copy(fx.preamble(), aof_dir(dir).join("appendonly.aof")).expect("copy");
    let mut p = spawn(dir, &[], &[]);
    let status = p.wait_exit(LIMIT).expect("exits");
    assert_eq!(status.code(), Some(1));
    assert!(p.log_text().contains(
        "Both appendonly.aof and appendonlydir/appendonly.aof exist and no manifest says which \
         one is the dataset"
    ));
    assert_eq!(
        std::fs::read(dir.join("appendonly.aof")).expect("kept"),
        std::fs::read(fx.resp()).expect("fixture")
    );
    assert!(!aof_dir(dir).join("appendonly.aof.manifest").exists());
}

// ---------------------------------------------------------------------------------------------
// 0002: dump.rdb without an AOF

#[test]
fn dump_rdb_without_an_aof_is_imported_at_startup() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let fixture = Fixtures::committed().dump();
    std::fs::copy(&fixture, dir.join("dump.rdb")).expect("copy");
    let p = start(dir, &[]);
    assert_eq!(dump_of(&p), expected());
    let log = p.log_text();
    assert!(
        log.contains(
            "# appendonly is on and appendonlydir holds no AOF, but dump.rdb exists: importing \
             dump.rdb into a new AOF BASE. redis-server 7.0 would start with an empty dataset \
             here"
        ),
        "{log}"
    );
    assert!(
        log.contains("Imported 13 keys from dump.rdb into appendonlydir/appendonly.aof.1.base.rdb")
            && log.contains("string 7, list 2, hash 1, set 2, zset 1; 2 expired keys skipped"),
        "{log}"
    );
    assert_eq!(
        manifest_text(dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert_eq!(
        std::fs::read(dir.join("dump.rdb")).expect("kept"),
        std::fs::read(&fixture).expect("fixture"),
        "dump.rdb is kept unchanged"
    );
    drop(p);
    // With appendonly no, nothing is migrated: dump.rdb is the dataset, as in Redis.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::copy(&fixture, dir.join("dump.rdb")).expect("copy");
    let p = start(dir, &["--appendonly", "no"]);
    assert_eq!(dump_of(&p), expected());
    assert!(!aof_dir(dir).exists());
}

#[test]
fn crash_at_every_step_of_0002_then_restart() {
    let fixture = Fixtures::committed().dump();
    for point in [
        "migrate-0002-dir-created",
        "migrate-0002-base-written",
        "migrate-0002-base-renamed",
        "migrate-0002-verified",
        "migrate-0002-manifest-persisted",
        "migrate-version-recorded",
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        std::fs::copy(&fixture, dir.join("dump.rdb")).expect("copy");
        crash_at(dir, point);
        assert_eq!(
            std::fs::read(dir.join("dump.rdb")).expect("kept"),
            std::fs::read(&fixture).expect("fixture"),
            "{point}"
        );
        let p = start(dir, &[]);
        assert_eq!(dump_of(&p), expected(), "{point}\n{}", p.log_text());
        assert!(marker(dir).contains("version 2"), "{point}");
        assert!(temp_files(dir).is_empty(), "{point}: {:?}", temp_files(dir));
        assert_eq!(
            std::fs::read(dir.join("dump.rdb")).expect("kept"),
            std::fs::read(&fixture).expect("fixture"),
            "{point}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A Redis 7 directory needs no migration

#[test]
fn redis7_directory_starts_as_it_is() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let fx = Fixtures::committed();
    copy_dir(&fx.redis7(), &aof_dir(dir));
    let p = start(dir, &[]);
    assert_eq!(dump_of(&p), expected());
    assert!(!p.log_text().contains("Applying"), "{}", p.log_text());
    assert_eq!(
        manifest_text(dir),
        std::fs::read_to_string(fx.redis7().join("appendonly.aof.manifest")).expect("manifest")
    );
    assert!(marker(dir).contains("version 2"));
}

// ---------------------------------------------------------------------------------------------
// aofd import

#[test]
fn import_each_source() {
    let fx = Fixtures::committed();
    for source in [fx.dump(), fx.resp(), fx.preamble(), fx.redis7()] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let d = dir.to_str().expect("utf-8");
        let src = source.to_str().expect("utf-8");
        let out = run(&["import", src, "--dir", d], &[]);
        assert!(out.status.success(), "{src}: {}", text(&out.stderr));
        let summary = text(&out.stdout);
        assert!(
            summary.starts_with(&format!(
                "Imported 13 keys from {src} into {d}/appendonlydir/appendonly.aof.1.base.rdb.\n"
            )),
            "{summary}"
        );
        assert!(summary.contains(TYPES_LINE), "{summary}");
        assert!(summary.contains("expired keys skipped: 2"), "{summary}");
        assert!(summary.contains("bytes read: "), "{summary}");
        // No terminal: no progress bar.
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
        let p = start(dir, &[]);
        assert_eq!(dump_of(&p), expected(), "{src}");
        drop(p);
        // A second import into the same directory is refused; nothing replaced.
        let before = manifest_text(dir);
        let out = run(&["import", src, "--dir", d], &[]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("already holds a dataset"));
        assert_eq!(manifest_text(dir), before);
    }
    // RESP BASE when asked for.
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8");
    let src = fx.dump();
    let out = run(
        &[
            "import",
            src.to_str().expect("utf-8"),
            "--dir",
            d,
            "--aof-use-rdb-preamble",
            "no",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(aof_dir(tmp.path())
        .join("appendonly.aof.1.base.aof")
        .exists());
    let p = start(tmp.path(), &["--aof-use-rdb-preamble", "no"]);
    assert_eq!(dump_of(&p), expected());
}

#[test]
fn crash_at_every_step_of_import_then_finish() {
    let src = Fixtures::committed().redis7();
    let src = src.to_str().expect("utf-8");
    for point in [
        "import-base-written",
        "import-base-renamed",
        "import-verified",
        "import-manifest-persisted",
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let d = dir.to_str().expect("utf-8");
        let out = run(&["import", src, "--dir", d], &[("AOFD_FAILPOINT", point)]);
        assert!(!out.status.success(), "{point}");
        assert!(text(&out.stderr).contains(&format!("crashing at failpoint {point}")));
        // Again: it completes, unless the crash came after the manifest was persisted (then the
        // directory already holds the whole dataset and a second import is refused).
        let out = run(&["import", src, "--dir", d], &[]);
        if point == "import-manifest-persisted" {
            assert!(
                text(&out.stderr).contains("already holds a dataset"),
                "{point}"
            );
        } else {
            assert!(out.status.success(), "{point}: {}", text(&out.stderr));
        }
        let p = start(dir, &[]);
        assert_eq!(dump_of(&p), expected(), "{point}");
        assert!(temp_files(dir).is_empty(), "{point}: {:?}", temp_files(dir));
    }
}

// ---------------------------------------------------------------------------------------------
// aofd migrate-config

#[test]
fn migrate_config_of_debians_redis_conf_starts_aofd() {
    migrate_config_starts_aofd(&repo("migrations/fixtures/debian-redis.conf"));
    // The machine's own, when the Debian package is installed.
    let shipped = Path::new("/etc/redis/redis.conf");
    if std::fs::read_to_string(shipped).is_ok() {
        migrate_config_starts_aofd(shipped);
    }
}

fn migrate_config_starts_aofd(conf: &Path) {
    let out = run(&["migrate-config", conf.to_str().expect("utf-8")], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let toml = text(&out.stdout);
    let warnings = text(&out.stderr);
    for line in [
        "appendonly = false",
        "appendfsync = \"everysec\"",
        "auto-aof-rewrite-min-size = \"64mb\"",
        "aof-use-rdb-preamble = true",
        "dir = \"/var/lib/redis\"",
        "daemonize = false",
        "bind = [\"127.0.0.1\", \"-::1\"]",
        "# tcp-backlog 511",
        "# client-output-buffer-limit replica 256mb 64mb 60",
    ] {
        assert!(toml.contains(line), "{line:?} missing:\n{toml}");
    }
    assert!(warnings.contains("'tcp-backlog' is not supported by aofd; kept as a comment"));
    assert!(warnings.contains("'daemonize yes' became 'no'"));
    assert!(
        warnings.lines().all(|l| l.starts_with("warning: ")),
        "{warnings}"
    );
    // aofd starts with it (the machine-specific paths and the port overridden by flags, which
    // win over the file).
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let file = dir.join("aofd.toml");
    std::fs::write(&file, &toml).expect("write");
    let port = free_port();
    let args: Vec<String> = [
        file.to_str().expect("utf-8"),
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir.to_str().expect("utf-8"),
        "--logfile",
        "",
        "--pidfile",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut p = Proc::spawn(AOFD, &args, dir, port, "aofd.log");
    p.wait_log("Ready to accept connections", LIMIT);
    let mut c = Conn::connect(port);
    assert_eq!(
        c.text(&["CONFIG", "GET", "appendfsync"]),
        "[appendfsync,everysec]"
    );
    assert_eq!(c.text(&["CONFIG", "GET", "databases"]), "[databases,16]");
    assert!(p
        .log_text()
        .contains(&format!("Configuration loaded file={}", file.display())));
}

#[test]
fn migrate_config_follows_include() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let main = tmp.path().join("redis.conf");
    let inc = tmp.path().join("local.conf");
    std::fs::write(&inc, "port 7001\nmaxmemory 1gb\n").expect("write");
    std::fs::write(
        &main,
        format!("port 7000\ninclude {}\nappendonly yes\n", inc.display()),
    )
    .expect("write");
    let out = run(&["migrate-config", main.to_str().expect("utf-8")], &[]);
    assert!(out.status.success());
    let toml = text(&out.stdout);
    assert!(
        toml.contains(&format!("port = 7001  # {}:1\n", inc.display())),
        "{toml}"
    );
    assert!(toml.contains("appendonly = true"), "{toml}");
    assert!(
        text(&out.stderr).contains(&format!(
            "warning: {}:2: 'maxmemory' is not supported by aofd; kept as a comment",
            inc.display()
        )),
        "{}",
        text(&out.stderr)
    );
    let missing = run(&["migrate-config", "/nonexistent/redis.conf"], &[]);
    assert_eq!(missing.status.code(), Some(1));
}

// ---------------------------------------------------------------------------------------------
// Against redis-server 7.0 (AOFD_DIFFERENTIAL=1)

fn differential() -> bool {
    if std::env::var("AOFD_DIFFERENTIAL").is_ok_and(|v| v == "1") {
        return true;
    }
    println!("migration differential test skipped: set AOFD_DIFFERENTIAL=1 (needs redis-server)");
    false
}

/// Puts an input into an empty data directory.
type Prepare = Box<dyn Fn(&Path)>;

/// What redis-server holds for a data directory prepared by `prepare`.
fn redis_dump(prepare: &dyn Fn(&Path), appendonly: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    prepare(tmp.path());
    let p = redis_server(tmp.path(), &["--appendonly", appendonly]);
    dump_of(&p)
}

#[test]
fn differential_against_redis_server() {
    if !differential() {
        return;
    }
    let status = Command::new("redis-server")
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("redis-server is required with AOFD_DIFFERENTIAL=1: {e}"));
    assert!(status.status.success());
    // Fresh fixtures from redis-server 7.0, at test time.
    let gen = tempfile::tempdir().expect("tempdir");
    let out = Command::new("sh")
        .arg(repo("migrations/generate-fixtures.sh"))
        .arg(gen.path())
        .env("FIXTURE_PORT", free_port().to_string())
        .output()
        .expect("run generate-fixtures.sh");
    assert!(out.status.success(), "{}", text(&out.stderr));
    for fx in [
        Fixtures {
            root: gen.path().to_path_buf(),
        },
        Fixtures::committed(),
    ] {
        let legacy = |src: PathBuf| {
            move |d: &Path| {
                std::fs::copy(&src, d.join("appendonly.aof")).expect("copy");
            }
        };
        let dumprdb = {
            let src = fx.dump();
            move |d: &Path| {
                std::fs::copy(&src, d.join("dump.rdb")).expect("copy");
            }
        };
        let redis7 = {
            let src = fx.redis7();
            move |d: &Path| copy_dir(&src, &aof_dir(d))
        };
        // (how to prepare the directory, how redis-server reads it)
        let cases: Vec<(&str, Prepare, &str)> = vec![
            ("resp", Box::new(legacy(fx.resp())), "yes"),
            ("preamble", Box::new(legacy(fx.preamble())), "yes"),
            // redis-server with appendonly yes would start empty: it reads dump.rdb without.
            ("dump.rdb", Box::new(dumprdb), "no"),
            ("redis7", Box::new(redis7), "yes"),
        ];
        for (name, prepare, redis_aof) in &cases {
            let want = redis_dump(prepare.as_ref(), redis_aof);
            assert_eq!(want, expected(), "{name}: redis-server's dataset");
            // aofd, migrating at startup.
            let tmp = tempfile::tempdir().expect("tempdir");
            prepare(tmp.path());
            let mut p = start(tmp.path(), &[]);
            assert_eq!(dump_of(&p), want, "{name}: aofd");
            let _ = p.conn().try_call(&["SHUTDOWN"]);
            p.wait_exit(LIMIT).expect("aofd exits");
            // The directory aofd migrated loads in redis-server.
            let r = redis_server(tmp.path(), &["--appendonly", "yes"]);
            assert_eq!(
                dump_of(&r),
                want,
                "{name}: redis-server on aofd's directory"
            );
            drop(r);
            // aofd import of the same input.
            let src = tempfile::tempdir().expect("tempdir");
            prepare(src.path());
            let source = if *name == "redis7" {
                aof_dir(src.path())
            } else if *name == "dump.rdb" {
                src.path().join("dump.rdb")
            } else {
                src.path().join("appendonly.aof")
            };
            let target = tempfile::tempdir().expect("tempdir");
            let out = run(
                &[
                    "import",
                    source.to_str().expect("utf-8"),
                    "--dir",
                    target.path().to_str().expect("utf-8"),
                ],
                &[],
            );
            assert!(out.status.success(), "{name}: {}", text(&out.stderr));
            let p = start(target.path(), &[]);
            assert_eq!(dump_of(&p), want, "{name}: aofd after import");
            drop(p);
            let r = redis_server(target.path(), &["--appendonly", "yes"]);
            assert_eq!(dump_of(&r), want, "{name}: redis-server on the import");
        }
    }
}
