//! `ssmform plan [DIR]`: refresh live state and show what apply would change.

use std::io::Write;
use std::path::PathBuf;

use super::{CmdResult, Exit, VarArgs};
use crate::config::{self, Config, Diagnostics, LoadOptions, Mode};
use crate::plan::refresh::{RefreshContext, Refreshed, refresh};
use crate::render::{self, Format, RenderOptions};
use crate::term::{Paint, Stream};
use crate::workflow::connect::Connection;

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

impl From<PlanFormat> for Format {
    fn from(f: PlanFormat) -> Self {
        match f {
            PlanFormat::Text => Format::Text,
            PlanFormat::Markdown => Format::Markdown,
            PlanFormat::Json => Format::Json,
        }
    }
}

pub fn run(args: Args) -> CmdResult {
    let Some(config) = load_config(&args.dir, &args.vars, args.format)? else {
        return Ok(Exit::Error);
    };
    let runtime = super::runtime()?;
    let refreshed = runtime.block_on(async {
        let conn = Connection::open(&config).await?;
        let refreshed =
            plan_with(&config, &conn, &args.targets, args.parallelism, args.format).await;
        Ok::<_, super::Error>((refreshed, conn))
    })?;
    let (refreshed, conn) = refreshed;
    let Some(Refreshed { plan, .. }) = refreshed else {
        return Ok(Exit::Error);
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let renderer = render::plan_renderer(
        args.format.into(),
        RenderOptions::for_stream(Stream::Stdout),
    );
    renderer.render_plan(&plan, &mut out)?;
    out.flush()?;
    if let Some(path) = &args.out {
        crate::plan::file::write(path, &plan, &conn.key)?;
        if plan.has_changes() {
            eprintln!(
                "Saved the plan to {} (mode 0600). Apply exactly these changes with: ssmform apply {}",
                path.display(),
                path.display()
            );
        } else {
            eprintln!(
                "Saved the plan to {} (mode 0600). It has no changes: applying it would change nothing.",
                path.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}

/// Load the configuration for planning; on failure print its diagnostics (as JSON lines for
/// `--format json`) and return `None`.
pub(crate) fn load_config(
    dir: &std::path::Path,
    vars: &VarArgs,
    format: PlanFormat,
) -> Result<Option<Config>, super::Error> {
    let inputs = vars.inputs();
    let loaded = config::load(&LoadOptions {
        dir,
        vars: &inputs,
        env: config::env_vars(),
        mode: Mode::Plan,
    });
    match loaded {
        Ok(c) => Ok(Some(c)),
        Err(d) => {
            print_diagnostics(&d, format);
            Ok(None)
        }
    }
}

/// Refresh and return the plan, or print the diagnostics and return `None`.
pub(crate) async fn plan_with(
    config: &Config,
    conn: &Connection,
    targets: &[String],
    parallelism: u32,
    format: PlanFormat,
) -> Option<Refreshed> {
    let ctx = RefreshContext {
        client: &conn.client,
        pacer: &conn.pacer,
        key: &conn.key,
        parallelism: parallelism as usize,
        targets,
        endpoint: conn.endpoint.clone(),
        region: conn.region.clone(),
        show_progress: format != PlanFormat::Json,
    };
    match refresh(config, &ctx).await {
        Ok(mut r) => {
            // Configuration warnings travel with the plan, so every format shows them.
            let warnings = config.warnings().iter().map(to_note);
            r.plan.notes.splice(0..0, warnings);
            Some(r)
        }
        Err(d) => {
            print_diagnostics(&d, format);
            None
        }
    }
}

/// Diagnostics go to stderr as text; with `--format json` they are also `diagnostic` lines on
/// stdout, after a `version` line, so a machine reading stdout sees why the plan failed.
pub(crate) fn print_diagnostics(d: &Diagnostics, format: PlanFormat) {
    if d.is_empty() {
        return;
    }
    eprint!("{}", d.render(Paint::for_stream(Stream::Stderr)));
    if format == PlanFormat::Json {
        let r = render::json::JsonRenderer {
            options: RenderOptions::for_stream(Stream::Stdout),
        };
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let _ = render::json::write_line(&mut out, &r.version_line());
        for diag in d.iter() {
            let _ = render::json::write_line(&mut out, &r.diagnostic_line(&to_note(diag)));
        }
    }
}

/// A configuration diagnostic as a plan note (for JSON output).
pub(crate) fn to_note(d: &config::Diagnostic) -> crate::plan::model::Note {
    use crate::plan::model::{Note, NoteLocation, Severity};
    Note {
        severity: if d.is_error() {
            Severity::Error
        } else {
            Severity::Warning
        },
        summary: d.message.clone(),
        detail: note_detail(d),
        address: None,
        location: d.location.as_ref().map(|l| NoteLocation {
            file: l.file.display().to_string(),
            line: l.line,
            column: l.column,
        }),
    }
}

/// A diagnostic's notes and help as the free text of a JSON `detail` (a note with a place in the
/// configuration starts with its `file:line:col`).
fn note_detail(d: &config::Diagnostic) -> Option<String> {
    let lines: Vec<String> = d
        .notes
        .iter()
        .map(|n| match &n.location {
            Some(l) => format!(
                "{}:{}:{}: {}",
                l.file.display(),
                l.line,
                l.column,
                n.message
            ),
            None => n.message.clone(),
        })
        .chain(d.help.iter().cloned())
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}
