//! Differential test: the same seeded stream of commands goes to a real `redis-server` 7.0 and to
//! the real `aofd` binary, and every reply must match (after normalising only what is
//! nondeterministic by definition); at the end the whole datasets must match too.
//!
//! It runs only with `AOFD_DIFFERENTIAL=1` (then a missing or wrong `redis-server` is a failure);
//! otherwise it says it is skipped and passes, so `cargo test` needs nothing but Rust.
//!
//! Environment:
//! - `AOFD_DIFF_SEED`: the seed (default: from the clock; always printed).
//! - `AOFD_DIFF_COMMANDS`: how many steps (default 10000).
//! - `AOFD_DIFF_PEER=redis`: compare redis-server with a second redis-server instead of aofd,
//!   to validate the harness itself (must give zero mismatches).
//! - `AOFD_DIFF_KEEP_GOING=1`: do not stop at the first mismatch; resynchronise both servers
//!   and print a summary of mismatches per command at the end (the test still fails).
//! - `AOFD_DIFF_ONLY=get,set,...`: generate only these entries (generator names, lower case);
//!   for servers that implement a subset. Disables the coverage check, and the RESP3 part unless
//!   `hello` is listed, and the final dump unless `type` is listed.

#[path = "differential/check.rs"]
mod check;
#[path = "differential/gen.rs"]
mod gen;
#[path = "differential/procs.rs"]
mod procs;
#[path = "differential/resp.rs"]
mod resp;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use check::{compare, dump_key, full_scan, validate_random};
use gen::{touchable_keys, Action, Gen, LexSpec, Norm, RandKind, Step, DBS};
use procs::{ServerGuard, Spec};
use resp::{args, show_command, Conn, Value};

/// How long any one reply may take: blocking steps wait at most 5 s by construction.
const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

/// Connections per side: 0 = main RESP2, 1 = helper RESP2, 2 = RESP3.
const CONNS: usize = 3;

struct Settings {
    seed: u64,
    commands: usize,
    peer_is_redis: bool,
    keep_going: bool,
    only: Option<Vec<String>>,
}

impl Settings {
    fn from_env() -> Settings {
        let seed = std::env::var("AOFD_DIFF_SEED")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        let commands = std::env::var("AOFD_DIFF_COMMANDS")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(10_000);
        let only = std::env::var("AOFD_DIFF_ONLY").ok().map(|s| {
            s.split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect()
        });
        Settings {
            seed,
            commands,
            peer_is_redis: std::env::var("AOFD_DIFF_PEER").is_ok_and(|v| v == "redis"),
            keep_going: std::env::var("AOFD_DIFF_KEEP_GOING").is_ok_and(|v| v == "1"),
            only,
        }
    }

    fn replay(&self) -> String {
        let mut s = format!(
            "AOFD_DIFFERENTIAL=1 AOFD_DIFF_SEED={} AOFD_DIFF_COMMANDS={}",
            self.seed, self.commands
        );
        if self.peer_is_redis {
            s.push_str(" AOFD_DIFF_PEER=redis");
        }
        if let Some(only) = &self.only {
            s.push_str(&format!(" AOFD_DIFF_ONLY={}", only.join(",")));
        }
        s.push_str(" cargo test --test differential -- --nocapture");
        s
    }
}

/// One mismatch, with everything needed to understand and replay it.
struct Mismatch {
    index: usize,
    conn: usize,
    command: String,
    reference: String,
    candidate: String,
    detail: String,
}

/// Both servers, their connections, and the bookkeeping of the run.
struct Harness {
    settings: Settings,
    reference: ServerGuard,
    candidate: ServerGuard,
    a: Vec<Conn>,
    b: Vec<Conn>,
    /// Replies still to be read per connection (from `Action::Send`): command and norm.
    pending: Vec<VecDeque<(Vec<Vec<u8>>, Norm)>>,
    history: VecDeque<String>,
    counts: BTreeMap<String, u64>,
    /// Error replies of the reference per command: shows how much of a command's happy path
    /// the generator reaches.
    errors: BTreeMap<String, u64>,
    mismatches: Vec<Mismatch>,
    resp3: bool,
    /// Lex-range commands on sorted sets with mixed scores (compared by type only).
    unspecified_lex: u64,
}

fn connect_all(port: u16) -> Result<Vec<Conn>, String> {
    (0..CONNS)
        .map(|_| Conn::connect(port, REPLY_TIMEOUT))
        .collect()
}

impl Harness {
    fn candidate_name(&self) -> &'static str {
        if self.settings.peer_is_redis {
            "second redis-server"
        } else {
            "aofd"
        }
    }

    fn remember(&mut self, index: usize, conn: usize, text: String) {
        if self.history.len() == 20 {
            self.history.pop_front();
        }
        self.history
            .push_back(format!("#{index} [conn {conn}] {text}"));
    }

    fn mismatch(
        &self,
        index: usize,
        conn: usize,
        command: String,
        a: &str,
        b: &str,
        detail: String,
    ) -> Mismatch {
        Mismatch {
            index,
            conn,
            command,
            reference: a.to_string(),
            candidate: b.to_string(),
            detail,
        }
    }

    fn report(&mut self, m: &Mismatch) {
        if self.mismatches.len() >= 10 {
            if self.mismatches.len() == 10 {
                eprintln!("differential: more mismatches; only the summary lists them");
            }
            return;
        }
        let proto = if m.conn == 2 { "RESP3" } else { "RESP2" };
        let mut text = String::new();
        text.push_str("\n========== DIFFERENTIAL MISMATCH ==========\n");
        text.push_str(&format!(
            "seed: {}   command index: {}   connection: {} ({proto})\n",
            self.settings.seed, m.index, m.conn
        ));
        text.push_str(&format!("command:   {}\n", m.command));
        text.push_str(&format!("redis:     {}\n", m.reference));
        text.push_str(&format!(
            "{:<10} {}\n",
            format!("{}:", "candidate"),
            m.candidate
        ));
        text.push_str(&format!("(candidate = {})\n", self.candidate_name()));
        text.push_str(&format!("detail:    {}\n", m.detail));
        text.push_str("previous commands:\n");
        for h in &self.history {
            text.push_str(&format!("  {h}\n"));
        }
        if !self.candidate.alive() {
            text.push_str(&format!(
                "{} is no longer running; its last output:\n{}\n",
                self.candidate_name(),
                self.candidate.log_tail()
            ));
        }
        if !self.reference.alive() {
            text.push_str(&format!(
                "redis-server is no longer running; its last output:\n{}\n",
                self.reference.log_tail()
            ));
        }
        text.push_str(&format!("replay: {}\n", self.settings.replay()));
        eprintln!("{text}");
    }

    /// Sends to both, reads both.
    fn both(&mut self, conn: usize, argv: &[Vec<u8>]) -> Result<(Value, Value), String> {
        self.a[conn].send(argv)?;
        self.b[conn]
            .send(argv)
            .map_err(|e| format!("{}: {e}", self.candidate_name()))?;
        let ra = self.a[conn]
            .read()
            .map_err(|e| format!("redis-server: {e}"))?;
        let rb = self.b[conn]
            .read()
            .map_err(|e| format!("{}: {e}", self.candidate_name()))?;
        Ok((ra, rb))
    }

    fn run_step(&mut self, index: usize, step: &Step) -> Result<(), Mismatch> {
        let conn = step.conn;
        let shown = if step.action == Action::Recv {
            match self.pending[conn].front() {
                Some((argv, _)) => format!("(reply of) {}", show_command(argv)),
                None => "(reply of nothing)".to_string(),
            }
        } else {
            show_command(&step.args)
        };
        if step.action != Action::Recv {
            gen::count(&mut self.counts, &step.args);
        }
        let io = |h: &Harness, e: String| {
            h.mismatch(index, conn, shown.clone(), "-", "-", format!("I/O: {e}"))
        };
        let result = match (&step.action, &step.norm) {
            (Action::Send, _) => {
                let sent = self.a[conn]
                    .send(&step.args)
                    .and_then(|_| self.b[conn].send(&step.args));
                if let Err(e) = sent {
                    return Err(io(self, e));
                }
                self.pending[conn].push_back((step.args.clone(), step.norm.clone()));
                Ok(())
            }
            (Action::Recv, _) => {
                let Some((_argv, norm)) = self.pending[conn].pop_front() else {
                    return Err(io(self, "Recv without a pending Send".into()));
                };
                let ra = self.a[conn].read().map_err(|e| io(self, e))?;
                let rb = self.b[conn].read().map_err(|e| io(self, e))?;
                compare(&norm, &ra, &rb).map_err(|d| {
                    self.mismatch(
                        index,
                        conn,
                        shown.clone(),
                        &ra.to_string(),
                        &rb.to_string(),
                        d,
                    )
                })
            }
            (Action::Call, Norm::Random(kind)) => self.random_step(index, step, *kind, &shown),
            (Action::Call, Norm::Lex(spec)) => self.lex_step(index, step, spec, &shown),
            (Action::Call, Norm::Scan(spec)) => {
                let ra = full_scan(&mut self.a[conn], spec).map_err(|e| io(self, e))?;
                let rb = full_scan(&mut self.b[conn], spec).map_err(|e| io(self, e))?;
                if ra == rb {
                    Ok(())
                } else {
                    Err(self.mismatch(
                        index,
                        conn,
                        shown.clone(),
                        &format!("{ra:?}"),
                        &format!("{rb:?}"),
                        "full iterations returned different element sets".into(),
                    ))
                }
            }
            (Action::Call, norm) => {
                let (ra, rb) = self.both(conn, &step.args).map_err(|e| io(self, e))?;
                if ra.is_error() {
                    gen::count(&mut self.errors, &step.args);
                    if std::env::var("AOFD_DIFF_SHOW_ERRORS").is_ok() {
                        println!("ERR {} -> {ra}", show_command(&step.args));
                    }
                }
                compare(norm, &ra, &rb).map_err(|d| {
                    self.mismatch(
                        index,
                        conn,
                        shown.clone(),
                        &ra.to_string(),
                        &rb.to_string(),
                        d,
                    )
                })
            }
        };
        self.remember(index, conn, shown);
        if step.sleep_after_ms > 0 {
            std::thread::sleep(Duration::from_millis(step.sleep_after_ms));
        }
        result
    }

    /// RANDOMKEY, SRANDMEMBER, SPOP, HRANDFIELD, ZRANDMEMBER: same shape and size on both sides,
    /// and every pick valid for the key's contents; SPOP is followed by deleting the key on
    /// both sides so the datasets stay identical.
    fn random_step(
        &mut self,
        index: usize,
        step: &Step,
        kind: RandKind,
        shown: &str,
    ) -> Result<(), Mismatch> {
        let conn = step.conn;
        let key = step.args.get(1).cloned().unwrap_or_default();
        let io = |h: &Harness, e: String| {
            h.mismatch(
                index,
                conn,
                shown.to_string(),
                "-",
                "-",
                format!("I/O: {e}"),
            )
        };
        let dumps = |h: &mut Harness| -> Result<_, Mismatch> {
            let da = dump_key(&mut h.a[conn], &key).map_err(|e| io(h, e))?;
            let db = dump_key(&mut h.b[conn], &key).map_err(|e| io(h, e))?;
            if let Err(d) = da.compare(&db) {
                return Err(h.mismatch(
                    index,
                    conn,
                    format!("(contents of the key of) {shown}"),
                    &da.to_string(),
                    &db.to_string(),
                    d,
                ));
            }
            Ok((da, db))
        };
        let before = if kind == RandKind::SPop && key_command(kind) {
            Some(dumps(self)?)
        } else {
            None
        };
        let (ra, rb) = self.both(conn, &step.args).map_err(|e| io(self, e))?;
        let fail = |h: &Harness, d: String| {
            h.mismatch(
                index,
                conn,
                shown.to_string(),
                &ra.to_string(),
                &rb.to_string(),
                d,
            )
        };
        if ra.is_error() || rb.is_error() {
            return compare(&Norm::Exact, &ra, &rb).map_err(|d| fail(self, d));
        }
        if std::mem::discriminant(&ra) != std::mem::discriminant(&rb) {
            return Err(fail(self, "replies have different types".into()));
        }
        let la = ra.elements().map(<[Value]>::len);
        let lb = rb.elements().map(<[Value]>::len);
        if la != lb {
            return Err(fail(self, "replies have different lengths".into()));
        }
        if kind == RandKind::RandomKey {
            for (side, reply) in [(0, &ra), (1, &rb)] {
                if let Some(k) = reply.as_bytes() {
                    let c = if side == 0 { &mut self.a } else { &mut self.b };
                    let exists = c[conn]
                        .call(&[b"EXISTS".to_vec(), k.to_vec()])
                        .map_err(|e| io(self, e))?;
                    if exists != Value::Int(1) {
                        return Err(fail(self, format!("side {side} picked a missing key")));
                    }
                }
            }
            return Ok(());
        }
        let (da, db) = match before {
            Some(d) => d,
            None => dumps(self)?,
        };
        validate_random(kind, &step.args, &ra, &da)
            .map_err(|d| fail(self, format!("redis-server's pick is invalid: {d}")))?;
        validate_random(kind, &step.args, &rb, &db)
            .map_err(|d| fail(self, format!("the candidate's pick is invalid: {d}")))?;
        if kind == RandKind::SPop {
            let del = vec![b"DEL".to_vec(), key.clone()];
            let (xa, xb) = self.both(conn, &del).map_err(|e| io(self, e))?;
            if xa != xb {
                return Err(self.mismatch(
                    index,
                    conn,
                    format!("(resync after SPOP) {}", show_command(&del)),
                    &xa.to_string(),
                    &xb.to_string(),
                    "the sets had different sizes after SPOP".into(),
                ));
            }
        }
        Ok(())
    }

    /// A lex-range command: compared exactly when the sorted set's scores are all equal (or it is
    /// not a sorted set); otherwise Redis leaves the result unspecified, so only errors and reply
    /// types are compared and a key the command wrote is deleted on both sides.
    fn lex_step(
        &mut self,
        index: usize,
        step: &Step,
        spec: &LexSpec,
        shown: &str,
    ) -> Result<(), Mismatch> {
        let conn = step.conn;
        let io = |h: &Harness, e: String| {
            h.mismatch(
                index,
                conn,
                shown.to_string(),
                "-",
                "-",
                format!("I/O: {e}"),
            )
        };
        // Read on both sides so lazy expiry happens alike; the reference decides.
        let da = dump_key(&mut self.a[conn], &spec.src).map_err(|e| io(self, e))?;
        dump_key(&mut self.b[conn], &spec.src).map_err(|e| io(self, e))?;
        let (ra, rb) = self.both(conn, &step.args).map_err(|e| io(self, e))?;
        let fail = |h: &Harness, d: String| {
            h.mismatch(
                index,
                conn,
                shown.to_string(),
                &ra.to_string(),
                &rb.to_string(),
                d,
            )
        };
        if !da.mixed_scores() || ra.is_error() || rb.is_error() {
            return compare(&Norm::Exact, &ra, &rb).map_err(|d| fail(self, d));
        }
        self.unspecified_lex += 1;
        if std::mem::discriminant(&ra) != std::mem::discriminant(&rb) {
            return Err(fail(self, "replies have different types".into()));
        }
        if let Some(written) = &spec.written {
            let del = vec![b"DEL".to_vec(), written.clone()];
            self.both(conn, &del).map_err(|e| io(self, e))?;
        }
        Ok(())
    }

    /// After a mismatch in keep-going mode: fresh connections, empty databases on both sides.
    fn resync(&mut self) -> Result<(), String> {
        self.a = connect_all(self.reference.port)?;
        self.b = connect_all(self.candidate.port)?;
        self.pending = vec![VecDeque::new(); CONNS];
        let mut incomplete = false;
        for conns in [&mut self.a, &mut self.b] {
            if self.resp3 {
                conns[2].call(&args(&["HELLO", "3"]))?;
            }
            let c = &mut conns[0];
            for db in 0..DBS {
                c.call(&args(&["SELECT", &db.to_string()]))?;
                let flushed = c.call(&args(&["FLUSHDB"]))?;
                let mut del = args(&["DEL"]);
                del.extend(touchable_keys());
                let deleted = c.call(&del)?;
                if flushed.is_error() && deleted.is_error() {
                    incomplete = true;
                }
            }
            c.call(&args(&["SELECT", "0"]))?;
        }
        if incomplete {
            eprintln!(
                "differential: WARNING: resynchronisation incomplete (neither FLUSHDB nor DEL \
                 works); later mismatches may only follow from earlier ones"
            );
        }
        Ok(())
    }

    /// Compares every database key by key through fresh RESP2 connections.
    fn compare_datasets(&mut self, index: usize) -> Result<(), Mismatch> {
        let io = |h: &Harness, e: String| {
            h.mismatch(
                index,
                0,
                "(final dataset dump)".into(),
                "-",
                "-",
                format!("I/O: {e}"),
            )
        };
        let mut ca = Conn::connect(self.reference.port, REPLY_TIMEOUT).map_err(|e| io(self, e))?;
        let mut cb = Conn::connect(self.candidate.port, REPLY_TIMEOUT).map_err(|e| io(self, e))?;
        let mut touch = args(&["EXISTS"]);
        touch.extend(touchable_keys());
        for db in 0..DBS {
            let mut calls: Vec<(Vec<Vec<u8>>, Norm)> = vec![
                (args(&["SELECT", &db.to_string()]), Norm::Exact),
                (touch.clone(), Norm::Exact),
                (args(&["DBSIZE"]), Norm::Exact),
            ];
            calls.push((args(&["KEYS", "*"]), Norm::Sorted));
            let mut keys = Vec::new();
            for (argv, norm) in calls {
                let ra = ca.call(&argv).map_err(|e| io(self, e))?;
                let rb = cb.call(&argv).map_err(|e| io(self, e))?;
                let what = format!("(final dump, db {db}) {}", show_command(&argv));
                compare(&norm, &ra, &rb).map_err(|d| {
                    self.mismatch(index, 0, what, &ra.to_string(), &rb.to_string(), d)
                })?;
                if argv[0] == b"KEYS" {
                    keys = ra.elements().map(<[Value]>::to_vec).unwrap_or_default();
                }
            }
            keys.sort();
            for key in keys {
                let Some(k) = key.as_bytes() else { continue };
                let da = dump_key(&mut ca, k).map_err(|e| io(self, e))?;
                let dbb = dump_key(&mut cb, k).map_err(|e| io(self, e))?;
                if let Err(d) = da.compare(&dbb) {
                    return Err(self.mismatch(
                        index,
                        0,
                        format!("(final dump, db {db}) key {key}"),
                        &da.to_string(),
                        &dbb.to_string(),
                        d,
                    ));
                }
            }
        }
        Ok(())
    }
}

fn start_servers(settings: &Settings) -> (ServerGuard, ServerGuard) {
    let version = procs::check_redis_version().unwrap_or_else(|e| panic!("{e}"));
    println!("differential: reference {version}");
    let redis = Spec {
        name: "redis-server",
        program: "redis-server",
        args: &procs::redis_args,
    };
    let reference = procs::start(&redis).unwrap_or_else(|e| panic!("{e}"));
    let candidate = if settings.peer_is_redis {
        procs::start(&redis)
    } else {
        procs::start(&Spec {
            name: "aofd",
            program: env!("CARGO_BIN_EXE_aofd"),
            args: &procs::aofd_args,
        })
    }
    .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "differential: redis-server pid {} port {}; {} pid {} port {}",
        reference.pid(),
        reference.port,
        if settings.peer_is_redis {
            "second redis-server"
        } else {
            "aofd"
        },
        candidate.pid(),
        candidate.port
    );
    (reference, candidate)
}

#[test]
fn differential_against_redis() {
    if std::env::var("AOFD_DIFFERENTIAL").map_or(true, |v| v != "1") {
        println!(
            "differential test skipped: set AOFD_DIFFERENTIAL=1 to run it (needs redis-server 7.0)"
        );
        return;
    }
    let settings = Settings::from_env();
    println!(
        "differential: seed {} ({} commands); replay with: {}",
        settings.seed,
        settings.commands,
        settings.replay()
    );
    let started = Instant::now();
    let (reference, candidate) = start_servers(&settings);
    let a = connect_all(reference.port).unwrap_or_else(|e| panic!("{e}"));
    let b = connect_all(candidate.port).unwrap_or_else(|e| panic!("{e}"));
    let mut gen = Gen::new(settings.seed, settings.only.as_deref());
    let resp3 = gen.uses_resp3();
    let mut h = Harness {
        settings,
        reference,
        candidate,
        a,
        b,
        pending: vec![VecDeque::new(); CONNS],
        history: VecDeque::new(),
        counts: BTreeMap::new(),
        errors: BTreeMap::new(),
        mismatches: Vec::new(),
        resp3,
        unspecified_lex: 0,
    };
    let total = h.settings.commands;
    let mut index = 0usize;
    let mut fatal = false;
    if resp3 {
        let hello = Step {
            conn: 2,
            action: Action::Call,
            args: args(&["HELLO", "3"]),
            norm: Norm::Hello,
            sleep_after_ms: 0,
        };
        if let Err(m) = h.run_step(index, &hello) {
            h.report(&m);
            h.mismatches.push(m);
            fatal = true;
        }
        index += 1;
    }
    // Steps in this window use the RESP3 connection as the main one.
    let resp3_window = total * 35 / 100..total * 60 / 100;
    while index < total && !fatal {
        let main = if resp3_window.contains(&index) { 2 } else { 0 };
        let scenario = gen.next_scenario(main);
        if scenario.is_empty() {
            break;
        }
        for step in &scenario {
            let result = h.run_step(index, step);
            index += 1;
            if let Err(m) = result {
                h.report(&m);
                h.mismatches.push(m);
                if !h.settings.keep_going {
                    fatal = true;
                } else if let Err(e) = h.resync() {
                    eprintln!("differential: cannot resynchronise after a mismatch: {e}");
                    fatal = true;
                } else {
                    gen.reset_connections();
                    h.history.clear();
                }
                break;
            }
        }
    }
    let dump_enabled = h
        .settings
        .only
        .as_ref()
        .is_none_or(|o| o.iter().any(|n| n == "type"));
    if !fatal && dump_enabled {
        if let Err(m) = h.compare_datasets(index) {
            h.report(&m);
            h.mismatches.push(m);
        }
    }
    let elapsed = started.elapsed();
    println!(
        "differential: {index} steps in {:.1} s, {} mismatches (seed {})",
        elapsed.as_secs_f64(),
        h.mismatches.len(),
        h.settings.seed
    );
    println!(
        "differential: commands sent: {}",
        h.counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mostly_errors: Vec<String> = h
        .counts
        .iter()
        .filter_map(|(k, &n)| {
            let e = h.errors.get(k).copied().unwrap_or(0);
            (n >= 20 && e * 100 / n >= 60).then(|| format!("{k}={e}/{n}"))
        })
        .collect();
    println!(
        "differential: {} lex-range commands on sorted sets with mixed scores (unspecified in \
         Redis: compared by reply type only)",
        h.unspecified_lex
    );
    println!(
        "differential: {} error replies from redis-server in all; commands answered with an \
         error at least 60% of the time: {}",
        h.errors.values().sum::<u64>(),
        if mostly_errors.is_empty() {
            "none".to_string()
        } else {
            mostly_errors.join(" ")
        }
    );
    if !h.mismatches.is_empty() {
        let mut by_command: BTreeMap<String, (usize, String)> = BTreeMap::new();
        for m in &h.mismatches {
            let name = m
                .command
                .trim_start_matches(|c: char| c != '"')
                .split('"')
                .nth(1)
                .unwrap_or("?")
                .to_ascii_uppercase();
            let e = by_command.entry(name).or_insert_with(|| {
                (
                    0,
                    format!("{} -> {} vs {}", m.command, m.reference, m.candidate),
                )
            });
            e.0 += 1;
        }
        eprintln!("differential: mismatches by command (first example each):");
        for (name, (n, example)) in &by_command {
            eprintln!("  {name}: {n}   e.g. {example}");
        }
        panic!(
            "{} mismatch(es) between redis-server and {}; replay: {}",
            h.mismatches.len(),
            h.candidate_name(),
            h.settings.replay()
        );
    }
    if h.settings.only.is_none() && total >= 10_000 {
        let missing: Vec<&str> = gen::REQUIRED
            .iter()
            .copied()
            .filter(|c| !h.counts.contains_key(*c))
            .collect();
        assert!(
            missing.is_empty(),
            "the generator never sent: {missing:?} (seed {})",
            h.settings.seed
        );
    }
}

/// Whether the random command names a key (all but RANDOMKEY).
fn key_command(kind: RandKind) -> bool {
    kind != RandKind::RandomKey
}

/// The comparison rules themselves, checked without any server (these always run).
mod rules {
    use super::check::{compare, sorted_pairs, validate_random, KeyDump};
    use super::gen::{Gen, Norm, RandKind};
    use super::resp::{args, Value};

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn unordered_replies_compare_as_sets() {
        let a = Value::Array(vec![bulk("a"), bulk("b")]);
        let b = Value::Array(vec![bulk("b"), bulk("a")]);
        assert!(compare(&Norm::Sorted, &a, &b).is_ok());
        assert!(compare(&Norm::Exact, &a, &b).is_err());
        let c = Value::Array(vec![bulk("a"), bulk("c")]);
        assert!(compare(&Norm::Sorted, &a, &c).is_err());
    }

    #[test]
    fn pairs_stay_together_when_sorted() {
        let a = Value::Array(vec![bulk("f2"), bulk("1"), bulk("f1"), bulk("2")]);
        let b = Value::Array(vec![bulk("f1"), bulk("2"), bulk("f2"), bulk("1")]);
        let swapped = Value::Array(vec![bulk("f1"), bulk("1"), bulk("f2"), bulk("2")]);
        assert_eq!(sorted_pairs(&a), sorted_pairs(&b));
        assert!(compare(&Norm::SortedPairs, &a, &swapped).is_err());
    }

    #[test]
    fn ttls_compare_within_tolerance_and_errors_exactly() {
        assert!(compare(&Norm::Ttl(2), &Value::Int(100), &Value::Int(99)).is_ok());
        assert!(compare(&Norm::Ttl(2), &Value::Int(100), &Value::Int(90)).is_err());
        assert!(compare(&Norm::Ttl(2), &Value::Int(-1), &Value::Int(0)).is_err());
        let e1 = Value::Error(b"ERR a".to_vec());
        let e2 = Value::Error(b"ERR b".to_vec());
        assert!(compare(&Norm::Sorted, &e1, &e2).is_err());
    }

    #[test]
    fn random_picks_must_be_members() {
        let dump = KeyDump {
            ty: Value::Simple(b"set".to_vec()),
            content: Value::Array(vec![bulk("a"), bulk("b")]),
            encoding: Value::Bulk(b"hashtable".to_vec()),
            pttl: Value::Int(-1),
        };
        let argv = args(&["SRANDMEMBER", "s", "2"]);
        let ok = Value::Array(vec![bulk("b"), bulk("a")]);
        let stranger = Value::Array(vec![bulk("b"), bulk("z")]);
        let repeated = Value::Array(vec![bulk("a"), bulk("a")]);
        assert!(validate_random(RandKind::SRandMember, &argv, &ok, &dump).is_ok());
        assert!(validate_random(RandKind::SRandMember, &argv, &stranger, &dump).is_err());
        assert!(validate_random(RandKind::SRandMember, &argv, &repeated, &dump).is_err());
        let negative = args(&["SRANDMEMBER", "s", "-3"]);
        let three = Value::Array(vec![bulk("a"), bulk("a"), bulk("b")]);
        assert!(validate_random(RandKind::SRandMember, &negative, &three, &dump).is_ok());
    }

    #[test]
    fn the_generator_is_deterministic() {
        let run = |seed| {
            let mut g = Gen::new(seed, None);
            g.fixed_now_ms = Some(1_800_000_000_000);
            (0..200)
                .flat_map(|i| g.next_scenario(i % 3))
                .map(|s| s.args)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
