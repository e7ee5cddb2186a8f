//! dotenv: sops' line format. `KEY=value` (split at the first `=`, nothing trimmed, `\n` in a
//! value is a newline), `#comment` lines, empty lines skipped; every value is a string.

use zeroize::Zeroizing;

use crate::sops::error::SopsError;
use crate::sops::tree::{Branch, Comment, Document, Item, Node, Pos, Scalar, ScalarType};
use crate::sops::value;

/// Parse a dotenv file.
pub fn parse(text: &[u8], file: &str) -> Result<Document, SopsError> {
    let mut branch = Branch::new();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let pos = Pos::new(n + 1, 1);
        if line[0] == b'#' {
            let mut c = Comment::new(line[1..].to_vec());
            c.pos = Some(pos);
            branch.items.push(Item::Comment(c));
            continue;
        }
        let Some(eq) = line.iter().position(|b| *b == b'=') else {
            return Err(SopsError::syntax(
                file,
                Some(pos),
                "invalid dotenv line: expected KEY=value",
            ));
        };
        let key = String::from_utf8_lossy(&line[..eq]).into_owned();
        let raw = &line[eq + 1..];
        let mut v = Zeroizing::new(Vec::with_capacity(raw.len()));
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'\\' && raw.get(i + 1) == Some(&b'n') {
                v.push(b'\n');
                i += 2;
            } else {
                v.push(raw[i]);
                i += 1;
            }
        }
        branch.items.push(Item::Entry {
            key,
            value: Node::Scalar(Scalar::string(v.to_vec()).at(Pos::new(n + 1, eq + 2))),
            pos: Some(pos),
        });
    }
    Ok(Document::single(branch))
}

/// sops' `stores.ValToString` of a non-string value.
pub(crate) fn val_to_string(s: &Scalar) -> Vec<u8> {
    match s.ty {
        ScalarType::Float => {
            let f = s
                .text
                .expose_str()
                .and_then(value::parse_go_float)
                .unwrap_or(0.0);
            value::format_float_valtostring(f).into_bytes()
        }
        _ => s.text.expose().to_vec(),
    }
}

/// The first branch as sops' dotenv store writes it.
pub fn emit(doc: &Document) -> Result<Zeroizing<Vec<u8>>, String> {
    let empty = Branch::new();
    let b = doc.branches.first().unwrap_or(&empty);
    let size: usize = b
        .items
        .iter()
        .map(|i| match i {
            Item::Entry { key, value, .. } => {
                key.len() + 2 + value.as_scalar().map_or(8, |s| s.text.len() * 2)
            }
            Item::Comment(c) => c.text.len() + 2,
        })
        .sum();
    let mut out = Zeroizing::new(Vec::with_capacity(size + 16));
    for item in &b.items {
        match item {
            Item::Comment(c) => {
                out.push(b'#');
                out.extend_from_slice(c.text.expose());
                out.push(b'\n');
            }
            Item::Entry { key, value, .. } => {
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                match value {
                    Node::Scalar(s) if s.ty == ScalarType::Str || s.ty == ScalarType::Bytes => {
                        for &c in s.text.expose() {
                            if c == b'\n' {
                                out.extend_from_slice(b"\\n");
                            } else {
                                out.push(c);
                            }
                        }
                    }
                    Node::Scalar(s) => out.extend_from_slice(&Zeroizing::new(val_to_string(s))),
                    Node::Null => out.extend_from_slice(b"<nil>"),
                    Node::Map(_) | Node::List(_) => {
                        return Err(format!(
                            "cannot use a nested value in a dotenv file; offending key `{key}`"
                        ));
                    }
                    Node::Comment(_) => {}
                }
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_emits_like_sops() {
        let src = b"#comment\nfoo = bar\nmulti=a\\nb\n\nempty=\n";
        let d = parse(src, "t.env").unwrap();
        let b = &d.branches[0];
        assert_eq!(
            b.get("foo ").unwrap().as_scalar().unwrap().text.expose(),
            b" bar"
        );
        assert_eq!(
            b.get("multi").unwrap().as_scalar().unwrap().text.expose(),
            b"a\nb"
        );
        let out = emit(&d).unwrap();
        assert_eq!(&out[..], b"#comment\nfoo = bar\nmulti=a\\nb\nempty=\n");
    }

    #[test]
    fn a_line_without_equals_is_an_error_with_its_line() {
        let e = parse(b"A=1\nnot a pair\n", "t.env")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "t.env:2:1: invalid dotenv line: expected KEY=value");
    }
}
