//! `ssmform validate [DIR]`: offline checks of a configuration.
//!
//! Loads the configuration in [`crate::config::Mode::Validate`] (a variable without a value is unknown) and
//! evaluates everything that does not wait for a data source or such a variable: syntax,
//! schema, references, cycles, SSM's naming rules, base64, the 32 KB limit, types and function
//! errors. It reads only the configuration directory (and files it names): no network, no
//! credentials.

use std::path::PathBuf;

use super::{CmdResult, Exit, VarArgs};
use crate::term::{Paint, Stream};
use crate::workflow::{self, Validation};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration directory
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Output format for diagnostics
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiagnosticFormat,
    #[command(flatten)]
    pub vars: VarArgs,
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagnosticFormat {
    /// rustc-style messages with the source line and a caret, on stderr
    Text,
    /// A JSON document with every diagnostic (severity, message, file, line, column), on stdout
    Json,
}

pub fn run(args: Args) -> CmdResult {
    let Validation {
        diagnostics: diags,
        summary,
    } = workflow::validate(&args.dir, &args.vars.inputs());
    match args.format {
        DiagnosticFormat::Json => {
            let mut json = diags.to_json();
            if let Some(s) = &summary {
                json["secrets"] = s.secrets.into();
                json["evaluated"] = s.evaluated.into();
                json["deferred"] = s.deferred.into();
            }
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        DiagnosticFormat::Text => {
            if !diags.is_empty() {
                eprint!("{}", diags.render(Paint::for_stream(Stream::Stderr)));
            }
            if let (false, Some(s)) = (diags.has_errors(), &summary) {
                let paint = Paint::for_stream(Stream::Stdout);
                let mut line = format!(
                    "{} The configuration is valid: {} secret{}",
                    paint.green("Success!"),
                    s.secrets,
                    if s.secrets == 1 { "" } else { "s" }
                );
                if s.deferred > 0 {
                    let on = if s.data_sources > 0 {
                        "data sources or on variables without values"
                    } else {
                        "variables without values"
                    };
                    line.push_str(&format!(
                        " ({} fully checked now; {} depend{} on {on}, and {} checked at plan time)",
                        s.evaluated,
                        s.deferred,
                        if s.deferred == 1 { "s" } else { "" },
                        if s.deferred == 1 { "is" } else { "are" },
                    ));
                }
                println!("{line}.");
            }
        }
    }
    Ok(if diags.has_errors() {
        Exit::Error
    } else {
        Exit::Success
    })
}
