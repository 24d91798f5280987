//! `aofd import <dump.rdb|appendonly.aof|appendonlydir> --dir <dir>`: builds a data directory
//! from a Redis dataset — an RDB file, a Redis ≤6 single-file AOF (RESP, or RDB preamble + RESP
//! tail), or a Redis 7 AOF directory (its manifest's BASE and INCRs) — as a new BASE.
//!
//! The source is only read (a truncated source is an error, never cut). Keys whose TTL has
//! passed are left out. The BASE is written through a temp file, fsync'ed, renamed, read back and
//! compared, and only then named by a new manifest; the format version is recorded last. The
//! target must not already hold a dataset: nothing in it is replaced. A progress bar is drawn on
//! standard error when it is a terminal; the summary (keys per type, expired keys skipped, bytes
//! read and written) goes to standard output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::dataset::{self, human_bytes, Counts};
use super::{
    create_aof_dir, is_file, latest_version, m0001_legacy_aof, record_version, Layout, MigrateError,
};
use crate::aof::manifest::AofManifest;
use crate::aof::names::{AofNames, MANIFEST_SUFFIX, TEMP_PREFIX};
use crate::aof::MemoryLog;
use crate::server::failpoint;

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// Keys per type, and expired keys skipped.
    pub counts: Counts,
    /// Bytes of the source files.
    pub bytes_read: u64,
    /// Bytes of the new BASE.
    pub bytes_written: u64,
    /// The new BASE's path.
    pub base: PathBuf,
}

/// A one-line progress bar on a terminal (nothing otherwise), redrawn at most every 100 ms.
pub struct Progress<'a> {
    out: Option<&'a mut dyn Write>,
    last: Option<Instant>,
}

impl<'a> Progress<'a> {
    /// A bar drawn into `out` when `tty`, else a silent one.
    pub fn new(out: &'a mut dyn Write, tty: bool) -> Self {
        Progress {
            out: tty.then_some(out),
            last: None,
        }
    }

    /// Redraws `<phase> [####......]  42% <done> / <total>`.
    pub fn draw(&mut self, phase: &str, done: u64, total: u64, bytes: bool) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
            && done < total
        {
            return;
        }
        self.last = Some(Instant::now());
        let perc = done.saturating_mul(100).checked_div(total).unwrap_or(100);
        let filled = usize::try_from(perc.min(100) / 4).unwrap_or(25);
        let (d, t) = if bytes {
            (human_bytes(done), human_bytes(total))
        } else {
            (format!("{done} keys"), format!("{total}"))
        };
        let _ = write!(
            out,
            "\r\x1b[K{phase:<8} [{}{}] {perc:>3}% {d} / {t}",
            "#".repeat(filled),
            ".".repeat(25 - filled)
        );
        let _ = out.flush();
    }

    /// Erases the bar.
    pub fn clear(&mut self) {
        if let Some(out) = self.out.as_mut() {
            let _ = write!(out, "\r\x1b[K");
            let _ = out.flush();
        }
    }
}

/// The manifest of a Redis 7 AOF directory: the one `*.manifest` file in it, and the
/// `appendfilename` it belongs to.
///
/// # Errors
/// No manifest, several, or one that does not parse.
pub fn find_manifest(dir: &Path) -> Result<(AofNames, AofManifest), MigrateError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| MigrateError::io("Can't read the directory", dir, &e))?;
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(MANIFEST_SUFFIX) && !n.starts_with(TEMP_PREFIX))
        .collect();
    found.sort();
    let name = match found.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(MigrateError::msg(format!(
                "{} holds no *.manifest: not a Redis 7 AOF directory",
                dir.display()
            )))
        }
        many => {
            return Err(MigrateError::msg(format!(
                "{} holds several manifests ({}); import one AOF at a time",
                dir.display(),
                many.join(", ")
            )))
        }
    };
    let names = AofNames::new(name.trim_end_matches(MANIFEST_SUFFIX));
    let manifest = AofManifest::load_file(&dir.join(&name)).map_err(MigrateError::Manifest)?;
    if manifest.is_empty() {
        return Err(MigrateError::msg(format!(
            "{} lists no BASE and no INCR: nothing to import",
            dir.join(&name).display()
        )));
    }
    Ok((names, manifest))
}

/// Imports `source` into `layout`'s directory, drawing progress on `bar`.
///
/// # Errors
/// The target already holds a dataset (or a Redis 6 AOF that migration 0001 would take), the
/// source cannot be read, or writing the new files failed.
pub fn import(
    source: &Path,
    layout: &Layout,
    bar: &mut Progress<'_>,
) -> Result<Imported, MigrateError> {
    if !layout.manifest()?.is_empty() {
        return Err(MigrateError::msg(format!(
            "{} already holds a dataset; import into a directory without one (or move {} away)",
            layout.dir.display(),
            layout.dirname()
        )));
    }
    if m0001_legacy_aof::needs_upgrade(layout)?.is_some() {
        return Err(MigrateError::msg(format!(
            "{} holds a Redis 6 style {}, which is the dataset there: run `aofd migrate --dir {}` \
             instead, or move it away",
            layout.dir.display(),
            layout.names.filename,
            layout.dir.display()
        )));
    }
    let quiet = MemoryLog::new();
    let mut read_progress = |done: u64, total: u64| bar.draw("reading", done, total, true);
    let (mut srv, bytes_read) = if source.is_dir() {
        let (names, manifest) = find_manifest(source)?;
        let size = manifest
            .files_to_load()
            .filter_map(|f| std::fs::metadata(source.join(&f.name)).ok())
            .map(|m| m.len())
            .sum();
        let srv = dataset::load_manifest(
            &layout.config,
            source,
            &names,
            &manifest,
            &quiet,
            Some(&mut read_progress),
        )
        .map_err(MigrateError::Other)?;
        (srv, size)
    } else if is_file(source) {
        let size = std::fs::metadata(source).map_or(0, |m| m.len());
        let srv = dataset::load_file(&layout.config, source, &quiet, Some(&mut read_progress))
            .map_err(MigrateError::Other)?;
        (srv, size)
    } else {
        return Err(MigrateError::msg(format!(
            "{} is neither a file nor a directory",
            source.display()
        )));
    };
    let expired = dataset::drop_expired(&mut srv);
    let counts = Counts {
        expired_skipped: expired,
        ..Counts::of(&srv.dbs)
    };
    create_aof_dir(layout, &quiet)?;
    let (manifest, base) = dataset::first_base_name(&layout.names, &layout.config);
    let bytes_written = dataset::write_base(
        &srv.dbs,
        &layout.config,
        &layout.aof_dir,
        &base,
        "import",
        &mut |done, total| bar.draw("writing", done, total, false),
    )
    .map_err(|e| MigrateError::io("Can't write the new BASE in", &layout.aof_dir, &e))?;
    drop(srv);
    bar.clear();
    dataset::verify_base(&layout.config, &layout.aof_dir, &base, &counts, &quiet)
        .map_err(MigrateError::Other)?;
    failpoint::hit("import-verified");
    manifest
        .persist(&layout.aof_dir, &layout.names, &quiet)
        .map_err(|e| MigrateError::io("Can't write the AOF manifest in", &layout.aof_dir, &e))?;
    failpoint::hit("import-manifest-persisted");
    record_version(layout, latest_version()).map_err(|e| {
        MigrateError::io(
            "Can't record the format version in",
            &layout.marker_path(),
            &e,
        )
    })?;
    Ok(Imported {
        counts,
        bytes_read,
        bytes_written,
        base: layout.aof_dir.join(base),
    })
}

/// The summary printed after an import.
pub fn summary(source: &Path, imported: &Imported) -> String {
    let c = &imported.counts;
    let bytes = |n: u64| {
        if n < 1000 {
            human_bytes(n)
        } else {
            format!("{} ({n} B)", human_bytes(n))
        }
    };
    format!(
        "Imported {} keys from {} into {}.\n  keys per type: {}\n  expired keys skipped: {}\n  \
         bytes read: {}, BASE written: {}\n",
        c.total(),
        source.display(),
        imported.base.display(),
        c.by_type(),
        c.expired_skipped,
        bytes(imported.bytes_read),
        bytes(imported.bytes_written)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn progress_bar_only_on_a_terminal() {
        let mut buf = Vec::new();
        let mut bar = Progress::new(&mut buf, false);
        bar.draw("reading", 5, 10, true);
        bar.clear();
        assert!(buf.is_empty());
        let mut buf = Vec::new();
        let mut bar = Progress::new(&mut buf, true);
        bar.draw("writing", 5, 10, false);
        let text = String::from_utf8(buf).unwrap();
        assert!(
            text.contains("[############.............]  50% 5 keys / 10"),
            "{text:?}"
        );
    }

    #[test]
    fn refuses_a_target_with_a_dataset() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::from_config(&Config {
            dir: tmp.path().to_string_lossy().into_owned(),
            ..Config::default()
        });
        std::fs::create_dir_all(&layout.aof_dir).unwrap();
        std::fs::write(
            layout.aof_dir.join("appendonly.aof.manifest"),
            "file appendonly.aof.1.base.rdb seq 1 type b\n",
        )
        .unwrap();
        let src = tmp.path().join("src.aof");
        std::fs::write(&src, b"").unwrap();
        let mut sink = Vec::new();
        let e = import(&src, &layout, &mut Progress::new(&mut sink, false)).unwrap_err();
        assert!(e.to_string().contains("already holds a dataset"), "{e}");
    }
}
