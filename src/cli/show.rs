//! `ssmform show PLANFILE`: render a saved plan, after checking its MAC.
//!
//! The MAC key is `SSMFORM_PLAN_KEY` when set; otherwise it is derived from the API credentials the
//! plan's configuration uses, so `show` reads the provider block of the configuration directory the
//! plan names (it does not contact the API).

use std::io::Write;
use std::path::PathBuf;

use super::plan::PlanFormat;
use super::{CmdResult, Exit};
use crate::render::{self, RenderOptions};
use crate::term::{Paint, Stream};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan file written by `ssmform plan --out`
    pub plan_file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

pub fn run(args: Args) -> CmdResult {
    let plan = match crate::workflow::apply::read_for_show(&args.plan_file) {
        Ok(p) => p,
        Err(crate::workflow::Error::Diagnostics(d)) => {
            eprint!("{}", d.render(Paint::for_stream(Stream::Stderr)));
            return Ok(Exit::Error);
        }
        Err(e) => return Err(e.into()),
    };
    let renderer = render::plan_renderer(
        args.format.into(),
        RenderOptions::for_stream(Stream::Stdout),
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    renderer.render_plan(&plan, &mut out)?;
    out.flush()?;
    Ok(Exit::Success)
}
