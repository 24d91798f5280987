//! `GET /metrics` against the real binary over a real socket: the Prometheus text format, the
//! series following what the server does (commands, keys, AOF sizes, the fsync policy and
//! latency histogram, rewrites, loading), and `admin-metrics-auth`. Also `/readyz` while a big
//! AOF loads.

mod admin_support;

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use admin_support::aof_support::{self, Proc, Val};
use admin_support::{free_port, Admin, Http, TOKEN};

/// A parsed exposition: series (name with labels, as rendered) to value.
struct Metrics {
    text: String,
    values: HashMap<String, f64>,
}

impl Metrics {
    fn parse(text: String) -> Metrics {
        let mut values = HashMap::new();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}"));
            assert!(
                values.insert(series.to_string(), value).is_none(),
                "{series} twice"
            );
        }
        Metrics { text, values }
    }

    /// The value of `series` (`name` or `name{label="v"}`); panics with the text if absent.
    fn get(&self, series: &str) -> f64 {
        *self
            .values
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in:\n{}", self.text))
    }
}

/// Scrapes `/metrics` with `http` and checks the status and content type.
fn scrape(http: &Http) -> Metrics {
    let r = http.get("/metrics");
    assert_eq!(r.status, 200, "{}", r.text());
    let content_type = r.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Metrics::parse(r.text())
}

/// Scrapes until `done` holds (generous bound for a loaded machine).
fn scrape_until(http: &Http, what: &str, done: impl Fn(&Metrics) -> bool) -> Metrics {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = scrape(http);
        if done(&m) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never happened:\n{}",
            m.text
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn info_u64(c: &mut aof_support::Conn, field: &str) -> f64 {
    c.info_field("persistence", field)
        .unwrap_or_else(|| panic!("no INFO {field}"))
        .parse()
        .expect("number")
}

#[test]
fn the_series_follow_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &["--appendfsync", "always"]);
    let http = admin.http();
    let mut c = admin.conn();
    let _idle = admin.conn();
    for i in 0..25 {
        assert_eq!(c.text(&["SET", &format!("k{i}"), "v"]), "OK");
    }
    for _ in 0..3 {
        c.call(&["GET", "k1"]);
    }
    assert!(matches!(c.call(&["GET"]), Val::Error(_)));
    assert!(matches!(c.call(&["INCR", "k1"]), Val::Error(_)));
    assert_eq!(c.text(&["SELECT", "2"]), "OK");
    assert_eq!(c.text(&["SET", "ttl", "v", "EX", "1000"]), "OK");
    let dbsize2: f64 = c.text(&["DBSIZE"]).parse().unwrap();
    assert_eq!(c.text(&["SELECT", "0"]), "OK");
    let dbsize0: f64 = c.text(&["DBSIZE"]).parse().unwrap();

    let m = scrape(&http);
    assert_eq!(m.get("aofd_commands_total{cmd=\"set\"}"), 26.0);
    assert_eq!(m.get("aofd_commands_total{cmd=\"get\"}"), 3.0);
    assert_eq!(m.get("aofd_command_rejections_total{cmd=\"get\"}"), 1.0);
    assert_eq!(m.get("aofd_command_failures_total{cmd=\"incr\"}"), 1.0);
    assert_eq!(m.get("aofd_error_replies_total{code=\"ERR\"}"), 2.0);
    assert_eq!(m.get("aofd_keys{db=\"0\"}"), dbsize0);
    assert_eq!(m.get("aofd_keys{db=\"2\"}"), dbsize2);
    assert_eq!(m.get("aofd_keys{db=\"1\"}"), 0.0);
    assert_eq!(m.get("aofd_expiring_keys{db=\"2\"}"), 1.0);
    assert_eq!(m.get("aofd_expiring_keys{db=\"0\"}"), 0.0);
    assert_eq!(m.get("aofd_connected_clients"), 2.0);
    assert!(m.get("aofd_used_memory_bytes") > 0.0);
    assert!(m.get("aofd_resident_memory_bytes") > 0.0);
    assert_eq!(m.get("aofd_loading"), 0.0);
    assert_eq!(m.get("aofd_aof_enabled"), 1.0);
    assert_eq!(m.get("aofd_aof_write_error"), 0.0);
    assert_eq!(
        m.get("aofd_aof_current_size_bytes"),
        info_u64(&mut c, "aof_current_size")
    );
    assert_eq!(
        m.get("aofd_aof_base_size_bytes"),
        info_u64(&mut c, "aof_base_size")
    );
    // Under `always` every write was fdatasync'ed before its reply.
    assert_eq!(m.get("aofd_aof_unsynced_bytes"), 0.0);
    assert!(m.get("aofd_aof_fsyncs_total") > 0.0);
    assert!(m.get("aofd_aof_fsync_duration_seconds_count") > 0.0);
    assert!(m.get("aofd_aof_fsync_duration_seconds_sum") > 0.0);
    assert_eq!(
        m.get("aofd_aof_fsync_duration_seconds_bucket{le=\"+Inf\"}"),
        m.get("aofd_aof_fsync_duration_seconds_count")
    );
    assert_eq!(m.get("aofd_aof_fsync_policy{policy=\"always\"}"), 1.0);
    assert_eq!(m.get("aofd_aof_fsync_policy{policy=\"everysec\"}"), 0.0);
    assert_eq!(m.get("aofd_aof_fsync_policy{policy=\"no\"}"), 0.0);
    // Backups are counted by another module: their counters show before the first one.
    assert_eq!(m.get("aofd_backups_total"), 0.0);
    assert_eq!(m.get("aofd_backup_bytes_total"), 0.0);
    assert_eq!(
        m.get("aofd_build_info{version=\"0.1.0\",redis_version=\"7.0.15\"}"),
        1.0
    );
    for line in [
        "# TYPE aofd_commands_total counter",
        "# TYPE aofd_keys gauge",
        "# TYPE aofd_aof_fsync_duration_seconds histogram",
        "# HELP aofd_connected_clients Connected clients.",
    ] {
        assert!(m.text.contains(line), "{line} missing:\n{}", m.text);
    }

    // The policy gauge follows the API and CONFIG SET.
    let r = http.put_json("/v1/persistence/fsync", "{\"policy\":\"no\"}");
    assert_eq!(r.status, 200);
    let m = scrape(&http);
    assert_eq!(m.get("aofd_aof_fsync_policy{policy=\"no\"}"), 1.0);
    assert_eq!(m.get("aofd_aof_fsync_policy{policy=\"always\"}"), 0.0);
    assert_eq!(c.text(&["CONFIG", "SET", "appendfsync", "everysec"]), "OK");
    let m = scrape(&http);
    assert_eq!(m.get("aofd_aof_fsync_policy{policy=\"everysec\"}"), 1.0);
    assert_eq!(m.get("aofd_aof_fsync_policy{policy=\"no\"}"), 0.0);

    // A rewrite is counted once it is done.
    let before = m.get("aofd_aof_rewrites_total");
    assert_eq!(
        c.text(&["BGREWRITEAOF"]),
        "Background append only file rewriting started"
    );
    let m = scrape_until(&http, "the rewrite", |m| {
        m.get("aofd_aof_rewrite_in_progress") == 0.0
            && m.values
                .get("aofd_aof_rewrite_duration_seconds_count")
                .is_some_and(|n| *n == 1.0)
    });
    assert_eq!(m.get("aofd_aof_rewrites_total"), before + 1.0);
    assert_eq!(m.get("aofd_aof_rewrite_failures_total"), 0.0);
    assert_eq!(m.get("aofd_aof_rewrite_consecutive_failures"), 0.0);
    assert!(m.get("aofd_aof_rewrite_last_duration_seconds") >= 0.0);
    assert!(m.get("aofd_forks_total") >= 1.0);
    assert_eq!(
        m.get("aofd_aof_base_size_bytes"),
        info_u64(&mut c, "aof_base_size")
    );

    // CONFIG RESETSTAT clears the server's statistics, not the exported counters.
    assert_eq!(c.text(&["CONFIG", "RESETSTAT"]), "OK");
    c.text(&["SET", "k1", "again"]);
    c.text(&["SET", "k2", "again"]);
    let m = scrape(&http);
    assert_eq!(m.get("aofd_commands_total{cmd=\"set\"}"), 28.0);
    assert_eq!(m.get("aofd_command_rejections_total{cmd=\"get\"}"), 1.0);
}

#[test]
fn metrics_auth_follows_admin_metrics_auth() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &[]);
    let http = admin.http();
    for client in [http.anonymous(), http.with_token("wrong")] {
        let r = client.get("/metrics");
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["error"]["code"], "unauthorized");
    }
    scrape(&http);
    drop(admin);

    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &["--admin-metrics-auth", "no"]);
    let anonymous = admin.http().anonymous();
    let m = scrape(&anonymous);
    assert_eq!(m.get("aofd_loading"), 0.0);
    // Only /metrics became public.
    assert_eq!(anonymous.get("/v1/persistence").status, 401);
    // A token is not refused on a public route.
    scrape(&admin.http());
}

/// Writes an AOF directory whose BASE holds `n` SET commands; returns the BASE's size.
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
    std::fs::write(aof.join("appendonly.aof.1.incr.aof"), b"").expect("incr");
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .expect("manifest");
    base.len() as u64
}

#[test]
fn readyz_and_metrics_report_loading() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 250_000;
    let total = write_big_aof(tmp.path(), n);
    let token_file = tmp.path().join("admin.token.test");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let admin_port = free_port();
    let listen = format!("127.0.0.1:{admin_port}");
    let token_path = token_file.display().to_string();
    let mut p = Proc::aofd_nowait(
        tmp.path(),
        &["--admin-listen", &listen, "--admin-token-file", &token_path],
    );
    let http = Http {
        port: admin_port,
        token: Some(TOKEN.to_string()),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", admin_port)).is_err() {
        assert!(Instant::now() < deadline, "the admin API never listened");
        std::thread::sleep(Duration::from_millis(5));
    }

    let r = http.get("/readyz");
    assert_eq!(
        r.status, 503,
        "the load finished before /readyz was asked (make the AOF bigger)"
    );
    assert_eq!(r.json()["error"]["code"], "loading");
    let m = scrape(&http);
    assert_eq!(m.get("aofd_loading"), 1.0, "{}", m.text);
    assert_eq!(m.get("aofd_loading_total_bytes"), total as f64);
    assert!(m.get("aofd_loading_loaded_bytes") <= total as f64);
    assert_eq!(m.get("aofd_aof_enabled"), 0.0);

    p.wait_log("Ready to accept connections", Duration::from_secs(120));
    let r = http.get("/readyz");
    assert_eq!(r.status, 200, "{}", r.text());
    let m = scrape(&http);
    assert_eq!(m.get("aofd_loading"), 0.0);
    assert_eq!(m.get("aofd_loading_total_bytes"), 0.0);
    assert_eq!(m.get("aofd_keys{db=\"0\"}"), n as f64);
    assert_eq!(m.get("aofd_aof_enabled"), 1.0);
    assert_eq!(m.get("aofd_aof_base_size_bytes"), total as f64);
}
