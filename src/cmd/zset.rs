//! The zset command family. Placeholder: the work on this family owns this file.

use super::spec::CommandSpec;

/// The zset commands.
pub const COMMANDS: &[CommandSpec] = &[];
