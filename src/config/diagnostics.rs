//! Diagnostics: every problem found in a configuration, collected rather than returned at the
//! first one, each pointing at file:line:col with the source line and a caret, rustc style.
//!
//! A [`Diagnostic`] carries its own copy of the source line (already redacted: see
//! [`super::source`]), so rendering needs no file access and a diagnostic can outlive the
//! configuration that produced it. Messages never contain a secret value; an error about a value
//! says its length and where it came from.

use std::fmt;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::term::Paint;

/// A place in a configuration file, as shown to users: `file:line:column` (both 1-based; the
/// column counts characters, not bytes).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    /// The file's path as shown to users (the configuration directory joined with the file name,
    /// without a leading `./`).
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The line of source a diagnostic points into, with the columns to underline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Snippet {
    /// The source line (no line terminator), or a window of it, with secret literals masked.
    pub(crate) text: String,
    /// 1-based character column where the underline starts.
    pub(crate) column: usize,
    /// Number of characters to underline (at least 1).
    pub(crate) width: usize,
    /// Whether `text` is a window cut from a longer line, at its start and at its end (shown as
    /// `…`). A line longer than [`MAX_SHOWN_LINE`] that is not cut yet is cut when rendered.
    pub(crate) cut: (bool, bool),
}

/// A secondary message attached to a diagnostic, optionally with its own location and source line
/// ("first declared here", "secret.b refers to secret.a here").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub message: String,
    pub location: Option<Location>,
    pub(crate) snippet: Option<Snippet>,
}

/// One problem in a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Where the problem is. `None` only for problems that are not in any file (a `--var` on the
    /// command line, an `SSMFORM_VAR_*` environment variable, a directory that cannot be read).
    pub location: Option<Location>,
    /// Where the problem is when it is not in a file: `--var db_port`, `SSMFORM_VAR_env`, ...
    pub origin: Option<String>,
    pub(crate) snippet: Option<Snippet>,
    /// The label under the caret (`expected a string`), if any.
    pub label: Option<String>,
    pub notes: Vec<Note>,
    /// A suggestion: `did you mean `secret_name`?`, where credentials go, ...
    pub help: Option<String>,
    /// The kind of drift a plan error is about (`kms_key_differs`, ...), if any.
    pub kind: Option<String>,
}

impl Diagnostic {
    /// A diagnostic that is not in any file: `origin` says where it comes from instead
    /// (`--var db_port`, `SSMFORM_VAR_env`, the directory name).
    pub fn without_location(
        severity: Severity,
        origin: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            message: message.into(),
            location: None,
            origin: Some(origin.into()),
            snippet: None,
            label: None,
            notes: Vec::new(),
            help: None,
            kind: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Marks the diagnostic as being about a kind of drift (a plan's stable name for it).
    pub fn with_kind(mut self, kind: &str) -> Self {
        self.kind = Some(kind.to_string());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_note(mut self, message: impl Into<String>) -> Self {
        self.notes.push(Note {
            message: message.into(),
            location: None,
            snippet: None,
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The source line shown under the message (already redacted), if any.
    pub fn source_line(&self) -> Option<&str> {
        self.snippet.as_ref().map(|s| s.text.as_str())
    }

    /// The diagnostic as rustc renders its messages: severity and message, `--> file:line:col`,
    /// the source line with a caret, then notes and help.
    pub fn render(&self, paint: Paint) -> String {
        let mut gutter = 1;
        if let Some(l) = &self.location {
            gutter = gutter.max(digits(l.line));
        }
        for n in &self.notes {
            if let Some(l) = &n.location {
                gutter = gutter.max(digits(l.line));
            }
        }
        let mut out = String::new();
        let (head, caret_color): (String, fn(Paint, &str) -> String) = match self.severity {
            Severity::Error => (paint.bold_red("error"), Paint::bold_red),
            Severity::Warning => (paint.bold_yellow("warning"), Paint::bold_yellow),
        };
        let _ = writeln!(
            out,
            "{head}{}",
            paint.bold(&format!(": {}", printable(&self.message)))
        );
        let pad = " ".repeat(gutter);
        match (&self.location, &self.origin) {
            (Some(loc), _) => {
                let loc = loc.to_string();
                let _ = writeln!(out, "{pad}{} {}", paint.blue("-->"), printable(&loc));
            }
            (None, Some(origin)) => {
                let _ = writeln!(out, "{pad}{} {}", paint.blue("-->"), printable(origin));
            }
            (None, None) => {}
        }
        if let (Some(loc), Some(snippet)) = (&self.location, &self.snippet) {
            render_snippet(
                &mut out,
                paint,
                gutter,
                loc.line,
                snippet,
                self.label.as_deref(),
                caret_color,
            );
        }
        if self.snippet.is_some() && (!self.notes.is_empty() || self.help.is_some()) {
            let _ = writeln!(out, "{pad} {}", paint.blue("|"));
        }
        for note in &self.notes {
            match (&note.location, &note.snippet) {
                (Some(loc), Some(snippet)) => {
                    let _ = writeln!(out, "{pad} {} {}", paint.blue("="), note_head(paint, note));
                    let shown = loc.to_string();
                    let _ = writeln!(out, "{pad}{} {}", paint.blue("-->"), printable(&shown));
                    render_snippet(
                        &mut out,
                        paint,
                        gutter,
                        loc.line,
                        snippet,
                        None,
                        Paint::blue,
                    );
                }
                (Some(loc), None) => {
                    let loc = loc.to_string();
                    let _ = writeln!(
                        out,
                        "{pad} {} {} ({})",
                        paint.blue("="),
                        note_head(paint, note),
                        printable(&loc)
                    );
                }
                _ => {
                    let _ = writeln!(out, "{pad} {} {}", paint.blue("="), note_head(paint, note));
                }
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(
                out,
                "{pad} {} {}: {}",
                paint.blue("="),
                paint.bold("help"),
                // ssmform's own multi-line help keeps its lines; within them, nothing unprintable
                help.split('\n')
                    .map(printable)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        out
    }

    /// The diagnostic as JSON: `severity`, `message`, `file`, `line`, `column` (null when the
    /// problem is not in a file), `origin`, `notes` and `help`.
    pub fn to_json(&self) -> serde_json::Value {
        let notes: Vec<serde_json::Value> = self
            .notes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "message": n.message,
                    "file": n.location.as_ref().map(|l| l.file.display().to_string()),
                    "line": n.location.as_ref().map(|l| l.line),
                    "column": n.location.as_ref().map(|l| l.column),
                })
            })
            .collect();
        serde_json::json!({
            "severity": self.severity.as_str(),
            "message": self.message,
            "file": self.location.as_ref().map(|l| l.file.display().to_string()),
            "line": self.location.as_ref().map(|l| l.line),
            "column": self.location.as_ref().map(|l| l.column),
            "origin": self.origin,
            "label": self.label,
            "notes": notes,
            "help": self.help,
        })
    }
}

fn note_head(paint: Paint, note: &Note) -> String {
    format!("{}: {}", paint.bold("note"), printable(&note.message))
}

/// Whether a character could move the cursor, clear the screen, start a line of its own or
/// reorder what a terminal shows: control characters (C0, DEL, C1) and bidirectional overrides.
fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every unprintable character written as an escape (`\u{1b}`): a name a configuration
/// holds (`"app\u001b[2J"`, a file name, an origin) cannot forge or hide lines of a diagnostic.
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unprintable) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if is_unprintable(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

/// Tabs are shown as four spaces; the caret is moved to match.
fn expand_tabs(s: &str) -> String {
    s.replace('\t', "    ")
}

fn visual_width(s: &str) -> usize {
    s.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// Source lines longer than this many characters are shown as a window around the caret.
pub(crate) const MAX_SHOWN_LINE: usize = 120;

fn render_snippet(
    out: &mut String,
    paint: Paint,
    gutter: usize,
    line: usize,
    snippet: &Snippet,
    label: Option<&str>,
    caret_color: fn(Paint, &str) -> String,
) {
    let pad = " ".repeat(gutter);
    let chars: Vec<char> = snippet.text.trim_end().chars().collect();
    let col = snippet.column.saturating_sub(1).min(chars.len());
    let width = snippet.width.max(1);
    // A window of the line around the underline, marked with `…` where it is cut.
    let (start, end) = if chars.len() <= MAX_SHOWN_LINE {
        (0, chars.len())
    } else {
        let start = col.saturating_sub(MAX_SHOWN_LINE / 3);
        (start, (start + MAX_SHOWN_LINE).min(chars.len()))
    };
    // An unprintable character in the line (a raw escape in a comment, say) is shown as one
    // replacement character, which keeps the caret in its column.
    let mut shown: String = chars[start..end]
        .iter()
        .map(|&c| {
            if c != '\t' && is_unprintable(c) {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    let mut lead = String::new();
    if start > 0 || snippet.cut.0 {
        lead.push('…');
    }
    if end < chars.len() || snippet.cut.1 {
        shown.push('…');
    }
    let _ = writeln!(out, "{pad} {}", paint.blue("|"));
    let _ = writeln!(
        out,
        "{} {} {lead}{}",
        paint.blue(&format!("{line:>gutter$}")),
        paint.blue("|"),
        expand_tabs(&shown)
    );
    let before: String = chars[start..col.max(start)].iter().collect();
    let underlined: String = chars[col.min(end)..(col + width).min(end)].iter().collect();
    let offset = visual_width(&before) + lead.chars().count();
    let width = visual_width(&underlined).max(1);
    let carets = "^".repeat(width);
    let label = label
        .map(|l| format!(" {}", printable(l)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{pad} {} {}{}",
        paint.blue("|"),
        " ".repeat(offset),
        caret_color(paint, &format!("{carets}{label}"))
    );
}

/// All the diagnostics of one operation, in the order they should be shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics(Vec::new())
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.0.len() - self.error_count()
    }

    /// Orders diagnostics by file, line and column (problems outside files first), keeping the
    /// order of diagnostics at the same place.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            let ka = a.location.as_ref().map(|l| (&l.file, l.line, l.column));
            let kb = b.location.as_ref().map(|l| (&l.file, l.line, l.column));
            ka.cmp(&kb)
        });
    }

    /// Every diagnostic rendered as text, separated by blank lines, followed by a count of
    /// errors and warnings when there is more than one diagnostic.
    pub fn render(&self, paint: Paint) -> String {
        let mut out = String::new();
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&d.render(paint));
        }
        if self.0.len() > 1 {
            let summary = summary(self.error_count(), self.warning_count());
            let _ = write!(out, "\n{}\n", paint.bold(&summary));
        }
        out
    }

    /// `{"valid": bool, "error_count": n, "warning_count": n, "diagnostics": [...]}`, the shape of
    /// `terraform validate -json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": !self.has_errors(),
            "error_count": self.error_count(),
            "warning_count": self.warning_count(),
            "diagnostics": self.0.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
        })
    }
}

fn summary(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    match (errors, warnings) {
        (e, 0) => plural(e, "error"),
        (0, w) => plural(w, "warning"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Paint::plain()))
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// `1 character`, `7 characters`: how long a value is, for messages that cannot show it.
pub(crate) fn characters(n: usize) -> String {
    if n == 1 {
        "1 character".to_string()
    } else {
        format!("{n} characters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: "unknown attribute `secert_name`".into(),
            location: Some(Location {
                file: "main.hcl".into(),
                line: 12,
                column: 3,
            }),
            origin: None,
            snippet: Some(Snippet {
                text: "  secert_name = \"x\"".into(),
                column: 3,
                width: 11,
                cut: (false, false),
            }),
            label: None,
            notes: vec![],
            help: Some("did you mean `secret_name`?".into()),
            kind: None,
        }
    }

    #[test]
    fn renders_like_rustc() {
        let text = sample().render(Paint::plain());
        assert_eq!(
            text,
            "error: unknown attribute `secert_name`\n  --> main.hcl:12:3\n   |\n12 |   secert_name = \"x\"\n   |   ^^^^^^^^^^^\n   |\n   = help: did you mean `secret_name`?\n"
        );
    }

    #[test]
    fn json_has_position_fields() {
        let j = sample().to_json();
        assert_eq!(j["file"], "main.hcl");
        assert_eq!(j["line"], 12);
        assert_eq!(j["column"], 3);
        assert_eq!(j["severity"], "error");
    }

    #[test]
    fn long_lines_are_shown_around_the_caret() {
        let mut d = sample();
        d.snippet = Some(Snippet {
            text: format!("{}X{}", "a".repeat(300), "b".repeat(300)),
            column: 301,
            width: 1,
            cut: (false, false),
        });
        let text = d.render(Paint::plain());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[3],
            format!("12 | …{}X{}…", "a".repeat(40), "b".repeat(79))
        );
        assert_eq!(lines[4], format!("   | {}^", " ".repeat(41)));
    }

    #[test]
    fn control_characters_cannot_forge_lines_or_move_the_cursor() {
        let mut d = sample();
        d.message = "invalid secret name: \"app\u{1b}[2J\r\nPlan: 0 to create\"".into();
        d.help = Some("\u{202e}gnp.exe".into());
        d.snippet = Some(Snippet {
            text: "  x = 1 # \u{1b}]0;title\u{7} y".into(),
            column: 22,
            width: 1,
            cut: (false, false),
        });
        let text = d.render(Paint::plain());
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert_eq!(text.lines().count(), 7, "{text}");
        assert!(
            text.starts_with("error: invalid secret name: \"app\\u{1b}[2J\\u{d}\\u{a}Plan"),
            "{text}"
        );
        // The caret stays under the character it points at.
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[3].chars().position(|c| c == 'y'),
            lines[4].chars().position(|c| c == '^')
        );
    }

    #[test]
    fn tabs_move_the_caret() {
        let mut d = sample();
        d.snippet = Some(Snippet {
            text: "\tx = 1".into(),
            column: 2,
            width: 1,
            cut: (false, false),
        });
        let text = d.render(Paint::plain());
        assert!(text.contains("|     x = 1\n   |     ^\n"), "{text}");
    }
}
