//! The binary's command line, read the way `redis-server` reads its own:
//! `aofd [/path/to/redis.conf | /path/to/aofd.toml] [--name value ...]`.
//!
//! Like Redis, every `--name` starts a directive and the arguments after it (up to the next
//! `--name`) are its values, so `--save 900 1 --port 7000` works; a value may itself start with
//! `--` when it directly follows its name (`--requirepass --secret`). aofd's own flags
//! (`--check-config`, `--version`, `--help`) are recognised wherever a name may stand.

use super::sources::Directive;
use crate::protocol::splitargs::split_args;

/// What the command line asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// The configuration file, if one was given (the first argument not starting with `-`).
    pub config_file: Option<String>,
    /// `--check-config`: validate the configuration and exit 0 or 1 without starting.
    pub check_config: bool,
    /// `--version` / `-v`.
    pub version: bool,
    /// `--help` / `-h`.
    pub help: bool,
    /// `--name value...` directives, in order.
    pub directives: Vec<Directive>,
}

/// The usage text for `--help`.
pub fn usage() -> String {
    format!(
        "aofd {version}: a Redis-compatible in-memory key-value server.

Usage: aofd [/path/to/redis.conf | /path/to/aofd.toml] [options]
       aofd --check-config [/path/to/config] [options]
       aofd check-aof [--fix] [--yes] [--truncate-to-timestamp T] <manifest|file>
       aofd restore <backup.tar|-> --dir <dir> [--force]
       aofd migrate --dir <dir> [--dry-run] [--config <file>] [options]
       aofd import <dump.rdb|appendonly.aof|appendonlydir> --dir <dir> [--config <file>]
       aofd migrate-config <redis.conf>
       aofd -v or --version
       aofd -h or --help

The configuration file is TOML when its name ends in .toml, and redis.conf syntax otherwise.
Options are configuration parameters with Redis's names, which override the file and the
AOFD_<NAME> environment variables (AOFD_PORT, AOFD_PROTO_MAX_BULK_LEN, ...).

Server:
  --check-config       validate the configuration (file, environment, options) and exit 0 if
                       it is valid, 1 with the offending key, value and origin if not
  -v, --version        print the version and exit
  -h, --help           print this help and exit
  Signals: SIGTERM/SIGINT shut down (final fsync), SIGHUP re-reads the configuration file.

Subcommands (each takes --help, except check-aof, which takes Redis's redis-check-aof syntax):
  check-aof            check a multi-part AOF (its manifest) or a single AOF file, as
                       redis-check-aof does; --fix truncates it to the last valid command
                       (asks first, --yes answers), --truncate-to-timestamp T cuts at the
                       #TS annotation T; exit 0 when valid
  restore              restore a backup from the admin API (GET /v1/backup) into --dir,
                       checking every SHA-256 first; - reads it from standard input; --force
                       restores into a non-empty directory
  migrate              apply pending data-directory migrations (a Redis 6 appendonly.aof, a
                       lone dump.rdb) to --dir; --dry-run only prints the plan
  import               build a new data directory --dir from a Redis RDB file, single-file AOF
                       or AOF directory
  migrate-config       print an aofd.toml equivalent to a redis.conf

Examples:
       aofd (run with the built-in defaults: 127.0.0.1:6379, dir ./data)
       aofd /etc/aofd/aofd.toml
       aofd /etc/redis/redis.conf --port 7777 --daemonize no
       aofd --port 7777 --save \"900 1\" --loglevel verbose
       aofd --check-config /etc/aofd/aofd.toml
       aofd check-aof /var/lib/aofd/appendonlydir/appendonly.aof.manifest
       curl -H \"Authorization: Bearer $(cat /etc/aofd/admin.token)\" \\
           http://127.0.0.1:8379/v1/backup | aofd restore - --dir /srv/aofd-restored
",
        version = env!("CARGO_PKG_VERSION")
    )
}

/// Handles one of aofd's own flags; returns false if `arg` is not one.
fn own_flag(cli: &mut CommandLine, arg: &str) -> bool {
    match arg {
        "--check-config" => cli.check_config = true,
        "-v" | "--version" => cli.version = true,
        "-h" | "--help" => cli.help = true,
        _ => return false,
    }
    true
}

/// Parses the arguments after the program name.
///
/// # Errors
/// An argument that is neither the configuration file, an option name nor an option's value.
pub fn parse(args: &[String]) -> Result<CommandLine, String> {
    let mut cli = CommandLine::default();
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        if own_flag(&mut cli, first) {
            rest = tail;
        } else {
            break;
        }
    }
    if let Some((first, tail)) = rest.split_first() {
        if !first.starts_with('-') {
            cli.config_file = Some(first.clone());
            rest = tail;
        }
    }
    // Whether the current directive has at least one argument, so that a following `--x`
    // starts a new directive rather than being taken as a value.
    let mut has_value = true;
    let mut iter = rest.iter().peekable();
    while let Some(arg) = iter.next() {
        if has_value && arg.starts_with("--") {
            if own_flag(&mut cli, arg) {
                continue;
            }
            // `"--port 6380"` as one argument carries its value with it, as in Redis.
            let parts = split_args(&arg.as_bytes()[2..]).unwrap_or_default();
            let Some((name, values)) = parts.split_first() else {
                return Err(format!("Bad option name '{arg}'"));
            };
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            let mut directive = Directive {
                origin: format!("command-line flag --{name}"),
                name,
                args: values.to_vec(),
            };
            has_value = !directive.args.is_empty();
            // `--save` with no value (last, or followed by another option) means `--save ""`,
            // which Redis 7.0.1+ accepts for generated command lines.
            if !has_value && directive.name == "save" {
                let next_is_option = iter.peek().is_none_or(|n| n.starts_with("--"));
                if next_is_option {
                    directive.args.push(Vec::new());
                    has_value = true;
                }
            }
            cli.directives.push(directive);
        } else {
            let Some(current) = cli.directives.last_mut() else {
                return Err(format!(
                    "Unexpected argument '{arg}': options are written --name value, and only the \
                     first argument may be a configuration file"
                ));
            };
            current.args.push(arg.as_bytes().to_vec());
            has_value = true;
        }
    }
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<CommandLine, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn directives(cli: &CommandLine) -> Vec<(String, Vec<String>)> {
        cli.directives
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    d.args
                        .iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn config_file_then_options() {
        let cli = parse_strs(&["/etc/redis.conf", "--port", "7000", "--save", "900", "1"]).unwrap();
        assert_eq!(cli.config_file.as_deref(), Some("/etc/redis.conf"));
        assert_eq!(
            directives(&cli),
            vec![
                ("port".to_string(), vec!["7000".to_string()]),
                ("save".to_string(), vec!["900".to_string(), "1".to_string()]),
            ]
        );
    }

    #[test]
    fn own_flags_anywhere() {
        let cli = parse_strs(&["--check-config", "a.toml", "--port", "1", "--version"]).unwrap();
        assert!(cli.check_config && cli.version);
        assert_eq!(cli.config_file.as_deref(), Some("a.toml"));
        assert!(parse_strs(&["-h"]).unwrap().help);
    }

    #[test]
    fn values_may_start_with_dashes_and_save_may_be_empty() {
        let cli = parse_strs(&["--requirepass", "--x", "--save", "--port", "1", "--save"]).unwrap();
        assert_eq!(
            directives(&cli),
            vec![
                ("requirepass".to_string(), vec!["--x".to_string()]),
                ("save".to_string(), vec![String::new()]),
                ("port".to_string(), vec!["1".to_string()]),
                ("save".to_string(), vec![String::new()]),
            ]
        );
        let cli = parse_strs(&["--port 6380"]).unwrap();
        assert_eq!(
            directives(&cli),
            vec![("port".to_string(), vec!["6380".to_string()])]
        );
    }

    #[test]
    fn stray_arguments_are_errors() {
        assert!(parse_strs(&["a.conf", "b.conf"]).is_err());
        assert_eq!(parse_strs(&["--port"]).unwrap().directives[0].args.len(), 0);
    }
}
