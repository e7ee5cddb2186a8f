//! `ssmform apply [DIR | PLANFILE]`: make the planned changes.

use std::path::PathBuf;

use super::{CmdResult, VarArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A configuration directory (plan, then ask) or a plan file from `ssmform plan --out`
    #[arg(default_value = ".", value_name = "DIR|PLANFILE")]
    pub target: PathBuf,
    /// Apply without asking for confirmation (required without a terminal)
    #[arg(long)]
    pub auto_approve: bool,
    /// Maximum number of API requests in flight
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parallelism: u32,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: ApplyFormat,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Apply only this secret and what it depends on (repeatable; directory mode only)
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Do not re-read each live value before writing it (skips the check that refuses changes made
    /// outside ssmform since the plan)
    #[arg(long)]
    pub no_stale_check: bool,
}

/// How apply reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApplyFormat {
    /// Human text for terminals
    Text,
    /// JSON lines in Terraform's machine-readable UI shape
    Json,
}

pub fn run(_args: Args) -> CmdResult {
    Err(super::not_built("apply"))
}
