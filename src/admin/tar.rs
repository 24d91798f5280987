//! The small part of the tar format backups need: ustar headers written for members whose size
//! is known up front, and a strict streaming reader for `aofd restore`.
//!
//! Writing the 512-byte headers ourselves keeps the backup a plain sequence of byte chunks (no
//! `Write` sink to drive from an async body) and avoids a dependency. Sizes above ustar's 8 GiB
//! limit use GNU tar's base-256 size field, which GNU tar, bsdtar and Python's `tarfile` read;
//! AOF files can be that large. Member paths longer than 100 bytes are split into ustar's
//! `prefix` and `name` fields.
//!
//! The reader accepts regular files and directories only, checks every header's checksum, and
//! reports a truncated archive (missing data or missing end-of-archive blocks) as an error, so a
//! download cut short is never mistaken for a complete backup.

use std::fmt;
use std::io::{self, Read};

/// The tar block size.
pub const BLOCK: usize = 512;

/// Largest size the 11 octal digits of a ustar size field hold (8 GiB - 1).
const OCTAL_SIZE_MAX: u64 = 0o77_777_777_777;

/// What a member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file (`0`).
    File,
    /// A directory (`5`).
    Dir,
    /// Anything else (links, devices, pax or GNU extension headers), with its type flag.
    Other(u8),
}

/// A header that could not be written or read.
#[derive(Debug)]
pub enum TarError {
    /// The underlying reader failed.
    Io(io::Error),
    /// The archive ends before its end-of-archive blocks or inside a member.
    Truncated,
    /// A header's checksum does not match its bytes.
    BadChecksum {
        /// The byte offset of the header in the archive.
        offset: u64,
    },
    /// A header is not a ustar header (or a numeric field is malformed).
    BadHeader {
        /// The byte offset of the header in the archive.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A path that does not fit ustar's name and prefix fields, or is not valid UTF-8.
    BadPath(String),
}

impl fmt::Display for TarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TarError::Io(e) => write!(f, "read error: {e}"),
            TarError::Truncated => f.write_str("the archive is truncated"),
            TarError::BadChecksum { offset } => {
                write!(f, "bad header checksum at byte offset {offset}")
            }
            TarError::BadHeader { offset, reason } => {
                write!(f, "bad tar header at byte offset {offset}: {reason}")
            }
            TarError::BadPath(p) => write!(f, "path {p:?} cannot be stored in a ustar header"),
        }
    }
}

impl std::error::Error for TarError {}

impl From<io::Error> for TarError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            TarError::Truncated
        } else {
            TarError::Io(e)
        }
    }
}

/// Bytes of padding after `size` bytes of member data.
pub fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// Bytes a member takes in the archive: its header, its data and the padding.
pub fn member_len(size: u64) -> u64 {
    BLOCK as u64 + size + padding(size)
}

/// The end-of-archive marker: two zero blocks.
pub const END: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

/// Writes `value` as zero-padded octal filling `field` but its last byte, which stays NUL.
/// Returns false if it does not fit.
fn put_octal(field: &mut [u8], value: u64) -> bool {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    if text.len() > digits {
        return false;
    }
    field[..digits].copy_from_slice(text.as_bytes());
    field[digits] = 0;
    true
}

/// A ustar header for a member.
///
/// # Errors
/// [`TarError::BadPath`] when `path` fits neither the 100-byte name field nor a split at a `/`
/// into the 155-byte prefix and the name.
pub fn header(
    path: &str,
    kind: Kind,
    size: u64,
    mode: u32,
    mtime: u64,
) -> Result<[u8; BLOCK], TarError> {
    let mut h = [0u8; BLOCK];
    let bytes = path.as_bytes();
    if bytes.len() <= 100 {
        h[..bytes.len()].copy_from_slice(bytes);
    } else {
        // Split at a '/' so that the name part fits 100 bytes and the prefix 155.
        let split = bytes
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'/' && i <= 155 && bytes.len() - i - 1 <= 100 && i > 0)
            .map(|(i, _)| i)
            .next_back()
            .ok_or_else(|| TarError::BadPath(path.to_string()))?;
        let (prefix, name) = (&bytes[..split], &bytes[split + 1..]);
        if name.is_empty() {
            return Err(TarError::BadPath(path.to_string()));
        }
        h[..name.len()].copy_from_slice(name);
        h[345..345 + prefix.len()].copy_from_slice(prefix);
    }
    put_octal(&mut h[100..108], u64::from(mode & 0o7777));
    put_octal(&mut h[108..116], 0);
    put_octal(&mut h[116..124], 0);
    if size <= OCTAL_SIZE_MAX {
        put_octal(&mut h[124..136], size);
    } else {
        // GNU base-256: the high bit of the first byte set, the value big-endian in the rest.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    if !put_octal(&mut h[136..148], mtime) {
        put_octal(&mut h[136..148], 0);
    }
    h[156] = match kind {
        Kind::File => b'0',
        Kind::Dir => b'5',
        Kind::Other(flag) => flag,
    };
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    put_octal(&mut h[329..337], 0);
    put_octal(&mut h[337..345], 0);
    let sum = checksum(&h);
    // Six octal digits, NUL, space: the traditional layout every tar reads.
    h[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
    h[154] = 0;
    h[155] = b' ';
    Ok(h)
}

/// The header checksum: the sum of its bytes with the checksum field read as spaces.
fn checksum(h: &[u8; BLOCK]) -> u32 {
    h.iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum()
}

/// Parses a numeric field: octal digits with optional leading spaces and trailing NUL/space, or
/// GNU base-256.
fn parse_number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(value);
    }
    let text: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ')
        .collect();
    if text.is_empty() {
        return Some(0);
    }
    let mut value: u64 = 0;
    for b in text {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        value = value.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// One member's header as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its path (`prefix/name`), without a trailing `/` for directories.
    pub path: String,
    /// File, directory or other.
    pub kind: Kind,
    /// Bytes of data that follow.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, unix seconds.
    pub mtime: u64,
}

/// A streaming tar reader: [`TarReader::next_entry`] then [`Read`] for that member's data.
pub struct TarReader<R> {
    inner: R,
    /// Bytes consumed so far (for error offsets).
    offset: u64,
    /// Data of the current member not yet read.
    left: u64,
    /// Padding after the current member's data.
    pad: u64,
    done: bool,
}

impl<R: Read> TarReader<R> {
    /// A reader of the archive `inner`.
    pub fn new(inner: R) -> Self {
        TarReader {
            inner,
            offset: 0,
            left: 0,
            pad: 0,
            done: false,
        }
    }

    fn skip(&mut self, mut n: u64) -> Result<(), TarError> {
        let mut buf = [0u8; 8192];
        while n > 0 {
            let want = usize::try_from(n.min(buf.len() as u64)).unwrap_or(buf.len());
            self.inner.read_exact(&mut buf[..want])?;
            self.offset += want as u64;
            n -= want as u64;
        }
        Ok(())
    }

    /// The next member's header, skipping whatever of the previous member's data was not read;
    /// `None` at the end-of-archive marker.
    ///
    /// # Errors
    /// The archive is truncated (including a missing end-of-archive marker), a header is
    /// malformed, or reading failed.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TarError> {
        if self.done {
            return Ok(None);
        }
        let rest = self.left + self.pad;
        self.skip(rest)?;
        self.left = 0;
        self.pad = 0;
        let at = self.offset;
        let mut h = [0u8; BLOCK];
        self.inner.read_exact(&mut h)?;
        self.offset += BLOCK as u64;
        if h.iter().all(|&b| b == 0) {
            // The first of the two end blocks; the second must be there too.
            self.inner.read_exact(&mut h)?;
            self.offset += BLOCK as u64;
            if h.iter().any(|&b| b != 0) {
                return Err(TarError::BadHeader {
                    offset: at,
                    reason: "a zero block inside the archive",
                });
            }
            self.done = true;
            return Ok(None);
        }
        let stored = parse_number(&h[148..156]).ok_or(TarError::BadHeader {
            offset: at,
            reason: "malformed checksum field",
        })?;
        if stored != u64::from(checksum(&h)) {
            return Err(TarError::BadChecksum { offset: at });
        }
        if &h[257..262] != b"ustar" {
            return Err(TarError::BadHeader {
                offset: at,
                reason: "not a ustar header",
            });
        }
        let bad = |reason| TarError::BadHeader { offset: at, reason };
        let size = parse_number(&h[124..136]).ok_or(bad("malformed size field"))?;
        let mode = parse_number(&h[100..108]).ok_or(bad("malformed mode field"))?;
        let mtime = parse_number(&h[136..148]).ok_or(bad("malformed mtime field"))?;
        let name = cstr(&h[..100]);
        let prefix = cstr(&h[345..500]);
        let mut path = Vec::with_capacity(prefix.len() + 1 + name.len());
        if !prefix.is_empty() {
            path.extend_from_slice(prefix);
            path.push(b'/');
        }
        path.extend_from_slice(name);
        let mut path = String::from_utf8(path)
            .map_err(|e| TarError::BadPath(String::from_utf8_lossy(e.as_bytes()).into_owned()))?;
        let kind = match h[156] {
            b'0' | 0 => Kind::File,
            b'5' => Kind::Dir,
            other => Kind::Other(other),
        };
        if kind == Kind::Dir {
            while path.ends_with('/') {
                path.pop();
            }
        }
        self.left = size;
        self.pad = padding(size);
        Ok(Some(Entry {
            path,
            kind,
            size,
            mode: u32::try_from(mode & 0o7777).unwrap_or(0o644),
            mtime,
        }))
    }
}

impl<R: Read> Read for TarReader<R> {
    /// Reads the current member's data; `Ok(0)` at its end. A member cut short is an
    /// `UnexpectedEof` error.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n as u64;
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(members: &[(&str, Kind, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, kind, data) in members {
            out.extend_from_slice(
                &header(path, *kind, data.len() as u64, 0o644, 1_700_000_000).unwrap(),
            );
            out.extend_from_slice(data);
            out.resize(out.len() + padding(data.len() as u64) as usize, 0);
        }
        out.extend_from_slice(&END);
        out
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(Entry, Vec<u8>)>, TarError> {
        let mut r = TarReader::new(bytes);
        let mut out = Vec::new();
        while let Some(e) = r.next_entry()? {
            let mut data = Vec::new();
            r.read_to_end(&mut data)?;
            out.push((e, data));
        }
        Ok(out)
    }

    #[test]
    fn round_trip() {
        let long_dir = "d".repeat(120);
        let long = format!("{long_dir}/{}", "f".repeat(90));
        let big = vec![7u8; 1500];
        let bytes = archive(&[
            ("appendonlydir", Kind::Dir, b""),
            (
                "appendonlydir/a.manifest",
                Kind::File,
                b"file x seq 1 type b\n",
            ),
            ("empty", Kind::File, b""),
            (&long, Kind::File, &big),
            ("exact", Kind::File, &[1u8; 512]),
        ]);
        assert_eq!(bytes.len() % BLOCK, 0);
        let got = read_all(&bytes).unwrap();
        let names: Vec<_> = got.iter().map(|(e, _)| e.path.as_str()).collect();
        assert_eq!(
            names,
            [
                "appendonlydir",
                "appendonlydir/a.manifest",
                "empty",
                &long,
                "exact"
            ]
        );
        assert_eq!(got[0].0.kind, Kind::Dir);
        assert_eq!(got[1].1, b"file x seq 1 type b\n");
        assert_eq!(got[1].0.mode, 0o644);
        assert_eq!(got[1].0.mtime, 1_700_000_000);
        assert_eq!(got[3].1, big);
        assert_eq!(got[4].1.len(), 512);
        let total: u64 = [0u64, 20, 0, 1500, 512]
            .iter()
            .map(|&s| member_len(s))
            .sum();
        assert_eq!(bytes.len() as u64, total + END.len() as u64);
    }

    #[test]
    fn unread_data_is_skipped() {
        let bytes = archive(&[("a", Kind::File, &[1u8; 700]), ("b", Kind::File, b"bb")]);
        let mut r = TarReader::new(&bytes[..]);
        assert_eq!(r.next_entry().unwrap().unwrap().path, "a");
        let mut two = [0u8; 2];
        r.read_exact(&mut two).unwrap();
        let e = r.next_entry().unwrap().unwrap();
        assert_eq!((e.path.as_str(), e.size), ("b", 2));
        assert!(r.next_entry().unwrap().is_none());
        assert!(r.next_entry().unwrap().is_none());
    }

    #[test]
    fn large_sizes_use_base_256() {
        let size = 9 * 1024 * 1024 * 1024u64;
        let h = header("huge", Kind::File, size, 0o644, 0).unwrap();
        assert_eq!(h[124], 0x80);
        assert_eq!(parse_number(&h[124..136]), Some(size));
        // And the reader accepts it (the data itself is not there: truncated).
        let mut r = TarReader::new(&h[..]);
        let e = r.next_entry().unwrap().unwrap();
        assert_eq!(e.size, size);
        assert!(matches!(r.next_entry(), Err(TarError::Truncated)));
    }

    #[test]
    fn matches_what_gnu_tar_writes_for_the_fields_we_use() {
        // The octal layout GNU tar uses: 7 digits + NUL for mode, 11 + NUL for size.
        let h = header("x", Kind::File, 5, 0o644, 0o17).unwrap();
        assert_eq!(&h[100..108], b"0000644\0");
        assert_eq!(&h[124..136], b"00000000005\0");
        assert_eq!(&h[136..148], b"00000000017\0");
        assert_eq!(&h[257..265], b"ustar\x0000");
        assert_eq!(parse_number(&h[148..156]), Some(u64::from(checksum(&h))));
    }

    #[test]
    fn truncation_and_corruption_are_errors() {
        let bytes = archive(&[("a", Kind::File, &[1u8; 700])]);
        // Cut inside the data, inside the padding, and before the second end block.
        for cut in [600, 1100, bytes.len() - BLOCK, bytes.len() - 1] {
            assert!(
                matches!(read_all(&bytes[..cut]), Err(TarError::Truncated)),
                "cut at {cut}"
            );
        }
        let mut bad = bytes.clone();
        bad[10] ^= 1;
        assert!(matches!(
            read_all(&bad),
            Err(TarError::BadChecksum { offset: 0 })
        ));
        let mut not_ustar = archive(&[("a", Kind::File, b"x")]);
        not_ustar[257] = b'X';
        // Fix the checksum so only the magic is wrong.
        let mut h = [0u8; BLOCK];
        h.copy_from_slice(&not_ustar[..BLOCK]);
        let sum = checksum(&h);
        not_ustar[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
        assert!(matches!(
            read_all(&not_ustar),
            Err(TarError::BadHeader { .. })
        ));
    }

    #[test]
    fn paths_that_cannot_fit_are_refused() {
        assert!(header(&"x".repeat(101), Kind::File, 0, 0o644, 0).is_err());
        let ok = format!("{}/{}", "p".repeat(155), "n".repeat(100));
        assert!(header(&ok, Kind::File, 0, 0o644, 0).is_ok());
        let too_long = format!("{}/{}", "p".repeat(156), "n".repeat(100));
        assert!(header(&too_long, Kind::File, 0, 0o644, 0).is_err());
    }
}
