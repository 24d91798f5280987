//! The parameter table: every parameter aofd implements, in one place, as data.
//!
//! Each row names the parameter (and its aliases), its type, whether CONFIG SET may change it,
//! and how to read it from and write it into [`Config`]. Startup loading, CONFIG GET, CONFIG
//! SET and CONFIG REWRITE all work from this table, so a parameter behaves the same everywhere.
//! Value syntax and error texts are Redis 7.0's (`argument couldn't be parsed into an integer`,
//! `argument must be between 0 and 65535 inclusive`, ...).

use std::borrow::Cow;

use super::{AppendFsync, Config, EnableDebug};
use crate::aof::names;
use crate::protocol::parser::parse_i64;

/// The type of a parameter, which decides how CONFIG REWRITE writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `yes` or `no`.
    Bool,
    /// A decimal integer within a range.
    Int,
    /// A byte count with optional unit (`1k`, `1kb`, `1m`, `1mb`, `1g`, `1gb`).
    Memory,
    /// An octal integer (`unixsocketperm`).
    Octal,
    /// One of a fixed set of words.
    Enum,
    /// Free text; written quoted by CONFIG REWRITE.
    Str,
    /// Several arguments (`bind`, `save`).
    Multi,
}

/// Reads a parameter's value as CONFIG GET shows it.
pub type Getter = fn(&Config) -> Vec<u8>;
/// Parses arguments into a parameter of a [`Config`]; the error is Redis's reason text.
pub type Setter = fn(&mut Config, &[Vec<u8>]) -> Result<(), Cow<'static, str>>;

/// One row of the table.
pub struct Param {
    /// The name, as in redis.conf and CONFIG GET.
    pub name: &'static str,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    /// Its type.
    pub kind: Kind,
    /// Whether CONFIG SET may change it while running.
    pub mutable: bool,
    /// Whether CONFIG SET needs `enable-protected-configs` to allow it (Redis's protected
    /// configs: changing them can make the server write files elsewhere).
    pub protected: bool,
    /// Reads the value.
    pub get: Getter,
    /// Writes the value.
    pub set: Setter,
}

impl Param {
    /// Whether the parameter takes several arguments.
    pub fn multi_arg(&self) -> bool {
        self.kind == Kind::Multi
    }

    /// Whether `name` (any case) is this parameter's name or an alias.
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// Finds a parameter by name or alias, ignoring case.
pub fn find(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.is_named(name))
}

/// The single argument of a single-argument parameter.
fn one(args: &[Vec<u8>]) -> Result<&[u8], Cow<'static, str>> {
    match args {
        [arg] => Ok(arg),
        _ => Err(Cow::Borrowed("wrong number of arguments")),
    }
}

/// `yes`/`no`, ignoring case (Redis `yesnotoi`).
pub fn parse_bool(args: &[Vec<u8>]) -> Result<bool, Cow<'static, str>> {
    let arg = one(args)?;
    if arg.eq_ignore_ascii_case(b"yes") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"no") {
        Ok(false)
    } else {
        Err(Cow::Borrowed("argument must be 'yes' or 'no'"))
    }
}

fn range_error(min: i64, max: i64) -> Cow<'static, str> {
    Cow::Owned(format!(
        "argument must be between {min} and {max} inclusive"
    ))
}

/// A decimal integer in `min..=max`, parsed as Redis's `string2ll` (no `+`, no leading zeros).
pub fn parse_int(args: &[Vec<u8>], min: i64, max: i64) -> Result<i64, Cow<'static, str>> {
    let n = parse_i64(one(args)?)
        .ok_or(Cow::Borrowed("argument couldn't be parsed into an integer"))?;
    if n < min || n > max {
        return Err(range_error(min, max));
    }
    Ok(n)
}

/// Redis's `memtoull`: digits followed by an optional unit `b`, `k`, `kb`, `m`, `mb`, `g`,
/// `gb` (any case; `k` = 1000, `kb` = 1024). The empty string is 0, as in Redis. A number too
/// large for 64 bits saturates, so it fails the range check rather than wrapping.
pub fn parse_memory_value(arg: &[u8]) -> Option<u64> {
    let digits_end = arg
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(arg.len());
    let (digits, unit) = arg.split_at(digits_end);
    let unit = String::from_utf8_lossy(unit).to_ascii_lowercase();
    let mul: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() > 100 {
        return None;
    }
    let mut value: u64 = 0;
    for &c in digits {
        value = value.saturating_mul(10).saturating_add(u64::from(c - b'0'));
    }
    Some(value.saturating_mul(mul))
}

/// A memory value in `min..=max`.
pub fn parse_memory(args: &[Vec<u8>], min: i64, max: i64) -> Result<u64, Cow<'static, str>> {
    let n =
        parse_memory_value(one(args)?).ok_or(Cow::Borrowed("argument must be a memory value"))?;
    let signed = i64::try_from(n).map_err(|_| range_error(min, max))?;
    if signed < min || signed > max {
        return Err(range_error(min, max));
    }
    Ok(n)
}

/// One of `values`, ignoring case; returns its index.
pub fn parse_enum(args: &[Vec<u8>], values: &[&str]) -> Result<usize, Cow<'static, str>> {
    let arg = one(args)?;
    values
        .iter()
        .position(|v| v.as_bytes().eq_ignore_ascii_case(arg))
        .ok_or_else(|| {
            Cow::Owned(format!(
                "argument(s) must be one of the following: {}",
                values.join(", ")
            ))
        })
}

/// An octal integer in `0..=max` (`unixsocketperm`).
fn parse_octal(args: &[Vec<u8>], max: u32) -> Result<u32, Cow<'static, str>> {
    let arg = one(args)?;
    let text = std::str::from_utf8(arg).unwrap_or("");
    let n = if text.is_empty() || !text.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
        None
    } else {
        u32::from_str_radix(text, 8).ok()
    }
    .ok_or(Cow::Borrowed(
        "argument couldn't be parsed as an octal number",
    ))?;
    if n > max {
        return Err(Cow::Owned(format!(
            "argument must be between 0 and {max:o} inclusive"
        )));
    }
    Ok(n)
}

/// A string argument; configuration text must be UTF-8 (only `requirepass` is kept as bytes).
fn parse_string(args: &[Vec<u8>]) -> Result<String, Cow<'static, str>> {
    String::from_utf8(one(args)?.to_vec())
        .map_err(|_| Cow::Borrowed("argument must be valid UTF-8 text"))
}

fn yes_no(b: bool) -> Vec<u8> {
    if b {
        b"yes".to_vec()
    } else {
        b"no".to_vec()
    }
}

fn decimal(n: impl std::fmt::Display) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// The values of `loglevel`, in Redis's order (plus `nothing`, which silences the log).
pub const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
/// The values of `appendfsync`, in Redis's order.
const FSYNC: &[&str] = &["everysec", "always", "no"];
/// The values of `enable-debug-command` and `enable-protected-configs`.
const ALLOW: &[&str] = &["no", "yes", "local"];

fn allow_from(i: usize) -> EnableDebug {
    match i {
        1 => EnableDebug::Yes,
        2 => EnableDebug::Local,
        _ => EnableDebug::No,
    }
}

fn allow_name(a: EnableDebug) -> Vec<u8> {
    match a {
        EnableDebug::No => b"no".to_vec(),
        EnableDebug::Yes => b"yes".to_vec(),
        EnableDebug::Local => b"local".to_vec(),
    }
}

/// Parses `save` arguments: pairs of seconds (at least 1) and changes (at least 0), as Redis
/// 7.0's checks; a single empty argument, or none, means no save points.
pub fn parse_save(args: &[Vec<u8>]) -> Result<Vec<(u64, u64)>, Cow<'static, str>> {
    const INVALID: Cow<'static, str> = Cow::Borrowed("Invalid save parameters");
    if args.is_empty() || (args.len() == 1 && args[0].is_empty()) {
        return Ok(Vec::new());
    }
    if !args.len().is_multiple_of(2) {
        return Err(INVALID);
    }
    let mut points = Vec::with_capacity(args.len() / 2);
    for pair in args.chunks(2) {
        let seconds = parse_i64(&pair[0]).filter(|&s| s >= 1).ok_or(INVALID)?;
        let changes = parse_i64(&pair[1]).filter(|&c| c >= 0).ok_or(INVALID)?;
        points.push((seconds as u64, changes as u64));
    }
    Ok(points)
}

/// Formats save points as CONFIG GET shows them: `3600 1 300 100`.
pub fn save_text(points: &[(u64, u64)]) -> String {
    points
        .iter()
        .map(|(s, c)| format!("{s} {c}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `appendfilename`/`appenddirname`: a plain name, not a path, checked by the AOF's own naming
/// rules (Redis's `isValidAOFfilename` / `isValidAOFdirname` and their texts).
fn plain_name(
    args: &[Vec<u8>],
    validate: fn(&str) -> Result<(), &'static str>,
) -> Result<String, Cow<'static, str>> {
    let name = parse_string(args)?;
    validate(&name).map_err(Cow::Borrowed)?;
    Ok(name)
}

/// `admin-listen`: each argument a `host:port` socket address or `unix:<path>`; no argument,
/// or one empty argument, disables the admin API.
fn parse_admin_listen(args: &[Vec<u8>]) -> Result<Vec<String>, Cow<'static, str>> {
    let mut out = Vec::new();
    for arg in args {
        let text = parse_string(std::slice::from_ref(arg))?;
        if text.is_empty() && args.len() == 1 {
            break;
        }
        match text.strip_prefix("unix:") {
            Some(path) if !path.is_empty() => {}
            Some(_) => {
                return Err(Cow::Borrowed(
                    "unix: needs a socket path, as in unix:/run/aofd/admin.sock",
                ))
            }
            None if text.parse::<std::net::SocketAddr>().is_ok() => {}
            None => {
                return Err(Cow::Owned(format!(
                    "'{text}' is neither an IP address with a port (127.0.0.1:8379, [::1]:8379) \
                     nor unix:<path>"
                )))
            }
        }
        out.push(text);
    }
    Ok(out)
}

/// Redis `isValidDBfilename`.
fn validate_dbfilename(name: &str) -> Result<(), &'static str> {
    if names::is_base_name(name) {
        Ok(())
    } else {
        Err("dbfilename can't be a path, just a filename")
    }
}

/// A boolean row.
macro_rules! boolean {
    ($name:literal, $field:ident, $mutable:expr) => {
        Param {
            name: $name,
            aliases: &[],
            kind: Kind::Bool,
            mutable: $mutable,
            protected: false,
            get: |c| yes_no(c.$field),
            set: |c, a| {
                c.$field = parse_bool(a)?;
                Ok(())
            },
        }
    };
}

/// An integer row (`$min..=$max`, converted into the field's type).
macro_rules! integer {
    ($name:literal, $field:ident, $min:expr, $max:expr, $mutable:expr) => {
        Param {
            name: $name,
            aliases: &[],
            kind: Kind::Int,
            mutable: $mutable,
            protected: false,
            get: |c| decimal(c.$field),
            set: |c, a| {
                let n = parse_int(a, $min, $max)?;
                c.$field = n.try_into().map_err(|_| range_error($min, $max))?;
                Ok(())
            },
        }
    };
}

/// A memory row.
macro_rules! memory {
    ($name:literal, $field:ident, $min:expr, $max:expr, $mutable:expr) => {
        Param {
            name: $name,
            aliases: &[],
            kind: Kind::Memory,
            mutable: $mutable,
            protected: false,
            get: |c| decimal(c.$field),
            set: |c, a| {
                c.$field = parse_memory(a, $min, $max)?;
                Ok(())
            },
        }
    };
}

/// A string row stored as `String`.
macro_rules! string {
    ($name:literal, $field:ident, $mutable:expr) => {
        Param {
            name: $name,
            aliases: &[],
            kind: Kind::Str,
            mutable: $mutable,
            protected: false,
            get: |c| c.$field.as_bytes().to_vec(),
            set: |c, a| {
                c.$field = parse_string(a)?;
                Ok(())
            },
        }
    };
}

/// A string row stored as `Option<String>` (empty = `None`).
macro_rules! optional_string {
    ($name:literal, $field:ident, $mutable:expr) => {
        Param {
            name: $name,
            aliases: &[],
            kind: Kind::Str,
            mutable: $mutable,
            protected: false,
            get: |c| c.$field.as_deref().unwrap_or("").as_bytes().to_vec(),
            set: |c, a| {
                let s = parse_string(a)?;
                c.$field = (!s.is_empty()).then_some(s);
                Ok(())
            },
        }
    };
}

const INT_MAX: i64 = i32::MAX as i64;
const MB: i64 = 1024 * 1024;

/// Every parameter aofd implements, in CONFIG REWRITE order.
pub static PARAMS: &[Param] = &[
    Param {
        name: "bind",
        aliases: &[],
        kind: Kind::Multi,
        // Redis can rebind at runtime; aofd binds its listeners once at startup.
        mutable: false,
        protected: false,
        get: |c| c.bind.join(" ").into_bytes(),
        set: |c, a| {
            if a.is_empty() || a.iter().any(Vec::is_empty) {
                return Err(Cow::Borrowed("Invalid bind address"));
            }
            let mut addrs = Vec::with_capacity(a.len());
            for arg in a {
                addrs.push(parse_string(std::slice::from_ref(arg))?);
            }
            c.bind = addrs;
            Ok(())
        },
    },
    // Redis can change the port at runtime; aofd binds its listeners once at startup.
    integer!("port", port, 0, 65535, false),
    optional_string!("unixsocket", unixsocket, false),
    Param {
        name: "unixsocketperm",
        aliases: &[],
        kind: Kind::Octal,
        mutable: false,
        protected: false,
        get: |c| format!("{:o}", c.unixsocketperm).into_bytes(),
        set: |c, a| {
            c.unixsocketperm = parse_octal(a, 0o777)?;
            Ok(())
        },
    },
    integer!("timeout", timeout, 0, INT_MAX, true),
    boolean!("daemonize", daemonize, false),
    optional_string!("pidfile", pidfile, false),
    Param {
        name: "loglevel",
        aliases: &[],
        kind: Kind::Enum,
        mutable: true,
        protected: false,
        get: |c| c.loglevel.as_bytes().to_vec(),
        set: |c, a| {
            let i = parse_enum(a, LOGLEVELS)?;
            c.loglevel = LOGLEVELS.get(i).unwrap_or(&"notice").to_string();
            Ok(())
        },
    },
    string!("logfile", logfile, false),
    integer!("databases", databases, 1, INT_MAX, false),
    Param {
        name: "save",
        aliases: &[],
        kind: Kind::Multi,
        mutable: true,
        protected: false,
        get: |c| save_text(&c.save).into_bytes(),
        set: |c, a| {
            c.save = parse_save(a)?;
            Ok(())
        },
    },
    Param {
        name: "dir",
        aliases: &[],
        kind: Kind::Str,
        mutable: true,
        protected: true,
        get: |c| c.dir.as_bytes().to_vec(),
        set: |c, a| {
            let dir = parse_string(a)?;
            if dir.is_empty() {
                return Err(Cow::Borrowed("No such file or directory"));
            }
            c.dir = dir;
            Ok(())
        },
    },
    Param {
        name: "requirepass",
        aliases: &[],
        kind: Kind::Str,
        mutable: true,
        protected: false,
        get: |c| c.requirepass.clone(),
        set: |c, a| {
            c.requirepass = one(a)?.to_vec();
            Ok(())
        },
    },
    integer!("maxclients", maxclients, 1, u32::MAX as i64, true),
    boolean!("appendonly", appendonly, true),
    Param {
        name: "appendfilename",
        aliases: &[],
        kind: Kind::Str,
        mutable: false,
        protected: false,
        get: |c| c.appendfilename.as_bytes().to_vec(),
        set: |c, a| {
            c.appendfilename = plain_name(a, names::validate_filename)?;
            Ok(())
        },
    },
    Param {
        name: "appenddirname",
        aliases: &[],
        kind: Kind::Str,
        mutable: false,
        protected: false,
        get: |c| c.appenddirname.as_bytes().to_vec(),
        set: |c, a| {
            c.appenddirname = plain_name(a, names::validate_dirname)?;
            Ok(())
        },
    },
    Param {
        name: "appendfsync",
        aliases: &[],
        kind: Kind::Enum,
        mutable: true,
        protected: false,
        get: |c| c.appendfsync.name().as_bytes().to_vec(),
        set: |c, a| {
            c.appendfsync = match parse_enum(a, FSYNC)? {
                1 => AppendFsync::Always,
                2 => AppendFsync::No,
                _ => AppendFsync::Everysec,
            };
            Ok(())
        },
    },
    boolean!("no-appendfsync-on-rewrite", no_appendfsync_on_rewrite, true),
    integer!(
        "auto-aof-rewrite-percentage",
        auto_aof_rewrite_percentage,
        0,
        INT_MAX,
        true
    ),
    memory!(
        "auto-aof-rewrite-min-size",
        auto_aof_rewrite_min_size,
        0,
        i64::MAX,
        true
    ),
    boolean!("aof-load-truncated", aof_load_truncated, true),
    boolean!("aof-use-rdb-preamble", aof_use_rdb_preamble, true),
    boolean!("aof-timestamp-enabled", aof_timestamp_enabled, true),
    boolean!(
        "aof-rewrite-incremental-fsync",
        aof_rewrite_incremental_fsync,
        true
    ),
    boolean!("aof-disable-auto-gc", aof_disable_auto_gc, true),
    Param {
        name: "dbfilename",
        aliases: &[],
        kind: Kind::Str,
        mutable: true,
        protected: true,
        get: |c| c.dbfilename.as_bytes().to_vec(),
        set: |c, a| {
            c.dbfilename = plain_name(a, validate_dbfilename)?;
            Ok(())
        },
    },
    // aofd's own: the admin HTTP API (bound once at startup, like the data port).
    Param {
        name: "admin-listen",
        aliases: &[],
        kind: Kind::Multi,
        mutable: false,
        protected: false,
        get: |c| c.admin_listen.join(" ").into_bytes(),
        set: |c, a| {
            c.admin_listen = parse_admin_listen(a)?;
            Ok(())
        },
    },
    optional_string!("admin-token-file", admin_token_file, false),
    boolean!("admin-metrics-auth", admin_metrics_auth, true),
    integer!("rdb-key-save-delay", rdb_key_save_delay, 0, i64::MAX, true),
    boolean!(
        "rdb-save-incremental-fsync",
        rdb_save_incremental_fsync,
        true
    ),
    memory!(
        "client-query-buffer-limit",
        client_query_buffer_limit,
        MB,
        i64::MAX,
        true
    ),
    memory!("proto-max-bulk-len", proto_max_bulk_len, MB, i64::MAX, true),
    Param {
        name: "hz",
        aliases: &[],
        kind: Kind::Int,
        mutable: true,
        protected: false,
        get: |c| decimal(c.hz),
        set: |c, a| {
            // Redis accepts any non-negative int and clamps it to its working range 1..=500.
            let n = parse_int(a, 0, INT_MAX)?;
            c.hz = n.clamp(1, 500) as u32;
            Ok(())
        },
    },
    Param {
        name: "enable-debug-command",
        aliases: &[],
        kind: Kind::Enum,
        mutable: false,
        protected: false,
        get: |c| allow_name(c.enable_debug_command),
        set: |c, a| {
            c.enable_debug_command = allow_from(parse_enum(a, ALLOW)?);
            Ok(())
        },
    },
    Param {
        name: "enable-protected-configs",
        aliases: &[],
        kind: Kind::Enum,
        mutable: false,
        protected: false,
        get: |c| allow_name(c.enable_protected_configs),
        set: |c, a| {
            c.enable_protected_configs = allow_from(parse_enum(a, ALLOW)?);
            Ok(())
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<Vec<u8>> {
        s.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory_value(b"1k"), Some(1000));
        assert_eq!(parse_memory_value(b"1kb"), Some(1024));
        assert_eq!(parse_memory_value(b"1m"), Some(1_000_000));
        assert_eq!(parse_memory_value(b"1MB"), Some(1024 * 1024));
        assert_eq!(parse_memory_value(b"2g"), Some(2_000_000_000));
        assert_eq!(parse_memory_value(b"1Gb"), Some(1 << 30));
        assert_eq!(parse_memory_value(b"05"), Some(5));
        assert_eq!(parse_memory_value(b""), Some(0));
        assert_eq!(parse_memory_value(b"7b"), Some(7));
        for bad in [&b"-1"[..], b"+5", b" 5", b"1.5mb", b"1 mb", b"0x10", b"1t"] {
            assert_eq!(parse_memory_value(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_memory_value(b"99999999999999999999gb"),
            Some(u64::MAX)
        );
    }

    #[test]
    fn integers_and_errors() {
        assert_eq!(parse_int(&args(&["10"]), 0, 20), Ok(10));
        assert_eq!(
            parse_int(&args(&["05"]), 0, 20).unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(
            parse_int(&args(&["21"]), 0, 20).unwrap_err(),
            "argument must be between 0 and 20 inclusive"
        );
        assert_eq!(
            parse_memory(&args(&["9223372036854775808"]), 0, i64::MAX).unwrap_err(),
            "argument must be between 0 and 9223372036854775807 inclusive"
        );
        assert_eq!(parse_bool(&args(&["YES"])), Ok(true));
        assert_eq!(
            parse_bool(&args(&["on"])).unwrap_err(),
            "argument must be 'yes' or 'no'"
        );
        assert_eq!(
            parse_enum(&args(&["x"]), FSYNC).unwrap_err(),
            "argument(s) must be one of the following: everysec, always, no"
        );
        assert_eq!(
            parse_octal(&args(&["1770"]), 0o777).unwrap_err(),
            "argument must be between 0 and 777 inclusive"
        );
        assert_eq!(parse_octal(&args(&["770"]), 0o777), Ok(0o770));
    }

    #[test]
    fn save_points() {
        assert_eq!(
            parse_save(&args(&["900", "1", "300", "10"])),
            Ok(vec![(900, 1), (300, 10)])
        );
        assert_eq!(parse_save(&args(&[""])), Ok(vec![]));
        assert_eq!(parse_save(&args(&["1", "0"])), Ok(vec![(1, 0)]));
        for bad in [&["0", "1"][..], &["1", "-1"], &["1", "1", "2"], &["a", "b"]] {
            assert!(parse_save(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_row_reads_back_what_it_wrote() {
        // What CONFIG GET shows must be accepted by CONFIG SET (and by CONFIG REWRITE's
        // reload) and mean the same value.
        let defaults = Config {
            unixsocket: Some("/tmp/aofd.sock".to_string()),
            pidfile: Some("aofd.pid".to_string()),
            requirepass: b"secret".to_vec(),
            ..Config::default()
        };
        for p in PARAMS {
            let shown = (p.get)(&defaults);
            let values = if p.multi_arg() {
                shown
                    .split(|&b| b == b' ')
                    .map(<[u8]>::to_vec)
                    .collect::<Vec<_>>()
            } else {
                vec![shown.clone()]
            };
            let mut config = defaults.clone();
            if let Err(e) = (p.set)(&mut config, &values) {
                panic!("{}: {e}", p.name);
            }
            assert_eq!(config, defaults, "{}", p.name);
        }
    }
}
