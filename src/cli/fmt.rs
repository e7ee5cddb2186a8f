//! `ssmform fmt [DIR] [--check]`: canonical formatting of configuration files.
//!
//! Formats every `*.hcl` file of the directory, value files (`*.vars.hcl`) included. Nothing is
//! written if any file has a syntax error; each changed file is replaced atomically (written to a
//! new private file beside it, then renamed), keeping its permissions.

use std::path::{Path, PathBuf};

use super::{CmdResult, Exit};
use crate::config::{self, Diagnostics};
use crate::term::{Paint, Stream};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration directory
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Change nothing; list the files that are not formatted and exit 1 if there are any
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args) -> CmdResult {
    let paint = Paint::for_stream(Stream::Stderr);
    let names = match config::load::list_hcl_files(&args.dir) {
        Ok(n) => n,
        Err(d) => {
            eprint!("{}", Diagnostics::from(d).render(paint));
            return Ok(Exit::Error);
        }
    };
    let mut diags = Diagnostics::new();
    let mut changed: Vec<(PathBuf, PathBuf, String)> = Vec::new();
    // Read like validate reads: confined to the directory (a link out of it is refused unread).
    let files = config::files::Confined::new(&args.dir);
    for name in &names {
        let path = args.dir.join(name);
        let display = config::load::display_path(&args.dir, name);
        let text = match config::load::read_text(&files, name, &display) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        match config::fmt::format_source(&display, &text) {
            Ok(formatted) if formatted != text => changed.push((path, display, formatted)),
            Ok(_) => {}
            Err(d) => diags.extend(d),
        }
    }
    if !diags.is_empty() {
        eprint!("{}", diags.render(paint));
        return Ok(Exit::Error);
    }
    if args.check {
        for (_, display, _) in &changed {
            println!("{}", display.display());
        }
        return Ok(if changed.is_empty() {
            Exit::Success
        } else {
            Exit::Error
        });
    }
    for (path, display, formatted) in &changed {
        replace(path, formatted).map_err(|e| format!("cannot write {}: {e}", display.display()))?;
        println!("{}", display.display());
    }
    Ok(Exit::Success)
}

/// Replaces a file's contents atomically, keeping its permissions: the new content goes to a new
/// temporary file (mode 0600 from the first byte, a random name, never an existing file or a link
/// planted there), which gets the original's mode once complete and is renamed over it.
fn replace(path: &Path, contents: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        Some(std::fs::metadata(path)?.permissions().mode() & 0o7777)
    };
    #[cfg(not(unix))]
    let mode = None;
    crate::privfile::replace(path, contents.as_bytes(), mode)
}
