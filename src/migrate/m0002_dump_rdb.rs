//! Migration 0002 (`migrations/0002-dump-rdb/README.md`): a data directory with a `dump.rdb`
//! and no AOF, started with `appendonly yes`. redis-server 7.0 starts empty there and its first
//! rewrite makes the empty dataset durable (the data is then only in `dump.rdb`, which the next
//! save overwrites). aofd imports the RDB into a new BASE instead, says so loudly, and keeps
//! `dump.rdb` untouched: a deliberate difference from Redis.
//!
//! Steps: create the AOF directory; load `dump.rdb` (keys whose TTL has passed are skipped, as a
//! Redis master skips them); write `F.1.base.<rdb|aof>` through a temp file, fsync, rename and
//! fsync the directory; read the BASE back and compare its keys per type; only then persist the
//! manifest naming it. Until that manifest exists the directory has no AOF, so a crash anywhere
//! before it makes the next start do the whole import again (overwriting the same temp and
//! BASE names); `dump.rdb` is never written to.

use super::dataset::{self, human_bytes, Counts};
use super::{create_aof_dir, is_file, m0001_legacy_aof, Layout, MigrateError, Migration, Plan};
use crate::aof::{AofLogger, LogLevel, MemoryLog};
use crate::server::failpoint;

/// The registry entry.
pub const MIGRATION: Migration = Migration {
    id: 2,
    name: "dump-rdb",
    every_run: false,
    plan,
    apply,
};

fn plan(layout: &Layout) -> Result<Plan, MigrateError> {
    let dump = &layout.config.dbfilename;
    let d = layout.dirname();
    if m0001_legacy_aof::needs_upgrade(layout)?.is_some() {
        return Ok(Plan::Nothing(format!(
            "the Redis 6 style {} is the dataset there; migration 0001 moves it",
            layout.names.filename
        )));
    }
    if !layout.manifest()?.is_empty() {
        return Ok(Plan::Nothing(format!("{d} already holds a dataset")));
    }
    let path = layout.dump_path();
    if !is_file(&path) {
        return Ok(Plan::Nothing(format!("no {dump} in the data directory")));
    }
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let (_, base) = dataset::first_base_name(&layout.names, &layout.config);
    Ok(Plan::Apply(format!(
        "import {dump} ({}) into a new BASE {d}/{base}; {dump} is kept (redis-server 7.0 \
         would start empty here)",
        human_bytes(size)
    )))
}

fn apply(layout: &Layout, log: &dyn AofLogger) -> Result<(), MigrateError> {
    if !matches!(plan(layout)?, Plan::Apply(_)) {
        return Ok(());
    }
    let dump = layout.config.dbfilename.clone();
    let d = layout.dirname().to_string();
    log.log(
        LogLevel::Warning,
        &format!(
            "appendonly is on and {d} holds no AOF, but {dump} exists: importing {dump} into a \
             new AOF BASE. redis-server 7.0 would start with an empty dataset here; aofd keeps \
             your data (see migrations/0002-dump-rdb/README.md). {dump} is not changed."
        ),
    );
    create_aof_dir(layout, log)?;
    failpoint::hit("migrate-0002-dir-created");
    // The loader's own lines (`DB loaded from base file dump.rdb`) would only confuse here.
    let quiet = MemoryLog::new();
    let mut srv = dataset::load_file(&layout.config, &layout.dump_path(), &quiet, None)
        .map_err(|e| MigrateError::msg(format!("Can't import {dump}: {e}")))?;
    let expired = dataset::drop_expired(&mut srv);
    let counts = Counts {
        expired_skipped: expired,
        ..Counts::of(&srv.dbs)
    };
    let (manifest, base) = dataset::first_base_name(&layout.names, &layout.config);
    let size = dataset::write_base(
        &srv.dbs,
        &layout.config,
        &layout.aof_dir,
        &base,
        "migrate-0002",
        &mut |_, _| {},
    )
    .map_err(|e| MigrateError::io("Can't write the new BASE in", &layout.aof_dir, &e))?;
    drop(srv);
    dataset::verify_base(&layout.config, &layout.aof_dir, &base, &counts, &quiet)
        .map_err(MigrateError::Other)?;
    failpoint::hit("migrate-0002-verified");
    manifest
        .persist(&layout.aof_dir, &layout.names, log)
        .map_err(|e| MigrateError::io("Can't write the AOF manifest in", &layout.aof_dir, &e))?;
    failpoint::hit("migrate-0002-manifest-persisted");
    log.log(
        LogLevel::Warning,
        &format!(
            "Imported {} keys from {dump} into {d}/{base} ({}; {}; {} expired keys skipped). \
             {dump} was kept unchanged.",
            counts.total(),
            human_bytes(size),
            counts.by_type(),
            counts.expired_skipped
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::fs;

    #[test]
    fn imports_and_keeps_the_dump() {
        let tmp = tempfile::tempdir().unwrap();
        let l = Layout::from_config(&Config {
            dir: tmp.path().to_string_lossy().into_owned(),
            ..Config::default()
        });
        assert!(matches!(plan(&l).unwrap(), Plan::Nothing(r) if r.contains("no dump.rdb")));
        // An RDB holding one string: written by aofd's own RDB writer.
        let mut srv = dataset::empty_state(&l.config);
        srv.dbs[0].set(b"k", crate::db::Value::Str(b"v".to_vec()));
        let mut rdb = Vec::new();
        let opts = crate::rdb::save::SaveOptions {
            aof_base: false,
            ctime_secs: 0,
            used_mem: 0,
        };
        crate::rdb::save::save(&mut rdb, &srv.dbs, &opts, &mut |_| {}).unwrap();
        fs::write(l.dump_path(), &rdb).unwrap();
        assert!(matches!(plan(&l).unwrap(), Plan::Apply(_)));
        let log = MemoryLog::new();
        apply(&l, &log).unwrap();
        assert_eq!(
            fs::read(l.dump_path()).unwrap(),
            rdb,
            "dump.rdb is untouched"
        );
        assert_eq!(
            fs::read_to_string(l.aof_dir.join("appendonly.aof.manifest")).unwrap(),
            "file appendonly.aof.1.base.rdb seq 1 type b\n"
        );
        assert!(log.contains("Imported 1 keys from dump.rdb"));
        assert!(matches!(plan(&l).unwrap(), Plan::Nothing(r) if r.contains("already holds")));
    }
}
