//! Walking a tree to encrypt or decrypt it, the rules that decide which values are encrypted
//! (`unencrypted_suffix`, `encrypted_suffix`, `unencrypted_regex`, `encrypted_regex`, and the
//! comment regexes), and the MAC — all as sops' `sops.go` does.
//!
//! The walk visits leaves in document order. A value's additional data is its key path joined
//! with `:` plus a trailing `:` (list indices are not part of it); a comment's is the path of the
//! mapping or list that holds it. The MAC is SHA-512 over the `ToBytes` form of every value
//! (booleans `True`/`False`), upper-case hex, in tree order; comments and nulls never enter it.
//! With `mac_only_encrypted` only the values that end up encrypted do, after a fixed 32-byte
//! prefix (SHA-256 of "sops").

use sha2::{Digest, Sha512};

use crate::secret::SecretValue;

use super::cipher::{self, CipherError, DataKey, Plain};
use super::error::{At, KeyPath, SopsError};
use super::tree::{Branch, Comment, Document, Item, Node, Scalar};

/// `sha256("sops")`, hashed first when `mac_only_encrypted` is set.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// The default `unencrypted_suffix` when a file names no rule.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// A compiled regex rule with its source text (written back into the metadata).
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    /// `None` when the pattern does not compile: on reading it then matches nothing, as Go's
    /// `regexp.Match` does when it returns an error.
    regex: Option<regex::Regex>,
}

impl Pattern {
    /// A pattern from a file (never fails).
    pub fn lenient(source: &str) -> Self {
        Pattern {
            source: source.to_string(),
            regex: regex::Regex::new(source).ok(),
        }
    }

    /// A pattern to write into a new file: it must compile.
    pub fn strict(source: &str) -> Result<Self, String> {
        regex::Regex::new(source)
            .map(|r| Pattern {
                source: source.to_string(),
                regex: Some(r),
            })
            .map_err(|e| format!("invalid regular expression `{source}`: {e}"))
    }

    fn is_match(&self, s: &[u8]) -> bool {
        match (&self.regex, std::str::from_utf8(s)) {
            (Some(r), Ok(s)) => r.is_match(s),
            _ => false,
        }
    }
}

/// Which values are encrypted, and what the MAC covers. At most one of the six selectors is set.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub unencrypted_suffix: Option<String>,
    pub encrypted_suffix: Option<String>,
    pub unencrypted_regex: Option<Pattern>,
    pub encrypted_regex: Option<Pattern>,
    pub unencrypted_comment_regex: Option<Pattern>,
    pub encrypted_comment_regex: Option<Pattern>,
    pub mac_only_encrypted: bool,
}

impl Rules {
    /// How many of the six selectors are set.
    pub fn selector_count(&self) -> usize {
        [
            self.unencrypted_suffix.is_some(),
            self.encrypted_suffix.is_some(),
            self.unencrypted_regex.is_some(),
            self.encrypted_regex.is_some(),
            self.unencrypted_comment_regex.is_some(),
            self.encrypted_comment_regex.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }

    /// sops' `shouldBeEncrypted`.
    fn should_encrypt(
        &self,
        path: &[String],
        stack: &[Vec<SecretValue>],
        is_comment: bool,
    ) -> bool {
        let mut encrypted = true;
        if let Some(suffix) = self.unencrypted_suffix.as_deref().filter(|s| !s.is_empty())
            && path.iter().any(|p| p.ends_with(suffix))
        {
            encrypted = false;
        }
        if let Some(suffix) = self.encrypted_suffix.as_deref().filter(|s| !s.is_empty()) {
            encrypted = path.iter().any(|p| p.ends_with(suffix));
        }
        if let Some(re) = &self.unencrypted_regex
            && path.iter().any(|p| re.is_match(p.as_bytes()))
        {
            encrypted = false;
        }
        if let Some(re) = &self.encrypted_regex {
            encrypted = path.iter().any(|p| re.is_match(p.as_bytes()));
        }
        if let Some(re) = &self.unencrypted_comment_regex
            && stack.iter().flatten().any(|c| re.is_match(c.expose()))
        {
            encrypted = false;
        }
        if let Some(re) = &self.encrypted_comment_regex {
            let last = stack.len().saturating_sub(1);
            let last_len = stack.last().map_or(0, Vec::len);
            encrypted = stack.iter().enumerate().any(|(i, cs)| {
                cs.iter().enumerate().any(|(j, c)| {
                    // The comment that matches is itself left in clear.
                    let itself = is_comment && i == last && j + 1 == last_len;
                    !itself && re.is_match(c.expose())
                })
            });
        }
        encrypted
    }
}

/// A leaf the walk hands out.
enum Leaf<'a> {
    Value(&'a mut Scalar),
    Comment(&'a mut Comment),
}

type Visit<'f> = dyn FnMut(Leaf<'_>, &[String], &[Vec<SecretValue>]) -> Result<(), SopsError> + 'f;

fn walk_branch(
    branch: &mut Branch,
    path: &mut Vec<String>,
    stack: &mut Vec<Vec<SecretValue>>,
    f: &mut Visit<'_>,
) -> Result<(), SopsError> {
    stack.push(Vec::new());
    for item in &mut branch.items {
        match item {
            Item::Comment(c) => {
                stack.last_mut().expect("pushed").push(c.text.clone());
                f(Leaf::Comment(c), path, stack)?;
            }
            Item::Entry { key, value, .. } => {
                path.push(key.clone());
                let r = walk_node(value, path, stack, f);
                path.pop();
                r?;
                stack.last_mut().expect("pushed").clear();
            }
        }
    }
    stack.pop();
    Ok(())
}

fn walk_node(
    node: &mut Node,
    path: &mut Vec<String>,
    stack: &mut Vec<Vec<SecretValue>>,
    f: &mut Visit<'_>,
) -> Result<(), SopsError> {
    match node {
        Node::Map(b) => walk_branch(b, path, stack, f),
        Node::List(items) => {
            stack.push(Vec::new());
            for item in items {
                if let Node::Comment(c) = item {
                    stack.last_mut().expect("pushed").push(c.text.clone());
                    f(Leaf::Comment(c), path, stack)?;
                } else {
                    walk_node(item, path, stack, f)?;
                    stack.last_mut().expect("pushed").clear();
                }
            }
            stack.pop();
            Ok(())
        }
        Node::Scalar(s) => f(Leaf::Value(s), path, stack),
        Node::Comment(c) => f(Leaf::Comment(c), path, stack),
        Node::Null => Ok(()),
    }
}

fn walk(doc: &mut Document, f: &mut Visit<'_>) -> Result<(), SopsError> {
    for branch in &mut doc.branches {
        walk_branch(branch, &mut Vec::new(), &mut Vec::new(), f)?;
    }
    Ok(())
}

fn additional_data(path: &[String]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

fn new_mac(rules: &Rules) -> Sha512 {
    let mut h = Sha512::new();
    if rules.mac_only_encrypted {
        h.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    h
}

fn finish_mac(h: Sha512) -> String {
    hex::encode_upper(h.finalize())
}

/// Encrypt `doc` in place and return its MAC (upper-case hex of the SHA-512).
pub fn encrypt_document(
    doc: &mut Document,
    rules: &Rules,
    key: &DataKey,
    file: &str,
) -> Result<String, SopsError> {
    let mut mac = new_mac(rules);
    walk(doc, &mut |leaf, path, stack| {
        let is_comment = matches!(leaf, Leaf::Comment(_));
        let encrypted = rules.should_encrypt(path, stack, is_comment);
        match leaf {
            Leaf::Value(s) => {
                if !rules.mac_only_encrypted || encrypted {
                    mac.update(&*s.mac_bytes());
                }
                if encrypted {
                    let enc = cipher::encrypt(Some(s.ty), &s.text, key, &additional_data(path));
                    *s = Scalar::string(enc);
                }
            }
            Leaf::Comment(c) => {
                if encrypted {
                    let enc = cipher::encrypt(None, &c.text, key, &additional_data(path));
                    if let Some(re) = &rules.unencrypted_comment_regex
                        && re.is_match(enc.as_bytes())
                    {
                        return Err(SopsError::encrypt(
                            file,
                            "an encrypted comment matches unencrypted_comment_regex; choose a \
                             regex that cannot match ENC[...] text",
                        ));
                    }
                    c.text = SecretValue::from_string(enc);
                }
            }
        }
        Ok(())
    })?;
    Ok(finish_mac(mac))
}

/// Decrypt `doc` in place and return the MAC computed over it. A value that fails to decrypt is
/// an error; a comment that fails is kept as it is (sops: an old file's clear comment).
pub fn decrypt_document(
    doc: &mut Document,
    rules: &Rules,
    key: &DataKey,
    file: &str,
) -> Result<String, SopsError> {
    let mut mac = new_mac(rules);
    walk(doc, &mut |leaf, path, stack| {
        let is_comment = matches!(leaf, Leaf::Comment(_));
        let encrypted = rules.should_encrypt(path, stack, is_comment);
        match leaf {
            Leaf::Comment(c) => {
                if encrypted {
                    decrypt_comment(c, path, key);
                }
            }
            Leaf::Value(s) => {
                if encrypted {
                    let at = At(s.pos);
                    let key_path = KeyPath(path.to_vec());
                    if s.ty != super::tree::ScalarType::Str {
                        return Err(SopsError::MalformedValue {
                            file: file.to_string(),
                            at,
                            key: key_path,
                            reason: format!(
                                "expected an encrypted string, found a {} in clear",
                                s.ty.name()
                            ),
                        });
                    }
                    match cipher::decrypt(s.text.expose(), key, &additional_data(path)) {
                        Ok(Plain::Value(ty, text)) => {
                            s.ty = ty;
                            s.text = text;
                        }
                        Ok(Plain::Comment(_)) => {
                            return Err(SopsError::MalformedValue {
                                file: file.to_string(),
                                at,
                                key: key_path,
                                reason: "a value is typed `comment`".into(),
                            });
                        }
                        Err(CipherError::Authentication) => {
                            return Err(SopsError::Tampered {
                                file: file.to_string(),
                                at,
                                key: key_path,
                            });
                        }
                        Err(CipherError::Malformed(reason)) => {
                            return Err(SopsError::MalformedValue {
                                file: file.to_string(),
                                at,
                                key: key_path,
                                reason,
                            });
                        }
                    }
                }
                if !rules.mac_only_encrypted || encrypted {
                    mac.update(&*s.mac_bytes());
                }
            }
        }
        Ok(())
    })?;
    Ok(finish_mac(mac))
}

/// Decrypt a comment under its holder's path, or, when a store placed it one level off from
/// where sops' YAML parser would, under an enclosing path. Comments are outside the MAC, so
/// trying more than one additional data changes nothing it protects; the GCM tag still proves the
/// text was encrypted under this file's data key.
fn decrypt_comment(c: &mut Comment, path: &[String], key: &DataKey) {
    for n in (0..=path.len()).rev() {
        if let Ok(Plain::Comment(text) | Plain::Value(_, text)) =
            cipher::decrypt(c.text.expose(), key, &additional_data(&path[..n]))
        {
            c.text = text;
            return;
        }
    }
}

/// Decrypt the file's `mac` (additional data: `lastmodified` as RFC 3339) and compare it with
/// the computed one.
pub fn verify_mac(
    stored: &str,
    computed: &str,
    lastmodified_ad: &str,
    key: &DataKey,
    file: &str,
) -> Result<(), SopsError> {
    let stored = match cipher::decrypt(stored.as_bytes(), key, lastmodified_ad) {
        Ok(Plain::Value(_, v)) => v,
        Ok(Plain::Comment(_)) | Err(CipherError::Malformed(_)) => {
            return Err(SopsError::metadata(
                file,
                "`mac` is not an encrypted value of sops' format",
            ));
        }
        Err(CipherError::Authentication) => {
            return Err(SopsError::MacTampered {
                file: file.to_string(),
            });
        }
    };
    // Both are hex digests, not secrets; compare in constant time all the same.
    let a = stored.expose();
    let b = computed.as_bytes();
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if same {
        Ok(())
    } else {
        Err(SopsError::MacMismatch {
            file: file.to_string(),
        })
    }
}

/// Encrypt a computed MAC for the metadata.
pub fn encrypt_mac(mac: &str, lastmodified_ad: &str, key: &DataKey) -> String {
    cipher::encrypt(
        Some(super::tree::ScalarType::Str),
        &SecretValue::from_string(mac.to_string()),
        key,
        lastmodified_ad,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::tree::ScalarType;

    fn key() -> DataKey {
        DataKey::from_bytes(&[3u8; 32]).unwrap()
    }

    fn sample() -> Document {
        let mut inner = Branch::new();
        inner.push("secret", Node::string("s3cr3t"));
        inner.push("public_unencrypted", Node::string("visible"));
        let mut root = Branch::new();
        root.push_comment(" top comment");
        root.push("db", Node::Map(inner));
        root.push(
            "n",
            Node::Scalar(Scalar::typed(
                ScalarType::Int,
                SecretValue::from_string("5".into()),
            )),
        );
        root.push("list", Node::List(vec![Node::string("a"), Node::Null]));
        Document::single(root)
    }

    fn default_rules() -> Rules {
        Rules {
            unencrypted_suffix: Some(DEFAULT_UNENCRYPTED_SUFFIX.into()),
            ..Rules::default()
        }
    }

    #[test]
    fn encrypt_then_decrypt_restores_the_tree_and_the_mac() {
        let mut doc = sample();
        let mac = encrypt_document(&mut doc, &default_rules(), &key(), "f").unwrap();
        let b = &doc.branches[0];
        let db = b.get("db").unwrap().as_map().unwrap();
        let secret = db.get("secret").unwrap().as_scalar().unwrap();
        assert!(
            secret
                .text
                .expose_str()
                .unwrap()
                .starts_with("ENC[AES256_GCM")
        );
        let public = db.get("public_unencrypted").unwrap().as_scalar().unwrap();
        assert_eq!(public.text.expose_str(), Some("visible"));
        match &b.items[0] {
            Item::Comment(c) => assert!(c.text.expose_str().unwrap().ends_with("type:comment]")),
            other => panic!("{other:?}"),
        }
        let mac2 = decrypt_document(&mut doc, &default_rules(), &key(), "f").unwrap();
        assert_eq!(mac, mac2);
        assert_eq!(doc, sample());
    }

    #[test]
    fn mac_skips_comments_and_nulls_and_covers_order() {
        let mut with_comment = sample();
        let mut without = sample();
        without.branches[0].items.remove(0);
        let a = encrypt_document(&mut with_comment, &default_rules(), &key(), "f").unwrap();
        let b = encrypt_document(&mut without, &default_rules(), &key(), "f").unwrap();
        assert_eq!(a, b, "comments are not in the MAC");
        let mut reordered = sample();
        reordered.branches[0].items.swap(1, 2);
        let c = encrypt_document(&mut reordered, &default_rules(), &key(), "f").unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn mac_only_encrypted_hashes_only_encrypted_values_after_the_prefix() {
        let rules = Rules {
            mac_only_encrypted: true,
            ..default_rules()
        };
        let mut doc = sample();
        let mac = encrypt_document(&mut doc, &rules, &key(), "f").unwrap();
        let mut h = Sha512::new();
        h.update(MAC_ONLY_ENCRYPTED_INIT);
        for v in ["s3cr3t", "5", "a"] {
            h.update(v.as_bytes());
        }
        assert_eq!(mac, hex::encode_upper(h.finalize()));
    }

    #[test]
    fn selectors_follow_sops() {
        let p = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let r = Rules {
            encrypted_regex: Some(Pattern::lenient("^(data|stringData)$")),
            ..Rules::default()
        };
        assert!(r.should_encrypt(&p(&["data", "x"]), &[], false));
        assert!(!r.should_encrypt(&p(&["metadata", "name"]), &[], false));
        assert!(
            !r.should_encrypt(&[], &[], true),
            "top-level comments stay clear"
        );
        let r = Rules {
            encrypted_suffix: Some("_enc".into()),
            ..Rules::default()
        };
        assert!(r.should_encrypt(&p(&["a_enc", "b"]), &[], false));
        assert!(!r.should_encrypt(&p(&["a"]), &[], false));
        let bad = Rules {
            unencrypted_regex: Some(Pattern::lenient("(")),
            ..Rules::default()
        };
        assert!(bad.should_encrypt(&p(&["("]), &[], false));
        let c = |s: &str| SecretValue::from_string(s.into());
        let r = Rules {
            encrypted_comment_regex: Some(Pattern::lenient("sops:enc")),
            ..Rules::default()
        };
        let stack = vec![vec![c("sops:enc")]];
        assert!(r.should_encrypt(&p(&["k"]), &stack, false));
        assert!(
            !r.should_encrypt(&[], &stack, true),
            "the marker itself stays clear"
        );
    }

    #[test]
    fn tampering_is_reported_with_the_key_name_only() {
        let mut doc = sample();
        encrypt_document(&mut doc, &default_rules(), &key(), "f.yaml").unwrap();
        let other = DataKey::from_bytes(&[9u8; 32]).unwrap();
        let err = decrypt_document(&mut doc, &default_rules(), &other, "f.yaml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("key `db.secret`"), "{msg}");
        assert!(!msg.contains("s3cr3t"), "{msg}");
    }
}
