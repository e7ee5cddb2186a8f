//! `ssmform fmt [DIR] [--check]`: canonical formatting of configuration files.
//!
//! Formats every `*.hcl` file of the directory, value files (`*.vars.hcl`) included. Nothing is
//! written if any file has a syntax error; each changed file is replaced atomically (written
//! beside it, then renamed), keeping its permissions.

use std::io::Write as _;
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

/// Replaces a file's contents atomically, keeping its permissions.
fn replace(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.ssmform-fmt.tmp"));
    let perms = std::fs::metadata(path)?.permissions();
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::set_permissions(&tmp, perms)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
