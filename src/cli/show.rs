//! `ssmform show PLANFILE`: render a saved plan, after checking its MAC.
//!
//! The MAC key is `SSMFORM_PLAN_KEY` when set; otherwise it is derived from the API credentials the
//! plan's configuration uses, so `show` reads the provider block of the configuration directory the
//! plan names (it does not contact the API).

use std::io::Write;
use std::path::PathBuf;

use super::plan::PlanFormat;
use super::{CmdResult, Exit};
use crate::config::{self, LoadOptions, Mode};
use crate::render::{self, RenderOptions};
use crate::secret::PlanKey;
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
    let key = if let Some(key) = PlanKey::from_env() {
        key
    } else {
        let peek = crate::plan::file::peek(&args.plan_file)?;
        let dir = peek.resolve_dir();
        if !dir.is_dir() {
            return Err(format!(
                "cannot check {}: it was made from the configuration directory {}, which is not \
                 here, and SSMFORM_PLAN_KEY is not set. Set SSMFORM_PLAN_KEY to the plan job's \
                 key, or run show from the directory the plan was made in",
                args.plan_file.display(),
                dir.display()
            )
            .into());
        }
        // Only the provider block matters here, so variables without values are fine.
        let vars = config::VarInputs::default();
        let loaded = config::load(&LoadOptions {
            dir: &dir,
            vars: &vars,
            env: config::env_vars(),
            mode: Mode::Validate,
        });
        match loaded {
            Ok(c) => crate::workflow::connect::plan_key_for(&c)?,
            Err(d) => {
                eprint!("{}", d.render(Paint::for_stream(Stream::Stderr)));
                return Ok(Exit::Error);
            }
        }
    };
    let plan = crate::plan::file::read(&args.plan_file, &key)?;
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
