//! Terraform-style plan text for terminals: one block per change, notes, then the summary line
//! `Plan: X to create, Y to update, Z to delete, W unchanged.` as the last line (a stable
//! interface).

use std::io;

use super::blocks::{Line, Mark, plan_lines};
use super::{PlanRenderer, RenderOptions, plural};
use crate::plan::Plan;
use crate::plan::model::{Note, Severity};
use crate::term::Paint;

pub struct TextRenderer {
    pub options: RenderOptions,
}

impl PlanRenderer for TextRenderer {
    fn render_plan(&self, plan: &Plan, out: &mut dyn io::Write) -> io::Result<()> {
        let p = self.options.paint;
        let summary = plan.summary();
        if plan.has_drift() {
            if !plan.has_changes() {
                writeln!(
                    out,
                    "{}\n",
                    p.bold("No changes to apply, but the account differs from the configuration in ways apply does not change.")
                )?;
            } else if summary.delete > 0 {
                writeln!(
                    out,
                    "ssmform will perform the following actions ({} is create, {} is update in place, {} is delete):\n",
                    p.green("+"),
                    p.yellow("~"),
                    p.red("-")
                )?;
            } else {
                writeln!(
                    out,
                    "ssmform will perform the following actions ({} is create, {} is update in place):\n",
                    p.green("+"),
                    p.yellow("~")
                )?;
            }
            for l in plan_lines(plan) {
                writeln!(out, "{}", paint_line(&l, p))?;
            }
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{}\n",
                p.bold("No changes. The live secrets match the configuration.")
            )?;
        }
        for note in &plan.notes {
            write_note(note, p, out)?;
        }
        if summary.waves > 1 {
            writeln!(out, "{}", waves_line(plan))?;
        }
        writeln!(out, "{}", p.bold(&summary.line()))
    }
}

/// `Apply order: 3 waves (wave 1: 2 changes, wave 2: 1 change, wave 3: 1 change).`
pub fn waves_line(plan: &Plan) -> String {
    let waves = plan.summary().waves;
    let per_wave: Vec<String> = (1..=waves)
        .map(|w| {
            let n = plan.changes.iter().filter(|c| c.wave == w).count();
            format!("wave {w}: {}", plural(n, "change", "changes"))
        })
        .collect();
    format!("Apply order: {waves} waves ({}).", per_wave.join(", "))
}

fn paint_line(l: &Line, p: Paint) -> String {
    let pad = " ".repeat(l.indent);
    let sym = l.mark.symbol().to_string();
    match l.mark {
        Mark::None => format!("{pad}  {}", l.text).trim_end().to_string(),
        Mark::Comment => format!("{pad}  {}", p.dim(&l.text)),
        Mark::Add => format!("{pad}{} {}", p.green(&sym), l.text),
        Mark::Remove => format!("{pad}{} {}", p.red(&sym), l.text),
        Mark::Change => format!("{pad}{} {}", p.yellow(&sym), l.text),
    }
}

fn write_note(note: &Note, p: Paint, out: &mut dyn io::Write) -> io::Result<()> {
    let title = match note.severity {
        Severity::Warning => p.bold_yellow("Warning:"),
        Severity::Error => p.bold_red("Error:"),
    };
    let subject = note
        .address
        .as_ref()
        .map(|a| format!("{a}: "))
        .unwrap_or_default();
    writeln!(out, "{title} {subject}{}", note.summary)?;
    if let Some(loc) = &note.location {
        writeln!(out, "  --> {}:{}:{}", loc.file, loc.line, loc.column)?;
    }
    if let Some(detail) = &note.detail {
        for l in detail.lines() {
            writeln!(out, "  {l}")?;
        }
    }
    writeln!(out)
}
