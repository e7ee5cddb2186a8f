//! `ssmform fmt [DIR] [--check]`: canonical formatting of configuration files.

use std::path::PathBuf;

use super::CmdResult;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration directory
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Change nothing; list the files that are not formatted and exit 1 if there are any
    #[arg(long)]
    pub check: bool,
}

pub fn run(_args: Args) -> CmdResult {
    Err(super::not_built("fmt"))
}
