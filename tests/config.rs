//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP against a real server, with Redis 7.0.15's
//! exact replies (each checked against redis-server 7.0.15).

mod common;

use common::bulks;

use common::TestServer;

fn failed(name: &str, reason: &str) -> String {
    format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}\r\n")
}

#[test]
fn get_single_several_and_patterns() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["CONFIG", "GET", "timeout"]),
        bulks(&["timeout", "0"])
    );
    // An exact name is reported as the client wrote it, and only once.
    assert_eq!(
        raw.call(&["CONFIG", "GET", "TimeOut", "timeout"]),
        bulks(&["TimeOut", "0"])
    );
    assert_eq!(
        raw.call(&["CONFIG", "GET", "hz", "maxclients"]),
        bulks(&["hz", "10", "maxclients", "10000"])
    );
    assert_eq!(
        raw.call(&["CONFIG", "GET", "AUTO-AOF-*"]),
        bulks(&[
            "auto-aof-rewrite-percentage",
            "100",
            "auto-aof-rewrite-min-size",
            "67108864"
        ])
    );
    assert_eq!(
        raw.call(&["CONFIG", "GET", "appendf*", "appendfsync"]),
        bulks(&[
            "appendfilename",
            "appendonly.aof",
            "appendfsync",
            "everysec"
        ])
    );
    assert_eq!(raw.call(&["CONFIG", "GET", "nomatch*"]), "*0\r\n");
    assert_eq!(raw.call(&["CONFIG", "GET", "maxmemory"]), "*0\r\n");
    assert_eq!(
        raw.call(&[
            "CONFIG",
            "GET",
            "save",
            "proto-max-bulk-len",
            "enable-debug-command"
        ]),
        bulks(&[
            "save",
            // The test server clears the save points (tests/common); the default is Redis's
            // "3600 1 300 100 60 10000", checked in src/config/tests.rs.
            "",
            "proto-max-bulk-len",
            "536870912",
            "enable-debug-command",
            "yes"
        ])
    );
    assert_eq!(
        raw.call(&["CONFIG", "GET"]),
        "-ERR wrong number of arguments for 'config|get' command\r\n"
    );
}

#[test]
fn set_parses_like_redis_and_reports_exact_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let cases: &[(&[&str], String)] = &[
        (
            &["hz", "abc"],
            failed("hz", "argument couldn't be parsed into an integer"),
        ),
        (
            &["hz", "-1"],
            failed("hz", "argument must be between 0 and 2147483647 inclusive"),
        ),
        (
            &["maxclients", "0"],
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive",
            ),
        ),
        (
            &["appendonly", "maybe"],
            failed("appendonly", "argument must be 'yes' or 'no'"),
        ),
        (
            &["appendfsync", "sometimes"],
            failed(
                "appendfsync",
                "argument(s) must be one of the following: everysec, always, no",
            ),
        ),
        (
            &["proto-max-bulk-len", "10"],
            failed(
                "proto-max-bulk-len",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
        ),
        (
            &["auto-aof-rewrite-min-size", "1x"],
            failed(
                "auto-aof-rewrite-min-size",
                "argument must be a memory value",
            ),
        ),
        (
            &["save", "1 2 3"],
            failed("save", "Invalid save parameters"),
        ),
        (
            &["databases", "3"],
            failed("databases", "can't set immutable config"),
        ),
        (
            &["dir", "/tmp"],
            failed("dir", "can't set protected config"),
        ),
        (
            &["hz", "10", "HZ", "11"],
            failed("HZ", "duplicate parameter"),
        ),
        (
            &["foo", "1"],
            "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n".to_string(),
        ),
        // The first problem in argument order wins, names before values.
        (
            &["hz", "x", "foo", "2"],
            "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n".to_string(),
        ),
        (
            &["databases", "2", "foo", "1"],
            failed("databases", "can't set immutable config"),
        ),
    ];
    for (args, expected) in cases {
        let mut cmd = vec!["CONFIG", "SET"];
        cmd.extend_from_slice(args);
        assert_eq!(&raw.call(&cmd), expected, "{args:?}");
    }
    assert_eq!(
        raw.call(&["CONFIG", "SET", "hz", "1", "timeout"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "hz"]),
        "-ERR wrong number of arguments for 'config|set' command\r\n"
    );
    // Nothing above changed anything.
    assert_eq!(
        raw.call(&["CONFIG", "GET", "hz", "appendonly"]),
        bulks(&["hz", "10", "appendonly", "no"])
    );
}

#[test]
fn set_is_all_or_nothing_and_normalises_values() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["CONFIG", "SET", "hz", "20", "timeout", "-1"]),
        failed(
            "timeout",
            "argument must be between 0 and 2147483647 inclusive"
        )
    );
    assert_eq!(raw.call(&["CONFIG", "GET", "hz"]), bulks(&["hz", "10"]));
    assert_eq!(
        raw.call(&[
            "CONFIG",
            "SET",
            "hz",
            "1000",
            "timeout",
            "5",
            "loglevel",
            "WARNING",
            "appendfsync",
            "ALWAYS",
            "proto-max-bulk-len",
            "2MB",
            "auto-aof-rewrite-min-size",
            "1k",
            "save",
            "900 1 300 10",
            "appendonly",
            "no",
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.call(&[
            "CONFIG",
            "GET",
            "hz",
            "timeout",
            "loglevel",
            "appendfsync",
            "proto-max-bulk-len",
            "auto-aof-rewrite-min-size",
            "save"
        ]),
        bulks(&[
            "hz",
            "500",
            "timeout",
            "5",
            "loglevel",
            "warning",
            "appendfsync",
            "always",
            "proto-max-bulk-len",
            "2097152",
            "auto-aof-rewrite-min-size",
            "1000",
            "save",
            "900 1 300 10"
        ])
    );
    assert_eq!(raw.call(&["CONFIG", "SET", "hz", "0"]), "+OK\r\n");
    assert_eq!(raw.call(&["CONFIG", "GET", "hz"]), bulks(&["hz", "1"]));
    assert_eq!(raw.call(&["CONFIG", "SET", "save", ""]), "+OK\r\n");
    assert_eq!(raw.call(&["CONFIG", "GET", "save"]), bulks(&["save", ""]));
    assert_eq!(
        raw.call(&["CONFIG", "SET", "save", "  900   1  "]),
        failed("save", "Invalid save parameters")
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "loglevel", "notice"]),
        "+OK\r\n"
    );
}

#[test]
fn runtime_changes_take_effect() {
    let server = TestServer::start();
    let mut admin = server.raw();
    // requirepass applies to new connections.
    assert_eq!(
        admin.call(&["CONFIG", "SET", "requirepass", "s3cret"]),
        "+OK\r\n"
    );
    let mut other = server.raw();
    assert_eq!(
        other.call(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        admin.call(&["CONFIG", "GET", "requirepass"]),
        bulks(&["requirepass", "s3cret"])
    );
    assert_eq!(admin.call(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    drop(other);
    // proto-max-bulk-len applies to the next request.
    assert_eq!(
        admin.call(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
        "+OK\r\n"
    );
    let mut big = server.raw();
    big.send(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n");
    assert_eq!(
        String::from_utf8_lossy(&big.read_to_close()),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    // maxclients applies to the next connection.
    assert_eq!(admin.call(&["CONFIG", "SET", "maxclients", "1"]), "+OK\r\n");
    let mut refused = server.raw();
    assert_eq!(
        String::from_utf8_lossy(&refused.read_to_close()),
        "-ERR max number of clients reached\r\n"
    );
    assert_eq!(
        admin.call(&["CONFIG", "SET", "maxclients", "10000"]),
        "+OK\r\n"
    );
}

#[test]
fn protected_dir_can_change_when_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir
        .path()
        .canonicalize()
        .expect("canonical")
        .display()
        .to_string();
    let before = std::env::current_dir().expect("cwd");
    let server = TestServer::with_config(|c| {
        c.enable_protected_configs = aofd::config::EnableDebug::Local;
    });
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["CONFIG", "SET", "dir", "/nonexistent/aofd"]),
        failed("dir", "No such file or directory")
    );
    assert_eq!(raw.call(&["CONFIG", "SET", "dir", &path]), "+OK\r\n");
    assert_eq!(raw.call(&["CONFIG", "GET", "dir"]), bulks(&["dir", &path]));
    // CONFIG SET dir chdir()s the whole process, as Redis does: put the test runner back.
    std::env::set_current_dir(before).expect("restore cwd");
}

#[test]
fn resetstat_clears_counters() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["SET", "a", "1"]);
    raw.call(&["GET", "a"]);
    raw.call(&["NOSUCHCOMMAND"]);
    assert_eq!(raw.call(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    assert_eq!(
        raw.call(&["CONFIG", "RESETSTAT", "x"]),
        "-ERR wrong number of arguments for 'config|resetstat' command\r\n"
    );
}

#[test]
fn help_and_unknown_subcommand() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["CONFIG", "HELP"]),
        "*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n\
         +GET <pattern>\r\n\
         +    Return parameters matching the glob-like <pattern> and their values.\r\n\
         +SET <directive> <value>\r\n+    Set the configuration <directive> to <value>.\r\n\
         +RESETSTAT\r\n+    Reset statistics reported by the INFO command.\r\n\
         +REWRITE\r\n+    Rewrite the configuration file.\r\n+HELP\r\n+    Prints this help.\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG"]),
        "-ERR wrong number of arguments for 'config' command\r\n"
    );
}

#[test]
fn rewrite_without_and_with_a_file() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
    drop(raw);
    drop(server);

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("redis.conf");
    std::fs::write(
        &file,
        "# operator's comment\nport 6379\nhz 15\nhz 16\nmaxmemory 1gb\nsave 900 1\n\
         rename-command FLUSHALL \"\"\nmaxclients 500\n",
    )
    .expect("write");
    let server = TestServer::with_config(|c| {
        c.config_file = Some(file.clone());
        c.dir = "/var/lib/aofd".to_string();
        c.hz = 16;
        c.save = vec![(900, 1)];
        c.maxclients = 500;
    });
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[
            "CONFIG",
            "SET",
            "timeout",
            "5",
            "maxclients",
            "10000",
            "requirepass",
            "a b\"c",
            "appendfsync",
            "always",
            "auto-aof-rewrite-min-size",
            "128mb"
        ]),
        "+OK\r\n"
    );
    assert_eq!(raw.call(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&file).expect("read");
    assert_eq!(
        text,
        "# operator's comment\nport 6379\nhz 16\n\nmaxmemory 1gb\nsave 900 1\n\
         rename-command FLUSHALL \"\"\nmaxclients 10000\n\n# Generated by CONFIG REWRITE\n\
         timeout 5\ndir \"/var/lib/aofd\"\nrequirepass \"a b\\\"c\"\nappendfsync always\n\
         auto-aof-rewrite-min-size 128mb\nenable-debug-command yes\n"
    );
    // The rewritten file loads back to the same values.
    let args = vec![file.display().to_string()];
    let reloaded = aofd::config::Config::from_args(&args).expect("reloads");
    assert_eq!(reloaded.timeout, 5);
    assert_eq!(reloaded.requirepass, b"a b\"c");
    assert_eq!(reloaded.auto_aof_rewrite_min_size, 128 * 1024 * 1024);
    assert_eq!(reloaded.save, vec![(900, 1)]);
}
