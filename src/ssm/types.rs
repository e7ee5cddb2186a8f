//! Typed requests and responses of the SSM actions this project uses (docs/ssm-api.md#actions).
//!
//! Each request type implements [`Action`]: its name, how its JSON body is encoded and how the
//! `{"Response": {...}}` answer is decoded. Field names are the API's (`SecretName`, `VersionId`...).
//!
//! Secret content travels as [`SecretContent`]: `SecretString` is the text, `SecretBinary` the
//! decoded bytes (base64 on the wire). Care is taken with the copies a secret leaves behind:
//! - request bodies are serialised into a [`Zeroizing`] buffer sized exactly beforehand (a counting
//!   pass), so no reallocation leaves a stray copy behind;
//! - the GetSecretValue response is decoded without serde_json's internal scratch buffer: the two
//!   content fields are taken as raw JSON text borrowed from the (zeroized) response buffer and
//!   unescaped here into zeroizing buffers.
//!
//! Responses are decoded leniently, as the API evolves: unknown fields are ignored, missing fields
//! take zero values, and `null` is accepted wherever a string, number or list is expected.

use std::fmt;

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::secret::{SecretContent, SecretValue};

/// An SSM action: a request type, its name and its response type.
pub trait Action: Send + Sync {
    /// The `X-TC-Action` value.
    const NAME: &'static str;
    /// Whether the response carries secret content; decode errors then say nothing serde reports.
    const RESPONSE_HOLDS_SECRETS: bool = false;
    type Response: Send + 'static;

    /// The fields every answer of this action has (besides `RequestId`, which every answer has):
    /// an answer without one of them is not from the API (docs/ssm-api.md#actions).
    const FIELDS: &'static [&'static str] = &[];

    /// The JSON body.
    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, EncodeError>;

    /// Check a decoded answer against the request: the secret name and version an answer echoes
    /// must be the ones asked for. The error says what is wrong without quoting a value.
    fn check(&self, _response: &Self::Response) -> Result<(), String> {
        Ok(())
    }

    /// Decode a whole response body `{"Response": {...}}` known not to be an error.
    fn decode(body: &[u8]) -> Result<Self::Response, DecodeError>;

    /// For logs and error messages.
    fn secret_name(&self) -> Option<&str> {
        None
    }
    fn version_id(&self) -> Option<&str> {
        None
    }
    /// The secret content this request carries (so an error message can be checked against it).
    fn content(&self) -> Option<&SecretContent> {
        None
    }
}

/// A request body that cannot be encoded. Never quotes the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(pub String);

/// A response body that cannot be decoded. Never quotes secret content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

// ---------------------------------------------------------------------------------------------
// Encoding

/// An `io::Write` that only counts, for sizing the real buffer exactly.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serialise `value` as compact JSON into a zeroizing buffer of exactly the right capacity.
pub fn encode_json<T: Serialize + ?Sized>(value: &T) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).map_err(|e| EncodeError(safe_ser_error(&e)))?;
    let mut out = Zeroizing::new(Vec::with_capacity(counter.0));
    serde_json::to_writer(&mut *out, value).map_err(|e| EncodeError(safe_ser_error(&e)))?;
    debug_assert_eq!(out.len(), out.capacity());
    Ok(out)
}

/// Serialisation errors come from our own `Error::custom` calls (fixed texts) or from serde_json
/// (non-string map keys, which our types never produce): neither quotes content.
fn safe_ser_error(e: &serde_json::Error) -> String {
    e.to_string()
}

/// Writes `SecretString` or `SecretBinary` (base64) for a content.
fn serialize_content<M: SerializeMap>(
    map: &mut M,
    content: &SecretContent,
) -> Result<(), M::Error> {
    match content {
        SecretContent::String(v) => {
            let text = v.expose_str().ok_or_else(|| {
                serde::ser::Error::custom(format!(
                    "SecretString content is not valid UTF-8 ({} bytes); use SecretBinary for binary data",
                    v.len()
                ))
            })?;
            map.serialize_entry("SecretString", text)
        }
        SecretContent::Binary(v) => {
            let mut encoded = Zeroizing::new(String::with_capacity(
                base64::encoded_len(v.len(), true).unwrap_or(0),
            ));
            base64::engine::general_purpose::STANDARD.encode_string(v.expose(), &mut encoded);
            map.serialize_entry("SecretBinary", encoded.as_str())
        }
    }
}

fn entry_opt<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &'static str,
    value: &Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, v),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding helpers

/// `null` (or a missing field, with `#[serde(default)]`) becomes the type's default.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `RotationStatus` is a bool in DescribeSecret and an integer in ListSecrets: accept both.
fn flexible_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Int(i64),
    }
    Ok(match Option::<B>::deserialize(d)? {
        None => false,
        Some(B::Bool(b)) => b,
        Some(B::Int(i)) => i != 0,
    })
}

/// Decode `{"Response": T}` with serde. For responses without secrets, serde's message (which may
/// quote a value) is kept because it names the offending field.
fn decode_envelope<T: DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    #[derive(Deserialize)]
    struct Envelope<T> {
        #[serde(rename = "Response")]
        response: T,
    }
    serde_json::from_slice::<Envelope<T>>(body)
        .map(|e| e.response)
        .map_err(|e| DecodeError(e.to_string()))
}

/// Where and what kind of JSON error, without serde's message (which can quote input).
pub fn json_error_position(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected JSON structure",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{what} at line {}, column {}", e.line(), e.column())
}

/// Status of a secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SecretStatus {
    Enabled,
    Disabled,
    PendingDelete,
    /// Cloud-product secrets being created.
    Creating,
    /// Cloud-product secrets whose creation failed.
    Failed,
    /// Any other status, kept verbatim.
    Other(String),
    /// Absent, `null` or `""`.
    #[default]
    Unknown,
}

impl SecretStatus {
    pub fn as_str(&self) -> &str {
        match self {
            SecretStatus::Enabled => "Enabled",
            SecretStatus::Disabled => "Disabled",
            SecretStatus::PendingDelete => "PendingDelete",
            SecretStatus::Creating => "Creating",
            SecretStatus::Failed => "Failed",
            SecretStatus::Other(s) => s,
            SecretStatus::Unknown => "",
        }
    }
}

impl fmt::Display for SecretStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SecretStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        Ok(match s.as_deref() {
            None | Some("") => SecretStatus::Unknown,
            Some("Enabled") => SecretStatus::Enabled,
            Some("Disabled") => SecretStatus::Disabled,
            Some("PendingDelete") => SecretStatus::PendingDelete,
            Some("Creating") => SecretStatus::Creating,
            Some("Failed") => SecretStatus::Failed,
            Some(other) => SecretStatus::Other(other.to_string()),
        })
    }
}

/// A tag on a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "TagKey", default, deserialize_with = "nullable")]
    pub key: String,
    #[serde(rename = "TagValue", default, deserialize_with = "nullable")]
    pub value: String,
}

/// A tag filter of ListSecrets: the tag `key` with any of `values`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagFilter {
    #[serde(rename = "TagKey")]
    pub key: String,
    #[serde(rename = "TagValue")]
    pub values: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Content-bearing actions

/// `UpdateSecret`: overwrite the content of an existing version in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSecretRequest {
    pub secret_name: String,
    pub version_id: String,
    pub content: SecretContent,
}

impl Serialize for UpdateSecretRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("SecretName", &self.secret_name)?;
        m.serialize_entry("VersionId", &self.version_id)?;
        serialize_content(&mut m, &self.content)?;
        m.end()
    }
}

/// Answer of `UpdateSecret`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct UpdateSecretResponse {
    #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
    pub secret_name: String,
    #[serde(rename = "VersionId", default, deserialize_with = "nullable")]
    pub version_id: String,
    #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
    pub request_id: String,
}

/// `PutSecretValue`: add a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutSecretValueRequest {
    pub secret_name: String,
    pub version_id: String,
    pub content: SecretContent,
}

impl Serialize for PutSecretValueRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("SecretName", &self.secret_name)?;
        m.serialize_entry("VersionId", &self.version_id)?;
        serialize_content(&mut m, &self.content)?;
        m.end()
    }
}

/// Answer of `PutSecretValue`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct PutSecretValueResponse {
    #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
    pub secret_name: String,
    #[serde(rename = "VersionId", default, deserialize_with = "nullable")]
    pub version_id: String,
    #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
    pub request_id: String,
}

/// `CreateSecret`: a new secret, with its first version when `content` is given. Without
/// `version_id` the API names the first version `SSM_Current`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateSecretRequest {
    pub secret_name: String,
    pub version_id: Option<String>,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    /// 0 = user-defined (the default).
    pub secret_type: Option<u32>,
    pub content: Option<SecretContent>,
    pub tags: Vec<Tag>,
}

impl Serialize for CreateSecretRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("SecretName", &self.secret_name)?;
        entry_opt(&mut m, "VersionId", &self.version_id)?;
        entry_opt(&mut m, "Description", &self.description)?;
        entry_opt(&mut m, "KmsKeyId", &self.kms_key_id)?;
        entry_opt(&mut m, "SecretType", &self.secret_type)?;
        if let Some(content) = &self.content {
            serialize_content(&mut m, content)?;
        }
        if !self.tags.is_empty() {
            m.serialize_entry("Tags", &self.tags)?;
        }
        m.end()
    }
}

/// Answer of `CreateSecret`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct CreateSecretResponse {
    #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
    pub secret_name: String,
    #[serde(rename = "VersionId", default, deserialize_with = "nullable")]
    pub version_id: String,
    /// 0 when the tags were applied.
    #[serde(rename = "TagCode", default, deserialize_with = "nullable")]
    pub tag_code: i64,
    #[serde(rename = "TagMsg", default, deserialize_with = "nullable")]
    pub tag_msg: String,
    #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
    pub request_id: String,
}

/// `GetSecretValue`: the content of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GetSecretValueRequest {
    #[serde(rename = "SecretName")]
    pub secret_name: String,
    #[serde(rename = "VersionId")]
    pub version_id: String,
}

/// Answer of `GetSecretValue`. The API returns both `SecretString` and `SecretBinary`, the unused
/// one `""`; `content` is binary when `SecretBinary` is non-empty, else the string (possibly
/// empty: an empty binary version reads back as an empty string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetSecretValueResponse {
    pub secret_name: String,
    pub version_id: String,
    pub content: SecretContent,
    pub request_id: String,
}

impl GetSecretValueResponse {
    fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        #[derive(Deserialize)]
        struct Wire<'a> {
            #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
            secret_name: String,
            #[serde(rename = "VersionId", default, deserialize_with = "nullable")]
            version_id: String,
            #[serde(rename = "SecretString", borrow, default)]
            secret_string: Option<&'a RawValue>,
            #[serde(rename = "SecretBinary", borrow, default)]
            secret_binary: Option<&'a RawValue>,
            #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
            request_id: String,
        }
        #[derive(Deserialize)]
        struct Envelope<'a> {
            #[serde(rename = "Response", borrow)]
            response: Wire<'a>,
        }
        let env: Envelope<'_> =
            serde_json::from_slice(body).map_err(|e| DecodeError(json_error_position(&e)))?;
        let w = env.response;
        let string = raw_json_string(w.secret_string, "SecretString")?;
        let binary = raw_json_string(w.secret_binary, "SecretBinary")?;
        let content = match (string.is_empty(), binary.is_empty()) {
            (_, true) => SecretContent::String(SecretValue::new(take(string))),
            (true, false) => SecretContent::Binary(decode_base64(&binary)?),
            (false, false) => {
                return Err(DecodeError(
                    "both SecretString and SecretBinary are non-empty".to_string(),
                ));
            }
        };
        Ok(GetSecretValueResponse {
            secret_name: w.secret_name,
            version_id: w.version_id,
            content,
            request_id: w.request_id,
        })
    }
}

/// Move the bytes out of a zeroizing buffer without copying them.
fn take(mut buf: Zeroizing<Vec<u8>>) -> Vec<u8> {
    std::mem::take(&mut *buf)
}

/// The content of a JSON string given as raw JSON text, unescaped into a zeroizing buffer.
/// `null` and absence are the empty string.
fn raw_json_string(raw: Option<&RawValue>, field: &str) -> Result<Zeroizing<Vec<u8>>, DecodeError> {
    let Some(raw) = raw else {
        return Ok(Zeroizing::new(Vec::new()));
    };
    let text = raw.get();
    if text == "null" {
        return Ok(Zeroizing::new(Vec::new()));
    }
    unescape_json_string(text).ok_or_else(|| DecodeError(format!("{field} is not a JSON string")))
}

/// Unescape the JSON string literal `literal` (quotes included). The output is never longer than
/// the input (every escape is at least as long as what it stands for), so the buffer is allocated
/// once and never reallocated.
fn unescape_json_string(literal: &str) -> Option<Zeroizing<Vec<u8>>> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(inner.len()));
    let mut i = 0;
    while i < inner.len() {
        let b = inner[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let e = *inner.get(i)?;
        i += 1;
        match e {
            b'"' => out.push(b'"'),
            b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'u' => {
                let hi = hex4(inner.get(i..i + 4)?)?;
                i += 4;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if inner.get(i..i + 2)? != b"\\u" {
                        return None;
                    }
                    let lo = hex4(inner.get(i + 2..i + 6)?)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                let c = char::from_u32(code)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                zeroize::Zeroize::zeroize(&mut buf);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn hex4(digits: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// Base64 as the API sends it (standard alphabet; padding optional).
fn decode_base64(text: &[u8]) -> Result<SecretValue, DecodeError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let mut out = Zeroizing::new(Vec::with_capacity(base64::decoded_len_estimate(text.len())));
    // The decoder's error names the offending byte and offset: not repeated here.
    ENGINE
        .decode_vec(text, &mut out)
        .map_err(|_| DecodeError("SecretBinary is not valid base64".to_string()))?;
    Ok(SecretValue::new(take(out)))
}

// ---------------------------------------------------------------------------------------------
// Secret-level actions

/// `DescribeSecret`: a secret's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DescribeSecretRequest {
    #[serde(rename = "SecretName")]
    pub secret_name: String,
}

/// Answer of `DescribeSecret`. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct DescribeSecretResponse {
    #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
    pub secret_name: String,
    #[serde(rename = "Description", default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(rename = "KmsKeyId", default, deserialize_with = "nullable")]
    pub kms_key_id: String,
    #[serde(rename = "CreateUin", default, deserialize_with = "nullable")]
    pub create_uin: u64,
    #[serde(rename = "Status", default)]
    pub status: SecretStatus,
    /// When a PendingDelete secret will be deleted; 0 otherwise.
    #[serde(rename = "DeleteTime", default, deserialize_with = "nullable")]
    pub delete_time: i64,
    #[serde(rename = "CreateTime", default, deserialize_with = "nullable")]
    pub create_time: i64,
    /// 0 = user-defined; other values are cloud-product secrets.
    #[serde(rename = "SecretType", default, deserialize_with = "nullable")]
    pub secret_type: i64,
    #[serde(rename = "ProductName", default, deserialize_with = "nullable")]
    pub product_name: String,
    #[serde(rename = "ResourceID", default, deserialize_with = "nullable")]
    pub resource_id: String,
    #[serde(rename = "RotationStatus", default, deserialize_with = "flexible_bool")]
    pub rotation_status: bool,
    #[serde(rename = "RotationFrequency", default, deserialize_with = "nullable")]
    pub rotation_frequency: i64,
    #[serde(rename = "AdditionalConfig", default, deserialize_with = "nullable")]
    pub additional_config: String,
    #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
    pub request_id: String,
}

/// `ListSecretVersionIds`: the versions of a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListSecretVersionIdsRequest {
    #[serde(rename = "SecretName")]
    pub secret_name: String,
}

/// One version in `ListSecretVersionIds`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct VersionInfo {
    #[serde(rename = "VersionId", default, deserialize_with = "nullable")]
    pub version_id: String,
    #[serde(rename = "CreateTime", default, deserialize_with = "nullable")]
    pub create_time: i64,
}

/// Answer of `ListSecretVersionIds`. The order of `versions` is not documented.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ListSecretVersionIdsResponse {
    #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
    pub secret_name: String,
    #[serde(rename = "Versions", default, deserialize_with = "nullable")]
    pub versions: Vec<VersionInfo>,
    #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
    pub request_id: String,
}

/// `OrderType` of ListSecrets (by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    NewestFirst = 0,
    OldestFirst = 1,
}

impl Serialize for ListOrder {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(*self as u32)
    }
}

/// `State` filter of ListSecrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    All = 0,
    Enabled = 1,
    Disabled = 2,
    PendingDelete = 3,
}

impl Serialize for StateFilter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(*self as u32)
    }
}

/// `ListSecrets`: one page of secrets' metadata. Unset fields are not sent (API defaults: offset 0,
/// limit 20, newest first, all states).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ListSecretsRequest {
    #[serde(rename = "Offset", skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(rename = "Limit", skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(rename = "OrderType", skip_serializing_if = "Option::is_none")]
    pub order: Option<ListOrder>,
    #[serde(rename = "State", skip_serializing_if = "Option::is_none")]
    pub state: Option<StateFilter>,
    #[serde(rename = "SearchSecretName", skip_serializing_if = "Option::is_none")]
    pub search_secret_name: Option<String>,
    #[serde(rename = "TagFilters", skip_serializing_if = "Vec::is_empty")]
    pub tag_filters: Vec<TagFilter>,
    #[serde(rename = "SecretType", skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<u32>,
}

/// One secret in `ListSecrets`. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct SecretMetadata {
    #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
    pub secret_name: String,
    #[serde(rename = "Description", default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(rename = "KmsKeyId", default, deserialize_with = "nullable")]
    pub kms_key_id: String,
    #[serde(rename = "CreateUin", default, deserialize_with = "nullable")]
    pub create_uin: u64,
    #[serde(rename = "Status", default)]
    pub status: SecretStatus,
    #[serde(rename = "DeleteTime", default, deserialize_with = "nullable")]
    pub delete_time: i64,
    #[serde(rename = "CreateTime", default, deserialize_with = "nullable")]
    pub create_time: i64,
    #[serde(rename = "KmsKeyType", default, deserialize_with = "nullable")]
    pub kms_key_type: String,
    /// An integer on the wire here (a bool in DescribeSecret).
    #[serde(rename = "RotationStatus", default, deserialize_with = "flexible_bool")]
    pub rotation_status: bool,
    #[serde(rename = "NextRotationTime", default, deserialize_with = "nullable")]
    pub next_rotation_time: i64,
    #[serde(rename = "SecretType", default, deserialize_with = "nullable")]
    pub secret_type: i64,
    #[serde(rename = "ProductName", default, deserialize_with = "nullable")]
    pub product_name: String,
    #[serde(rename = "ResourceID", default, deserialize_with = "nullable")]
    pub resource_id: String,
}

/// Answer of `ListSecrets`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ListSecretsResponse {
    /// The number of secrets matching the filters (all pages).
    #[serde(rename = "TotalCount", default, deserialize_with = "nullable")]
    pub total_count: u64,
    #[serde(rename = "SecretMetadatas", default, deserialize_with = "nullable")]
    pub secret_metadatas: Vec<SecretMetadata>,
    #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
    pub request_id: String,
}

/// `EnableSecret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnableSecretRequest {
    #[serde(rename = "SecretName")]
    pub secret_name: String,
}

/// `DisableSecret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisableSecretRequest {
    #[serde(rename = "SecretName")]
    pub secret_name: String,
}

/// `RestoreSecret`: PendingDelete → Disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreSecretRequest {
    #[serde(rename = "SecretName")]
    pub secret_name: String,
}

/// Answer of `EnableSecret`, `DisableSecret` and `RestoreSecret`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct SecretNameResponse {
    #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
    pub secret_name: String,
    #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
    pub request_id: String,
}

/// `UpdateDescription`: replace a secret's description (Enabled or Disabled secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateDescriptionRequest {
    #[serde(rename = "SecretName")]
    pub secret_name: String,
    #[serde(rename = "Description")]
    pub description: String,
}

pub type UpdateDescriptionResponse = SecretNameResponse;
pub type EnableSecretResponse = SecretNameResponse;
pub type DisableSecretResponse = SecretNameResponse;
pub type RestoreSecretResponse = SecretNameResponse;

/// `DeleteSecret`: only a Disabled secret; `recovery_window_in_days` 0 deletes at once, 1–30
/// schedules the deletion (PendingDelete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeleteSecretRequest {
    #[serde(rename = "SecretName")]
    pub secret_name: String,
    #[serde(
        rename = "RecoveryWindowInDays",
        skip_serializing_if = "Option::is_none"
    )]
    pub recovery_window_in_days: Option<u32>,
}

/// Answer of `DeleteSecret`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct DeleteSecretResponse {
    #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
    pub secret_name: String,
    /// When the secret will be deleted (Unix seconds).
    #[serde(rename = "DeleteTime", default, deserialize_with = "nullable")]
    pub delete_time: i64,
    #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
    pub request_id: String,
}

/// `DeleteSecretVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeleteSecretVersionRequest {
    #[serde(rename = "SecretName")]
    pub secret_name: String,
    #[serde(rename = "VersionId")]
    pub version_id: String,
}

/// Answer of `DeleteSecretVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct DeleteSecretVersionResponse {
    #[serde(rename = "SecretName", default, deserialize_with = "nullable")]
    pub secret_name: String,
    #[serde(rename = "VersionId", default, deserialize_with = "nullable")]
    pub version_id: String,
    #[serde(rename = "RequestId", default, deserialize_with = "nullable")]
    pub request_id: String,
}

// ---------------------------------------------------------------------------------------------
// Action impls

macro_rules! action {
    ($req:ty, $name:literal, $resp:ty, fields: $fields:expr, name: $n:ident $(, version: $v:ident)? $(, content: $c:ident)?) => {
        impl Action for $req {
            const NAME: &'static str = $name;
            const FIELDS: &'static [&'static str] = $fields;
            type Response = $resp;
            fn encode(&self) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
                encode_json(self)
            }
            fn decode(body: &[u8]) -> Result<Self::Response, DecodeError> {
                decode_envelope(body)
            }
            fn check(&self, response: &Self::Response) -> Result<(), String> {
                echoed("SecretName", &response.secret_name, &self.$n)?;
                $(echoed("VersionId", &response.version_id, &self.$v)?;)?
                Ok(())
            }
            fn secret_name(&self) -> Option<&str> {
                Some(&self.$n)
            }
            $(fn version_id(&self) -> Option<&str> {
                Some(&self.$v)
            })?
            $(fn content(&self) -> Option<&SecretContent> {
                Some(&self.$c)
            })?
        }
    };
}

/// An echoed name or version must be the one sent. Names and versions are not secret, but the
/// server's text is untrusted: neither is quoted.
fn echoed(field: &str, got: &str, sent: &str) -> Result<(), String> {
    if got == sent {
        Ok(())
    } else if got.is_empty() {
        Err(format!("the answer does not echo the {field} it acted on"))
    } else {
        Err(format!(
            "the answer echoes another {field} than the one sent"
        ))
    }
}

const NAME_VERSION: &[&str] = &["SecretName", "VersionId"];
const NAME: &[&str] = &["SecretName"];

action!(UpdateSecretRequest, "UpdateSecret", UpdateSecretResponse, fields: NAME_VERSION, name: secret_name, version: version_id, content: content);
action!(PutSecretValueRequest, "PutSecretValue", PutSecretValueResponse, fields: NAME_VERSION, name: secret_name, version: version_id, content: content);
action!(DescribeSecretRequest, "DescribeSecret", DescribeSecretResponse, fields: &["SecretName", "Status"], name: secret_name);
action!(ListSecretVersionIdsRequest, "ListSecretVersionIds", ListSecretVersionIdsResponse, fields: &["SecretName", "Versions"], name: secret_name);
action!(UpdateDescriptionRequest, "UpdateDescription", UpdateDescriptionResponse, fields: NAME, name: secret_name);
action!(EnableSecretRequest, "EnableSecret", EnableSecretResponse, fields: NAME, name: secret_name);
action!(DisableSecretRequest, "DisableSecret", DisableSecretResponse, fields: NAME, name: secret_name);
action!(RestoreSecretRequest, "RestoreSecret", RestoreSecretResponse, fields: NAME, name: secret_name);
action!(DeleteSecretRequest, "DeleteSecret", DeleteSecretResponse, fields: NAME, name: secret_name);
action!(DeleteSecretVersionRequest, "DeleteSecretVersion", DeleteSecretVersionResponse, fields: NAME_VERSION, name: secret_name, version: version_id);

impl Action for CreateSecretRequest {
    const NAME: &'static str = "CreateSecret";
    const FIELDS: &'static [&'static str] = NAME_VERSION;
    type Response = CreateSecretResponse;
    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
        encode_json(self)
    }
    fn decode(body: &[u8]) -> Result<Self::Response, DecodeError> {
        decode_envelope(body)
    }
    fn check(&self, response: &Self::Response) -> Result<(), String> {
        echoed("SecretName", &response.secret_name, &self.secret_name)?;
        match &self.version_id {
            Some(v) => echoed("VersionId", &response.version_id, v),
            None if response.version_id.is_empty() => {
                Err("the answer does not echo the VersionId it created".to_string())
            }
            None => Ok(()),
        }
    }
    fn secret_name(&self) -> Option<&str> {
        Some(&self.secret_name)
    }
    fn version_id(&self) -> Option<&str> {
        self.version_id.as_deref()
    }
    fn content(&self) -> Option<&SecretContent> {
        self.content.as_ref()
    }
}

impl Action for GetSecretValueRequest {
    const NAME: &'static str = "GetSecretValue";
    const RESPONSE_HOLDS_SECRETS: bool = true;
    // Both content fields are always there, the unused one `""`.
    const FIELDS: &'static [&'static str] =
        &["SecretName", "VersionId", "SecretString", "SecretBinary"];
    type Response = GetSecretValueResponse;
    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
        encode_json(self)
    }
    fn decode(body: &[u8]) -> Result<Self::Response, DecodeError> {
        GetSecretValueResponse::decode(body)
    }
    fn check(&self, response: &Self::Response) -> Result<(), String> {
        echoed("SecretName", &response.secret_name, &self.secret_name)?;
        echoed("VersionId", &response.version_id, &self.version_id)
    }
    fn secret_name(&self) -> Option<&str> {
        Some(&self.secret_name)
    }
    fn version_id(&self) -> Option<&str> {
        Some(&self.version_id)
    }
}

impl Action for ListSecretsRequest {
    const NAME: &'static str = "ListSecrets";
    const FIELDS: &'static [&'static str] = &["TotalCount", "SecretMetadatas"];
    type Response = ListSecretsResponse;
    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
        encode_json(self)
    }
    fn decode(body: &[u8]) -> Result<Self::Response, DecodeError> {
        decode_envelope(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "canary-content-51c9a0e4";

    fn s(text: &str) -> SecretContent {
        SecretContent::String(SecretValue::from_string(text.to_string()))
    }

    fn b(bytes: &[u8]) -> SecretContent {
        SecretContent::Binary(SecretValue::new(bytes.to_vec()))
    }

    fn body<A: Action>(a: &A) -> String {
        String::from_utf8(a.encode().unwrap().to_vec()).unwrap()
    }

    #[test]
    fn content_requests_carry_exactly_one_content_field() {
        let r = UpdateSecretRequest {
            secret_name: "n".into(),
            version_id: "v1".into(),
            content: s("a\"b\u{e9}"),
        };
        assert_eq!(
            body(&r),
            r#"{"SecretName":"n","VersionId":"v1","SecretString":"a\"bé"}"#
        );
        let r = PutSecretValueRequest {
            secret_name: "n".into(),
            version_id: "v2".into(),
            content: b(&[0xde, 0xad, 0xbe, 0xef]),
        };
        assert_eq!(
            body(&r),
            r#"{"SecretName":"n","VersionId":"v2","SecretBinary":"3q2+7w=="}"#
        );
    }

    #[test]
    fn encoded_bodies_are_sized_exactly() {
        let r = UpdateSecretRequest {
            secret_name: "n".into(),
            version_id: "v1".into(),
            content: s(&"x\n".repeat(5000)),
        };
        let buf = r.encode().unwrap();
        assert_eq!(
            buf.len(),
            buf.capacity(),
            "no reallocation left a copy behind"
        );
    }

    #[test]
    fn non_utf8_secret_string_is_refused_without_content() {
        let r = UpdateSecretRequest {
            secret_name: "n".into(),
            version_id: "v1".into(),
            content: SecretContent::String(SecretValue::new(vec![0xff, 0xfe, b'x'])),
        };
        let err = r.encode().unwrap_err();
        assert!(err.0.contains("not valid UTF-8 (3 bytes)"), "{err}");
    }

    #[test]
    fn create_secret_sends_only_what_is_set() {
        let r = CreateSecretRequest {
            secret_name: "n".into(),
            ..Default::default()
        };
        assert_eq!(body(&r), r#"{"SecretName":"n"}"#);
        let r = CreateSecretRequest {
            secret_name: "n".into(),
            version_id: Some("v1".into()),
            description: Some("d".into()),
            kms_key_id: Some("k".into()),
            secret_type: Some(0),
            content: Some(s("x")),
            tags: vec![Tag {
                key: "team".into(),
                value: "a".into(),
            }],
        };
        assert_eq!(
            body(&r),
            r#"{"SecretName":"n","VersionId":"v1","Description":"d","KmsKeyId":"k","SecretType":0,"SecretString":"x","Tags":[{"TagKey":"team","TagValue":"a"}]}"#
        );
        assert_eq!(r.content(), Some(&s("x")));
        assert_eq!(r.version_id(), Some("v1"));
    }

    #[test]
    fn simple_requests_encode_with_api_field_names() {
        assert_eq!(
            body(&GetSecretValueRequest {
                secret_name: "n".into(),
                version_id: "v".into()
            }),
            r#"{"SecretName":"n","VersionId":"v"}"#
        );
        assert_eq!(
            body(&DeleteSecretRequest {
                secret_name: "n".into(),
                recovery_window_in_days: Some(0)
            }),
            r#"{"SecretName":"n","RecoveryWindowInDays":0}"#
        );
        assert_eq!(body(&ListSecretsRequest::default()), "{}");
        assert_eq!(
            body(&ListSecretsRequest {
                offset: Some(20),
                limit: Some(100),
                order: Some(ListOrder::OldestFirst),
                state: Some(StateFilter::PendingDelete),
                search_secret_name: Some("app".into()),
                tag_filters: vec![TagFilter {
                    key: "k".into(),
                    values: vec!["a".into(), "b".into()]
                }],
                secret_type: Some(0),
            }),
            r#"{"Offset":20,"Limit":100,"OrderType":1,"State":3,"SearchSecretName":"app","TagFilters":[{"TagKey":"k","TagValue":["a","b"]}],"SecretType":0}"#
        );
        for (a, expected) in [
            (
                body(&EnableSecretRequest {
                    secret_name: "n".into(),
                }),
                r#"{"SecretName":"n"}"#,
            ),
            (
                body(&DisableSecretRequest {
                    secret_name: "n".into(),
                }),
                r#"{"SecretName":"n"}"#,
            ),
            (
                body(&RestoreSecretRequest {
                    secret_name: "n".into(),
                }),
                r#"{"SecretName":"n"}"#,
            ),
            (
                body(&DescribeSecretRequest {
                    secret_name: "n".into(),
                }),
                r#"{"SecretName":"n"}"#,
            ),
            (
                body(&ListSecretVersionIdsRequest {
                    secret_name: "n".into(),
                }),
                r#"{"SecretName":"n"}"#,
            ),
            (
                body(&DeleteSecretVersionRequest {
                    secret_name: "n".into(),
                    version_id: "v".into(),
                }),
                r#"{"SecretName":"n","VersionId":"v"}"#,
            ),
        ] {
            assert_eq!(a, expected);
        }
    }

    #[test]
    fn action_names() {
        assert_eq!(UpdateSecretRequest::NAME, "UpdateSecret");
        assert_eq!(GetSecretValueRequest::NAME, "GetSecretValue");
        assert_eq!(PutSecretValueRequest::NAME, "PutSecretValue");
        assert_eq!(CreateSecretRequest::NAME, "CreateSecret");
        assert_eq!(DescribeSecretRequest::NAME, "DescribeSecret");
        assert_eq!(ListSecretVersionIdsRequest::NAME, "ListSecretVersionIds");
        assert_eq!(ListSecretsRequest::NAME, "ListSecrets");
        assert_eq!(DisableSecretRequest::NAME, "DisableSecret");
        assert_eq!(EnableSecretRequest::NAME, "EnableSecret");
        assert_eq!(DeleteSecretRequest::NAME, "DeleteSecret");
        assert_eq!(RestoreSecretRequest::NAME, "RestoreSecret");
        assert_eq!(DeleteSecretVersionRequest::NAME, "DeleteSecretVersion");
        const { assert!(GetSecretValueRequest::RESPONSE_HOLDS_SECRETS) };
        const { assert!(!UpdateSecretRequest::RESPONSE_HOLDS_SECRETS) };
    }

    fn get(body: &str) -> Result<GetSecretValueResponse, DecodeError> {
        GetSecretValueRequest::decode(body.as_bytes())
    }

    #[test]
    fn get_secret_value_picks_the_non_empty_field() {
        let r = get(r#"{"Response":{"SecretName":"n","VersionId":"v","SecretString":"hello","SecretBinary":"","RequestId":"r"}}"#).unwrap();
        assert_eq!(r.content, s("hello"));
        assert_eq!(
            (
                r.secret_name.as_str(),
                r.version_id.as_str(),
                r.request_id.as_str()
            ),
            ("n", "v", "r")
        );
        let r = get(r#"{"Response":{"SecretName":"n","VersionId":"v","SecretString":"","SecretBinary":"3q2+7w==","RequestId":"r"}}"#).unwrap();
        assert_eq!(r.content, b(&[0xde, 0xad, 0xbe, 0xef]));
        let r = get(r#"{"Response":{"SecretString":null,"SecretBinary":"3q2+7w"}}"#).unwrap();
        assert_eq!(
            r.content,
            b(&[0xde, 0xad, 0xbe, 0xef]),
            "padding is optional"
        );
        let r = get(r#"{"Response":{"SecretBinary":"3q2\/7w=="}}"#).unwrap();
        assert_eq!(r.content, b(&[0xde, 0xad, 0xbf, 0xef]), "escaped slash");
        let r =
            get(r#"{"Response":{"SecretString":"","SecretBinary":"","RequestId":"r"}}"#).unwrap();
        assert_eq!(r.content, s(""));
        let r = get(r#"{"Response":{}}"#).unwrap();
        assert_eq!(r.content, s(""));
    }

    #[test]
    fn get_secret_value_unescapes_every_json_escape() {
        // Python's json.dumps escapes non-ASCII as \uXXXX, including surrogate pairs.
        let r = get(r#"{"Response":{"SecretString":"q\"b\\s\/n\nr\rt\tb\bf\f\u00e9\u4e2d\ud83d\ude00 raw é","Extra":[1,{"a":null}]}}"#).unwrap();
        assert_eq!(r.content, s("q\"b\\s/n\nr\rt\tb\u{8}f\u{c}é中😀 raw é"));
    }

    #[test]
    fn get_secret_value_errors_never_quote_content() {
        let cases = [
            format!(r#"{{"Response":{{"SecretString":"{CANARY}","SecretBinary":"{CANARY}"}}}}"#),
            format!(r#"{{"Response":{{"SecretString":"","SecretBinary":"{CANARY}!"}}}}"#),
            format!(r#"{{"Response":{{"SecretString":1{CANARY}}}}}"#),
            format!(r#"{{"Response":{{"SecretString":["{CANARY}"]}}}}"#),
            format!(r#"{{"Response":{{"SecretName":["{CANARY}"]}}}}"#),
            format!(r#"{{"Response":{{"SecretString":"{CANARY}"#),
        ];
        for case in &cases {
            let err = get(case).unwrap_err();
            assert!(!err.0.contains("canary"), "{case}: {err}");
        }
        assert_eq!(
            get(&cases[0]).unwrap_err().0,
            "both SecretString and SecretBinary are non-empty"
        );
        assert_eq!(
            get(&cases[1]).unwrap_err().0,
            "SecretBinary is not valid base64"
        );
        assert_eq!(
            get(&cases[3]).unwrap_err().0,
            "SecretString is not a JSON string"
        );
        assert!(
            get(&cases[5])
                .unwrap_err()
                .0
                .starts_with("truncated JSON at line 1")
        );
    }

    #[test]
    fn unescape_rejects_malformed_escapes() {
        for bad in [
            r#""\x""#,
            r#""\u12""#,
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00x""#,
            "noquotes",
            r#""\""#,
        ] {
            assert!(unescape_json_string(bad).is_none(), "{bad}");
        }
        assert_eq!(unescape_json_string(r#""""#).unwrap().as_slice(), b"");
    }

    #[test]
    fn unescape_never_outgrows_its_buffer() {
        let literal = serde_json::to_string("\u{1F600}\u{e9}\n\"x\u{1}").unwrap();
        let out = unescape_json_string(&literal).unwrap();
        assert!(out.capacity() == literal.len() - 2);
        assert_eq!(out.as_slice(), "\u{1F600}\u{e9}\n\"x\u{1}".as_bytes());
    }

    #[test]
    fn responses_tolerate_nulls_unknown_and_missing_fields() {
        let r = ListSecretVersionIdsRequest::decode(
            br#"{"Response":{"SecretName":"n","Versions":null,"RequestId":"r","New":1}}"#,
        )
        .unwrap();
        assert!(r.versions.is_empty());
        let r = ListSecretVersionIdsRequest::decode(
            br#"{"Response":{"Versions":[{"VersionId":"v1","CreateTime":1700000000},{"VersionId":null}]}}"#,
        )
        .unwrap();
        assert_eq!(
            r.versions,
            vec![
                VersionInfo {
                    version_id: "v1".into(),
                    create_time: 1_700_000_000
                },
                VersionInfo::default()
            ]
        );
        let r = ListSecretsRequest::decode(
            br#"{"Response":{"TotalCount":2,"SecretMetadatas":[{"SecretName":"a","Status":"Enabled","RotationStatus":1,"CreateTime":5,"Description":null,"Whatever":{}},{"SecretName":"b","Status":"Creating","RotationStatus":0}],"RequestId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(r.total_count, 2);
        assert_eq!(r.secret_metadatas[0].status, SecretStatus::Enabled);
        assert!(r.secret_metadatas[0].rotation_status);
        assert_eq!(r.secret_metadatas[1].status, SecretStatus::Creating);
        let r =
            ListSecretsRequest::decode(br#"{"Response":{"TotalCount":0,"SecretMetadatas":null}}"#)
                .unwrap();
        assert!(r.secret_metadatas.is_empty());
        let r = DescribeSecretRequest::decode(
            br#"{"Response":{"SecretName":"n","Description":"","KmsKeyId":"","CreateUin":100000,"Status":"PendingDelete","DeleteTime":1700864000,"CreateTime":1700000000,"SecretType":0,"ProductName":"","ResourceID":"","RotationStatus":false,"RotationFrequency":0,"AdditionalConfig":"","RequestId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(r.status, SecretStatus::PendingDelete);
        assert_eq!(r.delete_time, 1_700_864_000);
        assert_eq!(r.create_uin, 100_000);
        let r = DescribeSecretRequest::decode(
            br#"{"Response":{"Status":"Frozen","RotationStatus":true}}"#,
        )
        .unwrap();
        assert_eq!(r.status, SecretStatus::Other("Frozen".into()));
        assert!(r.rotation_status);
        let r = DescribeSecretRequest::decode(br#"{"Response":{"Status":null}}"#).unwrap();
        assert_eq!(r.status, SecretStatus::Unknown);
        let r = CreateSecretRequest::decode(
            br#"{"Response":{"SecretName":"n","VersionId":"SSM_Current","TagCode":0,"TagMsg":"","RequestId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(r.version_id, "SSM_Current");
        let r = DeleteSecretRequest::decode(
            br#"{"Response":{"SecretName":"n","DeleteTime":17,"RequestId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(r.delete_time, 17);
        for decoded in [
            EnableSecretRequest::decode(br#"{"Response":{"SecretName":"n","RequestId":"r"}}"#)
                .unwrap(),
            DisableSecretRequest::decode(br#"{"Response":{"SecretName":"n","RequestId":"r"}}"#)
                .unwrap(),
            RestoreSecretRequest::decode(br#"{"Response":{"SecretName":"n","RequestId":"r"}}"#)
                .unwrap(),
        ] {
            assert_eq!(
                decoded,
                SecretNameResponse {
                    secret_name: "n".into(),
                    request_id: "r".into()
                }
            );
        }
        let r = UpdateSecretRequest::decode(
            br#"{"Response":{"SecretName":"n","VersionId":"v","RequestId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(r.request_id, "r");
        let r = PutSecretValueRequest::decode(
            br#"{"Response":{"SecretName":"n","VersionId":"v","RequestId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(r.version_id, "v");
        let r = DeleteSecretVersionRequest::decode(
            br#"{"Response":{"SecretName":"n","VersionId":"v","RequestId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(r.version_id, "v");
    }

    #[test]
    fn decode_errors_for_plain_responses_name_the_field() {
        let err =
            DescribeSecretRequest::decode(br#"{"Response":{"CreateTime":"soon"}}"#).unwrap_err();
        assert!(err.0.contains("invalid type"), "{err}");
        let err = DescribeSecretRequest::decode(br#"{"NoResponse":{}}"#).unwrap_err();
        assert!(err.0.contains("Response"), "{err}");
    }
}
