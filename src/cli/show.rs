//! `ssmform show PLANFILE`: render a saved plan.

use std::path::PathBuf;

use super::CmdResult;
use super::plan::PlanFormat;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan file written by `ssmform plan --out`
    pub plan_file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

pub fn run(_args: Args) -> CmdResult {
    Err(super::not_built("show"))
}
