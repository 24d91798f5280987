//! The transaction command family. Placeholder: the work on this family owns this file.

use super::spec::CommandSpec;

/// The transaction commands.
pub const COMMANDS: &[CommandSpec] = &[];
