#!/bin/sh
# Generates the migration fixtures with redis-server 7.0 (Debian's redis-server package):
#   <out>/0001-legacy-aof/fixtures/appendonly-resp.aof      Redis <=6 single-file AOF, RESP only
#   <out>/0001-legacy-aof/fixtures/appendonly-preamble.aof  Redis <=6 single-file AOF, RDB preamble + RESP tail
#   <out>/0002-dump-rdb/fixtures/dump.rdb                   an RDB snapshot (SAVE)
#   <out>/fixtures/redis7-appendonlydir/                    a Redis 7 AOF directory: RDB BASE + INCR
# Usage: migrations/generate-fixtures.sh [out-dir]   (default: the directory of this script)
# The tests in tests/migrations.rs run it at test time with AOFD_DIFFERENTIAL=1.
#
# redis-server 7.0 cannot write a single-file AOF any more. A Redis 6 AOF is what a rewrite left
# (the BASE: RESP commands, or an RDB preamble) followed by the commands appended after it (the
# INCR), in one file, so each legacy fixture is a Redis 7 BASE and its INCR concatenated: byte for
# byte what Redis 6 would have written, except that the preamble is RDB version 10 (Redis 6.2
# writes 9; aofd and redis-server 7.0 read both).
#
# Every dataset is the same: each type, several databases, a key with a TTL far in the future,
# and keys whose TTL has already passed when the file is written (active expiry is switched off
# so they are still in the file: loaders must skip them).
set -eu
OUT=${1:-$(cd "$(dirname "$0")" && pwd)}
WORK=$(mktemp -d)
PORT=${FIXTURE_PORT:-$(( 20000 + $$ % 20000 ))}
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cli() { redis-cli -p "$PORT" "$@" >/dev/null; }

start() { # start <dir> <extra args...>
    dir=$1; shift
    mkdir -p "$dir"
    redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' \
        --enable-debug-command yes --logfile "$dir/redis.log" "$@" &
    PID=$!
    i=0
    until redis-cli -p "$PORT" ping >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { cat "$dir/redis.log"; exit 1; }; sleep 0.1
    done
    cli DEBUG SET-ACTIVE-EXPIRE 0
}

stop() {
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    wait "$PID" 2>/dev/null || true
    PID=
}

wait_rewrite() {
    i=0
    while redis-cli -p "$PORT" info persistence | grep -q 'aof_rewrite_in_progress:1'; do
        i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1
    done
}

# The part of the dataset written before the snapshot (BASE, preamble, dump.rdb).
first_half() {
    cli SET str:plain hello
    cli SET str:int 12345
    cli SET "str:odd key" "a b\r\nc"
    cli RPUSH list a b c 1 -2
    cli SADD set:int 1 2 3
    cli SADD set:str x y z
    cli HSET hash f1 v1 f2 v2
    cli ZADD zset 1 one 2 two 2.5 two.5
    cli SET ttl:future kept
    cli PEXPIREAT ttl:future 4102444800000
    cli SET ttl:past gone PX 1
    cli SELECT 3
    cli -n 3 SET db3:key in-db-3
    cli -n 3 RPUSH db3:list x
    sleep 0.1
}

# Written after the snapshot (INCR, RESP tail).
second_half() {
    cli INCRBY str:int 10
    cli RPUSH list tail
    cli HSET hash f3 v3
    cli ZINCRBY zset 1 one
    cli SREM set:str y
    cli SET tail:only after-snapshot
    cli SET tail:past gone-too PX 1
    cli -n 5 SET db5:key in-db-5
    sleep 0.1
}

legacy() { # legacy <preamble yes|no> <output file>
    d=$WORK/legacy-$1
    start "$d" --appendonly yes --aof-use-rdb-preamble "$1"
    first_half
    cli BGREWRITEAOF
    wait_rewrite
    second_half
    stop
    base=$(sed -n 's/^file \([^ ]*\) seq [0-9]* type b$/\1/p' "$d/appendonlydir/appendonly.aof.manifest")
    incr=$(sed -n 's/^file \([^ ]*\) seq [0-9]* type i$/\1/p' "$d/appendonlydir/appendonly.aof.manifest")
    cat "$d/appendonlydir/$base" "$d/appendonlydir/$incr" > "$2"
}

mkdir -p "$OUT/0001-legacy-aof/fixtures" "$OUT/0002-dump-rdb/fixtures" "$OUT/fixtures"
legacy no "$OUT/0001-legacy-aof/fixtures/appendonly-resp.aof"
legacy yes "$OUT/0001-legacy-aof/fixtures/appendonly-preamble.aof"

# dump.rdb: the whole dataset, saved with SAVE.
d=$WORK/dump
start "$d" --appendonly no
first_half
second_half
cli SAVE
stop
cp "$d/dump.rdb" "$OUT/0002-dump-rdb/fixtures/dump.rdb"

# A Redis 7 AOF directory: RDB BASE (first half) + INCR (second half).
d=$WORK/redis7
start "$d" --appendonly yes --aof-use-rdb-preamble yes
first_half
cli BGREWRITEAOF
wait_rewrite
second_half
stop
rm -rf "$OUT/fixtures/redis7-appendonlydir"
mkdir -p "$OUT/fixtures/redis7-appendonlydir"
for f in $(sed -n 's/^file \([^ ]*\) seq [0-9]* type [bi]$/\1/p' "$d/appendonlydir/appendonly.aof.manifest"); do
    cp "$d/appendonlydir/$f" "$OUT/fixtures/redis7-appendonlydir/"
done
cp "$d/appendonlydir/appendonly.aof.manifest" "$OUT/fixtures/redis7-appendonlydir/"
echo "fixtures written under $OUT"
