//! `ssmform apply [DIR | PLANFILE]`: make the planned changes.
//!
//! With a directory: plan, show the plan, ask for `yes` (or `--auto-approve`), apply.
//! With a plan file: check its MAC, re-evaluate the configuration it names and refuse if any desired
//! value differs from the plan's, then apply exactly its changes.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::plan::{PlanFormat, load_config, plan_with, print_diagnostics};
use super::{CmdResult, Exit, VarArgs};
use crate::apply::executor::{ApplyObserver, ApplyReport, ExecOptions, Executor};
use crate::apply::journal::{Entry, Journal, new_run_id};
use crate::config::{Config, DesiredSecret};
use crate::plan::Plan;
use crate::plan::refresh::{RefreshContext, evaluate_desired};
use crate::render::apply::{JsonApplyObserver, TextApplyObserver};
use crate::render::{self, Format, RenderOptions};
use crate::secret::Fingerprint;
use crate::term::{Paint, Stream};
use crate::workflow::connect::Connection;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A configuration directory (plan, then ask) or a plan file from `ssmform plan --out`
    #[arg(default_value = ".", value_name = "DIR|PLANFILE")]
    pub target: PathBuf,
    /// Apply without asking for confirmation (required without a terminal)
    #[arg(long)]
    pub auto_approve: bool,
    /// Maximum number of API requests in flight
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=256))]
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
    let Some(config) = load_config(&args.target, &args.vars, args.format.plan_format())? else {
        return Ok(Exit::Error);
    };
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let conn = Connection::open(&config).await?;
        let Some(refreshed) = plan_with(
            &config,
            &conn,
            &args.targets,
            args.parallelism,
            args.format.plan_format(),
        )
        .await
        else {
            return Ok(Exit::Error);
        };
        let plan = refreshed.plan;
        show_plan(&plan, args.format)?;
        if !plan.has_changes() {
            return nothing_to_apply(&plan, args.format, "\nNothing to apply.");
        }
        if !args.auto_approve && !confirm()? {
            eprintln!("Apply cancelled: nothing was changed.");
            return Ok(Exit::Error);
        }
        execute(args, &config, &conn, &plan, &refreshed.desired, None).await
    })
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
            let report = ApplyReport {
                results: Vec::new(),
                unchanged: plan.summary().unchanged,
                interrupted: false,
                writes: 0,
                write_span: std::time::Duration::ZERO,
                throttled: 0,
                retries: 0,
                elapsed: std::time::Duration::ZERO,
            };
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
        p.bold("Do you want to apply these changes? Only 'yes' will be accepted:"),
        p.bold("Enter a value:")
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

fn apply_plan_file(args: &Args) -> CmdResult {
    let path = &args.target;
    let peek = crate::plan::file::peek(path)?;
    let config_dir = peek.resolve_dir();
    if !config_dir.is_dir() {
        return Err(format!(
            "{} was planned from the configuration directory {}, which does not exist here; \
             run apply from the directory the plan was made in",
            path.display(),
            config_dir.display()
        )
        .into());
    }
    if config_dir != Path::new(&peek.config_dir) && args.format == ApplyFormat::Text {
        eprintln!(
            "Using the configuration in {}, where the plan was made.",
            config_dir.display()
        );
    }
    let Some(config) = load_config(&config_dir, &args.vars, args.format.plan_format())? else {
        if !peek.variables.is_empty() {
            eprintln!(
                "help: {} was made with the variables {}; pass the same --var, --var-file and \
                 SSMFORM_VAR_* values as the plan job",
                path.display(),
                peek.variables.join(", ")
            );
        }
        return Ok(Exit::Error);
    };
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let conn = Connection::open(&config).await?;
        let plan = crate::plan::file::read(path, &conn.key)?;
        if plan.meta.endpoint != conn.endpoint || plan.meta.region != conn.region {
            return Err(format!(
                "{} was planned against {} (region {}), but this run would apply to {} (region {}); \
                 refusing to apply it elsewhere",
                path.display(),
                plan.meta.endpoint,
                plan.meta.region,
                conn.endpoint,
                conn.region
            )
            .into());
        }
        let ctx = RefreshContext {
            client: &conn.client,
            pacer: &conn.pacer,
            key: &conn.key,
            parallelism: args.parallelism as usize,
            targets: &plan.meta.targets,
            endpoint: conn.endpoint.clone(),
            region: conn.region.clone(),
            show_progress: false,
        };
        let desired = match evaluate_desired(&config, &ctx).await {
            Ok(d) => d,
            Err(d) => {
                print_diagnostics(&d, args.format.plan_format());
                return Ok(Exit::Error);
            }
        };
        if let Err(problems) = check_unchanged(&config, &conn, &plan, &desired) {
            let mut msg = format!(
                "configuration changed since the plan: {} no longer matches what was planned, so it \
                 is not applied. Plan again and review the new plan.",
                path.display()
            );
            for p in problems {
                msg.push_str("\n  - ");
                msg.push_str(&p);
            }
            return Err(msg.into());
        }
        if !plan.has_changes() {
            if args.format == ApplyFormat::Json {
                show_plan(&plan, args.format)?;
            }
            return nothing_to_apply(&plan, args.format, "The plan has no changes. Nothing to apply.");
        }
        show_plan(&plan, args.format)?;
        execute(
            args,
            &config,
            &conn,
            &plan,
            &desired,
            Some(path.display().to_string()),
        )
        .await
    })
}

/// The ways the configuration now differs from the saved plan, if any.
fn check_unchanged(
    config: &Config,
    conn: &Connection,
    plan: &Plan,
    desired: &BTreeMap<String, DesiredSecret>,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for c in plan.actions() {
        match desired.get(&c.address) {
            None => problems.push(format!("{} is no longer in the configuration", c.address)),
            Some(d) if d.secret_name != c.secret_name || d.version_id != c.version_id => problems
                .push(format!(
                    "{} now declares secret \"{}\" version \"{}\" (planned: \"{}\" version \"{}\")",
                    c.address, d.secret_name, d.version_id, c.secret_name, c.version_id
                )),
            Some(d) => {
                let now = Fingerprint::of(&conn.key, &d.secret_name, &d.version_id, &d.content);
                if now != c.desired.fingerprint {
                    problems.push(format!(
                        "{}: its declared content changed (fingerprint {} at plan time, {} now)",
                        c.address, c.desired.fingerprint, now
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        for (name, value) in config.variable_values() {
            let now = Fingerprint::of_labelled(&conn.key, &format!("var.{name}"), value.expose());
            if plan.meta.variables.get(&name).is_some_and(|f| *f != now) {
                problems.push(format!(
                    "var.{name} has another value than at plan time (pass the same --var, \
                     --var-file and SSMFORM_VAR_{name} as the plan job)"
                ));
            }
        }
        return Err(problems);
    }
    if hex::encode(config.digest()) != plan.meta.config_digest {
        eprintln!(
            "Note: the configuration files changed since the plan, but every planned value is \
             unchanged; applying the plan as it was reviewed."
        );
    }
    Ok(())
}

/// Run the executor with signal handling, journal and reporting.
async fn execute(
    args: &Args,
    config: &Config,
    conn: &Connection,
    plan: &Plan,
    desired: &BTreeMap<String, DesiredSecret>,
    plan_file: Option<String>,
) -> CmdResult {
    let run_id = new_run_id();
    let journal = Journal::create(config.dir(), &run_id).map_err(|e| {
        format!(
            "cannot create the apply journal under {}: {e}",
            crate::statedir::path(config.dir()).display()
        )
    })?;
    let total = plan.summary().changes();
    journal
        .append(Entry::RunStart {
            run_id: run_id.clone(),
            time: crate::clock::rfc3339_millis(crate::clock::unix_millis_now()),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            config_dir: config.dir().display().to_string(),
            plan_file,
            changes: total,
        })
        .await?;

    let interrupted = conn.pacer.interrupt_flag();
    let signals = tokio::spawn(watch_signals(interrupted.clone(), args.format));

    let options = RenderOptions::for_stream(Stream::Stdout);
    let (observer, text, json): (Arc<dyn ApplyObserver>, _, _) = match args.format {
        ApplyFormat::Text => {
            let o = Arc::new(TextApplyObserver::new(
                total,
                RenderOptions::for_stream(Stream::Stderr),
            ));
            (o.clone(), Some(o), None)
        }
        ApplyFormat::Json => {
            let o = Arc::new(JsonApplyObserver::new(
                total,
                options,
                Box::new(std::io::stdout()),
            ));
            (o.clone(), None, Some(o))
        }
    };
    let executor = Executor {
        client: conn.client.clone(),
        pacer: conn.pacer.clone(),
        key: conn.key.clone(),
        journal: journal.clone(),
        options: ExecOptions {
            parallelism: args.parallelism as usize,
            stale_check: !args.no_stale_check,
        },
    };
    let report: ApplyReport = executor.run(plan, desired, observer).await;
    signals.abort();
    let counts = report.counts();
    let _ = journal
        .append(Entry::RunEnd {
            time: crate::clock::rfc3339_millis(crate::clock::unix_millis_now()),
            applied: counts.created + counts.updated,
            failed: counts.failed,
            skipped: counts.skipped,
            interrupted: report.interrupted,
        })
        .await;
    if let Some(t) = text {
        let stdout = std::io::stdout();
        t.finish(&report, &mut stdout.lock())?;
    }
    if let Some(j) = json {
        j.finish(&report);
    }
    tracing::info!(journal = %journal.path().display(), "apply finished");
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
