//! `ssmform force-unlock ID [DIR]`: remove a run lock whose holder is gone, as Terraform's
//! `force-unlock` does: the ID must be the one the lock message named, and it asks for `yes` unless
//! `-force` is given.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use super::{CmdResult, Exit, VarArgs};
use crate::config::Mode;
use crate::term::{Paint, Stream};
use crate::workflow::{self, Connection};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The lock ID, as the message of the run that found the lock taken shows it
    #[arg(value_name = "ID")]
    pub id: String,
    /// Configuration directory (its provider block says which account and region)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Do not ask for confirmation (also `-force`)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub vars: VarArgs,
}

pub fn run(args: Args) -> CmdResult {
    // Only the provider block matters: variables without values are fine.
    let config = match workflow::load(&args.dir, &args.vars.inputs(), Mode::Validate) {
        Ok(c) => c,
        Err(d) => {
            eprint!("{}", d.render(Paint::for_stream(Stream::Stderr)));
            return Ok(Exit::Error);
        }
    };
    if !args.force && !confirm(&args.id)? {
        eprintln!("force-unlock cancelled: the lock was left in place.");
        return Ok(Exit::Error);
    }
    let runtime = super::runtime()?;
    let removed = runtime.block_on(async {
        let conn = Connection::open(&config).await?;
        workflow::force_unlock(&conn, &args.id).await
    })?;
    println!(
        "Removed the run lock {} (held by {} for {}). Runs may take it again.",
        removed.id, removed.holder, removed.operation
    );
    Ok(Exit::Success)
}

fn confirm(id: &str) -> Result<bool, super::Error> {
    if !std::io::stdin().is_terminal() {
        return Err(
            "refusing to force-unlock without confirmation: there is no terminal to ask on. \
             Pass -force if the lock's holder is certainly gone"
                .into(),
        );
    }
    let p = Paint::for_stream(Stream::Stderr);
    eprint!(
        "\n{}\n  Removing the lock {id} while its run is still going lets another run interleave \
         its writes with it.\n  Only 'yes' will be accepted to confirm.\n\n  {} ",
        p.bold("Do you really want to force-unlock?"),
        p.bold("Enter a value:")
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
