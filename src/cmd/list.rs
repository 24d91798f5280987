//! The list command family. Placeholder: the work on this family owns this file.

use super::spec::CommandSpec;

/// The list commands.
pub const COMMANDS: &[CommandSpec] = &[];
