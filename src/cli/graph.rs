//! `ssmform graph [DIR]`: the dependency graph as Graphviz DOT.

use std::path::PathBuf;

use super::{CmdResult, VarArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration directory
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
}

pub fn run(_args: Args) -> CmdResult {
    Err(super::not_built("graph"))
}
