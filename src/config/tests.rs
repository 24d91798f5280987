//! Tests of layered loading: the redis.conf format, TOML, environment, command line,
//! precedence, and errors that name the key, the value and the source.

use std::io::Write;

use super::sources::EnvSource;
use super::*;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    path.to_string_lossy().into_owned()
}

fn cli(args: &[&str]) -> CommandLine {
    cli::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

fn env(vars: &[(&str, &str)]) -> EnvSource {
    EnvSource {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn load_ok(args: &[&str], vars: &[(&str, &str)]) -> Loaded {
    match load(&cli(args), env(vars)) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    }
}

fn load_err(args: &[&str], vars: &[(&str, &str)]) -> ConfigError {
    match load(&cli(args), env(vars)) {
        Ok(l) => panic!("loaded {:?}", l.config),
        Err(e) => e,
    }
}

#[test]
fn defaults_without_anything() {
    let loaded = load_ok(&[], &[]);
    assert_eq!(loaded.config, Config::default());
    assert!(loaded.unimplemented.is_empty());
}

#[test]
fn redis_conf_syntax_units_booleans_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "redis.conf",
        "# comment\n\n  port 7000  \r\nBIND 127.0.0.1 -::1\nbind 10.0.0.1 ::1\n\
         requirepass \"with space\\x21\"\nproto-max-bulk-len 2mb\n\
         client-query-buffer-limit 1gb\nauto-aof-rewrite-min-size 1k\n\
         appendfsync ALWAYS\naof-load-truncated no\nsave 900 1\nsave 300 10\n\
         dir '/tmp/my dir'\nunixsocketperm 770\nhz 1000\n",
    );
    let c = load_ok(&[&file], &[]).config;
    assert_eq!(c.port, 7000);
    // bind: the last line wins, as in Redis.
    assert_eq!(c.bind, vec!["10.0.0.1", "::1"]);
    assert_eq!(c.requirepass, b"with space!");
    assert_eq!(c.proto_max_bulk_len, 2 * 1024 * 1024);
    assert_eq!(c.client_query_buffer_limit, 1 << 30);
    assert_eq!(c.auto_aof_rewrite_min_size, 1000);
    assert_eq!(c.appendfsync, AppendFsync::Always);
    assert!(!c.aof_load_truncated);
    // save: lines add up.
    assert_eq!(c.save, vec![(900, 1), (300, 10)]);
    assert_eq!(c.dir, "/tmp/my dir");
    assert_eq!(c.unixsocketperm, 0o770);
    assert_eq!(c.hz, 500);
    assert_eq!(c.config_file.as_deref(), Some(std::path::Path::new(&file)));
}

#[test]
fn save_empty_resets_and_includes_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let inc = write(&dir, "inc.conf", "databases 4\nsave \"\"\nsave 60 5\n");
    write(&dir, "more-a.conf", "timeout 7\n");
    write(&dir, "more-b.conf", "timeout 9\n");
    let pattern = dir.path().join("more-*.conf");
    let file = write(
        &dir,
        "main.conf",
        &format!(
            "save 900 1\ninclude {inc}\ninclude {}\ninclude {}/none-*.conf\n",
            pattern.display(),
            dir.path().display()
        ),
    );
    let c = load_ok(&[&file], &[]).config;
    assert_eq!(c.databases, 4);
    assert_eq!(c.save, vec![(60, 5)]);
    // Glob includes are read in alphabetical order; the last value wins.
    assert_eq!(c.timeout, 9);
}

#[test]
fn precedence_file_then_env_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "p.conf", "port 7000\nmaxclients 10\ntimeout 1\n");
    let vars = [("AOFD_MAXCLIENTS", "20"), ("AOFD_TIMEOUT", "2")];
    let c = load_ok(&[&file, "--timeout", "3"], &vars).config;
    assert_eq!(c.port, 7000, "file beats defaults");
    assert_eq!(c.maxclients, 20, "environment beats file");
    assert_eq!(c.timeout, 3, "flags beat environment");
    let toml = write(
        &dir,
        "aofd.toml",
        "port = 7100\nproto_max_bulk_len = \"4mb\"\n",
    );
    let c = load_ok(&[&toml], &[("AOFD_PROTO_MAX_BULK_LEN", "8mb")]).config;
    assert_eq!(c.port, 7100);
    assert_eq!(c.proto_max_bulk_len, 8 * 1024 * 1024);
}

#[test]
fn toml_types_and_multi_values() {
    let dir = tempfile::tempdir().unwrap();
    let toml = write(
        &dir,
        "aofd.toml",
        "appendonly = true\nbind = [\"127.0.0.1\", \"::1\"]\nsave = [\"900 1\", \"300 10\"]\n\
         auto-aof-rewrite-min-size = 1048576\nloglevel = \"verbose\"\n",
    );
    let loaded = load_ok(&[&toml], &[]);
    let c = loaded.config;
    assert!(c.appendonly);
    assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
    assert_eq!(c.save, vec![(900, 1), (300, 10)]);
    assert_eq!(c.auto_aof_rewrite_min_size, 1 << 20);
    assert_eq!(c.loglevel, "verbose");
    // AOF persistence exists: appendonly yes is no longer a warning.
    assert!(!loaded
        .warnings
        .iter()
        .any(|w| w.contains("not implemented yet")));
}

#[test]
fn redis_directives_are_accepted_and_listed_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "r.conf",
        "maxmemory 1gb\nmaxmemory 2gb\nslave-read-only yes\nrename-command FLUSHALL \"\"\n\
         client-output-buffer-limit normal 0 0 0\nlist-max-ziplist-entries 512\n",
    );
    let loaded = load_ok(&[&file, "--supervised", "systemd"], &[]);
    assert_eq!(
        loaded.unimplemented,
        vec![
            "client-output-buffer-limit",
            "list-max-ziplist-entries",
            "maxmemory",
            "rename-command",
            "slave-read-only",
            "supervised"
        ]
    );
}

#[test]
fn errors_name_key_value_and_file_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "bad.conf", "port 7000\n\nmaxmemroy 1gb\n");
    let e = load_err(&[&file], &[]);
    assert_eq!(e.key.as_deref(), Some("maxmemroy"));
    assert_eq!(e.value.as_deref(), Some("1gb"));
    assert_eq!(e.origin, Some(format!("{file}:3")));
    assert_eq!(
        e.to_string(),
        format!(
            "{file}:3: 'maxmemroy' = '1gb': unknown parameter: neither aofd nor Redis 7.0 \
             knows it (a typo?)"
        )
    );

    let file = write(&dir, "bad2.conf", "hz abc\n");
    let e = load_err(&[&file], &[]);
    assert_eq!(
        e.to_string(),
        format!("{file}:1: 'hz' = 'abc': argument couldn't be parsed into an integer")
    );

    let file = write(&dir, "bad3.conf", "port \"7000\n");
    let e = load_err(&[&file], &[]);
    assert_eq!(
        e.to_string(),
        format!("{file}:1: 'port \"7000': Unbalanced quotes in configuration line")
    );

    let file = write(&dir, "bad4.conf", "port 1 2\n");
    let e = load_err(&[&file], &[]);
    assert_eq!(
        e.to_string(),
        format!("{file}:1: 'port' = '1 2': wrong number of arguments")
    );

    let toml = write(
        &dir,
        "bad.toml",
        "port = 7000\nappendfsync = \"sometimes\"\n",
    );
    let e = load_err(&[&toml], &[]);
    assert_eq!(
        e.to_string(),
        format!(
            "{toml}:2: 'appendfsync' = 'sometimes': argument(s) must be one of the following: \
             everysec, always, no"
        )
    );
}

#[test]
fn errors_name_env_vars_and_flags() {
    let e = load_err(&[], &[("AOFD_PORT", "99999")]);
    assert_eq!(
        e.to_string(),
        "environment variable AOFD_PORT: 'port' = '99999': argument must be between 0 and 65535 \
         inclusive"
    );
    let e = load_err(&[], &[("AOFD_PROTO_MAX_BULK", "1")]);
    assert_eq!(
        e.origin.as_deref(),
        Some("environment variable AOFD_PROTO_MAX_BULK")
    );
    assert_eq!(e.key.as_deref(), Some("proto-max-bulk"));
    let e = load_err(&["--appendonly", "maybe"], &[]);
    assert_eq!(
        e.to_string(),
        "command-line flag --appendonly: 'appendonly' = 'maybe': argument must be 'yes' or 'no'"
    );
    let e = load_err(&["--daemonize", "yes"], &[]);
    assert!(e.reason.contains("daemonize yes is not supported"), "{e}");
    let e = load_err(&["/nonexistent/aofd.conf"], &[]);
    assert!(
        e.reason
            .starts_with("Fatal error, can't open config file '/nonexistent/aofd.conf'"),
        "{e}"
    );
}

#[test]
fn unknown_toml_sections_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let toml = write(&dir, "s.toml", "[admin]\nlisten = \"x\"\n");
    let e = load_err(&[&toml], &[]);
    assert_eq!(e.key.as_deref(), Some("admin"));
}

#[test]
fn toml_syntax_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let toml = write(&dir, "syntax.toml", "port = = 1\n");
    let e = load_err(&[&toml], &[]);
    assert!(e.reason.starts_with(&format!("{toml}: ")), "{e}");
    assert!(e.reason.contains("line 1"), "{e}");
}

#[test]
fn default_save_points_are_redis_7_0s() {
    let c = Config::default();
    assert_eq!(c.save, vec![(3600, 1), (300, 100), (60, 10000)]);
    assert_eq!(c.dbfilename, "dump.rdb");
}
