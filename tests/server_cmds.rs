//! Server commands over real sockets: COMMAND, INFO, DBSIZE, FLUSHDB/FLUSHALL, TIME, LASTSAVE,
//! SHUTDOWN and DEBUG, checked against Redis 7.0.15's replies.

mod common;

use std::collections::HashMap;
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aofd::config::EnableDebug;
use common::{Raw, TestServer};

/// The payload of a bulk or verbatim reply.
fn payload(reply: &str) -> String {
    let body = reply.split_once("\r\n").map_or("", |(_, b)| b);
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

/// INFO parsed into section name -> fields, checking the layout on the way: a `# Name` header,
/// `key:value` lines, and one empty line between sections.
fn parse_info(text: &str) -> Vec<(String, HashMap<String, String>)> {
    let mut sections: Vec<(String, HashMap<String, String>)> = Vec::new();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines.last(), Some(&""), "INFO ends with CRLF");
    let mut expect_header = true;
    for line in &lines[..lines.len() - 1] {
        if expect_header {
            let name = line.strip_prefix("# ").expect("section header");
            sections.push((name.to_string(), HashMap::new()));
            expect_header = false;
        } else if line.is_empty() {
            expect_header = true;
        } else {
            let (k, v) = line.split_once(':').expect("key:value");
            let fields = &mut sections.last_mut().expect("a section").1;
            assert!(fields.insert(k.to_string(), v.to_string()).is_none(), "{k}");
        }
    }
    sections
}

fn info(raw: &mut Raw, args: &[&str]) -> Vec<(String, HashMap<String, String>)> {
    let mut cmd = vec!["INFO"];
    cmd.extend_from_slice(args);
    parse_info(&payload(&raw.call(&cmd)))
}

fn names(sections: &[(String, HashMap<String, String>)]) -> Vec<&str> {
    sections.iter().map(|(n, _)| n.as_str()).collect()
}

fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[test]
fn info_sections_and_their_order() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let default = [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Errorstats",
        "Cluster",
        "Keyspace",
    ];
    assert_eq!(names(&info(&mut raw, &[])), default);
    assert_eq!(names(&info(&mut raw, &["default"])), default);
    let mut all = default.to_vec();
    all.insert(8, "Commandstats");
    assert_eq!(names(&info(&mut raw, &["all"])), all);
    assert_eq!(names(&info(&mut raw, &["EVERYTHING"])), all);
    assert_eq!(
        names(&info(&mut raw, &["keyspace", "server", "nosuch", "CPU"])),
        ["Server", "CPU", "Keyspace"]
    );
    assert_eq!(raw.call(&["INFO", "nosuch"]), "$0\r\n\r\n");
    assert_eq!(raw.call(&["INFO", "modules"]), "$11\r\n# Modules\r\n\r\n");
    assert_eq!(
        raw.call(&["INFO", "cluster"]),
        "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
    );
    raw.call(&["HELLO", "3"]);
    assert_eq!(
        raw.call(&["INFO", "modules"]),
        "=15\r\ntxt:# Modules\r\n\r\n"
    );
}

#[test]
fn info_fields_have_redis_values() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let sections: HashMap<String, HashMap<String, String>> =
        info(&mut raw, &["everything"]).into_iter().collect();
    let server_s = &sections["Server"];
    assert_eq!(server_s["redis_version"], "7.0.15");
    assert_eq!(server_s["redis_mode"], "standalone");
    assert_eq!(server_s["tcp_port"], server.port.to_string());
    assert_eq!(server_s["process_id"], std::process::id().to_string());
    assert_eq!(server_s["run_id"].len(), 40);
    assert_eq!(server_s["hz"], "10");
    assert_eq!(sections["Clients"]["connected_clients"], "1");
    assert_eq!(sections["Clients"]["maxclients"], "10000");
    let memory = &sections["Memory"];
    let used: u64 = memory["used_memory"].parse().expect("number");
    assert!(used > 0);
    assert!(memory["used_memory_rss"].parse::<u64>().expect("number") > 0);
    assert_eq!(memory["maxmemory_policy"], "noeviction");
    let persistence = &sections["Persistence"];
    assert_eq!(persistence["loading"], "0");
    assert_eq!(persistence["aof_enabled"], "0");
    assert_eq!(persistence["aof_rewrite_in_progress"], "0");
    assert_eq!(persistence["aof_last_bgrewrite_status"], "ok");
    // With appendonly off Redis leaves out the AOF size fields.
    assert!(!persistence.contains_key("aof_current_size"));
    assert!(!persistence.contains_key("aof_buffer_length"));
    assert_eq!(sections["Replication"]["role"], "master");
    assert_eq!(sections["Replication"]["master_replid"].len(), 40);
    assert!(sections["CPU"]["used_cpu_user"].contains('.'));
    let received: u64 = sections["Stats"]["total_connections_received"]
        .parse()
        .expect("number");
    assert!(received >= 1);
    assert!(sections["Keyspace"].is_empty());
}

#[test]
fn info_persistence_field_order_matches_redis() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let text = payload(&raw.call(&["INFO", "persistence"]));
    let keys: Vec<&str> = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split_once(':').expect("field").0)
        .collect();
    assert_eq!(
        keys,
        [
            "loading",
            "async_loading",
            "current_cow_peak",
            "current_cow_size",
            "current_cow_size_age",
            "current_fork_perc",
            "current_save_keys_processed",
            "current_save_keys_total",
            "rdb_changes_since_last_save",
            "rdb_bgsave_in_progress",
            "rdb_last_save_time",
            "rdb_last_bgsave_status",
            "rdb_last_bgsave_time_sec",
            "rdb_current_bgsave_time_sec",
            "rdb_saves",
            "rdb_last_cow_size",
            "rdb_last_load_keys_expired",
            "rdb_last_load_keys_loaded",
            "aof_enabled",
            "aof_rewrite_in_progress",
            "aof_rewrite_scheduled",
            "aof_last_rewrite_time_sec",
            "aof_current_rewrite_time_sec",
            "aof_last_bgrewrite_status",
            "aof_rewrites",
            "aof_rewrites_consecutive_failures",
            "aof_last_write_status",
            "aof_last_cow_size",
            "module_fork_in_progress",
            "module_fork_last_cow_size",
        ]
    );
}

#[test]
fn info_keyspace_commandstats_and_errorstats() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["SET", "a", "1"]);
    raw.call(&["SET", "b", "2"]);
    raw.call(&["SELECT", "3"]);
    raw.call(&["SET", "c", "3"]);
    raw.call(&["GET", "c", "extra"]);
    raw.call(&["HELLO", "9"]);
    assert_eq!(
        raw.call(&["INFO", "keyspace"]),
        "$76\r\n# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n\r\n"
    );
    let text = payload(&raw.call(&["INFO", "commandstats"]));
    let set_line = text
        .lines()
        .find(|l| l.starts_with("cmdstat_set:"))
        .expect("set is listed");
    assert!(
        set_line.starts_with("cmdstat_set:calls=3,usec="),
        "{set_line}"
    );
    assert!(
        set_line.ends_with(",rejected_calls=0,failed_calls=0"),
        "{set_line}"
    );
    let get_line = text
        .lines()
        .find(|l| l.starts_with("cmdstat_get:"))
        .expect("get is listed");
    assert_eq!(
        get_line,
        "cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
    );
    let hello_line = text
        .lines()
        .find(|l| l.starts_with("cmdstat_hello:"))
        .expect("hello is listed");
    assert!(hello_line.ends_with(",failed_calls=1"), "{hello_line}");
    assert_eq!(
        raw.call(&["INFO", "errorstats"]),
        "$64\r\n# Errorstats\r\nerrorstat_ERR:count=1\r\nerrorstat_NOPROTO:count=1\r\n\r\n"
    );
}

#[test]
fn redis_crate_parses_every_section() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut con)
        .expect("set");
    let dict: redis::InfoDict = redis::cmd("INFO")
        .arg("everything")
        .query(&mut con)
        .expect("info parses");
    assert_eq!(
        dict.get::<String>("redis_version").as_deref(),
        Some("7.0.15")
    );
    assert_eq!(dict.get::<i64>("aof_enabled"), Some(0));
    assert_eq!(dict.get::<i64>("aof_rewrite_in_progress"), Some(0));
    assert_eq!(dict.get::<i64>("connected_clients"), Some(1));
    assert_eq!(
        dict.get::<String>("db0").as_deref(),
        Some("keys=1,expires=0,avg_ttl=0")
    );
    assert!(dict.get::<i64>("aof_current_size").is_none());

    // The same over RESP3, where INFO is a verbatim string.
    let url = format!("redis://127.0.0.1:{}/?protocol=resp3", server.port);
    let mut con3 = redis::Client::open(url)
        .expect("url")
        .get_connection()
        .expect("resp3");
    let dict: redis::InfoDict = redis::cmd("INFO").query(&mut con3).expect("info parses");
    assert_eq!(dict.get::<i64>("connected_clients"), Some(2));
}

#[test]
fn dbsize_flushdb_flushall() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(raw.call(&["DBSIZE"]), ":0\r\n");
    raw.call(&["SET", "a", "1"]);
    raw.call(&["SET", "b", "1"]);
    assert_eq!(raw.call(&["DBSIZE"]), ":2\r\n");
    raw.call(&["SELECT", "1"]);
    raw.call(&["SET", "c", "1"]);
    assert_eq!(raw.call(&["DBSIZE"]), ":1\r\n");
    assert_eq!(raw.call(&["FLUSHDB", "x"]), "-ERR syntax error\r\n");
    assert_eq!(raw.call(&["FLUSHDB", "SYNC", "x"]), "-ERR syntax error\r\n");
    assert_eq!(raw.call(&["FLUSHDB", "async"]), "+OK\r\n");
    assert_eq!(raw.call(&["DBSIZE"]), ":0\r\n");
    raw.call(&["SELECT", "0"]);
    assert_eq!(raw.call(&["DBSIZE"]), ":2\r\n");
    raw.call(&["SELECT", "2"]);
    raw.call(&["SET", "d", "1"]);
    assert_eq!(raw.call(&["FLUSHALL", "SYNC"]), "+OK\r\n");
    assert_eq!(raw.call(&["DBSIZE"]), ":0\r\n");
    raw.call(&["SELECT", "0"]);
    assert_eq!(raw.call(&["DBSIZE"]), ":0\r\n");
    assert_eq!(payload(&raw.call(&["INFO", "keyspace"])), "# Keyspace\r\n");
    assert_eq!(
        raw.call(&["DBSIZE", "x"]),
        "-ERR wrong number of arguments for 'dbsize' command\r\n"
    );
}

#[test]
fn flushing_an_empty_database_still_counts_as_a_change() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let changes = |raw: &mut Raw| -> u64 {
        let sections: HashMap<_, _> = info(raw, &["persistence"]).into_iter().collect();
        sections["Persistence"]["rdb_changes_since_last_save"]
            .parse()
            .expect("number")
    };
    let before = changes(&mut raw);
    assert_eq!(raw.call(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(changes(&mut raw), before + 1);
    raw.call(&["SET", "a", "1"]);
    raw.call(&["SET", "b", "1"]);
    assert_eq!(raw.call(&["FLUSHALL"]), "+OK\r\n");
    // Two SETs, two removed keys, and the flush itself.
    assert_eq!(changes(&mut raw), before + 1 + 2 + 3);
}

#[test]
fn time_and_lastsave() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let reply = raw.call(&["TIME"]);
    let parts: Vec<&str> = reply.split("\r\n").collect();
    assert_eq!(parts[0], "*2");
    let secs: i64 = parts[2].parse().expect("seconds");
    let micros: i64 = parts[4].parse().expect("microseconds");
    assert!((secs - unix_secs()).abs() <= 2);
    assert!((0..1_000_000).contains(&micros));
    let lastsave: i64 = raw
        .call(&["LASTSAVE"])
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("integer");
    assert!(lastsave <= unix_secs() && lastsave >= unix_secs() - 60);
    assert_eq!(
        raw.call(&["TIME", "x"]),
        "-ERR wrong number of arguments for 'time' command\r\n"
    );
}

#[test]
fn shutdown_argument_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    for args in [
        &["SHUTDOWN", "FOO"][..],
        &["SHUTDOWN", "NOSAVE", "SAVE"],
        &["SHUTDOWN", "ABORT", "NOW"],
    ] {
        assert_eq!(raw.call(args), "-ERR syntax error\r\n", "{args:?}");
    }
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn shutdown_stops_the_server_without_a_reply() {
    let server = TestServer::start();
    let mut other = server.raw();
    let mut raw = server.raw();
    raw.cmd(&["SHUTDOWN", "NOSAVE", "NOW", "FORCE"]);
    assert_eq!(raw.read_to_close(), b"");
    assert_eq!(other.read_to_close(), b"");
    // The port stops answering: new connections are refused or closed at once.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(("127.0.0.1", server.port)) {
            Err(_) => break,
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .expect("timeout");
                let mut probe = Raw { stream };
                probe.send(b"PING\r\n");
                if probe.read_to_close().is_empty() {
                    break;
                }
            }
        }
        assert!(Instant::now() < deadline, "the server still answers");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn shutdown_save_writes_the_rdb_file_then_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    let server = TestServer::with_config(|c| c.dir = path);
    let mut raw = server.raw();
    assert_eq!(raw.call(&["set", "k", "v"]), "+OK\r\n");
    raw.cmd(&["shutdown", "save"]);
    assert_eq!(raw.read_to_close(), b"");
    let dump = std::fs::read(dir.path().join("dump.rdb")).unwrap();
    assert!(dump.starts_with(b"REDIS0010"));
}

const DEBUG_REFUSED: &str = "-ERR DEBUG command not allowed. If the enable-debug-command option \
                             is set to \"local\", you can run it from a local connection, \
                             otherwise you need to set this option in the configuration file, \
                             and then restart the server.\r\n";

#[test]
fn debug_is_gated_by_enable_debug_command() {
    let server = TestServer::with_config(|c| c.enable_debug_command = EnableDebug::No);
    let mut raw = server.raw();
    assert_eq!(raw.call(&["DEBUG", "DIGEST"]), DEBUG_REFUSED);
    assert_eq!(raw.call(&["DEBUG", "HELP"]), DEBUG_REFUSED);
    assert_eq!(
        raw.call(&["DEBUG"]),
        "-ERR wrong number of arguments for 'debug' command\r\n"
    );
    let local = TestServer::with_config(|c| c.enable_debug_command = EnableDebug::Local);
    let mut raw = local.raw();
    assert_eq!(
        raw.call(&["DEBUG", "DIGEST"]),
        format!("+{}\r\n", "0".repeat(40))
    );
}

#[test]
fn debug_digest_depends_on_content_not_order() {
    let one = TestServer::start();
    let two = TestServer::start();
    let mut a = one.raw();
    let mut b = two.raw();
    let zeros = format!("+{}\r\n", "0".repeat(40));
    assert_eq!(a.call(&["DEBUG", "DIGEST"]), zeros);
    for (k, v) in [("x", "1"), ("y", "hello"), ("z", "")] {
        a.call(&["SET", k, v]);
    }
    for (k, v) in [("z", ""), ("x", "1"), ("y", "hello")] {
        b.call(&["SET", k, v]);
    }
    let da = a.call(&["DEBUG", "DIGEST"]);
    assert_eq!(da.len(), 1 + 40 + 2);
    assert_ne!(da, zeros);
    assert_eq!(da, b.call(&["DEBUG", "DIGEST"]));
    b.call(&["SET", "y", "other"]);
    assert_ne!(da, b.call(&["DEBUG", "DIGEST"]));
    // The same data in another database is a different dataset.
    b.call(&["FLUSHALL"]);
    b.call(&["SELECT", "1"]);
    for (k, v) in [("x", "1"), ("y", "hello"), ("z", "")] {
        b.call(&["SET", k, v]);
    }
    assert_ne!(da, b.call(&["DEBUG", "DIGEST"]));
}

#[test]
fn debug_digest_equals_redis_for_strings() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["SET", "a", "1"]);
    raw.call(&["SET", "s", "hello"]);
    // Reference values computed by redis-server 7.0.15.
    assert_eq!(
        raw.call(&["DEBUG", "DIGEST-VALUE", "a", "nosuch"]),
        format!(
            "*2\r\n+b4fc66738120fba0b5aa500ab5c2bf89cea1c5da\r\n+{}\r\n",
            "0".repeat(40)
        )
    );
    assert_eq!(raw.call(&["DEBUG", "DIGEST-VALUE"]), "*0\r\n");
}

#[test]
fn debug_object_and_other_subcommands() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["SET", "n", "1"]);
    raw.call(&["SET", "big", "100000"]);
    raw.call(&["SET", "s", "hello"]);
    raw.call(&["SET", "r", &"x".repeat(50)]);
    let obj = raw.call(&["DEBUG", "OBJECT", "n"]);
    assert!(obj.starts_with("+Value at:0x"), "{obj}");
    assert!(
        obj.contains(" refcount:2147483647 encoding:int serializedlength:2 lru:"),
        "{obj}"
    );
    assert!(obj.ends_with(" lru_seconds_idle:0\r\n"), "{obj}");
    let obj = raw.call(&["DEBUG", "OBJECT", "big"]);
    assert!(
        obj.contains(" refcount:1 encoding:int serializedlength:5 "),
        "{obj}"
    );
    let obj = raw.call(&["DEBUG", "OBJECT", "s"]);
    assert!(
        obj.contains(" refcount:1 encoding:embstr serializedlength:6 "),
        "{obj}"
    );
    let obj = raw.call(&["DEBUG", "OBJECT", "r"]);
    assert!(obj.contains(" encoding:raw serializedlength:51 "), "{obj}");
    assert_eq!(
        raw.call(&["DEBUG", "OBJECT", "nosuch"]),
        "-ERR no such key\r\n"
    );
    assert_eq!(raw.call(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
    assert_eq!(raw.call(&["DEBUG", "SLEEP", "x"]), "+OK\r\n");
    assert_eq!(raw.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    assert_eq!(raw.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), "+OK\r\n");
    assert_eq!(raw.call(&["DEBUG", "ERROR", "boom"]), "-ERR boom\r\n");
    assert_eq!(
        raw.call(&["DEBUG", "ERROR", "-CUSTOM failure"]),
        "-CUSTOM failure\r\n"
    );
    assert_eq!(raw.call(&["DEBUG", "LOG", "hello"]), "+OK\r\n");
    for sub in ["foo", "SLEEP", "OBJECT", "SET-ACTIVE-EXPIRE"] {
        assert_eq!(
            raw.call(&["DEBUG", sub]),
            format!(
                "-ERR unknown subcommand or wrong number of arguments for '{sub}'. Try DEBUG \
                 HELP.\r\n"
            )
        );
    }
    let help = raw.call(&["DEBUG", "HELP"]);
    assert!(help.contains(
        "+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DIGEST\r\n"
    ));
}

#[test]
fn debug_sleep_blocks_the_server() {
    let server = TestServer::start();
    let mut sleeper = server.raw();
    let mut other = server.raw();
    let start = Instant::now();
    sleeper.cmd(&["DEBUG", "SLEEP", "0.2"]);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(other.call(&["PING"]), "+PONG\r\n");
    assert_eq!(sleeper.read_reply(), b"+OK\r\n");
    assert!(start.elapsed() >= Duration::from_millis(200));
}

#[test]
fn command_info_is_exact_for_get() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // Byte for byte what Redis 7.0.15 answers.
    assert_eq!(
        raw.call(&["COMMAND", "INFO", "get", "nosuch"]),
        "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n\
         +@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n\
         +access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n\
         *2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
         $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n\
         :0\r\n*0\r\n$-1\r\n"
    );
    raw.call(&["HELLO", "3"]);
    assert_eq!(
        raw.call(&["COMMAND", "INFO", "get"]),
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n\
         +@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n\
         +access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n\
         %1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
         $4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n\
         :0\r\n~0\r\n"
    );
}

#[test]
fn command_count_list_docs_and_subcommands() {
    let server = TestServer::start();
    let mut con = server.client();
    let count: usize = redis::cmd("COMMAND")
        .arg("COUNT")
        .query(&mut con)
        .expect("count");
    let all: Vec<redis::Value> = redis::cmd("COMMAND").query(&mut con).expect("command");
    assert_eq!(all.len(), count);
    let list: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .query(&mut con)
        .expect("list");
    for name in [
        "get",
        "set",
        "info",
        "client",
        "client|kill",
        "command|docs",
        "hello",
    ] {
        assert!(list.iter().any(|n| n == name), "{name}");
    }
    let filtered: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("PATTERN")
        .arg("client|*")
        .query(&mut con)
        .expect("filtered");
    assert!(!filtered.is_empty());
    assert!(filtered.iter().all(|n| n.starts_with("client|")));
    let keyspace: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("keyspace")
        .query(&mut con)
        .expect("aclcat");
    for name in ["flushdb", "flushall", "dbsize"] {
        assert!(keyspace.iter().any(|n| n == name), "{name}");
    }
    assert!(!keyspace.iter().any(|n| n == "get"));
    let modules: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("MODULE")
        .arg("x")
        .query(&mut con)
        .expect("module");
    assert!(modules.is_empty());

    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["COMMAND", "LIST", "FILTERBY", "foo", "x"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "LIST", "foo"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "DOCS", "get", "nosuch"]),
        "*2\r\n$3\r\nget\r\n*6\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n\
         $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"
    );
    assert_eq!(raw.call(&["COMMAND", "DOCS", "nosuch"]), "*0\r\n");
    let docs = raw.call(&["COMMAND", "DOCS", "client"]);
    assert!(docs.contains("$11\r\nsubcommands\r\n"), "{docs}");
    assert!(docs.contains("$11\r\nclient|kill\r\n"), "{docs}");
    let info = raw.call(&["COMMAND", "INFO", "client|kill"]);
    assert!(
        info.starts_with("*1\r\n*10\r\n$11\r\nclient|kill\r\n:-3\r\n"),
        "{info}"
    );
    assert!(info.contains("+@admin\r\n+@slow\r\n+@dangerous\r\n+@connection\r\n"));
    assert_eq!(
        raw.call(&["COMMAND", "COUNT", "x"]),
        "-ERR wrong number of arguments for 'command|count' command\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"
    );
    let help = raw.call(&["COMMAND", "HELP"]);
    assert!(help.starts_with(
        "*21\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
    ));
}

#[test]
fn command_getkeys() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYS", "set", "a", "b"]),
        "*1\r\n$1\r\na\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYSANDFLAGS", "get", "k"]),
        "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYS", "ping", "x"]),
        "-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYS", "nosuch", "x"]),
        "-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYS", "get", "a", "b"]),
        "-ERR Invalid number of arguments specified for command\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYS", "get"]),
        "-ERR wrong number of arguments for 'command|getkeys' command\r\n"
    );
}
