#!/usr/bin/env python3
"""Interop check of a running aofd with redis-py (any version from 5 on).

Run by tests/interop.rs with the interpreter of one of the two virtual environments that
.ci/run creates (redis>=5,<6 and the newest redis). It connects with the library's default
protocol (RESP2 for redis-py 5, RESP3 — HELLO 3 — for the newest), then exercises every data
type, a pipeline, a transaction (MULTI/EXEC and WATCH), a blocking pop, pub/sub and INFO.
Every check prints one line; any failure raises, which prints a traceback and exits non-zero.
"""

import argparse
import sys
import time

import redis


def check(name, got, expected):
    """Fails loudly unless got == expected."""
    if got != expected:
        raise AssertionError(f"{name}: expected {expected!r}, got {got!r}")


def connection_protocol(r):
    """The protocol the pool's connections negotiated (2 when the version has no RESP3)."""
    pool = r.connection_pool
    try:
        conn = pool.get_connection()
    except TypeError:
        # redis-py 5 requires a command name.
        conn = pool.get_connection("PING")
    try:
        conn.connect()
        proto = int(getattr(conn, "protocol", None) or 2)
        meta = getattr(conn, "handshake_metadata", None)
        if proto == 3 and meta is not None:
            # The server's own answer to HELLO 3 must say proto 3.
            server_proto = meta.get(b"proto", meta.get("proto"))
            check("HELLO reply proto", int(server_proto), 3)
        return proto
    finally:
        pool.release(conn)


def strings(r):
    check("SET", r.set("py:s", "v"), True)
    check("GET", r.get("py:s"), b"v")
    check("SET NX on existing key", r.set("py:s", "w", nx=True), None)
    check("INCR", r.incr("py:n"), 1)
    check("INCRBY", r.incrby("py:n", 41), 42)
    check("INCRBYFLOAT", r.incrbyfloat("py:f", 1.5), 1.5)
    check("MSET", r.mset({"py:a": "1", "py:b": "2"}), True)
    check("MGET", r.mget(["py:a", "py:b", "py:missing"]), [b"1", b"2", None])
    check("SET EX", r.set("py:t", "x", ex=1000), True)
    ttl = r.ttl("py:t")
    if not 990 <= ttl <= 1000:
        raise AssertionError(f"TTL: expected about 1000, got {ttl!r}")
    check("DEL", r.delete("py:a", "py:b", "py:missing"), 2)
    check("EXISTS", r.exists("py:s"), 1)
    check("TYPE", r.type("py:s"), b"string")


def hashes(r):
    check("HSET", r.hset("py:h", mapping={"f1": "1", "f2": "2"}), 2)
    check("HGET", r.hget("py:h", "f1"), b"1")
    check("HGETALL", r.hgetall("py:h"), {b"f1": b"1", b"f2": b"2"})
    check("HINCRBY", r.hincrby("py:h", "f1", 9), 10)
    check("HDEL", r.hdel("py:h", "f2"), 1)
    check("HLEN", r.hlen("py:h"), 1)


def lists(r):
    check("RPUSH", r.rpush("py:l", "a", "b", "c"), 3)
    check("LPUSH", r.lpush("py:l", "z"), 4)
    check("LRANGE", r.lrange("py:l", 0, -1), [b"z", b"a", b"b", b"c"])
    check("LPOP", r.lpop("py:l"), b"z")
    check("RPOP count", r.rpop("py:l", 2), [b"c", b"b"])
    check("LLEN", r.llen("py:l"), 1)
    check("BLPOP with data", r.blpop(["py:l"], timeout=1), (b"py:l", b"a"))
    check("BLPOP timeout", r.blpop(["py:l"], timeout=0.05), None)


def sets(r):
    check("SADD", r.sadd("py:set", "a", "b", "c"), 3)
    check("SMEMBERS", r.smembers("py:set"), {b"a", b"b", b"c"})
    check("SISMEMBER", bool(r.sismember("py:set", "a")), True)
    check("SREM", r.srem("py:set", "a"), 1)
    check("SCARD", r.scard("py:set"), 2)
    check("SINTER", r.sinter("py:set", "py:set"), {b"b", b"c"})


def zsets(r):
    check("ZADD", r.zadd("py:z", {"a": 1, "b": 2.5}), 2)
    check("ZSCORE", r.zscore("py:z", "b"), 2.5)
    check("ZRANGE WITHSCORES", r.zrange("py:z", 0, -1, withscores=True), [(b"a", 1.0), (b"b", 2.5)])
    check("ZINCRBY", r.zincrby("py:z", 2, "a"), 3.0)
    check("ZRANK", r.zrank("py:z", "a"), 1)
    check("ZCARD", r.zcard("py:z"), 2)
    popped = r.zpopmin("py:z")
    check("ZPOPMIN", popped, [(b"b", 2.5)])


def pipeline(r):
    p = r.pipeline(transaction=False)
    p.set("py:p", "1").incr("py:p").get("py:p").lrange("py:nolist", 0, -1)
    check("pipeline", p.execute(), [True, 2, b"2", []])


def transaction(r):
    with r.pipeline() as p:
        p.set("py:m", "1").incr("py:m").get("py:m")
        check("MULTI/EXEC", p.execute(), [True, 2, b"2"])

    def bump(pipe):
        value = int(pipe.get("py:m"))
        pipe.multi()
        pipe.set("py:m", value + 1)

    r.transaction(bump, "py:m")
    check("WATCH transaction", r.get("py:m"), b"3")
    # A watched key changed by another client makes EXEC fail.
    other = redis.Redis(port=r.connection_pool.connection_kwargs["port"])
    with r.pipeline() as p:
        p.watch("py:m")
        other.set("py:m", "changed")
        p.multi()
        p.set("py:m", "mine")
        try:
            p.execute()
            raise AssertionError("EXEC after a touched WATCH key must fail")
        except redis.WatchError:
            pass
    check("value after aborted transaction", r.get("py:m"), b"changed")
    other.close()


def pubsub(r):
    ps = r.pubsub()
    ps.subscribe("py:ch")
    deadline = time.time() + 5
    msg = None
    while time.time() < deadline and msg is None:
        msg = ps.get_message(timeout=0.5)
    if not msg or msg["type"] != "subscribe":
        raise AssertionError(f"subscribe confirmation: got {msg!r}")
    check("PUBLISH receivers", r.publish("py:ch", "hello"), 1)
    msg = None
    while time.time() < deadline and msg is None:
        msg = ps.get_message(ignore_subscribe_messages=True, timeout=0.5)
    if not msg:
        raise AssertionError("no message arrived on the subscribed channel")
    check("message channel", msg["channel"], b"py:ch")
    check("message data", msg["data"], b"hello")
    ps.unsubscribe("py:ch")
    ps.close()


def persistence_info(port, aof):
    # The exact lines of the issue.
    r = redis.Redis(port=port)
    info = r.info('persistence')
    if aof:
        print(info['aof_current_size'], info['aof_rewrite_in_progress'])
    else:
        # TODO(persistence issue, #3): aofd runs here without AOF because this build does not
        # accept `--appendonly yes` yet; Redis omits aof_current_size while appendonly is off,
        # so only its presence when AOF is on can be checked. Once #3 lands, interop.rs starts
        # aofd with --appendonly yes and this branch is no longer taken (the lead decides).
        print(info.get('aof_current_size', '(aof_current_size absent: appendonly is off)'),
              info['aof_rewrite_in_progress'])
    check("aof_rewrite_in_progress", info['aof_rewrite_in_progress'], 0)
    r.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--expect-protocol", type=int, choices=[2, 3], required=True)
    ap.add_argument("--aof", choices=["yes", "no"], default="no",
                    help="whether the server was started with --appendonly yes")
    args = ap.parse_args()

    print(f"redis-py {redis.__version__} against port {args.port}")
    r = redis.Redis(port=args.port)
    check("PING", r.ping(), True)
    proto = connection_protocol(r)
    check("default protocol of this redis-py", proto, args.expect_protocol)
    print(f"ok: connected with RESP{proto}")
    r.flushdb()
    for name, fn in [("strings", strings), ("hashes", hashes), ("lists", lists), ("sets", sets),
                     ("sorted sets", zsets), ("pipeline", pipeline),
                     ("transaction", transaction), ("pub/sub", pubsub)]:
        fn(r)
        print(f"ok: {name}")
    persistence_info(args.port, args.aof == "yes")
    print("ok: INFO persistence")
    r.flushdb()
    r.close()
    print("redis_py_check: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
