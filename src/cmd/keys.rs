//! The keys command family. Placeholder: the work on this family owns this file.

use super::spec::CommandSpec;

/// The keys commands.
pub const COMMANDS: &[CommandSpec] = &[];
