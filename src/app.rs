//! Wires the subsystems together for the binary: command line, configuration, working
//! directory, logging, pidfile, the data thread.
//!
//! Startup follows Redis's order and words, so operators recognise it: configuration first
//! (a bad one exits with code 1 before anything else happens), then `chdir` into `dir` (created
//! if missing), so relative paths (`logfile`, `pidfile`, `unixsocket`, the AOF directory) are
//! relative to it as in Redis, then logging, the pidfile and the server.

use std::path::PathBuf;

use crate::config::sources::EnvSource;
use crate::config::{self, Config, Loaded};
use crate::server::{self, StartOptions};

/// The version line printed by `--version`, shaped like `redis-server --version`.
pub fn version_line() -> String {
    format!(
        "aofd v={} redis-compat=7.0.15 bits={}",
        env!("CARGO_PKG_VERSION"),
        usize::BITS
    )
}

/// Runs the binary with the arguments after the program name. Returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let cli = match config::cli::parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("{e}\n\n{}", config::cli::usage());
            return 1;
        }
    };
    if cli.help {
        print!("{}", config::cli::usage());
        return 0;
    }
    if cli.version {
        println!("{}", version_line());
        return 0;
    }
    let loaded = match config::load(&cli, EnvSource::from_process()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!(
                "\n*** FATAL CONFIG ERROR (aofd {}) ***\n{e}",
                env!("CARGO_PKG_VERSION")
            );
            return 1;
        }
    };
    if cli.check_config {
        let source = cli
            .config_file
            .as_deref()
            .unwrap_or("(no configuration file)");
        for warning in startup_warnings(&loaded) {
            println!("warning: {warning}");
        }
        println!("Configuration OK: {source}");
        return 0;
    }
    run_with(loaded, Some(&cli))
}

/// The warnings to log once logging is up.
fn startup_warnings(loaded: &Loaded) -> Vec<String> {
    let mut warnings = Vec::new();
    if !loaded.unimplemented.is_empty() {
        warnings.push(format!(
            "These Redis directives are accepted but not implemented by aofd, and are ignored: {}",
            loaded.unimplemented.join(", ")
        ));
    }
    warnings.extend(loaded.warnings.iter().cloned());
    warnings
}

/// Creates `dir` if needed and makes it the working directory, as Redis does; records its
/// absolute path in the configuration (what CONFIG GET dir reports).
fn enter_dir(config: &mut Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.dir)
        .map_err(|e| format!("Can't create the data directory '{}': {e}", config.dir))?;
    std::env::set_current_dir(&config.dir)
        .map_err(|e| format!("Can't chdir to '{}': {e}", config.dir))?;
    if let Ok(cwd) = std::env::current_dir() {
        config.dir = cwd.to_string_lossy().into_owned();
    }
    Ok(())
}

/// The admin API's settings, with its token read (or generated and logged); `None` when
/// `admin-listen` is empty.
///
/// # Errors
/// The token file named by `admin-token-file` can't be read, or the generated one written.
fn admin_config(config: &Config) -> Result<Option<crate::admin::AdminConfig>, String> {
    if config.admin_listen.is_empty() {
        return Ok(None);
    }
    let dir = PathBuf::from(&config.dir);
    let token = crate::admin::auth::Token::load(config.admin_token_file.as_deref(), &dir)?;
    if token.generated {
        tracing::warn!(
            file = %token.path.display(),
            "Generated an admin API token in {} (mode 0600); send it as \
             `Authorization: Bearer <token>`.",
            token.path.display()
        );
    } else if token.world_readable() {
        tracing::warn!(
            file = %token.path.display(),
            "The admin token file {} is readable by every user; chmod o-r it.",
            token.path.display()
        );
    }
    Ok(Some(crate::admin::AdminConfig {
        listen: config.admin_listen.clone(),
        token,
        metrics_auth: config.admin_metrics_auth,
        dir,
    }))
}

/// Runs the daemon with a loaded configuration until it is shut down. Returns the exit code.
pub fn run(loaded: Loaded) -> i32 {
    run_with(loaded, None)
}

/// [`run`]; with the command line the configuration came from, SIGHUP reloads it.
fn run_with(loaded: Loaded, cli: Option<&config::CommandLine>) -> i32 {
    let warnings = startup_warnings(&loaded);
    let mut config = loaded.config;
    crate::service::notify::arm();
    let reloader = match (cli, std::env::current_dir()) {
        (Some(cli), Ok(cwd)) => Some(crate::service::reload::Reloader::new(cli, &config, cwd)),
        _ => None,
    };
    if let Err(e) = enter_dir(&mut config) {
        eprintln!("{e}");
        return 1;
    }
    if let Err(e) = crate::logging::init(&config.loglevel, &config.logfile) {
        eprintln!(
            "\n*** FATAL CONFIG ERROR (aofd {}) ***\n'logfile' = '{}': {e}",
            env!("CARGO_PKG_VERSION"),
            config.logfile
        );
        return 1;
    }
    let pid = std::process::id();
    tracing::warn!("oO0OoO0OoO0Oo aofd is starting oO0OoO0OoO0Oo");
    tracing::warn!(
        aofd_event = "startup",
        "aofd version={}, bits={}, pid={pid}, just started",
        env!("CARGO_PKG_VERSION"),
        usize::BITS
    );
    match &config.config_file {
        Some(file) => {
            tracing::warn!(file = %file.display(), aofd_event = "config", "Configuration loaded");
        }
        None => {
            tracing::warn!(
                "Warning: no config file specified, using the default config. In order to \
                 specify a config file use aofd /path/to/aofd.toml or /path/to/redis.conf"
            );
            tracing::warn!(aofd_event = "config", "Configuration loaded");
        }
    }
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    crate::logging::set_role('M');
    tracing::info!(dir = %config.dir, "Running mode=standalone, port={}.", config.port);
    let pidfile = config.pidfile.as_ref().map(PathBuf::from);
    if let Some(path) = &pidfile {
        if let Err(e) = std::fs::write(path, format!("{pid}\n")) {
            tracing::warn!(pidfile = %path.display(), "Failed to write PID file: {e}");
        }
    }
    tracing::warn!("Server initialized");
    // Pending data-directory migrations (migrations/README.md), before the AOF is loaded.
    if config.appendonly {
        if let Err(e) = crate::migrate::run_at_startup(&config) {
            tracing::warn!("{e}");
            if let Some(path) = &pidfile {
                let _ = std::fs::remove_file(path);
            }
            return 1;
        }
    }
    let admin = match admin_config(&config).and_then(|c| c.map(crate::admin::bind).transpose()) {
        Ok(admin) => admin,
        Err(e) => {
            tracing::warn!("{e}");
            if let Some(path) = &pidfile {
                let _ = std::fs::remove_file(path);
            }
            return 1;
        }
    };
    let code = match server::start(
        config,
        StartOptions {
            handle_signals: true,
            ephemeral_port: false,
        },
    ) {
        Ok(running) => match admin.map(|a| a.serve(running.data.clone())).transpose() {
            Ok(admin) => {
                crate::service::notify::admin_ready();
                if let Err(e) = crate::service::start(running.data.clone(), reloader) {
                    tracing::warn!("Can't start the service thread (watchdog, reloads): {e}");
                }
                let code = running.thread.join().unwrap_or(1);
                if let Some(admin) = admin {
                    admin.stop();
                }
                code
            }
            Err(e) => {
                tracing::warn!("{e}");
                running.stop();
                1
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "Startup failed.");
            1
        }
    };
    if let Some(path) = &pidfile {
        let _ = std::fs::remove_file(path);
    }
    code
}
