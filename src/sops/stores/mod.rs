//! The file formats (sops' stores): how a file's text becomes a [`Document`] and back.
//!
//! | format | plaintext | encrypted file | metadata |
//! |---|---|---|---|
//! | `yaml` | YAML documents | YAML | nested under `sops` in every document |
//! | `json` | a JSON object | JSON | nested under `sops` |
//! | `dotenv` | `KEY=value` lines | dotenv | flattened, `sops_` prefix |
//! | `ini` | INI sections | INI | flattened in a `[sops]` section |
//! | `binary` | any bytes | JSON `{"data": ..., "sops": ...}` | nested under `sops` |
//!
//! The format comes from the file name as sops chooses it (`.yaml`/`.yml`, `.json`, `.env`,
//! `.ini`, anything else binary) unless given.

pub mod dotenv;
pub mod ini;
pub mod json;
pub mod yaml;

use std::path::Path;

use zeroize::Zeroizing;

use super::error::SopsError;
use super::tree::{Branch, Document, Node};

/// A sops input/output type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Format {
    /// The format sops picks for a file name: by its ending, binary by default.
    pub fn from_path(path: &Path) -> Format {
        let name = path.to_string_lossy();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Format::Yaml
        } else if name.ends_with(".json") {
            Format::Json
        } else if name.ends_with(".env") {
            Format::Dotenv
        } else if name.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// A format by its sops name (`yaml`, `json`, `dotenv`, `ini`, `binary`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "yaml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "dotenv" => Some(Format::Dotenv),
            "ini" => Some(Format::Ini),
            "binary" => Some(Format::Binary),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }

    /// How the metadata sits in files of this format.
    pub(crate) fn metadata_layout(self) -> MetadataLayout {
        match self {
            Format::Yaml | Format::Json | Format::Binary => MetadataLayout::Nested,
            Format::Dotenv => MetadataLayout::FlatPrefixed,
            Format::Ini => MetadataLayout::FlatSection,
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// sops' `MetadataFlatten` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetadataLayout {
    /// `sops:` mapping (YAML, JSON, binary).
    Nested,
    /// `sops_age__list_0__map_enc=...` keys (dotenv).
    FlatPrefixed,
    /// A `[sops]` section of flattened keys, newlines escaped (INI).
    FlatSection,
}

/// Parse a file of `format` as it is (plaintext, or an encrypted file in its own syntax).
pub(crate) fn parse(format: Format, text: &[u8], file: &str) -> Result<Document, SopsError> {
    match format {
        Format::Yaml => yaml::parse(text, file),
        Format::Json => json::parse(text, file),
        Format::Dotenv => dotenv::parse(text, file),
        Format::Ini => ini::parse(text, file),
        // An encrypted binary file is JSON; plaintext binary input is read by `parse_plain`.
        Format::Binary => json::parse(text, file),
    }
}

/// Parse plaintext input for encryption.
pub(crate) fn parse_plain(format: Format, text: &[u8], file: &str) -> Result<Document, SopsError> {
    match format {
        Format::Binary => {
            let mut b = Branch::new();
            b.push("data", Node::string(text.to_vec()));
            Ok(Document::single(b))
        }
        other => parse(other, text, file),
    }
}

/// Write a document in `format`'s syntax. For binary, `plain` selects the raw data (decrypted
/// output) rather than the JSON envelope (encrypted file).
pub(crate) fn emit(
    format: Format,
    doc: &Document,
    plain: bool,
    file: &str,
) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    let r = match format {
        Format::Yaml => Ok(yaml::emit(doc)),
        Format::Json => json::emit(doc),
        Format::Dotenv => dotenv::emit(doc),
        Format::Ini => ini::emit(doc),
        Format::Binary if plain => binary_data(doc),
        Format::Binary => json::emit(doc),
    };
    r.map_err(|m| SopsError::encrypt(file, m))
}

fn binary_data(doc: &Document) -> Result<Zeroizing<Vec<u8>>, String> {
    if doc.branches.len() != 1 {
        return Err("a binary file has exactly one tree branch".into());
    }
    match doc.branches[0].get("data") {
        Some(Node::Scalar(s)) => Ok(Zeroizing::new(s.text.expose().to_vec())),
        Some(_) => Err("the `data` key of a binary file does not hold a string".into()),
        None => Err("a binary file has no `data` key".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension_as_sops() {
        for (p, f) in [
            ("a.enc.yaml", Format::Yaml),
            ("a.yml", Format::Yaml),
            ("x/y.json", Format::Json),
            (".env", Format::Dotenv),
            ("prod.env", Format::Dotenv),
            ("c.ini", Format::Ini),
            ("key.pem", Format::Binary),
            ("yaml", Format::Binary),
        ] {
            assert_eq!(Format::from_path(Path::new(p)), f, "{p}");
        }
        assert_eq!(Format::from_name("dotenv"), Some(Format::Dotenv));
        assert_eq!(Format::from_name("toml"), None);
    }
}
