//! `aofd-runtime.conf` in the data directory: settings an operator changed through the admin
//! API and asked to keep (`"persist": true`). The configuration file stays the operator's and
//! is never written; this file is layered above it and below `AOFD_*` variables and flags
//! (see `config::load`), so an explicit choice at launch still wins. It is redis.conf syntax,
//! one directive per line, with a header saying who writes it.

use std::path::{Path, PathBuf};

use super::RUNTIME_FILE;

const HEADER: &str = "# Written by aofd's admin API for settings changed at runtime with \
\"persist\": true.\n# These lines override the configuration file; AOFD_* variables and \
command-line flags\n# override them. Remove a line (or the file) to go back to the \
configuration file.\n";

/// Records `name value` in `<dir>/aofd-runtime.conf`, replacing an earlier line for `name`,
/// atomically (temp file, fsync, rename, directory fsync). Returns the file's path.
///
/// # Errors
/// The file could not be read, written or renamed.
pub fn record(dir: &Path, name: &str, value: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(RUNTIME_FILE);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut text = String::from(HEADER);
    for line in existing.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let directive = trimmed.split_whitespace().next().unwrap_or("");
        if !directive.eq_ignore_ascii_case(name) {
            text.push_str(trimmed);
            text.push('\n');
        }
    }
    text.push_str(&format!("{name} {value}\n"));
    crate::aof::manifest::write_file_atomically(dir, RUNTIME_FILE, text.as_bytes())?;
    crate::aof::manifest::fsync_dir(dir)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_line_for_the_name_and_keeps_others() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), "appendfsync", "always").unwrap();
        let path = record(dir.path(), "maxclients", "50").unwrap();
        record(dir.path(), "appendfsync", "no").unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines, ["maxclients 50", "appendfsync no"]);
    }
}
