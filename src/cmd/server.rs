//! Server commands. Placeholder: the server-commands work owns this file.

use super::spec::CommandSpec;

/// The server commands.
pub const COMMANDS: &[CommandSpec] = &[];
