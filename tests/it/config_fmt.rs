//! `fmt`: canonical output, comments kept, idempotent, and meaning unchanged — on a deliberately
//! messy file (snapshot) and on every fixture of the repository.

use std::path::Path;

use ssmform::config::fmt::format_source;

use crate::support::config::{FIXTURES, snapshot_settings};

fn format(text: &str) -> String {
    format_source(Path::new("t.hcl"), text).unwrap_or_else(|d| panic!("{d}"))
}

/// The comments of a text, in order (a scanner good enough for these files: it skips strings
/// and heredoc bodies are compared as whole lines elsewhere).
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let mut in_string = false;
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if in_block {
                if c == '*' && chars.get(i + 1) == Some(&'/') {
                    in_block = false;
                    out.push("*/".to_string());
                    i += 1;
                }
            } else if in_string {
                if c == '\\' {
                    i += 1;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '"' {
                in_string = true;
            } else if c == '#' || (c == '/' && chars.get(i + 1) == Some(&'/')) {
                out.push(chars[i..].iter().collect::<String>().trim_end().to_string());
                break;
            } else if c == '/' && chars.get(i + 1) == Some(&'*') {
                in_block = true;
                out.push("/*".to_string());
                i += 1;
            }
            i += 1;
        }
    }
    out
}

#[test]
fn messy_file_formats_canonically() {
    let src = std::fs::read_to_string(format!("{FIXTURES}/fmt/messy.hcl")).unwrap();
    let out = format(&src);
    assert_eq!(
        comments(&out),
        comments(&src),
        "comments are kept, in order"
    );
    assert_eq!(format(&out), out, "formatting is idempotent");
    snapshot_settings().bind(|| insta::assert_snapshot!("config__fmt__messy", out));
}

#[test]
fn heredoc_bodies_are_kept_byte_for_byte() {
    let src = "locals {\n      x = <<-EOT\n      keep    this    spacing  \n        exactly\n    EOT\n}\n";
    let out = format(src);
    assert!(
        out.contains("<<-EOT\n      keep    this    spacing  \n        exactly\n    EOT\n"),
        "{out}"
    );
}

#[test]
fn alignment_breaks_at_blank_lines_comments_and_multi_line_values() {
    let src = "locals {\na = 1\nbbb = 2\n\ncc = 3\n# c\nd = 4\neeeee = {\nx = 1\n}\nf = 5\n}\n";
    assert_eq!(
        format(src),
        "locals {\n  a   = 1\n  bbb = 2\n\n  cc = 3\n  # c\n  d = 4\n  eeeee = {\n    x = 1\n  }\n  f = 5\n}\n"
    );
}

#[test]
fn windows_line_endings_and_tabs_become_canonical() {
    assert_eq!(
        format("locals {\r\n\ta = 1\r\n}\r\n"),
        "locals {\n  a = 1\n}\n"
    );
}

#[test]
fn already_canonical_files_are_unchanged() {
    let canonical = "provider \"tencentcloud\" {\n  region = \"ap-guangzhou\"\n}\n\nsecret \"a\" {\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = jsonencode({ a = [1, 2], b = upper(\"x\") })\n}\n";
    assert_eq!(format(canonical), canonical);
}

#[test]
fn every_fixture_file_round_trips() {
    let mut checked = 0;
    for kind in ["valid", "invalid", "fmt"] {
        let mut stack = vec![std::path::PathBuf::from(format!("{FIXTURES}/{kind}"))];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                if p.extension().is_none_or(|e| e != "hcl") {
                    continue;
                }
                let Ok(src) = std::fs::read_to_string(&p) else {
                    continue;
                };
                // Files with syntax errors are reported, not formatted.
                let Ok(out) = format_source(&p, &src) else {
                    continue;
                };
                assert_eq!(comments(&out), comments(&src), "{}", p.display());
                assert_eq!(format(&out), out, "{} is not idempotent", p.display());
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "only {checked} files checked");
}
