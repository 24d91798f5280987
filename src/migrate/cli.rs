//! The subcommands `aofd migrate`, `aofd import` and `aofd migrate-config`: argument parsing,
//! help, output and exit codes (0 success, 1 failure, 2 bad usage). The work itself is in the
//! sibling modules.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::import::{self, Progress};
use super::{apply_pending, label, latest_version, plan, redis_conf, Layout, Plan};
use crate::aof::{LogLevel, MemoryLog};
use crate::config::Config;

const MIGRATE_USAGE: &str = "\
Usage: aofd migrate --dir <dir> [--dry-run] [--config <file>] [--<parameter> <value> ...]

Applies the pending data-directory migrations (migrations/README.md) to <dir>, as aofd does at
startup with appendonly yes. --dry-run prints the plan and changes nothing. The AOF names come
from --config (an aofd.toml or redis.conf) and --appendfilename, --appenddirname, --dbfilename,
--aof-use-rdb-preamble flags; the defaults are Redis's.
";

const IMPORT_USAGE: &str = "\
Usage: aofd import <dump.rdb|appendonly.aof|appendonlydir> --dir <dir> [--config <file>]
                   [--<parameter> <value> ...]

Imports a Redis dataset (an RDB file, a Redis 6 single-file AOF, or a Redis 7 AOF directory)
into <dir> as a new AOF BASE. <dir> must not hold a dataset yet. The source is only read; keys
whose TTL has passed are left out.
";

const MIGRATE_CONFIG_USAGE: &str = "\
Usage: aofd migrate-config <redis.conf>

Prints an aofd.toml equivalent to <redis.conf> (include files followed). Directives aofd does
not support are kept as comments, each with a warning on standard error.
";

/// Runs `aofd <args...>` if `args[0]` names one of these subcommands; `None` otherwise.
pub fn dispatch(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> Option<i32> {
    use std::io::IsTerminal;
    let (first, rest) = args.split_first()?;
    Some(match first.as_str() {
        "migrate" => migrate_main(rest, out, err),
        "import" => import_main(rest, out, err, std::io::stderr().is_terminal()),
        "migrate-config" => migrate_config_main(rest, out, err),
        _ => return None,
    })
}

/// Splits `--dry-run`, `--help` and `--config <file>` from the configuration flags and builds
/// the configuration; `Err((code, message))` on bad usage.
fn config_from(args: &[String], usage: &str) -> Result<(Config, bool, Vec<String>), (i32, String)> {
    let mut flags = Vec::new();
    let mut positional = Vec::new();
    let mut config_file = None;
    let mut dry_run = false;
    let mut saw_dir = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--help" | "-h" => return Err((0, usage.to_string())),
            "--dry-run" => dry_run = true,
            "--config" => match iter.next() {
                Some(file) => config_file = Some(file.clone()),
                None => return Err((2, format!("--config needs a file\n\n{usage}"))),
            },
            flag if flag.starts_with("--") => {
                saw_dir |= flag == "--dir";
                flags.push(arg.clone());
                match iter.next() {
                    Some(value) => flags.push(value.clone()),
                    None => return Err((2, format!("{flag} needs a value\n\n{usage}"))),
                }
            }
            _ => positional.push(arg.clone()),
        }
    }
    if !saw_dir {
        return Err((2, format!("--dir <dir> is required\n\n{usage}")));
    }
    let mut all = Vec::new();
    all.extend(config_file);
    all.extend(flags);
    let config = Config::from_args(&all).map_err(|e| (1, e))?;
    Ok((config, dry_run, positional))
}

/// `aofd migrate ...`; returns the exit code.
pub fn migrate_main(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let (config, dry_run, positional) = match config_from(args, MIGRATE_USAGE) {
        Ok(parsed) => parsed,
        Err((code, text)) => return usage_exit(code, &text, out, err),
    };
    if let Some(extra) = positional.first() {
        return usage_exit(
            2,
            &format!("unexpected argument '{extra}'\n\n{MIGRATE_USAGE}"),
            out,
            err,
        );
    }
    let layout = Layout::from_config(&config);
    if dry_run {
        return match print_plan(&layout, out) {
            Ok(()) => 0,
            Err(e) => {
                let _ = writeln!(err, "aofd migrate: {e}");
                1
            }
        };
    }
    // The lines are printed once the run ended (the logger must be shareable across threads,
    // which a borrowed writer is not): notices to standard output, warnings to standard error.
    let log = MemoryLog::new();
    let result = apply_pending(&layout, &log, &|_| {});
    for (level, line) in log.lines() {
        let _ = match level {
            LogLevel::Notice => writeln!(out, "{line}"),
            LogLevel::Warning => writeln!(err, "warning: {line}"),
        };
    }
    match result {
        Ok(applied) if applied.to > applied.from => {
            let _ = writeln!(
                out,
                "Data directory {} is at format version {}.",
                layout.dir.display(),
                applied.to
            );
            0
        }
        Ok(applied) => {
            let _ = writeln!(
                out,
                "Data directory {} is at format version {} (latest {}); nothing was changed.",
                layout.dir.display(),
                applied.to,
                latest_version()
            );
            0
        }
        Err(e) => {
            let _ = writeln!(err, "aofd migrate: {e}");
            1
        }
    }
}

/// The `--dry-run` output.
fn print_plan(layout: &Layout, out: &mut dyn Write) -> Result<(), super::MigrateError> {
    let (from, steps) = plan(layout)?;
    let latest = latest_version();
    let _ = writeln!(
        out,
        "Data directory: {}\nAOF: {}/{}.manifest\nFormat version: {from} (latest {latest})",
        layout.dir.display(),
        layout.dirname(),
        layout.names.filename
    );
    if steps.is_empty() {
        let _ = writeln!(out, "Nothing to do.");
        return Ok(());
    }
    let _ = writeln!(out, "Plan:");
    let mut changes = false;
    for (m, p) in &steps {
        match p {
            Plan::Apply(what) => {
                changes = true;
                let _ = writeln!(out, "  {}: {what}", label(m));
            }
            Plan::Nothing(why) => {
                let _ = writeln!(out, "  {}: nothing to do ({why})", label(m));
            }
        }
    }
    if changes || !layout.manifest()?.is_empty() {
        let _ = writeln!(
            out,
            "  then: record format version {latest} in {}/{}",
            layout.dirname(),
            layout.marker_name()
        );
    } else {
        let _ = writeln!(
            out,
            "  then: nothing to record (no AOF yet; the first start creates one)"
        );
    }
    let _ = writeln!(out, "Dry run: nothing was changed.");
    Ok(())
}

/// `aofd import ...`; returns the exit code. `tty`: standard error is a terminal (progress
/// bar).
pub fn import_main(args: &[String], out: &mut dyn Write, err: &mut dyn Write, tty: bool) -> i32 {
    let (config, _, positional) = match config_from(args, IMPORT_USAGE) {
        Ok(parsed) => parsed,
        Err((code, text)) => return usage_exit(code, &text, out, err),
    };
    let source = match positional.as_slice() {
        [one] => PathBuf::from(one),
        _ => {
            return usage_exit(
                2,
                &format!("one source is required\n\n{IMPORT_USAGE}"),
                out,
                err,
            )
        }
    };
    let layout = Layout::from_config(&config);
    let result = {
        let mut bar = Progress::new(&mut *err, tty);
        let r = import::import(&source, &layout, &mut bar);
        bar.clear();
        r
    };
    match result {
        Ok(imported) => {
            let _ = write!(out, "{}", import::summary(&source, &imported));
            0
        }
        Err(e) => {
            let _ = writeln!(err, "aofd import: {e}");
            1
        }
    }
}

/// `aofd migrate-config <redis.conf>`; returns the exit code.
pub fn migrate_config_main(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let path = match args {
        [flag] if flag == "--help" || flag == "-h" => {
            return usage_exit(0, MIGRATE_CONFIG_USAGE, out, err)
        }
        [path] => path,
        _ => return usage_exit(2, MIGRATE_CONFIG_USAGE, out, err),
    };
    let text = match std::fs::read_to_string(Path::new(path)) {
        Ok(text) => text,
        Err(e) => {
            let _ = writeln!(err, "aofd migrate-config: can't read {path}: {e}");
            return 1;
        }
    };
    match redis_conf::convert(path, &text) {
        Ok(converted) => {
            for w in &converted.warnings {
                let _ = writeln!(err, "warning: {w}");
            }
            let _ = write!(out, "{}", converted.toml);
            0
        }
        Err(e) => {
            let _ = writeln!(err, "aofd migrate-config: {e}");
            1
        }
    }
}

fn usage_exit(code: i32, text: &str, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let _ = if code == 0 {
        write!(out, "{text}")
    } else {
        write!(err, "{text}")
    };
    code
}
