//! `aofd restore <backup.tar> --dir <dir> [--force]`: turns a backup taken with
//! `GET /v1/backup` back into a data directory aofd (or redis-server 7) can start from.
//!
//! The archive is read once, as a stream (a file or `-` for standard input, so
//! `curl ... | aofd restore - --dir d` works). Every member is written into a staging directory
//! inside the target while its SHA-256 is computed; only when every sum in `SHA256SUMS` matches,
//! every member is listed and every listed member is present, and the manifest names files that
//! are all there, is anything put in place: the staged files are fsynced, the staging
//! directory is fsynced and renamed to `<dir>/<appenddirname>` in one step, and `<dir>` is
//! fsynced. A failure at any point leaves the target as it was (the staging directory is
//! removed).
//!
//! A target that is not empty is refused unless `--force`; with `--force` an existing AOF
//! directory is kept, renamed to `<appenddirname>.before-restore-<unix time>`, never deleted.
//!
//! Exit codes: 0 restored, 1 refused or failed (the message names the member or file), 2 bad
//! usage.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::admin::backup::{
    self, BackupInfo, FORMAT_NAME, FORMAT_VERSION, INFO_MEMBER, SUMS_MEMBER,
};
use crate::admin::tar::{Kind, TarReader};
use crate::aof::manifest::{fsync_dir, AofManifest};

/// Largest `backup.json` or `SHA256SUMS` accepted (both are small text files).
const SMALL_MEMBER_MAX: u64 = 16 * 1024 * 1024;

/// The usage text for `aofd restore --help`.
pub fn usage() -> String {
    "Usage: aofd restore <backup.tar | -> --dir <dir> [--force]

Restores a backup taken with the admin API (GET /v1/backup) into <dir>, ready to start:
<dir>/<appenddirname>/ with the manifest, the BASE and the INCR files. Use - to read the
archive from standard input (curl ... /v1/backup | aofd restore - --dir <dir>).

Every member's SHA-256 is checked against SHA256SUMS, every member must be listed there and
every listed member present; nothing is put in place unless all of it holds. Files are written
into a staging directory, fsynced, and renamed into place in one step.

Options:
  --dir <dir>   the data directory to restore into (created if missing); start aofd with
                --dir <dir> and the appendfilename/appenddirname the backup names
  --force       restore into a directory that is not empty; an existing AOF directory is
                renamed to <appenddirname>.before-restore-<unix time>, never deleted
  -h, --help    this text

Exit status: 0 restored, 1 refused or failed, 2 bad usage.
"
    .to_string()
}

/// The parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    archive: String,
    dir: PathBuf,
    force: bool,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let mut archive = None;
    let mut dir = None;
    let mut force = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--force" => force = true,
            "--dir" => {
                let value = it.next().ok_or("--dir needs a directory")?;
                dir = Some(PathBuf::from(value));
            }
            s if s.starts_with("--dir=") => dir = Some(PathBuf::from(&s["--dir=".len()..])),
            s if s.starts_with('-') && s != "-" => return Err(format!("unknown option {s}")),
            s => {
                if archive.replace(s.to_string()).is_some() {
                    return Err("only one archive can be restored at a time".to_string());
                }
            }
        }
    }
    let archive = archive.ok_or("the backup archive is missing")?;
    let dir = dir.ok_or("--dir <dir> is missing")?;
    if dir.as_os_str().is_empty() {
        return Err("--dir needs a directory".to_string());
    }
    Ok(Parsed::Run(Args {
        archive,
        dir,
        force,
    }))
}

/// Runs `aofd restore` with the arguments after `restore`; returns the exit code.
pub fn restore_main(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let args = match parse_args(args) {
        Ok(Parsed::Help) => {
            let _ = out.write_all(usage().as_bytes());
            return 0;
        }
        Ok(Parsed::Run(args)) => args,
        Err(msg) => {
            let _ = writeln!(err, "aofd restore: {msg}\n");
            let _ = err.write_all(usage().as_bytes());
            return 2;
        }
    };
    let input: Box<dyn Read> = if args.archive == "-" {
        Box::new(io::stdin().lock())
    } else {
        match File::open(&args.archive) {
            Ok(f) => Box::new(io::BufReader::with_capacity(256 * 1024, f)),
            Err(e) => {
                let _ = writeln!(err, "aofd restore: can't open {}: {e}", args.archive);
                return 1;
            }
        }
    };
    match restore(input, &args.dir, args.force) {
        Ok(summary) => {
            let _ = out.write_all(summary.as_bytes());
            0
        }
        Err(msg) => {
            let _ = writeln!(err, "aofd restore: {msg}");
            1
        }
    }
}

/// Removes the staging directory unless the restore completed.
struct Staging {
    path: PathBuf,
    keep: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A member path split into its components, refusing anything that could leave the target:
/// absolute paths, `..`, `.`, empty components.
fn components(path: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str().ok_or_else(|| format!("{path:?}"))?),
            _ => return Err(format!("member {path:?} has an unsafe path")),
        }
    }
    if parts.is_empty() {
        return Err(format!("member {path:?} has an empty path"));
    }
    Ok(parts)
}

fn read_small(reader: &mut impl Read, path: &str, size: u64) -> Result<Vec<u8>, String> {
    if size > SMALL_MEMBER_MAX {
        return Err(format!("{path} is implausibly large ({size} bytes)"));
    }
    let mut data = Vec::new();
    reader.read_to_end(&mut data).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("bad archive: the archive is truncated inside {path}")
        } else {
            format!("reading {path}: {e}")
        }
    })?;
    Ok(data)
}

/// Restores the archive read from `input` into `dir`; returns the summary to print.
///
/// # Errors
/// A sentence naming what was wrong (the member with a bad checksum, the missing file...).
pub fn restore(input: impl Read, dir: &Path, force: bool) -> Result<String, String> {
    let non_empty = match fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(format!("can't read the directory {}: {e}", dir.display())),
    };
    if non_empty && !force {
        return Err(format!(
            "the directory {} is not empty; restore into an empty or new directory, or use \
             --force (an existing AOF directory is then renamed, not deleted)",
            dir.display()
        ));
    }
    fs::create_dir_all(dir).map_err(|e| format!("can't create {}: {e}", dir.display()))?;
    let mut staging = Staging {
        path: dir.join(format!(".aofd-restore-{}.tmp", std::process::id())),
        keep: false,
    };
    let _ = fs::remove_dir_all(&staging.path);
    fs::create_dir(&staging.path)
        .map_err(|e| format!("can't create {}: {e}", staging.path.display()))?;

    let mut reader = TarReader::new(input);
    let mut top: Option<String> = None;
    let mut info_bytes: Option<Vec<u8>> = None;
    let mut sums_text: Option<String> = None;
    // Member path → (hex sum, size); the AOF directory's files in archive order.
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    let mut aof_files: Vec<(String, u64)> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while let Some(entry) = reader
        .next_entry()
        .map_err(|e| format!("bad archive: {e}"))?
    {
        let parts = components(&entry.path)?;
        let mut set_top = |name: &str| -> Result<(), String> {
            match &top {
                Some(t) if t != name => Err(format!(
                    "the archive has two top directories, {t} and {name}; a backup has one, \
                     the AOF directory"
                )),
                Some(_) => Ok(()),
                None => {
                    top = Some(name.to_string());
                    Ok(())
                }
            }
        };
        match (entry.kind, parts.as_slice()) {
            (Kind::Dir, [name]) => set_top(name)?,
            (Kind::File, [name]) if *name == INFO_MEMBER => {
                let data = read_small(&mut reader, &entry.path, entry.size)?;
                hashes.insert(entry.path.clone(), backup::hex(&Sha256::digest(&data)));
                if info_bytes.replace(data).is_some() {
                    return Err(format!("{INFO_MEMBER} appears twice in the archive"));
                }
            }
            (Kind::File, [name]) if *name == SUMS_MEMBER => {
                let data = read_small(&mut reader, &entry.path, entry.size)?;
                let text =
                    String::from_utf8(data).map_err(|_| format!("{SUMS_MEMBER} is not text"))?;
                if sums_text.replace(text).is_some() {
                    return Err(format!("{SUMS_MEMBER} appears twice in the archive"));
                }
            }
            (Kind::File, [dir_name, name]) => {
                set_top(dir_name)?;
                if hashes.contains_key(&entry.path) {
                    return Err(format!("{} appears twice in the archive", entry.path));
                }
                let target = staging.path.join(name);
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                    .map_err(|e| format!("can't create {}: {e}", target.display()))?;
                let mut hasher = Sha256::new();
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            return Err(format!(
                                "bad archive: the archive is truncated inside {}",
                                entry.path
                            ))
                        }
                        Err(e) => return Err(format!("reading {}: {e}", entry.path)),
                    };
                    hasher.update(&buf[..n]);
                    file.write_all(&buf[..n])
                        .map_err(|e| format!("writing {}: {e}", target.display()))?;
                }
                file.sync_all()
                    .map_err(|e| format!("can't fsync {}: {e}", target.display()))?;
                hashes.insert(entry.path.clone(), backup::hex(&hasher.finalize()));
                aof_files.push((name.to_string(), entry.size));
            }
            (Kind::Other(flag), _) => {
                return Err(format!(
                    "member {} is not a regular file or directory (tar type '{}'); a backup \
                     holds only those",
                    entry.path,
                    char::from(flag).escape_default()
                ))
            }
            _ => {
                return Err(format!(
                    "unexpected member {} (a backup holds {INFO_MEMBER}, {SUMS_MEMBER} and the \
                     files of one AOF directory)",
                    entry.path
                ))
            }
        }
    }

    // Checksums: every listed member present and matching, every member listed.
    let sums_text = sums_text.ok_or_else(|| {
        format!("{SUMS_MEMBER} is missing from the archive, so nothing can be verified")
    })?;
    let sums = backup::parse_sums(&sums_text)?;
    let mut listed = HashSet::new();
    for (path, expected) in &sums {
        let got = hashes.get(path).ok_or_else(|| {
            format!("{path} is listed in {SUMS_MEMBER} but missing from the archive")
        })?;
        if got != expected {
            return Err(format!(
                "checksum mismatch for {path}: {SUMS_MEMBER} says {expected}, the archive holds \
                 {got}; the backup is damaged"
            ));
        }
        listed.insert(path.as_str());
    }
    if let Some(path) = hashes.keys().find(|p| !listed.contains(p.as_str())) {
        return Err(format!(
            "{path} is in the archive but not listed in {SUMS_MEMBER}"
        ));
    }

    // The metadata and the manifest.
    let info_bytes =
        info_bytes.ok_or_else(|| format!("{INFO_MEMBER} is missing from the archive"))?;
    let info: BackupInfo = serde_json::from_slice(&info_bytes)
        .map_err(|e| format!("{INFO_MEMBER} is not valid: {e}"))?;
    if info.format != FORMAT_NAME || info.format_version > FORMAT_VERSION {
        return Err(format!(
            "{INFO_MEMBER} describes format {} version {}, which this aofd ({}) does not know",
            info.format,
            info.format_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let top = top.ok_or("the archive holds no AOF directory")?;
    if top != info.appenddirname {
        return Err(format!(
            "the archive's AOF directory is {top}, but {INFO_MEMBER} names {}",
            info.appenddirname
        ));
    }
    let staged: HashSet<&str> = aof_files.iter().map(|(n, _)| n.as_str()).collect();
    if !staged.contains(info.manifest.as_str()) {
        return Err(format!("the manifest {top}/{} is missing", info.manifest));
    }
    let manifest_bytes = fs::read(staging.path.join(&info.manifest))
        .map_err(|e| format!("can't read the staged manifest: {e}"))?;
    let manifest = AofManifest::parse(&manifest_bytes)
        .map_err(|e| format!("the manifest {top}/{} is not valid: {e}", info.manifest))?;
    if manifest.is_empty() {
        return Err(format!(
            "the manifest {top}/{} names no file",
            info.manifest
        ));
    }
    for f in manifest.files_to_load() {
        if !staged.contains(f.name.as_str()) {
            return Err(format!(
                "the manifest names {}, which is not in the archive",
                f.name
            ));
        }
    }
    fsync_dir(&staging.path).map_err(|e| format!("can't fsync {}: {e}", staging.path.display()))?;

    // Into place.
    if matches!(top.as_str(), "." | "..") {
        return Err(format!("the AOF directory name {top:?} is not usable"));
    }
    let target = dir.join(&top);
    let mut moved_aside = None;
    if fs::symlink_metadata(&target).is_ok() {
        let aside = dir.join(format!("{top}.before-restore-{}", info_now()));
        fs::rename(&target, &aside)
            .map_err(|e| format!("can't move the existing {} aside: {e}", target.display()))?;
        moved_aside = Some(aside);
    }
    fs::rename(&staging.path, &target).map_err(|e| {
        format!(
            "can't rename {} to {}: {e}",
            staging.path.display(),
            target.display()
        )
    })?;
    staging.keep = true;
    fsync_dir(dir).map_err(|e| format!("can't fsync {}: {e}", dir.display()))?;

    let mut summary = format!(
        "Verified {} SHA-256 checksums.\nRestored the backup taken {} by aofd {} (cut at {}, {} \
         bytes) into {}:\n",
        sums.len(),
        info.created,
        info.server_version,
        info.cut.file.as_deref().unwrap_or("-"),
        info.cut.length,
        target.display()
    );
    let total: u64 = aof_files.iter().map(|(_, s)| s).sum();
    for (name, size) in &aof_files {
        summary.push_str(&format!("  {name}  {size} bytes\n"));
    }
    summary.push_str(&format!("  total {total} bytes\n"));
    if let Some(aside) = moved_aside {
        summary.push_str(&format!(
            "The AOF directory that was there is kept as {}.\n",
            aside.display()
        ));
    }
    summary.push_str(&format!(
        "Start aofd with --dir {} --appendonly yes --appendfilename {} --appenddirname {} to \
         load it.\n",
        dir.display(),
        info.appendfilename,
        info.appenddirname
    ));
    Ok(summary)
}

fn info_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn arguments() {
        let Ok(Parsed::Run(a)) = parse_args(&s(&["b.tar", "--dir", "d", "--force"])) else {
            panic!("parses");
        };
        assert_eq!(
            a,
            Args {
                archive: "b.tar".into(),
                dir: "d".into(),
                force: true
            }
        );
        assert!(matches!(parse_args(&s(&["--help"])), Ok(Parsed::Help)));
        assert!(matches!(
            parse_args(&s(&["-", "--dir=x"])),
            Ok(Parsed::Run(_))
        ));
        assert!(parse_args(&s(&["b.tar"])).is_err());
        assert!(parse_args(&s(&["--dir", "d"])).is_err());
        assert!(parse_args(&s(&["a", "b", "--dir", "d"])).is_err());
        assert!(parse_args(&s(&["a", "--dir", "d", "--frce"])).is_err());
    }

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(components("/etc/passwd").is_err());
        assert!(components("appendonlydir/../x").is_err());
        assert!(components("./x").is_err());
        assert_eq!(components("a/b").unwrap(), ["a", "b"]);
    }
}
