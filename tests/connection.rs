//! Connection commands over real sockets: HELLO, AUTH, RESET and the CLIENT family, byte-exact
//! against Redis 7.0.15's replies, plus the connect sequences of real client libraries.

mod common;

use std::time::Duration;

use common::{Raw, TestServer};

/// The HELLO map for client `id` in the given protocol.
fn hello_reply(proto: u8, id: &str) -> String {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
         $5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
}

/// The id of the connection, as CLIENT ID reports it.
fn client_id(raw: &mut Raw) -> String {
    raw.call(&["CLIENT", "ID"])
        .trim_start_matches(':')
        .trim_end()
        .to_string()
}

/// The payload of a bulk or verbatim reply.
fn payload(reply: &str) -> String {
    let body = reply.split_once("\r\n").map_or("", |(_, b)| b);
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

const NOAUTH_HELLO: &str = "-NOAUTH HELLO must be called with the client already authenticated, \
                            otherwise the HELLO AUTH <user> <pass> option can be used to \
                            authenticate the client and select the RESP protocol version at \
                            the same time\r\n";

#[test]
fn hello_replies_with_the_server_map_in_either_protocol() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let id = client_id(&mut raw);
    assert_eq!(raw.call(&["HELLO"]), hello_reply(2, &id));
    assert_eq!(raw.call(&["HELLO", "3"]), hello_reply(3, &id));
    // HELLO without a version answers in the current protocol.
    assert_eq!(raw.call(&["HELLO"]), hello_reply(3, &id));
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "_\r\n");
    assert_eq!(raw.call(&["HELLO", "2"]), hello_reply(2, &id));
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$-1\r\n");
}

#[test]
fn hello_errors_are_exact() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        raw.call(&["HELLO", "1"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        raw.call(&["HELLO", "abc"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&["HELLO", "3", "FOO"]),
        "-ERR Syntax error in HELLO option 'FOO'\r\n"
    );
    assert_eq!(
        raw.call(&["HELLO", "3", "AUTH", "default"]),
        "-ERR Syntax error in HELLO option 'AUTH'\r\n"
    );
    assert_eq!(
        raw.call(&["HELLO", "3", "SETNAME", "a b"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    // A failed HELLO leaves the protocol alone.
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$-1\r\n");
}

#[test]
fn hello_setname_and_auth_without_requirepass() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let id = client_id(&mut raw);
    // Without requirepass the default user takes any password.
    assert_eq!(
        raw.call(&["HELLO", "3", "AUTH", "default", "x", "SETNAME", "conn1"]),
        hello_reply(3, &id)
    );
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$5\r\nconn1\r\n");
    assert_eq!(
        raw.call(&["HELLO", "3", "AUTH", "nobody", "x"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
}

#[test]
fn auth_without_a_configured_password() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(raw.call(&["AUTH", "default", "anything"]), "+OK\r\n");
    assert_eq!(
        raw.call(&["AUTH", "someone", "x"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.call(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
    assert_eq!(
        raw.call(&["AUTH"]),
        "-ERR wrong number of arguments for 'auth' command\r\n"
    );
}

fn secret_server() -> TestServer {
    TestServer::with_config(|c| c.requirepass = b"secret".to_vec())
}

#[test]
fn requirepass_blocks_everything_until_auth() {
    let server = secret_server();
    let mut raw = server.raw();
    assert_eq!(raw.call(&["PING"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(
        raw.call(&["CLIENT", "ID"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(raw.call(&["HELLO"]), NOAUTH_HELLO);
    assert_eq!(raw.call(&["HELLO", "3"]), NOAUTH_HELLO);
    assert_eq!(
        raw.call(&["HELLO", "3", "AUTH", "default", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.call(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.call(&["AUTH", "default", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.call(&["QUIT"]), "+OK\r\n");

    let mut raw = server.raw();
    assert_eq!(raw.call(&["AUTH", "secret"]), "+OK\r\n");
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
    // RESET de-authenticates when a password is configured.
    assert_eq!(raw.call(&["RESET"]), "+RESET\r\n");
    assert_eq!(raw.call(&["PING"]), "-NOAUTH Authentication required.\r\n");
    let reply = raw.call(&["HELLO", "3", "AUTH", "default", "secret"]);
    assert!(reply.starts_with("%7\r\n"), "{reply}");
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
    // A failed AUTH does not undo an earlier success.
    assert_eq!(
        raw.call(&["AUTH", "nope"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn unauthenticated_clients_get_protocol_limits() {
    let server = secret_server();
    let mut raw = server.raw();
    raw.send(b"*11\r\n");
    assert_eq!(
        raw.read_to_close(),
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    let mut raw = server.raw();
    raw.send(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n");
    assert_eq!(
        raw.read_to_close(),
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    );
}

#[test]
fn redis_crate_connects_with_and_without_password() {
    let server = secret_server();
    let url = format!("redis://:secret@127.0.0.1:{}/", server.port);
    let mut con = redis::Client::open(url)
        .expect("url")
        .get_connection()
        .expect("connects with the password");
    let pong: String = redis::cmd("PING").query(&mut con).expect("ping");
    assert_eq!(pong, "PONG");

    let url = format!("redis://:wrong@127.0.0.1:{}/", server.port);
    let result = redis::Client::open(url).expect("url").get_connection();
    assert!(result.is_err(), "a wrong password must fail");

    let url = format!(
        "redis://default:secret@127.0.0.1:{}/3?protocol=resp3",
        server.port
    );
    let mut con = redis::Client::open(url)
        .expect("url")
        .get_connection()
        .expect("connects over RESP3 with HELLO AUTH");
    let info: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query(&mut con)
        .expect("info");
    assert!(info.contains(" db=3 "), "{info}");
    assert!(info.contains(" resp=3"), "{info}");
}

#[test]
fn redis_crate_setinfo_shows_in_client_list() {
    let server = TestServer::start();
    let mut con = server.client();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut con)
        .expect("list");
    assert!(list.contains(" lib-name=redis-rs lib-ver="), "{list}");
}

#[test]
fn client_setname_getname_and_validation() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(raw.call(&["CLIENT", "SETNAME", "worker-1"]), "+OK\r\n");
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    for bad in ["a b", "a\nb", "caf\u{e9}"] {
        assert_eq!(
            raw.call(&["CLIENT", "SETNAME", bad]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
    }
    assert_eq!(raw.call(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(
        raw.call(&["CLIENT", "SETNAME"]),
        "-ERR wrong number of arguments for 'client|setname' command\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "ID", "x"]),
        "-ERR wrong number of arguments for 'client|id' command\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT"]),
        "-ERR wrong number of arguments for 'client' command\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    );
}

#[test]
fn client_ids_increase() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    let ida: u64 = client_id(&mut a).parse().expect("id");
    let idb: u64 = client_id(&mut b).parse().expect("id");
    assert!(idb > ida);
}

#[test]
fn client_setinfo_like_redis_7_2() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "lib-ver", "1.2"]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "lib-ver", "1 2"]),
        "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "SETINFO", "foo", "x"]),
        "-ERR Unrecognized option 'foo'\r\n"
    );
    let info = payload(&raw.call(&["CLIENT", "INFO"]));
    assert!(
        info.ends_with(" resp=2 lib-name=mylib lib-ver=1.2\n"),
        "{info}"
    );
}

/// The field names of a CLIENT LIST line, in order.
fn field_names(line: &str) -> Vec<&str> {
    line.split(' ')
        .map(|f| f.split_once('=').map_or(f, |(k, _)| k))
        .collect()
}

#[test]
fn client_list_line_has_redis_7_0_fields() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let id = client_id(&mut raw);
    let reply = raw.call(&["CLIENT", "LIST"]);
    let text = payload(&reply);
    assert!(
        reply.starts_with(&format!("${}\r\n", text.len())),
        "{reply}"
    );
    let line = text.strip_suffix('\n').expect("ends in a newline");
    assert_eq!(
        field_names(line),
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp"
        ]
    );
    let local = raw.stream.local_addr().expect("addr");
    assert!(line.starts_with(&format!(
        "id={id} addr={local} laddr=127.0.0.1:{} fd=",
        server.port
    )));
    assert!(line.contains(" name= "), "{line}");
    assert!(
        line.contains(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 "),
        "{line}"
    );
    assert!(
        line.ends_with(" cmd=client|list user=default redir=-1 resp=2"),
        "{line}"
    );

    // RESP3 gets a verbatim string.
    raw.call(&["HELLO", "3"]);
    raw.call(&["SELECT", "5"]);
    raw.call(&["CLIENT", "SETNAME", "me"]);
    let reply = raw.call(&["CLIENT", "INFO"]);
    assert!(reply.starts_with('='), "{reply}");
    let line = payload(&reply);
    assert!(line.contains(" name=me "), "{line}");
    assert!(line.contains(" db=5 "), "{line}");
    assert!(
        line.ends_with(" cmd=client|info user=default redir=-1 resp=3\n"),
        "{line}"
    );
}

#[test]
fn client_list_filters() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    let ida = client_id(&mut a);
    let idb = client_id(&mut b);
    let all = payload(&a.call(&["CLIENT", "LIST"]));
    assert_eq!(all.lines().count(), 2);
    let normal = payload(&a.call(&["CLIENT", "LIST", "TYPE", "normal"]));
    assert_eq!(normal.lines().count(), 2);
    assert_eq!(a.call(&["CLIENT", "LIST", "TYPE", "pubsub"]), "$0\r\n\r\n");
    assert_eq!(a.call(&["CLIENT", "LIST", "TYPE", "replica"]), "$0\r\n\r\n");
    assert_eq!(a.call(&["CLIENT", "LIST", "TYPE", "master"]), "$0\r\n\r\n");
    let only_b = payload(&a.call(&["CLIENT", "LIST", "ID", &idb, "99999"]));
    assert_eq!(only_b.lines().count(), 1);
    assert!(only_b.starts_with(&format!("id={idb} ")));
    let both = payload(&a.call(&["CLIENT", "LIST", "ID", &ida, &idb]));
    assert_eq!(both.lines().count(), 2);
    assert_eq!(
        a.call(&["CLIENT", "LIST", "TYPE", "foo"]),
        "-ERR Unknown client type 'foo'\r\n"
    );
    assert_eq!(
        a.call(&["CLIENT", "LIST", "ID", "abc"]),
        "-ERR Invalid client ID\r\n"
    );
    assert_eq!(
        a.call(&["CLIENT", "LIST", "ID", "0"]),
        "-ERR Invalid client ID\r\n"
    );
    assert_eq!(a.call(&["CLIENT", "LIST", "ID"]), "-ERR syntax error\r\n");
    assert_eq!(a.call(&["CLIENT", "LIST", "FOO"]), "-ERR syntax error\r\n");
}

#[test]
fn client_kill_old_form_closes_the_right_connection() {
    let server = TestServer::start();
    let mut killer = server.raw();
    let mut victim = server.raw();
    let mut bystander = server.raw();
    assert_eq!(victim.call(&["PING"]), "+PONG\r\n");
    let addr = victim.stream.local_addr().expect("addr").to_string();
    assert_eq!(killer.call(&["CLIENT", "KILL", &addr]), "+OK\r\n");
    assert_eq!(victim.read_to_close(), b"");
    assert_eq!(bystander.call(&["PING"]), "+PONG\r\n");
    assert_eq!(
        killer.call(&["CLIENT", "KILL", &addr]),
        "-ERR No such client\r\n"
    );
    assert_eq!(
        killer.call(&["CLIENT", "KILL", "1.2.3.4:5"]),
        "-ERR No such client\r\n"
    );
    // The old form may kill the caller itself: it gets its reply, then the connection closes.
    let own = killer.stream.local_addr().expect("addr").to_string();
    killer.cmd(&["CLIENT", "KILL", &own]);
    assert_eq!(killer.read_to_close(), b"+OK\r\n");
}

#[test]
fn client_kill_filters() {
    let server = TestServer::start();
    let mut killer = server.raw();
    let mut victim = server.raw();
    let mut other = server.raw();
    let victim_id = client_id(&mut victim);
    assert_eq!(killer.call(&["CLIENT", "KILL", "ID", &victim_id]), ":1\r\n");
    assert_eq!(victim.read_to_close(), b"");
    assert_eq!(killer.call(&["CLIENT", "KILL", "ID", "99999"]), ":0\r\n");
    let other_addr = other.stream.local_addr().expect("addr").to_string();
    assert_eq!(
        killer.call(&["CLIENT", "KILL", "ADDR", &other_addr, "TYPE", "pubsub"]),
        ":0\r\n"
    );
    assert_eq!(other.call(&["PING"]), "+PONG\r\n");
    let laddr = format!("127.0.0.1:{}", server.port);
    // SKIPME defaults to yes: the caller survives killing every normal client.
    assert_eq!(
        killer.call(&["CLIENT", "KILL", "LADDR", &laddr, "USER", "default"]),
        ":1\r\n"
    );
    assert_eq!(other.read_to_close(), b"");
    assert_eq!(killer.call(&["PING"]), "+PONG\r\n");
    for (args, reply) in [
        (
            &["CLIENT", "KILL", "ID", "abc"][..],
            "-ERR client-id should be greater than 0\r\n",
        ),
        (
            &["CLIENT", "KILL", "ID", "0"],
            "-ERR client-id should be greater than 0\r\n",
        ),
        (&["CLIENT", "KILL", "FOO", "bar"], "-ERR syntax error\r\n"),
        (
            &["CLIENT", "KILL", "TYPE", "foo"],
            "-ERR Unknown client type 'foo'\r\n",
        ),
        (
            &["CLIENT", "KILL", "USER", "nobody"],
            "-ERR No such user 'nobody'\r\n",
        ),
        (
            &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "maybe"],
            "-ERR syntax error\r\n",
        ),
        (
            &["CLIENT", "KILL", "TYPE", "normal", "SKIPME"],
            "-ERR syntax error\r\n",
        ),
    ] {
        assert_eq!(killer.call(args), reply, "{args:?}");
    }
    let own = client_id(&mut killer);
    killer.cmd(&["CLIENT", "KILL", "ID", &own, "SKIPME", "no"]);
    assert_eq!(killer.read_to_close(), b":1\r\n");
}

#[test]
fn client_kill_reaches_the_redis_crate() {
    let server = TestServer::start();
    let mut con = server.client();
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut con).expect("id");
    let mut killer = server.raw();
    assert_eq!(
        killer.call(&["CLIENT", "KILL", "ID", &id.to_string()]),
        ":1\r\n"
    );
    // The killed connection fails on its next use.
    let mut failed = false;
    for _ in 0..50 {
        if redis::cmd("PING").query::<String>(&mut con).is_err() {
            failed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(failed, "the connection was not closed");
}

#[test]
fn client_misc_subcommands() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(raw.call(&["CLIENT", "GETREDIR"]), ":-1\r\n");
    assert_eq!(raw.call(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    assert_eq!(raw.call(&["CLIENT", "NO-EVICT", "OFF"]), "+OK\r\n");
    assert_eq!(
        raw.call(&["CLIENT", "NO-EVICT", "maybe"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(raw.call(&["CLIENT", "NO-TOUCH", "on"]), "+OK\r\n");
    assert_eq!(raw.call(&["CLIENT", "UNBLOCK", "99999"]), ":0\r\n");
    let own = client_id(&mut raw);
    assert_eq!(raw.call(&["CLIENT", "UNBLOCK", &own]), ":0\r\n");
    assert_eq!(
        raw.call(&["CLIENT", "UNBLOCK", "5", "foo"]),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    assert_eq!(
        raw.call(&["CLIENT", "UNBLOCK", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    let help = raw.call(&["CLIENT", "HELP"]);
    assert!(
        help.contains("\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"),
        "{help}"
    );
    assert!(
        help.ends_with("+HELP\r\n+    Prints this help.\r\n"),
        "{help}"
    );
}

#[test]
fn reset_restores_a_fresh_connection() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["HELLO", "3"]);
    assert_eq!(raw.call(&["SELECT", "4"]), "+OK\r\n");
    assert_eq!(raw.call(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(raw.call(&["CLIENT", "SETNAME", "before"]), "+OK\r\n");
    raw.call(&["CLIENT", "SETINFO", "LIB-NAME", "lib"]);
    assert_eq!(raw.call(&["RESET"]), "+RESET\r\n");
    // RESP2 again, no name, database 0; the library name stays.
    assert_eq!(raw.call(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(raw.call(&["GET", "k"]), "$-1\r\n");
    let info = payload(&raw.call(&["CLIENT", "INFO"]));
    assert!(info.contains(" db=0 "), "{info}");
    assert!(info.contains(" resp=2 lib-name=lib "), "{info}");
    assert_eq!(
        raw.call(&["RESET", "x"]),
        "-ERR wrong number of arguments for 'reset' command\r\n"
    );
}

#[test]
fn quit_and_ping_still_work() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(raw.call(&["PING", "hi"]), "$2\r\nhi\r\n");
    raw.cmd(&["QUIT"]);
    assert_eq!(raw.read_to_close(), b"+OK\r\n");
}

#[test]
fn reset_leaves_transactions_watches_and_subscriptions() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    assert_eq!(a.call(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(a.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(a.call(&["SET", "w", "1"]), "+QUEUED\r\n");
    assert_eq!(a.call(&["RESET"]), "+RESET\r\n");
    assert_eq!(a.call(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(a.call(&["GET", "w"]), "$-1\r\n");
    a.cmd(&["SUBSCRIBE", "ch"]);
    a.read_reply();
    assert_eq!(
        b.call(&["PUBSUB", "NUMSUB", "ch"]),
        "*2\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(a.call(&["RESET"]), "+RESET\r\n");
    assert_eq!(
        b.call(&["PUBSUB", "NUMSUB", "ch"]),
        "*2\r\n$2\r\nch\r\n:0\r\n"
    );
    assert_eq!(b.call(&["PUBLISH", "ch", "m"]), ":0\r\n");
    // Out of pub/sub mode again: ordinary commands work.
    assert_eq!(a.call(&["GET", "w"]), "$-1\r\n");
}
