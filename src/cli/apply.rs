//! `ssmform apply [DIR | PLANFILE]`: make the planned changes.
//!
//! With a directory: plan, show the plan, ask for `yes` (or `--auto-approve`), apply.
//! With a plan file: check its MAC, re-evaluate the configuration it names and refuse if any desired
//! value differs from the plan's, then apply exactly its changes.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::plan::{PlanFormat, Uses, diagnostics_exit, failed, print_diagnostics, read_progress};
use crate::ssm::control::{DEFAULT_PARALLELISM, MAX_PARALLELISM};

use super::{CmdResult, Exit, LockArgs, VarArgs};
use crate::apply::executor::{ApplyObserver, ApplyReport};
use crate::apply::journal::new_run_id;
use crate::config::{Config, DesiredSecret, Mode};
use crate::plan::Plan;
use crate::render::apply::{JsonApplyObserver, TextApplyObserver};
use crate::render::{self, Format, RenderOptions};
use crate::term::{Paint, Stream};
use crate::workflow::apply::ExecuteOptions;
use crate::workflow::plan::PlanOptions;
use crate::workflow::{self, Connection};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A configuration directory (plan, then ask) or a plan file from `ssmform plan --out`
    #[arg(default_value = ".", value_name = "DIR|PLANFILE")]
    pub target: PathBuf,
    /// Apply without asking for confirmation (required without a terminal)
    #[arg(long)]
    pub auto_approve: bool,
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
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: ApplyFormat,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Apply only this secret and what it depends on (repeatable; directory mode only)
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Do not re-read each live value before writing it (skips the check that refuses changes made
    /// outside ssmform since the plan)
    #[arg(long)]
    pub no_stale_check: bool,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// How apply reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApplyFormat {
    /// Human text for terminals
    Text,
    /// JSON lines in Terraform's machine-readable UI shape
    Json,
}

impl ApplyFormat {
    fn plan_format(self) -> PlanFormat {
        match self {
            ApplyFormat::Text => PlanFormat::Text,
            ApplyFormat::Json => PlanFormat::Json,
        }
    }
}

pub fn run(args: Args) -> CmdResult {
    let format = args.format;
    match run_apply(args) {
        Err(e) if format == ApplyFormat::Json && !super::is_broken_pipe(e.as_ref()) => {
            super::plan::json_error(e.as_ref());
            Ok(Exit::Error)
        }
        other => other,
    }
}

fn run_apply(args: Args) -> CmdResult {
    if args.target.is_file() {
        if !args.targets.is_empty() {
            return Err(
                "--target cannot be combined with a plan file: the plan file already \
                        fixes which changes are applied"
                    .into(),
            );
        }
        apply_plan_file(&args)
    } else if args.target.is_dir() {
        apply_directory(&args)
    } else {
        Err(format!(
            "{} is neither a configuration directory nor a plan file",
            args.target.display()
        )
        .into())
    }
}

fn apply_directory(args: &Args) -> CmdResult {
    let format = args.format.plan_format();
    let config = match workflow::load(&args.target, &args.vars.inputs(), Mode::Plan) {
        Ok(c) => c,
        Err(d) => return Ok(diagnostics_exit(&d, format)),
    };
    let runtime = super::runtime()?;
    let progress = read_progress(format);
    runtime.block_on(async {
        let conn = match Connection::open(&config).await {
            Ok(c) => c,
            Err(e) => return failed(e.into(), format),
        };
        let run_id = new_run_id();
        let lock = match workflow::lock(&conn, args.lock.options(), &run_id, "apply").await {
            Ok(l) => l,
            Err(e) => return failed(e, format),
        };
        let result = plan_and_apply(args, &config, &conn, progress.as_ref(), &run_id).await;
        release(lock, args.format).await;
        result
    })
}

/// Under the run lock: plan, show, ask, apply.
async fn plan_and_apply(
    args: &Args,
    config: &Config,
    conn: &Connection,
    progress: &dyn crate::plan::refresh::ReadProgress,
    run_id: &str,
) -> CmdResult {
    let format = args.format.plan_format();
    {
        let options = PlanOptions {
            targets: &args.targets,
            parallelism: args.parallelism as usize,
            progress,
        };
        let refreshed = match workflow::plan::plan(config, conn, &options).await {
            Ok(r) => r,
            Err(e) => return failed(e, format),
        };
        let plan = refreshed.plan;
        show_plan(&plan, args.format)?;
        super::plan::print_warnings(
            &super::plan::unused_variable_warnings(config, &args.vars, &plan, Uses::AChange),
            format,
        );
        if !plan.has_changes() {
            return nothing_to_apply(&plan, args.format, "\nNothing to apply.");
        }
        if !args.auto_approve && !confirm()? {
            eprintln!("Apply cancelled: nothing was changed.");
            return Ok(Exit::Error);
        }
        execute(args, config, conn, &plan, &refreshed.desired, None, run_id).await
    }
}

/// Let go of the run lock; a lock that cannot be released is reported with the way to remove it.
async fn release(lock: crate::workflow::lock::RunLock, format: ApplyFormat) {
    let id = match &lock {
        crate::workflow::lock::RunLock::Remote { id, .. } => id.clone(),
        _ => String::new(),
    };
    if let Err(e) = lock.release().await {
        let message = format!(
            "could not release the run lock: {e}. Remove it with: ssmform force-unlock {id}"
        );
        match format {
            ApplyFormat::Text => eprintln!("Warning: {message}"),
            ApplyFormat::Json => super::plan::json_warning(&message),
        }
    }
}

/// Show the plan about to be applied: rendered as text, or in JSON mode the `version` line and
/// one `planned_change` line per change (the plan's own closing summary is left out: the apply's
/// `change_summary` closes the stream). Both modes, directory and plan file, start the same way.
fn show_plan(plan: &Plan, format: ApplyFormat) -> Result<(), super::Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        ApplyFormat::Text => {
            let renderer =
                render::plan_renderer(Format::Text, RenderOptions::for_stream(Stream::Stdout));
            renderer.render_plan(plan, &mut out)?;
        }
        ApplyFormat::Json => {
            let r = render::json::JsonRenderer {
                options: RenderOptions::for_stream(Stream::Stdout),
            };
            render::json::write_line(&mut out, &r.version_line())?;
            for c in plan.actions() {
                render::json::write_line(&mut out, &r.change_line(c))?;
            }
            for o in &plan.secret_ops {
                render::json::write_line(&mut out, &r.op_line(o))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The end of an apply that has nothing to do: `text` for people; in JSON mode the apply's
/// `change_summary` (operation "apply", all unchanged), so that the stream ends as every apply's
/// does, never with plain text.
fn nothing_to_apply(plan: &Plan, format: ApplyFormat, text: &str) -> CmdResult {
    match format {
        ApplyFormat::Text => println!("{text}"),
        ApplyFormat::Json => {
            let report = ApplyReport::nothing_to_do(plan.summary().unchanged);
            JsonApplyObserver::new(
                0,
                RenderOptions::for_stream(Stream::Stdout),
                Box::new(std::io::stdout()),
            )
            .finish(&report);
        }
    }
    Ok(Exit::Success)
}

/// Ask on the terminal. Without one, refuse: an unattended apply must say `--auto-approve`.
fn confirm() -> Result<bool, super::Error> {
    if !std::io::stdin().is_terminal() {
        return Err(
            "refusing to apply without confirmation: there is no terminal to ask on. \
                    Pass --auto-approve, or save a reviewed plan with `ssmform plan --out FILE` \
                    and apply that file"
                .into(),
        );
    }
    let p = Paint::for_stream(Stream::Stderr);
    eprint!(
        "\n{}\n  ssmform will make the changes described above.\n  Only 'yes' will be accepted to approve.\n\n  {} ",
        p.bold("Do you want to apply these changes?"),
        p.bold("Enter a value:")
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

fn apply_plan_file(args: &Args) -> CmdResult {
    let format = args.format.plan_format();
    let saved = workflow::apply::open_saved_plan(&args.target)?;
    if saved.moved() && args.format == ApplyFormat::Text {
        eprintln!(
            "Using the configuration in {}, where the plan was made.",
            saved.config_dir.display()
        );
    }
    let config = match workflow::load(&saved.config_dir, &args.vars.inputs(), Mode::Plan) {
        Ok(c) => c,
        Err(d) => {
            print_diagnostics(&d, format);
            if !saved.peek.variables.is_empty() {
                eprintln!(
                    "help: {} was made with the variables {}; pass the same --var, --var-file and \
                     SSMFORM_VAR_* values as the plan job",
                    saved.path.display(),
                    saved.peek.variables.join(", ")
                );
            }
            return Ok(Exit::Error);
        }
    };
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let conn = match Connection::open(&config).await {
            Ok(c) => c,
            Err(e) => return failed(e.into(), format),
        };
        let run_id = new_run_id();
        let lock = match workflow::lock(&conn, args.lock.options(), &run_id, "apply").await {
            Ok(l) => l,
            Err(e) => return failed(e, format),
        };
        let result = apply_saved(args, &saved, &config, &conn, &run_id).await;
        release(lock, args.format).await;
        result
    })
}

/// Under the run lock: verify the saved plan and apply it.
async fn apply_saved(
    args: &Args,
    saved: &crate::workflow::apply::SavedPlan,
    config: &Config,
    conn: &Connection,
    run_id: &str,
) -> CmdResult {
    let format = args.format.plan_format();
    {
        let verified = match workflow::apply::verify_saved_plan(
            saved,
            config,
            conn,
            args.parallelism as usize,
        )
        .await
        {
            Ok(v) => v,
            Err(e) => return failed(e, format),
        };
        if verified.config_files_changed {
            eprintln!(
                "Note: the configuration files changed since the plan, but every planned value is \
                 unchanged; applying the plan as it was reviewed."
            );
        }
        let plan = verified.plan;
        if !plan.has_changes() {
            if args.format == ApplyFormat::Json {
                show_plan(&plan, args.format)?;
            }
            return nothing_to_apply(
                &plan,
                args.format,
                "The plan has no changes. Nothing to apply.",
            );
        }
        show_plan(&plan, args.format)?;
        super::plan::print_warnings(
            &super::plan::unused_variable_warnings(config, &args.vars, &plan, Uses::AChange),
            format,
        );
        execute(
            args,
            config,
            conn,
            &plan,
            &verified.desired,
            Some(saved.path.display().to_string()),
            run_id,
        )
        .await
    }
}

/// Run the executor with signal handling and reporting.
async fn execute(
    args: &Args,
    config: &Config,
    conn: &Connection,
    plan: &Plan,
    desired: &BTreeMap<String, DesiredSecret>,
    plan_file: Option<String>,
    run_id: &str,
) -> CmdResult {
    let total = plan.actions().len() + plan.secret_ops.iter().filter(|o| o.is_action()).count();
    let signals = tokio::spawn(watch_signals(conn.pacer.interrupt_flag(), args.format));
    let (observer, text, json): (Arc<dyn ApplyObserver>, _, _) = match args.format {
        ApplyFormat::Text => {
            let o = Arc::new(TextApplyObserver::new(
                total,
                RenderOptions::for_stream(Stream::Stdout),
            ));
            (o.clone(), Some(o), None)
        }
        ApplyFormat::Json => {
            let o = Arc::new(JsonApplyObserver::new(
                total,
                RenderOptions::for_stream(Stream::Stdout),
                Box::new(std::io::stdout()),
            ));
            (o.clone(), None, Some(o))
        }
    };
    let options = ExecuteOptions {
        parallelism: args.parallelism as usize,
        stale_check: !args.no_stale_check,
        plan_file,
        run_id: run_id.to_string(),
    };
    let executed = workflow::apply::execute(config, conn, plan, desired, options, observer).await;
    signals.abort();
    let report = executed?.report;
    if let Some(t) = text {
        let stdout = std::io::stdout();
        t.finish(&report, &mut stdout.lock())?;
    }
    if let Some(j) = json {
        j.finish(&report);
    }
    Ok(if report.interrupted {
        Exit::Interrupted
    } else if report.success() {
        Exit::Success
    } else {
        Exit::Error
    })
}

/// First Ctrl-C / SIGTERM: stop scheduling and let requests in flight finish. Second: exit now.
async fn watch_signals(flag: Arc<std::sync::atomic::AtomicBool>, format: ApplyFormat) {
    let mut seen = 0;
    loop {
        wait_for_signal().await;
        seen += 1;
        if seen == 1 {
            flag.store(true, Ordering::SeqCst);
            if format == ApplyFormat::Text {
                eprintln!(
                    "\nInterrupt received: finishing the requests in flight and starting nothing new. \
                     Press Ctrl-C again to exit at once."
                );
            }
        } else {
            eprintln!("\nSecond interrupt: exiting now. The journal shows what was in flight.");
            std::process::exit(130);
        }
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
