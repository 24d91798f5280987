//! The pubsub command family. Placeholder: the work on this family owns this file.

use super::spec::CommandSpec;

/// The pubsub commands.
pub const COMMANDS: &[CommandSpec] = &[];
