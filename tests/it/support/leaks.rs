//! The one leak check of the end-to-end tests: a canary (a value that must never leave the store)
//! is searched for in every form a program could give it away in.
//!
//! For every canary, [`Leaks`] looks for these forms, in any byte of the haystack:
//!
//! - **plain**, in any ASCII case (`cnryX` also finds `CNRYX` and `CnRyX`);
//! - **separators changed or removed**: both sides are compared with `-`, `_`, `.`, `:`, `/`,
//!   space, tab and line breaks taken out, so `alpha-canary` also finds `ALPHA_CANARY`,
//!   `alpha canary`, `alphacanary` and a value wrapped over two lines;
//! - **hex**, lower and upper case;
//! - **base64**, standard and URL-safe, padded or not, at all three alignments: the canary
//!   preceded by 0, 1 or 2 bytes of anything. Only the characters made of canary bits alone are
//!   searched (the stable middle of the encoding), so the bytes around it do not matter;
//! - **URL-encoded**: every byte as `%XX`, RFC 3986 (unreserved characters kept), and form
//!   encoding (space as `+`), in either case of hex digit;
//! - **JSON-escaped**: `serde_json::to_string` without its quotes, the same escaped twice (JSON in a
//!   JSON string), and every character as `\uXXXX`;
//! - **truncated**: every prefix of 8 or more characters (a canary shorter than 8 is searched
//!   whole), and every 12-character piece, each in every form above. (A prefix is searched in the
//!   separator-free form once it holds 8 characters that are not separators.)
//!
//! Canaries should be distinctive: their first 8 characters, and any 12 in a row, must not be
//! words the output contains for other reasons. A value whose first word is public (the default
//! `platform-demo-password` of a configuration in `platform/` with a secret `platform-db-admin`)
//! is searched by its secret part, `-demo-password`.
//!
//! ```ignore
//! let leaks = Leaks::new(["cnryLive7Hq2Xp9Tz"]);
//! out.assert_success().assert_no_leak(&leaks);
//! ws.assert_no_leak_in_files(&leaks); // plan files, journals, .ssmform/ (not the inputs)
//! ```

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use base64::Engine;

use super::process::Output;

/// The characters the separator-free form takes out, on both sides.
const SEPARATORS: &[u8] = b"-_.:/ \t\r\n";
/// Prefixes shorter than this are not searched (unless the canary is shorter).
const PREFIX: usize = 8;
/// Pieces of this many characters, anywhere in the canary, are searched.
const PIECE: usize = 12;
/// A canary shorter than this would match ordinary text.
const SHORTEST: usize = 5;
/// The index key: needles at least this long are found through a hash of their first bytes.
const KEY: usize = 8;

/// How the haystack is read before a needle is looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum View {
    /// As it is (base64 is case-sensitive and uses `-`, `_` and `/`).
    Exact,
    /// ASCII lower case.
    Lower,
    /// ASCII lower case, separators removed.
    Folded,
}

const VIEWS: [View; 3] = [View::Exact, View::Lower, View::Folded];

#[derive(Clone, Debug)]
struct Needle {
    canary: usize,
    form: String,
    bytes: Vec<u8>,
}

/// A leak found: which canary, in which form, where.
#[derive(Debug, Clone)]
pub struct Leak {
    /// The canary's name (its value, unless named with [`Leaks::named`]).
    pub canary: String,
    /// The form it was found in, e.g. `base64url@2` or `hex of the prefix`.
    pub form: String,
    /// Byte offset in the haystack.
    pub at: usize,
    /// Up to 80 bytes either side, lossily decoded.
    pub context: String,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} leaked ({} form) at byte {}:\n…{}…",
            self.canary, self.form, self.at, self.context
        )
    }
}

/// A set of canaries with every form of each, ready to search haystacks for.
pub struct Leaks {
    names: Vec<String>,
    /// Per view: needles of at least [`KEY`] bytes by their first [`KEY`] bytes.
    keyed: HashMap<View, HashMap<[u8; KEY], Vec<Needle>>>,
    /// Per view: the shorter needles (short canaries only).
    short: HashMap<View, Vec<Needle>>,
}

impl Leaks {
    /// Canaries reported by their value.
    pub fn new<I, S>(canaries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let named: Vec<(String, String)> = canaries
            .into_iter()
            .map(|c| (format!("canary {:?}", c.as_ref()), c.as_ref().to_string()))
            .collect();
        Self::build(named)
    }

    /// Canaries with a name each (`("live JSON value", "cnry...")`), reported by name.
    pub fn named<'a>(canaries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::build(
            canaries
                .into_iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn build(canaries: Vec<(String, String)>) -> Self {
        let mut seen: BTreeSet<(View, Vec<u8>)> = BTreeSet::new();
        let mut keyed: HashMap<View, HashMap<[u8; KEY], Vec<Needle>>> = HashMap::new();
        let mut short: HashMap<View, Vec<Needle>> = HashMap::new();
        let mut names = Vec::new();
        for (i, (name, value)) in canaries.into_iter().enumerate() {
            assert!(
                value.chars().count() >= SHORTEST,
                "the {name} is too short to search for without false alarms"
            );
            names.push(name);
            for (view, form, bytes) in forms(&value) {
                if bytes.is_empty() || !seen.insert((view, bytes.clone())) {
                    continue;
                }
                let needle = Needle {
                    canary: i,
                    form,
                    bytes,
                };
                if needle.bytes.len() >= KEY {
                    let key: [u8; KEY] = needle.bytes[..KEY].try_into().unwrap();
                    keyed
                        .entry(view)
                        .or_default()
                        .entry(key)
                        .or_default()
                        .push(needle);
                } else {
                    short.entry(view).or_default().push(needle);
                }
            }
        }
        Leaks {
            names,
            keyed,
            short,
        }
    }

    /// The first leak in `haystack`, if any.
    pub fn find(&self, haystack: &[u8]) -> Option<Leak> {
        for view in VIEWS {
            let (bytes, positions) = read_as(view, haystack);
            let hit = self.find_in(view, &bytes);
            if let Some((at, needle)) = hit {
                let at = positions.map_or(at, |p| p[at]);
                let from = at.saturating_sub(80);
                let to = (at + needle.bytes.len() + 80).min(haystack.len());
                return Some(Leak {
                    canary: self.names[needle.canary].clone(),
                    form: needle.form.clone(),
                    at,
                    context: String::from_utf8_lossy(&haystack[from..to]).into_owned(),
                });
            }
        }
        None
    }

    fn find_in<'a>(&'a self, view: View, bytes: &[u8]) -> Option<(usize, &'a Needle)> {
        if let Some(short) = self.short.get(&view) {
            for n in short {
                if let Some(at) = find(bytes, &n.bytes) {
                    return Some((at, n));
                }
            }
        }
        let keyed = self.keyed.get(&view)?;
        if bytes.len() < KEY {
            return None;
        }
        for at in 0..=bytes.len() - KEY {
            let key: [u8; KEY] = bytes[at..at + KEY].try_into().unwrap();
            if let Some(candidates) = keyed.get(&key) {
                for n in candidates {
                    if bytes[at..].starts_with(&n.bytes) {
                        return Some((at, n));
                    }
                }
            }
        }
        None
    }

    /// Panic, naming `what`, the canary, the form and the place, if `haystack` holds a canary.
    #[track_caller]
    pub fn assert_absent(&self, what: &str, haystack: impl AsRef<[u8]>) {
        if let Some(leak) = self.find(haystack.as_ref()) {
            panic!("{what}: {leak}");
        }
    }

    /// [`Leaks::assert_absent`] on a run's stdout and stderr.
    #[track_caller]
    pub fn assert_output_clean(&self, out: &Output) {
        self.assert_absent(&format!("`{}`: stdout", out.command), &out.stdout);
        self.assert_absent(&format!("`{}`: stderr", out.command), &out.stderr);
    }

    /// [`Leaks::assert_absent`] on every file under `dir` (recursively, hidden ones included)
    /// for which `skip` is false: plan files, journals, `.ssmform/`. Returns how many files were
    /// searched.
    #[track_caller]
    pub fn assert_tree_clean(&self, dir: &Path, skip: impl Fn(&Path) -> bool) -> usize {
        let files = files_under(dir);
        let mut searched = 0;
        for file in files.iter().filter(|f| !skip(f)) {
            let bytes =
                std::fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
            self.assert_absent(&file.display().to_string(), bytes);
            searched += 1;
        }
        searched
    }
}

/// Panic if `haystack` holds any of `canaries` in any form (see the module documentation).
#[track_caller]
pub fn assert_no_leak<S: AsRef<str>>(what: &str, haystack: impl AsRef<[u8]>, canaries: &[S]) {
    Leaks::new(canaries).assert_absent(what, haystack);
}

/// Every regular file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let entry = entry.expect("directory entry");
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                walk(&entry.path(), out);
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `haystack` as `view` reads it, and for the folded view where each byte came from.
fn read_as(view: View, haystack: &[u8]) -> (Vec<u8>, Option<Vec<usize>>) {
    match view {
        View::Exact => (haystack.to_vec(), None),
        View::Lower => (haystack.to_ascii_lowercase(), None),
        View::Folded => {
            let mut bytes = Vec::with_capacity(haystack.len());
            let mut positions = Vec::with_capacity(haystack.len());
            for (i, b) in haystack.iter().enumerate() {
                if !SEPARATORS.contains(b) {
                    bytes.push(b.to_ascii_lowercase());
                    positions.push(i);
                }
            }
            (bytes, Some(positions))
        }
    }
}

fn fold(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(|b| !SEPARATORS.contains(b))
        .map(|b| b.to_ascii_lowercase())
        .collect()
}

/// The pieces of a canary searched for: the shortest prefix searched (longer ones contain it),
/// and every [`PIECE`]-character run.
fn pieces(canary: &str) -> Vec<(&'static str, String)> {
    let chars: Vec<char> = canary.chars().collect();
    let mut out = vec![(
        "prefix",
        chars[..chars.len().min(PREFIX)].iter().collect::<String>(),
    )];
    if chars.len() > PIECE {
        for w in chars.windows(PIECE) {
            out.push(("piece", w.iter().collect()));
        }
    } else if chars.len() > PREFIX {
        out.push(("whole", canary.to_string()));
    }
    out
}

/// Every (view, form name, needle) for `canary`.
fn forms(canary: &str) -> Vec<(View, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (piece_kind, piece) in pieces(canary) {
        let of = |form: &str| format!("{form} of the {piece_kind}");
        let bytes = piece.as_bytes();
        out.push((
            View::Lower,
            of("plain"),
            piece.to_ascii_lowercase().into_bytes(),
        ));
        out.push((View::Lower, of("hex"), hex::encode(bytes).into_bytes()));
        for (label, engine) in [
            ("base64", &base64::engine::general_purpose::STANDARD),
            ("base64url", &base64::engine::general_purpose::URL_SAFE),
        ] {
            for offset in 0..3 {
                if let Some(middle) = base64_middle(engine, bytes, offset) {
                    out.push((View::Exact, of(&format!("{label}@{offset}")), middle));
                }
            }
        }
        for (label, encoded) in [
            (
                "every byte %-encoded",
                percent_encode(bytes, |_| false, false),
            ),
            (
                "URL-encoded",
                percent_encode(
                    bytes,
                    |b| b.is_ascii_alphanumeric() || b"-._~".contains(&b),
                    false,
                ),
            ),
            (
                "form-encoded",
                percent_encode(
                    bytes,
                    |b| b.is_ascii_alphanumeric() || b"-._*".contains(&b),
                    true,
                ),
            ),
        ] {
            out.push((
                View::Lower,
                of(label),
                encoded.to_ascii_lowercase().into_bytes(),
            ));
        }
        let json = json_inner(&piece);
        out.push((
            View::Lower,
            of("JSON-escaped"),
            json.to_ascii_lowercase().into_bytes(),
        ));
        out.push((
            View::Lower,
            of("JSON-escaped twice"),
            json_inner(&json).to_ascii_lowercase().into_bytes(),
        ));
        let unicode: String = piece
            .encode_utf16()
            .map(|u| format!("\\u{u:04x}"))
            .collect();
        out.push((View::Lower, of("\\u-escaped"), unicode.into_bytes()));
    }
    // Separator-free: the shortest prefix holding PREFIX characters that are not separators
    // (or the whole canary), and every PIECE-character run of the folded canary.
    let folded = fold(canary);
    let mut prefix = Vec::new();
    for b in canary.bytes() {
        if !SEPARATORS.contains(&b) {
            prefix.push(b.to_ascii_lowercase());
        }
        if prefix.len() == PREFIX {
            break;
        }
    }
    out.push((View::Folded, "separator-free prefix".into(), prefix));
    if folded.len() > PIECE {
        for w in folded.windows(PIECE) {
            out.push((View::Folded, "separator-free piece".into(), w.to_vec()));
        }
    } else {
        out.push((View::Folded, "separator-free whole".into(), folded));
    }
    out
}

/// The base64 characters of `bytes` preceded by `offset` bytes of anything that depend on
/// `bytes` alone: every character whose six bits all come from `bytes`, whatever comes before
/// or after.
fn base64_middle(
    engine: &base64::engine::GeneralPurpose,
    bytes: &[u8],
    offset: usize,
) -> Option<Vec<u8>> {
    let mut input = vec![b'~'; offset];
    input.extend_from_slice(bytes);
    let encoded = engine.encode(&input);
    let (from_bit, to_bit) = (8 * offset, 8 * input.len());
    let first = from_bit.div_ceil(6);
    let last = to_bit / 6; // exclusive: characters first..last hold bits within the canary
    (last > first).then(|| encoded.as_bytes()[first..last].to_vec())
}

fn percent_encode(bytes: &[u8], keep: impl Fn(u8) -> bool, plus_for_space: bool) -> String {
    let mut out = String::new();
    for &b in bytes {
        if keep(b) {
            out.push(b as char);
        } else if plus_for_space && b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `serde_json::to_string(s)` without the quotes.
fn json_inner(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("a string serialises");
    quoted[1..quoted.len() - 1].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

    const CANARY: &str = "cnry-Leak_7Hq2/Xp9 Tz+Wv";

    fn leaks() -> Leaks {
        Leaks::new([CANARY])
    }

    #[track_caller]
    fn flagged(haystack: impl AsRef<[u8]>) -> Leak {
        let h = haystack.as_ref();
        leaks()
            .find(h)
            .unwrap_or_else(|| panic!("not flagged: {}", String::from_utf8_lossy(h)))
    }

    /// The canary inside a value, after `prefix`, with text after it.
    fn value(prefix: &str) -> String {
        format!("{prefix}{CANARY}-rest")
    }

    #[test]
    fn plain_and_any_case_are_flagged() {
        flagged(format!("before {CANARY} after"));
        flagged(CANARY.to_ascii_uppercase());
        flagged(CANARY.to_ascii_lowercase());
    }

    #[test]
    fn changed_or_removed_separators_are_flagged() {
        flagged("CNRY_LEAK-7HQ2.XP9_TZ+WV");
        flagged("cnryleak7hq2xp9tz+wv");
        flagged("cnry.leak.7hq2 xp9/tz+wv");
        flagged("cnry-Leak_7Hq2/X\np9 Tz+Wv");
    }

    #[test]
    fn hex_in_either_case_is_flagged() {
        for prefix in ["", "a", "ab", "abc"] {
            flagged(hex::encode(value(prefix)));
            flagged(hex::encode_upper(value(prefix)));
        }
    }

    #[test]
    fn base64_of_every_kind_at_every_alignment_is_flagged() {
        for prefix in ["", "a", "ab", "abc", "\u{0}\u{1}"] {
            let v = value(prefix);
            for encoded in [
                STANDARD.encode(&v),
                STANDARD_NO_PAD.encode(&v),
                URL_SAFE.encode(&v),
                URL_SAFE_NO_PAD.encode(&v),
            ] {
                let leak = flagged(format!("data: {encoded}\n"));
                assert!(leak.form.starts_with("base64"), "{leak}");
            }
        }
        // The canary alone, nothing around it.
        flagged(STANDARD.encode(CANARY));
    }

    #[test]
    fn url_encoding_is_flagged() {
        let every: String = CANARY.bytes().map(|b| format!("%{b:02x}")).collect();
        flagged(format!("?v={every}"));
        flagged(format!("?v={}", every.to_ascii_uppercase()));
        flagged("q=cnry-Leak_7Hq2%2FXp9%20Tz%2BWv");
        flagged("q=cnry-Leak_7Hq2%2FXp9+Tz%2BWv");
    }

    #[test]
    fn json_escaping_is_flagged() {
        let nasty = "cnry\"Quote\\Back\u{1}Ctl";
        let leaks = Leaks::new([nasty]);
        let once = serde_json::to_string(nasty).unwrap();
        let twice = serde_json::to_string(&once).unwrap();
        for h in [&once, &twice] {
            assert!(leaks.find(h.as_bytes()).is_some(), "{h}");
        }
        let unicode: String = CANARY
            .encode_utf16()
            .map(|u| format!("\\u{u:04X}"))
            .collect();
        flagged(format!("{{\"v\":\"{unicode}\"}}"));
        flagged(unicode.to_ascii_lowercase());
    }

    #[test]
    fn every_prefix_of_eight_characters_or_more_is_flagged() {
        let chars: Vec<char> = CANARY.chars().collect();
        for n in PREFIX..=chars.len() {
            let prefix: String = chars[..n].iter().collect();
            flagged(format!("value starts with {prefix}…"));
            flagged(hex::encode(&prefix));
            flagged(STANDARD.encode(format!("x{prefix}")));
        }
        // Any 12 characters in a row, too.
        flagged(format!("…{}…", &CANARY[6..18]));
    }

    #[test]
    fn short_canaries_are_searched_whole() {
        let leaks = Leaks::new(["twelve"]);
        assert!(leaks.find(b"value: TWELVE").is_some());
        assert!(leaks.find(hex::encode("twelve").as_bytes()).is_some());
        assert!(leaks.find(b"value: twelfth").is_none());
    }

    #[test]
    fn unrelated_text_is_not_flagged() {
        let clean = [
            "Plan: 2 to create, 7 to update, 0 to delete, 1 unchanged.".to_string(),
            "secret.cnry_other: cnry-Le is not a canary, nor Leak_7Hq2 alone".to_string(),
            hex::encode("cnry-Lx is another value"),
            STANDARD.encode("cnry-Lx: an unrelated value, 7Hq3 Xp8"),
            "{\"@level\":\"info\",\"@message\":\"apply_complete\",\"type\":\"apply\"}".to_string(),
        ];
        for text in clean {
            if let Some(leak) = leaks().find(text.as_bytes()) {
                panic!("false alarm in {text:?}: {leak}");
            }
        }
        leaks().assert_absent("empty", b"");
        leaks().assert_absent("short", b"cnry");
    }

    #[test]
    fn a_leak_names_the_canary_the_form_and_the_place() {
        let leaks = Leaks::named([("live JSON value", CANARY)]);
        let h = format!("0123456789{}", hex::encode(CANARY));
        let leak = leaks.find(h.as_bytes()).unwrap();
        assert_eq!(leak.canary, "live JSON value");
        assert_eq!(leak.at, 10);
        assert!(leak.form.starts_with("hex"), "{leak}");
        let message = std::panic::catch_unwind(|| leaks.assert_absent("the output", &h))
            .unwrap_err()
            .downcast::<String>()
            .unwrap();
        assert!(
            message.starts_with("the output: the live JSON value leaked (hex"),
            "{message}"
        );
    }

    #[test]
    fn a_tree_is_searched_file_by_file_and_skips_what_it_is_told_to() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join(".ssmform/journal");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("run.jsonl"), "{\"type\":\"run_start\"}\n").unwrap();
        std::fs::write(dir.path().join("main.hcl"), CANARY).unwrap();
        let input = dir.path().join("main.hcl");
        assert_eq!(
            leaks().assert_tree_clean(dir.path(), |p| p == input.as_path()),
            1
        );
        std::fs::write(nested.join("bad.jsonl"), STANDARD.encode(CANARY)).unwrap();
        let caught = std::panic::catch_unwind(|| {
            leaks().assert_tree_clean(dir.path(), |p| p == input.as_path())
        });
        assert!(caught.is_err());
    }
}
