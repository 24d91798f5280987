//! Data-directory migrations: every change to what a data directory holds, as numbered steps
//! (`migrations/NNNN-name/README.md` documents each one; the code is registered in order in
//! [`MIGRATIONS`]), the format version they bring a directory to, and the runner that applies the
//! pending ones at startup (`appendonly yes`) or on request (`aofd migrate`).
//!
//! The version lives in a marker file beside the manifest, `<appenddirname>/<appendfilename>.
//! aofd-format` (redis-server never reads the AOF directory beyond the files its manifest names,
//! so it ignores it). It counts only while the manifest lists a dataset: a directory whose
//! manifest is missing or empty is at version 0, whatever a leftover marker says, so that a data
//! directory is always judged by what it holds. A migration is pending when its number is above
//! the recorded version (or, for a rule redis-server applies at every start such as 0001's
//! upgrade, always); each one first looks at the directory and either does its step or says
//! why there is nothing to do; once all pending ones succeeded the latest version is recorded.
//!
//! Crash safety: every step is written so that dying at any instant leaves a directory the next
//! run finishes (each migration's README says how); `server::failpoint` names each step for the
//! crash tests. No step deletes the only copy of anything.
//!
//! Submodules: [`m0001_legacy_aof`] and [`m0002_dump_rdb`] (the steps), [`dataset`] (loading a
//! dataset offline and writing a BASE), [`import`] (`aofd import`), [`redis_conf`]
//! (`aofd migrate-config`), [`cli`] (the three subcommands and `aofd migrate`).

pub mod cli;
pub mod dataset;
pub mod import;
pub mod m0001_legacy_aof;
pub mod m0002_dump_rdb;
pub mod redis_conf;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::aof::manifest::{fsync_dir, write_file_atomically, AofManifest, ManifestError};
use crate::aof::names::{AofNames, BaseFormat};
use crate::aof::{io_strerror, AofLogger, LogLevel};
use crate::config::Config;
use crate::server::failpoint;

/// Suffix of the format marker, after `appendfilename`.
pub const MARKER_SUFFIX: &str = ".aofd-format";

/// Where a data directory keeps its files, from the configuration.
#[derive(Clone, Debug)]
pub struct Layout {
    /// `dir`.
    pub dir: PathBuf,
    /// `<dir>/<appenddirname>`.
    pub aof_dir: PathBuf,
    /// AOF file names (`appendfilename`).
    pub names: AofNames,
    /// The configuration the directory is used with (`appenddirname`, `dbfilename`,
    /// `aof-use-rdb-preamble`, `databases`...).
    pub config: Config,
}

impl Layout {
    /// The layout `config` describes (`dir` as configured).
    pub fn from_config(config: &Config) -> Layout {
        let dir = PathBuf::from(&config.dir);
        Layout {
            aof_dir: dir.join(&config.appenddirname),
            dir,
            names: AofNames::new(&config.appendfilename),
            config: config.clone(),
        }
    }

    /// `<dir>/<appendfilename>`: where Redis 6 and earlier kept their single AOF.
    pub fn legacy_path(&self) -> PathBuf {
        self.dir.join(&self.names.filename)
    }

    /// `<dir>/<dbfilename>`.
    pub fn dump_path(&self) -> PathBuf {
        self.dir.join(&self.config.dbfilename)
    }

    /// The format marker's path.
    pub fn marker_path(&self) -> PathBuf {
        self.aof_dir.join(self.marker_name())
    }

    /// The format marker's name.
    pub fn marker_name(&self) -> String {
        format!("{}{MARKER_SUFFIX}", self.names.filename)
    }

    /// The BASE format the configuration asks for (`aof-use-rdb-preamble`).
    pub fn base_format(&self) -> BaseFormat {
        if self.config.aof_use_rdb_preamble {
            BaseFormat::Rdb
        } else {
            BaseFormat::Resp
        }
    }

    /// The manifest on disk (empty when the AOF directory or the manifest is missing).
    ///
    /// # Errors
    /// The manifest exists but cannot be read or parsed.
    pub fn manifest(&self) -> Result<AofManifest, MigrateError> {
        AofManifest::load_from_dir(&self.aof_dir, &self.names).map_err(MigrateError::Manifest)
    }

    /// `appenddirname` as configured, for messages.
    pub fn dirname(&self) -> &str {
        &self.config.appenddirname
    }
}

/// Why a migration could not run.
#[derive(Debug)]
pub enum MigrateError {
    /// The manifest is unreadable or malformed: the server's own startup reports it with
    /// Redis's lines, so the startup runner leaves it to that.
    Manifest(ManifestError),
    /// Anything else, worded for the operator.
    Other(String),
}

impl MigrateError {
    /// An error with a message.
    pub fn msg(text: impl Into<String>) -> Self {
        MigrateError::Other(text.into())
    }

    /// An I/O error while doing `what` on `path`.
    pub fn io(what: &str, path: &Path, e: &io::Error) -> Self {
        MigrateError::Other(format!("{what} {}: {}", path.display(), io_strerror(e)))
    }
}

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateError::Manifest(e) => {
                for line in e.log_lines() {
                    f.write_str(line.trim_matches('\n'))?;
                    f.write_str(" ")?;
                }
                Ok(())
            }
            MigrateError::Other(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for MigrateError {}

/// What a migration would do to a directory as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing: the directory is not in the state the migration changes (the reason says why).
    Nothing(String),
    /// The step, described for the operator.
    Apply(String),
}

/// One numbered data-directory format change.
pub struct Migration {
    /// Its number (`migrations/NNNN-name`), 1, 2, ... in order.
    pub id: u32,
    /// Its short name (`legacy-aof`).
    pub name: &'static str,
    /// Whether it looks at the directory at every run, whatever the recorded version: for a
    /// rule redis-server itself applies at every start (0001), so a directory behaves as it
    /// would under Redis even if it changed behind the marker's back.
    pub every_run: bool,
    /// Looks at the directory and says what [`Migration::apply`] would do.
    pub plan: fn(&Layout) -> Result<Plan, MigrateError>,
    /// Does the step (nothing if the plan is [`Plan::Nothing`]), logging what it does.
    pub apply: fn(&Layout, &dyn AofLogger) -> Result<(), MigrateError>,
}

/// Every migration, in order. A new one is appended here with the next number, with its
/// `migrations/NNNN-name/` entry.
pub static MIGRATIONS: &[Migration] = &[m0001_legacy_aof::MIGRATION, m0002_dump_rdb::MIGRATION];

/// The format version a directory has once every migration ran.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.id)
}

/// The label of a migration in messages: `0001 (legacy-aof)`.
pub fn label(m: &Migration) -> String {
    format!("{:04} ({})", m.id, m.name)
}

/// The version recorded for the directory: 0 without a dataset (no manifest, or an empty one)
/// or without a marker.
///
/// # Errors
/// The manifest is malformed, the marker unreadable, or written by a newer aofd.
pub fn recorded_version(layout: &Layout) -> Result<u32, MigrateError> {
    if layout.manifest()?.is_empty() {
        return Ok(0);
    }
    let path = layout.marker_path();
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(MigrateError::io("Can't read the format marker", &path, &e)),
    };
    let version = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .find_map(|l| l.strip_prefix("version "))
        .and_then(|v| v.trim().parse::<u32>().ok())
        .ok_or_else(|| {
            MigrateError::msg(format!(
                "The format marker {} is not 'version <n>'; restore it, or delete it to have \
                 every migration look at the directory again",
                path.display()
            ))
        })?;
    if version > latest_version() {
        return Err(MigrateError::msg(format!(
            "The data directory {} is at format version {version}, written by a newer aofd; \
             this one knows versions up to {}. Upgrade aofd (or restore a backup).",
            layout.dir.display(),
            latest_version()
        )));
    }
    Ok(version)
}

/// Records `version` in the marker: temp file, fdatasync, rename, fsync of the directory.
///
/// # Errors
/// Writing, syncing or renaming failed.
pub fn record_version(layout: &Layout, version: u32) -> io::Result<()> {
    let text = format!(
        "# aofd data-directory format (see migrations/README.md); redis-server ignores it.\n\
         version {version}\n"
    );
    write_file_atomically(&layout.aof_dir, &layout.marker_name(), text.as_bytes())?;
    fsync_dir(&layout.aof_dir)
}

/// Each pending migration with what it would do now.
pub type Steps = Vec<(&'static Migration, Plan)>;

/// The recorded version and the pending migrations with what each would do now.
///
/// # Errors
/// The directory cannot be examined (see [`recorded_version`] and each migration's plan).
pub fn plan(layout: &Layout) -> Result<(u32, Steps), MigrateError> {
    let from = recorded_version(layout)?;
    let mut steps = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.id > from || m.every_run) {
        let p = (m.plan)(layout)?;
        if m.id > from || matches!(p, Plan::Apply(_)) {
            steps.push((m, p));
        }
    }
    Ok((from, steps))
}

/// What [`apply_pending`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The version before.
    pub from: u32,
    /// The version recorded after (equal to `from` when nothing was pending, or when there is
    /// no dataset to record it for).
    pub to: u32,
    /// The migrations that changed something.
    pub changed: Vec<u32>,
}

/// Applies every pending migration in order, logging each through `log` and announcing each
/// step through `status`, then records the latest version if the directory holds a dataset.
///
/// # Errors
/// The first migration that failed; later ones are not tried and the version is not recorded.
pub fn apply_pending(
    layout: &Layout,
    log: &dyn AofLogger,
    status: &dyn Fn(&str),
) -> Result<Applied, MigrateError> {
    let from = recorded_version(layout)?;
    let mut applied = Applied {
        from,
        to: from,
        changed: Vec::new(),
    };
    for m in MIGRATIONS.iter().filter(|m| m.id > from || m.every_run) {
        match (m.plan)(layout)? {
            Plan::Nothing(_) if m.id <= from => {}
            Plan::Nothing(reason) => log.log(
                LogLevel::Notice,
                &format!(
                    "Data-directory migration {}: nothing to do ({reason}).",
                    label(m)
                ),
            ),
            Plan::Apply(what) => {
                let text = format!("Applying data-directory migration {}: {what}", label(m));
                status(&text);
                log.log(LogLevel::Notice, &text);
                (m.apply)(layout, log)?;
                log.log(
                    LogLevel::Notice,
                    &format!("Data-directory migration {} done.", label(m)),
                );
                applied.changed.push(m.id);
            }
        }
    }
    let latest = latest_version();
    if from < latest && !layout.manifest()?.is_empty() {
        record_version(layout, latest).map_err(|e| {
            MigrateError::io(
                "Can't record the format version in",
                &layout.marker_path(),
                &e,
            )
        })?;
        failpoint::hit("migrate-version-recorded");
        applied.to = latest;
        log.log(
            LogLevel::Notice,
            &format!(
                "Data directory format version {latest} recorded in {}/{}.",
                layout.dirname(),
                layout.marker_name()
            ),
        );
    }
    Ok(applied)
}

/// The startup hook (`appendonly yes`, before the AOF is loaded): applies pending migrations,
/// logging through `tracing` and announcing each step with [`crate::status::announce`]. A
/// malformed manifest is left to the loader, which reports it with Redis's exact lines.
///
/// # Errors
/// A migration failed (the reason is in the error; the server must not start).
pub fn run_at_startup(config: &Config) -> Result<(), MigrateError> {
    let layout = Layout::from_config(config);
    match apply_pending(&layout, &crate::aof::TracingLog, &crate::status::announce) {
        Ok(_) | Err(MigrateError::Manifest(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether `path` is a regular file (following symlinks, as Redis's `fileExist`).
pub(crate) fn is_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Creates the AOF directory if missing and makes its entry durable in `dir`.
///
/// # Errors
/// Creating or syncing failed; Redis's message is logged.
pub(crate) fn create_aof_dir(layout: &Layout, log: &dyn AofLogger) -> Result<(), MigrateError> {
    let created = fs::create_dir_all(&layout.aof_dir).and_then(|()| fsync_dir(&layout.dir));
    created.map_err(|e| {
        let text = format!(
            "Can't open or create append-only dir {}: {}",
            layout.dirname(),
            io_strerror(&e)
        );
        log.log(LogLevel::Warning, &text);
        MigrateError::Other(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::MemoryLog;

    fn layout(dir: &Path) -> Layout {
        Layout::from_config(&Config {
            dir: dir.to_string_lossy().into_owned(),
            ..Config::default()
        })
    }

    #[test]
    fn registry_is_numbered_in_order() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.id as usize, i + 1, "{}", m.name);
        }
        assert_eq!(latest_version(), 2);
    }

    #[test]
    fn version_needs_a_dataset_and_a_marker() {
        let tmp = tempfile::tempdir().unwrap();
        let l = layout(tmp.path());
        assert_eq!(recorded_version(&l).unwrap(), 0);
        fs::create_dir_all(&l.aof_dir).unwrap();
        // A marker without a dataset does not count.
        record_version(&l, 2).unwrap();
        assert_eq!(recorded_version(&l).unwrap(), 0);
        fs::write(
            l.aof_dir.join("appendonly.aof.manifest"),
            "file appendonly.aof.1.base.rdb seq 1 type b\n",
        )
        .unwrap();
        assert_eq!(recorded_version(&l).unwrap(), 2);
        fs::write(l.marker_path(), "version 9\n").unwrap();
        let e = recorded_version(&l).unwrap_err().to_string();
        assert!(
            e.contains("format version 9, written by a newer aofd"),
            "{e}"
        );
        fs::write(l.marker_path(), "garbage\n").unwrap();
        assert!(recorded_version(&l).is_err());
    }

    #[test]
    fn legacy_upgrade_is_checked_whatever_the_version() {
        let tmp = tempfile::tempdir().unwrap();
        let l = layout(tmp.path());
        fs::create_dir_all(&l.aof_dir).unwrap();
        // At version 2, a manifest naming only the legacy BASE, which is back in `dir`: Redis
        // would resume the upgrade at start, and so does aofd.
        fs::write(
            l.aof_dir.join("appendonly.aof.manifest"),
            "file appendonly.aof seq 1 type b\n",
        )
        .unwrap();
        record_version(&l, 2).unwrap();
        fs::write(l.legacy_path(), b"").unwrap();
        let (from, steps) = plan(&l).unwrap();
        assert_eq!(from, 2);
        assert_eq!(steps.len(), 1);
        let log = MemoryLog::new();
        let applied = apply_pending(&l, &log, &|_| {}).unwrap();
        assert_eq!(applied.changed, vec![1]);
        assert!(l.aof_dir.join("appendonly.aof").exists());
        // Nothing to do: nothing logged, nothing planned.
        let log = MemoryLog::new();
        apply_pending(&l, &log, &|_| {}).unwrap();
        assert!(log.texts().is_empty(), "{:?}", log.texts());
        assert!(plan(&l).unwrap().1.is_empty());
    }

    #[test]
    fn empty_directory_has_nothing_to_do_and_records_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let l = layout(tmp.path());
        let log = MemoryLog::new();
        let applied = apply_pending(&l, &log, &|_| {}).unwrap();
        assert_eq!(applied.to, 0);
        assert!(applied.changed.is_empty());
        assert!(!l.aof_dir.exists(), "nothing created");
        assert!(log.contains("0001 (legacy-aof): nothing to do"));
    }
}
