//! `systemctl reload aofd` (SIGHUP): reads the configuration again, exactly as at startup
//! (`config::load` with the original command line: file < `aofd-runtime.conf` < `AOFD_*` <
//! flags), and applies what changed in it.
//!
//! What a reload changes: the parameters whose value in the files differs from the last time
//! they were read. Those CONFIG SET may change are applied through the same path
//! (`cmd::config::set_params`, on the data thread), one at a time, each logged; the others
//! (ports, `bind`, `dir`, `databases`, ...) are logged as needing a restart, at every reload
//! until the restart. A value changed at runtime (CONFIG SET, the admin API) and not changed
//! in the files is kept. A configuration that no longer loads changes nothing.

use std::path::{Path, PathBuf};

use crate::config::params::{Param, PARAMS};
use crate::config::sources::{Directive, EnvSource};
use crate::config::{self, CommandLine, Config};
use crate::server::remote::DataHandle;
use crate::server::state::ServerState;

/// Who a reload's changes are logged as requested by.
pub const REQUESTER: &str = "a configuration reload (SIGHUP)";

/// What a reload needs to read the configuration again and compare it.
#[derive(Debug)]
pub struct Reloader {
    /// The original command line, its configuration file made absolute.
    cli: CommandLine,
    /// The working directory at startup: a relative `dir` is relative to it.
    startup_cwd: PathBuf,
    /// The configuration the process started with (`dir` absolute): the reference for the
    /// parameters that only a restart changes.
    startup: Config,
    /// The values last read from the files (`dir` absolute), updated as changes are applied.
    last: Config,
}

/// One parameter whose value in the files changed.
#[derive(Clone)]
pub struct Change {
    /// The parameter.
    pub param: &'static Param,
    /// Its value before, as CONFIG GET shows it.
    pub old: Vec<u8>,
    /// Its value in the files now.
    pub new: Vec<u8>,
}

impl Change {
    /// The value as it may be logged (a password is never written to the log).
    fn shown(&self, value: &[u8]) -> String {
        if self.param.name == "requirepass" {
            "(hidden)".to_string()
        } else {
            format!("'{}'", String::from_utf8_lossy(value))
        }
    }

    /// The arguments CONFIG SET would pass for the new value (multi-argument parameters are
    /// split on spaces, as CONFIG SET splits them).
    fn args(&self) -> Vec<Vec<u8>> {
        if !self.param.multi_arg() {
            return vec![self.new.clone()];
        }
        if self.new.is_empty() {
            return Vec::new();
        }
        self.new.split(|&b| b == b' ').map(<[u8]>::to_vec).collect()
    }
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Change({})", self.param.name)
    }
}

/// What a newly read configuration changes.
#[derive(Debug, Default)]
pub struct Plan {
    /// Changes CONFIG SET can make at runtime.
    pub apply: Vec<Change>,
    /// Changes that take effect only after a restart.
    pub restart: Vec<Change>,
}

/// `dir` as an absolute path: relative to `cwd` when relative (lexically, as written).
fn absolute_dir(dir: &str, cwd: &Path) -> String {
    let path = Path::new(dir);
    if path.is_absolute() {
        dir.to_string()
    } else {
        cwd.join(path).to_string_lossy().into_owned()
    }
}

impl Reloader {
    /// Remembers how the process was configured: its command line, the working directory it
    /// started in, and the configuration as loaded (before `dir` was entered).
    pub fn new(cli: &CommandLine, loaded: &Config, startup_cwd: PathBuf) -> Reloader {
        let mut cli = cli.clone();
        if let Some(file) = &loaded.config_file {
            cli.config_file = Some(file.to_string_lossy().into_owned());
        }
        let mut startup = loaded.clone();
        startup.dir = absolute_dir(&startup.dir, &startup_cwd);
        Reloader {
            cli,
            startup_cwd,
            last: startup.clone(),
            startup,
        }
    }

    /// The configuration file, if any.
    pub fn config_file(&self) -> Option<&str> {
        self.cli.config_file.as_deref()
    }

    /// Reads the configuration again, as at startup.
    ///
    /// # Errors
    /// The message of the configuration error (nothing is changed then).
    pub fn read(&self) -> Result<Config, String> {
        let env = EnvSource::from_process();
        let first = config::load(&self.cli, env.clone()).map_err(|e| e.to_string())?;
        if Path::new(&first.config.dir).is_absolute() {
            return Ok(first.config);
        }
        // The process now works inside `dir`, so a relative `dir` (and the aofd-runtime.conf
        // looked up in it) must be resolved against the directory it started in.
        let dir = absolute_dir(&first.config.dir, &self.startup_cwd);
        let mut cli = self.cli.clone();
        cli.directives.push(Directive {
            origin: "the directory aofd started in".to_string(),
            name: "dir".to_string(),
            args: vec![dir.into_bytes()],
        });
        config::load(&cli, env)
            .map(|loaded| loaded.config)
            .map_err(|e| e.to_string())
    }

    /// What `new` changes: parameters CONFIG SET may change are compared with the values last
    /// read, the others (and `dir`, whose change would move the data) with the values the
    /// process started with.
    pub fn plan(&self, new: &Config) -> Plan {
        let mut plan = Plan::default();
        for param in PARAMS {
            let runtime = param.mutable && param.name != "dir";
            let reference = if runtime { &self.last } else { &self.startup };
            let old = (param.get)(reference);
            let value = (param.get)(new);
            if old == value {
                continue;
            }
            let change = Change {
                param,
                old,
                new: value,
            };
            if runtime {
                plan.apply.push(change);
            } else {
                plan.restart.push(change);
            }
        }
        plan
    }

    /// Records that `change` was applied, so the next reload compares with it.
    fn applied(&mut self, change: &Change) {
        let _ = (change.param.set)(&mut self.last, &change.args());
    }
}

/// Applies `changes` on the data thread, one at a time through CONFIG SET's path. Each result
/// says whether the change was made (`false`: the server already ran with that value, e.g.
/// set by CONFIG SET before it was written into the file), or why it could not be.
fn apply_all(st: &mut ServerState, changes: &[Change]) -> Vec<Result<bool, String>> {
    changes
        .iter()
        .map(|change| {
            if (change.param.get)(&st.config) == change.new {
                return Ok(false);
            }
            super::with_requester(REQUESTER, || {
                crate::cmd::config::set_params(st, &[(change.param, change.args())], false)
                    .map(|()| true)
                    .map_err(|e| e.0.into_owned())
            })
        })
        .collect()
}

/// One reload: read, compare, apply, log. The `RELOADING=1`/`READY=1` pair is sent by the
/// caller around it.
pub async fn reload(data: &DataHandle, reloader: &mut Reloader) {
    let source = reloader
        .config_file()
        .unwrap_or("(no configuration file)")
        .to_string();
    tracing::warn!(
        aofd_event = "config",
        "Received SIGHUP: reloading the configuration from {source}."
    );
    let new = match reloader.read() {
        Ok(new) => new,
        Err(e) => {
            tracing::warn!(
                aofd_event = "config",
                "The configuration was not reloaded, nothing changed: {e}"
            );
            return;
        }
    };
    let plan = reloader.plan(&new);
    for change in &plan.restart {
        tracing::warn!(
            aofd_event = "config",
            parameter = change.param.name,
            "The configuration now sets {} to {} (running with {}); this takes effect only after \
             a restart.",
            change.param.name,
            change.shown(&change.new),
            change.shown(&change.old)
        );
    }
    let changes = plan.apply;
    let results = if changes.is_empty() {
        Vec::new()
    } else {
        let sent = changes.clone();
        match data.run(move |st| apply_all(st, &sent)).await {
            Ok(results) => results,
            Err(e) => {
                tracing::warn!("The configuration was not reloaded: {e}.");
                return;
            }
        }
    };
    let mut applied = 0;
    for (change, result) in changes.iter().zip(results) {
        match result {
            Ok(false) => reloader.applied(change),
            Ok(true) => {
                applied += 1;
                reloader.applied(change);
                tracing::warn!(
                    aofd_event = "config",
                    parameter = change.param.name,
                    "Applied {} {} from the reloaded configuration (it was {}).",
                    change.param.name,
                    change.shown(&change.new),
                    change.shown(&change.old)
                );
            }
            Err(e) => tracing::warn!(
                aofd_event = "config",
                parameter = change.param.name,
                "Could not apply {} {} from the reloaded configuration: {e}",
                change.param.name,
                change.shown(&change.new)
            ),
        }
    }
    tracing::warn!(
        aofd_event = "config",
        "Configuration reloaded from {source}: {applied} change(s) applied, {} need a restart.",
        plan.restart.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reloader(config: &Config) -> Reloader {
        Reloader::new(&CommandLine::default(), config, PathBuf::from("/srv"))
    }

    #[test]
    fn relative_dir_is_resolved_against_the_startup_directory() {
        assert_eq!(absolute_dir("./data", Path::new("/srv")), "/srv/./data");
        assert_eq!(
            absolute_dir("/var/lib/aofd", Path::new("/srv")),
            "/var/lib/aofd"
        );
    }

    #[test]
    fn plan_splits_runtime_and_restart_changes() {
        let start = Config {
            dir: "/srv/data".to_string(),
            ..Config::default()
        };
        let mut r = reloader(&start);
        let mut new = start.clone();
        new.appendfsync = config::AppendFsync::Always;
        new.port = 7000;
        new.save = vec![(10, 1), (20, 2)];
        let plan = r.plan(&new);
        let names = |v: &[Change]| v.iter().map(|c| c.param.name).collect::<Vec<_>>();
        assert_eq!(names(&plan.apply), ["save", "appendfsync"]);
        assert_eq!(names(&plan.restart), ["port"]);
        assert_eq!(
            plan.apply[0].args(),
            [b"10".to_vec(), b"1".to_vec(), b"20".to_vec(), b"2".to_vec()]
        );
        for change in &plan.apply {
            r.applied(change);
        }
        // Applied changes are not changes any more; the restart one is reported again.
        let again = r.plan(&new);
        assert!(again.apply.is_empty());
        assert_eq!(names(&again.restart), ["port"]);
    }

    #[test]
    fn passwords_are_not_shown() {
        let new = Config {
            requirepass: b"secret".to_vec(),
            ..Config::default()
        };
        let plan = reloader(&Config::default()).plan(&new);
        let change = plan.apply.iter().find(|c| c.param.name == "requirepass");
        assert_eq!(change.map(|c| c.shown(&c.new)).as_deref(), Some("(hidden)"));
    }
}
