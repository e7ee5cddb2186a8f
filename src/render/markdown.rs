//! Markdown for pull-request comments: the summary line first (outside any fold, so it shows in the
//! review at a glance), warnings called out as GitHub alerts, and the whole diff inside a
//! `<details>` fold in a `diff` code block (`+` create, `-` remove, `!` update), the way
//! Terraform PR-comment tools lay it out.

use std::io;

use super::blocks::{Mark, plan_lines};
use super::text::waves_line;
use super::{PlanRenderer, plural};
use crate::plan::Plan;
use crate::plan::model::Severity;

pub struct MarkdownRenderer;

impl PlanRenderer for MarkdownRenderer {
    fn render_plan(&self, plan: &Plan, out: &mut dyn io::Write) -> io::Result<()> {
        let summary = plan.summary();
        writeln!(out, "**{}**", summary.line())?;
        if !summary.drift.is_empty() {
            let kinds: Vec<String> = summary
                .drift
                .iter()
                .map(|(k, n)| format!("`{k}` {n}"))
                .collect();
            writeln!(out, "\nBy kind: {}.", kinds.join(", "))?;
        }
        if summary.waves > 1 {
            writeln!(out, "\n{}", waves_line(plan))?;
        }
        for note in &plan.notes {
            let kind = match note.severity {
                Severity::Warning => "WARNING",
                Severity::Error => "CAUTION",
            };
            writeln!(out, "\n> [!{kind}]")?;
            let subject = note
                .address
                .as_ref()
                .map(|a| format!("`{a}`: "))
                .unwrap_or_default();
            writeln!(out, "> {subject}{}", escape_inline(&note.summary))?;
            if let Some(detail) = &note.detail {
                for l in detail.lines() {
                    writeln!(out, "> {}", escape_inline(l))?;
                }
            }
        }
        if !plan.has_drift() {
            writeln!(
                out,
                "\nNo changes. The live secrets match the configuration."
            )?;
            return Ok(());
        }
        let lines = plan_lines(plan);
        let body: Vec<String> = lines
            .iter()
            .map(|l| {
                let sym = match l.mark {
                    Mark::Add => '+',
                    Mark::Remove => '-',
                    Mark::Change => '!',
                    Mark::None | Mark::Comment => ' ',
                };
                format!("{sym}{} {}", " ".repeat(l.indent), l.text)
                    .trim_end()
                    .to_string()
            })
            .collect();
        let fence = fence_for(&body);
        let reported = plan.secret_ops.iter().filter(|o| !o.is_action()).count();
        let label = match (summary.changes(), reported) {
            (0, n) => format!(
                "Show the drift ({})",
                plural(
                    n,
                    "difference apply does not change",
                    "differences apply does not change"
                )
            ),
            (c, 0) => format!("Show the plan ({})", plural(c, "change", "changes")),
            (c, n) => format!(
                "Show the plan ({}, {} not changed by apply)",
                plural(c, "change", "changes"),
                plural(n, "difference", "differences")
            ),
        };
        writeln!(out, "\n<details><summary>{label}</summary>\n")?;
        writeln!(out, "{fence}diff")?;
        for l in body {
            writeln!(out, "{l}")?;
        }
        writeln!(out, "{fence}\n\n</details>")
    }
}

/// A code fence longer than any run of backticks in the content, so content cannot close it.
fn fence_for(lines: &[String]) -> String {
    let longest = lines
        .iter()
        .map(|l| l.split(|c| c != '`').map(str::len).max().unwrap_or(0))
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Keep text from opening HTML or closing the alert.
fn escape_inline(s: &str) -> String {
    s.replace('<', "&lt;").replace('>', "&gt;")
}
