//! `ssmform validate [DIR]`: offline checks of a configuration.

use std::path::PathBuf;

use super::{CmdResult, VarArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration directory
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Output format for diagnostics
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiagnosticFormat,
    #[command(flatten)]
    pub vars: VarArgs,
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagnosticFormat {
    /// rustc-style messages with the source line and a caret, on stderr
    Text,
    /// A JSON document with every diagnostic (severity, message, file, line, column), on stdout
    Json,
}

pub fn run(_args: Args) -> CmdResult {
    Err(super::not_built("validate"))
}
