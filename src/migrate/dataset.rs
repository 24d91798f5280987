//! Datasets outside a running server, for the migrations and `aofd import`: loading an RDB
//! file, a single AOF file or a manifest's files into a keyspace (through the server's own
//! loader and command table, on the calling thread), counting keys per type, dropping keys whose
//! TTL has passed, and writing the keyspace as a new BASE (temp file, fsync, rename, fsync of the
//! directory) that is then read back to check it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::aof::loader::{LoadError, LoadOptions};
use crate::aof::manifest::{fsync_dir, AofInfo, AofManifest, FileKind};
use crate::aof::names::{AofNames, BaseFormat, TEMP_PREFIX};
use crate::aof::AofLogger;
use crate::config::Config;
use crate::db::{total_keys, Db, Value};
use crate::server::failpoint;
use crate::server::persist::load_direct;
use crate::server::snapshot::{serialize, Format, Job};
use crate::server::state::{now_ms, ServerState};

/// Keys per type, and keys left out because their TTL had passed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Strings.
    pub strings: u64,
    /// Lists.
    pub lists: u64,
    /// Hashes.
    pub hashes: u64,
    /// Sets.
    pub sets: u64,
    /// Sorted sets.
    pub zsets: u64,
    /// Keys whose TTL had passed, not imported.
    pub expired_skipped: u64,
}

impl Counts {
    /// The keys of `dbs` by type.
    pub fn of(dbs: &[Db]) -> Counts {
        let mut c = Counts::default();
        for value in dbs.iter().flat_map(|db| db.keys.values()) {
            let slot = match value {
                Value::Str(_) => &mut c.strings,
                Value::List(_) => &mut c.lists,
                Value::Hash(_) => &mut c.hashes,
                Value::Set(_) => &mut c.sets,
                Value::ZSet(_) => &mut c.zsets,
            };
            *slot += 1;
        }
        c
    }

    /// Keys imported (expired ones not counted).
    pub fn total(&self) -> u64 {
        self.strings + self.lists + self.hashes + self.sets + self.zsets
    }

    /// `string 3, list 1, hash 0, set 2, zset 1`.
    pub fn by_type(&self) -> String {
        format!(
            "string {}, list {}, hash {}, set {}, zset {}",
            self.strings, self.lists, self.hashes, self.sets, self.zsets
        )
    }

    /// The same keys per type (the expired count is not compared).
    pub fn same_keys(&self, other: &Counts) -> bool {
        (self.strings, self.lists, self.hashes, self.sets, self.zsets)
            == (
                other.strings,
                other.lists,
                other.hashes,
                other.sets,
                other.zsets,
            )
    }
}

/// A server state with an empty keyspace for `config` (its `databases`), never run.
pub fn empty_state(config: &Config) -> ServerState {
    ServerState::new(config.clone())
}

/// Loads the files `manifest` lists in `aof_dir` into a fresh keyspace. A truncated file is an
/// error here (the loader would otherwise cut the source on disk, and an import or migration
/// never changes its input).
///
/// # Errors
/// The loader's message (file, offset, reason).
pub fn load_manifest<'a>(
    config: &Config,
    aof_dir: &Path,
    names: &AofNames,
    manifest: &AofManifest,
    log: &'a dyn AofLogger,
    progress: Option<&'a mut dyn FnMut(u64, u64)>,
) -> Result<ServerState, String> {
    let mut srv = empty_state(config);
    let mut opts = LoadOptions {
        aof_load_truncated: false,
        databases: srv.dbs.len(),
        log,
        progress,
    };
    load_direct(&mut srv, aof_dir, names, manifest, &mut opts)
        .map_err(|e: LoadError| e.log_lines().join(" "))?;
    Ok(srv)
}

/// Loads one file — an RDB file, or a single AOF (RESP, or RDB preamble + RESP tail) — as the
/// only file of a manifest.
///
/// # Errors
/// The loader's message.
pub fn load_file<'a>(
    config: &Config,
    path: &Path,
    log: &'a dyn AofLogger,
    progress: Option<&'a mut dyn FnMut(u64, u64)>,
) -> Result<ServerState, String> {
    let (dir, name) = split(path)?;
    let manifest = single_base(&name);
    load_manifest(config, dir, &AofNames::new(&name), &manifest, log, progress)
}

/// A manifest whose BASE is `name`.
pub fn single_base(name: &str) -> AofManifest {
    AofManifest {
        base: Some(AofInfo::new(name, 1, FileKind::Base)),
        curr_base_seq: 1,
        ..AofManifest::default()
    }
}

fn split(path: &Path) -> Result<(&Path, String), String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{} is not a file name", path.display()))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((dir, name))
}

/// Removes every key whose TTL has passed (what a Redis master skips when it loads an RDB
/// file); returns how many.
pub fn drop_expired(srv: &mut ServerState) -> u64 {
    let now = now_ms();
    let mut dropped = 0;
    for db in &mut srv.dbs {
        let expired: Vec<_> = db
            .expires
            .iter()
            .filter(|(_, &at)| at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            db.remove(&key);
            dropped += 1;
        }
    }
    dropped
}

/// Writes `dbs` as the BASE `name` in `aof_dir`: `temp-<name>` written and fdatasync'ed, then
/// renamed, then the directory fsync'ed. `failpoint_prefix` names the two crash points
/// (`<prefix>-base-written`, `<prefix>-base-renamed`). `progress` gets (keys written, total).
/// Returns the file's size.
///
/// # Errors
/// Creating, writing, syncing or renaming failed (the temp file is removed).
pub fn write_base(
    dbs: &[Db],
    config: &Config,
    aof_dir: &Path,
    name: &str,
    failpoint_prefix: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<u64> {
    let tmp = aof_dir.join(format!("{TEMP_PREFIX}{name}"));
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        let job = Job::now(Format::aof_base(config), false, 0);
        let total = total_keys(dbs);
        serialize(&mut out, dbs, &job, &mut |keys| {
            if keys.is_multiple_of(1024) {
                progress(keys, total);
            }
        })?;
        progress(total, total);
        let file: File = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        let size = file.metadata()?.len();
        drop(file);
        failpoint::hit(&format!("{failpoint_prefix}-base-written"));
        std::fs::rename(&tmp, aof_dir.join(name))?;
        fsync_dir(aof_dir)?;
        failpoint::hit(&format!("{failpoint_prefix}-base-renamed"));
        Ok(size)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The BASE name a first BASE gets in the format `config` asks for.
pub fn first_base_name(names: &AofNames, config: &Config) -> (AofManifest, String) {
    let format = if config.aof_use_rdb_preamble {
        BaseFormat::Rdb
    } else {
        BaseFormat::Resp
    };
    AofManifest::new().with_new_base(names, format)
}

/// Reads the BASE `name` back and checks it holds `expected` (keys per type).
///
/// # Errors
/// It does not load, or holds other keys.
pub fn verify_base(
    config: &Config,
    aof_dir: &Path,
    name: &str,
    expected: &Counts,
    log: &dyn AofLogger,
) -> Result<(), String> {
    let srv = load_manifest(
        config,
        aof_dir,
        &AofNames::new(name),
        &single_base(name),
        log,
        None,
    )?;
    let got = Counts::of(&srv.dbs);
    if !got.same_keys(expected) {
        return Err(format!(
            "The new BASE {name} reads back with other keys ({}) than were written ({})",
            got.by_type(),
            expected.by_type()
        ));
    }
    Ok(())
}

/// Human-readable bytes: `812 B`, `27.1 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::MemoryLog;

    #[test]
    fn base_round_trip_in_both_formats() {
        for preamble in [true, false] {
            let tmp = tempfile::tempdir().unwrap();
            let config = Config {
                aof_use_rdb_preamble: preamble,
                ..Config::default()
            };
            let aof = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
                        *4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n$1\r\ny\r\n\
                        *5\r\n$3\r\nSET\r\n$1\r\ne\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$1\r\n5\r\n";
            let src = tmp.path().join("appendonly.aof");
            std::fs::write(&src, aof).unwrap();
            let log = MemoryLog::new();
            let mut srv = load_file(&config, &src, &log, None).unwrap();
            assert_eq!(drop_expired(&mut srv), 1);
            let counts = Counts::of(&srv.dbs);
            assert_eq!(counts.by_type(), "string 1, list 1, hash 0, set 0, zset 0");
            let (_, name) = first_base_name(&AofNames::new("appendonly.aof"), &config);
            let size =
                write_base(&srv.dbs, &config, tmp.path(), &name, "test", &mut |_, _| {}).unwrap();
            assert!(size > 0);
            assert!(!tmp.path().join(format!("temp-{name}")).exists());
            verify_base(&config, tmp.path(), &name, &counts, &log).unwrap();
            let wrong = Counts {
                strings: 2,
                ..counts
            };
            assert!(verify_base(&config, tmp.path(), &name, &wrong, &log).is_err());
        }
    }

    #[test]
    fn bytes_read_like_a_human_wrote_them() {
        assert_eq!(human_bytes(812), "812 B");
        assert_eq!(human_bytes(27_100_000), "27.1 MB");
    }
}
