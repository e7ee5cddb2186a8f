//! Masking source lines by tokens: which characters of a line a diagnostic may show.
//!
//! A line shown from a variable file, or from a block that can hold a secret (`variable`,
//! `locals`, `secret`, or a block ssmform does not know), has every literal masked: quoted strings
//! and templates (between their quotes), heredoc bodies, numbers, comments, stray characters, and
//! bare words that are neither keywords nor references. What stays visible is the structure a
//! reader needs to find the problem: attribute and block names, block labels, the names of
//! ssmform's (and Terraform's) functions, references (`var.x`, `local.y.z`), keywords and punctuation.
//!
//! In a variable file, which has no blocks, block labels are values too ([`value_masks`]).
//!
//! The masks come from [`super::fmt_lexer`]'s tokens, not from patterns, so a value written
//! without quotes, in a heredoc, or after a stray quote is masked as well as a quoted one. For a
//! syntax error, where the tokens after the error cannot be trusted, the file is lexed only up to
//! the error and the line is shown only up to it; if lexing stops earlier (an unterminated string
//! or heredoc), everything from there on is masked.

use std::ops::Range;

use super::fmt_lexer::{Kind, Token, lex};

/// Words that are part of HCL's syntax or its type constraints, never values.
const KEYWORDS: &[&str] = &[
    "true", "false", "null", "for", "in", "if", "else", "endif", "endfor", "string", "number",
    "bool", "any", "list", "map", "set", "object", "tuple",
];

/// Names that start a reference. Words after them (`var.name`) are declaration names, shown.
const ROOTS: &[&str] = &[
    "var",
    "local",
    "secret",
    "data",
    "each",
    "count",
    "path",
    "self",
    "terraform",
    "module",
];

/// The byte ranges of `text` to mask. When lexing fails at some offset (an unterminated string,
/// heredoc or comment), everything from that offset to the end is masked.
pub(crate) fn masks(text: &str) -> Vec<Range<usize>> {
    masks_with(text, true, false)
}

/// [`masks`] for a variable file: it has no blocks, so a quoted string in the place of a block
/// label is a value like any other (`credentials "hunter2" {`), masked.
pub(crate) fn value_masks(text: &str) -> Vec<Range<usize>> {
    masks_with(text, false, false)
}

/// [`masks`] for a block that holds names (the provider, a data source): quoted strings,
/// heredocs and numbers are names or settings and stay visible; comments, bare words and stray
/// characters — where a careless line holds a secret (`rate_share = 2 # old key: ...`,
/// `secret_name = hunter2`) — are masked.
pub(crate) fn name_masks(text: &str) -> Vec<Range<usize>> {
    masks_with(text, true, true)
}

fn masks_with(text: &str, labels_shown: bool, literals_shown: bool) -> Vec<Range<usize>> {
    let (tokens, failed_at) = match lex(text) {
        Ok(t) => (t, None),
        Err(at) => (lex_prefix(text, at), Some(at)),
    };
    let mut out = Vec::new();
    let base = text.as_ptr() as usize;
    let offset = |t: &Token| t.text.as_ptr() as usize - base;
    // The nearest token before and after each one that is not a newline, found in one pass each
    // way (searching from every token would be quadratic in a run of blank lines).
    let mut prev_of: Vec<Option<usize>> = Vec::with_capacity(tokens.len());
    let mut last = None;
    for (i, t) in tokens.iter().enumerate() {
        prev_of.push(last);
        if !matches!(t.kind, Kind::Newline) {
            last = Some(i);
        }
    }
    let mut next_of: Vec<Option<usize>> = vec![None; tokens.len()];
    let mut following = None;
    for (i, t) in tokens.iter().enumerate().rev() {
        next_of[i] = following;
        if !matches!(t.kind, Kind::Newline) {
            following = Some(i);
        }
    }
    let next = |i: usize| next_of[i].map(|j| &tokens[j]);
    let prev = |i: usize| prev_of[i].map(|j| &tokens[j]);
    // Whether the current traversal started at a reference root.
    let mut in_reference = false;
    // Open brackets: true for an expression (an object, a list, arguments), false for a block
    // body. `name =` in a block body is an attribute; in an object it is a key, part of a value.
    let mut nesting: Vec<bool> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let start = offset(t);
        let end = start + t.text.len();
        let after_dot = prev(i).is_some_and(|p| p.is("."));
        let shown = match t.kind {
            Kind::Newline | Kind::Punct => {
                if !(t.is(".") || t.is("[") || t.is("]")) {
                    in_reference = false;
                }
                if t.is("{") {
                    let block = prev(i).is_some_and(|p| {
                        p.kind == Kind::Quoted
                            || (p.kind == Kind::Ident && !KEYWORDS.contains(&p.text))
                    }) && !nesting.last().copied().unwrap_or(false);
                    nesting.push(!block);
                } else if t.is("[") || t.is("(") {
                    nesting.push(true);
                } else if t.bracket_change() < 0 {
                    nesting.pop();
                }
                true
            }
            Kind::Ident => {
                let word = t.text;
                if after_dot {
                    in_reference
                } else if KEYWORDS.contains(&word) {
                    true
                } else if ROOTS.contains(&word) {
                    in_reference = true;
                    true
                } else {
                    in_reference = false;
                    let in_expression = nesting.last().copied().unwrap_or(false);
                    // An attribute name or a block type (in a block body), or the name of one of
                    // ssmform's or Terraform's functions (any other word before `(` may be a
                    // value typed without quotes: `p4ss(w0rd)`).
                    next(i).is_some_and(|n| {
                        (n.is("(") && super::functions::is_known_name(word))
                            || (!in_expression
                                && (n.is("=") || n.is("{") || n.kind == Kind::Quoted))
                            // In a block that holds names, an object's keys are names too
                            // (`rate_limits = { UpdateSecret = 20 }`).
                            || (literals_shown && in_expression && (n.is("=") || n.is(":")))
                    })
                }
            }
            Kind::Quoted => {
                // A block label (`secret "db" {`) is a name; any other string is a value.
                let label = labels_shown
                    && next(i).is_some_and(|n| n.is("{") || n.kind == Kind::Quoted)
                    && prev(i).is_some_and(|p| p.kind == Kind::Ident || p.kind == Kind::Quoted);
                if !label && !literals_shown && t.text.len() > 2 {
                    template(&t.text[1..t.text.len() - 1], start + 1, &mut out);
                }
                continue;
            }
            Kind::Heredoc if literals_shown => continue,
            Kind::Heredoc => {
                // Keep the `<<EOT` introducer and the closing line; mask the body's text.
                let body = t.text.find('\n').map_or(t.text.len(), |n| n + 1);
                let close = t
                    .text
                    .trim_end_matches(['\n', '\r'])
                    .rfind('\n')
                    .map_or(body, |n| n + 1);
                if close > body {
                    template(&t.text[body..close], start + body, &mut out);
                }
                continue;
            }
            Kind::LineComment | Kind::BlockComment => {
                let mark = if t.text.starts_with('#') { 1 } else { 2 };
                out.push(start + mark.min(t.text.len())..end);
                continue;
            }
            Kind::Number => literals_shown,
            Kind::Other => false,
        };
        if !shown {
            out.push(start..end);
        }
    }
    if let Some(at) = failed_at {
        out.push(at..text.len());
    }
    out
}

/// Masks for a template's text at `base`: its literal text masked; the expressions in its
/// `${...}` interpolations and `%{...}` directives masked as any expression is (so references
/// stay visible).
fn template(text: &str, base: usize, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut literal_start = 0;
    let mut i = 0;
    while i < b.len() {
        let opens = (b[i] == b'$' || b[i] == b'%') && b.get(i + 1) == Some(&b'{');
        // `$${` and `%%{` are escapes: literal text.
        if opens && i > 0 && b[i - 1] == b[i] {
            i += 2;
            continue;
        }
        if !opens {
            i += 1;
            continue;
        }
        let Some(close) = matching_brace(b, i + 1) else {
            break;
        };
        if literal_start < i {
            out.push(base + literal_start..base + i);
        }
        let inner = &text[i + 2..close];
        for m in masks(inner) {
            out.push(base + i + 2 + m.start..base + i + 2 + m.end);
        }
        i = close + 1;
        literal_start = i;
    }
    if literal_start < b.len() {
        out.push(base + literal_start..base + b.len());
    }
}

/// The index of the `}` closing the `{` at `open`, skipping nested braces and quoted strings.
fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'{' if !in_string => depth += 1,
            b'}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The tokens before `at`, where lexing the whole text failed.
fn lex_prefix(text: &str, at: usize) -> Vec<Token<'_>> {
    let mut cut = at.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    lex(&text[..cut]).unwrap_or_default()
}

/// `line` (a range of `text`) with the characters inside `masks` (sorted by start, possibly
/// overlapping) replaced by `*`, whitespace kept. Linear in the line's length plus the masks that
/// touch it.
pub(crate) fn apply(text: &str, line: Range<usize>, masks: &[Range<usize>]) -> String {
    let first = masks.partition_point(|m| m.end <= line.start);
    let mut active = masks[first..].iter().peekable();
    let mut covered_until = 0usize;
    let mut out = String::with_capacity(line.len());
    for (i, c) in text[line.clone()].char_indices() {
        let at = line.start + i;
        while let Some(m) = active.peek() {
            if m.start > at {
                break;
            }
            covered_until = covered_until.max(m.end);
            active.next();
        }
        if at < covered_until && !c.is_whitespace() {
            out.push('*');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        let mut m = masks(text);
        m.sort_by_key(|r| r.start);
        apply(text, 0..text.len(), &m)
    }

    #[test]
    fn blocks_that_hold_names_show_names_and_mask_comments_and_bare_words() {
        let text = "data \"ssm_secret\" \"d\" {\n  secret_name = \"db-password\" # was hunter2\n  \
                    version_id = hunter3 /* hunter4 */\n  rate_share = 2\n  x = p4ss(w0rd)\n  \
                    y = file(\"a\")\n  rate_limits = { UpdateSecret = 20, hunter5 }\n}";
        let mut m = name_masks(text);
        m.sort_by_key(|r| r.start);
        assert_eq!(
            apply(text, 0..text.len(), &m),
            "data \"ssm_secret\" \"d\" {\n  secret_name = \"db-password\" # *** *******\n  \
             version_id = ******* /* ******* **\n  rate_share = 2\n  x = ****(****)\n  \
             y = file(\"a\")\n  rate_limits = { UpdateSecret = 20, ******* }\n}"
        );
    }

    #[test]
    fn literals_are_masked_and_structure_is_kept() {
        assert_eq!(masked(r#"default = "hunter2""#), r#"default = "*******""#);
        assert_eq!(masked("default = hunter2"), "default = *******");
        assert_eq!(masked("default = 123456"), "default = ******");
        assert_eq!(
            masked("value = var.db_password # old: hunter2"),
            "value = var.db_password # **** *******"
        );
        assert_eq!(
            masked(r#"secret_string = upper("a-b") == local.x.y"#),
            r#"secret_string = upper("***") == local.x.y"#
        );
        assert_eq!(
            masked(r#"variable "db_password" {"#),
            r#"variable "db_password" {"#
        );
        assert_eq!(masked("x = hunter2.foo.bar"), "x = *******.***.***");
        assert_eq!(
            masked("x = [true, null, s3cr3t]"),
            "x = [true, null, ******]"
        );
    }

    #[test]
    fn object_keys_are_values_but_attribute_names_are_not() {
        assert_eq!(
            masked("users = { alice = \"pw\" }\nblock {\n  name = 1\n}"),
            "users = { ***** = \"**\" }\nblock {\n  name = *\n}"
        );
        assert_eq!(
            masked("secret \"x\" {\n  secret_string = jsonencode({ k = v })\n}"),
            "secret \"x\" {\n  secret_string = jsonencode({ * = * })\n}"
        );
    }

    #[test]
    fn only_known_functions_are_shown_before_a_parenthesis() {
        assert_eq!(masked("default = p4ssw0rd(x)"), "default = ********(*)");
        assert_eq!(
            masked(r#"x = jsonencode({ a = upper("b") })"#),
            r#"x = jsonencode({ * = upper("*") })"#
        );
    }

    #[test]
    fn labels_are_names_except_in_variable_files() {
        let text = "credentials \"hunter2\" {\n  key = 1\n}";
        assert_eq!(masked(text), "credentials \"hunter2\" {\n  key = *\n}");
        let mut m = value_masks(text);
        m.sort_by_key(|r| r.start);
        assert_eq!(
            apply(text, 0..text.len(), &m),
            "credentials \"*******\" {\n  key = *\n}"
        );
    }

    #[test]
    fn heredoc_bodies_are_masked() {
        let text = "x = <<EOT\npassword: hunter2\nEOT\n";
        let m = {
            let mut m = masks(text);
            m.sort_by_key(|r| r.start);
            m
        };
        assert_eq!(apply(text, 0..9, &m), "x = <<EOT");
        assert_eq!(apply(text, 10..27, &m), "********* *******");
    }

    #[test]
    fn references_in_templates_stay_visible() {
        assert_eq!(
            masked(r#"x = "pw-${var.db_password}-s3cr3t""#),
            r#"x = "***${var.db_password}*******""#
        );
        assert_eq!(
            masked(r#"x = "%{ if var.on }yes%{ endif }""#),
            r#"x = "%{ if var.on }***%{ endif }""#
        );
        assert_eq!(masked(r#"x = "$${not} s3cr3t""#), r#"x = "******* ******""#);
    }

    #[test]
    fn a_string_whose_interpolation_does_not_end_is_masked_whole() {
        let text = "x = \"hunter2 ${ var.y s3cr3t";
        assert_eq!(masked(text), "x = ******** ** ***** ******");
    }

    #[test]
    fn text_after_a_stray_quote_is_masked() {
        assert_eq!(masked("x = \"ok\" + \"hunter2"), "x = \"**\" + ********");
    }
}
