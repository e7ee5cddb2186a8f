//! `ssmform fmt`: the canonical layout of configuration files.
//!
//! Like Terraform's formatter (`hclwrite`), this works on tokens and changes only whitespace:
//! two spaces of indentation per level of brackets opened on earlier lines, one space between
//! tokens except where HCL style has none (`f(x)`, `a.b`, `[1, 2]`, `-x`), `=` aligned across
//! consecutive attribute lines, trailing comments aligned across consecutive lines, no trailing
//! whitespace, at most one blank line in a row and none just inside brackets, one line break at
//! the end. Tokens are never changed, reordered, joined or split, so comments are kept where
//! they are, strings and heredocs stay byte for byte, and formatting twice changes nothing.
//!
//! As a safety net every result is parsed again and compared with the original, ignoring
//! whitespace and comments; if they differ (a bug in `fmt_lexer`), the file is left alone with an
//! error rather than rewritten.

use std::path::Path;

use super::diagnostics::{Diagnostic, Diagnostics, Severity};
use super::fmt_lexer::{Kind, Token, lex};
use super::source::{FileKind, SourceFile, Sources};

/// Formats one file's text. `display` names the file in diagnostics (syntax errors).
///
/// The result has LF line breaks only, heredoc bodies and block comments included (whose line
/// breaks are part of their tokens, so a CRLF file used to come out mixed). A leading byte-order
/// mark is kept.
pub fn format_source(display: &Path, text: &str) -> Result<String, Diagnostics> {
    let (bom, text) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    };
    let lf;
    let text = if text.contains("\r\n") {
        lf = text.replace("\r\n", "\n");
        lf.as_str()
    } else {
        text
    };
    let formatted = format_lf(display, text)?;
    Ok(format!("{bom}{formatted}"))
}

/// Formats text whose line breaks are LF.
fn format_lf(display: &Path, text: &str) -> Result<String, Diagnostics> {
    let mut sources = Sources::default();
    // A value file's lines are never shown, not even masked: its every value may be a secret.
    let kind = if display.to_string_lossy().ends_with(".vars.hcl") {
        FileKind::VarFile
    } else {
        FileKind::Config
    };
    let file = sources.add(SourceFile::new(
        display.to_path_buf(),
        text.to_string(),
        kind,
    ));
    let original = super::load::parse(&sources, file)
        .map_err(|d| Diagnostics::from(sources.materialize(d)))?;
    let internal = |why: &str| {
        Diagnostics::from(Diagnostic::without_location(
            Severity::Error,
            display.display().to_string(),
            format!(
                "cannot format {}: {why}; the file is left unchanged (please report this)",
                display.display()
            ),
        ))
    };
    let tokens = lex(text).map_err(|_| internal("the formatter could not split it into tokens"))?;
    let formatted = layout(&tokens);
    let mut check = Sources::default();
    let f2 = check.add(SourceFile::new(
        display.to_path_buf(),
        formatted.clone(),
        FileKind::Config,
    ));
    let reparsed = super::load::parse(&check, f2)
        .map_err(|_| internal("the formatted text does not parse"))?;
    if hcl::Body::from(original) != hcl::Body::from(reparsed) {
        return Err(internal("formatting would change its meaning"));
    }
    Ok(formatted)
}

/// One line of tokens (no line breaks between them, though a heredoc or block comment may span
/// several lines of text).
struct Line<'a> {
    tokens: Vec<Token<'a>>,
    indent: usize,
    /// Per token: whether a space precedes it.
    spaces: Vec<bool>,
    /// Index of the `=` of an attribute whose value ends on this line.
    assign: Option<usize>,
    /// Index of a trailing line comment.
    comment: Option<usize>,
}

impl Line<'_> {
    fn is_blank(&self) -> bool {
        self.tokens.is_empty()
    }

    fn net_brackets(&self) -> i32 {
        self.tokens.iter().map(Token::bracket_change).sum()
    }

    fn starts_with_closer(&self) -> bool {
        self.tokens.first().is_some_and(|t| t.bracket_change() < 0)
    }

    fn has_multiline_token(&self) -> bool {
        self.tokens.iter().any(Token::is_multiline)
    }

    /// Width in characters of tokens `..end` with their spaces (indentation included).
    fn width(&self, end: usize) -> usize {
        let mut w = self.indent * 2;
        for i in 0..end {
            if i > 0 && self.spaces[i] {
                w += 1;
            }
            w += self.tokens[i].text.chars().count();
        }
        w
    }
}

/// Lays tokens out in canonical form.
fn layout(tokens: &[Token]) -> String {
    let mut lines = split_lines(tokens);
    drop_extra_blank_lines(&mut lines);
    indent(&mut lines);
    spacing(&mut lines);
    let assign_pad = align(&lines, |l| l.assign);
    let comment_pad = {
        // Comment columns depend on where `=` ends up, so compute them after it.
        let widths: Vec<Option<usize>> = lines
            .iter()
            .zip(&assign_pad)
            .map(|(l, pad)| l.comment.map(|c| l.width(c) + pad.unwrap_or(0)))
            .collect();
        align_widths(&lines, &widths)
    };
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.is_blank() {
            out.push('\n');
            continue;
        }
        out.push_str(&"  ".repeat(line.indent));
        for (j, t) in line.tokens.iter().enumerate() {
            if j > 0 {
                let mut n = usize::from(line.spaces[j]);
                if line.assign == Some(j) {
                    n += assign_pad[i].unwrap_or(0);
                }
                if line.comment == Some(j) {
                    n += comment_pad[i].unwrap_or(0);
                }
                out.push_str(&" ".repeat(n));
            }
            out.push_str(t.text);
        }
        out.push('\n');
    }
    out
}

fn split_lines<'a>(tokens: &[Token<'a>]) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let mut cur = Vec::new();
    for t in tokens {
        if t.kind == Kind::Newline {
            lines.push(std::mem::take(&mut cur));
        } else {
            cur.push(*t);
        }
    }
    lines.push(cur);
    lines
        .into_iter()
        .map(|tokens| Line {
            spaces: vec![false; tokens.len()],
            tokens,
            indent: 0,
            assign: None,
            comment: None,
        })
        .collect()
}

/// At most one blank line in a row; none at the start or end of the file, just after a line
/// that opens brackets, or just before a line that closes them.
fn drop_extra_blank_lines(lines: &mut Vec<Line>) {
    let mut kept: Vec<Line> = Vec::with_capacity(lines.len());
    for line in lines.drain(..) {
        if line.is_blank() {
            let prev_blank_or_start = kept.last().is_none_or(Line::is_blank);
            let after_opener = kept.last().is_some_and(|l| l.net_brackets() > 0);
            if prev_blank_or_start || after_opener {
                continue;
            }
        } else if line.starts_with_closer() && kept.last().is_some_and(Line::is_blank) {
            kept.pop();
        }
        kept.push(line);
    }
    while kept.last().is_some_and(Line::is_blank) {
        kept.pop();
    }
    *lines = kept;
}

/// Indentation as `hclwrite` computes it: a line with more opening than closing brackets
/// indents the following lines one level (however many brackets it opens); closing brackets
/// dedent by the levels they close, starting with their own line.
fn indent(lines: &mut [Line]) {
    let mut stack: Vec<i32> = Vec::new();
    for line in lines.iter_mut() {
        if line.is_blank() {
            continue;
        }
        let net = line.net_brackets();
        if net > 0 {
            line.indent = stack.len();
            stack.push(net);
        } else if net < 0 {
            let mut closed = -net;
            while closed > 0 {
                let Some(top) = stack.last_mut() else { break };
                if closed >= *top {
                    closed -= *top;
                    stack.pop();
                } else {
                    *top -= closed;
                    closed = 0;
                }
            }
            line.indent = stack.len();
        } else {
            line.indent = stack.len();
        }
    }
}

/// Decides the spaces between tokens and finds each line's `=` and trailing comment.
fn spacing(lines: &mut [Line]) {
    // Per open bracket: its kind, whether it is a for-expression, and how many `?` wait for
    // their `:`; used to tell an object's `key: value` colon from a conditional's.
    let mut brackets: Vec<Bracket> = Vec::new();
    for line in lines.iter_mut() {
        let n = line.tokens.len();
        for i in 0..n {
            let t = line.tokens[i];
            let before = if i > 0 {
                Some(line.tokens[i - 1])
            } else {
                None
            };
            if i > 0 {
                let before_before = if i > 1 {
                    Some(line.tokens[i - 2])
                } else {
                    None
                };
                let object_colon = t.is(":") && is_object_colon(&brackets);
                line.spaces[i] =
                    space_between(before.expect("i > 0"), before_before, t, object_colon);
            }
            // Track brackets and `?`/`:` pairs.
            if t.bracket_change() > 0 {
                brackets.push(Bracket {
                    brace: t.is("{"),
                    is_for: false,
                    questions: 0,
                });
            } else if t.bracket_change() < 0 {
                brackets.pop();
            } else if t.kind == Kind::Ident
                && t.text == "for"
                && before.is_some_and(|b| b.is("[") || b.is("{"))
            {
                if let Some(b) = brackets.last_mut() {
                    b.is_for = true;
                }
            } else if t.is("?") {
                if let Some(b) = brackets.last_mut() {
                    b.questions += 1;
                }
            } else if t.is(":")
                && let Some(b) = brackets.last_mut()
            {
                b.questions = b.questions.saturating_sub(1);
            }
        }
        // A trailing comment.
        if n > 1 && line.tokens[n - 1].kind == Kind::LineComment {
            line.comment = Some(n - 1);
        }
        // An attribute (or object item) whose value ends on this line.
        let end = line.comment.unwrap_or(n);
        if let Some(eq) = (1..end).find(|&i| line.tokens[i].is("=")) {
            let net: i32 = line.tokens[eq..end].iter().map(Token::bracket_change).sum();
            if net == 0 {
                line.assign = Some(eq);
            }
        }
    }
}

struct Bracket {
    brace: bool,
    is_for: bool,
    questions: usize,
}

/// A colon outside brackets belongs to a conditional; inside braces that are not a
/// for-expression, with no `?` waiting, it separates an object key from its value.
fn is_object_colon(brackets: &[Bracket]) -> bool {
    brackets
        .last()
        .is_some_and(|b| b.brace && !b.is_for && b.questions == 0)
}

fn is_keyword(t: &Token) -> bool {
    t.kind == Kind::Ident && matches!(t.text, "in" | "if" | "for" | "else")
}

/// Whether one space separates `prev` and `next` (`prev_prev` comes before `prev`).
fn space_between(prev: Token, prev_prev: Option<Token>, next: Token, object_colon: bool) -> bool {
    use Kind::*;
    if next.kind == LineComment || next.kind == BlockComment || prev.kind == BlockComment {
        return true;
    }
    if prev.is("::") || next.is("::") {
        return false;
    }
    if prev.kind == Ident && next.is("(") && !is_keyword(&prev) {
        return false; // a function call: f(x)
    }
    if prev.is(".") || next.is(".") {
        return false; // attribute access: a.b, a.*
    }
    if next.is(",") || next.is("...") {
        return false;
    }
    if prev.is(",") {
        return true;
    }
    if next.is(":") && object_colon {
        return false; // { "key": value }
    }
    if prev.is("-") {
        // Negation, unless the token before the minus ends an operand.
        return match prev_prev {
            None => false,
            Some(pp) => match pp.kind {
                Ident => !is_keyword(&pp),
                Number | Quoted | Heredoc => true,
                Punct => matches!(pp.text, ")" | "]" | "}"),
                _ => false,
            },
        };
    }
    if prev.is("!") {
        return false;
    }
    if prev.is("{") || next.is("}") {
        return !(prev.is("{") && next.is("}")); // { a = 1 }, but {}
    }
    if prev.bracket_change() > 0 {
        return false; // [1, (x
    }
    if next.bracket_change() < 0 {
        return false; // 1], x)
    }
    if next.is("[")
        && (matches!(prev.kind, Ident | Quoted) && !is_keyword(&prev)
            || prev.is("]")
            || prev.is(")"))
    {
        return false; // an index: a[0], f(x)[0]
    }
    if prev.is("*") && prev_prev.is_some_and(|pp| pp.is("[") || pp.is(".")) {
        return false; // a[*].b
    }
    true
}

/// Per line, the extra spaces that align the marked token of consecutive lines.
fn align(lines: &[Line], mark: impl Fn(&Line) -> Option<usize>) -> Vec<Option<usize>> {
    let widths: Vec<Option<usize>> = lines.iter().map(|l| mark(l).map(|i| l.width(i))).collect();
    align_widths(lines, &widths)
}

/// Groups runs of consecutive lines that have a width (a run ends at a line without one, or
/// after a line holding a multi-line token) and pads each to the run's widest.
fn align_widths(lines: &[Line], widths: &[Option<usize>]) -> Vec<Option<usize>> {
    let mut pads = vec![None; lines.len()];
    let mut start = 0;
    while start < lines.len() {
        if widths[start].is_none() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < lines.len() && widths[end].is_some() {
            end += 1;
            if lines[end - 1].has_multiline_token() {
                break;
            }
        }
        let max = (start..end).filter_map(|i| widths[i]).max().unwrap_or(0);
        for i in start..end {
            pads[i] = widths[i].map(|w| max - w);
        }
        start = end;
    }
    pads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        format_source(Path::new("t.hcl"), src).unwrap_or_else(|d| panic!("{d}"))
    }

    #[test]
    fn aligns_and_indents() {
        let src = "secret \"a\" {\nsecret_name=\"x\"\n    version_id = \"v1\"\n\n\n  secret_string=jsonencode({a=1,bb=[1,2]})\n}\n";
        assert_eq!(
            fmt(src),
            "secret \"a\" {\n  secret_name = \"x\"\n  version_id  = \"v1\"\n\n  secret_string = jsonencode({ a = 1, bb = [1, 2] })\n}\n"
        );
    }

    #[test]
    fn keeps_comments_and_aligns_trailing_ones() {
        let src = "# head\nlocals {\n  a = 1 # one\n  bbb = 2    // two\n  /* block */\n  c = [1, /* inline */ 2]\n}\n";
        assert_eq!(
            fmt(src),
            "# head\nlocals {\n  a   = 1 # one\n  bbb = 2 // two\n  /* block */\n  c = [1, /* inline */ 2]\n}\n"
        );
    }

    #[test]
    fn multi_line_values_indent_once_per_line() {
        let src = "locals {\nx = jsonencode({\na = [\n1,\n2,\n]\n})\ny = 2\n}\n";
        assert_eq!(
            fmt(src),
            "locals {\n  x = jsonencode({\n    a = [\n      1,\n      2,\n    ]\n  })\n  y = 2\n}\n"
        );
    }

    #[test]
    fn operators_and_for_expressions() {
        let src = "locals {\na = -1+2*-x\nb = [for k,v in var.m: \"${k}\" if v!=null]\nc = {for k in var.l: k=>upper(k)...}\nd = var.x ? \"a\" : \"b\"\ne = {\"k\": 1}\nf = !var.b\ng = var.l[*].n\nh = f(var.l...)\n}\n";
        assert_eq!(
            fmt(src),
            "locals {\n  a = -1 + 2 * -x\n  b = [for k, v in var.m : \"${k}\" if v != null]\n  c = { for k in var.l : k => upper(k)... }\n  d = var.x ? \"a\" : \"b\"\n  e = { \"k\": 1 }\n  f = !var.b\n  g = var.l[*].n\n  h = f(var.l...)\n}\n"
        );
    }

    #[test]
    fn heredocs_are_untouched() {
        let src =
            "locals {\n    x = <<-EOT\n      keep   this\n        and this  \n    EOT\n  y=1\n}\n";
        let out = fmt(src);
        assert!(
            out.contains("<<-EOT\n      keep   this\n        and this  \n    EOT\n"),
            "{out}"
        );
        assert!(out.contains("\n  y = 1\n"), "{out}");
    }

    #[test]
    fn syntax_errors_are_diagnostics() {
        let e = format_source(Path::new("t.hcl"), "a = \n").unwrap_err();
        assert!(e.has_errors());
    }
}
