//! The file layer under the AOF writer: the operations Redis's `flushAppendOnlyFile` and the bio
//! fsync job perform on the open INCR (`write(2)`, `fdatasync(2)`, `ftruncate(2)`, `fstat`),
//! behind a trait so tests can run the real writer over [`SimFile`], which keeps what was
//! fdatasync'ed apart from what was only written and can fail, tear and crash on demand.
//!
//! Implementations take `&self` because two threads use one file at once: the data thread
//! writes while the fsync worker syncs, exactly as Redis's main thread and bio thread share
//! `aof_fd`.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};

/// What the writer needs from the open AOF file.
pub trait AofFile: Send + Sync + fmt::Debug {
    /// One `write(2)` at the end of the file; may write fewer bytes than asked.
    ///
    /// # Errors
    /// The system call's error (ENOSPC, EIO, ...).
    fn write(&self, buf: &[u8]) -> io::Result<usize>;

    /// `fdatasync(2)`: everything written before the call is durable when it returns `Ok`.
    ///
    /// # Errors
    /// The system call's error; what was written since the last successful sync must then be
    /// considered lost, whatever later syncs report.
    fn fdatasync(&self) -> io::Result<()>;

    /// `ftruncate(2)`.
    ///
    /// # Errors
    /// The system call's error.
    fn ftruncate(&self, len: u64) -> io::Result<()>;

    /// The file's current length.
    ///
    /// # Errors
    /// `fstat` failed.
    fn len(&self) -> io::Result<u64>;

    /// Whether the file is empty.
    ///
    /// # Errors
    /// `fstat` failed.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The file's name, for log lines (`AOF_FILE` in the journal); `None` when it has none.
    fn name(&self) -> Option<String> {
        None
    }
}

/// A real file, opened for appending (`O_WRONLY|O_APPEND|O_CREAT`, mode 0644, as Redis does).
#[derive(Debug)]
pub struct RealFile {
    file: File,
    name: Option<String>,
}

impl RealFile {
    /// Opens (creating if needed) `path` for appending.
    ///
    /// # Errors
    /// The open failed.
    pub fn open_append(path: &Path) -> io::Result<RealFile> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .open(path)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Ok(RealFile { file, name })
    }
}

impl AofFile for RealFile {
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.file).write(buf)
    }

    fn fdatasync(&self) -> io::Result<()> {
        loop {
            // SAFETY: the descriptor belongs to `self.file`, which is open for the whole call;
            // fdatasync only reads the descriptor number.
            let r = unsafe { libc::fdatasync(self.file.as_raw_fd()) };
            if r == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    fn ftruncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn name(&self) -> Option<String> {
        self.name.clone()
    }
}

/// How a simulated crash treats data that was written but not fdatasync'ed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Everything not fdatasync'ed is gone.
    DropUnsynced,
    /// The first `n` unsynced bytes reached the disk (a torn last write).
    Tear(usize),
}

#[derive(Debug, Default)]
struct SimState {
    /// What reads would see: the page cache.
    data: Vec<u8>,
    /// What survives a power loss.
    durable: Vec<u8>,
    /// Byte ranges whose writeback failed: a failed fdatasync leaves them clean in the page
    /// cache but absent from the disk, so a later successful fdatasync does not save them.
    lost: Vec<(u64, u64)>,
    space_limit: Option<u64>,
    fail_writes: Option<i32>,
    fail_next_write: Option<i32>,
    short_next_write: Option<usize>,
    fail_fsync: Option<i32>,
    fail_next_fsync: Option<i32>,
    fail_truncate: Option<i32>,
    hold_fsync: bool,
    fsyncs: u64,
    writes: u64,
}

/// A fault-injecting in-memory file for tests: it separates written from durable data,
/// simulates power loss ([`SimFile::crash`]), and fails writes (ENOSPC, short writes, any
/// errno), fsyncs and truncations on demand. A failed fdatasync loses the unsynced bytes for
/// good, as Linux may: the bytes stay readable but never become durable unless written again.
#[derive(Debug, Default)]
pub struct SimFile {
    state: Mutex<SimState>,
    released: Condvar,
}

impl SimFile {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// A file whose durable content is `contents` (e.g. what a previous run left).
    pub fn with_contents(contents: &[u8]) -> Self {
        let f = Self::new();
        {
            let mut s = f.lock();
            s.data = contents.to_vec();
            s.durable = contents.to_vec();
        }
        f
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A test thread that panicked while holding the lock must not hide the real failure.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What reads see now.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().data.clone()
    }

    /// Length of the durable content.
    pub fn durable_len(&self) -> u64 {
        self.lock().durable.len() as u64
    }

    /// The file after a power loss at this instant; the file itself then holds exactly that.
    pub fn crash(&self, mode: CrashMode) -> Vec<u8> {
        let mut s = self.lock();
        let mut after = s.durable.clone();
        if let CrashMode::Tear(n) = mode {
            let from = after.len();
            if s.data.len() > from && s.data.starts_with(&after) {
                let end = from + n.min(s.data.len() - from);
                after.extend_from_slice(&s.data[from..end]);
            }
        }
        s.data = after.clone();
        s.durable = after.clone();
        s.lost.clear();
        after
    }

    /// Writes beyond `limit` bytes of file fail with ENOSPC after a partial write (disk full);
    /// `None` removes the limit (space returns).
    pub fn set_space_limit(&self, limit: Option<u64>) {
        self.lock().space_limit = limit;
    }

    /// Every write fails with `errno` until called with `None`.
    pub fn fail_writes(&self, errno: Option<i32>) {
        self.lock().fail_writes = errno;
    }

    /// The next write fails with `errno`.
    pub fn fail_next_write(&self, errno: i32) {
        self.lock().fail_next_write = Some(errno);
    }

    /// The next write stores only `n` bytes and reports that (a short write).
    pub fn short_next_write(&self, n: usize) {
        self.lock().short_next_write = Some(n);
    }

    /// Every fdatasync fails with `errno` until called with `None`.
    pub fn fail_fsync(&self, errno: Option<i32>) {
        self.lock().fail_fsync = errno;
    }

    /// The next fdatasync fails with `errno`.
    pub fn fail_next_fsync(&self, errno: i32) {
        self.lock().fail_next_fsync = Some(errno);
    }

    /// Every ftruncate fails with `errno` until called with `None`.
    pub fn fail_truncate(&self, errno: Option<i32>) {
        self.lock().fail_truncate = errno;
    }

    /// While held, fdatasync blocks (a slow disk); releasing lets waiting syncs finish.
    pub fn hold_fsync(&self, hold: bool) {
        self.lock().hold_fsync = hold;
        if !hold {
            self.released.notify_all();
        }
    }

    /// Completed or failed fdatasync calls so far.
    pub fn fsyncs(&self) -> u64 {
        self.lock().fsyncs
    }

    /// write calls so far.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }
}

impl AofFile for SimFile {
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut s = self.lock();
        s.writes += 1;
        if let Some(errno) = s.fail_next_write.take().or(s.fail_writes) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        let mut n = buf.len();
        if let Some(short) = s.short_next_write.take() {
            n = n.min(short);
        }
        if let Some(limit) = s.space_limit {
            let room =
                usize::try_from(limit.saturating_sub(s.data.len() as u64)).unwrap_or(usize::MAX);
            if room == 0 && n > 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            n = n.min(room);
        }
        // Appends never overlap a lost range (those lie below the end); only a truncation
        // followed by fresh writes replaces lost bytes, see `ftruncate`.
        s.data.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn fdatasync(&self) -> io::Result<()> {
        let mut s = self.lock();
        while s.hold_fsync {
            s = self.released.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.fsyncs += 1;
        if let Some(errno) = s.fail_next_fsync.take().or(s.fail_fsync) {
            let from = s.durable.len() as u64;
            let to = s.data.len() as u64;
            if to > from {
                s.lost.push((from, to));
            }
            return Err(io::Error::from_raw_os_error(errno));
        }
        let mut durable = s.data.clone();
        for &(a, b) in &s.lost {
            let (a, b) = (a as usize, (b as usize).min(durable.len()));
            if a < b {
                durable[a..b].fill(0);
            }
        }
        s.durable = durable;
        Ok(())
    }

    fn ftruncate(&self, len: u64) -> io::Result<()> {
        let mut s = self.lock();
        if let Some(errno) = s.fail_truncate {
            return Err(io::Error::from_raw_os_error(errno));
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        s.data.resize(len, 0);
        let l = len as u64;
        s.lost.retain(|&(a, _)| a < l);
        for r in s.lost.iter_mut() {
            r.1 = r.1.min(l);
        }
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.lock().data.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_separates_written_from_durable() {
        let f = SimFile::new();
        assert_eq!(f.write(b"abc").unwrap(), 3);
        f.fdatasync().unwrap();
        f.write(b"def").unwrap();
        assert_eq!(f.contents(), b"abcdef");
        assert_eq!(f.crash(CrashMode::Tear(1)), b"abcd");
        assert_eq!(f.contents(), b"abcd");
        f.write(b"xyz").unwrap();
        assert_eq!(f.crash(CrashMode::DropUnsynced), b"abcd");
    }

    #[test]
    fn sim_faults() {
        let f = SimFile::new();
        f.set_space_limit(Some(4));
        assert_eq!(f.write(b"abcdef").unwrap(), 4);
        assert_eq!(
            f.write(b"ef").unwrap_err().raw_os_error(),
            Some(libc::ENOSPC)
        );
        f.set_space_limit(None);
        f.short_next_write(1);
        assert_eq!(f.write(b"ef").unwrap(), 1);
        f.fail_next_write(libc::EIO);
        assert!(f.write(b"x").is_err());
        assert_eq!(f.write(b"x").unwrap(), 1);
        f.fail_truncate(Some(libc::EIO));
        assert!(f.ftruncate(1).is_err());
        f.fail_truncate(None);
        f.ftruncate(2).unwrap();
        assert_eq!(f.contents(), b"ab");
    }

    #[test]
    fn a_failed_fsync_is_not_saved_by_a_later_one() {
        let f = SimFile::new();
        f.write(b"ok").unwrap();
        f.fdatasync().unwrap();
        f.write(b"lost").unwrap();
        f.fail_next_fsync(libc::EIO);
        assert!(f.fdatasync().is_err());
        f.fdatasync().unwrap();
        assert_eq!(f.crash(CrashMode::DropUnsynced), b"ok\0\0\0\0");
        // Written again after truncating, the bytes become durable.
        let f = SimFile::new();
        f.write(b"lost").unwrap();
        f.fail_next_fsync(libc::EIO);
        assert!(f.fdatasync().is_err());
        f.ftruncate(0).unwrap();
        f.write(b"again").unwrap();
        f.fdatasync().unwrap();
        assert_eq!(f.crash(CrashMode::DropUnsynced), b"again");
    }

    #[test]
    fn real_file_appends_and_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.aof");
        let f = RealFile::open_append(&path).unwrap();
        assert!(f.is_empty().unwrap());
        assert_eq!(f.write(b"hello").unwrap(), 5);
        f.fdatasync().unwrap();
        f.ftruncate(2).unwrap();
        f.write(b"y").unwrap();
        assert_eq!(f.len().unwrap(), 3);
        assert_eq!(std::fs::read(&path).unwrap(), b"hey");
    }
}
