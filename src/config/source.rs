//! Source files and spans: turning byte ranges into `file:line:col`, and source lines into the
//! redacted snippets that diagnostics show.
//!
//! Diagnostics are built in two steps. While loading, problems are recorded as [`Diag`]s holding
//! byte [`Span`]s; only at the end, when every secret literal in the files is known, are they
//! turned into [`Diagnostic`]s with their source line. That order matters because a source line
//! can itself hold a secret (`secret_string = "hunter2"`, a sensitive variable's default, a value
//! in a `*.vars.hcl` file, a credential someone pasted into the provider block). Two layers mask
//! it with `*` in any line a diagnostic shows:
//!
//! - every line of a variable file, and of a block that can hold a secret (`variable`, `locals`,
//!   `secret`, unknown blocks), is masked by tokens ([`super::mask`]): every literal, bare word and
//!   comment;
//! - elsewhere, the literals known to be secret are registered as *redactions* (a credential
//!   pasted into the provider block, say).
//!
//! A syntax error's line is shown only up to the error, masked by tokens wherever it is.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::diagnostics::{Diagnostic, Location, MAX_SHOWN_LINE, Note, Severity, Snippet};

/// Index of a file in [`Sources`].
pub(crate) type FileId = u32;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// Byte ranges (blocks) whose lines are masked by tokens; the whole file for a variable file.
    token_masked: Vec<Range<usize>>,
    /// The token masks of the whole text, computed when a snippet first needs them.
    token_masks: std::sync::OnceLock<Vec<Range<usize>>>,
    /// Byte ranges (blocks that hold names: the provider, data sources) whose lines have their
    /// comments and bare words masked in snippets.
    name_masked: Vec<Range<usize>>,
    /// The name-block masks of the whole text, computed when a snippet first needs them.
    name_masks: std::sync::OnceLock<Vec<Range<usize>>>,
    /// The redactions sorted by start, with the running maximum of their ends: the ones that
    /// touch a window are found without looking at the others.
    redaction_index: std::sync::OnceLock<(Vec<Range<usize>>, Vec<usize>)>,
    /// Characters before each [`CHAR_BLOCK`]-byte block of the text, so that a column is counted
    /// from the nearest block rather than from the start of a (possibly 16 MiB) line.
    char_blocks: std::sync::OnceLock<Vec<usize>>,
    /// Where each line ends without its trailing whitespace.
    trimmed_ends: std::sync::OnceLock<Vec<usize>>,
}

/// Bytes per block of [`SourceFile::char_blocks`].
const CHAR_BLOCK: usize = 256;

/// Characters in `bytes` (UTF-8): the bytes that do not continue a character. Any byte range of a
/// `str` can be counted this way, even one that starts or ends inside a character.
fn chars_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
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
            token_masked: Vec::new(),
            token_masks: std::sync::OnceLock::new(),
            name_masked: Vec::new(),
            name_masks: std::sync::OnceLock::new(),
            redaction_index: std::sync::OnceLock::new(),
            char_blocks: std::sync::OnceLock::new(),
            trimmed_ends: std::sync::OnceLock::new(),
        }
    }

    /// Characters in `text[..offset]`, in time bounded by [`CHAR_BLOCK`].
    fn chars_before(&self, offset: usize) -> usize {
        let blocks = self.char_blocks.get_or_init(|| {
            let mut out = Vec::with_capacity(self.text.len() / CHAR_BLOCK + 1);
            let mut total = 0;
            for block in self.text.as_bytes().chunks(CHAR_BLOCK) {
                out.push(total);
                total += chars_in(block);
            }
            out.push(total);
            out
        });
        let block = offset / CHAR_BLOCK;
        blocks[block] + chars_in(&self.text.as_bytes()[block * CHAR_BLOCK..offset])
    }

    /// Characters in `text[range]`.
    fn chars_between(&self, range: Range<usize>) -> usize {
        if range.len() <= 2 * CHAR_BLOCK {
            return chars_in(&self.text.as_bytes()[range]);
        }
        self.chars_before(range.end) - self.chars_before(range.start)
    }

    /// Where line `index` ends without its trailing whitespace.
    fn trimmed_end(&self, index: usize) -> usize {
        let ends = self.trimmed_ends.get_or_init(|| {
            (0..self.line_starts.len())
                .map(|i| {
                    let r = self.line_range(i);
                    r.start + self.text[r].trim_end().len()
                })
                .collect()
        });
        ends[index]
    }

    /// The redactions that overlap `window`.
    fn redactions_in(&self, window: &Range<usize>) -> Vec<Range<usize>> {
        let (sorted, max_end) = self.redaction_index.get_or_init(|| {
            let mut sorted = self.redactions.clone();
            sorted.sort_by_key(|r| r.start);
            let mut max_end = Vec::with_capacity(sorted.len());
            let mut m = 0;
            for r in &sorted {
                m = m.max(r.end);
                max_end.push(m);
            }
            (sorted, max_end)
        });
        let mut out = Vec::new();
        let mut i = sorted.partition_point(|r| r.start < window.end);
        while i > 0 && max_end[i - 1] > window.start {
            i -= 1;
            if sorted[i].end > window.start {
                out.push(sorted[i].clone());
            }
        }
        out
    }

    /// Mask the lines of `range` (a block) by tokens in snippets.
    pub(crate) fn mask_tokens_in(&mut self, range: Range<usize>) {
        self.token_masked.push(range);
    }

    /// Mask the comments and bare words of the lines of `range` (a block that holds names) in
    /// snippets; its quoted names stay visible.
    pub(crate) fn mask_names_in(&mut self, range: Range<usize>) {
        self.name_masked.push(range);
    }

    fn name_masked_at(&self, offset: usize) -> bool {
        self.name_masked.iter().any(|r| r.contains(&offset))
    }

    fn name_masks(&self) -> &[Range<usize>] {
        self.name_masks.get_or_init(|| {
            let mut m = super::mask::name_masks(&self.text);
            m.sort_by_key(|r| r.start);
            m
        })
    }

    /// Whether the line starting at `offset` is masked by tokens.
    fn token_masked_at(&self, offset: usize) -> bool {
        self.kind == FileKind::VarFile || self.token_masked.iter().any(|r| r.contains(&offset))
    }

    fn token_masks(&self) -> &[Range<usize>] {
        self.token_masks.get_or_init(|| {
            let mut m = match self.kind {
                FileKind::Config => super::mask::masks(&self.text),
                FileKind::VarFile => super::mask::value_masks(&self.text),
            };
            m.sort_by_key(|r| r.start);
            m
        })
    }

    /// The masked text of `window` (part of one line): redactions, and token masks (or name-block
    /// masks) where the line is masked so. Linear in the window and the masks that touch it.
    fn masked_window(&self, line: &Range<usize>, window: Range<usize>) -> String {
        let mut masks = self.redactions_in(&window);
        let last = line.end.saturating_sub(1);
        let all = if self.token_masked_at(line.start) || self.token_masked_at(last) {
            Some(self.token_masks())
        } else if self.name_masked_at(line.start) || self.name_masked_at(last) {
            Some(self.name_masks())
        } else {
            None
        };
        if let Some(all) = all {
            let first = all.partition_point(|r| r.end <= window.start);
            masks.extend(
                all[first..]
                    .iter()
                    .take_while(|r| r.start < window.end)
                    .cloned(),
            );
        }
        masks.sort_by_key(|r| r.start);
        super::mask::apply(&self.text, window, &masks)
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
            column: self.chars_between(start..offset) + 1,
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
            self.redaction_index = std::sync::OnceLock::new();
        }
    }

    fn sort_redactions(&mut self) {
        if !self.redactions_sorted {
            self.redactions.sort_by_key(|r| r.start);
            self.redactions_sorted = true;
        }
    }

    /// The snippet for a span: its first line, masked, with the underline clipped to that line.
    /// A line longer than [`MAX_SHOWN_LINE`] characters is cut to a window around the span, and
    /// only the window is masked and counted: a diagnostic costs the same on a 16 MiB line as on
    /// a short one.
    pub(crate) fn snippet(&self, range: Range<usize>) -> Snippet {
        let start = self.clamp(range.start);
        let end = self.clamp(range.end.max(range.start));
        let li = self.line_index(start);
        let line = self.line_range(li);
        let trimmed = self.trimmed_end(li);
        let caret = start.min(trimmed).max(line.start);
        let (window, cut) = self.window(line.start..trimmed, caret);
        let text = self.masked_window(&line, window.clone());
        let column = self.chars_between(window.start..caret) + 1;
        let end_on_line = end.min(window.end);
        let width = if end_on_line > start {
            self.chars_between(start..end_on_line)
        } else {
            1
        };
        Snippet {
            text,
            column,
            width,
            cut,
        }
    }

    /// The part of `line` (trailing whitespace excluded) shown around `caret`: the whole line if
    /// it has at most [`MAX_SHOWN_LINE`] characters, else that many from a third of them before
    /// the caret; and whether it was cut at its start and its end.
    fn window(&self, line: Range<usize>, caret: usize) -> (Range<usize>, (bool, bool)) {
        let text = &self.text[line.clone()];
        if text.char_indices().nth(MAX_SHOWN_LINE).is_none() {
            return (line, (false, false));
        }
        let before = &self.text[line.start..caret];
        let start = before
            .char_indices()
            .rev()
            .nth(MAX_SHOWN_LINE / 3 - 1)
            .map_or(line.start, |(i, _)| line.start + i);
        let end = self.text[start..line.end]
            .char_indices()
            .nth(MAX_SHOWN_LINE)
            .map_or(line.end, |(i, _)| start + i);
        (start..end, (start > line.start, end < line.end))
    }

    /// A snippet for a syntax error, where the tokens after the error cannot be trusted: the line
    /// up to the error, masked by tokens (the file lexed up to the error). Variable files show no
    /// line at all.
    pub(crate) fn syntax_error_snippet(&self, offset: usize) -> Option<Snippet> {
        if self.kind == FileKind::VarFile {
            return None;
        }
        let offset = self.clamp(offset);
        let li = self.line_index(offset);
        let line = self.line_range(li);
        let shown = line.start..offset.min(line.end).max(line.start);
        let prefix = &self.text[..shown.end];
        let mut masks = super::mask::masks(prefix);
        masks.sort_by_key(|r| r.start);
        let text = super::mask::apply(prefix, shown.clone(), &masks);
        let column = text.chars().count() + 1;
        Some(Snippet {
            text,
            column,
            width: 1,
            cut: (false, false),
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
            kind: None,
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
    fn syntax_error_lines_are_shown_up_to_the_error_and_masked() {
        let f = SourceFile::new(
            "m.hcl".into(),
            "x = \"a\\\"b c\" + bare_secret\" tail-secret\n".into(),
            FileKind::Config,
        );
        let s = f.syntax_error_snippet(14).unwrap();
        assert_eq!(s.text, "x = \"**** *\" +");
        assert_eq!(s.column, 15);
        // An error after a stray quote: the rest of the line is not shown at all.
        let s = f.syntax_error_snippet(28).unwrap();
        assert!(!s.text.contains("secret"), "{}", s.text);
    }

    #[test]
    fn blocks_that_can_hold_secrets_are_masked_by_tokens() {
        let text = "variable \"pw\" {\n  defualt = hunter2\n}\nprovider \"tencentcloud\" {\n  region = \"ap-guangzhou\"\n}\n";
        let mut f = SourceFile::new("m.hcl".into(), text.into(), FileKind::Config);
        f.mask_tokens_in(0..34);
        let s = f.snippet(17..24);
        assert_eq!(s.text, "  defualt = *******");
        let at = text.find("region").unwrap();
        assert_eq!(f.snippet(at..at + 6).text, "  region = \"ap-guangzhou\"");
    }
}
