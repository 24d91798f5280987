//! Configuration: one struct with every parameter, named as in redis.conf.
//!
//! Placeholder shape: the configuration work owns this module (layered loading, redis.conf
//! format, CONFIG GET/SET table). The fields below are what the core reads.

use serde::Deserialize;

/// Who may run DEBUG (Redis 7 `enable-debug-command`).
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

/// Every setting aofd understands.
#[derive(Clone, Debug)]
pub struct Config {
    /// TCP port of the data port; 0 disables TCP.
    pub port: u16,
    /// Addresses to listen on.
    pub bind: Vec<String>,
    /// Path of a Unix socket to listen on as well, if any.
    pub unixsocket: Option<String>,
    /// Permissions of the Unix socket file (octal, as in redis.conf).
    pub unixsocketperm: u32,
    /// Data directory.
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
    /// Frequency of background tasks (active expiry), per second.
    pub hz: u32,
    /// Who may run DEBUG.
    pub enable_debug_command: EnableDebug,
    /// Log verbosity: debug, verbose, notice, warning, nothing.
    pub loglevel: String,
    /// Log file; empty = standard output.
    pub logfile: String,
    /// File to write the pid to, if any.
    pub pidfile: Option<String>,
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
            loglevel: "notice".to_string(),
            logfile: String::new(),
            pidfile: None,
        }
    }
}

impl Config {
    /// Builds a configuration from `--name value` pairs (placeholder for the layered loader).
    ///
    /// # Errors
    /// A message naming the parameter and value that could not be used.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config::default();
        let mut it = args.iter();
        while let Some(name) = it.next() {
            let key = name.trim_start_matches("--");
            let value = it
                .next()
                .ok_or_else(|| format!("Missing value for '{name}'"))?;
            let bad = || format!("Bad value '{value}' for '{key}'");
            match key {
                "port" => config.port = value.parse().map_err(|_| bad())?,
                "bind" => config.bind = value.split_whitespace().map(String::from).collect(),
                "dir" => config.dir.clone_from(value),
                "requirepass" => config.requirepass = value.as_bytes().to_vec(),
                "timeout" => config.timeout = value.parse().map_err(|_| bad())?,
                "maxclients" => config.maxclients = value.parse().map_err(|_| bad())?,
                "unixsocket" => config.unixsocket = Some(value.clone()),
                "loglevel" => config.loglevel.clone_from(value),
                _ => return Err(format!("Unknown parameter '{key}'")),
            }
        }
        Ok(config)
    }
}
