//! The `sops` metadata: where it sits in each format (nested, or flattened with `__map_` /
//! `__list_` keys), what it says (key groups and their recipients, `lastmodified`, `mac`, the
//! encryption rules, `version`), and how it is written back — as sops' `stores/metadata.go`
//! and `stores/stores.go` do, keys sorted as Go's mapstructure output is.

use std::collections::BTreeMap;

use crate::secret::SecretValue;

use super::crypt::{DEFAULT_UNENCRYPTED_SUFFIX, Pattern, Rules};
use super::error::SopsError;
use super::stores::MetadataLayout;
use super::tree::{Branch, Document, Item, Node, Scalar, ScalarType};
use super::value::{self, DateTime};

/// The sops version whose file format this module writes (in the `version` field).
pub const SOPS_VERSION: &str = "3.13.2";

/// The recipient types sops knows besides age, as they are named in the metadata.
pub const OTHER_KEY_TYPES: &[&str] = &["pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"];

/// One age recipient and the data key wrapped for it (an armored age file; public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeStanza {
    pub recipient: String,
    pub enc: String,
}

/// One key group: its age recipients, and how many recipients of each other type it has.
#[derive(Debug, Clone, Default)]
pub struct KeyGroup {
    pub age: Vec<AgeStanza>,
    pub other: Vec<(String, usize)>,
}

/// Everything the `sops` metadata says.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub groups: Vec<KeyGroup>,
    pub shamir_threshold: i64,
    pub lastmodified: DateTime,
    pub mac: String,
    pub rules: Rules,
    pub version: String,
}

impl Metadata {
    /// The additional data the MAC is encrypted with: `lastmodified` as Go formats RFC 3339.
    pub fn mac_additional_data(&self) -> String {
        self.lastmodified.rfc3339()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Remove the metadata from `doc` and decode it.
pub(crate) fn extract(
    doc: &mut Document,
    layout: MetadataLayout,
    file: &str,
) -> Result<Metadata, SopsError> {
    let tree = match layout {
        MetadataLayout::Nested | MetadataLayout::FlatSection => {
            let mut found = None;
            for (bi, branch) in doc.branches.iter_mut().enumerate() {
                let count = branch.entries().filter(|(k, _)| *k == "sops").count();
                if bi == 0 && count > 1 {
                    return Err(SopsError::metadata(file, "found a duplicate `sops` entry"));
                }
                let value = branch.remove("sops");
                if bi == 0 {
                    found = value;
                }
            }
            match found {
                None => return Err(not_sops(file, layout)),
                Some(Node::Map(b)) if layout == MetadataLayout::FlatSection => {
                    let items: Vec<(String, Node)> = b
                        .entries()
                        .map(|(k, v)| (k.to_string(), unescape_newlines(v)))
                        .collect();
                    unflatten(items).map_err(|m| SopsError::metadata(file, m))?
                }
                Some(Node::Map(b)) => b,
                Some(_) => {
                    return Err(SopsError::metadata(
                        file,
                        "the `sops` entry is not a mapping",
                    ));
                }
            }
        }
        MetadataLayout::FlatPrefixed => {
            let mut items = Vec::new();
            if let Some(branch) = doc.branches.first_mut() {
                branch.items.retain(|i| match i {
                    Item::Entry { key, value, .. } if key.starts_with("sops_") => {
                        items.push((key["sops_".len()..].to_string(), value.clone()));
                        false
                    }
                    _ => true,
                });
            }
            if items.is_empty() {
                return Err(not_sops(file, layout));
            }
            unflatten(items).map_err(|m| SopsError::metadata(file, m))?
        }
    };
    decode(&tree, file)
}

fn not_sops(file: &str, layout: MetadataLayout) -> SopsError {
    let hint = match layout {
        MetadataLayout::Nested => " (no top-level `sops` key)",
        MetadataLayout::FlatPrefixed => " (no `sops_` keys)",
        MetadataLayout::FlatSection => " (no `[sops]` section)",
    };
    SopsError::NotSops {
        file: file.to_string(),
        hint: hint.to_string(),
    }
}

fn unescape_newlines(v: &Node) -> Node {
    match v {
        Node::Scalar(s) if s.ty == ScalarType::Str => {
            let text = s.text.expose();
            let mut out = Vec::with_capacity(text.len());
            let mut i = 0;
            while i < text.len() {
                if text[i] == b'\\' && text.get(i + 1) == Some(&b'n') {
                    out.push(b'\n');
                    i += 2;
                } else {
                    out.push(text[i]);
                    i += 1;
                }
            }
            Node::Scalar(Scalar::string(out))
        }
        other => other.clone(),
    }
}

#[derive(Default)]
struct Flat {
    value: Option<Node>,
    keys: BTreeMap<String, Flat>,
    indices: BTreeMap<usize, Flat>,
}

enum Token {
    Map(String),
    List(usize),
}

/// sops' `tokenize`: `a__list_0__map_b` → `a`, `[0]`, `b`.
fn tokenize(path: &str) -> Vec<Token> {
    const MAP: &str = "__map_";
    const LIST: &str = "__list_";
    let mut tokens = Vec::new();
    let mut state = 0; // 0 normal, 1 map, 2 list
    let mut last = 0;
    let mut i = 0;
    let finish = |tokens: &mut Vec<Token>, state: i32, from: usize, to: usize| {
        let t = match state {
            0 => Token::Map(path[from..to].to_string()),
            1 => Token::Map(path[from + MAP.len()..to].to_string()),
            _ => Token::List(path[from + LIST.len()..to].parse().unwrap_or(0)),
        };
        tokens.push(t);
    };
    while i < path.len() {
        if path[i..].starts_with(MAP) {
            finish(&mut tokens, state, last, i);
            last = i;
            state = 1;
            i += MAP.len();
        } else if path[i..].starts_with(LIST) {
            finish(&mut tokens, state, last, i);
            last = i;
            state = 2;
            i += LIST.len();
        } else {
            i += path[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    finish(&mut tokens, state, last, path.len());
    tokens
}

fn unflatten(items: Vec<(String, Node)>) -> Result<Branch, String> {
    let mut root = Flat::default();
    for (key, value) in items {
        let mut node = &mut root;
        for t in tokenize(&key) {
            node = match t {
                Token::Map(k) => node.keys.entry(k).or_default(),
                Token::List(i) => node.indices.entry(i).or_default(),
            };
        }
        if node.value.is_some() {
            return Err(format!("duplicate flattened key `{key}`"));
        }
        node.value = Some(value);
    }
    match convert(root)? {
        Node::Map(b) => Ok(b),
        _ => Err("flattened metadata has no keys".into()),
    }
}

fn convert(f: Flat) -> Result<Node, String> {
    let kinds = [f.value.is_some(), !f.keys.is_empty(), !f.indices.is_empty()];
    if kinds.iter().filter(|k| **k).count() > 1 {
        return Err("flattened metadata mixes a value, keys and indices at one place".into());
    }
    if let Some(v) = f.value {
        return Ok(v);
    }
    if !f.indices.is_empty() {
        let n = f.indices.len();
        if f.indices.keys().copied().ne(0..n) {
            return Err("flattened metadata has an incomplete list".into());
        }
        return f
            .indices
            .into_values()
            .map(convert)
            .collect::<Result<_, _>>()
            .map(Node::List);
    }
    let mut b = Branch::new();
    for (k, v) in f.keys {
        b.push(k, convert(v)?);
    }
    Ok(Node::Map(b))
}

fn text_of(node: &Node) -> Option<String> {
    match node {
        Node::Scalar(s) => Some(String::from_utf8_lossy(s.text.expose()).into_owned()),
        _ => None,
    }
}

fn string_field(m: &Branch, key: &str, file: &str) -> Result<Option<String>, SopsError> {
    match m.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(n @ Node::Scalar(_)) => Ok(text_of(n)),
        Some(_) => Err(SopsError::metadata(
            file,
            format!("`{key}` is not a single value"),
        )),
    }
}

fn group_from(m: &Branch, file: &str) -> Result<KeyGroup, SopsError> {
    let mut g = KeyGroup::default();
    match m.get("age") {
        None | Some(Node::Null) => {}
        Some(Node::List(entries)) => {
            for e in entries {
                let Node::Map(e) = e else {
                    if matches!(e, Node::Comment(_)) {
                        continue;
                    }
                    return Err(SopsError::metadata(file, "an `age` entry is not a mapping"));
                };
                g.age.push(AgeStanza {
                    recipient: string_field(e, "recipient", file)?
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    enc: string_field(e, "enc", file)?.unwrap_or_default(),
                });
            }
        }
        Some(_) => return Err(SopsError::metadata(file, "`age` is not a list")),
    }
    for t in OTHER_KEY_TYPES {
        let n = match m.get(t) {
            Some(Node::List(l)) => l.iter().filter(|n| !matches!(n, Node::Comment(_))).count(),
            _ => 0,
        };
        if n > 0 {
            g.other.push((t.to_string(), n));
        }
    }
    Ok(g)
}

fn decode(m: &Branch, file: &str) -> Result<Metadata, SopsError> {
    let flat = group_from(m, file)?;
    let groups = if !flat.age.is_empty() || !flat.other.is_empty() {
        vec![flat]
    } else {
        match m.get("key_groups") {
            Some(Node::List(gs)) if !gs.is_empty() => gs
                .iter()
                .filter(|g| !matches!(g, Node::Comment(_)))
                .map(|g| match g {
                    Node::Map(b) => group_from(b, file),
                    _ => Err(SopsError::metadata(file, "a key group is not a mapping")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(SopsError::metadata(file, "no keys found in the file")),
        }
    };
    let shamir_threshold = match string_field(m, "shamir_threshold", file)? {
        None => 0,
        Some(t) => t
            .trim()
            .parse()
            .map_err(|_| SopsError::metadata(file, "`shamir_threshold` is not an integer"))?,
    };
    let lm = string_field(m, "lastmodified", file)?
        .ok_or_else(|| SopsError::metadata(file, "`lastmodified` is missing"))?;
    let lastmodified = value::parse_rfc3339(&lm).ok_or_else(|| {
        // Not quoted: a file that only looks like a SOPS file may hold anything there.
        SopsError::metadata(file, "`lastmodified` is not an RFC 3339 time")
    })?;
    let s = |k: &str| string_field(m, k, file).map(|v| v.filter(|v| !v.is_empty()));
    let mut rules = Rules {
        unencrypted_suffix: s("unencrypted_suffix")?,
        encrypted_suffix: s("encrypted_suffix")?,
        unencrypted_regex: s("unencrypted_regex")?.map(|p| Pattern::lenient(&p)),
        encrypted_regex: s("encrypted_regex")?.map(|p| Pattern::lenient(&p)),
        unencrypted_comment_regex: s("unencrypted_comment_regex")?.map(|p| Pattern::lenient(&p)),
        encrypted_comment_regex: s("encrypted_comment_regex")?.map(|p| Pattern::lenient(&p)),
        mac_only_encrypted: match string_field(m, "mac_only_encrypted", file)? {
            None => false,
            Some(v) => value::parse_go_bool(&v).ok_or_else(|| {
                SopsError::metadata(file, "`mac_only_encrypted` is not a boolean")
            })?,
        },
    };
    match rules.selector_count() {
        0 => rules.unencrypted_suffix = Some(DEFAULT_UNENCRYPTED_SUFFIX.to_string()),
        1 => {}
        _ => {
            return Err(SopsError::metadata(
                file,
                "cannot use more than one of encrypted_suffix, unencrypted_suffix, \
                 encrypted_regex, unencrypted_regex, encrypted_comment_regex, or \
                 unencrypted_comment_regex in the same file",
            ));
        }
    }
    Ok(Metadata {
        groups,
        shamir_threshold,
        lastmodified,
        mac: string_field(m, "mac", file)?.unwrap_or_default(),
        rules,
        version: string_field(m, "version", file)?.unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------------------------
// Writing

fn str_node(s: &str) -> Node {
    Node::Scalar(Scalar::string(s.as_bytes().to_vec()))
}

/// The metadata as a mapping, keys in sops' (sorted) order, empty fields left out.
fn to_branch(md: &Metadata) -> Branch {
    let mut b = Branch::new();
    let group = md.groups.first().cloned().unwrap_or_default();
    if !group.age.is_empty() {
        let entries = group
            .age
            .iter()
            .map(|a| {
                let mut e = Branch::new();
                e.push("enc", str_node(&a.enc));
                e.push("recipient", str_node(&a.recipient));
                Node::Map(e)
            })
            .collect();
        b.push("age", Node::List(entries));
    }
    let r = &md.rules;
    if let Some(p) = &r.encrypted_comment_regex {
        b.push("encrypted_comment_regex", str_node(&p.source));
    }
    if let Some(p) = &r.encrypted_regex {
        b.push("encrypted_regex", str_node(&p.source));
    }
    if let Some(s) = &r.encrypted_suffix {
        b.push("encrypted_suffix", str_node(s));
    }
    b.push("lastmodified", str_node(&md.lastmodified.rfc3339()));
    b.push("mac", str_node(&md.mac));
    if r.mac_only_encrypted {
        b.push(
            "mac_only_encrypted",
            Node::Scalar(Scalar::typed(
                ScalarType::Bool,
                SecretValue::from_string("true".into()),
            )),
        );
    }
    if let Some(p) = &r.unencrypted_comment_regex {
        b.push("unencrypted_comment_regex", str_node(&p.source));
    }
    if let Some(p) = &r.unencrypted_regex {
        b.push("unencrypted_regex", str_node(&p.source));
    }
    if let Some(s) = &r.unencrypted_suffix {
        b.push("unencrypted_suffix", str_node(s));
    }
    b.push("version", str_node(&md.version));
    b
}

fn flatten(prefix: &str, node: &Node, out: &mut Vec<(String, Node)>) {
    match node {
        Node::Map(b) => {
            for (k, v) in b.entries() {
                let key = if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}__map_{k}")
                };
                flatten(&key, v, out);
            }
        }
        Node::List(l) => {
            for (i, v) in l.iter().enumerate() {
                flatten(&format!("{prefix}__list_{i}"), v, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// Add the metadata to `doc` as `layout` places it.
pub(crate) fn attach(doc: &mut Document, layout: MetadataLayout, md: &Metadata) {
    let tree = Node::Map(to_branch(md));
    match layout {
        MetadataLayout::Nested => {
            for b in &mut doc.branches {
                b.push("sops", tree.clone());
            }
        }
        MetadataLayout::FlatPrefixed => {
            let mut flat = Vec::new();
            flatten("", &tree, &mut flat);
            if let Some(b) = doc.branches.first_mut() {
                for (k, v) in flat {
                    b.push(format!("sops_{k}"), v);
                }
            }
        }
        MetadataLayout::FlatSection => {
            let mut flat = Vec::new();
            flatten("", &tree, &mut flat);
            let mut section = Branch::new();
            for (k, v) in flat {
                let v = match v {
                    Node::Scalar(s) if s.ty == ScalarType::Str => {
                        let t = String::from_utf8_lossy(s.text.expose()).replace('\n', "\\n");
                        str_node(&t)
                    }
                    other => other,
                };
                section.push(k, v);
            }
            if let Some(b) = doc.branches.first_mut() {
                b.push("sops", Node::Map(section));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md() -> Metadata {
        Metadata {
            groups: vec![KeyGroup {
                age: vec![AgeStanza {
                    recipient: "age1xyz".into(),
                    enc: "-----BEGIN AGE ENCRYPTED FILE-----\nAAA\n-----END AGE ENCRYPTED FILE-----\n".into(),
                }],
                other: vec![],
            }],
            shamir_threshold: 0,
            lastmodified: DateTime::from_unix(1_700_000_000),
            mac: "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]".into(),
            rules: Rules {
                unencrypted_suffix: Some("_unencrypted".into()),
                ..Rules::default()
            },
            version: SOPS_VERSION.into(),
        }
    }

    #[test]
    fn every_layout_round_trips() {
        for layout in [
            MetadataLayout::Nested,
            MetadataLayout::FlatPrefixed,
            MetadataLayout::FlatSection,
        ] {
            let mut doc = Document::single(Branch::new());
            attach(&mut doc, layout, &md());
            let back = extract(&mut doc, layout, "f").unwrap();
            assert_eq!(back.groups[0].age, md().groups[0].age, "{layout:?}");
            assert_eq!(back.lastmodified, md().lastmodified);
            assert_eq!(back.mac, md().mac);
            assert_eq!(
                back.rules.unencrypted_suffix.as_deref(),
                Some("_unencrypted")
            );
            assert_eq!(doc.branches[0].items.len(), 0, "metadata removed");
        }
    }

    #[test]
    fn flattened_keys_are_sops_keys() {
        let mut doc = Document::single(Branch::new());
        attach(&mut doc, MetadataLayout::FlatPrefixed, &md());
        let keys: Vec<&str> = doc.branches[0].entries().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "sops_age__list_0__map_enc",
                "sops_age__list_0__map_recipient",
                "sops_lastmodified",
                "sops_mac",
                "sops_unencrypted_suffix",
                "sops_version"
            ]
        );
    }

    #[test]
    fn missing_metadata_and_conflicting_rules() {
        let mut doc = Document::single(Branch::new());
        let e = extract(&mut doc, MetadataLayout::Nested, "f.yaml").unwrap_err();
        assert!(e.to_string().starts_with("f.yaml: not a SOPS file"), "{e}");
        let mut m = md();
        m.rules.encrypted_regex = Some(Pattern::lenient("x"));
        let mut doc = Document::single(Branch::new());
        attach(&mut doc, MetadataLayout::Nested, &m);
        let e = extract(&mut doc, MetadataLayout::Nested, "f").unwrap_err();
        assert!(e.to_string().contains("more than one"), "{e}");
    }
}
