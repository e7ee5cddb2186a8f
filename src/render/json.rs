//! JSON lines in Terraform's machine-readable UI shape (`terraform plan -json`): a `version` line,
//! one `planned_change` per change, `diagnostic` lines for warnings and errors, and a final
//! `change_summary`. Every line carries `@level`, `@message`, `@module`, `@timestamp` and `type`.
//! ssmform adds its own fields inside `change` (secret name, version, wave, API action, sizes,
//! keyed fingerprints, JSON key names); consumers that know Terraform's shape can ignore them.

use std::io;

use serde_json::{Value, json};

use super::{PlanRenderer, RenderOptions};
use crate::clock::rfc3339_millis;
use crate::plan::Plan;
use crate::plan::model::{Change, ContentDiff, Note, SecretOp, Severity};

/// The UI protocol version we emit.
pub const UI_VERSION: &str = "1.0";

pub struct JsonRenderer {
    pub options: RenderOptions,
}

impl JsonRenderer {
    fn line(&self, level: &str, message: String, kind: &str, mut extra: Value) -> Value {
        let obj = extra.as_object_mut().expect("extra fields are an object");
        obj.insert("@level".into(), json!(level));
        obj.insert("@message".into(), json!(message));
        obj.insert("@module".into(), json!("ssmform.ui"));
        obj.insert(
            "@timestamp".into(),
            json!(rfc3339_millis(self.options.now_ms)),
        );
        obj.insert("type".into(), json!(kind));
        extra
    }

    pub fn version_line(&self) -> Value {
        let v = env!("CARGO_PKG_VERSION");
        self.line(
            "info",
            format!("ssmform {v}"),
            "version",
            json!({ "ssmform": v, "ui": UI_VERSION }),
        )
    }

    pub fn diagnostic_line(&self, note: &Note) -> Value {
        let (level, severity, title) = match note.severity {
            Severity::Warning => ("warn", "warning", "Warning"),
            Severity::Error => ("error", "error", "Error"),
        };
        let mut diag = json!({
            "severity": severity,
            "summary": note.summary,
            "detail": note.detail.clone().unwrap_or_default(),
        });
        if let Some(a) = &note.address {
            diag["address"] = json!(a);
        }
        diag["drift"] = json!(note.drift);
        if let Some(l) = &note.location {
            diag["range"] = json!({
                "filename": l.file,
                "start": { "line": l.line, "column": l.column },
                "end": { "line": l.line, "column": l.column },
            });
        }
        self.line(
            level,
            format!("{title}: {}", note.summary),
            "diagnostic",
            json!({ "diagnostic": diag, "drift": note.drift }),
        )
    }

    pub fn change_line(&self, c: &Change) -> Value {
        let mut change = json!({
            "resource": {
                "addr": c.address,
                "module": "",
                "resource": c.address,
                "implied_provider": "tencentcloud",
                "resource_type": "secret",
                "resource_name": c.label(),
                "resource_key": null,
            },
            "action": c.action.terraform_action(),
            "api_action": c.action.api_action(),
            "secret_name": c.secret_name,
            "version_id": c.version_id,
            "wave": c.wave,
            "kind": { "live": c.live.map(|l| l.kind), "desired": c.desired.kind },
            "size": { "live": c.live.map(|l| l.size), "desired": c.desired.size },
            "fingerprint": {
                "live": c.live.map(|l| l.fingerprint.short()),
                "desired": c.desired.fingerprint.short(),
            },
            "sensitive": c.sensitive,
            "unverified": c.unverified,
            "depends_on": c.depends_on,
            "drift": c.drift(),
        });
        if !c.tags.is_empty() {
            change["tags"] = json!(c.tags);
        }
        if let Some(k) = &c.kms_key_id {
            change["kms_key_id"] = json!(k);
        }
        if let ContentDiff::JsonKeys(k) = &c.diff {
            change["keys"] = json!({
                "added": k.added, "removed": k.removed, "changed": k.changed, "unchanged": k.unchanged,
            });
            if !k.hidden.is_empty() {
                // Keys whose names derive from a sensitive value: counted, never named.
                change["keys"]["hidden"] = json!({
                    "added": k.hidden.added, "removed": k.hidden.removed, "changed": k.hidden.changed,
                });
            }
        }
        let verb = match c.action.terraform_action() {
            "create" => "Plan to create",
            _ => "Plan to update",
        };
        self.line(
            "info",
            format!("{}: {verb}", c.address),
            "planned_change",
            json!({ "change": change, "drift": c.drift() }),
        )
    }

    /// A secret operation: a `planned_change` line, or a `resource_drift` line for drift apply
    /// leaves alone.
    pub fn op_line(&self, o: &SecretOp) -> Value {
        let (kind, name) = o.address.split_once('.').unwrap_or(("secret", &o.address));
        let mut change = json!({
            "resource": {
                "addr": o.address,
                "module": "",
                "resource": o.address,
                "implied_provider": "tencentcloud",
                "resource_type": kind,
                "resource_name": name,
                "resource_key": null,
            },
            "action": o.op.terraform_action(),
            "operation": o.op.as_str(),
            "api_actions": o.op.api_actions(),
            "secret_name": o.secret_name,
            "version_id": o.version_id,
            "drift": o.drift,
        });
        if let Some(d) = &o.description {
            change["description"] = json!(d);
        }
        if let Some(days) = o.recovery_window_days {
            change["recovery_window_days"] = json!(days);
        }
        if let Some(d) = &o.detail {
            change["detail"] = json!(d);
        }
        if o.is_action() {
            let verb = if o.op.is_delete() {
                "Plan to delete"
            } else {
                "Plan to update"
            };
            let what = match &o.version_id {
                Some(v) => format!("{} version {v}", o.address),
                None => o.address.clone(),
            };
            self.line(
                "info",
                format!("{what}: {verb} ({})", o.op.as_str()),
                "planned_change",
                json!({ "change": change, "drift": o.drift }),
            )
        } else {
            self.line(
                "info",
                format!("{}: Drift detected ({})", o.address, o.drift),
                "resource_drift",
                json!({ "change": change, "drift": o.drift }),
            )
        }
    }

    pub fn summary_line(&self, plan: &Plan) -> Value {
        let s = plan.summary();
        self.line(
            "info",
            s.line(),
            "change_summary",
            json!({
                "changes": {
                    "add": s.create, "change": s.update, "remove": s.delete, "import": 0,
                    "unchanged": s.unchanged, "waves": s.waves, "operation": "plan",
                    "drift": s.drift,
                }
            }),
        )
    }
}

pub(crate) fn write_line(out: &mut dyn io::Write, v: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    writeln!(out)
}

impl PlanRenderer for JsonRenderer {
    fn render_plan(&self, plan: &Plan, out: &mut dyn io::Write) -> io::Result<()> {
        write_line(out, &self.version_line())?;
        for c in plan.actions() {
            write_line(out, &self.change_line(c))?;
        }
        for o in &plan.secret_ops {
            write_line(out, &self.op_line(o))?;
        }
        for n in &plan.notes {
            write_line(out, &self.diagnostic_line(n))?;
        }
        write_line(out, &self.summary_line(plan))
    }
}
