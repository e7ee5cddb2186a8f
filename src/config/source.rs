//! Source files and spans: turning byte ranges into `file:line:col`, and source lines into the
//! redacted snippets that diagnostics show.
//!
//! Diagnostics are built in two steps. While loading, problems are recorded as [`Diag`]s holding
//! byte [`Span`]s; only at the end, when every secret literal in the files is known, are they
//! turned into [`Diagnostic`]s with their source line. That order matters because a source line
//! can itself hold a secret (`secret_string = "hunter2"`, a sensitive variable's default, a value
//! in a `*.vars.hcl` file, a credential someone pasted into the provider block): every such
//! literal is registered as a *redaction* and masked with `*` in any line a diagnostic shows.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::diagnostics::{Diagnostic, Location, Note, Severity, Snippet};

/// Index of a file in [`Sources`].
pub(crate) type FileId = u32;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Span {
    pub(crate) file: FileId,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    pub(crate) fn new(file: FileId, range: Range<usize>) -> Self {
        Span {
            file,
            start: range.start as u32,
            end: range.end.max(range.start) as u32,
        }
    }

    /// A span from the start of `self` to the end of `other` (same file).
    pub(crate) fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// What a file is for: configuration, or variable values (whose every value is redacted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Config,
    VarFile,
}

pub(crate) struct SourceFile {
    /// Path as shown to users.
    pub(crate) display: PathBuf,
    pub(crate) text: String,
    pub(crate) kind: FileKind,
    line_starts: Vec<usize>,
    /// Byte ranges whose characters are masked in snippets (sorted on use).
    redactions: Vec<Range<usize>>,
    redactions_sorted: bool,
}

impl SourceFile {
    pub(crate) fn new(display: PathBuf, text: String, kind: FileKind) -> Self {
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            display,
            text,
            kind,
            line_starts,
            redactions: Vec::new(),
            redactions_sorted: true,
        }
    }

    /// 0-based line index of a byte offset.
    fn line_index(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    fn line_range(&self, index: usize) -> Range<usize> {
        let start = self.line_starts[index];
        let mut end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |n| n - 1);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    fn clamp(&self, offset: usize) -> usize {
        let mut o = offset.min(self.text.len());
        while !self.text.is_char_boundary(o) {
            o -= 1;
        }
        o
    }

    pub(crate) fn location(&self, offset: usize) -> Location {
        let offset = self.clamp(offset);
        let li = self.line_index(offset);
        let start = self.line_starts[li];
        Location {
            file: self.display.clone(),
            line: li + 1,
            column: self.text[start..offset].chars().count() + 1,
        }
    }

    /// Byte offset of a 1-based line and character column (clamped to the line).
    pub(crate) fn offset_of(&self, line: usize, column: usize) -> usize {
        let li = line.saturating_sub(1).min(self.line_starts.len() - 1);
        let r = self.line_range(li);
        let line_text = &self.text[r.clone()];
        let within: usize = line_text
            .chars()
            .take(column.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        r.start + within
    }

    pub(crate) fn redact(&mut self, range: Range<usize>) {
        if range.start < range.end {
            self.redactions.push(range);
            self.redactions_sorted = false;
        }
    }

    fn sort_redactions(&mut self) {
        if !self.redactions_sorted {
            self.redactions.sort_by_key(|r| r.start);
            self.redactions_sorted = true;
        }
    }

    fn is_redacted(&self, offset: usize) -> bool {
        // Redactions are few per line; a linear scan of the ones that start before `offset`
        // would do, but the list is sorted so stop early.
        for r in &self.redactions {
            if r.start > offset {
                break;
            }
            if offset < r.end {
                return true;
            }
        }
        false
    }

    /// The snippet for a span: its first line, masked, with the underline clipped to that line.
    pub(crate) fn snippet(&self, range: Range<usize>) -> Snippet {
        let start = self.clamp(range.start);
        let end = self.clamp(range.end.max(range.start));
        let li = self.line_index(start);
        let line = self.line_range(li);
        let mut text = String::with_capacity(line.len());
        for (i, c) in self.text[line.clone()].char_indices() {
            if self.is_redacted(line.start + i) && !c.is_whitespace() {
                text.push('*');
            } else {
                text.push(c);
            }
        }
        let column = self.text[line.start..start.min(line.end).max(line.start)]
            .chars()
            .count()
            + 1;
        let end_on_line = end.min(line.end);
        let width = if end_on_line > start {
            self.text[start..end_on_line].chars().count()
        } else {
            1
        };
        Snippet {
            text,
            column,
            width,
        }
    }

    /// A snippet for a syntax error, where nothing is known about which literals are secret: the
    /// contents of every quoted string on the line are masked. Value files show no line at all.
    pub(crate) fn syntax_error_snippet(&self, offset: usize) -> Option<Snippet> {
        if self.kind == FileKind::VarFile {
            return None;
        }
        let offset = self.clamp(offset);
        let li = self.line_index(offset);
        let line = self.line_range(li);
        let mut text = String::new();
        let mut in_string = false;
        let mut escaped = false;
        for c in self.text[line.clone()].chars() {
            if in_string {
                if escaped {
                    escaped = false;
                    text.push('*');
                } else if c == '\\' {
                    escaped = true;
                    text.push('*');
                } else if c == '"' {
                    in_string = false;
                    text.push(c);
                } else if c.is_whitespace() {
                    text.push(c);
                } else {
                    text.push('*');
                }
            } else {
                if c == '"' {
                    in_string = true;
                }
                text.push(c);
            }
        }
        let column = self.text[line.start..offset.min(line.end).max(line.start)]
            .chars()
            .count()
            + 1;
        Some(Snippet {
            text,
            column,
            width: 1,
        })
    }
}

/// Every file read for one configuration: its configuration files and its value files.
#[derive(Default)]
pub(crate) struct Sources {
    pub(crate) files: Vec<SourceFile>,
}

impl Sources {
    pub(crate) fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        (self.files.len() - 1) as FileId
    }

    pub(crate) fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id as usize]
    }

    pub(crate) fn redact(&mut self, span: Span) {
        self.files[span.file as usize].redact(span.start as usize..span.end as usize);
    }

    pub(crate) fn location(&self, span: Span) -> Location {
        self.file(span.file).location(span.start as usize)
    }

    pub(crate) fn find(&self, display: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.display == display)
            .map(|i| i as FileId)
    }

    pub(crate) fn finish_redactions(&mut self) {
        for f in &mut self.files {
            f.sort_redactions();
        }
    }

    pub(crate) fn snippet(&self, span: Span) -> Snippet {
        self.file(span.file)
            .snippet(span.start as usize..span.end as usize)
    }

    /// Turns a recorded problem into a diagnostic with its (redacted) source line.
    pub(crate) fn materialize(&self, d: Diag) -> Diagnostic {
        let (location, snippet) = match d.at {
            At::Span(span) => (Some(self.location(span)), Some(self.snippet(span))),
            At::SyntaxError(file, offset) => {
                let f = self.file(file);
                (Some(f.location(offset)), f.syntax_error_snippet(offset))
            }
            At::File(file) => (Some(self.file(file).location(0)), None),
            At::Origin(_) => (None, None),
        };
        let origin = match d.at {
            At::Origin(o) => Some(o),
            _ => None,
        };
        Diagnostic {
            severity: d.severity,
            message: d.message,
            location,
            origin,
            snippet,
            label: d.label,
            notes: d
                .notes
                .into_iter()
                .map(|(message, span)| Note {
                    message,
                    location: span.map(|s| self.location(s)),
                    snippet: span.map(|s| self.snippet(s)),
                })
                .collect(),
            help: d.help,
        }
    }
}

/// Where a recorded problem is.
#[derive(Clone, Debug)]
pub(crate) enum At {
    Span(Span),
    /// A syntax error at a byte offset: the line is shown with string contents masked.
    SyntaxError(FileId, usize),
    /// A whole file (shown as its first line and column, without a source line).
    File(FileId),
    /// Not in a file: `--var x`, `SSMFORM_VAR_x`, a directory.
    Origin(String),
}

/// A problem recorded while loading or evaluating, before it is rendered.
#[derive(Clone, Debug)]
pub(crate) struct Diag {
    pub(crate) severity: Severity,
    pub(crate) message: String,
    pub(crate) at: At,
    pub(crate) label: Option<String>,
    pub(crate) notes: Vec<(String, Option<Span>)>,
    pub(crate) help: Option<String>,
}

impl Diag {
    pub(crate) fn error(span: Span, message: impl Into<String>) -> Self {
        Diag {
            severity: Severity::Error,
            message: message.into(),
            at: At::Span(span),
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }

    pub(crate) fn warning(span: Span, message: impl Into<String>) -> Self {
        Diag {
            severity: Severity::Warning,
            ..Diag::error(span, message)
        }
    }

    pub(crate) fn at(severity: Severity, at: At, message: impl Into<String>) -> Self {
        Diag {
            severity,
            message: message.into(),
            at,
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub(crate) fn note(mut self, message: impl Into<String>, span: Option<Span>) -> Self {
        self.notes.push((message.into(), span));
        self
    }

    pub(crate) fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_characters_and_lines_from_one() {
        let f = SourceFile::new(
            "m.hcl".into(),
            "a = 1\nbé = \"x\"\n".into(),
            FileKind::Config,
        );
        let l = f.location(10);
        assert_eq!((l.line, l.column), (2, 4));
        assert_eq!(f.offset_of(2, 4), 10);
    }

    #[test]
    fn redacted_literals_are_masked_in_snippets() {
        let text = "secret_string = \"hunter2\" # x\n";
        let mut f = SourceFile::new("m.hcl".into(), text.into(), FileKind::Config);
        f.redact(17..24);
        f.sort_redactions();
        let s = f.snippet(0..13);
        assert_eq!(s.text, "secret_string = \"*******\" # x");
        assert_eq!((s.column, s.width), (1, 13));
    }

    #[test]
    fn syntax_error_lines_hide_string_contents() {
        let f = SourceFile::new(
            "m.hcl".into(),
            "x = \"a\\\"b c\" +\n".into(),
            FileKind::Config,
        );
        let s = f.syntax_error_snippet(14).unwrap();
        assert_eq!(s.text, "x = \"**** *\" +");
    }
}
