//! The configuration sources plugged into the `config` crate: the redis.conf format, a TOML
//! format that remembers line numbers, the `AOFD_*` environment and the command line.
//!
//! Every value carries its origin (`/etc/aofd/redis.conf:12`, `environment variable AOFD_PORT`,
//! `command-line flag --port`), so a bad value can be reported with where it came from. Values
//! are arrays of the directive's arguments, under the parameter's canonical lower-case name; the
//! loader in `mod.rs` validates them against the parameter table once all layers are merged.

use std::error::Error;
use std::fmt;
use std::path::Path;

use config::{FileFormat, FileStoredFormat, Format, Map, Source, Value, ValueKind};

use super::params;
use super::redis_names;
use crate::protocol::splitargs::split_args;

/// A configuration error found while reading a source, already worded for the operator.
#[derive(Debug)]
pub struct SourceError(pub String);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for SourceError {}

/// How deep `include` may nest before we assume a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

/// The canonical name for a directive: the parameter's name if aofd implements it (so aliases
/// and case variants share one key and later layers override earlier ones), else lower case.
pub fn canonical_name(name: &str) -> String {
    match params::find(name) {
        Some(p) => p.name.to_string(),
        None => name.to_ascii_lowercase(),
    }
}

/// One directive of a redis.conf file, as CONFIG REWRITE needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// Lower-case name as written.
    pub name: String,
    /// Its arguments.
    pub args: Vec<Vec<u8>>,
    /// Where it was written: `path:line`.
    pub origin: String,
}

/// Splits redis.conf text into directives, as Redis's `loadServerConfigFromString` reads
/// lines: trimmed, `#` comments and blank lines skipped, `sdssplitargs` quoting, names in
/// lower case. `include` is followed here, in place, so included directives come in file
/// order.
///
/// # Errors
/// Unbalanced quotes, or an include that cannot be read, naming the file and line.
pub fn parse_directives(
    path: &str,
    text: &str,
    depth: usize,
) -> Result<Vec<Directive>, SourceError> {
    let mut out = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let origin = format!("{path}:{}", index + 1);
        let Some(mut args) = split_args(line.as_bytes()) else {
            return Err(SourceError(format!(
                "{origin}: '{line}': Unbalanced quotes in configuration line"
            )));
        };
        if args.is_empty() {
            continue;
        }
        let name = String::from_utf8_lossy(&args.remove(0)).to_ascii_lowercase();
        if name == "include" && args.len() == 1 {
            let target = String::from_utf8_lossy(&args[0]).into_owned();
            out.extend(read_include(&target, &origin, depth)?);
            continue;
        }
        out.push(Directive { name, args, origin });
    }
    Ok(out)
}

/// Reads the files an `include` names (a glob pattern matches files in alphabetical order, and
/// matching nothing is not an error, as in Redis).
fn read_include(target: &str, origin: &str, depth: usize) -> Result<Vec<Directive>, SourceError> {
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(SourceError(format!(
            "{origin}: 'include {target}': includes nested more than {MAX_INCLUDE_DEPTH} deep"
        )));
    }
    let files = if target.contains(['*', '?', '[']) {
        glob_files(target)
    } else {
        vec![target.to_string()]
    };
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| {
            SourceError(format!(
                "{origin}: 'include {target}': can't open config file '{file}': {e}"
            ))
        })?;
        out.extend(parse_directives(&file, &text, depth + 1)?);
    }
    Ok(out)
}

/// The files matching a glob whose wildcards are in the last path component.
fn glob_files(pattern: &str) -> Vec<String> {
    let path = Path::new(pattern);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(file_pattern) = path.file_name().map(|f| f.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter(|e| {
            crate::db::glob::glob_match(
                file_pattern.as_bytes(),
                e.file_name().to_string_lossy().as_bytes(),
                false,
            )
        })
        .map(|e| e.path().to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

/// An array value of the arguments, or an error naming the line when one is not UTF-8 (the
/// `config` crate stores text).
fn args_value(name: &str, args: &[Vec<u8>], origin: &str) -> Result<Value, SourceError> {
    let mut items = Vec::with_capacity(args.len());
    for arg in args {
        let text = String::from_utf8(arg.clone()).map_err(|_| {
            SourceError(format!(
                "{origin}: '{name}': argument is not valid UTF-8 text"
            ))
        })?;
        items.push(Value::new(
            Some(&origin.to_string()),
            ValueKind::String(text),
        ));
    }
    Ok(Value::new(
        Some(&origin.to_string()),
        ValueKind::Array(items),
    ))
}

/// Turns directives into the `config` crate's map with Redis's file semantics: the last line
/// wins, except that `save` lines add up (the first one replaces the defaults and `save ""`
/// clears what came before).
///
/// # Errors
/// A module parameter (`name.param`) without any `loadmodule`, or a non-UTF-8 argument.
pub fn directives_to_map(directives: &[Directive]) -> Result<Map<String, Value>, SourceError> {
    let mut map = Map::new();
    let mut save: Option<(Vec<Vec<u8>>, String)> = None;
    let mut saw_loadmodule = false;
    for d in directives {
        if d.name == "loadmodule" {
            saw_loadmodule = true;
        }
        if d.name.contains('.') {
            // A module's parameter: only meaningful with its module, which aofd cannot load;
            // the loadmodule warning already covers it.
            if saw_loadmodule {
                continue;
            }
            return Err(SourceError(format!(
                "{}: '{}': module configuration without a loadmodule directive",
                d.origin, d.name
            )));
        }
        let name = canonical_name(&d.name);
        if name == "save" {
            let (points, origin) = save.get_or_insert_with(|| (Vec::new(), d.origin.clone()));
            if d.args.len() == 1 && d.args[0].is_empty() {
                points.clear();
            } else {
                points.extend(d.args.iter().cloned());
            }
            origin.clone_from(&d.origin);
            continue;
        }
        map.insert(name.clone(), args_value(&name, &d.args, &d.origin)?);
    }
    if let Some((points, origin)) = save {
        map.insert("save".to_string(), args_value("save", &points, &origin)?);
    }
    Ok(map)
}

/// The redis.conf file format for the `config` crate.
#[derive(Clone, Debug, Default)]
pub struct RedisConf {
    /// The file's name for messages; the `config` crate's URI is relative to the working
    /// directory, which reads badly in an error.
    pub name: Option<String>,
}

impl Format for RedisConf {
    fn parse(
        &self,
        uri: Option<&String>,
        text: &str,
    ) -> Result<Map<String, Value>, Box<dyn Error + Send + Sync>> {
        let path = self
            .name
            .as_ref()
            .or(uri)
            .map_or("(config)", String::as_str);
        let directives = parse_directives(path, text, 0)?;
        Ok(directives_to_map(&directives)?)
    }
}

impl FileStoredFormat for RedisConf {
    fn file_extensions(&self) -> &'static [&'static str] {
        &["conf"]
    }
}

/// TOML (`aofd.toml`) through the `config` crate's own parser, with each top-level value's
/// origin narrowed to the line it is on, and keys mapped to canonical parameter names (so
/// `proto_max_bulk_len` and `proto-max-bulk-len` both work).
#[derive(Clone, Debug, Default)]
pub struct TomlFile {
    /// The file's name for messages (see [`RedisConf::name`]).
    pub name: Option<String>,
}

impl Format for TomlFile {
    fn parse(
        &self,
        uri: Option<&String>,
        text: &str,
    ) -> Result<Map<String, Value>, Box<dyn Error + Send + Sync>> {
        let path = self
            .name
            .as_ref()
            .or(uri)
            .map_or("(config)", String::as_str);
        let table = FileFormat::Toml.parse(Some(&path.to_string()), text)?;
        let mut out = Map::new();
        for (key, mut value) in table {
            let name = toml_key_name(&key);
            let line = text.lines().position(|l| {
                let l = l.trim_start();
                l.strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            });
            let origin = match line {
                Some(n) => format!("{path}:{}", n + 1),
                None => path.to_string(),
            };
            value = Value::new(Some(&origin), value.kind);
            out.insert(name, value);
        }
        Ok(out)
    }
}

impl FileStoredFormat for TomlFile {
    fn file_extensions(&self) -> &'static [&'static str] {
        &["toml"]
    }
}

/// Maps a TOML key or environment variable suffix to a directive name: as written if aofd or
/// Redis knows it, else with `_` read as `-`.
fn toml_key_name(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    if params::find(&lower).is_some() || redis_names::is_redis_directive(&lower) {
        return canonical_name(&lower);
    }
    canonical_name(&lower.replace('_', "-"))
}

/// `AOFD_*` environment variables: `AOFD_PORT=7000`, `AOFD_PROTO_MAX_BULK_LEN=1mb`. Unlike the
/// `config` crate's `Environment`, every variable with the prefix is passed on, so a typo is
/// reported rather than silently ignored.
#[derive(Clone, Debug, Default)]
pub struct EnvSource {
    /// The variables to read (a snapshot, so tests need not touch the process environment).
    pub vars: Vec<(String, String)>,
}

/// The prefix of aofd's environment variables.
pub const ENV_PREFIX: &str = "AOFD_";

impl EnvSource {
    /// The `AOFD_*` variables of this process.
    pub fn from_process() -> Self {
        EnvSource {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| k.starts_with(ENV_PREFIX))
                // Not a parameter: the crash point of a debug build's tests.
                .filter(|(k, _)| !(cfg!(debug_assertions) && k == crate::server::failpoint::ENV))
                .filter(|(k, _)| {
                    !(cfg!(debug_assertions) && k == crate::service::journal::TEST_SOCKET_ENV)
                })
                .collect(),
        }
    }
}

impl Source for EnvSource {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        let mut map = Map::new();
        for (key, value) in &self.vars {
            let Some(suffix) = key.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let origin = format!("environment variable {key}");
            map.insert(
                toml_key_name(suffix),
                Value::new(Some(&origin), ValueKind::String(value.clone())),
            );
        }
        Ok(map)
    }
}

/// `--name value...` pairs from the command line, in order.
#[derive(Clone, Debug, Default)]
pub struct ArgsSource {
    /// The directives, as the command-line parser produced them.
    pub directives: Vec<Directive>,
}

impl Source for ArgsSource {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        directives_to_map(&self.directives).map_err(|e| config::ConfigError::Foreign(Box::new(e)))
    }
}

/// Converts a merged value into a directive's arguments. Multi-argument parameters (`bind`,
/// `save`) split every string on whitespace and flatten arrays, so `save = "900 1 300 10"`,
/// `save = ["900 1", "300 10"]` and redis.conf's `save 900 1` mean the same; other parameters
/// need exactly one scalar.
pub fn value_to_args(value: &Value, multi_arg: bool) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if multi_arg {
        flatten(value, &mut out)?;
        return Some(out);
    }
    match &value.kind {
        ValueKind::Array(items) if items.len() == 1 => Some(vec![scalar(&items[0])?]),
        ValueKind::Array(_) => None,
        _ => Some(vec![scalar(value)?]),
    }
}

fn flatten(value: &Value, out: &mut Vec<Vec<u8>>) -> Option<()> {
    match &value.kind {
        ValueKind::Array(items) => {
            for item in items {
                flatten(item, out)?;
            }
        }
        _ => out.extend(split_args(&scalar(value)?)?),
    }
    Some(())
}

/// A scalar's text: strings as they are, booleans as `yes`/`no`, numbers in decimal.
fn scalar(value: &Value) -> Option<Vec<u8>> {
    Some(match &value.kind {
        ValueKind::String(s) => s.as_bytes().to_vec(),
        ValueKind::Boolean(b) => if *b { "yes" } else { "no" }.as_bytes().to_vec(),
        ValueKind::I64(n) => n.to_string().into_bytes(),
        ValueKind::I128(n) => n.to_string().into_bytes(),
        ValueKind::U64(n) => n.to_string().into_bytes(),
        ValueKind::U128(n) => n.to_string().into_bytes(),
        ValueKind::Float(f) => f.to_string().into_bytes(),
        ValueKind::Nil | ValueKind::Table(_) | ValueKind::Array(_) => return None,
    })
}

/// A value as the operator wrote it, for error messages.
pub fn describe(value: &Value) -> String {
    match &value.kind {
        ValueKind::Array(items) => items.iter().map(describe).collect::<Vec<_>>().join(" "),
        ValueKind::Table(_) => "(a table)".to_string(),
        ValueKind::Nil => String::new(),
        _ => scalar(value)
            .map(|s| String::from_utf8_lossy(&s).into_owned())
            .unwrap_or_default(),
    }
}
