//! `GET /v1/openapi.json` and the honesty of the hand-written document: its (method, path)
//! pairs are exactly the routes `src/admin` registers (read from the source, so adding a route
//! without documenting it fails here), each is served by the real binary, every other method
//! answers 405 with an `Allow` header naming the documented ones, every error code the
//! handlers can answer is documented, and `docs/admin-api.md` covers every endpoint and every
//! metric. Schemathesis (`scripts/schemathesis`) checks the responses against the schemas.

mod admin_support;

use std::collections::BTreeSet;
use std::path::Path;

use admin_support::{Admin, Http};
use aofd::admin::openapi::{documented_routes, SPEC};

/// The methods an axum method router can be given with a `routing::*` function.
const METHODS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "trace",
];

fn source_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/admin")
}

/// The text of `.route(` call `start` (just after the opening parenthesis) up to its matching
/// closing parenthesis.
fn call_arguments(text: &str, start: usize) -> &str {
    let mut depth = 1usize;
    for (i, c) in text[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[start..start + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced .route( call");
}

/// Every (METHOD, path) registered with `.route("path", get(..).post(..))` in `src/admin`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(source_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for other in [".nest(", ".route_service(", ".nest_service("] {
            assert!(
                !text.contains(other),
                "{} uses {other}: teach tests/admin_openapi.rs to read its routes",
                file.display()
            );
        }
        let mut from = 0;
        while let Some(at) = text[from..].find(".route(\"") {
            let start = from + at + ".route(".len();
            let args = call_arguments(&text, start);
            from = start + args.len();
            let path = args[1..].split('"').next().unwrap().to_string();
            let handlers = &args[path.len() + 2..];
            let mut found = 0;
            for method in METHODS {
                // `get(handler)` at the start of the chain or `.get(handler)` later in it.
                for prefix in [" ", "."] {
                    let needle = format!("{prefix}{method}(");
                    found += handlers.matches(&needle).count();
                    for _ in handlers.matches(&needle) {
                        routes.insert((method.to_ascii_uppercase(), path.clone()));
                    }
                }
            }
            assert!(
                found > 0,
                "{}: no method in .route(\"{path}\"{handlers})",
                file.display()
            );
        }
    }
    routes
}

fn documented() -> BTreeSet<(String, String)> {
    documented_routes().into_iter().collect()
}

fn spec() -> serde_json::Value {
    serde_json::from_str(SPEC).unwrap()
}

#[test]
fn the_document_lists_exactly_the_routes_the_source_registers() {
    let source = routes_in_source();
    let documented = documented();
    let undocumented: Vec<_> = source.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&source).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "routes missing from src/admin/openapi.json: {undocumented:?}; documented but not \
         registered: {unserved:?}"
    );
    assert!(source.len() >= 12, "{source:?}");
}

#[test]
fn every_error_code_in_the_source_is_documented() {
    let text = SPEC;
    let mut codes = BTreeSet::new();
    for entry in std::fs::read_dir(source_dir()).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        // ApiError::new(StatusCode::X, "code", ..), ApiError::bad_request("code", ..),
        // ApiError::unavailable("code", ..), Self::new(..) in error.rs, and the codes its
        // json_rejection chooses.
        let mut markers = vec![
            "ApiError::new(",
            "ApiError::bad_request(",
            "ApiError::unavailable(",
            "Self::new(",
        ];
        if path.ends_with("error.rs") {
            markers.push("=> \"");
        }
        for marker in markers {
            for (at, _) in source.match_indices(marker) {
                let rest = &source[at + marker.len()..];
                let rest = if marker.ends_with('"') {
                    rest
                } else {
                    let Some(q) = rest.find('"') else { continue };
                    // The code is the first string literal of the call (skipping a status).
                    if rest[..q].contains(')') || rest[..q].contains(';') {
                        continue;
                    }
                    &rest[q + 1..]
                };
                let code: String = rest.chars().take_while(|c| *c != '"').collect();
                if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    codes.insert(code);
                }
            }
        }
    }
    for code in [
        "not_found",
        "method_not_allowed",
        "unauthorized",
        "shutting_down",
    ] {
        assert!(codes.contains(code), "the scan missed {code}: {codes:?}");
    }
    // 404/405 for unknown routes and methods are described in info.description (an OpenAPI
    // operation can't carry them); every other code must be in some response's enum.
    for code in &codes {
        assert!(
            text.contains(&format!("\"{code}\"")) || text.contains(&format!("`{code}`")),
            "error code {code} is not documented in src/admin/openapi.json"
        );
    }
    assert!(codes.len() >= 25, "{codes:?}");
}

/// Sends `method path` with what the operation needs to succeed.
fn call(http: &Http, method: &str, path: &str) -> admin_support::Response {
    match (method, path) {
        ("PUT", "/v1/persistence/fsync") => {
            http.put_json(path, "{\"policy\":\"everysec\",\"persist\":false}")
        }
        _ => http.request(method, path, None),
    }
}

#[test]
fn every_documented_route_is_served_and_other_methods_answer_405() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &[]);
    let http = admin.http();
    let mut c = admin.conn();
    c.call(&["SET", "k", "v"]);
    // A rewrite to point `{id}` at.
    let r = http.post("/v1/rewrites");
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_u64().unwrap().to_string();

    let doc = spec();
    let mut by_path: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for (method, path) in documented() {
        by_path.entry(path).or_default().insert(method);
    }
    for (path, methods) in &by_path {
        let concrete = path.replace("{id}", &id);
        for method in methods {
            let r = call(&http, method, &concrete);
            let body = r.text();
            assert!(
                r.status != 405 && !body.contains("No such endpoint"),
                "{method} {path}: {} {body}",
                r.status
            );
            let documented_codes = doc["paths"][path.as_str()][method.to_ascii_lowercase()]
                ["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>();
            assert!(
                documented_codes.contains(&r.status.to_string()),
                "{method} {path} answered {} (documented: {documented_codes:?}): {body}",
                r.status
            );
            // Without the token, only /healthz answers.
            let anonymous = call(&http.anonymous(), method, &concrete);
            let public = path == "/healthz";
            assert_eq!(
                anonymous.status == 401,
                !public,
                "{method} {path} without a token"
            );
            let security = &doc["paths"][path.as_str()][method.to_ascii_lowercase()]["security"];
            assert_eq!(
                security == &serde_json::json!([]),
                public,
                "{method} {path} security"
            );
        }
        let mut allowed: Vec<&str> = methods.iter().map(String::as_str).collect();
        if methods.contains("GET") {
            allowed.push("HEAD");
        }
        for other in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if methods.contains(other) {
                continue;
            }
            let r = http.request(other, &concrete, None);
            assert_eq!(r.status, 405, "{other} {path}: {}", r.text());
            assert_eq!(r.json()["error"]["code"], "method_not_allowed");
            let mut allow: Vec<&str> = r.header("allow").unwrap_or_default().split(',').collect();
            allow.sort_unstable();
            allowed.sort_unstable();
            assert_eq!(allow, allowed, "Allow of {path}");
        }
    }
}

#[test]
fn the_document_is_served_behind_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &[]);
    let http = admin.http();
    let r = http.anonymous().get("/v1/openapi.json");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "unauthorized");
    let r = http.get("/v1/openapi.json");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), SPEC);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], serde_json::json!([{ "bearerAuth": [] }]));
}

#[test]
fn every_object_schema_is_closed_or_says_why_not() {
    // Fixed shapes get additionalProperties: false, so a field added to a response without
    // documenting it fails Schemathesis' schema check.
    fn walk(node: &serde_json::Value, at: &str, open: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(map) => {
                if map.get("type") == Some(&serde_json::json!("object"))
                    && map.contains_key("properties")
                    && map.get("additionalProperties") != Some(&serde_json::json!(false))
                {
                    open.push(at.to_string());
                }
                for (k, v) in map {
                    walk(v, &format!("{at}/{k}"), open);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{at}/{i}"), open);
                }
            }
            _ => {}
        }
    }
    let mut open = Vec::new();
    walk(&spec(), "", &mut open);
    assert!(
        open.is_empty(),
        "object schemas without additionalProperties: false: {open:?}"
    );
}

#[test]
fn the_guide_covers_every_endpoint_and_every_metric() {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/admin-api.md"))
            .expect("docs/admin-api.md");
    for (method, path) in documented() {
        let heading = format!("### `{method} {path}`");
        assert!(
            guide.lines().any(|l| l.starts_with(&heading)),
            "docs/admin-api.md has no heading {heading}"
        );
    }
    // The metrics table: one row per metric, `| `name` | kind | labels | help |`.
    let listed: BTreeSet<String> = guide
        .lines()
        .filter_map(|l| l.strip_prefix("| `aofd_"))
        .map(|rest| format!("aofd_{}", rest.split('`').next().unwrap()))
        .collect();
    let defined: BTreeSet<String> = aofd::admin::metrics::DEFS
        .iter()
        .map(|d| d.name.to_string())
        .collect();
    assert_eq!(listed, defined, "the metrics table of docs/admin-api.md");
}

#[test]
fn bad_ids_answer_json_and_the_status_shows_the_running_rewrite_as_the_rewrites_api_does() {
    let tmp = tempfile::tempdir().unwrap();
    let admin = Admin::start(tmp.path(), &["--rdb-key-save-delay", "200000"]);
    let http = admin.http();
    // A path segment that is not UTF-8 is a bad id like any other, in the API's error shape.
    for path in ["/v1/rewrites/%FF", "/v1/rewrites/%FF/events"] {
        let r = http.get(path);
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json()["error"]["code"], "invalid_id");
    }
    assert_eq!(http.delete("/v1/rewrites/%FF").status, 400);

    let mut c = admin.conn();
    c.call(&["MSET", "a", "1", "b", "2"]);
    let started = http.post("/v1/rewrites");
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()["id"].clone();
    let status = http.get("/v1/persistence").json();
    let current = &status["rewrite"]["current"];
    let listed = http.get(&format!("/v1/rewrites/{id}")).json();
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(current["id"], id);
    assert_eq!(keys(current), keys(&listed));
    assert_eq!(http.delete(&format!("/v1/rewrites/{id}")).status, 200);
}
