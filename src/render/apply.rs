//! Reporting an apply as it runs and when it ends: human text (with a progress bar on a terminal)
//! and JSON lines (`apply_start`, `apply_progress`, `apply_complete`, `apply_errored`, and a final
//! `change_summary` with `operation: "apply"`).

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::RenderOptions;
use super::json::{JsonRenderer, write_line};
use super::progress::Progress;
use crate::apply::executor::{ApplyCounts, ApplyObserver, ApplyReport, ChangeResult, Outcome};
use crate::apply::ops::OpResult;
use crate::plan::{Change, OpKind};

/// How often a JSON `apply_progress` line is written.
pub const JSON_PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

/// The last line of an apply: `Apply complete! Secrets: X created, Y updated, Z unchanged.` on
/// success, and a line that also counts failures and skips otherwise.
pub fn summary_line(report: &ApplyReport) -> String {
    let ApplyCounts {
        created,
        updated,
        deleted,
        unchanged,
        failed,
        skipped,
        not_started,
        unknown,
    } = report.counts();
    // Writes whose effect is unknown are counted apart from failures: they may have landed.
    let unknown = if unknown > 0 {
        format!(" {unknown} unknown (may have taken effect; run `ssmform plan`),")
    } else {
        String::new()
    };
    // Deletions are counted only when there are some, so that the line of a run without any
    // reads as it always has.
    let updated = if deleted > 0 {
        format!("{updated} updated, {deleted} deleted")
    } else {
        format!("{updated} updated")
    };
    if report.success() {
        format!("Apply complete! Secrets: {created} created, {updated}, {unchanged} unchanged.")
    } else if report.interrupted {
        format!(
            "Apply interrupted! Secrets: {created} created, {updated}, {unchanged} unchanged,\
             {unknown} {failed} failed, {skipped} skipped, {not_started} not started."
        )
    } else {
        format!(
            "Apply failed! Secrets: {created} created, {updated}, {unchanged} unchanged,\
             {unknown} {failed} failed, {skipped} skipped."
        )
    }
}

fn verb(change: &Change) -> &'static str {
    if change.action.is_create() {
        "created"
    } else {
        "updated"
    }
}

/// One line about a finished change.
pub fn result_line(r: &ChangeResult) -> String {
    let c = &r.change;
    let api = c.action.api_action().unwrap_or_default();
    match &r.outcome {
        Outcome::Applied { request_id } if request_id.is_empty() => format!(
            "{}: {} ({api}, {:.2}s; its answer was lost, and reading the value back shows it took \
             effect)",
            c.address,
            verb(c),
            r.elapsed.as_secs_f64()
        ),
        Outcome::Applied { request_id } => format!(
            "{}: {} ({api}, {:.2}s, RequestId {request_id})",
            c.address,
            verb(c),
            r.elapsed.as_secs_f64()
        ),
        Outcome::AlreadyApplied => format!(
            "{}: already holds the planned content; nothing written",
            c.address
        ),
        Outcome::Failed { message, .. } => format!("{}: {api} failed: {message}", c.address),
        Outcome::Stale { reason } => format!("{}: refused, {reason}", c.address),
        Outcome::Skipped { reason, .. } => {
            format!("{}: skipped because {reason}", c.address)
        }
        Outcome::NotStarted => format!("{}: not started (interrupted)", c.address),
        Outcome::Unknown { message, .. } => {
            format!("{}: outcome unknown: {api} {message}", c.address)
        }
    }
}

/// One line about a finished operation on a whole secret.
pub fn op_result_line(r: &OpResult) -> String {
    let o = &r.op;
    let what = match &o.version_id {
        Some(v) => format!("{} (version {v})", o.address),
        None => o.address.clone(),
    };
    let api = o.op.api_actions().join(" + ");
    let done = match o.op {
        OpKind::Restore => "restored",
        OpKind::Enable => "enabled",
        OpKind::Disable => "disabled",
        OpKind::UpdateDescription => "description updated",
        OpKind::DeleteVersion => "version deleted",
        OpKind::DeleteSecret => match o.recovery_window_days {
            Some(0) | None => "deleted",
            Some(_) => "scheduled for deletion",
        },
        OpKind::Report => "reported",
    };
    match &r.outcome {
        Outcome::Applied { request_id } if request_id.is_empty() => format!(
            "{what}: {done} ({api}, {:.2}s; its answer was lost, and reading the secret back shows it took effect)",
            r.elapsed.as_secs_f64()
        ),
        Outcome::Applied { request_id } => format!(
            "{what}: {done} ({api}, {:.2}s, RequestId {request_id})",
            r.elapsed.as_secs_f64()
        ),
        Outcome::AlreadyApplied => format!("{what}: already {done}; nothing done"),
        Outcome::Failed { message, .. } => format!("{what}: {api} failed: {message}"),
        Outcome::Stale { reason } => format!("{what}: refused, {reason}"),
        Outcome::Skipped { reason, .. } => format!("{what}: skipped because {reason}"),
        Outcome::NotStarted => format!("{what}: not started (interrupted)"),
        Outcome::Unknown { message, .. } => format!("{what}: outcome unknown: {api} {message}"),
    }
}

/// Human output: one line per finished change and the wave headers on stdout (results), each
/// problem on stderr (a diagnostic, printed once), a progress bar (terminal) or periodic lines on
/// stderr. `options` are stdout's.
pub struct TextApplyObserver {
    progress: Progress,
    options: RenderOptions,
    /// Colour of the problems, on stderr.
    error_paint: crate::term::Paint,
}

impl TextApplyObserver {
    pub fn new(total: usize, options: RenderOptions) -> Self {
        TextApplyObserver {
            progress: Progress::new("changes applied", total as u64),
            options,
            error_paint: crate::term::Paint::for_stream(crate::term::Stream::Stderr),
        }
    }

    /// Clear the bar and print the closing report.
    pub fn finish(&self, report: &ApplyReport, out: &mut dyn Write) -> std::io::Result<()> {
        self.progress.finish();
        let p = self.options.paint;
        // Each problem was printed once, on stderr, as it happened (see `change_finished`):
        // stdout gets only the closing figures.
        writeln!(out)?;
        if report.writes > 1 {
            writeln!(
                out,
                "{} writes in {:.1}s ({}), {} retried, {} throttled.",
                report.writes,
                report.write_span.as_secs_f64(),
                super::progress::rate(report.write_rate()),
                report.retries,
                report.throttled
            )?;
        }
        let line = summary_line(report);
        let line = if report.success() {
            p.green(&p.bold(&line))
        } else {
            p.bold_red(&line)
        };
        writeln!(out, "{line}")
    }
}

impl ApplyObserver for TextApplyObserver {
    fn wave_started(&self, wave: u32, waves: u32, changes: usize) {
        if waves > 1 {
            self.progress
                .println_stdout(&self.options.paint.bold(&format!(
                    "Wave {wave} of {waves}: {}",
                    super::plural(changes, "change", "changes")
                )));
        }
    }

    fn change_started(&self, _change: &Change) {}

    fn op_finished(&self, result: &OpResult) {
        self.finished(&op_result_line(result), &result.outcome);
    }

    fn change_finished(&self, result: &ChangeResult) {
        self.finished(&result_line(result), &result.outcome);
    }
}

impl TextApplyObserver {
    /// A finished change or operation: a result on stdout; a problem is a diagnostic, printed once,
    /// on stderr.
    fn finished(&self, line: &str, outcome: &Outcome) {
        let e = self.error_paint;
        match outcome {
            Outcome::Applied { .. } | Outcome::AlreadyApplied => self.progress.println_stdout(line),
            Outcome::Failed { .. } | Outcome::Stale { .. } => {
                self.progress
                    .println(&format!("{} {}", e.bold_red("Error:"), e.red(line)))
            }
            Outcome::Unknown { .. } => {
                self.progress
                    .println(&format!("{} {}", e.bold_red("Unknown:"), e.red(line)))
            }
            Outcome::Skipped { .. } | Outcome::NotStarted => self.progress.println(&format!(
                "{} {}",
                e.bold_yellow("Not applied:"),
                e.yellow(line)
            )),
        }
        if outcome.succeeded() {
            self.progress.inc();
        } else {
            self.progress.inc_failed();
        }
    }
}

/// JSON lines on stdout.
pub struct JsonApplyObserver {
    renderer: JsonRenderer,
    out: Mutex<Box<dyn Write + Send>>,
    total: usize,
    done: AtomicUsize,
    started: Instant,
    last_progress: Mutex<Instant>,
}

impl JsonApplyObserver {
    pub fn new(total: usize, options: RenderOptions, out: Box<dyn Write + Send>) -> Self {
        JsonApplyObserver {
            renderer: JsonRenderer { options },
            out: Mutex::new(out),
            total,
            done: AtomicUsize::new(0),
            started: Instant::now(),
            last_progress: Mutex::new(Instant::now()),
        }
    }

    fn emit(&self, v: serde_json::Value) {
        let mut out = self.out.lock().expect("output lock");
        let _ = write_line(&mut **out, &v);
        let _ = out.flush();
    }

    fn hook(change: &Change) -> serde_json::Value {
        json!({
            "resource": {
                "addr": change.address,
                "module": "",
                "resource": change.address,
                "implied_provider": "tencentcloud",
                "resource_type": "secret",
                "resource_name": change.label(),
                "resource_key": null,
            },
            "action": change.action.terraform_action(),
            "api_action": change.action.api_action(),
            "secret_name": change.secret_name,
            "version_id": change.version_id,
            "wave": change.wave,
        })
    }

    /// The closing `change_summary` line (after the `diagnostic` lines of problems).
    pub fn finish(&self, report: &ApplyReport) {
        for r in report.results.iter().filter(|r| !r.outcome.succeeded()) {
            let note = crate::plan::model::Note {
                severity: match r.outcome {
                    Outcome::Skipped { .. } | Outcome::NotStarted => {
                        crate::plan::model::Severity::Warning
                    }
                    _ => crate::plan::model::Severity::Error,
                },
                summary: result_line(r),
                detail: None,
                address: Some(r.change.address.clone()),
                location: None,
                drift: r.change.drift(),
            };
            self.emit(self.renderer.diagnostic_line(&note));
        }
        for r in report.op_results.iter().filter(|r| !r.outcome.succeeded()) {
            let note = crate::plan::model::Note {
                severity: match r.outcome {
                    Outcome::Skipped { .. } | Outcome::NotStarted => {
                        crate::plan::model::Severity::Warning
                    }
                    _ => crate::plan::model::Severity::Error,
                },
                summary: op_result_line(r),
                detail: None,
                address: Some(r.op.address.clone()),
                location: None,
                drift: Some(r.op.drift),
            };
            self.emit(self.renderer.diagnostic_line(&note));
        }
        let c = report.counts();
        let level = if report.success() { "info" } else { "error" };
        self.emit(self.line(
            level,
            summary_line(report),
            "change_summary",
            json!({
                "changes": {
                    "add": c.created, "change": c.updated, "remove": c.deleted, "import": 0,
                    "unchanged": c.unchanged, "failed": c.failed, "skipped": c.skipped,
                    "not_started": c.not_started, "unknown": c.unknown, "operation": "apply",
                },
                "writes": report.writes,
                "write_seconds": report.write_span.as_secs_f64(),
                "throttled": report.throttled,
                "retries": report.retries,
                "interrupted": report.interrupted,
            }),
        ));
    }

    fn line(
        &self,
        level: &str,
        message: String,
        kind: &str,
        extra: serde_json::Value,
    ) -> serde_json::Value {
        let mut v = extra;
        let o = v.as_object_mut().expect("an object");
        o.insert("@level".into(), json!(level));
        o.insert("@message".into(), json!(message));
        o.insert("@module".into(), json!("ssmform.ui"));
        o.insert(
            "@timestamp".into(),
            json!(crate::clock::rfc3339_millis(
                crate::clock::output_millis_now()
            )),
        );
        o.insert("type".into(), json!(kind));
        v
    }

    pub fn version_line(&self) {
        self.emit(self.renderer.version_line());
    }
}

impl ApplyObserver for JsonApplyObserver {
    fn wave_started(&self, _wave: u32, _waves: u32, _changes: usize) {}

    fn op_finished(&self, result: &OpResult) {
        let o = &result.op;
        let mut hook = json!({
            "resource": {
                "addr": o.address,
                "module": "",
                "resource": o.address,
                "implied_provider": "tencentcloud",
                "resource_type": o.address.split_once('.').map_or("secret", |(k, _)| k),
                "resource_name": o.address.split_once('.').map_or(o.address.as_str(), |(_, n)| n),
                "resource_key": null,
            },
            "action": o.op.terraform_action(),
            "operation": o.op.as_str(),
            "api_actions": o.op.api_actions(),
            "secret_name": o.secret_name,
            "version_id": o.version_id,
            "drift": o.drift,
            "elapsed_seconds": result.elapsed.as_secs_f64(),
            "verdict": result.outcome.verdict().as_str(),
        });
        let (level, kind) = match &result.outcome {
            Outcome::Applied { request_id } => {
                hook["request_id"] = json!(request_id);
                ("info", "apply_complete")
            }
            Outcome::AlreadyApplied => {
                hook["already_applied"] = json!(true);
                ("info", "apply_complete")
            }
            Outcome::Failed {
                code, request_id, ..
            } => {
                hook["error_code"] = json!(code);
                hook["request_id"] = json!(request_id);
                ("error", "apply_errored")
            }
            Outcome::Stale { .. } => {
                hook["stale"] = json!(true);
                ("error", "apply_errored")
            }
            Outcome::Unknown { request_id, .. } => {
                hook["request_id"] = json!(request_id);
                ("error", "apply_errored")
            }
            Outcome::Skipped { .. } | Outcome::NotStarted => return,
        };
        self.emit(self.line(
            level,
            op_result_line(result),
            kind,
            json!({ "hook": hook, "drift": o.drift }),
        ));
    }

    fn change_started(&self, change: &Change) {
        let word = if change.action.is_create() {
            "Creating..."
        } else {
            "Modifying..."
        };
        self.emit(self.line(
            "info",
            format!("{}: {word}", change.address),
            "apply_start",
            json!({ "hook": Self::hook(change) }),
        ));
    }

    fn change_finished(&self, result: &ChangeResult) {
        let c = &result.change;
        let mut hook = Self::hook(c);
        hook["elapsed_seconds"] = json!(result.elapsed.as_secs_f64());
        match &result.outcome {
            Outcome::Applied { request_id } => {
                hook["request_id"] = json!(request_id);
                let msg = format!(
                    "{}: {} complete after {:.2}s",
                    c.address,
                    if c.action.is_create() {
                        "Creation"
                    } else {
                        "Modifications"
                    },
                    result.elapsed.as_secs_f64()
                );
                self.emit(self.line("info", msg, "apply_complete", json!({ "hook": hook })));
            }
            Outcome::AlreadyApplied => {
                hook["already_applied"] = json!(true);
                self.emit(self.line(
                    "info",
                    result_line(result),
                    "apply_complete",
                    json!({ "hook": hook }),
                ));
            }
            Outcome::Failed {
                code, request_id, ..
            } => {
                hook["error_code"] = json!(code);
                hook["request_id"] = json!(request_id);
                self.emit(self.line(
                    "error",
                    result_line(result),
                    "apply_errored",
                    json!({ "hook": hook }),
                ));
            }
            Outcome::Stale { .. } => {
                hook["stale"] = json!(true);
                self.emit(self.line(
                    "error",
                    result_line(result),
                    "apply_errored",
                    json!({ "hook": hook }),
                ));
            }
            Outcome::Unknown { request_id, .. } => {
                hook["request_id"] = json!(request_id);
                hook["verdict"] = json!("unknown");
                self.emit(self.line(
                    "error",
                    result_line(result),
                    "apply_errored",
                    json!({ "hook": hook }),
                ));
            }
            Outcome::Skipped { .. } | Outcome::NotStarted => {}
        }
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let mut last = self.last_progress.lock().expect("lock");
        if last.elapsed() >= JSON_PROGRESS_INTERVAL && done < self.total {
            *last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            let rate = done as f64 / secs;
            drop(last);
            self.emit(self.line(
                "info",
                format!("Applied {done}/{} changes ({rate:.1}/s)", self.total),
                "apply_progress",
                json!({ "progress": { "done": done, "total": self.total, "rate": rate } }),
            ));
        }
    }
}
