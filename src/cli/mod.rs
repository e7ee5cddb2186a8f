//! The command line: one file per command, each with its clap `Args` and a `run` function.
//!
//! Commands return an [`Exit`] (the process exit code as a value) or an error. An error is printed
//! once, here, as `Error: ...` followed by its causes; commands that report richer diagnostics (the
//! configuration's file:line:col messages) print them and return `Ok(Exit::Error)`.

pub mod apply;
pub mod completions;
pub mod emulator;
pub mod fmt;
pub mod force_unlock;
pub mod graph;
pub mod import;
pub mod man;
pub mod plan;
pub mod show;
pub mod sops;
pub mod terraform;
pub mod validate;
pub mod version;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::term::{Paint, Stream};

/// Declarative, rate-limited, secret-safe management of Tencent Cloud Secrets Manager.
#[derive(Debug, Parser)]
#[command(
    name = "ssmform",
    version,
    about = "Declarative, secret-safe management of Tencent Cloud Secrets Manager (SSM)",
    long_about = "ssmform reads HCL files that declare what each SSM secret version must contain, \
                  shows what would change without ever revealing a secret (plan), and makes exactly \
                  those changes at the API's rate limit (apply).\n\n\
                  Exit codes: 0 success; 1 error (a mistyped command line included); 2 success \
                  with changes (plan --detailed-exitcode); 130 interrupted.\n\n\
                  Terraform's spellings work too: -auto-approve, -var name=value, -out=FILE, \
                  -chdir=DIR before the subcommand, and every other flag with one dash."
)]
pub struct Cli {
    /// Switch to DIR before doing anything else (Terraform's `-chdir=DIR`); every relative path
    /// is then relative to DIR
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// No colour in any output (as with `NO_COLOR=1`)
    #[arg(long, global = true)]
    pub no_color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a configuration offline: syntax, schema, references, cycles and evaluation
    Validate(validate::Args),
    /// Rewrite configuration files in canonical format (aligned `=`, two-space indentation)
    Fmt(fmt::Args),
    /// Print the dependency graph as Graphviz DOT, with apply waves
    Graph(graph::Args),
    /// Read live state and show what apply would change, without revealing any secret
    Plan(plan::Args),
    /// Make the planned changes, rate-limited and in dependency order
    Apply(apply::Args),
    /// Render a saved plan file
    Show(show::Args),
    /// Remove the run lock left by a run that is gone (asks first, unless -force)
    ForceUnlock(force_unlock::Args),
    /// Run a local emulator of the SSM API
    Emulator(Box<emulator::Args>),
    /// Write configuration and a SOPS values file for the secrets that already exist
    Import(import::Args),
    /// Write SOPS files (age): `ssmform sops encrypt FILE` encrypts a plaintext file
    Sops(sops::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(completions::Args),
    /// Print the manual page (roff), or write one page per command with --out-dir
    Man(man::Args),
    /// Print ssmform's version and platform (`--json` as `terraform version -json` does)
    Version(version::Args),
}

/// The process exit code, as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success (with `--detailed-exitcode`: success and no changes).
    Success,
    /// 1: an error, reported before returning.
    Error,
    /// 2: success with changes (only with `--detailed-exitcode`).
    Changes,
    /// 130: interrupted by Ctrl-C / SIGTERM.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Error => 1,
            Exit::Changes => 2,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// An error a command could not handle; printed as `Error: ...` with its causes.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;
pub type CmdResult = Result<Exit, Error>;

/// Input variables, shared by every command that evaluates the configuration.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VarArgs {
    /// Set a variable: `--var name=value` (repeatable; later wins over earlier and over files)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from an HCL file of `name = value` lines (repeatable, in order)
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// Let file(), filebase64() and linked configuration files read DIR (or one file) outside the
    /// configuration directory (repeatable); what is read there is treated as sensitive
    #[arg(long = "allow-read", value_name = "DIR")]
    pub allow_read: Vec<PathBuf>,
}

impl VarArgs {
    /// The values as the configuration loader takes them.
    pub fn inputs(&self) -> crate::config::VarInputs {
        crate::config::VarInputs {
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
            allow_read: self.allow_read.clone(),
        }
    }
}

/// The run lock's flags, shared by `plan` (taken only with `--out`) and `apply`.
#[derive(Debug, Clone, clap::Args)]
pub struct LockArgs {
    /// Take the run lock (`-lock=false` or `--lock=false` turns it off): a lock secret
    /// `ssmform-lock` in the region, or a flock on the local store for `endpoint = "local"`, so
    /// that two runs cannot interleave their writes
    #[arg(
        long = "lock",
        value_name = "BOOL",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub lock: bool,
    /// How long to wait for a run lock another run holds, e.g. `30s` or `5m` (`-lock-timeout=…`
    /// also works); by default fail at once
    #[arg(
        long = "lock-timeout",
        value_name = "DURATION",
        default_value = "0s",
        value_parser = crate::clock::parse_duration
    )]
    pub lock_timeout: std::time::Duration,
}

impl LockArgs {
    pub fn options(&self) -> crate::workflow::lock::LockOptions {
        crate::workflow::lock::LockOptions {
            enabled: self.lock,
            timeout: self.lock_timeout,
        }
    }
}

/// The whole command line, from the program's arguments to its exit code: Terraform's spellings
/// rewritten ([`terraform::rewrite`]), parsed, run. A command line that does not parse exits 1
/// (clap's own choice would be 2, which `--detailed-exitcode` reserves for "changes present");
/// `--help` and `--version` exit 0.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> Exit {
    use clap::CommandFactory;
    let args = match terraform::rewrite(args.into_iter().collect(), &Cli::command()) {
        Ok(a) => a,
        Err(message) => {
            let paint = Paint::for_stream(Stream::Stderr);
            eprintln!("{} {message}", paint.bold_red("Error:"));
            return Exit::Error;
        }
    };
    match Cli::try_parse_from(args) {
        Ok(cli) => run(cli),
        Err(e) => {
            let _ = e.print();
            if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                let paint = Paint::for_stream(Stream::Stderr);
                eprintln!(
                    "\n{} a subcommand is required (listed above)",
                    paint.bold_red("Error:")
                );
            }
            if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Success
            }
        }
    }
}

/// Run a parsed command line and return the exit code.
pub fn run(cli: Cli) -> Exit {
    if cli.no_color {
        crate::term::disable_color();
    }
    init_logging();
    if let Some(dir) = &cli.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        let e: Error = format!(
            "cannot change to the directory {} (--chdir): {e}",
            dir.display()
        )
        .into();
        report_error(e.as_ref());
        return Exit::Error;
    }
    let result = match cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Fmt(a) => fmt::run(a),
        Command::Graph(a) => graph::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Apply(a) => apply::run(a),
        Command::Show(a) => show::run(a),
        Command::ForceUnlock(a) => force_unlock::run(a),
        Command::Emulator(a) => emulator::run(*a),
        Command::Import(a) => import::run(a),
        Command::Sops(a) => sops::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
        Command::Version(a) => version::run(a),
    };
    match result {
        Ok(exit) => exit,
        // A closed pipe (`ssmform plan | head`) is the reader's choice, not an error to report.
        Err(e) if is_broken_pipe(e.as_ref()) => Exit::Success,
        Err(e) => {
            report_error(e.as_ref());
            Exit::Error
        }
    }
}

pub(crate) fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Print an error and its chain of causes to stderr.
pub fn report_error(e: &(dyn std::error::Error + 'static)) {
    let paint = Paint::for_stream(Stream::Stderr);
    let mut msg = format!("{} {e}", paint.bold_red("Error:"));
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(&format!("\n  caused by: {s}"));
        source = s.source();
    }
    eprintln!("{msg}");
}

/// Logging through `tracing`, to stderr, filtered by `SSMFORM_LOG` (e.g. `debug`,
/// `ssmform::apply=trace`); warnings and errors only when it is unset. Nothing in this crate logs a
/// secret value or an Authorization header at any level.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SSMFORM_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(crate::term::color_enabled(Stream::Stderr))
        .with_target(true)
        .try_init();
}

/// A multi-threaded Tokio runtime for the commands that talk to the network.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
