//! The document model shared by every store: ordered branches of key/value items, typed scalars,
//! lists, nulls and comments, as sops' own `TreeBranch` holds them.
//!
//! Every scalar and comment holds its text as a [`SecretValue`]: in a decrypted tree that text is
//! plaintext, and in an encrypted one it is the `ENC[...]` string (or a value left in clear by the
//! encryption rules). Key names are plain `String`s: SOPS keeps them in clear in the file.
//!
//! Scalars keep their type the way sops does (`str`, `int`, `float`, `bool`, `time`, `bytes`), with
//! the text in a canonical form (see [`Scalar`]), so the MAC bytes and the re-serialised output
//! follow from it without a second parse.

use std::collections::BTreeMap;

use crate::secret::SecretValue;

use super::value;

/// Where something is in its file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn new(line: usize, col: usize) -> Self {
        Pos {
            line: line.min(u32::MAX as usize) as u32,
            col: col.min(u32::MAX as usize) as u32,
        }
    }
}

/// The type sops records for a value (the `type:` of `ENC[...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarType {
    Str,
    Int,
    Float,
    Bool,
    /// A YAML timestamp (`type:time`); the text is RFC 3339 as Go's `time.MarshalText` writes it.
    Time,
    /// Raw bytes (`type:bytes`, written by old sops versions for binary data).
    Bytes,
}

impl ScalarType {
    /// The name in `ENC[...,type:NAME]`.
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::Str => "str",
            ScalarType::Int => "int",
            ScalarType::Float => "float",
            ScalarType::Bool => "bool",
            ScalarType::Time => "time",
            ScalarType::Bytes => "bytes",
        }
    }
}

/// A leaf value.
///
/// `text` is canonical for the type: an `int` is its decimal digits (`-12`), a `float` the
/// shortest decimal that reads back as the same double without an exponent (Go's
/// `FormatFloat(f, 'f', -1, 64)`, `NaN`, `+Inf`, `-Inf`), a `bool` is `true` or `false`, a `time`
/// is RFC 3339 with nanoseconds as needed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub ty: ScalarType,
    pub text: SecretValue,
    pub pos: Option<Pos>,
}

impl Scalar {
    pub fn string(text: impl Into<Vec<u8>>) -> Self {
        Scalar {
            ty: ScalarType::Str,
            text: SecretValue::new(text.into()),
            pos: None,
        }
    }

    pub fn typed(ty: ScalarType, text: SecretValue) -> Self {
        Scalar {
            ty,
            text,
            pos: None,
        }
    }

    pub fn at(mut self, pos: Pos) -> Self {
        self.pos = Some(pos);
        self
    }

    /// The bytes sops hashes into the MAC for this value (its `ToBytes`): strings and bytes as
    /// they are, booleans as `True`/`False`, numbers and times in their canonical text.
    pub fn mac_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(match self.ty {
            ScalarType::Bool => {
                if self.text.expose() == b"true" {
                    b"True".to_vec()
                } else {
                    b"False".to_vec()
                }
            }
            _ => self.text.expose().to_vec(),
        })
    }

    /// The value as the flattened `data` map shows it (Go's `fmt.Sprint`, as
    /// terraform-provider-sops flattens): strings as they are, numbers in Go's `%v` form,
    /// booleans `true`/`false`.
    pub fn display_text(&self) -> SecretValue {
        match self.ty {
            ScalarType::Float => SecretValue::from_string(value::go_float_g(&self.text)),
            _ => self.text.clone(),
        }
    }

    pub fn is_empty_string(&self) -> bool {
        matches!(self.ty, ScalarType::Str | ScalarType::Bytes) && self.text.is_empty()
    }
}

/// A comment line (without its `#`/`;`), `inline` when it followed a value on the same line.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub text: SecretValue,
    pub inline: bool,
    pub pos: Option<Pos>,
}

impl Comment {
    pub fn new(text: impl Into<Vec<u8>>) -> Self {
        Comment {
            text: SecretValue::new(text.into()),
            inline: false,
            pos: None,
        }
    }
}

/// A value in the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Map(Branch),
    List(Vec<Node>),
    Scalar(Scalar),
    /// Only inside lists (in a mapping a comment is an [`Item::Comment`]).
    Comment(Comment),
    Null,
}

impl Node {
    pub fn string(text: impl Into<Vec<u8>>) -> Self {
        Node::Scalar(Scalar::string(text))
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Branch> {
        match self {
            Node::Map(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Node]> {
        match self {
            Node::List(l) => Some(l),
            _ => None,
        }
    }
}

/// An entry of a mapping: a key and its value, or a comment between entries.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Entry {
        key: String,
        value: Node,
        pos: Option<Pos>,
    },
    Comment(Comment),
}

/// An ordered mapping (sops' `TreeBranch`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Branch {
    pub items: Vec<Item>,
}

impl Branch {
    pub fn new() -> Self {
        Branch::default()
    }

    /// Append `key: value`.
    pub fn push(&mut self, key: impl Into<String>, value: Node) -> &mut Self {
        self.items.push(Item::Entry {
            key: key.into(),
            value,
            pos: None,
        });
        self
    }

    /// Append a comment line.
    pub fn push_comment(&mut self, text: impl Into<Vec<u8>>) -> &mut Self {
        self.items.push(Item::Comment(Comment::new(text)));
        self
    }

    /// The value of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The entries, comments skipped.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.items.iter().filter_map(|i| match i {
            Item::Entry { key, value, .. } => Some((key.as_str(), value)),
            Item::Comment(_) => None,
        })
    }

    /// Remove every entry named `key`, returning the first one's value.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let mut found = None;
        self.items.retain_mut(|i| match i {
            Item::Entry { key: k, value, .. } if k == key => {
                if found.is_none() {
                    found = Some(std::mem::replace(value, Node::Null));
                }
                false
            }
            _ => true,
        });
        found
    }
}

/// A whole document: one branch per YAML document, exactly one for the other formats.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    pub branches: Vec<Branch>,
}

impl Document {
    pub fn single(branch: Branch) -> Self {
        Document {
            branches: vec![branch],
        }
    }

    /// The values flattened as the `data` attribute shows them: nested keys joined with `.`,
    /// list elements by index (`db.hosts.0`), numbers and booleans as text, `null` for nulls.
    /// With several YAML documents, each key is prefixed with its document's index (`1.key`).
    pub fn flatten(&self) -> BTreeMap<String, SecretValue> {
        let mut out = BTreeMap::new();
        let many = self.branches.len() > 1;
        for (i, branch) in self.branches.iter().enumerate() {
            let prefix = if many { Some(i.to_string()) } else { None };
            flatten_branch(branch, prefix.as_deref(), &mut out);
        }
        out
    }
}

fn join(prefix: Option<&str>, key: &str) -> String {
    match prefix {
        Some(p) => format!("{p}.{key}"),
        None => key.to_string(),
    }
}

fn flatten_branch(branch: &Branch, prefix: Option<&str>, out: &mut BTreeMap<String, SecretValue>) {
    for (key, value) in branch.entries() {
        flatten_node(value, &join(prefix, key), out);
    }
}

fn flatten_node(node: &Node, path: &str, out: &mut BTreeMap<String, SecretValue>) {
    match node {
        Node::Map(b) => flatten_branch(b, Some(path), out),
        Node::List(items) => {
            let values = items.iter().filter(|n| !matches!(n, Node::Comment(_)));
            for (i, item) in values.enumerate() {
                flatten_node(item, &format!("{path}.{i}"), out);
            }
        }
        Node::Scalar(s) => {
            out.insert(path.to_string(), s.display_text());
        }
        Node::Null => {
            out.insert(path.to_string(), SecretValue::from_string("null".into()));
        }
        Node::Comment(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Node {
        Node::string(v)
    }

    #[test]
    fn flatten_joins_keys_and_indexes_lists() {
        let mut db = Branch::new();
        db.push(
            "hosts",
            Node::List(vec![s("a"), Node::Comment(Comment::new("c")), s("b")]),
        );
        db.push(
            "port",
            Node::Scalar(Scalar::typed(
                ScalarType::Int,
                SecretValue::from_string("5432".into()),
            )),
        );
        let mut root = Branch::new();
        root.push("db", Node::Map(db));
        root.push_comment(" a comment");
        root.push(
            "on",
            Node::Scalar(Scalar::typed(
                ScalarType::Bool,
                SecretValue::from_string("true".into()),
            )),
        );
        root.push("nothing", Node::Null);
        let flat = Document::single(root).flatten();
        let shown: Vec<(String, String)> = flat
            .iter()
            .map(|(k, v)| (k.clone(), v.expose_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            shown,
            [
                ("db.hosts.0".to_string(), "a".to_string()),
                ("db.hosts.1".into(), "b".into()),
                ("db.port".into(), "5432".into()),
                ("nothing".into(), "null".into()),
                ("on".into(), "true".into()),
            ]
        );
    }

    #[test]
    fn mac_bytes_follow_sops_to_bytes() {
        let b = Scalar::typed(ScalarType::Bool, SecretValue::from_string("false".into()));
        assert_eq!(&b.mac_bytes()[..], b"False");
        let f = Scalar::typed(ScalarType::Float, SecretValue::from_string("1234.5".into()));
        assert_eq!(&f.mac_bytes()[..], b"1234.5");
    }

    #[test]
    fn debug_never_shows_values() {
        let mut b = Branch::new();
        b.push("k", s("cnry-tree-debug-9f2"));
        b.push_comment("cnry-comment-debug-77a");
        let shown = format!("{:?}", Document::single(b));
        assert!(!shown.contains("cnry"), "{shown}");
    }
}
