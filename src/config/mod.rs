//! Configuration: one struct with every parameter, named as in redis.conf, and loading it in
//! layers with the `config` crate.
//!
//! Layers, later ones winning: the built-in defaults ([`Config::default`]) < a configuration
//! file (`aofd.toml`, or a redis.conf read through [`sources::RedisConf`]) < `AOFD_*`
//! environment variables < `--name value` command-line options. The merged values are checked
//! against the parameter table ([`params::PARAMS`]); a name neither aofd nor Redis 7.0 knows,
//! or a bad value, is an error naming the key, the value and where it came from. Redis
//! directives aofd does not implement are accepted and listed in one startup warning, so an
//! existing redis.conf starts aofd.

pub mod cli;
pub mod params;
pub mod redis_names;
pub mod rewrite;
pub mod runtime;
pub mod sources;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use cli::CommandLine;
use sources::{ArgsSource, EnvSource, RedisConf, TomlFile};

/// Who may do something guarded (Redis's `enable-debug-command` and
/// `enable-protected-configs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EnableDebug {
    /// Nobody.
    #[default]
    No,
    /// Everybody.
    Yes,
    /// Only clients on a loopback or Unix-socket connection.
    Local,
}

/// When the AOF is fsync'ed (`appendfsync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AppendFsync {
    /// After every write.
    Always,
    /// Once a second.
    #[default]
    Everysec,
    /// Never explicitly; the kernel decides.
    No,
}

impl AppendFsync {
    /// The name used in redis.conf and CONFIG GET.
    pub fn name(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::Everysec => "everysec",
            AppendFsync::No => "no",
        }
    }
}

/// Every setting aofd understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// TCP port of the data port; 0 disables TCP.
    pub port: u16,
    /// Addresses to listen on.
    pub bind: Vec<String>,
    /// Path of a Unix socket to listen on as well, if any.
    pub unixsocket: Option<String>,
    /// Permissions of the Unix socket file (octal, as in redis.conf).
    pub unixsocketperm: u32,
    /// Data directory; the binary works inside it (relative paths are relative to it).
    pub dir: String,
    /// Number of databases.
    pub databases: usize,
    /// Most simultaneous clients.
    pub maxclients: u64,
    /// Seconds of inactivity after which a client is closed; 0 = never.
    pub timeout: u64,
    /// Password of the default user; empty = no authentication.
    pub requirepass: Vec<u8>,
    /// Largest bulk argument.
    pub proto_max_bulk_len: u64,
    /// Most bytes a client may have buffered.
    pub client_query_buffer_limit: u64,
    /// Frequency of background tasks (active expiry), per second, 1 to 500.
    pub hz: u32,
    /// Who may run DEBUG.
    pub enable_debug_command: EnableDebug,
    /// Who may change protected parameters (`dir`) with CONFIG SET.
    pub enable_protected_configs: EnableDebug,
    /// Log verbosity: debug, verbose, notice, warning, nothing.
    pub loglevel: String,
    /// Log file; empty = standard output.
    pub logfile: String,
    /// File to write the pid to, if any.
    pub pidfile: Option<String>,
    /// `daemonize`: only `no` is supported (aofd stays in the foreground for its supervisor).
    pub daemonize: bool,
    /// Whether AOF persistence is on.
    pub appendonly: bool,
    /// Base name of the AOF files.
    pub appendfilename: String,
    /// Directory (inside `dir`) holding the AOF files and manifest.
    pub appenddirname: String,
    /// The fsync policy.
    pub appendfsync: AppendFsync,
    /// Don't fsync while a rewrite is running.
    pub no_appendfsync_on_rewrite: bool,
    /// Growth (percent of the size after the last rewrite) that triggers a rewrite; 0 = never.
    pub auto_aof_rewrite_percentage: u32,
    /// Smallest AOF size for an automatic rewrite.
    pub auto_aof_rewrite_min_size: u64,
    /// Load a truncated AOF (dropping the incomplete last command) instead of refusing to start.
    pub aof_load_truncated: bool,
    /// Write the rewrite's base file as RDB.
    pub aof_use_rdb_preamble: bool,
    /// Write `#TS:` annotations into the AOF.
    pub aof_timestamp_enabled: bool,
    /// fsync every 4 MB while rewriting.
    pub aof_rewrite_incremental_fsync: bool,
    /// Keep history files after a rewrite instead of deleting them.
    pub aof_disable_auto_gc: bool,
    /// RDB save points (seconds, changes): BGSAVE when that many changes happened within that
    /// many seconds.
    pub save: Vec<(u64, u64)>,
    /// The RDB file's name, in `dir` (SAVE, BGSAVE, save points, loading without the AOF).
    pub dbfilename: String,
    /// fsync every 4 MB while saving an RDB file.
    pub rdb_save_incremental_fsync: bool,
    /// Microseconds a snapshot child sleeps after each key (Redis's testing knob, used by the
    /// tests to make a rewrite or BGSAVE last long enough to observe or kill).
    pub rdb_key_save_delay: u64,
    /// Addresses of the admin HTTP API (`host:port` or `unix:<path>`); empty disables it.
    pub admin_listen: Vec<String>,
    /// File holding the admin API's bearer token; unset: `admin.token` in `dir`, generated
    /// on first start.
    pub admin_token_file: Option<String>,
    /// Whether `/metrics` needs the admin token too.
    pub admin_metrics_auth: bool,
    /// The configuration file the server was started with (absolute), for CONFIG REWRITE.
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".to_string()],
            unixsocket: None,
            unixsocketperm: 0,
            dir: "./data".to_string(),
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            requirepass: Vec::new(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            hz: 10,
            enable_debug_command: EnableDebug::No,
            enable_protected_configs: EnableDebug::No,
            loglevel: "notice".to_string(),
            logfile: String::new(),
            pidfile: None,
            daemonize: false,
            appendonly: false,
            appendfilename: "appendonly.aof".to_string(),
            appenddirname: "appendonlydir".to_string(),
            appendfsync: AppendFsync::Everysec,
            no_appendfsync_on_rewrite: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            aof_timestamp_enabled: false,
            aof_rewrite_incremental_fsync: true,
            aof_disable_auto_gc: false,
            save: vec![(3600, 1), (300, 100), (60, 10000)],
            dbfilename: "dump.rdb".to_string(),
            rdb_save_incremental_fsync: true,
            rdb_key_save_delay: 0,
            admin_listen: vec!["127.0.0.1:8379".to_string()],
            admin_token_file: None,
            admin_metrics_auth: true,
            config_file: None,
        }
    }
}

/// A configuration that cannot be used: what, which value, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The parameter, if the error is about one.
    pub key: Option<String>,
    /// The value as written.
    pub value: Option<String>,
    /// Where it came from: `file:line`, `environment variable AOFD_X`, `command-line flag --x`.
    pub origin: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl ConfigError {
    /// An error not tied to one parameter (an unreadable file, a bad command line).
    pub fn general(reason: impl Into<String>) -> Self {
        ConfigError {
            key: None,
            value: None,
            origin: None,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(origin) = &self.origin {
            write!(f, "{origin}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "'{key}'")?;
            if let Some(value) = &self.value {
                write!(f, " = '{value}'")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// The outcome of loading: the configuration and what the operator should be told about it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The merged, validated configuration.
    pub config: Config,
    /// Redis directives that were accepted but are not implemented (sorted, each once).
    pub unimplemented: Vec<String>,
    /// Other warnings to log once logging is up.
    pub warnings: Vec<String>,
    /// The admin API's recorded settings file, when one was read.
    pub runtime_file: Option<PathBuf>,
}

/// Loads the layered configuration for a command line, reading `AOFD_*` variables from `env`.
///
/// # Errors
/// A [`ConfigError`] naming the key, the value and the source of the first problem found.
pub fn load(cli: &CommandLine, env: EnvSource) -> Result<Loaded, ConfigError> {
    let mut builder = config::Config::builder();
    let mut config_file = None;
    if let Some(file) = &cli.config_file {
        let path = std::fs::canonicalize(file).map_err(|e| {
            ConfigError::general(format!("Fatal error, can't open config file '{file}': {e}"))
        })?;
        std::fs::File::open(&path).map_err(|e| {
            ConfigError::general(format!("Fatal error, can't open config file '{file}': {e}"))
        })?;
        let name = path.to_string_lossy().into_owned();
        builder = if path.extension().is_some_and(|e| e == "toml") {
            let format = TomlFile {
                name: Some(name.clone()),
            };
            builder.add_source(config::File::new(&name, format).required(true))
        } else {
            let format = RedisConf {
                name: Some(name.clone()),
            };
            builder.add_source(config::File::new(&name, format).required(true))
        };
        config_file = Some(path);
    }
    // Settings the admin API recorded (`persist: true`) live in the data directory, which
    // is itself a setting: read everything once to learn `dir`, then again with that file
    // layered above the configuration file and below the environment and the flags.
    let first = layered(builder.clone(), &env, cli, &config_file)?;
    let runtime = runtime_file_path(&first.config.dir);
    if !runtime.exists() {
        let mut loaded = first;
        loaded.config.config_file = config_file;
        return Ok(loaded);
    }
    let name = runtime.to_string_lossy().into_owned();
    let format = RedisConf {
        name: Some(name.clone()),
    };
    builder = builder.add_source(config::File::new(&name, format).required(false));
    let mut loaded = layered(builder, &env, cli, &config_file)?;
    loaded.runtime_file = Some(runtime);
    loaded.config.config_file = config_file;
    Ok(loaded)
}

/// The file in the data directory where the admin API records the settings an operator asked
/// to keep across restarts (`dir` as configured, relative to the working directory).
pub fn runtime_file_path(dir: &str) -> PathBuf {
    Path::new(dir).join(RUNTIME_FILE)
}

/// Its name.
pub const RUNTIME_FILE: &str = "aofd-runtime.conf";

/// Adds the environment and the flags above `builder`'s sources and validates the result.
fn layered(
    builder: config::ConfigBuilder<config::builder::DefaultState>,
    env: &EnvSource,
    cli: &CommandLine,
    config_file: &Option<PathBuf>,
) -> Result<Loaded, ConfigError> {
    let built = builder
        .add_source(env.clone())
        .add_source(ArgsSource {
            directives: cli.directives.clone(),
        })
        .build()
        .map_err(|e| {
            let text = crate_error_text(&e);
            match (&e, &config_file) {
                // A TOML syntax error says line and column but not which file.
                (config::ConfigError::FileParse { cause, .. }, Some(path))
                    if !cause.is::<sources::SourceError>() =>
                {
                    ConfigError::general(format!("{}: {text}", path.display()))
                }
                _ => ConfigError::general(text),
            }
        })?;
    let merged =
        config::Source::collect(&built).map_err(|e| ConfigError::general(crate_error_text(&e)))?;
    apply(merged)
}

/// The text of a `config` crate error: our own sources' messages already name the file and
/// line, so they are used as they are.
fn crate_error_text(e: &config::ConfigError) -> String {
    match e {
        config::ConfigError::FileParse { cause, .. } => cause.to_string(),
        config::ConfigError::Foreign(cause) => cause.to_string(),
        other => other.to_string(),
    }
}

/// Validates merged values against the parameter table and builds the [`Config`].
///
/// # Errors
/// The first unknown key or bad value, in name order (so the report is deterministic).
pub fn apply(merged: config::Map<String, config::Value>) -> Result<Loaded, ConfigError> {
    let mut config = Config::default();
    let mut unimplemented = Vec::new();
    let warnings = Vec::new();
    let mut entries: Vec<_> = merged.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, value) in &entries {
        let error = |reason: &str| ConfigError {
            key: Some(key.clone()),
            value: Some(sources::describe(value)),
            origin: value.origin().map(str::to_string),
            reason: reason.to_string(),
        };
        if let Some(param) = params::find(key) {
            let args = sources::value_to_args(value, param.multi_arg())
                .ok_or_else(|| error("wrong number of arguments"))?;
            (param.set)(&mut config, &args).map_err(|reason| error(&reason))?;
            if param.name == "daemonize" && config.daemonize {
                return Err(error(
                    "daemonize yes is not supported: aofd stays in the foreground for its \
                     supervisor (systemd); set daemonize no, or pass --daemonize no",
                ));
            }
        } else if redis_names::is_redis_directive(key)
            && !matches!(value.kind, config::ValueKind::Table(_))
        {
            unimplemented.push(key.clone());
        } else {
            return Err(error(
                "unknown parameter: neither aofd nor Redis 7.0 knows it (a typo?)",
            ));
        }
    }
    Ok(Loaded {
        config,
        unimplemented,
        warnings,
        runtime_file: None,
    })
}

impl Config {
    /// Builds a configuration from command-line arguments alone (no environment), as a
    /// convenience for tools and tests: `[config file] [--name value ...]`.
    ///
    /// # Errors
    /// A message naming the parameter, value and source that could not be used.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let cli = cli::parse(args)?;
        load(&cli, EnvSource::default())
            .map(|loaded| loaded.config)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests;
