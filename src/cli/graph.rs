//! `ssmform graph [DIR]`: the dependency graph as Graphviz DOT.
//!
//! Every node is named by its address; secrets are grouped by apply wave as if every secret
//! changed (`ssmform graph | dot -Tsvg > graph.svg`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{CmdResult, Exit, VarArgs};
use crate::config::Mode;
use crate::term::{Paint, Stream};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration directory
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
}

pub fn run(args: Args) -> CmdResult {
    let paint = Paint::for_stream(Stream::Stderr);
    let cfg = match crate::workflow::load(&args.dir, &args.vars.inputs(), Mode::Validate) {
        Ok(cfg) => cfg,
        Err(diags) => {
            eprint!("{}", diags.render(paint));
            return Ok(Exit::Error);
        }
    };
    if !cfg.warnings().is_empty() {
        eprint!("{}", cfg.warnings().render(paint));
    }
    let all: BTreeSet<String> = cfg.secret_addresses().into_iter().collect();
    let waves = cfg.graph().waves(&all);
    print!("{}", cfg.graph().to_dot(&waves));
    // The process ends right after this; freeing the syntax trees would only take time.
    std::mem::forget(cfg);
    Ok(Exit::Success)
}
