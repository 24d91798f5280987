//! The seeded command generator of the differential test.
//!
//! It produces scenarios (one or more steps on one or more connections) from a small PRNG, so a
//! seed replays the same sequence. It never looks at replies: everything it needs to stay
//! deterministic (which database a connection is on, whether a transaction is open) follows from
//! the commands it chose. Keys come from a small pool so that types collide and WRONGTYPE paths
//! are exercised; argument pools mix ordinary values with edge values (integer limits, `inf`,
//! non-numbers, empty strings, binary bytes, lengths around encoding thresholds).
//!
//! Timing rules (so that two servers can be compared without races):
//! - expiries are either far (hours or more; TTL replies are compared with a tolerance) or in the
//!   past (the key goes at once), or short (1-5 ms) — after a short one the harness sleeps until
//!   the key has surely expired on both servers before the next command;
//! - no short expiry inside MULTI (EXEC freezes time), no zero timeouts outside MULTI;
//! - blocking commands use tiny timeouts, or a second connection pushes data to the key they
//!   wait on after the key was deleted, so the reply does not depend on who runs first.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// splitmix64: small, fast, good enough for test generation, and identical on every platform.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u32) -> bool {
        self.next_u64() % 100 < u64::from(pct)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1).max(1) as u64;
        lo + (self.next_u64() % span) as i64
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// How two replies are compared.
#[derive(Clone, Debug)]
pub enum Norm {
    /// Byte for byte (as parsed values).
    Exact,
    /// An unordered collection: sort the elements first.
    Sorted,
    /// An unordered collection of field/value pairs (flat array or map): sort the pairs.
    SortedPairs,
    /// A TTL-like integer: negative values exactly, non-negative ones within the tolerance.
    Ttl(i64),
    /// An EXEC reply: each element with the norm of the queued command at its position.
    Exec(Vec<Norm>),
    /// A HELLO reply: only the shape and the protocol version are compared.
    Hello,
    /// A command that picks at random: shape and membership (see the harness).
    Random(RandKind),
    /// A SCAN-family command: the harness iterates to the end and compares the sets.
    Scan(ScanSpec),
    /// A lex-range command: exact when the sorted set's scores are all equal, otherwise
    /// unspecified by Redis (only errors and reply types are compared, and a key it wrote is
    /// deleted on both sides afterwards).
    Lex(LexSpec),
}

/// The keys of a lex-range command.
#[derive(Clone, Debug)]
pub struct LexSpec {
    /// The sorted set whose scores decide whether the result is specified.
    pub src: Vec<u8>,
    /// The key the command writes (ZREMRANGEBYLEX: the source; ZRANGESTORE: the destination).
    pub written: Option<Vec<u8>>,
}

/// The random-pick commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RandKind {
    /// RANDOMKEY
    RandomKey,
    /// SRANDMEMBER key [count]
    SRandMember,
    /// SPOP key [count] (changes the key: the harness deletes it on both sides afterwards)
    SPop,
    /// HRANDFIELD key [count [WITHVALUES]]
    HRandField,
    /// ZRANDMEMBER key [count [WITHSCORES]]
    ZRandMember,
}

/// A full scan the harness runs itself: `cmd [key] cursor opts...`.
#[derive(Clone, Debug)]
pub struct ScanSpec {
    /// SCAN, SSCAN, HSCAN or ZSCAN.
    pub cmd: &'static str,
    /// The key, except for SCAN.
    pub key: Option<Vec<u8>>,
    /// Options after the cursor (MATCH, COUNT, TYPE ...).
    pub opts: Vec<Vec<u8>>,
    /// Whether elements come in pairs (HSCAN, ZSCAN).
    pub pairs: bool,
}

/// What the harness does with a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send the command and read its reply.
    Call,
    /// Send the command; its reply is read by a later `Recv` on the same connection.
    Send,
    /// Read the reply of the oldest `Send` on this connection.
    Recv,
}

/// One step of a scenario.
#[derive(Clone, Debug)]
pub struct Step {
    /// Connection index: 0 = main RESP2, 1 = helper RESP2, 2 = RESP3.
    pub conn: usize,
    /// What to do.
    pub action: Action,
    /// The command (empty for `Recv`).
    pub args: Vec<Vec<u8>>,
    /// How to compare its reply.
    pub norm: Norm,
    /// Milliseconds to wait after the reply (after a short expiry).
    pub sleep_after_ms: u64,
}

/// Every key the generator uses, in every database.
pub const ALL_KEYS: &[&str] = &[
    "s0", "s1", "s2", "k", "h0", "h1", "h2", "l0", "l1", "l2", "set0", "set1", "set2", "z0", "z1",
    "z2", "x:y", "{t}a", "",
];
const STR_KEYS: &[&str] = &["s0", "s1", "s2", "k"];
const HASH_KEYS: &[&str] = &["h0", "h1", "h2"];
const LIST_KEYS: &[&str] = &["l0", "l1", "l2"];
const SET_KEYS: &[&str] = &["set0", "set1", "set2"];
const ZSET_KEYS: &[&str] = &["z0", "z1", "z2"];

/// Databases the generator selects (the final dump covers exactly these).
pub const DBS: usize = 3;

const VALUES: &[&str] = &[
    "",
    "a",
    "b",
    "hello",
    "0",
    "1",
    "-1",
    "42",
    "10000",
    "3.5",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "1e3",
    " 1",
    "01",
    "-0",
    "\u{fc}n\u{ef}",
    // 44 and 45 bytes: the embstr/raw boundary.
    "abcdefghijabcdefghijabcdefghijabcdefghijabcd",
    "abcdefghijabcdefghijabcdefghijabcdefghijabcde",
    // 65 bytes: over the listpack value limit of hashes and sorted sets.
    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",
];
const MEMBERS: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "e",
    "1",
    "2",
    "3",
    "-7",
    "10000",
    "9223372036854775807",
    "1.5",
    "",
];
const FIELDS: &[&str] = &["f0", "f1", "f2", "f3", "n", "x", ""];
const ZMEMBERS: &[&str] = &["a", "b", "c", "d", "e", "f", "m0", "m1", ""];
const SCORES: &[&str] = &[
    "0",
    "1",
    "2",
    "2.5",
    "-1",
    "-3.5",
    "10",
    "1e3",
    "0.1",
    "inf",
    "-inf",
    "+inf",
    "1e20",
    "3.0000000000000001",
    "-0",
];
const BAD_FLOATS: &[&str] = &["nan", "abc", "", "1,5", "1e", "0x"];
const SCORE_RANGES: &[&str] = &[
    "-inf", "+inf", "0", "1", "(1", "2.5", "(2.5", "10", "(10", "-1", "inf", "(-inf",
];
const BAD_RANGES: &[&str] = &["abc", "(", "[1", "nan", ""];
const LEX: &[&str] = &[
    "-", "+", "[a", "(a", "[c", "(d", "[f", "[m0", "(m1", "[", "(",
];
const BAD_LEX: &[&str] = &["a", "", "{a"];
const EDGE_INTS: &[&str] = &[
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "abc",
    "1.5",
    "",
    " 1",
    "1e3",
    "0x10",
];
const PATTERNS: &[&str] = &[
    "*", "s*", "?0", "[sh]*", "*0", "\\*", "h[0-1]", "nomatch", "[^s]*", "set?", "*:*", "",
];
const JUNK: &[&str] = &[
    "",
    "junk",
    "-1",
    "0",
    "NX",
    "XX",
    "WITHSCORES",
    "LIMIT",
    "COUNT",
    "1.5",
    "-inf",
    "9223372036854775808",
    "\u{0}",
];

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The generator functions, keyed by the command they are named after.
type GenFn = fn(&mut Gen) -> Vec<Step>;

struct Entry {
    name: &'static str,
    weight: u32,
    f: GenFn,
    /// A single plain command: may be queued in MULTI or sent by the helper connection.
    single: bool,
}

/// The command generator.
pub struct Gen {
    rng: Rng,
    main: usize,
    in_multi: bool,
    forced_key: Option<Vec<u8>>,
    pending_sleep: u64,
    /// The database each connection has selected.
    db: [usize; 3],
    entries: Vec<Entry>,
    total_weight: u32,
    /// Whether the RESP3 connection may be used.
    resp3: bool,
    /// The clock absolute expiry times are drawn around; `None` reads the real one. Fixed by the
    /// determinism test, whose two runs would otherwise draw from ranges a tick apart.
    pub fixed_now_ms: Option<i64>,
}

impl Gen {
    /// A generator for `seed`; `only` restricts it to the named entries (lower case).
    pub fn new(seed: u64, only: Option<&[String]>) -> Gen {
        let mut entries = table();
        if let Some(only) = only {
            entries.retain(|e| only.iter().any(|o| o == e.name));
        }
        let total_weight = entries.iter().map(|e| e.weight).sum();
        let resp3 = only.is_none_or(|o| o.iter().any(|n| n == "hello"));
        Gen {
            rng: Rng::new(seed),
            main: 0,
            in_multi: false,
            forced_key: None,
            pending_sleep: 0,
            db: [0; 3],
            entries,
            total_weight,
            resp3,
            fixed_now_ms: None,
        }
    }

    fn now_ms(&self) -> i64 {
        self.fixed_now_ms.unwrap_or_else(now_ms)
    }

    /// Whether the RESP3 connection is in use (it is set up with `HELLO 3` first).
    pub fn uses_resp3(&self) -> bool {
        self.resp3
    }

    /// Forgets connection state after the harness reconnected everything.
    pub fn reset_connections(&mut self) {
        self.db = [0; 3];
        self.in_multi = false;
        self.forced_key = None;
        self.pending_sleep = 0;
    }

    /// The next scenario, with `main` as the main connection.
    pub fn next_scenario(&mut self, main: usize) -> Vec<Step> {
        self.main = if main == 2 && !self.resp3 { 0 } else { main };
        if self.total_weight == 0 {
            return Vec::new();
        }
        let mut pick = self.rng.below(self.total_weight as usize) as u32;
        let mut f: GenFn = g_ping;
        for e in &self.entries {
            if pick < e.weight {
                f = e.f;
                break;
            }
            pick -= e.weight;
        }
        f(self)
    }

    /// A single plain command on connection `conn`, with `key` preferred for its keys.
    fn single_on(&mut self, conn: usize, key: Option<Vec<u8>>) -> Vec<Step> {
        let saved_main = self.main;
        self.main = conn;
        self.forced_key = key;
        let singles: Vec<GenFn> = self
            .entries
            .iter()
            .filter(|e| e.single)
            .flat_map(|e| std::iter::repeat_n(e.f, e.weight as usize))
            .collect();
        let steps = if singles.is_empty() {
            g_ping(self)
        } else {
            let f = self.rng.pick(&singles);
            f(self)
        };
        self.forced_key = None;
        self.main = saved_main;
        steps
    }

    // ----- argument helpers -------------------------------------------------------------

    fn key(&mut self, home: &[&str]) -> Vec<u8> {
        if let Some(k) = &self.forced_key {
            if self.rng.chance(40) {
                return k.clone();
            }
        }
        // Mostly keys of the command's own type; sometimes any key, for WRONGTYPE paths.
        if self.rng.chance(92) {
            b(self.rng.pick(home))
        } else {
            b(self.rng.pick(ALL_KEYS))
        }
    }

    fn keys(&mut self, home: &[&str], min: usize, max: usize) -> Vec<Vec<u8>> {
        let n = self.rng.range(min as i64, max as i64) as usize;
        (0..n).map(|_| self.key(home)).collect()
    }

    fn value(&mut self) -> Vec<u8> {
        match self.rng.below(20) {
            0 => vec![0, 0xff, b'\r', b'\n', 0x80],
            1 => vec![b'x'; 100],
            _ => b(self.rng.pick(VALUES)),
        }
    }

    fn member(&mut self) -> Vec<u8> {
        if self.rng.chance(2) {
            vec![b'w'; 70]
        } else {
            b(self.rng.pick(MEMBERS))
        }
    }

    fn field(&mut self) -> Vec<u8> {
        b(self.rng.pick(FIELDS))
    }

    fn zmember(&mut self) -> Vec<u8> {
        if self.rng.chance(2) {
            vec![b'q'; 70]
        } else {
            b(self.rng.pick(ZMEMBERS))
        }
    }

    fn score(&mut self) -> Vec<u8> {
        if self.rng.chance(4) {
            b(self.rng.pick(BAD_FLOATS))
        } else {
            b(self.rng.pick(SCORES))
        }
    }

    /// A small integer, sometimes an edge value.
    fn int(&mut self, lo: i64, hi: i64) -> Vec<u8> {
        if self.rng.chance(6) {
            b(self.rng.pick(EDGE_INTS))
        } else {
            self.rng.range(lo, hi).to_string().into_bytes()
        }
    }

    fn float_incr(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 => b(self.rng.pick(BAD_FLOATS)),
            1 => b(self
                .rng
                .pick(&["inf", "-inf", "1e308", "-1e308", "5.0e3", "0x10", " 1"])),
            2 => b(self.rng.pick(EDGE_INTS)),
            _ => b(self
                .rng
                .pick(&["1", "-1", "0.1", "1.5", "-2.25", "10", "3.0", "1e2"])),
        }
    }

    fn score_range(&mut self) -> Vec<u8> {
        if self.rng.chance(5) {
            b(self.rng.pick(BAD_RANGES))
        } else {
            b(self.rng.pick(SCORE_RANGES))
        }
    }

    fn lex(&mut self) -> Vec<u8> {
        if self.rng.chance(5) {
            b(self.rng.pick(BAD_LEX))
        } else {
            b(self.rng.pick(LEX))
        }
    }

    /// Seconds for EX/SETEX/EXPIRE: far in the future, or an invalid value.
    fn secs(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => b(self
                .rng
                .pick(&["0", "-1", "abc", "9223372036854775807", "1.5", ""])),
            _ => self.rng.range(1000, 10_000_000).to_string().into_bytes(),
        }
    }

    /// Milliseconds for PX/PSETEX/PEXPIRE: short (then the harness waits), far, or invalid.
    fn millis(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => b(self
                .rng
                .pick(&["0", "-1", "abc", "9223372036854775807", "1.5"])),
            1..=3 if !self.in_multi => {
                self.pending_sleep = 15;
                self.rng.range(1, 5).to_string().into_bytes()
            }
            _ => self
                .rng
                .range(1_000_000, 10_000_000_000)
                .to_string()
                .into_bytes(),
        }
    }

    /// An absolute Unix time in seconds: far future, past, or invalid.
    fn unix_secs(&mut self) -> Vec<u8> {
        let now = self.now_ms() / 1000;
        match self.rng.below(10) {
            0 => b(self.rng.pick(&["abc", "-1", "9223372036854775807", "0"])),
            1 | 2 => self.rng.range(1, now - 10).to_string().into_bytes(),
            _ => (now + self.rng.range(10_000, 10_000_000))
                .to_string()
                .into_bytes(),
        }
    }

    /// An absolute Unix time in milliseconds: soon (then the harness waits), far, past, invalid.
    fn unix_millis(&mut self) -> Vec<u8> {
        let now = self.now_ms();
        match self.rng.below(10) {
            0 => b(self.rng.pick(&["abc", "-1", "9223372036854775807", "0"])),
            1 | 2 => self.rng.range(1, now - 10_000).to_string().into_bytes(),
            3 if !self.in_multi => {
                self.pending_sleep = 15;
                (now + self.rng.range(1, 3)).to_string().into_bytes()
            }
            _ => (now + self.rng.range(10_000_000, 10_000_000_000))
                .to_string()
                .into_bytes(),
        }
    }

    /// A blocking timeout: tiny outside MULTI, sometimes zero inside (EXEC never blocks).
    fn timeout(&mut self) -> Vec<u8> {
        match self.rng.below(20) {
            0 => b(self.rng.pick(&["-1", "abc", "inf", "nan", "-0.5", ""])),
            1..=6 if self.in_multi => b("0"),
            _ => b(self.rng.pick(&["0.01", "0.02", "0.001", "0.015"])),
        }
    }

    // ----- step builders ----------------------------------------------------------------

    fn step(&mut self, args: Vec<Vec<u8>>, norm: Norm) -> Step {
        let sleep_after_ms = std::mem::take(&mut self.pending_sleep);
        Step {
            conn: self.main,
            action: Action::Call,
            args,
            norm,
            sleep_after_ms,
        }
    }

    /// One command on the main connection, sometimes mutated into a malformed one.
    fn cmd(&mut self, mut args: Vec<Vec<u8>>, norm: Norm) -> Vec<Step> {
        if self.rng.chance(3) {
            self.mutate(&mut args);
        }
        vec![self.step(args, norm)]
    }

    /// One command that is never mutated (blocking, random, scans, SELECT).
    fn exact(&mut self, args: Vec<Vec<u8>>, norm: Norm) -> Vec<Step> {
        vec![self.step(args, norm)]
    }

    /// Arity errors, unknown options, junk in the middle: the reply must still match.
    fn mutate(&mut self, args: &mut Vec<Vec<u8>>) {
        match self.rng.below(3) {
            0 if args.len() > 1 => {
                let keep = self.rng.range(1, args.len() as i64 - 1) as usize;
                args.truncate(keep);
            }
            1 if args.len() > 1 => {
                let at = self.rng.range(1, args.len() as i64 - 1) as usize;
                args[at] = b(self.rng.pick(JUNK));
            }
            _ => args.push(b(self.rng.pick(JUNK))),
        }
    }
}

fn with(name: &str, rest: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v = vec![b(name)];
    v.extend(rest);
    v
}

// ----- strings ------------------------------------------------------------------------------

fn g_get(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    g.cmd(with("GET", vec![k]), Norm::Exact)
}

fn g_set(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let v = g.value();
    let mut args = with("SET", vec![k, v]);
    let mut opts: Vec<Vec<Vec<u8>>> = Vec::new();
    if g.rng.chance(20) {
        opts.push(vec![b(g.rng.pick(&["NX", "XX", "nx"]))]);
    }
    if g.rng.chance(20) {
        opts.push(vec![b("GET")]);
    }
    if g.rng.chance(40) {
        let o = match g.rng.below(6) {
            0 => vec![b("EX"), g.secs()],
            1 | 2 => vec![b("PX"), g.millis()],
            3 => vec![b("EXAT"), g.unix_secs()],
            4 => vec![b("PXAT"), g.unix_millis()],
            _ => vec![b("KEEPTTL")],
        };
        opts.push(o);
    }
    if g.rng.chance(4) {
        // Conflicting or repeated options.
        opts.push(vec![b(g.rng.pick(&["NX", "XX", "KEEPTTL", "GET"]))]);
    }
    // Options may come in any order.
    while !opts.is_empty() {
        let i = g.rng.below(opts.len());
        args.extend(opts.remove(i));
    }
    g.cmd(args, Norm::Exact)
}

fn g_setnx(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let v = g.value();
    g.cmd(with("SETNX", vec![k, v]), Norm::Exact)
}

fn g_setex(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let s = g.secs();
    let v = g.value();
    g.cmd(with("SETEX", vec![k, s, v]), Norm::Exact)
}

fn g_psetex(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let s = g.millis();
    let v = g.value();
    g.cmd(with("PSETEX", vec![k, s, v]), Norm::Exact)
}

fn g_mget(g: &mut Gen) -> Vec<Step> {
    let ks = g.keys(STR_KEYS, 1, 4);
    g.cmd(with("MGET", ks), Norm::Exact)
}

fn kv_pairs(g: &mut Gen) -> Vec<Vec<u8>> {
    let n = g.rng.range(1, 3);
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(g.key(STR_KEYS));
        v.push(g.value());
    }
    if g.rng.chance(5) {
        v.pop();
    }
    v
}

fn g_mset(g: &mut Gen) -> Vec<Step> {
    let kv = kv_pairs(g);
    g.cmd(with("MSET", kv), Norm::Exact)
}

fn g_msetnx(g: &mut Gen) -> Vec<Step> {
    let kv = kv_pairs(g);
    g.cmd(with("MSETNX", kv), Norm::Exact)
}

fn g_getset(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let v = g.value();
    g.cmd(with("GETSET", vec![k, v]), Norm::Exact)
}

fn g_getdel(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    g.cmd(with("GETDEL", vec![k]), Norm::Exact)
}

fn g_getex(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let mut args = with("GETEX", vec![k]);
    match g.rng.below(7) {
        0 => args.extend([b("EX"), g.secs()]),
        1 => args.extend([b("PX"), g.millis()]),
        2 => args.extend([b("EXAT"), g.unix_secs()]),
        3 => args.extend([b("PXAT"), g.unix_millis()]),
        4 => args.push(b("PERSIST")),
        5 => args.extend([b("EX"), g.secs(), b("PERSIST")]),
        _ => {}
    }
    g.cmd(args, Norm::Exact)
}

fn g_append(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let v = g.value();
    g.cmd(with("APPEND", vec![k, v]), Norm::Exact)
}

fn g_strlen(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    g.cmd(with("STRLEN", vec![k]), Norm::Exact)
}

fn g_incr(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let name = g.rng.pick(&["INCR", "DECR"]);
    g.cmd(with(name, vec![k]), Norm::Exact)
}

fn g_incrby(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let name = g.rng.pick(&["INCRBY", "DECRBY"]);
    let n = g.int(-100, 100);
    g.cmd(with(name, vec![k, n]), Norm::Exact)
}

fn g_incrbyfloat(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let n = g.float_incr();
    g.cmd(with("INCRBYFLOAT", vec![k, n]), Norm::Exact)
}

fn g_getrange(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let s = g.int(-10, 10);
    let e = g.int(-10, 50);
    g.cmd(with("GETRANGE", vec![k, s, e]), Norm::Exact)
}

fn g_setrange(g: &mut Gen) -> Vec<Step> {
    let k = g.key(STR_KEYS);
    let off = if g.rng.chance(8) {
        b(g.rng
            .pick(&["-1", "536870912", "abc", "9223372036854775807"]))
    } else {
        g.rng.range(0, 60).to_string().into_bytes()
    };
    let v = g.value();
    g.cmd(with("SETRANGE", vec![k, off, v]), Norm::Exact)
}

// ----- keys ---------------------------------------------------------------------------------

fn any_keys(g: &mut Gen, min: usize, max: usize) -> Vec<Vec<u8>> {
    g.keys(ALL_KEYS, min, max)
}

fn g_del(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["DEL", "UNLINK"]);
    let ks = any_keys(g, 1, 3);
    g.cmd(with(name, ks), Norm::Exact)
}

fn g_exists(g: &mut Gen) -> Vec<Step> {
    let ks = any_keys(g, 1, 4);
    g.cmd(with("EXISTS", ks), Norm::Exact)
}

fn g_type(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ALL_KEYS);
    g.cmd(with("TYPE", vec![k]), Norm::Exact)
}

/// The keys of the same type family as `key` (so that renames and copies keep types apart).
fn family(key: &[u8]) -> &'static [&'static str] {
    [STR_KEYS, HASH_KEYS, LIST_KEYS, SET_KEYS, ZSET_KEYS]
        .into_iter()
        .find(|f| f.iter().any(|k| k.as_bytes() == key))
        .unwrap_or(ALL_KEYS)
}

fn g_rename(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["RENAME", "RENAMENX"]);
    let a = g.key(ALL_KEYS);
    let c = g.key(family(&a));
    g.cmd(with(name, vec![a, c]), Norm::Exact)
}

fn g_keys(g: &mut Gen) -> Vec<Step> {
    let p = b(g.rng.pick(PATTERNS));
    g.cmd(with("KEYS", vec![p]), Norm::Sorted)
}

fn expire_opts(g: &mut Gen, args: &mut Vec<Vec<u8>>) {
    if g.rng.chance(35) {
        args.push(b(g.rng.pick(&["NX", "XX", "GT", "LT", "gt", "FOO"])));
        if g.rng.chance(15) {
            args.push(b(g.rng.pick(&["NX", "XX", "GT", "LT"])));
        }
    }
}

fn g_expire(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ALL_KEYS);
    let (name, t) = match g.rng.below(4) {
        0 => {
            // Far, or in the past (negative: the key goes at once).
            let t = if g.rng.chance(25) {
                g.int(-100, -1)
            } else {
                g.secs()
            };
            ("EXPIRE", t)
        }
        1 => ("PEXPIRE", g.millis()),
        2 => ("EXPIREAT", g.unix_secs()),
        _ => ("PEXPIREAT", g.unix_millis()),
    };
    let mut args = with(name, vec![k, t]);
    expire_opts(g, &mut args);
    g.cmd(args, Norm::Exact)
}

fn g_ttl(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ALL_KEYS);
    let (name, tol) = g.rng.pick(&[
        ("TTL", 2),
        ("PTTL", 2000),
        ("EXPIRETIME", 2),
        ("PEXPIRETIME", 2000),
    ]);
    g.cmd(with(name, vec![k]), Norm::Ttl(tol))
}

fn g_persist(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ALL_KEYS);
    g.cmd(with("PERSIST", vec![k]), Norm::Exact)
}

fn g_touch(g: &mut Gen) -> Vec<Step> {
    let ks = any_keys(g, 1, 3);
    g.cmd(with("TOUCH", ks), Norm::Exact)
}

fn db_arg(g: &mut Gen) -> Vec<u8> {
    if g.rng.chance(15) {
        b(g.rng.pick(&["16", "-1", "abc", "9223372036854775808"]))
    } else {
        g.rng.below(DBS).to_string().into_bytes()
    }
}

fn g_copy(g: &mut Gen) -> Vec<Step> {
    let a = g.key(ALL_KEYS);
    let c = g.key(family(&a));
    let mut args = with("COPY", vec![a, c]);
    if g.rng.chance(40) {
        args.push(b("DB"));
        args.push(db_arg(g));
    }
    if g.rng.chance(40) {
        args.push(b("REPLACE"));
    }
    g.cmd(args, Norm::Exact)
}

fn g_move(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ALL_KEYS);
    let d = db_arg(g);
    g.cmd(with("MOVE", vec![k, d]), Norm::Exact)
}

fn g_object(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ALL_KEYS);
    let sub = if g.rng.chance(95) {
        "ENCODING"
    } else {
        "NOSUCH"
    };
    g.cmd(with("OBJECT", vec![b(sub), k]), Norm::Exact)
}

fn g_randomkey(g: &mut Gen) -> Vec<Step> {
    g.exact(vec![b("RANDOMKEY")], Norm::Random(RandKind::RandomKey))
}

fn scan_opts(g: &mut Gen, with_type: bool) -> Vec<Vec<u8>> {
    let mut o = Vec::new();
    if g.rng.chance(40) {
        o.push(b("MATCH"));
        o.push(b(g.rng.pick(PATTERNS)));
    }
    if g.rng.chance(40) {
        o.push(b("COUNT"));
        o.push(if g.rng.chance(10) {
            b(g.rng.pick(&["0", "-1", "abc"]))
        } else {
            g.rng.range(1, 20).to_string().into_bytes()
        });
    }
    if with_type && g.rng.chance(30) {
        o.push(b("TYPE"));
        o.push(b(g.rng.pick(&[
            "string", "list", "set", "zset", "hash", "none", "foo",
        ])));
    }
    if g.rng.chance(3) {
        o.push(b(g.rng.pick(&["MATCH", "BOGUS"])));
    }
    o
}

fn scan_step(g: &mut Gen, cmd: &'static str, key: Option<Vec<u8>>, pairs: bool) -> Vec<Step> {
    if g.rng.chance(5) {
        // An invalid cursor is an ordinary, deterministic error.
        let mut args = vec![b(cmd)];
        args.extend(key);
        args.push(b(g.rng.pick(&["abc", "1.5", "18446744073709551616"])));
        return g.exact(args, Norm::Exact);
    }
    let opts = scan_opts(g, key.is_none());
    let mut args = vec![b(cmd)];
    args.extend(key.clone());
    args.push(b("0"));
    args.extend(opts.clone());
    let spec = ScanSpec {
        cmd,
        key,
        opts,
        pairs,
    };
    g.exact(args, Norm::Scan(spec))
}

/// SCAN after touching every key name: Redis 7.0's `SCAN ... TYPE none` returns keys that
/// expired but were not reclaimed yet, which depends on active-expiry timing.
fn g_scan(g: &mut Gen) -> Vec<Step> {
    let mut touch = vec![b("EXISTS")];
    touch.extend(touchable_keys());
    let mut steps = vec![g.step(touch, Norm::Exact)];
    steps.extend(scan_step(g, "SCAN", None, false));
    steps
}

// ----- hashes -------------------------------------------------------------------------------

fn fv_pairs(g: &mut Gen) -> Vec<Vec<u8>> {
    let n = g.rng.range(1, 3);
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(g.field());
        v.push(if g.rng.chance(30) {
            g.int(-5, 5)
        } else {
            g.value()
        });
    }
    if g.rng.chance(4) {
        v.pop();
    }
    v
}

fn g_hset(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["HSET", "HSET", "HMSET"]);
    let k = g.key(HASH_KEYS);
    let mut args = with(name, vec![k]);
    args.extend(fv_pairs(g));
    g.cmd(args, Norm::Exact)
}

fn g_hsetnx(g: &mut Gen) -> Vec<Step> {
    let k = g.key(HASH_KEYS);
    let f = g.field();
    let v = g.value();
    g.cmd(with("HSETNX", vec![k, f, v]), Norm::Exact)
}

fn g_hget(g: &mut Gen) -> Vec<Step> {
    let k = g.key(HASH_KEYS);
    let f = g.field();
    g.cmd(with("HGET", vec![k, f]), Norm::Exact)
}

fn g_hmget(g: &mut Gen) -> Vec<Step> {
    let k = g.key(HASH_KEYS);
    let mut args = with("HMGET", vec![k]);
    for _ in 0..g.rng.range(1, 4) {
        args.push(g.field());
    }
    g.cmd(args, Norm::Exact)
}

fn g_hgetall(g: &mut Gen) -> Vec<Step> {
    let k = g.key(HASH_KEYS);
    match g.rng.below(3) {
        0 => g.cmd(with("HGETALL", vec![k]), Norm::SortedPairs),
        1 => g.cmd(with("HKEYS", vec![k]), Norm::Sorted),
        _ => g.cmd(with("HVALS", vec![k]), Norm::Sorted),
    }
}

fn g_hdel(g: &mut Gen) -> Vec<Step> {
    let k = g.key(HASH_KEYS);
    let mut args = with("HDEL", vec![k]);
    for _ in 0..g.rng.range(1, 3) {
        args.push(g.field());
    }
    g.cmd(args, Norm::Exact)
}

fn g_hlen(g: &mut Gen) -> Vec<Step> {
    let k = g.key(HASH_KEYS);
    let name = g.rng.pick(&["HLEN", "HEXISTS", "HSTRLEN"]);
    let mut args = with(name, vec![k]);
    if name != "HLEN" {
        args.push(g.field());
    }
    g.cmd(args, Norm::Exact)
}

fn g_hincrby(g: &mut Gen) -> Vec<Step> {
    let k = g.key(HASH_KEYS);
    let f = g.field();
    if g.rng.chance(50) {
        let n = g.int(-50, 50);
        g.cmd(with("HINCRBY", vec![k, f, n]), Norm::Exact)
    } else {
        let n = g.float_incr();
        g.cmd(with("HINCRBYFLOAT", vec![k, f, n]), Norm::Exact)
    }
}

fn rand_count(g: &mut Gen) -> Vec<u8> {
    match g.rng.below(12) {
        0 => b(g
            .rng
            .pick(&["abc", "-9223372036854775808", "9223372036854775807", "1.5"])),
        1 => b("0"),
        2..=4 => g.rng.range(-8, -1).to_string().into_bytes(),
        _ => g.rng.range(1, 8).to_string().into_bytes(),
    }
}

fn g_hrandfield(g: &mut Gen) -> Vec<Step> {
    let k = g.key(HASH_KEYS);
    let mut args = with("HRANDFIELD", vec![k]);
    if g.rng.chance(70) {
        args.push(rand_count(g));
        if g.rng.chance(50) {
            args.push(b(g.rng.pick(&["WITHVALUES", "WITHVALUES", "BOGUS"])));
        }
    }
    g.exact(args, Norm::Random(RandKind::HRandField))
}

fn g_hscan(g: &mut Gen) -> Vec<Step> {
    let k = g.key(HASH_KEYS);
    scan_step(g, "HSCAN", Some(k), true)
}

// ----- lists --------------------------------------------------------------------------------

fn list_values(g: &mut Gen, min: i64, max: i64) -> Vec<Vec<u8>> {
    (0..g.rng.range(min, max)).map(|_| g.member()).collect()
}

fn g_push(g: &mut Gen) -> Vec<Step> {
    let name = g
        .rng
        .pick(&["LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]);
    let k = g.key(LIST_KEYS);
    let mut args = with(name, vec![k]);
    args.extend(list_values(g, 1, 4));
    g.cmd(args, Norm::Exact)
}

fn pop_count(g: &mut Gen) -> Vec<u8> {
    if g.rng.chance(10) {
        b(g.rng.pick(&["-1", "abc", "9223372036854775807", "0"]))
    } else {
        g.rng.range(0, 5).to_string().into_bytes()
    }
}

fn g_pop(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["LPOP", "RPOP"]);
    let k = g.key(LIST_KEYS);
    let mut args = with(name, vec![k]);
    if g.rng.chance(40) {
        args.push(pop_count(g));
    }
    g.cmd(args, Norm::Exact)
}

fn g_llen(g: &mut Gen) -> Vec<Step> {
    let k = g.key(LIST_KEYS);
    g.cmd(with("LLEN", vec![k]), Norm::Exact)
}

fn g_lrange(g: &mut Gen) -> Vec<Step> {
    let k = g.key(LIST_KEYS);
    let s = g.int(-6, 6);
    let e = g.int(-6, 10);
    g.cmd(with("LRANGE", vec![k, s, e]), Norm::Exact)
}

fn g_lindex(g: &mut Gen) -> Vec<Step> {
    let k = g.key(LIST_KEYS);
    let i = g.int(-6, 6);
    g.cmd(with("LINDEX", vec![k, i]), Norm::Exact)
}

fn g_lset(g: &mut Gen) -> Vec<Step> {
    let k = g.key(LIST_KEYS);
    let i = g.int(-5, 5);
    let v = g.member();
    g.cmd(with("LSET", vec![k, i, v]), Norm::Exact)
}

fn g_linsert(g: &mut Gen) -> Vec<Step> {
    let k = g.key(LIST_KEYS);
    let wh = b(g.rng.pick(&["BEFORE", "AFTER", "after", "MIDDLE"]));
    let p = g.member();
    let v = g.member();
    g.cmd(with("LINSERT", vec![k, wh, p, v]), Norm::Exact)
}

fn g_lrem(g: &mut Gen) -> Vec<Step> {
    let k = g.key(LIST_KEYS);
    let c = g.int(-3, 3);
    let v = g.member();
    g.cmd(with("LREM", vec![k, c, v]), Norm::Exact)
}

fn g_ltrim(g: &mut Gen) -> Vec<Step> {
    let k = g.key(LIST_KEYS);
    let s = g.int(-3, 3);
    let e = g.int(-3, 12);
    g.cmd(with("LTRIM", vec![k, s, e]), Norm::Exact)
}

fn g_lpos(g: &mut Gen) -> Vec<Step> {
    let k = g.key(LIST_KEYS);
    let v = g.member();
    let mut args = with("LPOS", vec![k, v]);
    if g.rng.chance(30) {
        args.push(b("RANK"));
        args.push(if g.rng.chance(15) {
            b(g.rng.pick(&["0", "-9223372036854775808", "abc"]))
        } else {
            g.rng.range(-3, 3).max(1).to_string().into_bytes()
        });
    }
    if g.rng.chance(40) {
        args.push(b("COUNT"));
        args.push(g.int(0, 4));
    }
    if g.rng.chance(25) {
        args.push(b("MAXLEN"));
        args.push(g.int(0, 5));
    }
    g.cmd(args, Norm::Exact)
}

fn side(g: &mut Gen) -> Vec<u8> {
    if g.rng.chance(4) {
        b("MIDDLE")
    } else {
        b(g.rng.pick(&["LEFT", "RIGHT", "left"]))
    }
}

fn g_lmove(g: &mut Gen) -> Vec<Step> {
    let s = g.key(LIST_KEYS);
    let d = g.key(LIST_KEYS);
    if g.rng.chance(30) {
        return g.cmd(with("RPOPLPUSH", vec![s, d]), Norm::Exact);
    }
    let a = side(g);
    let c = side(g);
    g.cmd(with("LMOVE", vec![s, d, a, c]), Norm::Exact)
}

/// `numkeys key... LEFT|RIGHT [COUNT n]` for LMPOP/BLMPOP (`MIN|MAX` for the zset forms).
fn mpop_tail(g: &mut Gen, home: &[&str], ends: &[&str]) -> Vec<Vec<u8>> {
    let ks = g.keys(home, 1, 3);
    let mut v = Vec::new();
    if g.rng.chance(8) {
        v.push(b(g.rng.pick(&["0", "-1", "abc", "5"])));
    } else {
        v.push(ks.len().to_string().into_bytes());
    }
    v.extend(ks);
    v.push(b(g.rng.pick(ends)));
    if g.rng.chance(40) {
        v.push(b("COUNT"));
        v.push(if g.rng.chance(15) {
            b(g.rng.pick(&["0", "-1", "abc"]))
        } else {
            g.rng.range(1, 4).to_string().into_bytes()
        });
    }
    v
}

fn g_lmpop(g: &mut Gen) -> Vec<Step> {
    let tail = mpop_tail(g, LIST_KEYS, &["LEFT", "RIGHT", "UP"]);
    g.cmd(with("LMPOP", tail), Norm::Exact)
}

/// A blocking list command with a tiny timeout (or zero inside MULTI).
fn g_blist(g: &mut Gen) -> Vec<Step> {
    let t = g.timeout();
    let args = match g.rng.below(4) {
        0 | 1 => {
            let name = g.rng.pick(&["BLPOP", "BRPOP"]);
            let mut a = with(name, g.keys(LIST_KEYS, 1, 2));
            a.push(t);
            a
        }
        2 => {
            let s = g.key(LIST_KEYS);
            let d = g.key(LIST_KEYS);
            let w1 = b(g.rng.pick(&["LEFT", "RIGHT"]));
            let w2 = b(g.rng.pick(&["LEFT", "RIGHT"]));
            with("BLMOVE", vec![s, d, w1, w2, t])
        }
        _ => {
            let mut a = with("BLMPOP", vec![t]);
            a.extend(mpop_tail(g, LIST_KEYS, &["LEFT", "RIGHT"]));
            a
        }
    };
    g.exact(args, Norm::Exact)
}

/// A blocking command on the helper connection, woken by a push from the main connection.
fn g_block_push(g: &mut Gen) -> Vec<Step> {
    let m = g.main;
    let mut steps = Vec::new();
    if g.db[1] != g.db[m] {
        let d = g.db[m];
        g.db[1] = d;
        steps.push(Step {
            conn: 1,
            action: Action::Call,
            args: vec![b("SELECT"), d.to_string().into_bytes()],
            norm: Norm::Exact,
            sleep_after_ms: 0,
        });
    }
    let zset = g.rng.chance(40);
    let k = if zset {
        g.key(ZSET_KEYS)
    } else {
        g.key(LIST_KEYS)
    };
    steps.push(g.step(vec![b("DEL"), k.clone()], Norm::Exact));
    let long = b("5");
    let blocking = if zset {
        match g.rng.below(3) {
            0 => vec![b("BZPOPMIN"), k.clone(), long],
            1 => vec![b("BZPOPMAX"), k.clone(), long],
            _ => {
                let mut a = vec![b("BZMPOP"), long, b("1"), k.clone()];
                a.push(b(g.rng.pick(&["MIN", "MAX"])));
                a
            }
        }
    } else {
        match g.rng.below(4) {
            0 => vec![b("BLPOP"), k.clone(), long],
            1 => vec![b("BRPOP"), k.clone(), long],
            2 => {
                let d = g.key(LIST_KEYS);
                vec![b("BLMOVE"), k.clone(), d, b("RIGHT"), b("LEFT"), long]
            }
            _ => vec![b("BLMPOP"), long, b("1"), k.clone(), b("LEFT")],
        }
    };
    steps.push(Step {
        conn: 1,
        action: Action::Send,
        args: blocking,
        norm: Norm::Exact,
        sleep_after_ms: 0,
    });
    let push = if zset {
        vec![b("ZADD"), k, b("1"), b("a"), b("2"), b("b")]
    } else {
        let name = g.rng.pick(&["LPUSH", "RPUSH"]);
        vec![b(name), k, b("a"), b("b")]
    };
    steps.push(g.step(push, Norm::Exact));
    steps.push(Step {
        conn: 1,
        action: Action::Recv,
        args: Vec::new(),
        norm: Norm::Exact,
        sleep_after_ms: 0,
    });
    steps
}

// ----- sets ---------------------------------------------------------------------------------

fn g_sadd(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["SADD", "SADD", "SREM"]);
    let k = g.key(SET_KEYS);
    let mut args = with(name, vec![k]);
    args.extend(list_values(g, 1, 4));
    g.cmd(args, Norm::Exact)
}

fn g_smembers(g: &mut Gen) -> Vec<Step> {
    let k = g.key(SET_KEYS);
    g.cmd(with("SMEMBERS", vec![k]), Norm::Sorted)
}

fn g_sismember(g: &mut Gen) -> Vec<Step> {
    let k = g.key(SET_KEYS);
    if g.rng.chance(50) {
        let m = g.member();
        g.cmd(with("SISMEMBER", vec![k, m]), Norm::Exact)
    } else {
        let mut args = with("SMISMEMBER", vec![k]);
        args.extend(list_values(g, 1, 4));
        g.cmd(args, Norm::Exact)
    }
}

fn g_scard(g: &mut Gen) -> Vec<Step> {
    let k = g.key(SET_KEYS);
    g.cmd(with("SCARD", vec![k]), Norm::Exact)
}

fn g_spop(g: &mut Gen) -> Vec<Step> {
    let k = g.key(SET_KEYS);
    let mut args = with("SPOP", vec![k]);
    if g.rng.chance(60) {
        args.push(if g.rng.chance(10) {
            b(g.rng.pick(&["-1", "abc", "9223372036854775807"]))
        } else {
            g.rng.range(0, 5).to_string().into_bytes()
        });
    }
    g.exact(args, Norm::Random(RandKind::SPop))
}

fn g_srandmember(g: &mut Gen) -> Vec<Step> {
    let k = g.key(SET_KEYS);
    let mut args = with("SRANDMEMBER", vec![k]);
    if g.rng.chance(70) {
        args.push(rand_count(g));
    }
    g.exact(args, Norm::Random(RandKind::SRandMember))
}

fn g_smove(g: &mut Gen) -> Vec<Step> {
    let s = g.key(SET_KEYS);
    let d = g.key(SET_KEYS);
    let m = g.member();
    g.cmd(with("SMOVE", vec![s, d, m]), Norm::Exact)
}

fn g_setop(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["SINTER", "SUNION", "SDIFF"]);
    let ks = g.keys(SET_KEYS, 1, 3);
    g.cmd(with(name, ks), Norm::Sorted)
}

fn g_setopstore(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
    let d = g.key(SET_KEYS);
    let mut args = with(name, vec![d]);
    args.extend(g.keys(SET_KEYS, 1, 3));
    g.cmd(args, Norm::Exact)
}

fn g_sintercard(g: &mut Gen) -> Vec<Step> {
    let ks = g.keys(SET_KEYS, 1, 3);
    let mut args = vec![b("SINTERCARD")];
    if g.rng.chance(8) {
        args.push(b(g.rng.pick(&["0", "-1", "abc", "9"])));
    } else {
        args.push(ks.len().to_string().into_bytes());
    }
    args.extend(ks);
    if g.rng.chance(40) {
        args.push(b("LIMIT"));
        args.push(g.int(0, 3));
    }
    g.cmd(args, Norm::Exact)
}

fn g_sscan(g: &mut Gen) -> Vec<Step> {
    let k = g.key(SET_KEYS);
    scan_step(g, "SSCAN", Some(k), false)
}

// ----- sorted sets --------------------------------------------------------------------------

fn g_zadd(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    let mut args = with("ZADD", vec![k]);
    for flag in ["NX", "XX", "GT", "LT", "CH", "INCR"] {
        if g.rng.chance(10) {
            args.push(b(flag));
        }
    }
    for _ in 0..g.rng.range(1, 3) {
        args.push(g.score());
        args.push(g.zmember());
    }
    g.cmd(args, Norm::Exact)
}

fn g_zincrby(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    let s = g.score();
    let m = g.zmember();
    g.cmd(with("ZINCRBY", vec![k, s, m]), Norm::Exact)
}

fn g_zrem(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    let mut args = with("ZREM", vec![k]);
    for _ in 0..g.rng.range(1, 3) {
        args.push(g.zmember());
    }
    g.cmd(args, Norm::Exact)
}

fn g_zcard(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    g.cmd(with("ZCARD", vec![k]), Norm::Exact)
}

fn g_zscore(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    match g.rng.below(4) {
        0 => {
            let m = g.zmember();
            g.cmd(with("ZSCORE", vec![k, m]), Norm::Exact)
        }
        1 => {
            let mut args = with("ZMSCORE", vec![k]);
            for _ in 0..g.rng.range(1, 3) {
                args.push(g.zmember());
            }
            g.cmd(args, Norm::Exact)
        }
        _ => {
            let name = g.rng.pick(&["ZRANK", "ZREVRANK"]);
            let m = g.zmember();
            g.cmd(with(name, vec![k, m]), Norm::Exact)
        }
    }
}

fn limit(g: &mut Gen, args: &mut Vec<Vec<u8>>) {
    args.push(b("LIMIT"));
    args.push(g.int(-1, 3));
    args.push(g.int(-2, 4));
}

/// ZRANGE's arguments after the key, with the options it supports (BYLEX only if `lex`: lex
/// ranges are unspecified on sorted sets with mixed scores and need the harness's check).
fn zrange_tail(g: &mut Gen, lex: bool) -> Vec<Vec<u8>> {
    let mut args = Vec::new();
    let by = if lex { 2 } else { g.rng.below(2) };
    let rev = g.rng.chance(30);
    match by {
        0 => {
            args.push(g.int(-4, 4));
            args.push(g.int(-4, 8));
        }
        1 => {
            args.push(g.score_range());
            args.push(g.score_range());
        }
        _ => {
            args.push(g.lex());
            args.push(g.lex());
        }
    }
    if by == 1 {
        args.push(b("BYSCORE"));
    }
    if by == 2 {
        args.push(b("BYLEX"));
    }
    if rev {
        args.push(b("REV"));
    }
    if g.rng.chance(if by == 0 { 5 } else { 35 }) {
        limit(g, &mut args);
    }
    if g.rng.chance(35) {
        args.push(b("WITHSCORES"));
    }
    args
}

fn g_zrange(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    let mut args = with("ZRANGE", vec![k]);
    args.extend(zrange_tail(g, false));
    g.cmd(args, Norm::Exact)
}

fn g_zrangestore(g: &mut Gen) -> Vec<Step> {
    let d = g.key(ZSET_KEYS);
    let s = g.key(ZSET_KEYS);
    let mut args = with("ZRANGESTORE", vec![d, s]);
    let mut tail = zrange_tail(g, false);
    // WITHSCORES is not an option of ZRANGESTORE; keep it only sometimes, for the error.
    if tail.last().is_some_and(|a| a == b"WITHSCORES") && g.rng.chance(80) {
        tail.pop();
    }
    args.extend(tail);
    g.cmd(args, Norm::Exact)
}

fn g_zrangebyscore(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]);
    let k = g.key(ZSET_KEYS);
    let lo = g.score_range();
    let hi = g.score_range();
    let mut args = with(name, vec![k, lo, hi]);
    if g.rng.chance(40) {
        args.push(b("WITHSCORES"));
    }
    if g.rng.chance(30) {
        limit(g, &mut args);
    }
    g.cmd(args, Norm::Exact)
}

/// The lex-range commands: ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX, ZRANGE BYLEX
/// and ZRANGESTORE BYLEX. Redis leaves their result unspecified when the scores differ, so the
/// harness checks the scores first (`Norm::Lex`); to reach the specified case often, the key is
/// sometimes rebuilt with equal scores first.
fn g_zrangebylex(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    let mut steps = Vec::new();
    if g.rng.chance(40) {
        steps.push(g.step(vec![b("DEL"), k.clone()], Norm::Exact));
        let mut add = vec![b("ZADD"), k.clone()];
        for _ in 0..g.rng.range(1, 6) {
            add.push(b("0"));
            add.push(g.zmember());
        }
        steps.push(g.step(add, Norm::Exact));
    }
    let lo = g.lex();
    let hi = g.lex();
    let (args, written) = match g.rng.below(6) {
        0 | 1 => {
            let name = g.rng.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]);
            let (lo, hi) = if name == "ZREVRANGEBYLEX" {
                (hi, lo)
            } else {
                (lo, hi)
            };
            let mut args = with(name, vec![k.clone(), lo, hi]);
            if g.rng.chance(30) {
                limit(g, &mut args);
            }
            (args, None)
        }
        2 => (with("ZLEXCOUNT", vec![k.clone(), lo, hi]), None),
        3 => (
            with("ZREMRANGEBYLEX", vec![k.clone(), lo, hi]),
            Some(k.clone()),
        ),
        4 => {
            let mut args = with("ZRANGE", vec![k.clone()]);
            args.extend(zrange_tail(g, true));
            (args, None)
        }
        _ => {
            let d = g.key(ZSET_KEYS);
            let mut args = with("ZRANGESTORE", vec![d.clone(), k.clone()]);
            let mut tail = zrange_tail(g, true);
            if tail.last().is_some_and(|a| a == b"WITHSCORES") {
                tail.pop();
            }
            args.extend(tail);
            (args, Some(d))
        }
    };
    let spec = LexSpec { src: k, written };
    steps.extend(g.cmd(args, Norm::Lex(spec)));
    steps
}

fn g_zrevrange(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    let s = g.int(-4, 4);
    let e = g.int(-4, 8);
    let mut args = with("ZREVRANGE", vec![k, s, e]);
    if g.rng.chance(40) {
        args.push(b("WITHSCORES"));
    }
    g.cmd(args, Norm::Exact)
}

fn g_zcount(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    let lo = g.score_range();
    let hi = g.score_range();
    g.cmd(with("ZCOUNT", vec![k, lo, hi]), Norm::Exact)
}

fn g_zpop(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["ZPOPMIN", "ZPOPMAX"]);
    let k = g.key(ZSET_KEYS);
    let mut args = with(name, vec![k]);
    if g.rng.chance(40) {
        args.push(pop_count(g));
    }
    g.cmd(args, Norm::Exact)
}

fn g_zmpop(g: &mut Gen) -> Vec<Step> {
    let tail = mpop_tail(g, ZSET_KEYS, &["MIN", "MAX", "max", "MID"]);
    g.cmd(with("ZMPOP", tail), Norm::Exact)
}

fn g_bzset(g: &mut Gen) -> Vec<Step> {
    let t = g.timeout();
    let args = match g.rng.below(3) {
        0 | 1 => {
            let name = g.rng.pick(&["BZPOPMIN", "BZPOPMAX"]);
            let mut a = with(name, g.keys(ZSET_KEYS, 1, 2));
            a.push(t);
            a
        }
        _ => {
            let mut a = with("BZMPOP", vec![t]);
            a.extend(mpop_tail(g, ZSET_KEYS, &["MIN", "MAX"]));
            a
        }
    };
    g.exact(args, Norm::Exact)
}

fn g_zremrange(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    if g.rng.chance(50) {
        let lo = g.score_range();
        let hi = g.score_range();
        g.cmd(with("ZREMRANGEBYSCORE", vec![k, lo, hi]), Norm::Exact)
    } else {
        let lo = g.int(-3, 3);
        let hi = g.int(-3, 3);
        g.cmd(with("ZREMRANGEBYRANK", vec![k, lo, hi]), Norm::Exact)
    }
}

fn g_zrandmember(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    let mut args = with("ZRANDMEMBER", vec![k]);
    if g.rng.chance(70) {
        args.push(rand_count(g));
        if g.rng.chance(50) {
            args.push(b(g.rng.pick(&["WITHSCORES", "WITHSCORES", "BOGUS"])));
        }
    }
    g.exact(args, Norm::Random(RandKind::ZRandMember))
}

fn g_zsetop(g: &mut Gen) -> Vec<Step> {
    let name = g.rng.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
    let d = g.key(ZSET_KEYS);
    // Sets are valid inputs of ZUNIONSTORE/ZINTERSTORE (every score 1).
    let mut home: Vec<&str> = ZSET_KEYS.to_vec();
    home.push("set0");
    let ks = g.keys(&home, 1, 3);
    let mut args = with(name, vec![d]);
    if g.rng.chance(6) {
        args.push(b(g.rng.pick(&["0", "-1", "abc", "7"])));
    } else {
        args.push(ks.len().to_string().into_bytes());
    }
    let n = ks.len();
    args.extend(ks);
    if name != "ZDIFFSTORE" {
        if g.rng.chance(30) {
            args.push(b("WEIGHTS"));
            for _ in 0..n {
                args.push(if g.rng.chance(10) {
                    b(g.rng.pick(&["inf", "-inf", "abc", "0"]))
                } else {
                    b(g.rng.pick(&["1", "2", "-1", "0.5"]))
                });
            }
        }
        if g.rng.chance(30) {
            args.push(b("AGGREGATE"));
            args.push(b(g.rng.pick(&["SUM", "MIN", "MAX", "max", "AVG"])));
        }
    }
    g.cmd(args, Norm::Exact)
}

fn g_zscan(g: &mut Gen) -> Vec<Step> {
    let k = g.key(ZSET_KEYS);
    scan_step(g, "ZSCAN", Some(k), true)
}

// ----- transactions -------------------------------------------------------------------------

/// WATCH (with the helper connection touching the watched keys or not), MULTI, queued commands,
/// EXEC or DISCARD; plus the error forms (EXEC/DISCARD without MULTI, nested MULTI, WATCH
/// inside MULTI).
fn g_multi(g: &mut Gen) -> Vec<Step> {
    let m = g.main;
    let mut steps = Vec::new();
    let mut watched: Option<Vec<u8>> = None;
    if g.rng.chance(50) {
        let ks = any_keys(g, 1, 2);
        watched = ks.first().cloned();
        steps.push(g.step(with("WATCH", ks), Norm::Exact));
        if g.rng.chance(50) {
            let w = watched.clone();
            steps.extend(g.single_on(1, w));
        }
        if g.rng.chance(10) {
            steps.push(g.step(vec![b("UNWATCH")], Norm::Exact));
        }
    }
    if g.rng.chance(5) {
        let name = g.rng.pick(&["EXEC", "DISCARD"]);
        steps.push(g.step(vec![b(name)], Norm::Exact));
        return steps;
    }
    steps.push(g.step(vec![b("MULTI")], Norm::Exact));
    g.in_multi = true;
    let mut norms = Vec::new();
    for _ in 0..g.rng.range(0, 4) {
        match g.rng.below(30) {
            0 => steps.push(g.step(vec![b("MULTI")], Norm::Exact)),
            1 => steps.push(g.step(vec![b("WATCH"), b("k")], Norm::Exact)),
            _ => {
                let w = watched.clone();
                for mut s in g.single_on(m, w) {
                    norms.push(s.norm.clone());
                    s.sleep_after_ms = 0;
                    steps.push(s);
                }
            }
        }
    }
    g.in_multi = false;
    if g.rng.chance(20) {
        let w = watched.clone();
        steps.extend(g.single_on(1, w));
    }
    if g.rng.chance(10) {
        steps.push(g.step(vec![b("DISCARD")], Norm::Exact));
    } else {
        steps.push(g.step(vec![b("EXEC")], Norm::Exec(norms)));
    }
    steps
}

// ----- connection and server ----------------------------------------------------------------

fn g_select(g: &mut Gen) -> Vec<Step> {
    let m = g.main;
    if g.rng.chance(10) {
        let bad = b(g.rng.pick(&["16", "-1", "abc", "", "9223372036854775808"]));
        return g.exact(vec![b("SELECT"), bad], Norm::Exact);
    }
    let d = if g.db[m] != 0 && g.rng.chance(70) {
        0
    } else {
        g.rng.below(DBS)
    };
    g.db[m] = d;
    g.exact(vec![b("SELECT"), d.to_string().into_bytes()], Norm::Exact)
}

/// Every key name a command can touch: the pool, and the junk arguments a mutation can put in
/// a key's place.
pub fn touchable_keys() -> Vec<Vec<u8>> {
    ALL_KEYS.iter().chain(JUNK).map(|k| b(k)).collect()
}

/// DBSIZE after touching every key name in use, so lazily expired keys are gone on both sides
/// (DBSIZE counts keys that expired but were not reclaimed yet, which depends on timing).
fn g_dbsize(g: &mut Gen) -> Vec<Step> {
    let mut touch = vec![b("EXISTS")];
    touch.extend(touchable_keys());
    let first = g.step(touch, Norm::Exact);
    let second = g.step(vec![b("DBSIZE")], Norm::Exact);
    vec![first, second]
}

fn g_flushdb(g: &mut Gen) -> Vec<Step> {
    let mut args = vec![b("FLUSHDB")];
    if g.rng.chance(40) {
        args.push(b(g.rng.pick(&["ASYNC", "SYNC", "sync", "LATER"])));
    }
    g.exact(args, Norm::Exact)
}

fn g_ping(g: &mut Gen) -> Vec<Step> {
    match g.rng.below(6) {
        0 => g.cmd(vec![b("PING")], Norm::Exact),
        1 => {
            let v = g.value();
            g.cmd(vec![b("PING"), v], Norm::Exact)
        }
        2 => g.cmd(vec![b("PING"), b("a"), b("b")], Norm::Exact),
        3 | 4 => {
            let v = g.value();
            g.cmd(vec![b("ECHO"), v], Norm::Exact)
        }
        _ => g.cmd(vec![b("ECHO")], Norm::Exact),
    }
}

fn g_unknown(g: &mut Gen) -> Vec<Step> {
    let name = b(g.rng.pick(&["NOSUCHCMD", "GETT", "sEt"]));
    let v = g.value();
    g.exact(vec![name, b("k"), v], Norm::Exact)
}

/// Every entry: name (for `AOFD_DIFF_ONLY`), weight, generator, and whether it is one plain
/// command (may be queued in MULTI or sent by the helper connection).
fn table() -> Vec<Entry> {
    let e = |name, weight, f: GenFn, single| Entry {
        name,
        weight,
        f,
        single,
    };
    vec![
        e("get", 20, g_get, true),
        e("set", 30, g_set, true),
        e("setnx", 4, g_setnx, true),
        e("setex", 4, g_setex, true),
        e("psetex", 4, g_psetex, true),
        e("mget", 6, g_mget, true),
        e("mset", 6, g_mset, true),
        e("msetnx", 4, g_msetnx, true),
        e("getset", 4, g_getset, true),
        e("getdel", 4, g_getdel, true),
        e("getex", 6, g_getex, true),
        e("append", 6, g_append, true),
        e("strlen", 4, g_strlen, true),
        e("incr", 8, g_incr, true),
        e("incrby", 6, g_incrby, true),
        e("incrbyfloat", 6, g_incrbyfloat, true),
        e("getrange", 4, g_getrange, true),
        e("setrange", 4, g_setrange, true),
        e("del", 10, g_del, true),
        e("exists", 6, g_exists, true),
        e("type", 6, g_type, true),
        e("rename", 6, g_rename, true),
        e("keys", 4, g_keys, true),
        e("scan", 5, g_scan, false),
        e("randomkey", 3, g_randomkey, false),
        e("expire", 12, g_expire, true),
        e("ttl", 10, g_ttl, true),
        e("persist", 4, g_persist, true),
        e("touch", 3, g_touch, true),
        e("copy", 6, g_copy, true),
        e("move", 5, g_move, true),
        e("object", 8, g_object, true),
        e("hset", 16, g_hset, true),
        e("hsetnx", 4, g_hsetnx, true),
        e("hget", 8, g_hget, true),
        e("hmget", 5, g_hmget, true),
        e("hgetall", 8, g_hgetall, true),
        e("hdel", 6, g_hdel, true),
        e("hlen", 8, g_hlen, true),
        e("hincrby", 8, g_hincrby, true),
        e("hrandfield", 5, g_hrandfield, false),
        e("hscan", 4, g_hscan, false),
        e("lpush", 18, g_push, true),
        e("lpop", 10, g_pop, true),
        e("llen", 4, g_llen, true),
        e("lrange", 8, g_lrange, true),
        e("lindex", 5, g_lindex, true),
        e("lset", 5, g_lset, true),
        e("linsert", 5, g_linsert, true),
        e("lrem", 5, g_lrem, true),
        e("ltrim", 4, g_ltrim, true),
        e("lpos", 6, g_lpos, true),
        e("lmove", 8, g_lmove, true),
        e("lmpop", 5, g_lmpop, true),
        e("blpop", 3, g_blist, true),
        e("blpop", 3, g_block_push, false),
        e("sadd", 18, g_sadd, true),
        e("smembers", 6, g_smembers, true),
        e("sismember", 6, g_sismember, true),
        e("scard", 4, g_scard, true),
        e("spop", 5, g_spop, false),
        e("srandmember", 5, g_srandmember, false),
        e("smove", 5, g_smove, true),
        e("sinter", 8, g_setop, true),
        e("sinterstore", 6, g_setopstore, true),
        e("sintercard", 4, g_sintercard, true),
        e("sscan", 4, g_sscan, false),
        e("zadd", 20, g_zadd, true),
        e("zincrby", 6, g_zincrby, true),
        e("zrem", 6, g_zrem, true),
        e("zcard", 4, g_zcard, true),
        e("zscore", 12, g_zscore, true),
        e("zrange", 14, g_zrange, true),
        e("zrangestore", 5, g_zrangestore, true),
        e("zrangebyscore", 8, g_zrangebyscore, true),
        e("zrangebylex", 12, g_zrangebylex, false),
        e("zrevrange", 4, g_zrevrange, true),
        e("zcount", 6, g_zcount, true),
        e("zpopmin", 6, g_zpop, true),
        e("zmpop", 5, g_zmpop, true),
        e("bzpopmin", 3, g_bzset, true),
        e("zremrangebyscore", 6, g_zremrange, true),
        e("zrandmember", 5, g_zrandmember, false),
        e("zunionstore", 8, g_zsetop, true),
        e("zscan", 4, g_zscan, false),
        e("multi", 14, g_multi, false),
        e("select", 4, g_select, false),
        e("dbsize", 2, g_dbsize, false),
        e("flushdb", 1, g_flushdb, true),
        e("ping", 4, g_ping, true),
        e("unknown", 1, g_unknown, true),
    ]
}

/// Every command of the list: a full run must have sent each of them at least once.
pub const REQUIRED: &[&str] = &[
    "GET",
    "SET",
    "SETNX",
    "SETEX",
    "PSETEX",
    "MGET",
    "MSET",
    "MSETNX",
    "GETSET",
    "GETDEL",
    "GETEX",
    "APPEND",
    "STRLEN",
    "INCR",
    "DECR",
    "INCRBY",
    "DECRBY",
    "INCRBYFLOAT",
    "GETRANGE",
    "SETRANGE",
    "DEL",
    "UNLINK",
    "EXISTS",
    "TYPE",
    "RENAME",
    "RENAMENX",
    "KEYS",
    "SCAN",
    "RANDOMKEY",
    "EXPIRE",
    "PEXPIRE",
    "EXPIREAT",
    "PEXPIREAT",
    "TTL",
    "PTTL",
    "EXPIRETIME",
    "PEXPIRETIME",
    "PERSIST",
    "TOUCH",
    "COPY",
    "MOVE",
    "OBJECT",
    "HSET",
    "HSETNX",
    "HMSET",
    "HGET",
    "HMGET",
    "HGETALL",
    "HDEL",
    "HLEN",
    "HEXISTS",
    "HKEYS",
    "HVALS",
    "HINCRBY",
    "HINCRBYFLOAT",
    "HSTRLEN",
    "HRANDFIELD",
    "HSCAN",
    "LPUSH",
    "RPUSH",
    "LPUSHX",
    "RPUSHX",
    "LPOP",
    "RPOP",
    "LLEN",
    "LRANGE",
    "LINDEX",
    "LSET",
    "LINSERT",
    "LREM",
    "LTRIM",
    "LPOS",
    "LMOVE",
    "RPOPLPUSH",
    "LMPOP",
    "BLPOP",
    "BRPOP",
    "BLMOVE",
    "BLMPOP",
    "SADD",
    "SREM",
    "SMEMBERS",
    "SISMEMBER",
    "SMISMEMBER",
    "SCARD",
    "SPOP",
    "SRANDMEMBER",
    "SMOVE",
    "SINTER",
    "SUNION",
    "SDIFF",
    "SINTERSTORE",
    "SUNIONSTORE",
    "SDIFFSTORE",
    "SINTERCARD",
    "SSCAN",
    "ZADD",
    "ZINCRBY",
    "ZREM",
    "ZCARD",
    "ZSCORE",
    "ZMSCORE",
    "ZRANK",
    "ZREVRANK",
    "ZRANGE",
    "ZRANGESTORE",
    "ZRANGEBYSCORE",
    "ZREVRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZREVRANGEBYLEX",
    "ZREVRANGE",
    "ZCOUNT",
    "ZLEXCOUNT",
    "ZPOPMIN",
    "ZPOPMAX",
    "ZMPOP",
    "BZPOPMIN",
    "BZPOPMAX",
    "BZMPOP",
    "ZREMRANGEBYSCORE",
    "ZREMRANGEBYRANK",
    "ZREMRANGEBYLEX",
    "ZRANDMEMBER",
    "ZUNIONSTORE",
    "ZINTERSTORE",
    "ZDIFFSTORE",
    "ZSCAN",
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH",
    "UNWATCH",
    "SELECT",
    "DBSIZE",
    "FLUSHDB",
    "PING",
    "ECHO",
    "HELLO",
];

/// Counts commands by upper-case name, for the coverage report.
pub fn count(counts: &mut BTreeMap<String, u64>, args: &[Vec<u8>]) {
    if let Some(name) = args.first() {
        let name = String::from_utf8_lossy(name).to_ascii_uppercase();
        *counts.entry(name).or_default() += 1;
    }
}
