//! The admin API over a real socket against the real binary: authentication, error shapes,
//! health, persistence status and the fsync policy.

mod admin_support;

use admin_support::{Admin, TOKEN};

#[test]
fn every_protected_endpoint_needs_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &[]);
    let http = admin.http();
    for (method, path) in [
        ("GET", "/readyz"),
        ("GET", "/v1/persistence"),
        ("GET", "/v1/persistence/fsync"),
        ("PUT", "/v1/persistence/fsync"),
    ] {
        for client in [http.anonymous(), http.with_token("wrong")] {
            let r = client.request(method, path, None);
            assert_eq!(r.status, 401, "{method} {path}");
            assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"aofd\""));
            assert_eq!(r.json()["error"]["code"], "unauthorized");
        }
    }
    // Liveness is public; readiness needs the token like the rest.
    assert_eq!(http.anonymous().get("/healthz").status, 200);
    assert_eq!(http.get("/readyz").status, 200);
    // The right token, and a token with surrounding whitespace in the header, work.
    assert_eq!(http.get("/v1/persistence").status, 200);
    let r = http
        .with_token(&format!("{TOKEN}  "))
        .get("/v1/persistence/fsync");
    assert_eq!(r.status, 200);
}

#[test]
fn errors_are_json_with_a_code() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &[]);
    let http = admin.http();
    let r = http.get("/v1/nothing-here");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
    let r = http.delete("/v1/persistence");
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
    let r = http.put_json("/v1/persistence/fsync", "{\"policy\":");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "malformed_json");
    let r = http.put_json("/v1/persistence/fsync", "{\"policy\":\"sometimes\"}");
    assert_eq!(r.status, 400);
    let body = r.json();
    assert_eq!(body["error"]["code"], "invalid_policy");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'sometimes'"));
    let r = http.put_json("/v1/persistence/fsync", "{\"policy\":\"no\",\"extra\":1}");
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["error"]["code"], "invalid_body");
    let huge = format!("{{\"policy\":\"{}\"}}", "x".repeat(200 * 1024));
    let r = http.put_json("/v1/persistence/fsync", &huge);
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "body_too_large");
}

#[test]
fn persistence_status_names_the_manifest_files() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &[]);
    let mut c = admin.conn();
    c.call(&["SET", "k", "v"]);
    let status = admin.http().get("/v1/persistence").json();
    assert_eq!(status["appendonly"], true);
    assert_eq!(status["aof_state"], "on");
    assert_eq!(status["fsync_policy"], "everysec");
    let files = status["manifest"]["files"].as_array().unwrap();
    assert_eq!(files[0]["name"], "appendonly.aof.1.base.rdb");
    assert_eq!(files[0]["type"], "base");
    assert_eq!(files[0]["size_bytes"], 89);
    assert_eq!(files[1]["name"], "appendonly.aof.1.incr.aof");
    assert_eq!(files[1]["type"], "incr");
    let incr_len = std::fs::metadata(tmp.path().join("appendonlydir/appendonly.aof.1.incr.aof"))
        .unwrap()
        .len();
    assert_eq!(files[1]["size_bytes"], incr_len);
    assert_eq!(status["current_size_bytes"], incr_len);
    assert_eq!(status["writer"]["last_write_status"], "ok");
    assert_eq!(status["rewrite"]["in_progress"], false);
    assert!(status["loading"].is_null());
}

#[test]
fn a_policy_change_is_config_set_and_persists_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    let mut admin = Admin::start(tmp.path(), &[]);
    let http = admin.http();
    let r = http.put_json("/v1/persistence/fsync", "{\"policy\":\"always\"}");
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["policy"], "always");
    assert_eq!(body["previous"], "everysec");
    assert_eq!(body["persisted"], false);
    let mut c = admin.conn();
    assert_eq!(
        c.text(&["CONFIG", "GET", "appendfsync"]),
        "[appendfsync,always]"
    );
    assert_eq!(
        c.info_field("persistence", "aof_fsync_policy").as_deref(),
        Some("always")
    );
    assert_eq!(http.get("/v1/persistence/fsync").json()["policy"], "always");
    assert!(admin.proc.log_text().contains(
        "The fsync policy was changed from everysec to always by admin API client 127.0.0.1:"
    ));

    // Not persisted: a restart goes back to the configuration.
    admin.proc.terminate();
    let admin = Admin::start(tmp.path(), &[]);
    assert_eq!(
        admin.http().get("/v1/persistence/fsync").json()["policy"],
        "everysec"
    );

    // Persisted: recorded in the data directory and applied at the next start...
    let r = admin.http().put_json(
        "/v1/persistence/fsync",
        "{\"policy\":\"no\",\"persist\":true}",
    );
    assert_eq!(r.status, 200);
    let recorded = tmp.path().join("aofd-runtime.conf");
    assert_eq!(r.json()["persisted_in"], recorded.display().to_string());
    drop(admin);
    let admin = Admin::start(tmp.path(), &[]);
    assert_eq!(
        admin.http().get("/v1/persistence/fsync").json()["policy"],
        "no"
    );
    drop(admin);
    // ...but a flag given at launch still wins.
    let admin = Admin::start(tmp.path(), &["--appendfsync", "always"]);
    assert_eq!(
        admin.http().get("/v1/persistence/fsync").json()["policy"],
        "always"
    );
}

#[test]
fn always_set_through_the_api_keeps_acknowledged_writes_across_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let mut admin = Admin::start(tmp.path(), &["--appendfsync", "no"]);
    let r = admin
        .http()
        .put_json("/v1/persistence/fsync", "{\"policy\":\"always\"}");
    assert_eq!(r.status, 200);
    let mut c = admin.conn();
    for i in 0..300 {
        assert_eq!(c.text(&["SET", &format!("k{i}"), &i.to_string()]), "OK");
    }
    // Under `always` every acknowledged write was fdatasync'ed before its reply.
    let status = admin.http().get("/v1/persistence").json();
    assert_eq!(status["writer"]["unsynced_bytes"], 0);
    assert!(status["writer"]["fsync"]["count"].as_u64().unwrap() > 0);
    admin.proc.kill9();
    let admin = Admin::start(tmp.path(), &[]);
    let mut c = admin.conn();
    assert_eq!(c.text(&["DBSIZE"]), "300");
    assert_eq!(c.text(&["GET", "k299"]), "299");
}

#[test]
fn a_generated_token_and_a_unix_socket_listener() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let sock = tmp.path().join("admin.sock");
    let listen = format!("unix:{}", sock.display());
    let mut p = admin_support::Proc::aofd(&dir, &["--admin-listen", &listen]);
    p.wait_log(
        "Admin API listening on unix:",
        std::time::Duration::from_secs(20),
    );
    // No admin-token-file: one was generated in `dir`, owner-only, and its path logged.
    let token_path = dir.join("admin.token");
    let token = std::fs::read_to_string(&token_path).unwrap();
    let token = token.trim();
    assert_eq!(token.len(), 64);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(p.log_text().contains(&format!(
        "Generated an admin API token in {}",
        token_path.display()
    )));
    let ask = |auth: &str| {
        let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        write!(
            s,
            "GET /v1/persistence/fsync HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let ok = ask(&format!("Authorization: Bearer {token}\r\n"));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.ends_with("{\"policy\":\"everysec\"}"), "{ok}");
    assert!(ask("").starts_with("HTTP/1.1 401"));
    // The socket file goes away with the server.
    assert!(p.terminate().is_some_and(|s| s.success()));
    assert!(!sock.exists());
}

#[test]
fn a_busy_admin_port_or_a_bad_address_stops_startup_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut p = admin_support::Proc::aofd_nowait(tmp.path(), &["--admin-listen", &addr]);
    let status = p
        .wait_exit(std::time::Duration::from_secs(20))
        .expect("exits");
    assert_eq!(status.code(), Some(1));
    assert!(
        p.log_text()
            .contains(&format!("Can't listen for the admin API on {addr}:")),
        "{}",
        p.log_text()
    );
    // Bound before the data thread starts: nothing was loaded, so nothing is saved.
    assert!(!p.log_text().contains("Saving the final RDB snapshot"));
    assert!(!tmp.path().join("dump.rdb").exists());
    let mut p = admin_support::Proc::aofd_nowait(tmp.path(), &["--admin-listen", "localhost"]);
    let status = p
        .wait_exit(std::time::Duration::from_secs(20))
        .expect("exits");
    assert_eq!(status.code(), Some(1));
    let log = p.log_text();
    assert!(
        log.contains("'admin-listen' = 'localhost'")
            && log.contains("neither an IP address with a port"),
        "{log}"
    );
}
