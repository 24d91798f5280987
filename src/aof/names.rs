//! Every AOF file name, in one place (Redis `aof.c` l.55–97, `getNewBaseFileNameAndMarkPreAsHistory`,
//! `getNewIncrAofName`, `getTempIncrAofName`): with `appendfilename = F`, the directory
//! `<dir>/<appenddirname>/` holds `F.<seq>.base.rdb|aof`, `F.<seq>.incr.aof` and `F.manifest`;
//! temporary files start with `temp-`.

/// Suffix of BASE files, before the format suffix.
pub const BASE_SUFFIX: &str = ".base";
/// Suffix of INCR files, before the format suffix.
pub const INCR_SUFFIX: &str = ".incr";
/// Format suffix of RDB-encoded files.
pub const RDB_FORMAT_SUFFIX: &str = ".rdb";
/// Format suffix of RESP-encoded files.
pub const AOF_FORMAT_SUFFIX: &str = ".aof";
/// Suffix of the manifest.
pub const MANIFEST_SUFFIX: &str = ".manifest";
/// Prefix of every temporary file.
pub const TEMP_PREFIX: &str = "temp-";

/// The encoding of a BASE file, which decides its suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseFormat {
    /// RDB (`aof-use-rdb-preamble yes`): `.base.rdb`.
    Rdb,
    /// RESP commands (`aof-use-rdb-preamble no`): `.base.aof`.
    Resp,
}

/// File names derived from `appendfilename`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofNames {
    /// `appendfilename`, e.g. `appendonly.aof`.
    pub filename: String,
}

impl AofNames {
    /// Names for the given `appendfilename` (assumed valid, see [`validate_filename`]).
    pub fn new(appendfilename: &str) -> Self {
        AofNames {
            filename: appendfilename.to_string(),
        }
    }

    /// `F.<seq>.base.rdb` or `F.<seq>.base.aof`.
    pub fn base(&self, seq: i64, format: BaseFormat) -> String {
        let fmt = match format {
            BaseFormat::Rdb => RDB_FORMAT_SUFFIX,
            BaseFormat::Resp => AOF_FORMAT_SUFFIX,
        };
        format!("{}.{seq}{BASE_SUFFIX}{fmt}", self.filename)
    }

    /// `F.<seq>.incr.aof`.
    pub fn incr(&self, seq: i64) -> String {
        format!("{}.{seq}{INCR_SUFFIX}{AOF_FORMAT_SUFFIX}", self.filename)
    }

    /// `F.manifest`.
    pub fn manifest(&self) -> String {
        format!("{}{MANIFEST_SUFFIX}", self.filename)
    }

    /// `temp-F.manifest`, the name the manifest is written under before the rename.
    pub fn temp_manifest(&self) -> String {
        format!("{TEMP_PREFIX}{}{MANIFEST_SUFFIX}", self.filename)
    }

    /// `temp-F.incr` (no `.aof` suffix, as in Redis): the INCR written while AOF is being
    /// switched on at runtime, renamed when the first rewrite succeeds.
    pub fn temp_incr(&self) -> String {
        format!("{TEMP_PREFIX}{}{INCR_SUFFIX}", self.filename)
    }

    /// A temporary BASE name for a synchronous rewrite by process `pid`
    /// (`temp-rewriteaof-<pid>.aof`, Redis's name; lives in `dir`, not in the AOF directory).
    pub fn temp_rewrite(pid: u32) -> String {
        format!("{TEMP_PREFIX}rewriteaof-{pid}{AOF_FORMAT_SUFFIX}")
    }

    /// The temporary BASE written by a background rewrite child `pid`
    /// (`temp-rewriteaof-bg-<pid>.aof`).
    pub fn temp_rewrite_bg(pid: u32) -> String {
        format!("{TEMP_PREFIX}rewriteaof-bg-{pid}{AOF_FORMAT_SUFFIX}")
    }
}

/// Redis's `pathIsBaseName`: no `/` and no `\`.
pub fn is_base_name(name: &str) -> bool {
    !name.contains('/') && !name.contains('\\')
}

/// Checks an `appendfilename` value, with Redis's CONFIG error texts.
///
/// # Errors
/// `appendfilename can't be empty` or `appendfilename can't be a path, just a filename`.
pub fn validate_filename(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("appendfilename can't be empty")
    } else if !is_base_name(name) {
        Err("appendfilename can't be a path, just a filename")
    } else {
        Ok(())
    }
}

/// Checks an `appenddirname` value, with Redis's CONFIG error texts.
///
/// # Errors
/// `appenddirname can't be empty` or `appenddirname can't be a path, just a dirname`.
pub fn validate_dirname(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("appenddirname can't be empty")
    } else if !is_base_name(name) {
        Err("appenddirname can't be a path, just a dirname")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_redis() {
        let n = AofNames::new("appendonly.aof");
        assert_eq!(n.base(2, BaseFormat::Rdb), "appendonly.aof.2.base.rdb");
        assert_eq!(n.base(3, BaseFormat::Resp), "appendonly.aof.3.base.aof");
        assert_eq!(n.incr(2), "appendonly.aof.2.incr.aof");
        assert_eq!(n.manifest(), "appendonly.aof.manifest");
        assert_eq!(n.temp_manifest(), "temp-appendonly.aof.manifest");
        assert_eq!(n.temp_incr(), "temp-appendonly.aof.incr");
        assert_eq!(
            AofNames::temp_rewrite_bg(14307),
            "temp-rewriteaof-bg-14307.aof"
        );
        assert_eq!(AofNames::temp_rewrite(7), "temp-rewriteaof-7.aof");
    }

    #[test]
    fn config_validation_texts() {
        assert_eq!(validate_filename(""), Err("appendfilename can't be empty"));
        assert_eq!(
            validate_filename("a/b"),
            Err("appendfilename can't be a path, just a filename")
        );
        assert_eq!(
            validate_filename("a\\b"),
            Err("appendfilename can't be a path, just a filename")
        );
        assert_eq!(validate_filename("my file.aof"), Ok(()));
        assert_eq!(validate_dirname(""), Err("appenddirname can't be empty"));
        assert_eq!(
            validate_dirname("x/y"),
            Err("appenddirname can't be a path, just a dirname")
        );
    }
}
