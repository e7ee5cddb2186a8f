//! JSON: an order-keeping parser with positions, and the emitter of sops' JSON store (tab
//! indentation, `"key": value`, Go's `encoding/json` escaping and number forms).
//!
//! Numbers read as sops reads them: an integer literal within 64 bits is an `int`, anything else
//! a `float`. Like sops (which reads tokens up to the closing brace), text after the top-level
//! object is ignored. The binary store's envelope is JSON too.

use zeroize::Zeroizing;

use crate::secret::SecretValue;
use crate::sops::error::SopsError;
use crate::sops::tree::{Branch, Document, Item, Node, Pos, Scalar, ScalarType};
use crate::sops::value;

const MAX_DEPTH: usize = 200;

struct Parser<'a> {
    file: &'a str,
    s: &'a [u8],
    i: usize,
    line: usize,
    line_start: usize,
    depth: usize,
}

impl Parser<'_> {
    fn pos(&self) -> Pos {
        Pos::new(self.line, self.i - self.line_start + 1)
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, SopsError> {
        Err(SopsError::syntax(self.file, Some(self.pos()), msg))
    }

    fn ws(&mut self) {
        while let Some(&b) = self.s.get(self.i) {
            match b {
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                _ => break,
            }
        }
    }

    fn value(&mut self) -> Result<Node, SopsError> {
        self.ws();
        let pos = self.pos();
        match self.s.get(self.i) {
            None => self.err("unexpected end of JSON"),
            Some(b'{') => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return self.err("nesting too deep");
                }
                let b = self.object()?;
                self.depth -= 1;
                Ok(Node::Map(b))
            }
            Some(b'[') => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return self.err("nesting too deep");
                }
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return self.err("expected `,` or `]`"),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Node::List(items))
            }
            Some(b'"') => {
                let s = self.string()?;
                Ok(Node::Scalar(Scalar::string(s.to_vec()).at(pos)))
            }
            Some(b't') => self.word("true", Node::Scalar(bool_scalar(true).at(pos))),
            Some(b'f') => self.word("false", Node::Scalar(bool_scalar(false).at(pos))),
            Some(b'n') => self.word("null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number(pos),
            Some(_) => self.err("unexpected character in JSON"),
        }
    }

    fn word(&mut self, w: &str, node: Node) -> Result<Node, SopsError> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(node)
        } else {
            self.err("invalid JSON literal")
        }
    }

    fn number(&mut self, pos: Pos) -> Result<Node, SopsError> {
        let start = self.i;
        let mut integer = true;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let st = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - st
        };
        let int_start = self.i;
        if digits(self) == 0 {
            return self.err("invalid JSON number");
        }
        if self.s[int_start] == b'0' && self.i - int_start > 1 {
            return self.err("invalid JSON number (leading zero)");
        }
        if self.s.get(self.i) == Some(&b'.') {
            integer = false;
            self.i += 1;
            if digits(self) == 0 {
                return self.err("invalid JSON number");
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            integer = false;
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return self.err("invalid JSON number");
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII");
        if integer && let Ok(i) = text.parse::<i64>() {
            return Ok(Node::Scalar(
                Scalar::typed(ScalarType::Int, SecretValue::from_string(i.to_string())).at(pos),
            ));
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Node::Scalar(
                Scalar::typed(
                    ScalarType::Float,
                    SecretValue::from_string(value::canonical_float(f)),
                )
                .at(pos),
            )),
            _ => self.err("JSON number out of range"),
        }
    }

    fn hex4(&mut self) -> Result<u32, SopsError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or(())
            .or_else(|_| self.err("truncated \\u escape"))?;
        let t = std::str::from_utf8(h)
            .ok()
            .and_then(|t| u32::from_str_radix(t, 16).ok());
        match t {
            Some(v) => {
                self.i += 4;
                Ok(v)
            }
            None => self.err("invalid \\u escape"),
        }
    }

    fn string(&mut self) -> Result<Zeroizing<Vec<u8>>, SopsError> {
        self.i += 1;
        let mut out = Zeroizing::new(Vec::new());
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return self.err("unterminated JSON string");
            };
            match b {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err("unterminated JSON string");
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut c = self.hex4()?;
                            if (0xd800..0xdc00).contains(&c) {
                                if self.s[self.i..].starts_with(b"\\u") {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if (0xdc00..0xe000).contains(&lo) {
                                        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                                    } else {
                                        c = 0xfffd;
                                    }
                                } else {
                                    c = 0xfffd;
                                }
                            }
                            let ch = char::from_u32(c).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return self.err("invalid escape in a JSON string"),
                    }
                }
                0..=0x1f => return self.err("control character in a JSON string"),
                _ => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
        // Go replaces invalid UTF-8 with U+FFFD.
        if std::str::from_utf8(&out).is_err() {
            let fixed = String::from_utf8_lossy(&out).into_owned().into_bytes();
            return Ok(Zeroizing::new(fixed));
        }
        Ok(out)
    }

    fn object(&mut self) -> Result<Branch, SopsError> {
        self.i += 1;
        let mut branch = Branch::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(branch);
        }
        loop {
            self.ws();
            let pos = self.pos();
            if self.s.get(self.i) != Some(&b'"') {
                return self.err("expected a JSON object key");
            }
            let key = self.string()?;
            let key = String::from_utf8(key.to_vec()).expect("made valid above");
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return self.err("expected `:` after a JSON object key");
            }
            self.i += 1;
            let value = self.value()?;
            branch.items.push(Item::Entry {
                key,
                value,
                pos: Some(pos),
            });
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(branch);
                }
                _ => return self.err("expected `,` or `}`"),
            }
        }
    }
}

fn bool_scalar(b: bool) -> Scalar {
    Scalar::typed(ScalarType::Bool, SecretValue::from_string(b.to_string()))
}

/// Parse a JSON document whose top level is an object.
pub fn parse(text: &[u8], file: &str) -> Result<Document, SopsError> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    let mut p = Parser {
        file,
        s: text,
        i: 0,
        line: 1,
        line_start: 0,
        depth: 0,
    };
    p.ws();
    match p.s.get(p.i) {
        Some(b'{') => {}
        Some(_) => {
            return p
                .err("SOPS only supports JSON files with a top-level object (starting with `{`)");
        }
        None => return p.err("empty JSON document"),
    }
    p.depth = 1;
    let branch = p.object()?;
    Ok(Document::single(branch))
}

/// Go's `json.Marshal` of a string: `<`, `>`, `&`, U+2028 and U+2029 escaped too.
fn push_json_string(out: &mut String, bytes: &[u8]) {
    let s = String::from_utf8_lossy(bytes);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_scalar(out: &mut String, s: &Scalar) -> Result<(), String> {
    match s.ty {
        ScalarType::Str | ScalarType::Bytes | ScalarType::Time => {
            push_json_string(out, s.text.expose())
        }
        ScalarType::Int | ScalarType::Bool => {
            out.push_str(&String::from_utf8_lossy(s.text.expose()))
        }
        ScalarType::Float => {
            let f = s
                .text
                .expose_str()
                .and_then(value::parse_go_float)
                .unwrap_or(0.0);
            match value::format_float_json(f) {
                Some(t) => out.push_str(&t),
                None => return Err("JSON cannot hold NaN or infinite floats".into()),
            }
        }
    }
    Ok(())
}

fn push_indent(out: &mut String, indent: &str, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str(indent);
    }
}

fn push_node(out: &mut String, n: &Node, indent: &str, depth: usize) -> Result<(), String> {
    match n {
        Node::Scalar(s) => push_scalar(out, s)?,
        Node::Null => out.push_str("null"),
        Node::Comment(_) => {}
        Node::Map(b) => push_branch(out, b, indent, depth)?,
        Node::List(l) => {
            let values: Vec<&Node> = l
                .iter()
                .filter(|n| !matches!(n, Node::Comment(_)))
                .collect();
            if values.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_indent(out, indent, depth + 1);
                push_node(out, v, indent, depth + 1)?;
            }
            push_indent(out, indent, depth);
            out.push(']');
        }
    }
    Ok(())
}

fn push_branch(out: &mut String, b: &Branch, indent: &str, depth: usize) -> Result<(), String> {
    if b.entries().next().is_none() {
        out.push_str("{}");
        return Ok(());
    }
    out.push('{');
    for (i, (k, v)) in b.entries().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_indent(out, indent, depth + 1);
        push_json_string(out, k.as_bytes());
        out.push_str(": ");
        push_node(out, v, indent, depth + 1)?;
    }
    push_indent(out, indent, depth);
    out.push('}');
    Ok(())
}

fn estimate(b: &Branch) -> usize {
    fn node(n: &Node) -> usize {
        match n {
            Node::Map(b) => estimate(b),
            Node::List(l) => l.iter().map(node).sum::<usize>() + 8,
            Node::Scalar(s) => s.text.len() * 6 + 16,
            _ => 16,
        }
    }
    b.entries()
        .map(|(k, v)| k.len() * 6 + 16 + node(v))
        .sum::<usize>()
        + 64
}

/// The first branch as sops' JSON store writes it (comments dropped), with a final newline.
pub fn emit(doc: &Document) -> Result<Zeroizing<Vec<u8>>, String> {
    let empty = Branch::new();
    let b = doc.branches.first().unwrap_or(&empty);
    let mut out = Zeroizing::new(String::with_capacity(estimate(b) * 2));
    push_branch(&mut out, b, "\t", 0)?;
    out.push('\n');
    Ok(Zeroizing::new(std::mem::take(&mut *out).into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_sops_layout() {
        let src = "{\n\t\"a\": \"x<&>\\n\",\n\t\"n\": 7,\n\t\"f\": 3.14,\n\t\"big\": 1e+21,\n\t\"t\": true,\n\t\"z\": null,\n\t\"o\": {\n\t\t\"l\": [\n\t\t\t1,\n\t\t\t\"two\"\n\t\t]\n\t},\n\t\"e\": {},\n\t\"el\": []\n}\n";
        let d = parse(src.as_bytes(), "t.json").unwrap();
        let out = emit(&d).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            src.replace("x<&>", "x\\u003c\\u0026\\u003e")
        );
        let b = &d.branches[0];
        assert_eq!(b.get("n").unwrap().as_scalar().unwrap().ty, ScalarType::Int);
        assert_eq!(
            b.get("f").unwrap().as_scalar().unwrap().ty,
            ScalarType::Float
        );
        assert_eq!(
            b.get("big").unwrap().as_scalar().unwrap().text.expose_str(),
            Some("1000000000000000000000")
        );
    }

    #[test]
    fn errors_have_line_and_column() {
        for (src, want) in [
            (
                "[1]",
                "t.json:1:1: SOPS only supports JSON files with a top-level object",
            ),
            ("{\n  \"a\": tru\n}", "t.json:2:8: invalid JSON literal"),
            ("{\"a\": 1,}", "t.json:1:9: expected a JSON object key"),
            ("{\"a\": \"x", "unterminated"),
            ("", "empty JSON"),
        ] {
            let e = parse(src.as_bytes(), "t.json").unwrap_err().to_string();
            assert!(e.contains(want), "{src:?}: {e}");
        }
    }

    #[test]
    fn surrogates_and_integers_beyond_64_bits() {
        let d = parse(
            br#"{"s": "\ud83d\ude00", "big": 18446744073709551616}"#,
            "t",
        )
        .unwrap();
        let b = &d.branches[0];
        assert_eq!(
            b.get("s").unwrap().as_scalar().unwrap().text.expose_str(),
            Some("😀")
        );
        assert_eq!(
            b.get("big").unwrap().as_scalar().unwrap().ty,
            ScalarType::Float
        );
    }
}
