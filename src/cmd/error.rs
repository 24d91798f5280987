//! Command errors: the exact texts Redis replies with, and the result type of every handler.

use std::borrow::Cow;
use std::fmt;

/// An error reply: the full text after `-`, starting with its code (`ERR`, `WRONGTYPE`, ...).
/// The connection stays open after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>);

/// What every command handler returns; `Err` becomes the error reply.
pub type CmdResult = Result<(), CmdError>;

impl CmdError {
    /// An error with a fixed text.
    pub const fn fixed(text: &'static str) -> Self {
        CmdError(Cow::Borrowed(text))
    }

    /// An error with a computed text, which must start with its code.
    pub fn new(text: String) -> Self {
        CmdError(Cow::Owned(text))
    }

    /// `ERR <text>`.
    pub fn err(text: impl fmt::Display) -> Self {
        CmdError(Cow::Owned(format!("ERR {text}")))
    }

    /// The reply text.
    pub fn text(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `-WRONGTYPE`.
pub const WRONGTYPE: CmdError =
    CmdError::fixed("WRONGTYPE Operation against a key holding the wrong kind of value");
/// `-ERR syntax error`.
pub const SYNTAX: CmdError = CmdError::fixed("ERR syntax error");
/// Integer argument that does not parse or is out of range.
pub const NOT_INTEGER: CmdError = CmdError::fixed("ERR value is not an integer or out of range");
/// Float argument that does not parse.
pub const NOT_FLOAT: CmdError = CmdError::fixed("ERR value is not a valid float");
/// INCR family overflow.
pub const OVERFLOW: CmdError = CmdError::fixed("ERR increment or decrement would overflow");
/// A key that does not exist where one is required (RENAME, LSET, ...).
pub const NO_SUCH_KEY: CmdError = CmdError::fixed("ERR no such key");
/// Index out of range (LSET).
pub const INDEX_OUT_OF_RANGE: CmdError = CmdError::fixed("ERR index out of range");
/// A database index out of range (SELECT, MOVE, COPY DB).
pub const DB_INDEX_OUT_OF_RANGE: CmdError = CmdError::fixed("ERR DB index is out of range");
/// A timeout argument that does not parse.
pub const TIMEOUT_NOT_FLOAT: CmdError =
    CmdError::fixed("ERR timeout is not a float or out of range");
/// A negative timeout.
pub const TIMEOUT_NEGATIVE: CmdError = CmdError::fixed("ERR timeout is negative");
/// `-LOADING`: the command is not allowed while the dataset is being loaded.
pub const LOADING: CmdError = CmdError::fixed("LOADING Redis is loading the dataset in memory");

/// `-NOAUTH`.
pub const NOAUTH: CmdError = CmdError::fixed("NOAUTH Authentication required.");
/// A string would exceed 512 MB (`proto-max-bulk-len`).
pub const STRING_TOO_LONG: CmdError =
    CmdError::fixed("ERR string exceeds maximum allowed size (proto-max-bulk-len)");

/// `ERR wrong number of arguments for '<full name>' command`.
pub fn wrong_arity(full_name: &str) -> CmdError {
    CmdError::new(format!(
        "ERR wrong number of arguments for '{full_name}' command"
    ))
}
