//! Renderers of plans: Terraform-style text for terminals, Markdown for pull-request comments and
//! JSON lines in Terraform's machine-readable UI shape.
//!
//! All three implement [`PlanRenderer`] over a `&Plan`; they never see a secret (the plan holds none).
//! Text and Markdown share the block layout in [`blocks`], so the two always describe a change the same
//! way. Timestamps come from [`RenderOptions::now_ms`], which the command line takes from
//! `SOURCE_DATE_EPOCH` when set, so outputs can be reproduced exactly.

pub mod apply;
mod blocks;
pub mod json;
pub mod markdown;
pub mod progress;
pub mod text;

use std::io;

use crate::plan::Plan;
use crate::term::Paint;

/// What a renderer needs besides the plan.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub paint: Paint,
    /// The time stamped on JSON lines, in milliseconds since the Unix epoch.
    pub now_ms: i64,
}

impl RenderOptions {
    /// Options for the current process: colour per `stream`, time from `SOURCE_DATE_EPOCH` or now.
    pub fn for_stream(stream: crate::term::Stream) -> Self {
        RenderOptions {
            paint: Paint::for_stream(stream),
            now_ms: crate::clock::output_millis_now(),
        }
    }
}

/// Something that can show a plan.
pub trait PlanRenderer {
    fn render_plan(&self, plan: &Plan, out: &mut dyn io::Write) -> io::Result<()>;
}

/// The output formats of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// The renderer for `format`.
pub fn plan_renderer(format: Format, options: RenderOptions) -> Box<dyn PlanRenderer> {
    match format {
        Format::Text => Box::new(text::TextRenderer { options }),
        Format::Markdown => Box::new(markdown::MarkdownRenderer),
        Format::Json => Box::new(json::JsonRenderer { options }),
    }
}

/// Render to a string (for tests and for callers that post-process).
pub fn render_to_string(renderer: &dyn PlanRenderer, plan: &Plan) -> String {
    let mut buf = Vec::new();
    renderer
        .render_plan(plan, &mut buf)
        .expect("writing to a Vec cannot fail");
    String::from_utf8(buf).expect("renderers write UTF-8")
}

/// "1 change" / "2 changes".
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::*;
    use crate::secret::{ContentKind, Fingerprint, PlanKey};
    use std::collections::BTreeMap;

    fn summary(key: &PlanKey, label: &str, size: usize, kind: ContentKind) -> ContentSummary {
        ContentSummary {
            kind,
            size,
            fingerprint: Fingerprint::of_labelled(key, label, b"x"),
        }
    }

    fn change(key: &PlanKey, label: &str, action: Action, wave: u32, diff: ContentDiff) -> Change {
        Change {
            address: format!("secret.{label}"),
            secret_name: format!("app-{label}"),
            version_id: "v1".into(),
            action,
            wave,
            live: (action == Action::Update)
                .then(|| summary(key, &format!("{label}-live"), 10, ContentKind::String)),
            desired: summary(key, &format!("{label}-desired"), 12, ContentKind::String),
            diff,
            unverified: false,
            sensitive: true,
            description: (action == Action::CreateSecret).then(|| "made by <ssmform>".to_string()),
            depends_on: if wave > 1 {
                vec!["secret.a".into()]
            } else {
                vec![]
            },
            tags: BTreeMap::new(),
            kms_key_id: None,
            secret_created_here: false,
        }
    }

    fn sample() -> Plan {
        let key = PlanKey::from_passphrase(b"render-tests");
        Plan {
            meta: PlanMeta {
                tool_version: "0.1.0".into(),
                created_at_ms: 0,
                config_dir: ".".into(),
                config_dir_absolute: None,
                config_digest: String::new(),
                variables: BTreeMap::new(),
                endpoint: "local".into(),
                region: "ap-guangzhou".into(),
                targets: vec![],
            },
            changes: vec![
                change(&key, "a", Action::Update, 1, ContentDiff::Opaque),
                change(
                    &key,
                    "b",
                    Action::Update,
                    2,
                    ContentDiff::JsonKeys(KeyDiff {
                        added: vec!["new_key".into()],
                        removed: vec![],
                        changed: vec!["log_level".into()],
                        unchanged: 3,
                        hidden: Default::default(),
                    }),
                ),
                change(&key, "c", Action::CreateSecret, 1, ContentDiff::None),
                change(&key, "d", Action::NoOp, 0, ContentDiff::None),
            ],
            secret_ops: vec![],
            notes: vec![Note {
                severity: Severity::Warning,
                summary: "a warning".into(),
                detail: Some("what to do".into()),
                address: Some("secret.c".into()),
                location: None,
                drift: None,
            }],
        }
    }

    fn options() -> RenderOptions {
        RenderOptions {
            paint: Paint::plain(),
            now_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn text_ends_with_the_summary_line_and_shows_every_change() {
        let out = render_to_string(plan_renderer(Format::Text, options()).as_ref(), &sample());
        assert_eq!(
            out.lines().last(),
            Some("Plan: 1 to create, 2 to update, 0 to delete, 1 unchanged.")
        );
        assert!(out.contains("# secret.b will be updated in place (wave 2, after secret.a)"));
        assert!(!out.contains("~ new_key") && out.contains("+ new_key   = (sensitive)"));
        assert!(out.contains("~ log_level = (sensitive)"));
        assert!(out.contains("# (3 unchanged keys hidden)"));
        assert!(!out.contains("secret.d"), "no-ops are not listed");
        assert!(out.contains("Apply order: 2 waves (wave 1: 2 changes, wave 2: 1 change)."));
        assert!(!out.contains('\x1b'), "no colour when disabled");
    }

    #[test]
    fn wave_headings_name_only_the_nearest_dependencies_of_a_chain() {
        let key = PlanKey::from_passphrase(b"render-tests");
        let mut plan = sample();
        let mut chain = Vec::new();
        for (i, label) in ["c1", "c2", "c3", "c4"].into_iter().enumerate() {
            let mut c = change(
                &key,
                label,
                Action::Update,
                i as u32 + 1,
                ContentDiff::Opaque,
            );
            // depends_on is transitive: every earlier link of the chain
            c.depends_on = chain.clone();
            chain.push(c.address.clone());
            plan.changes.push(c);
        }
        let out = render_to_string(plan_renderer(Format::Text, options()).as_ref(), &plan);
        assert!(
            out.contains("# secret.c1 will be updated in place (wave 1)\n"),
            "{out}"
        );
        assert!(out.contains("# secret.c4 will be updated in place (wave 4, after secret.c3)\n"));
        assert!(out.contains("# secret.c3 will be updated in place (wave 3, after secret.c2)\n"));
    }

    #[test]
    fn live_text_cannot_hide_or_fake_lines_with_control_characters() {
        let key = PlanKey::from_passphrase(b"render-tests");
        let mut plan = sample();
        let mut c = change(
            &key,
            "conf",
            Action::Update,
            1,
            ContentDiff::Lines(LineDiff {
                lines: vec![
                    DiffLine::Removed("evil\r  + looks added\u{1b}[2K".into()),
                    DiffLine::Added("\u{202e}desrever\tok".into()),
                ],
                live_hidden: false,
            }),
        );
        c.sensitive = false;
        plan.changes.push(c);
        plan.changes[1].diff = ContentDiff::JsonKeys(KeyDiff {
            added: vec!["[\"\u{1b}[31mred\"]".into()],
            ..KeyDiff::default()
        });
        for format in [Format::Text, Format::Markdown] {
            let out = render_to_string(plan_renderer(format, options()).as_ref(), &plan);
            assert!(!out.contains(['\r', '\u{1b}', '\u{202e}']), "{out:?}");
            assert!(out.contains("evil\\u{d}  + looks added\\u{1b}[2K"), "{out}");
            assert!(out.contains("\\u{202e}desrever\tok"), "{out}");
            assert!(out.contains("[\"\\u{1b}[31mred\"] = (sensitive)"), "{out}");
        }
    }

    #[test]
    fn markdown_puts_the_summary_first_and_the_diff_in_a_fold() {
        let out = render_to_string(
            plan_renderer(Format::Markdown, options()).as_ref(),
            &sample(),
        );
        assert_eq!(
            out.lines().next(),
            Some("**Plan: 1 to create, 2 to update, 0 to delete, 1 unchanged.**")
        );
        let fold = out.find("<details>").unwrap();
        assert!(out.find("> [!WARNING]").unwrap() < fold);
        assert!(out[fold..].contains("```diff\n"));
        assert!(out.contains("\n!   secret \"a\" {"), "{out}");
        assert!(out.contains("made by &lt;ssmform&gt;") || out.contains("\"made by <ssmform>\""));
    }

    #[test]
    fn json_lines_all_carry_the_common_fields() {
        let out = render_to_string(plan_renderer(Format::Json, options()).as_ref(), &sample());
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for l in &lines {
            for field in ["@level", "@message", "@module", "@timestamp", "type"] {
                assert!(l.get(field).is_some(), "{field} missing in {l}");
            }
            assert_eq!(l["@timestamp"], "2023-11-14T22:13:20.000Z");
        }
        assert_eq!(lines[0]["type"], "version");
        assert_eq!(lines[0]["ui"], "1.0");
        let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "version",
                "planned_change",
                "planned_change",
                "planned_change",
                "diagnostic",
                "change_summary"
            ]
        );
        let summary = lines.last().unwrap();
        assert_eq!(
            summary["changes"],
            serde_json::json!({"add":1,"change":2,"remove":0,"import":0,"unchanged":1,"waves":2,"operation":"plan",
                "drift":{"content_differs":2,"secret_missing":1}})
        );
        assert_eq!(lines[4]["@level"], "warn");
    }
}
