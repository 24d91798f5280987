//! The set command family. Placeholder: the work on this family owns this file.

use super::spec::CommandSpec;

/// The set commands.
pub const COMMANDS: &[CommandSpec] = &[];
