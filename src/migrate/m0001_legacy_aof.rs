//! Migration 0001 (`migrations/0001-legacy-aof/README.md`): a Redis ≤6 single-file AOF
//! `<dir>/<appendfilename>` (RESP, or an RDB preamble with a RESP tail) becomes the BASE of a
//! multi-part AOF directory, with Redis 7.0's rules (`loadAppendOnlyFiles` + `aofUpgradePrepare`):
//!
//! The upgrade runs when the file exists in `dir` and either the AOF directory is missing, or its
//! manifest lists nothing, or the manifest lists exactly one BASE named like the file and no INCR
//! while the file is not yet inside the directory (an upgrade that stopped after writing the
//! manifest: it resumes). Otherwise a valid manifest wins and the file in `dir` is ignored.
//!
//! Steps: create the directory; persist the manifest `file <F> seq 1 type b` (atomically); rename
//! the file into the directory; fsync both directories; check the result. The file is moved, never
//! copied or deleted, and the manifest exists before the move, so a crash at any instant leaves
//! either the old layout or one the next start finishes.

use std::fs;

use super::{create_aof_dir, is_file, Layout, MigrateError, Migration, Plan};
use crate::aof::manifest::{fsync_dir, AofInfo, AofManifest, FileKind};
use crate::aof::{io_strerror, AofLogger, LogLevel};
use crate::server::failpoint;

/// The registry entry.
pub const MIGRATION: Migration = Migration {
    id: 1,
    name: "legacy-aof",
    every_run: true,
    plan,
    apply,
};

/// Which of Redis's three upgrade conditions holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upgrade {
    /// The AOF directory does not exist.
    NoDir,
    /// The directory exists, its manifest lists nothing (or is missing).
    NoManifest,
    /// The manifest names only the legacy file as BASE, which is still in `dir`.
    Resume,
}

/// Redis's upgrade check: `Some` when `<dir>/<appendfilename>` must be moved in.
///
/// # Errors
/// The manifest is malformed; or the file is both in `dir` and in the AOF directory with no
/// manifest naming it (Redis stops on an assertion there).
pub fn needs_upgrade(layout: &Layout) -> Result<Option<Upgrade>, MigrateError> {
    if !is_file(&layout.legacy_path()) {
        return Ok(None);
    }
    if !layout.aof_dir.is_dir() {
        return Ok(Some(Upgrade::NoDir));
    }
    let manifest = layout.manifest()?;
    let inside = is_file(&layout.aof_dir.join(&layout.names.filename));
    let case = if manifest.is_empty() {
        Upgrade::NoManifest
    } else if manifest.incrs.is_empty()
        && manifest
            .base
            .as_ref()
            .is_some_and(|b| b.name == layout.names.filename)
        && !inside
    {
        Upgrade::Resume
    } else {
        return Ok(None);
    };
    if inside {
        return Err(MigrateError::msg(format!(
            "Both {f} and {d}/{f} exist and no manifest says which one is the dataset \
             (redis-server 7.0 stops on an assertion here). Keep the right one, move the other \
             out of the data directory, and start again.",
            f = layout.names.filename,
            d = layout.dirname()
        )));
    }
    Ok(Some(case))
}

fn plan(layout: &Layout) -> Result<Plan, MigrateError> {
    let f = &layout.names.filename;
    let d = layout.dirname();
    Ok(match needs_upgrade(layout)? {
        None if !is_file(&layout.legacy_path()) => {
            Plan::Nothing(format!("no {f} in the data directory"))
        }
        None => Plan::Nothing(format!(
            "{d} has a manifest; {f} in the data directory is ignored, as redis-server 7.0 \
             ignores it"
        )),
        Some(Upgrade::Resume) => Plan::Apply(format!(
            "resume an interrupted upgrade: the manifest already names {f} as the BASE; move {f} \
             into {d}"
        )),
        Some(case) => Plan::Apply(format!(
            "move the Redis 6 style AOF {f} into {d}{} as its BASE: first the manifest \
             'file {f} seq 1 type b', then the rename",
            if case == Upgrade::NoDir {
                " (created)"
            } else {
                ""
            }
        )),
    })
}

fn apply(layout: &Layout, log: &dyn AofLogger) -> Result<(), MigrateError> {
    if needs_upgrade(layout)?.is_none() {
        return Ok(());
    }
    let f = layout.names.filename.clone();
    let d = layout.dirname().to_string();
    create_aof_dir(layout, log)?;
    failpoint::hit("migrate-0001-dir-created");
    // Redis `aofUpgradePrepare`: the loaded manifest with its BASE replaced by the legacy file.
    let mut manifest = layout.manifest()?;
    manifest.base = Some(AofInfo::new(f.clone(), 1, FileKind::Base));
    manifest.curr_base_seq = 1;
    manifest
        .persist(&layout.aof_dir, &layout.names, log)
        .map_err(|e| MigrateError::io("Can't write the AOF manifest in", &layout.aof_dir, &e))?;
    failpoint::hit("migrate-0001-manifest-persisted");
    let to = layout.aof_dir.join(&f);
    fs::rename(layout.legacy_path(), &to).map_err(|e| {
        let text = format!(
            "Error trying to move the old AOF file {f} into dir {d}: {}",
            io_strerror(&e)
        );
        log.log(LogLevel::Warning, &text);
        MigrateError::Other(text)
    })?;
    // The new entry, then the removed one: after both, the move survives a power cut.
    fsync_dir(&layout.aof_dir)
        .and_then(|()| fsync_dir(&layout.dir))
        .map_err(|e| MigrateError::io("Can't fsync", &layout.dir, &e))?;
    failpoint::hit("migrate-0001-renamed");
    verify(layout, &manifest)?;
    log.log(
        LogLevel::Notice,
        &format!("Successfully migrated an old-style AOF file ({f}) into the AOF directory ({d})."),
    );
    Ok(())
}

/// The manifest on disk is the one written and the file is inside the directory only.
fn verify(layout: &Layout, written: &AofManifest) -> Result<(), MigrateError> {
    let on_disk = layout.manifest()?;
    if &on_disk != written {
        return Err(MigrateError::msg(format!(
            "The manifest in {} does not read back as written",
            layout.aof_dir.display()
        )));
    }
    if !is_file(&layout.aof_dir.join(&layout.names.filename)) || is_file(&layout.legacy_path()) {
        return Err(MigrateError::msg(format!(
            "{} was not moved into {}",
            layout.names.filename,
            layout.aof_dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::MemoryLog;
    use crate::config::Config;

    fn layout(dir: &std::path::Path) -> Layout {
        Layout::from_config(&Config {
            dir: dir.to_string_lossy().into_owned(),
            ..Config::default()
        })
    }

    const CMD: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";

    #[test]
    fn moves_the_file_after_the_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let l = layout(tmp.path());
        fs::write(l.legacy_path(), CMD).unwrap();
        assert_eq!(needs_upgrade(&l).unwrap(), Some(Upgrade::NoDir));
        let log = MemoryLog::new();
        apply(&l, &log).unwrap();
        assert_eq!(
            fs::read_to_string(l.aof_dir.join("appendonly.aof.manifest")).unwrap(),
            "file appendonly.aof seq 1 type b\n"
        );
        assert_eq!(fs::read(l.aof_dir.join("appendonly.aof")).unwrap(), CMD);
        assert!(!l.legacy_path().exists());
        assert_eq!(
            log.texts(),
            vec![
                "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF \
                 directory (appendonlydir)."
            ]
        );
        assert_eq!(needs_upgrade(&l).unwrap(), None);
    }

    #[test]
    fn redis_conditions() {
        let tmp = tempfile::tempdir().unwrap();
        let l = layout(tmp.path());
        fs::write(l.legacy_path(), CMD).unwrap();
        fs::create_dir_all(&l.aof_dir).unwrap();
        assert_eq!(needs_upgrade(&l).unwrap(), Some(Upgrade::NoManifest));
        // An interrupted upgrade resumes.
        fs::write(
            l.aof_dir.join("appendonly.aof.manifest"),
            "file appendonly.aof seq 1 type b\n",
        )
        .unwrap();
        assert_eq!(needs_upgrade(&l).unwrap(), Some(Upgrade::Resume));
        // With an INCR listed, the manifest wins and the file in dir is ignored.
        fs::write(
            l.aof_dir.join("appendonly.aof.manifest"),
            "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        )
        .unwrap();
        assert_eq!(needs_upgrade(&l).unwrap(), None);
        assert!(matches!(plan(&l).unwrap(), Plan::Nothing(r) if r.contains("ignored")));
        // The file in both places with a base-only manifest: the manifest's copy is loaded.
        fs::write(
            l.aof_dir.join("appendonly.aof.manifest"),
            "file appendonly.aof seq 1 type b\n",
        )
        .unwrap();
        fs::write(l.aof_dir.join("appendonly.aof"), CMD).unwrap();
        assert_eq!(needs_upgrade(&l).unwrap(), None);
        // In both places and no manifest: refused, nothing touched.
        fs::remove_file(l.aof_dir.join("appendonly.aof.manifest")).unwrap();
        let e = needs_upgrade(&l).unwrap_err().to_string();
        assert!(
            e.starts_with("Both appendonly.aof and appendonlydir/appendonly.aof"),
            "{e}"
        );
        assert!(l.legacy_path().exists());
    }
}
