//! The hash command family. Placeholder: the work on this family owns this file.

use super::spec::CommandSpec;

/// The hash commands.
pub const COMMANDS: &[CommandSpec] = &[];
