//! What a forked child does (see `fork.rs` for the rules it lives by): serialize the dataset it
//! inherited — as an RDB file or a RESP AOF BASE — into a temp file, make it durable, rename it
//! into place, report progress and its copy-on-write size, and return its exit status.
//!
//! The same body serves the AOF rewrite (`temp-rewriteaof-<pid>.aof`, renamed to
//! `temp-rewriteaof-bg-<pid>.aof` for the parent to pick up) and BGSAVE (`temp-<pid>.rdb`,
//! renamed over `dbfilename`).

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::aof::names::BaseFormat;
use crate::config::Config;
use crate::db::{total_keys, Db};

use super::fork::{private_dirty_bytes, ChildMsg, ChildPipe};
use super::state::unix_secs;

/// With `aof-rewrite-incremental-fsync` / `rdb-save-incremental-fsync`, the file is
/// fdatasync'ed every this many bytes (Redis's `REDIS_AUTOSYNC_BYTES`), so the kernel never
/// holds a huge dirty backlog that would stall the parent's own AOF fsyncs.
pub const AUTOSYNC_BYTES: u64 = 4 * 1024 * 1024;

/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// How often the copy-on-write size is measured while writing.
const COW_EVERY: Duration = Duration::from_secs(1);

/// Writes are gathered to this size before each `write(2)`.
const WRITE_CHUNK: usize = 256 * 1024;

/// The format of the snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RDB version 10; `aof_base` sets the `aof-base` aux field (an AOF BASE, not a dump.rdb).
    Rdb { aof_base: bool },
    /// RESP commands (`aof-use-rdb-preamble no`), with a `#TS:` line first when timestamps
    /// are on.
    Resp { timestamps: bool },
}

impl Format {
    /// The AOF BASE format `config` asks for (`aof-use-rdb-preamble`, `aof-timestamp-enabled`).
    pub fn aof_base(config: &Config) -> Format {
        if config.aof_use_rdb_preamble {
            Format::Rdb { aof_base: true }
        } else {
            Format::Resp {
                timestamps: config.aof_timestamp_enabled,
            }
        }
    }

    /// Which BASE file name this format gets (`.base.rdb` or `.base.aof`).
    pub fn base_format(self) -> BaseFormat {
        match self {
            Format::Rdb { .. } => BaseFormat::Rdb,
            Format::Resp { .. } => BaseFormat::Resp,
        }
    }
}

/// One snapshot to write: what, and the settings taken when it was decided.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    /// What to write.
    pub format: Format,
    /// fdatasync every [`AUTOSYNC_BYTES`].
    pub incremental_fsync: bool,
    /// Unix time of the snapshot (RDB `ctime`, the `#TS:` line).
    pub now_secs: i64,
    /// RDB `used-mem`.
    pub used_mem: u64,
    /// `rdb-key-save-delay`: microseconds to sleep after each key (tests only).
    pub key_delay_us: u64,
}

impl Job {
    /// A job stamped with the current time and resident memory (RDB `ctime` and `used-mem`).
    pub fn now(format: Format, incremental_fsync: bool, key_delay_us: u64) -> Job {
        Job {
            format,
            incremental_fsync,
            now_secs: unix_secs(),
            used_mem: super::info::resident_memory(),
            key_delay_us,
        }
    }
}

/// The file being written, counting bytes and syncing incrementally when asked.
struct Sink<'a> {
    file: File,
    buf: Vec<u8>,
    written: &'a Cell<u64>,
    synced_at: u64,
    incremental_fsync: bool,
}

impl Sink<'_> {
    fn write_out(&mut self) -> io::Result<()> {
        self.file.write_all(&self.buf)?;
        self.written
            .set(self.written.get().saturating_add(self.buf.len() as u64));
        self.buf.clear();
        if self.incremental_fsync && self.written.get() - self.synced_at >= AUTOSYNC_BYTES {
            self.file.sync_data()?;
            self.synced_at = self.written.get();
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.write_out()?;
        self.file.sync_all()
    }
}

impl Write for Sink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= WRITE_CHUNK {
            self.write_out()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()
    }
}

/// The child's body: writes `job` from `dbs` into `temp`, renames it to `dest` once durable,
/// and returns the exit status (0 on success, 1 on any error, after removing `temp`).
pub fn run(job: &Job, temp: &Path, dest: &Path, dbs: &[Db], pipe: &ChildPipe) -> i32 {
    match write_here(job, temp, dest, dbs, &mut |msg| pipe.send(msg)) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Writes `job` from `dbs` into `temp` and renames it to `dest` once durable, passing progress
/// to `report`. In the data thread (SAVE, the save at shutdown, DEBUG RELOAD) it blocks the
/// caller for the whole save, as Redis's `rdbSave` does.
///
/// # Errors
/// Creating, writing, syncing or renaming the file failed; `temp` is removed.
pub fn write_here(
    job: &Job,
    temp: &Path,
    dest: &Path,
    dbs: &[Db],
    report: &mut dyn FnMut(ChildMsg),
) -> io::Result<()> {
    write(job, temp, dest, dbs, report).inspect_err(|_| {
        let _ = std::fs::remove_file(temp);
    })
}

/// Serializes `dbs` as `job` says into `out`, calling `progress` after every key.
///
/// # Errors
/// Whatever `out` returns.
pub fn serialize<W: Write>(
    out: &mut W,
    dbs: &[Db],
    job: &Job,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    match job.format {
        Format::Rdb { aof_base } => {
            let opts = crate::rdb::save::SaveOptions {
                aof_base,
                ctime_secs: job.now_secs,
                used_mem: job.used_mem,
            };
            crate::rdb::save::save(out, dbs, &opts, progress)
        }
        Format::Resp { timestamps } => {
            let opts = crate::aof::rewrite::RespBaseOptions {
                timestamp_secs: timestamps.then_some(job.now_secs),
            };
            crate::aof::rewrite::write_resp_base(out, dbs, &opts, progress)
        }
    }
}

fn write(
    job: &Job,
    temp: &Path,
    dest: &Path,
    dbs: &[Db],
    report: &mut dyn FnMut(ChildMsg),
) -> io::Result<()> {
    let total = total_keys(dbs);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(temp)?;
    let written = Cell::new(0u64);
    let mut sink = Sink {
        file,
        buf: Vec::with_capacity(WRITE_CHUNK + 64 * 1024),
        written: &written,
        synced_at: 0,
        incremental_fsync: job.incremental_fsync,
    };
    let mut last_report = Instant::now();
    let mut last_cow = Instant::now();
    let delay = Duration::from_micros(job.key_delay_us);
    let mut progress = |keys: u64| {
        if !delay.is_zero() {
            std::thread::sleep(delay);
        } else if !keys.is_multiple_of(1024) {
            // Reading the clock for every key would cost more than writing small keys.
            return;
        }
        if last_report.elapsed() < PROGRESS_EVERY {
            return;
        }
        last_report = Instant::now();
        report(ChildMsg::Progress {
            keys,
            total,
            bytes: written.get(),
        });
        if last_cow.elapsed() >= COW_EVERY {
            last_cow = Instant::now();
            report(ChildMsg::Cow {
                bytes: private_dirty_bytes(),
            });
        }
    };
    serialize(&mut sink, dbs, job, &mut progress)?;
    sink.finish()?;
    std::fs::rename(temp, dest)?;
    report(ChildMsg::Progress {
        keys: total,
        total,
        bytes: written.get(),
    });
    report(ChildMsg::Cow {
        bytes: private_dirty_bytes(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes 9 MiB through a sink and returns how far it had fdatasync'ed before finishing.
    fn synced_through(incremental_fsync: bool) -> u64 {
        let dir = tempfile::tempdir().unwrap();
        let written = Cell::new(0);
        let mut sink = Sink {
            file: File::create(dir.path().join("f")).unwrap(),
            buf: Vec::new(),
            written: &written,
            synced_at: 0,
            incremental_fsync,
        };
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..144 {
            sink.write_all(&chunk).unwrap();
        }
        let synced = sink.synced_at;
        sink.finish().unwrap();
        assert_eq!(written.get(), 144 * 64 * 1024);
        synced
    }

    #[test]
    fn incremental_fsync_syncs_every_4_mib() {
        // 9 MiB written in 256 KiB writes: synced at the first write past 4 and past 8 MiB.
        assert_eq!(synced_through(true), 2 * AUTOSYNC_BYTES);
        assert_eq!(synced_through(false), 0);
    }
}
