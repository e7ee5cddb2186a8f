//! `ssmform plan [DIR]`: refresh live state and show what apply would change.

use std::path::PathBuf;

use super::{CmdResult, VarArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration directory
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Save the plan to FILE (mode 0600; no secret values) for a later `ssmform apply FILE`
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Plan only this secret (e.g. `secret.db_url`) and what it depends on (repeatable)
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Maximum number of API requests in flight
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parallelism: u32,
}

/// How a plan is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Terraform-style text for terminals
    Text,
    /// Markdown for pull-request comments
    Markdown,
    /// JSON lines in Terraform's machine-readable UI shape
    Json,
}

pub fn run(_args: Args) -> CmdResult {
    Err(super::not_built("plan"))
}
