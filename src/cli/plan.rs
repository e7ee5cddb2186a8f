//! `ssmform plan [DIR]`: refresh live state and show what apply would change.

use std::io::Write;
use std::path::PathBuf;

use crate::ssm::control::{DEFAULT_PARALLELISM, MAX_PARALLELISM};

use super::{CmdResult, Exit, LockArgs, VarArgs};
use crate::config::{Diagnostics, Mode};
use crate::plan::model::Note;
use crate::render::progress::ReadBar;
use crate::render::{self, Format, RenderOptions};
use crate::term::{Paint, Stream};
use crate::workflow::{self, Connection};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration directory
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Save the plan to FILE (mode 0600; no secret values) for a later `ssmform apply FILE`
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes or drift (orphan secrets, undeclared versions, tags that
    /// differ: drift that apply leaves alone counts too), 0 when there is neither, 1 on error
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
    /// Most reads or changes in progress at once (each makes one API request at a time). An upper
    /// bound only: ssmform keeps as many requests in flight as each action's rate limit needs at
    /// the latency it observes. The default covers the documented limits up to about 1 s of latency
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_PARALLELISM as u32,
        value_parser = clap::value_parser!(u32).range(1..=MAX_PARALLELISM as i64)
    )]
    pub parallelism: u32,
    /// The run lock, taken only with `--out`: a saved plan is made with no apply in progress
    #[command(flatten)]
    pub lock: LockArgs,
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
    let format = args.format;
    match run_plan(args) {
        Err(e) if format == PlanFormat::Json && !super::is_broken_pipe(e.as_ref()) => {
            json_error(e.as_ref());
            Ok(Exit::Error)
        }
        other => other,
    }
}

fn run_plan(args: Args) -> CmdResult {
    let config = match workflow::load(&args.dir, &args.vars.inputs(), Mode::Plan) {
        Ok(c) => c,
        Err(d) => return Ok(diagnostics_exit(&d, args.format)),
    };
    let runtime = super::runtime()?;
    let progress = read_progress(args.format);
    let result = runtime.block_on(async {
        let conn = Connection::open(&config).await?;
        // A plan to be saved is made under the run lock, so that it does not read a state an
        // apply is in the middle of changing.
        let lock = match &args.out {
            Some(_) => {
                let run_id = crate::apply::journal::new_run_id();
                workflow::lock(&conn, args.lock.options(), &run_id, "plan").await?
            }
            None => workflow::lock::RunLock::None,
        };
        let options = workflow::plan::PlanOptions {
            targets: &args.targets,
            parallelism: args.parallelism as usize,
            progress: progress.as_ref(),
        };
        let refreshed = workflow::plan::plan(&config, &conn, &options).await;
        let released = lock.release().await;
        let refreshed = refreshed?;
        if let Err(e) = released {
            tracing::warn!("could not release the run lock: {e}");
        }
        Ok::<_, workflow::Error>((refreshed, conn))
    });
    let (refreshed, conn) = match result {
        Ok(r) => r,
        Err(e) => return failed(e, args.format),
    };
    let plan = refreshed.plan;
    let renderer = render::plan_renderer(
        args.format.into(),
        RenderOptions::for_stream(Stream::Stdout),
    );
    let mut rendered = Vec::new();
    renderer.render_plan(&plan, &mut rendered)?;
    let warnings = unused_variable_warnings(&config, &args.vars, &plan, Uses::AnySecret);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.format == PlanFormat::Json {
        // Warnings are `diagnostic` lines after the `version` line, so that the stream still
        // ends with its `change_summary`.
        let split = rendered
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rendered.len(), |p| p + 1);
        out.write_all(&rendered[..split])?;
        for w in &warnings {
            render::json::write_line(&mut out, &json_warning_line(w))?;
        }
        out.write_all(&rendered[split..])?;
    } else {
        print_warnings(&warnings, args.format);
        out.write_all(&rendered)?;
    }
    out.flush()?;
    drop(out);
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
    Ok(if args.detailed_exitcode && plan.has_drift() {
        Exit::Changes
    } else {
        Exit::Success
    })
}

/// Which changes a variable given on the command line must feed not to be reported as unused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Uses {
    /// Any secret in the plan, changed or not (a plan compares them all).
    AnySecret,
    /// A change the plan makes (an apply writes only those).
    AChange,
}

/// Warnings (names only, never values) for variables set with `--var` or `--var-file` that
/// nothing in `plan` uses: neither the provider block nor a secret in the plan (with
/// [`Uses::AChange`], a secret the plan changes). An apply with nothing to do reports none.
pub(crate) fn unused_variable_warnings(
    config: &crate::config::Config,
    vars: &VarArgs,
    plan: &crate::plan::Plan,
    uses: Uses,
) -> Vec<String> {
    if uses == Uses::AChange && !plan.has_changes() {
        return Vec::new();
    }
    let in_plan: std::collections::BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| uses == Uses::AnySecret || c.action.is_change())
        .map(|c| c.address.as_str())
        // An operation on a whole secret (its description, its status) uses its block too.
        .chain(
            plan.secret_ops
                .iter()
                .filter(|o| o.is_action())
                .map(|o| o.address.as_str()),
        )
        .collect();
    let mut warnings = Vec::new();
    for v in config.variables() {
        let Some(origin) = &v.origin else { continue };
        let given = if *origin == format!("--var {}", v.name) {
            "--var".to_string()
        } else if let Some(f) = vars
            .var_files
            .iter()
            .find(|f| origin.starts_with(&format!("{}:", f.display())))
        {
            format!("--var-file {}", f.display())
        } else {
            continue;
        };
        let reach = config.variable_reach(&v.name);
        if reach.provider || reach.secrets.iter().any(|s| in_plan.contains(s.as_str())) {
            continue;
        }
        let why = match uses {
            _ if reach.secrets.is_empty() => "nothing in the configuration uses it".to_string(),
            Uses::AnySecret => "no secret in this plan (see --target) uses it".to_string(),
            Uses::AChange => format!(
                "the secrets it feeds ({}) are unchanged, so this apply writes nothing made \
                 from it",
                reach.secrets.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        };
        warnings.push(format!(
            "the variable `{}` is set ({given}) but not used: {why}",
            v.name
        ));
    }
    warnings
}

/// Print warnings: `Warning: ...` on stderr, or JSON `diagnostic` lines on stdout.
pub(crate) fn print_warnings(warnings: &[String], format: PlanFormat) {
    let paint = Paint::for_stream(Stream::Stderr);
    for w in warnings {
        if format == PlanFormat::Json {
            json_warning(w);
        } else {
            eprintln!("{} {w}", paint.bold_yellow("Warning:"));
        }
    }
}

/// Progress of the reads: a bar or periodic lines on stderr, none with JSON output.
pub(crate) fn read_progress(format: PlanFormat) -> Box<dyn crate::plan::refresh::ReadProgress> {
    if format == PlanFormat::Json {
        Box::new(crate::plan::refresh::NoProgress)
    } else {
        Box::new(ReadBar::new("secrets read"))
    }
}

/// Report a failed session: diagnostics as such, anything else as an error (with `--format json`
/// a `diagnostic` line on stdout, and nothing on stderr).
pub(crate) fn failed(e: workflow::Error, format: PlanFormat) -> CmdResult {
    match e {
        workflow::Error::Diagnostics(d) => Ok(diagnostics_exit(&d, format)),
        other if format == PlanFormat::Json => {
            json_error(&other);
            Ok(Exit::Error)
        }
        other => Err(other.into()),
    }
}

/// A warning as a JSON `diagnostic` line on stdout.
pub(crate) fn json_warning(message: &str) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = render::json::write_line(&mut out, &json_warning_line(message));
    let _ = out.flush();
}

/// A warning as a JSON `diagnostic` line.
pub(crate) fn json_warning_line(message: &str) -> serde_json::Value {
    let note = Note {
        severity: crate::plan::model::Severity::Warning,
        summary: message.to_string(),
        detail: None,
        address: None,
        location: None,
        drift: None,
    };
    let r = render::json::JsonRenderer {
        options: RenderOptions::for_stream(Stream::Stdout),
    };
    r.diagnostic_line(&note)
}

/// An error as JSON lines on stdout: the `version` line, then one `diagnostic` line.
pub(crate) fn json_error(e: &(dyn std::error::Error + 'static)) {
    let mut summary = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        summary.push_str(&format!("\n  caused by: {s}"));
        source = s.source();
    }
    let note = Note {
        severity: crate::plan::model::Severity::Error,
        summary,
        detail: None,
        address: None,
        location: None,
        drift: None,
    };
    let r = render::json::JsonRenderer {
        options: RenderOptions::for_stream(Stream::Stdout),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = render::json::write_line(&mut out, &r.version_line());
    let _ = render::json::write_line(&mut out, &r.diagnostic_line(&note));
    let _ = out.flush();
}

/// Print diagnostics and return the error exit.
pub(crate) fn diagnostics_exit(d: &Diagnostics, format: PlanFormat) -> Exit {
    print_diagnostics(d, format);
    Exit::Error
}

/// Diagnostics go to stderr as text; with `--format json` they are `diagnostic` lines on stdout
/// instead, after a `version` line, so each is printed once and a machine reading stdout sees why
/// the plan failed.
pub(crate) fn print_diagnostics(d: &Diagnostics, format: PlanFormat) {
    if d.is_empty() {
        return;
    }
    if format != PlanFormat::Json {
        eprint!("{}", d.render(Paint::for_stream(Stream::Stderr)));
    }
    if format == PlanFormat::Json {
        let r = render::json::JsonRenderer {
            options: RenderOptions::for_stream(Stream::Stdout),
        };
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let _ = render::json::write_line(&mut out, &r.version_line());
        for diag in d.iter() {
            let _ = render::json::write_line(&mut out, &r.diagnostic_line(&Note::from(diag)));
        }
    }
}
