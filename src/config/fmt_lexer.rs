//! A token-level HCL lexer for the formatter.
//!
//! The formatter only moves whitespace between tokens (as Terraform's `hclwrite` does), so this
//! lexer needs to find token boundaries, not meaning: strings and templates (with nested
//! interpolations) and heredocs are single opaque tokens, printed exactly as written; comments
//! are tokens too, so none can be lost. Every formatted file is checked by re-parsing it with
//! hcl-edit (see [`super::fmt`]), so a boundary this lexer got wrong cannot change a file's
//! meaning.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Newline,
    /// `# ...` or `// ...` (up to, not including, the line break).
    LineComment,
    /// `/* ... */`, possibly over several lines.
    BlockComment,
    Ident,
    Number,
    /// A quoted string or template, quotes included.
    Quoted,
    /// `<<EOT ... EOT` or `<<-EOT ... EOT`, through the closing delimiter.
    Heredoc,
    /// An operator or bracket.
    Punct,
    /// Anything else (a stray character); kept as is.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) kind: Kind,
    pub(crate) text: &'a str,
}

impl Token<'_> {
    pub(crate) fn is(&self, s: &str) -> bool {
        self.kind == Kind::Punct && self.text == s
    }

    /// +1 for an opening bracket, -1 for a closing one.
    pub(crate) fn bracket_change(&self) -> i32 {
        if self.kind != Kind::Punct {
            return 0;
        }
        match self.text {
            "{" | "[" | "(" => 1,
            "}" | "]" | ")" => -1,
            _ => 0,
        }
    }

    pub(crate) fn is_multiline(&self) -> bool {
        matches!(self.kind, Kind::Heredoc | Kind::BlockComment) && self.text.contains('\n')
    }
}

const PUNCT3: &[&str] = &["..."];
const PUNCT2: &[&str] = &["=>", "==", "!=", "<=", ">=", "&&", "||", "::"];
const PUNCT1: &str = "{}[]()=<>+-*/%!?:,.";

/// Splits `src` into tokens, or says where lexing failed: the start of the unterminated string
/// (even when what does not end is an interpolation inside it), comment or heredoc.
pub(crate) fn lex(src: &str) -> Result<Vec<Token<'_>>, usize> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' => {
                i += 1;
                continue;
            }
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                i += 2;
                Kind::Newline
            }
            b'\r' => {
                i += 1;
                continue;
            }
            b'\n' => {
                i += 1;
                Kind::Newline
            }
            b'#' => {
                i = line_end(b, i);
                Kind::LineComment
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = line_end(b, i);
                Kind::LineComment
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = src[i + 2..].find("*/").ok_or(i)?;
                i = i + 2 + end + 2;
                Kind::BlockComment
            }
            b'"' => {
                i = quoted(b, i)?;
                Kind::Quoted
            }
            b'<' if b.get(i + 1) == Some(&b'<') && heredoc_start(b, i).is_some() => {
                i = heredoc(src, i)?;
                Kind::Heredoc
            }
            b'0'..=b'9' => {
                i = number(b, i);
                Kind::Number
            }
            _ if is_ident_start(src, i) => {
                i = ident(src, i);
                Kind::Ident
            }
            _ => {
                if let Some(p) = PUNCT3
                    .iter()
                    .chain(PUNCT2)
                    .find(|p| src[i..].starts_with(**p))
                {
                    i += p.len();
                    Kind::Punct
                } else if PUNCT1.as_bytes().contains(&c) {
                    i += 1;
                    Kind::Punct
                } else {
                    i += src[i..].chars().next().map_or(1, char::len_utf8);
                    Kind::Other
                }
            }
        };
        out.push(Token {
            kind,
            text: &src[start..i],
        });
    }
    Ok(out)
}

fn line_end(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    // A `\r` before the line break belongs to the line break.
    if i > start && b[i - 1] == b'\r' {
        i -= 1;
    }
    i
}

fn is_ident_start(src: &str, i: usize) -> bool {
    src[i..]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn ident(src: &str, mut i: usize) -> usize {
    for c in src[i..].chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            i += c.len_utf8();
        } else {
            break;
        }
    }
    i
}

fn number(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// The end of a quoted template starting at `i` (on its `"`), interpolations included.
fn quoted(b: &[u8], i: usize) -> Result<usize, usize> {
    let start = i;
    let mut i = i + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Ok(i + 1),
            b'\\' => i += 2,
            b'\n' => return Err(start),
            b'$' | b'%' if b.get(i + 1) == Some(&b[i]) && b.get(i + 2) == Some(&b'{') => i += 3,
            // An interpolation that does not end leaves the whole string unterminated: the
            // error is at the string's opening quote, so nothing of its text counts as lexed.
            b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                i = interpolation(b, i + 2).map_err(|_| start)?
            }
            _ => i += 1,
        }
    }
    Err(start)
}

/// The end of an interpolation or directive body starting after its `${`/`%{`.
fn interpolation(b: &[u8], mut i: usize) -> Result<usize, usize> {
    let start = i;
    let mut depth = 1;
    while i < b.len() {
        match b[i] {
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            b'"' => i = quoted(b, i)?,
            _ => i += 1,
        }
    }
    Err(start)
}

/// `<<ID` or `<<-ID` followed by a line break: the identifier's byte range.
fn heredoc_start(b: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    let mut j = i + 2;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    let id_start = j;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-') {
        j += 1;
    }
    if j == id_start {
        return None;
    }
    let id_end = j;
    if b.get(j) == Some(&b'\r') {
        j += 1;
    }
    (b.get(j) == Some(&b'\n')).then_some((id_start, id_end, j + 1))
}

/// The end of a heredoc starting at `i`: just after its closing delimiter.
fn heredoc(src: &str, i: usize) -> Result<usize, usize> {
    let b = src.as_bytes();
    let (id_start, id_end, mut line) = heredoc_start(b, i).ok_or(i)?;
    let id = &src[id_start..id_end];
    while line <= src.len() {
        let end = src[line..].find('\n').map_or(src.len(), |n| line + n);
        let text = src[line..end].trim_end_matches('\r');
        if text.trim_start() == id {
            return Ok(line + src[line..end].find(id).map_or(0, |p| p + id.len()));
        }
        if end == src.len() {
            break;
        }
        line = end + 1;
    }
    Err(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        lex(src)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn templates_are_single_tokens() {
        let t = kinds(r#"a = "x ${ {b = "}"}["b"] } y" # c"#);
        assert_eq!(
            t,
            [
                (Kind::Ident, "a"),
                (Kind::Punct, "="),
                (Kind::Quoted, r#""x ${ {b = "}"}["b"] } y""#),
                (Kind::LineComment, "# c"),
            ]
        );
    }

    #[test]
    fn heredocs_run_to_their_delimiter() {
        let t = kinds("x = <<-EOT\n  a\n  EOT\ny = 1");
        assert_eq!(t[2], (Kind::Heredoc, "<<-EOT\n  a\n  EOT"));
        assert_eq!(t[3], (Kind::Newline, "\n"));
        assert_eq!(t[4], (Kind::Ident, "y"));
    }

    #[test]
    fn operators_and_numbers() {
        let t = kinds("a.0.b >= -1.5e3 ... =>");
        let texts: Vec<&str> = t.iter().map(|t| t.1).collect();
        assert_eq!(
            texts,
            ["a", ".", "0", ".", "b", ">=", "-", "1.5e3", "...", "=>"]
        );
    }

    #[test]
    fn unterminated_things_are_errors() {
        assert!(lex("a = \"x").is_err());
        assert_eq!(lex("a = \"s3cr3t ${ var.x"), Err(4));
        assert!(lex("/* x").is_err());
        assert!(lex("a = <<EOT\nx\n").is_err());
    }
}
