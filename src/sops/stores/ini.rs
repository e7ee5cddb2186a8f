//! INI: sops' INI store, which reads and writes through go-ini (`gopkg.in/ini.v1`) with
//! non-unique sections allowed. Parsing follows go-ini's rules: `=` or `:` separates key and
//! value, values are trimmed, a `#` or `;` in an unquoted value starts a comment, surrounding
//! quotes are removed, `"""` and backtick values may span lines, a trailing `\` continues a
//! value. Keys before the first section live in the `DEFAULT` section, which sops' tree always
//! starts with. Comment lines before a section or key belong to it; sops puts a section's comment
//! first in its branch and a key's comment right after the key. Every value is a string.
//!
//! Output follows go-ini's pretty format: aligned ` = `, a blank line between sections, `; `
//! before comment lines, quoting of values that need it.

use zeroize::Zeroizing;

use crate::sops::error::SopsError;
use crate::sops::tree::{Branch, Comment, Document, Item, Node, Pos, Scalar};

use super::dotenv::val_to_string;

struct Section {
    name: String,
    comment: Zeroizing<Vec<u8>>,
    keys: Vec<Key>,
}

struct Key {
    name: String,
    value: Zeroizing<Vec<u8>>,
    comment: Zeroizing<Vec<u8>>,
    pos: Pos,
    value_pos: Pos,
}

fn trim_left(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

fn trim(s: &[u8]) -> &[u8] {
    let s = trim_left(s);
    let n = s
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    &s[..s.len() - n]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn has_surrounded_quote(s: &[u8], q: u8) -> bool {
    s.len() >= 2 && s[0] == q && s[s.len() - 1] == q && s.iter().filter(|b| **b == q).count() == 2
}

/// go-ini's `stripCommentChar` as sops applies it.
fn strip_comment_char(c: &[u8]) -> Vec<u8> {
    let strip = |c: &[u8], ch: u8| {
        let n = c.iter().take_while(|b| **b == ch || **b == b' ').count();
        c[n..].to_vec()
    };
    match c.first() {
        Some(b';') => strip(c, b';'),
        Some(b'#') => strip(c, b'#'),
        _ => c.to_vec(),
    }
}

struct Reader<'a> {
    lines: Vec<&'a [u8]>,
    i: usize,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        let l = self.lines.get(self.i).copied();
        self.i += 1;
        l
    }
}

/// Parse an INI file into sops' tree: one entry per section, `DEFAULT` first.
pub fn parse(text: &[u8], file: &str) -> Result<Document, SopsError> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    // Lines keep their `\n`, as go-ini's reader does.
    let lines: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
    let mut r = Reader { lines, i: 0 };
    let mut sections = vec![Section {
        name: "DEFAULT".into(),
        comment: Zeroizing::new(Vec::new()),
        keys: Vec::new(),
    }];
    let mut comment = Zeroizing::new(Vec::new());
    while let Some(raw) = r.next() {
        let n = r.i;
        let indent = raw.len() - trim_left(raw).len();
        let line = trim_left(raw);
        if line.is_empty() {
            continue;
        }
        let err =
            |col: usize, msg: &str| Err(SopsError::syntax(file, Some(Pos::new(n, col + 1)), msg));
        match line[0] {
            b'#' | b';' => comment.extend_from_slice(line),
            b'[' => {
                let Some(close) = line.iter().rposition(|b| *b == b']') else {
                    return err(indent, "unclosed section header");
                };
                let name = String::from_utf8_lossy(&line[1..close]).into_owned();
                if let Some(i) = line[close + 1..]
                    .iter()
                    .position(|b| *b == b'#' || *b == b';')
                {
                    comment.extend_from_slice(&line[close + 1 + i..]);
                }
                sections.push(Section {
                    name,
                    comment: Zeroizing::new(trim(&comment).to_vec()),
                    keys: Vec::new(),
                });
                comment = Zeroizing::new(Vec::new());
            }
            _ => {
                let (name, offset) = read_key_name(line)
                    .map_err(|m| SopsError::syntax(file, Some(Pos::new(n, indent + 1)), m))?;
                let value_col =
                    indent + offset + (line.len() - offset - trim_left(&line[offset..]).len()) + 1;
                let value = read_value(&line[offset..], &mut r, &mut comment).map_err(|m| {
                    SopsError::syntax(file, Some(Pos::new(n, indent + offset + 1)), m)
                })?;
                let section = sections.last_mut().expect("DEFAULT is always there");
                let key_comment = Zeroizing::new(trim(&comment).to_vec());
                comment = Zeroizing::new(Vec::new());
                if let Some(k) = section.keys.iter_mut().find(|k| k.name == name) {
                    k.value = value;
                    k.comment = key_comment;
                } else {
                    section.keys.push(Key {
                        name,
                        value,
                        comment: key_comment,
                        pos: Pos::new(n, indent + 1),
                        value_pos: Pos::new(n, value_col),
                    });
                }
            }
        }
    }
    let mut root = Branch::new();
    for s in sections {
        let mut b = Branch::new();
        if !s.comment.is_empty() {
            b.items
                .push(Item::Comment(Comment::new(strip_comment_char(&s.comment))));
        }
        for k in s.keys {
            b.items.push(Item::Entry {
                key: k.name,
                value: Node::Scalar(Scalar::string(k.value.to_vec()).at(k.value_pos)),
                pos: Some(k.pos),
            });
            if !k.comment.is_empty() {
                b.items
                    .push(Item::Comment(Comment::new(strip_comment_char(&k.comment))));
            }
        }
        root.items.push(Item::Entry {
            key: s.name,
            value: Node::Map(b),
            pos: None,
        });
    }
    Ok(Document::single(root))
}

fn read_key_name(line: &[u8]) -> Result<(String, usize), String> {
    let to_s = |b: &[u8]| String::from_utf8_lossy(trim(b)).into_owned();
    let quote: &[u8] = if line.starts_with(b"\"\"\"") && line.len() > 6 {
        b"\"\"\""
    } else if line[0] == b'"' {
        b"\""
    } else if line[0] == b'`' {
        b"`"
    } else {
        b""
    };
    if !quote.is_empty() {
        let start = quote.len();
        let pos = find(&line[start..], quote).ok_or("missing closing key quote")? + start;
        let after = pos + start;
        let i = line[after.min(line.len())..]
            .iter()
            .position(|b| *b == b'=' || *b == b':')
            .ok_or("key-value delimiter not found")?;
        return Ok((to_s(&line[start..pos]), after + i + 1));
    }
    let end = line
        .iter()
        .position(|b| *b == b'=' || *b == b':')
        .ok_or("key-value delimiter not found (expected key = value)")?;
    if end == 0 {
        return Err("empty key name".into());
    }
    Ok((to_s(&line[..end]), end + 1))
}

fn read_value(
    input: &[u8],
    r: &mut Reader<'_>,
    comment: &mut Zeroizing<Vec<u8>>,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let line = trim_left(input);
    if line.is_empty() {
        return Ok(Zeroizing::new(Vec::new()));
    }
    let quote: &[u8] = if line.len() > 3 && line.starts_with(b"\"\"\"") {
        b"\"\"\""
    } else if line[0] == b'`' {
        b"`"
    } else {
        b""
    };
    if !quote.is_empty() {
        let start = quote.len();
        return match rfind(&line[start..], quote) {
            Some(pos) => Ok(Zeroizing::new(line[start..start + pos].to_vec())),
            None => {
                let mut val = Zeroizing::new(line[start..].to_vec());
                loop {
                    let Some(next) = r.next() else {
                        return Err("missing closing quote of a multi-line value".into());
                    };
                    if let Some(pos) = rfind(next, quote) {
                        val.extend_from_slice(&next[..pos]);
                        if let Some(i) = next[pos..].iter().position(|b| *b == b'#' || *b == b';') {
                            comment.extend_from_slice(trim(&next[pos + i..]));
                        }
                        return Ok(val);
                    }
                    val.extend_from_slice(next);
                }
            }
        };
    }
    let mut line = Zeroizing::new(trim(line).to_vec());
    if line.last() == Some(&b'\\') {
        line.pop();
        while let Some(next) = r.next() {
            let next = trim(next);
            if next.is_empty() {
                break;
            }
            line.extend_from_slice(next);
            if line.last() != Some(&b'\\') {
                break;
            }
            line.pop();
        }
        return Ok(line);
    }
    if let Some(i) = line.iter().position(|b| *b == b'#' || *b == b';') {
        comment.extend_from_slice(&line[i..]);
        let kept = trim(&line[..i]).to_vec();
        line = Zeroizing::new(kept);
    }
    if has_surrounded_quote(&line, b'\'') || has_surrounded_quote(&line, b'"') {
        let inner = line[1..line.len() - 1].to_vec();
        line = Zeroizing::new(inner);
    }
    Ok(line)
}

fn push_comment_lines(out: &mut Vec<u8>, comment: &[u8]) {
    for line in comment.split(|b| *b == b'\n') {
        match line.first() {
            Some(b'#') | Some(b';') => {
                out.push(line[0]);
                out.push(b' ');
                out.extend_from_slice(trim(&line[1..]));
            }
            _ => {
                out.extend_from_slice(b"; ");
                out.extend_from_slice(trim(line));
            }
        }
        out.push(b'\n');
    }
}

/// The tree as sops' INI store writes it through go-ini.
pub fn emit(doc: &Document) -> Result<Zeroizing<Vec<u8>>, String> {
    let empty = Branch::new();
    let root = doc.branches.first().unwrap_or(&empty);
    struct OutKey<'a> {
        name: String,
        value: Zeroizing<Vec<u8>>,
        comment: Option<&'a Comment>,
    }
    let mut sections: Vec<(String, Option<&Comment>, Vec<OutKey<'_>>)> = Vec::new();
    for (name, value) in root.entries() {
        let Node::Map(b) = value else {
            return Err(format!(
                "INI section values must be mappings; `{name}` is not (an INI file has sections of keys only)"
            ));
        };
        let mut items = b.items.iter().peekable();
        let mut section_comment = None;
        if let Some(Item::Comment(c)) = items.peek() {
            section_comment = Some(c);
            items.next();
        }
        let mut keys: Vec<OutKey<'_>> = Vec::new();
        for item in items {
            match item {
                Item::Comment(c) => {
                    if let Some(k) = keys.last_mut() {
                        k.comment = Some(c);
                    }
                }
                Item::Entry { key, value, .. } => {
                    let text = match value {
                        Node::Scalar(s) => Zeroizing::new(val_to_string(s)),
                        Node::Null => Zeroizing::new(b"<nil>".to_vec()),
                        _ => {
                            return Err(format!(
                                "cannot use a nested value in an INI file; offending key `{name}.{key}`"
                            ));
                        }
                    };
                    if let Some(existing) = keys.iter_mut().find(|k| k.name == *key) {
                        existing.value = text;
                    } else {
                        keys.push(OutKey {
                            name: key.clone(),
                            value: text,
                            comment: None,
                        });
                    }
                }
            }
        }
        sections.push((name.to_string(), section_comment, keys));
    }
    let size: usize = sections
        .iter()
        .map(|(n, _, ks)| {
            n.len()
                + ks.iter()
                    .map(|k| k.name.len() * 2 + k.value.len() + 64)
                    .sum::<usize>()
        })
        .sum();
    let mut out = Zeroizing::new(Vec::with_capacity(size * 2 + 64));
    let last = sections.len().saturating_sub(1);
    for (i, (name, comment, keys)) in sections.iter().enumerate() {
        if let Some(c) = comment {
            push_comment_lines(&mut out, c.text.expose());
        }
        if i > 0 || !name.eq_ignore_ascii_case("DEFAULT") {
            out.push(b'[');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"]\n");
        } else if keys.is_empty() {
            continue;
        }
        let quoted = |k: &str| {
            if k.contains('"') || k.contains('=') || k.contains(':') {
                format!("`{k}`")
            } else if k.contains('`') {
                format!("\"\"\"{k}\"\"\"")
            } else {
                k.to_string()
            }
        };
        let align = keys
            .iter()
            .map(|k| quoted(&k.name).len())
            .max()
            .unwrap_or(0);
        for k in keys {
            if let Some(c) = k.comment {
                push_comment_lines(&mut out, c.text.expose());
            }
            let name = quoted(&k.name);
            out.extend_from_slice(name.as_bytes());
            out.extend(std::iter::repeat_n(b' ', align - name.len()));
            out.extend_from_slice(b" = ");
            let v = &k.value[..];
            if v.contains(&b'\n') || v.contains(&b'`') {
                out.extend_from_slice(b"\"\"\"");
                out.extend_from_slice(v);
                out.extend_from_slice(b"\"\"\"");
            } else if v.contains(&b'#') || v.contains(&b';') {
                out.push(b'`');
                out.extend_from_slice(v);
                out.push(b'`');
            } else if trim(v).len() != v.len() {
                out.push(b'"');
                out.extend_from_slice(v);
                out.push(b'"');
            } else {
                out.extend_from_slice(v);
            }
            out.push(b'\n');
        }
        if i != last {
            out.push(b'\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(d: &'a Document, section: &str, key: &str) -> &'a [u8] {
        let s = d.branches[0].get(section).unwrap().as_map().unwrap();
        s.get(key).unwrap().as_scalar().unwrap().text.expose()
    }

    #[test]
    fn parses_like_go_ini() {
        let src = b"top = 1\n; section comment\n[foo]\nbar = baz ; trailing\nq = \"quoted \"\nm = \"\"\"one\ntwo\"\"\"\nc = a\\\n  b\n# key comment\nk: v\n";
        let d = parse(src, "t.ini").unwrap();
        let root = &d.branches[0];
        let names: Vec<&str> = root.entries().map(|(k, _)| k).collect();
        assert_eq!(names, ["DEFAULT", "foo"]);
        assert_eq!(value(&d, "DEFAULT", "top"), b"1");
        assert_eq!(value(&d, "foo", "bar"), b"baz");
        assert_eq!(value(&d, "foo", "q"), b"quoted ");
        assert_eq!(value(&d, "foo", "m"), b"one\ntwo");
        assert_eq!(value(&d, "foo", "c"), b"ab");
        assert_eq!(value(&d, "foo", "k"), b"v");
        let foo = root.get("foo").unwrap().as_map().unwrap();
        assert!(matches!(&foo.items[0], Item::Comment(c) if c.text.expose() == b"section comment"));
        assert!(matches!(&foo.items[2], Item::Comment(c) if c.text.expose() == b"trailing"));
    }

    #[test]
    fn emits_like_go_ini_pretty_format() {
        let src =
            b"; hello\n[Welcome!]\nhello       = x\nexample_key = y\n\n[sops]\nmac = ENC[z]\n";
        let d = parse(src, "t.ini").unwrap();
        let out = emit(&d).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            std::str::from_utf8(src).unwrap()
        );
    }

    #[test]
    fn errors_have_lines() {
        let e = parse(b"[a]\nno delimiter here\n", "t.ini")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.ini:2:1: key-value delimiter not found"),
            "{e}"
        );
        let e = parse(b"[open\n", "t.ini").unwrap_err().to_string();
        assert!(e.starts_with("t.ini:1:1: unclosed section"), "{e}");
    }
}
