//! `ssmform completions SHELL`: print a shell completion script generated from the command tree.
//!
//! The script comes from the same clap definitions that parse the command line (clap_complete), so
//! it always offers exactly the subcommands, flags and values that exist. It is rendered into memory
//! first: clap_complete panics when its writer fails, and a closed pipe (`ssmform completions bash
//! | head`) must be a quiet exit, not a panic.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, CmdResult, Exit};

const AFTER_LONG_HELP: &str = "\
Installing the script:
  bash        ssmform completions bash > ~/.local/share/bash-completion/completions/ssmform
  zsh         ssmform completions zsh > ~/.zfunc/_ssmform
              (with `fpath+=~/.zfunc` before `compinit` in ~/.zshrc)
  fish        ssmform completions fish > ~/.config/fish/completions/ssmform.fish
  elvish      ssmform completions elvish > ~/.config/elvish/lib/ssmform.elv
              (with `use ssmform` in ~/.config/elvish/rc.elv)
  powershell  ssmform completions powershell > ~/Documents/PowerShell/ssmform.ps1
              (with `. ~/Documents/PowerShell/ssmform.ps1` in the file $PROFILE names)
Open a new shell afterwards.";

#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_LONG_HELP)]
pub struct Args {
    /// The shell to generate the completion script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

pub fn run(args: Args) -> CmdResult {
    let script = script(args.shell);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(Exit::Success)
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "ssmform", &mut buf);
    buf
}
