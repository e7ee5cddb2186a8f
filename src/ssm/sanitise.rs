//! Text from the server is untrusted: an API error's `Message` (and its `Code`, `RequestId`, a
//! response's content type) is printed, logged and shown in CI, so it is cleaned before it is kept.
//!
//! [`RequestValues`] holds every value the request carried — each string parameter of its JSON
//! body (secret content, names, version ids, descriptions, tags), the content itself, the SecretId
//! and the session token — and [`RequestValues::sanitise`] removes from a text anything that
//! matches one of them, in any of the forms a server could echo it in:
//!
//! - the text is decoded first, repeatedly (double escaping): JSON escapes (`\"`, `\n`,
//!   `\u0041`, surrogate pairs), `\xHH`, URL escapes (`%41`, UTF-8 sequences, `+`), and HTML
//!   character references (`&#65;`, `&#x41;`, `&amp;`...);
//! - both sides are case-folded and every character that is not a letter or a digit is dropped
//!   (so separators changed, added or removed do not matter);
//! - a value of 6 or more such characters matches wherever its first 6 appear (the match runs
//!   as far as the text goes on agreeing with the value: any prefix of 6 or more, the whole value
//!   included), and wherever any 12 of its characters in a row appear (a piece from its middle or
//!   end); a shorter value (2 to 5 characters), or a prefix of 6 or more characters that folds to
//!   fewer than 6, matches where it stands alone, not inside a longer word. A value of one letter
//!   or digit is not searched for (it would match almost any text), except secret content;
//! - what matches is replaced by `[redacted]`, over the whole stretch of the original text it came
//!   from (escapes included).
//!
//! Every text is also made safe to print: escape sequences (CSI, OSC, and other `ESC x`) and
//! control characters are removed, line breaks and tabs become spaces (no fake lines),
//! bidirectional and zero-width formatting characters are removed, whitespace runs collapse, and
//! the text is cut at a length limit.
//!
//! Redaction errs on the side of removing too much: a message that mentions a word that also
//! occurs in a secret's name loses that word.

use zeroize::{Zeroize, Zeroizing};

/// A value's prefix of this many folded characters is enough for a match.
pub const PREFIX: usize = 6;
/// Any piece of a value this many folded characters long is enough for a match.
pub const PIECE: usize = 12;

/// What replaces a match.
pub const REDACTED: &str = "[redacted]";

/// The values one request carried, folded (lower case, letters and digits only), ready to match.
/// Zeroized on drop.
#[derive(Default)]
pub struct RequestValues {
    /// Values of at least `PREFIX` folded characters.
    long: Vec<Zeroizing<Vec<char>>>,
    /// Every `PIECE`-character piece of every long value, sorted and deduplicated.
    pieces: Zeroizing<Vec<[char; PIECE]>>,
    /// Values of 1 to `PREFIX - 1` folded characters.
    short: Vec<Zeroizing<Vec<char>>>,
}

impl std::fmt::Debug for RequestValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RequestValues({} values, {} short ones)",
            self.long.len(),
            self.short.len()
        )
    }
}

/// `s` lower-cased, letters and digits only.
fn fold(s: &str) -> Zeroizing<Vec<char>> {
    Zeroizing::new(
        s.chars()
            .flat_map(char::to_lowercase)
            .filter(|c| c.is_alphanumeric())
            .collect(),
    )
}

impl RequestValues {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every string value (not the keys) of a JSON request body.
    pub fn from_json_body(body: &[u8]) -> Self {
        let mut v = Self::new();
        for s in json_string_values(body) {
            v.add(&s);
        }
        v
    }

    /// One more value to match.
    pub fn add(&mut self, value: &str) {
        // A prefix of 6 or more characters that folds to fewer than `PREFIX` (`ab-cd-`) is
        // searched for as a short value.
        let mut ends = value.char_indices().map(|(i, _)| i).skip(PREFIX);
        for end in ends.by_ref().chain(std::iter::once(value.len())) {
            let prefix = fold(&value[..end]);
            if prefix.len() >= PREFIX {
                break;
            }
            self.add_folded(prefix, 2);
        }
        self.add_folded(fold(value), 2);
    }

    /// The secret content a request carries: as text, and as the base64 it travels in. A content
    /// of a single letter or digit is searched for too (as a word of its own).
    pub fn add_content(&mut self, content: &crate::secret::SecretContent) {
        use base64::Engine as _;
        let bytes = content.value().expose();
        if let Ok(text) = std::str::from_utf8(bytes) {
            self.add(text);
            self.add_folded(fold(text), 1);
        }
        let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(bytes));
        self.add(&encoded);
    }

    fn add_folded(&mut self, folded: Zeroizing<Vec<char>>, shortest: usize) {
        let n = folded.len();
        if n >= PREFIX {
            for w in folded.windows(PIECE) {
                let mut piece = ['\0'; PIECE];
                piece.copy_from_slice(w);
                self.pieces.push(piece);
                piece.zeroize();
            }
            self.pieces.sort_unstable();
            self.pieces.dedup();
            if !self.long.iter().any(|l| **l == *folded) {
                self.long.push(folded);
            }
        } else if n >= shortest.max(1) && !self.short.iter().any(|s| **s == *folded) {
            self.short.push(folded);
        }
    }

    /// Whether no value is searched for.
    pub fn is_empty(&self) -> bool {
        self.long.is_empty() && self.short.is_empty()
    }

    /// `text` with every match of a value replaced by [`REDACTED`], made safe to print, and cut
    /// to at most `max_chars` characters.
    pub fn sanitise(&self, text: &str, max_chars: usize) -> String {
        let raw: Vec<char> = text.chars().collect();
        let visible = strip_controls(&raw);
        let mut redact = vec![false; raw.len()];
        if !self.is_empty() {
            let decoded = decode(visible.clone());
            self.mark(&decoded, &mut redact);
        }
        render(&visible, &redact, max_chars)
    }

    /// Marks in `redact` the raw characters behind every match in `units`.
    fn mark(&self, units: &[Unit], redact: &mut [bool]) {
        // The folded text: (character, index of its unit).
        let folded: Vec<(char, usize)> = units
            .iter()
            .enumerate()
            .flat_map(|(i, u)| u.c.to_lowercase().map(move |c| (c, i)))
            .filter(|(c, _)| c.is_alphanumeric())
            .collect();
        let mut mark = |from: usize, to: usize| {
            let (first, last) = (&units[folded[from].1], &units[folded[to - 1].1]);
            for r in &mut redact[first.start..last.end] {
                *r = true;
            }
        };
        for value in &self.long {
            for p in 0..folded.len() {
                let agree = folded[p..]
                    .iter()
                    .zip(value.iter())
                    .take_while(|((m, _), v)| m == *v)
                    .count();
                if agree >= PREFIX {
                    mark(p, p + agree);
                }
            }
        }
        if !self.pieces.is_empty() && folded.len() >= PIECE {
            let mut piece = ['\0'; PIECE];
            for p in 0..=folded.len() - PIECE {
                for (k, slot) in piece.iter_mut().enumerate() {
                    *slot = folded[p + k].0;
                }
                if self.pieces.binary_search(&piece).is_ok() {
                    mark(p, p + PIECE);
                }
            }
            piece.zeroize();
        }
        let alnum_unit = |i: Option<usize>| {
            i.and_then(|i| units.get(i))
                .is_some_and(|u| u.c.is_alphanumeric())
        };
        for value in &self.short {
            let n = value.len();
            if folded.len() < n {
                continue;
            }
            for p in 0..=folded.len() - n {
                if !folded[p..p + n].iter().map(|(c, _)| c).eq(value.iter()) {
                    continue;
                }
                let (first, last) = (folded[p].1, folded[p + n - 1].1);
                if !alnum_unit(first.checked_sub(1)) && !alnum_unit(Some(last + 1)) {
                    mark(p, p + n);
                }
            }
        }
    }
}

/// Cleans a text from the server that no request value is known for: escape sequences and
/// control characters out, whitespace collapsed, at most `max_chars` characters.
pub fn clean(text: &str, max_chars: usize) -> String {
    RequestValues::new().sanitise(text, max_chars)
}

/// Keeps only the characters `keep` accepts, at most `max_chars` of them: for codes
/// (`[A-Za-z0-9.]`) and request ids (`[A-Za-z0-9-]`), which have a known alphabet.
pub fn only(text: &str, keep: impl Fn(char) -> bool, max_chars: usize) -> String {
    text.chars().filter(|&c| keep(c)).take(max_chars).collect()
}

/// A character of a decoded text and the raw characters `start..end` it came from.
#[derive(Clone, Copy, Debug)]
struct Unit {
    c: char,
    start: usize,
    end: usize,
}

/// Raw characters as units, without escape sequences and control characters (line breaks and
/// tabs become spaces; other controls and invisible formatting characters go).
fn strip_controls(raw: &[char]) -> Vec<Unit> {
    let units: Vec<Unit> = raw
        .iter()
        .enumerate()
        .map(|(i, &c)| Unit {
            c,
            start: i,
            end: i + 1,
        })
        .collect();
    strip_units(units)
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{061C}' | '\u{180E}')
}

fn strip_units(units: Vec<Unit>) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        let c = u.c;
        if c == '\u{1b}' || c == '\u{9b}' {
            // ESC [ ... final, ESC ] ... BEL/ST, ESC P/X/^/_ ... ST, ESC x; CSI (U+009B) ... final.
            i += 1;
            let csi = c == '\u{9b}' || units.get(i).is_some_and(|n| n.c == '[');
            let string = units
                .get(i)
                .is_some_and(|n| matches!(n.c, ']' | 'P' | 'X' | '^' | '_'));
            if c == '\u{1b}' && i < units.len() {
                i += 1;
            }
            if csi {
                while i < units.len() && !('\u{40}'..='\u{7e}').contains(&units[i].c) {
                    i += 1;
                }
                i += 1;
            } else if string {
                while i < units.len() {
                    let n = units[i].c;
                    if n == '\u{7}' || n == '\u{9c}' {
                        i += 1;
                        break;
                    }
                    if n == '\u{1b}' && units.get(i + 1).is_some_and(|m| m.c == '\\') {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
            }
            continue;
        }
        i += 1;
        if matches!(
            c,
            '\n' | '\r' | '\t' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
        ) {
            out.push(Unit { c: ' ', ..u });
        } else if c.is_control() || is_invisible(c) {
            // dropped
        } else {
            out.push(u);
        }
    }
    out
}

/// Decodes JSON, URL and HTML escapes until nothing changes (at most four rounds: double and
/// triple escaping), removing control characters that decoding produces.
fn decode(mut units: Vec<Unit>) -> Vec<Unit> {
    for _ in 0..4 {
        let (u, a) = decode_json(units);
        let (u, b) = decode_url(u);
        let (u, c) = decode_html(u);
        units = strip_units(u);
        if !(a || b || c) {
            break;
        }
    }
    units
}

fn hex_value(units: &[Unit], from: usize, n: usize) -> Option<u32> {
    if from + n > units.len() {
        return None;
    }
    let mut v = 0u32;
    for u in &units[from..from + n] {
        v = v * 16 + u.c.to_digit(16)?;
    }
    Some(v)
}

fn span(units: &[Unit], from: usize, to: usize, c: char) -> Unit {
    Unit {
        c,
        start: units[from].start,
        end: units[to - 1].end,
    }
}

fn decode_json(units: Vec<Unit>) -> (Vec<Unit>, bool) {
    let mut out = Vec::with_capacity(units.len());
    let mut changed = false;
    let mut i = 0;
    while i < units.len() {
        if units[i].c != '\\' || i + 1 >= units.len() {
            out.push(units[i]);
            i += 1;
            continue;
        }
        let simple = match units[i + 1].c {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            '/' => Some('/'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            '\'' => Some('\''),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(span(&units, i, i + 2, c));
            i += 2;
            changed = true;
            continue;
        }
        if units[i + 1].c == 'x'
            && let Some(v) = hex_value(&units, i + 2, 2)
        {
            out.push(span(
                &units,
                i,
                i + 4,
                char::from_u32(v).unwrap_or('\u{fffd}'),
            ));
            i += 4;
            changed = true;
            continue;
        }
        if units[i + 1].c == 'u'
            && let Some(hi) = hex_value(&units, i + 2, 4)
        {
            // A surrogate pair is two escapes.
            if (0xD800..0xDC00).contains(&hi)
                && units.get(i + 6).is_some_and(|u| u.c == '\\')
                && units.get(i + 7).is_some_and(|u| u.c == 'u')
                && let Some(lo) = hex_value(&units, i + 8, 4)
                && (0xDC00..0xE000).contains(&lo)
            {
                let c = char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                    .unwrap_or('\u{fffd}');
                out.push(span(&units, i, i + 12, c));
                i += 12;
            } else {
                out.push(span(
                    &units,
                    i,
                    i + 6,
                    char::from_u32(hi).unwrap_or('\u{fffd}'),
                ));
                i += 6;
            }
            changed = true;
            continue;
        }
        out.push(units[i]);
        i += 1;
    }
    (out, changed)
}

fn decode_url(units: Vec<Unit>) -> (Vec<Unit>, bool) {
    let mut out = Vec::with_capacity(units.len());
    let mut changed = false;
    let mut i = 0;
    while i < units.len() {
        if units[i].c == '+' {
            out.push(Unit { c: ' ', ..units[i] });
            i += 1;
            changed = true;
            continue;
        }
        if units[i].c != '%' || hex_value(&units, i + 1, 2).is_none() {
            out.push(units[i]);
            i += 1;
            continue;
        }
        // A run of %XX: bytes, decoded as UTF-8 (invalid bytes become U+FFFD).
        let mut bytes: Vec<(u8, usize)> = Vec::new();
        while units.get(i).is_some_and(|u| u.c == '%')
            && let Some(b) = hex_value(&units, i + 1, 2)
        {
            bytes.push((b as u8, i));
            i += 3;
        }
        let mut k = 0;
        while k < bytes.len() {
            let lead = bytes[k].0;
            let width = match lead {
                0x00..=0x7f => 1,
                0xc2..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf4 => 4,
                _ => 0,
            };
            let decoded = (width > 0 && k + width <= bytes.len())
                .then(|| {
                    let b: Vec<u8> = bytes[k..k + width].iter().map(|(b, _)| *b).collect();
                    std::str::from_utf8(&b).ok().and_then(|s| s.chars().next())
                })
                .flatten();
            let (c, w) = match decoded {
                Some(c) => (c, width),
                None => ('\u{fffd}', 1),
            };
            let from = bytes[k].1;
            let to = bytes[k + w - 1].1 + 3;
            out.push(span(&units, from, to, c));
            k += w;
        }
        changed = true;
    }
    (out, changed)
}

fn decode_html(units: Vec<Unit>) -> (Vec<Unit>, bool) {
    const NAMED: &[(&str, char)] = &[
        ("amp", '&'),
        ("lt", '<'),
        ("gt", '>'),
        ("quot", '"'),
        ("apos", '\''),
        ("nbsp", ' '),
    ];
    let mut out = Vec::with_capacity(units.len());
    let mut changed = false;
    let mut i = 0;
    while i < units.len() {
        if units[i].c != '&' {
            out.push(units[i]);
            i += 1;
            continue;
        }
        // `&...;` within 10 characters.
        let end = (i + 1..units.len().min(i + 12)).find(|&j| units[j].c == ';');
        let decoded = end.and_then(|end| {
            let name: String = units[i + 1..end].iter().map(|u| u.c).collect();
            let c = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse::<u32>().ok().and_then(char::from_u32)
            } else {
                NAMED.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(span(&units, i, end + 1, c));
                i = end + 1;
                changed = true;
            }
            None => {
                out.push(units[i]);
                i += 1;
            }
        }
    }
    (out, changed)
}

/// The visible units as text, every redacted stretch replaced by one [`REDACTED`], whitespace
/// collapsed, cut at `max_chars`.
fn render(visible: &[Unit], redact: &[bool], max_chars: usize) -> String {
    let mut out = String::new();
    let mut in_redaction = false;
    let mut last_space = true;
    for u in visible {
        if redact[u.start] {
            if !in_redaction {
                out.push_str(REDACTED);
                in_redaction = true;
                last_space = false;
            }
            continue;
        }
        in_redaction = false;
        if u.c == ' ' || u.c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(u.c);
            last_space = false;
        }
    }
    let trimmed = out.trim_end();
    if trimmed.chars().count() > max_chars {
        let mut cut: String = trimmed.chars().take(max_chars).collect();
        cut.push('…');
        cut
    } else {
        trimmed.to_string()
    }
}

/// The string values (not the object keys) of a JSON text, unescaped into zeroizing buffers. A
/// malformed text yields what could be read.
fn json_string_values(body: &[u8]) -> Vec<Zeroizing<String>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'"' {
            i += 1;
            continue;
        }
        let mut s = Zeroizing::new(Vec::new());
        i += 1;
        while i < body.len() && body[i] != b'"' {
            if body[i] == b'\\' && i + 1 < body.len() {
                let e = body[i + 1];
                i += 2;
                match e {
                    b'n' => s.push(b'\n'),
                    b't' => s.push(b'\t'),
                    b'r' => s.push(b'\r'),
                    b'b' => s.push(8),
                    b'f' => s.push(12),
                    b'u' if i + 4 <= body.len() => {
                        let hex = std::str::from_utf8(&body[i..i + 4]).unwrap_or("");
                        let mut unit = u32::from_str_radix(hex, 16).unwrap_or(0xfffd);
                        i += 4;
                        if (0xD800..0xDC00).contains(&unit)
                            && body.get(i..i + 2) == Some(b"\\u")
                            && let Some(lo) = body
                                .get(i + 2..i + 6)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                            && (0xDC00..0xE000).contains(&lo)
                        {
                            unit = 0x10000 + ((unit - 0xD800) << 10) + (lo - 0xDC00);
                            i += 6;
                        }
                        let c = char::from_u32(unit).unwrap_or('\u{fffd}');
                        let mut buf = [0u8; 4];
                        s.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        buf.zeroize();
                    }
                    other => s.push(other),
                }
            } else {
                s.push(body[i]);
                i += 1;
            }
        }
        i += 1;
        // A key is followed by `:`.
        let mut j = i;
        while j < body.len() && body[j].is_ascii_whitespace() {
            j += 1;
        }
        if body.get(j) == Some(&b':') {
            continue;
        }
        let text = String::from_utf8_lossy(&s).into_owned();
        out.push(Zeroizing::new(text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "cnry-Echo_Value.9xQ2#vL";

    fn values(v: &[&str]) -> RequestValues {
        let mut r = RequestValues::new();
        for s in v {
            r.add(s);
        }
        r
    }

    fn url(s: &str) -> String {
        s.bytes().map(|b| format!("%{b:02X}")).collect()
    }

    fn json_u(s: &str) -> String {
        s.encode_utf16().map(|u| format!("\\u{u:04x}")).collect()
    }

    #[test]
    fn every_echoed_form_of_a_value_is_removed() {
        let r = values(&[CANARY]);
        let forms = [
            CANARY.to_string(),
            CANARY.to_uppercase(),
            CANARY.to_lowercase(),
            CANARY[..8].to_string(),
            CANARY[..6].to_string(),
            CANARY[5..].to_string(),
            serde_json::to_string(CANARY).unwrap(),
            serde_json::to_string(&serde_json::to_string(CANARY).unwrap()).unwrap(),
            json_u(CANARY),
            url(CANARY),
            url(&url(CANARY)),
            CANARY.replace(['-', '_', '.'], " "),
            CANARY.chars().flat_map(|c| [c, ':']).collect(),
            CANARY.replace('-', "\u{1b}[0m-"),
            CANARY.chars().map(|c| format!("&#{};", c as u32)).collect(),
        ];
        for form in forms {
            let message = format!("The value `{form}` of parameter SecretString is invalid.");
            let shown = r.sanitise(&message, 500);
            assert!(
                shown.starts_with("The value `")
                    && shown.contains(REDACTED)
                    && shown.ends_with(" parameter SecretString is invalid."),
                "{form:?} -> {shown:?}"
            );
            let folded: String = fold(&shown).iter().collect();
            assert!(!folded.contains("cnryec"), "{form:?} -> {shown:?}");
        }
    }

    #[test]
    fn short_values_match_as_whole_words_only() {
        let r = values(&["v1", "a"]);
        assert_eq!(
            r.sanitise("Version V1 of secret a exists.", 100),
            "Version [redacted] of secret a exists."
        );
        assert_eq!(r.sanitise("v12 and av1", 100), "v12 and av1");
        assert_eq!(r.sanitise("x=v-1!", 100), "x=[redacted]!");
    }

    #[test]
    fn text_is_made_safe_to_print() {
        let shown = clean(
            "bad\u{1b}[2J\u{1b}]0;title\u{7}\r\nApply complete! \u{202e}gnp.exe\ttab\u{0}\u{9b}31m",
            500,
        );
        assert_eq!(shown, "bad Apply complete! gnp.exe tab");
        assert_eq!(clean("a     b\n\n\nc", 100), "a b c");
        assert_eq!(clean(&"x".repeat(20), 10), format!("{}…", "x".repeat(10)));
        assert_eq!(
            only(
                "Invalid\u{1b}Code.x y",
                |c| c.is_ascii_alphanumeric() || c == '.',
                64
            ),
            "InvalidCode.xy"
        );
    }

    #[test]
    fn the_values_of_a_json_body_are_its_strings_not_its_keys() {
        let body = br#"{"SecretName":"app-db","VersionId":"v\"2","SecretString":"line\nnext \u00e9\ud83d\ude00","Tags":[{"TagKey":"team","TagValue":"blue-sky"}],"Limit":10}"#;
        let got: Vec<String> = json_string_values(body)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            got,
            ["app-db", "v\"2", "line\nnext é😀", "team", "blue-sky"]
        );
        let r = RequestValues::from_json_body(body);
        assert_eq!(
            r.sanitise("secret APP_DB, tag BLUE SKY, SecretName", 100),
            "secret [redacted], tag [redacted], SecretName"
        );
    }

    #[test]
    fn unrelated_messages_pass_unchanged() {
        let r = values(&[CANARY, "my-secret-name"]);
        let m = "Your current request times equals to `11` in a second, which exceeds the frequency limit `10`.";
        assert_eq!(r.sanitise(m, 500), m);
    }
}
