//! `/v1/rewrites` against the real binary: start (202 + Location), 409 while one runs, 503
//! while a BGSAVE runs, history and lookup, Server-Sent Events to the end, cancellation, and a
//! watcher that does not delay shutdown.

mod admin_support;

use std::time::{Duration, Instant};

use admin_support::aof_support::{dump, pipeline, Conn};
use admin_support::{Admin, Http};

/// Fills the dataset with `n` string keys.
fn fill(c: &mut Conn, n: usize) {
    let cmds: Vec<Vec<String>> = (0..n)
        .map(|i| vec!["SET".into(), format!("key:{i}"), format!("value-{i}")])
        .collect();
    for chunk in cmds.chunks(1000) {
        pipeline(c, chunk);
    }
}

/// Polls rewrite `id` until it has a result.
fn wait_result(http: &Http, id: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let view = http.get(&format!("/v1/rewrites/{id}")).json();
        if !view["result"].is_null() {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "rewrite {id} never ended: {view}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_rewrite_starts_runs_to_success_and_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &[]);
    let mut c = admin.conn();
    fill(&mut c, 500);
    let http = admin.http();
    let r = http.post("/v1/rewrites");
    assert_eq!(r.status, 202, "{}", r.text());
    let view = r.json();
    let id = view["id"].as_u64().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/rewrites/{id}").as_str())
    );
    assert_eq!(view["trigger"], "api");
    assert_eq!(view["keys_total"], 500);
    let done = wait_result(&http, id);
    assert_eq!(done["phase"], "succeeded");
    assert_eq!(done["result"], "succeeded");
    assert_eq!(done["keys_written"], 500);
    assert_eq!(done["progress"], 1.0);
    assert_eq!(done["base_file"], "appendonly.aof.2.base.rdb");
    let list = http.get("/v1/rewrites").json();
    assert!(list["current"].is_null());
    assert_eq!(list["history"][0]["id"], id);
    // A BGREWRITEAOF shows up too, with its own trigger, newest first.
    c.call(&["BGREWRITEAOF"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = http.get("/v1/rewrites").json();
        if list["history"].as_array().unwrap().len() == 2 {
            assert_eq!(list["history"][0]["trigger"], "manual");
            assert_eq!(list["history"][1]["id"], id);
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(admin.proc.log_text().contains(&format!(
        "AOF rewrite {id} started by admin API client 127.0.0.1:"
    )));
}

#[test]
fn refusals_conflict_unavailable_and_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &["--rdb-key-save-delay", "2000"]);
    let mut c = admin.conn();
    fill(&mut c, 1000);
    let http = admin.http();
    let id = http.post("/v1/rewrites").json()["id"].as_u64().unwrap();
    let r = http.post("/v1/rewrites");
    assert_eq!(r.status, 409);
    let body = r.json();
    assert_eq!(body["error"]["code"], "rewrite_in_progress");
    assert_eq!(body["error"]["rewrite_id"], id);
    assert_eq!(http.delete(&format!("/v1/rewrites/{id}")).status, 200);

    // One child at a time: a BGSAVE running makes a rewrite unavailable for now.
    assert_eq!(c.text(&["BGSAVE"]), "Background saving started");
    let r = http.post("/v1/rewrites");
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "other_child_running");

    let r = http.get("/v1/rewrites/999");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
    assert_eq!(http.get("/v1/rewrites/999/events").status, 404);
    assert_eq!(http.delete("/v1/rewrites/999").status, 404);
    let r = http.get("/v1/rewrites/abc");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "invalid_id");
    // Cancelling one that already ended is a conflict that says how it ended.
    let r = http.delete(&format!("/v1/rewrites/{id}"));
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"]["code"], "rewrite_finished");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("cancelled"));
}

#[test]
fn events_show_non_decreasing_progress_and_one_final_result() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &["--rdb-key-save-delay", "1000"]);
    let mut c = admin.conn();
    fill(&mut c, 1500);
    let http = admin.http();
    let id = http.post("/v1/rewrites").json()["id"].as_u64().unwrap();
    let mut events = http.events(&format!("/v1/rewrites/{id}/events"));
    let mut last_keys = 0;
    let mut progress_events = 0;
    let mut results = Vec::new();
    while let Some(event) = events.next_event() {
        let view = event.json();
        assert_eq!(view["id"], id);
        let keys = view["keys_written"].as_u64().unwrap();
        assert!(
            keys >= last_keys,
            "progress went back: {keys} < {last_keys}"
        );
        last_keys = keys;
        match event.event.as_str() {
            "progress" => {
                assert!(results.is_empty(), "progress after the result");
                assert!(view["result"].is_null());
                progress_events += 1;
            }
            "result" => results.push(view),
            other => panic!("unexpected event {other}"),
        }
    }
    assert!(
        progress_events >= 2,
        "only {progress_events} progress events"
    );
    assert_eq!(results.len(), 1, "exactly one result event");
    assert_eq!(results[0]["result"], "succeeded");
    assert_eq!(results[0]["keys_written"], 1500);
    // Watching a finished rewrite gives its result at once, then the end.
    let mut again = http.events(&format!("/v1/rewrites/{id}/events"));
    let only = again.next_event().expect("one event");
    assert_eq!(only.event, "result");
    assert!(again.next_event().is_none());
}

#[test]
fn cancelling_kills_the_child_and_keeps_the_directory_loadable() {
    let tmp = tempfile::tempdir().unwrap();
    let mut admin = Admin::start(tmp.path(), &["--rdb-key-save-delay", "2000"]);
    let mut c = admin.conn();
    fill(&mut c, 1000);
    let http = admin.http();
    let started = http.post("/v1/rewrites").json();
    let id = started["id"].as_u64().unwrap();
    let pid = started["pid"].as_i64().unwrap();
    // Writes after the fork go to the new INCR.
    c.call(&["SET", "after", "fork"]);
    let r = http.delete(&format!("/v1/rewrites/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let view = r.json();
    assert_eq!(view["result"], "cancelled");
    assert!(view["error"].is_null());
    // The child is gone and reaped, its temp files removed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "child {pid} still exists");
        std::thread::sleep(Duration::from_millis(10));
    }
    let leftovers: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("temp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A cancel is not a failure.
    assert_eq!(
        c.info_field("persistence", "aof_last_bgrewrite_status")
            .as_deref(),
        Some("ok")
    );
    let status = http.get("/v1/persistence").json();
    assert_eq!(status["rewrite"]["consecutive_failures"], 0);
    let before = dump(&mut c, 1);
    admin.proc.kill9();
    let admin = Admin::start(tmp.path(), &[]);
    let mut c = admin.conn();
    assert_eq!(dump(&mut c, 1), before);
}

#[test]
fn a_watcher_does_not_delay_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    // No save points: the final RDB save would honour the delay too.
    let mut admin = Admin::start(tmp.path(), &["--rdb-key-save-delay", "20000", "--save", ""]);
    let mut c = admin.conn();
    fill(&mut c, 1000);
    let http = admin.http();
    let id = http.post("/v1/rewrites").json()["id"].as_u64().unwrap();
    let mut events = http.events(&format!("/v1/rewrites/{id}/events"));
    assert_eq!(events.next_event().unwrap().event, "progress");
    let watcher = std::thread::spawn(move || {
        let mut n = 0;
        while events.next_event().is_some() {
            n += 1;
        }
        n
    });
    let t = Instant::now();
    let status = admin.proc.terminate().expect("exited");
    assert!(status.success(), "{status:?}");
    // The rewrite would take 20 s; shutdown kills it and the stream ends with it.
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    watcher.join().unwrap();
}
