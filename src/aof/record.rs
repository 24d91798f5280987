//! Propagated commands to AOF bytes (Redis `feedAppendOnlyFile`, `catAppendOnlyGenericCommand`,
//! `genAofTimestampAnnotationIfNeeded`, and the MULTI/EXEC wrapping of
//! `propagatePendingCommands`).
//!
//! A record is a RESP array of bulk strings, encoded by the one RESP codec
//! ([`crate::protocol::Reply`]). A `SELECT` precedes a record whenever its database differs from
//! the last one written, and the first record of every new file (the encoder's database is reset
//! when a file is opened). A unit of several commands (EXEC, a script, SPOP with a count) is
//! wrapped in `MULTI`/`EXEC`: `MULTI` carries the first command's database (so a `SELECT` may
//! precede it) and `EXEC` the last one's (so no `SELECT` is ever injected before `EXEC`), as in
//! Redis 7.0. With `aof-timestamp-enabled`, a `#TS:<unix>` line precedes the first record of
//! every new second.

use crate::protocol::{Reply, Resp};

/// Turns propagated commands into AOF bytes, remembering the last database written and the last
/// timestamp annotated.
#[derive(Debug, Default)]
pub struct RecordEncoder {
    /// Database of the last record written to the current file; `None` forces a `SELECT`.
    selected_db: Option<usize>,
    /// `aof-timestamp-enabled`.
    timestamps: bool,
    /// Second of the last `#TS:` annotation (Redis `aof_cur_timestamp`).
    last_ts: i64,
}

impl RecordEncoder {
    /// An encoder for a new file: the first record will be preceded by a `SELECT`.
    pub fn new(timestamps: bool) -> Self {
        RecordEncoder {
            selected_db: None,
            timestamps,
            last_ts: 0,
        }
    }

    /// Forgets the selected database, so the next record starts with a `SELECT`. Call it
    /// whenever a new file starts (startup, new INCR) and when logging stops (Redis resets
    /// `aof_selected_db` to -1 in all these cases).
    pub fn reset_db(&mut self) {
        self.selected_db = None;
    }

    /// Changes `aof-timestamp-enabled` at runtime.
    pub fn set_timestamps(&mut self, on: bool) {
        self.timestamps = on;
    }

    /// Whether `#TS:` annotations are written.
    pub fn timestamps(&self) -> bool {
        self.timestamps
    }

    /// Appends one command executed in `db` at unix time `now_secs` (a unit of one command:
    /// never wrapped).
    pub fn encode_command<A: AsRef<[u8]>>(
        &mut self,
        out: &mut Vec<u8>,
        now_secs: i64,
        db: usize,
        args: &[A],
    ) {
        self.annotate(out, now_secs);
        self.select(out, db);
        push_array(out, args);
    }

    /// Appends the commands one execution unit propagated, each with its database. More than
    /// one command is wrapped in `MULTI`/`EXEC` unless `wrap` is false (Redis's
    /// `propagate_no_multi`, used for active expiry and eviction, and commands flagged as
    /// touching arbitrary keys).
    pub fn encode_unit<A: AsRef<[u8]>>(
        &mut self,
        out: &mut Vec<u8>,
        now_secs: i64,
        ops: &[(usize, Vec<A>)],
        wrap: bool,
    ) {
        let (Some((first_db, _)), Some((last_db, _))) = (ops.first(), ops.last()) else {
            return;
        };
        let wrap = wrap && ops.len() > 1;
        if wrap {
            self.encode_command(out, now_secs, *first_db, &[b"MULTI"]);
        }
        for (db, args) in ops {
            self.encode_command(out, now_secs, *db, args);
        }
        if wrap {
            // EXEC is fed with the last command's database, so it never needs a SELECT.
            self.encode_command(out, now_secs, *last_db, &[b"EXEC"]);
        }
    }

    /// `#TS:<now>\r\n` if this is the first record of a new second and annotations are on.
    fn annotate(&mut self, out: &mut Vec<u8>, now_secs: i64) {
        if self.timestamps && self.last_ts < now_secs {
            self.last_ts = now_secs;
            out.extend_from_slice(timestamp_annotation(now_secs).as_bytes());
        }
    }

    fn select(&mut self, out: &mut Vec<u8>, db: usize) {
        if self.selected_db != Some(db) {
            let mut b = itoa::Buffer::new();
            push_array(out, &[b"SELECT".as_slice(), b.format(db).as_bytes()]);
            self.selected_db = Some(db);
        }
    }
}

/// The annotation line `#TS:<unix seconds>\r\n` (also the first line of a RESP BASE written with
/// timestamps on).
pub fn timestamp_annotation(unix_secs: i64) -> String {
    format!("#TS:{unix_secs}\r\n")
}

/// Appends `*<n>\r\n` and one `$<len>\r\n<bytes>\r\n` per argument.
pub fn push_array<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    // Borrow the buffer into the shared encoder and hand it back: no copy, one codec.
    let mut reply = Reply {
        buf: std::mem::take(out),
        resp: Resp::V2,
    };
    reply.array(args.len());
    for a in args {
        reply.bulk(a.as_ref());
    }
    *out = reply.buf;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    /// Decodes records back to readable lines, for compact assertions.
    fn lines(bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut r = crate::aof::loader::AofReader::new(bytes);
        while let Ok(Some(item)) = r.next_item() {
            match item {
                crate::aof::loader::Item::Command(c) => out.push(
                    c.args
                        .iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                crate::aof::loader::Item::Annotation { text, .. } => {
                    out.push(String::from_utf8_lossy(&text).into_owned())
                }
            }
        }
        out
    }

    #[test]
    fn exact_bytes_of_a_record() {
        let mut enc = RecordEncoder::new(false);
        let mut out = Vec::new();
        enc.encode_command(&mut out, 0, 0, &cmd(&["set", "a", "1"]));
        assert_eq!(
            out,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        out.clear();
        // Same database: no SELECT; binary-safe payloads.
        enc.encode_command(
            &mut out,
            0,
            0,
            &[b"SET".to_vec(), b"k\r\n".to_vec(), vec![]],
        );
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n");
    }

    #[test]
    fn select_when_the_db_changes_and_after_reset() {
        let mut enc = RecordEncoder::new(false);
        let mut out = Vec::new();
        enc.encode_command(&mut out, 0, 0, &cmd(&["set", "a", "1"]));
        enc.encode_command(&mut out, 0, 3, &cmd(&["set", "c", "3"]));
        enc.encode_command(&mut out, 0, 3, &cmd(&["del", "c"]));
        enc.reset_db();
        enc.encode_command(&mut out, 0, 3, &cmd(&["set", "d", "4"]));
        assert_eq!(
            lines(&out),
            ["SELECT 0", "set a 1", "SELECT 3", "set c 3", "del c", "SELECT 3", "set d 4"]
        );
    }

    #[test]
    fn units_are_wrapped_like_redis_7_0() {
        let mut enc = RecordEncoder::new(false);
        let mut out = Vec::new();
        // MULTI; SET x 1; SELECT 4; SET y 2; EXEC  (observed 7.0.15 output)
        enc.encode_unit(
            &mut out,
            0,
            &[(0, cmd(&["SET", "x", "1"])), (4, cmd(&["SET", "y", "2"]))],
            true,
        );
        // A unit of one command is not wrapped.
        enc.encode_unit(&mut out, 0, &[(0, cmd(&["SET", "one", "1"]))], true);
        // Active expiry: several DELs, never wrapped.
        enc.encode_unit(
            &mut out,
            0,
            &[(0, cmd(&["DEL", "a"])), (0, cmd(&["DEL", "b"]))],
            false,
        );
        enc.encode_unit::<Vec<u8>>(&mut out, 0, &[], true);
        assert_eq!(
            lines(&out),
            [
                "SELECT 0",
                "MULTI",
                "SET x 1",
                "SELECT 4",
                "SET y 2",
                "EXEC",
                "SELECT 0",
                "SET one 1",
                "DEL a",
                "DEL b"
            ]
        );
    }

    #[test]
    fn multi_takes_the_first_db_and_exec_the_last() {
        let mut enc = RecordEncoder::new(false);
        let mut out = Vec::new();
        enc.encode_command(&mut out, 0, 0, &cmd(&["set", "a", "1"]));
        enc.encode_unit(
            &mut out,
            0,
            &[(2, cmd(&["SREM", "s", "a"])), (2, cmd(&["SREM", "s", "b"]))],
            true,
        );
        assert_eq!(
            lines(&out),
            ["SELECT 0", "set a 1", "SELECT 2", "MULTI", "SREM s a", "SREM s b", "EXEC"]
        );
    }

    #[test]
    fn timestamps_once_per_second_before_select() {
        let mut enc = RecordEncoder::new(true);
        let mut out = Vec::new();
        enc.encode_command(&mut out, 1795404892, 0, &cmd(&["set", "t1", "1"]));
        enc.encode_command(&mut out, 1795404893, 0, &cmd(&["set", "t2", "1"]));
        enc.encode_command(&mut out, 1795404893, 0, &cmd(&["set", "t3", "1"]));
        assert!(out.starts_with(b"#TS:1795404892\r\n*2\r\n$6\r\nSELECT\r\n"));
        assert_eq!(
            lines(&out),
            [
                "#TS:1795404892",
                "SELECT 0",
                "set t1 1",
                "#TS:1795404893",
                "set t2 1",
                "set t3 1"
            ]
        );
        enc.set_timestamps(false);
        out.clear();
        enc.encode_command(&mut out, 1795404999, 0, &cmd(&["set", "t4", "1"]));
        assert_eq!(lines(&out), ["set t4 1"]);
        assert_eq!(timestamp_annotation(7), "#TS:7\r\n");
    }
}
