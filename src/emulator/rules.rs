//! The validation rules of docs/ssm-api.md#naming-rules-and-limits: names, version ids, content,
//! description, region.
//!
//! The content limit is 32 KB (32,768 bytes), and it is measured on the parameter **as sent**:
//! `SecretString`'s UTF-8 bytes, `SecretBinary`'s base64 text. Tencent does not document whether the
//! limit counts the base64 text or the decoded bytes; counting the text is the stricter reading, so
//! anything the emulator accepts the real service accepts too.

use base64::Engine as _;

use super::error::ApiError;
use super::params::Params;
use super::store::Content;

pub const MAX_SECRET_NAME: usize = 128;
pub const MAX_VERSION_ID: usize = 64;
pub const MAX_CONTENT_BYTES: usize = 32 * 1024;
pub const MAX_DESCRIPTION_BYTES: usize = 2048;
pub const MAX_VERSIONS_PER_SECRET: u64 = 10;
pub const MAX_SECRETS_PER_REGION: u64 = 1000;
/// The first version's id when CreateSecret names none.
pub const DEFAULT_VERSION_ID: &str = "SSM_Current";

fn identifier(
    param: &str,
    value: &str,
    max: usize,
    allowed: impl Fn(u8) -> bool,
    charset: &str,
) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid_value(param, "it is empty"));
    }
    if value.len() > max {
        return Err(ApiError::invalid_value(
            param,
            format_args!("it is {} bytes long, the maximum is {max}", value.len()),
        ));
    }
    if !value.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(ApiError::invalid_value(
            param,
            "it must start with a letter or a digit",
        ));
    }
    if !value.bytes().all(allowed) {
        return Err(ApiError::invalid_value(
            param,
            format_args!("it may contain only {charset}"),
        ));
    }
    Ok(())
}

/// ≤128 bytes of `[A-Za-z0-9_-]`, starting with a letter or digit.
pub fn secret_name(value: &str) -> Result<(), ApiError> {
    identifier(
        "SecretName",
        value,
        MAX_SECRET_NAME,
        |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
        "letters, digits, `_` and `-`",
    )
}

/// ≤64 bytes of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn version_id(value: &str) -> Result<(), ApiError> {
    identifier(
        "VersionId",
        value,
        MAX_VERSION_ID,
        |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.',
        "letters, digits, `.`, `_` and `-`",
    )
}

pub fn description(value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_DESCRIPTION_BYTES {
        return Err(ApiError::invalid_value(
            "Description",
            format_args!(
                "it is {} bytes long, the maximum is {MAX_DESCRIPTION_BYTES}",
                value.len()
            ),
        ));
    }
    Ok(())
}

/// A region name: lower-case letters, digits and `-` (`ap-guangzhou`). The emulator keeps a
/// separate namespace per region and accepts any well-formed name.
pub fn region(value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            super::error::code::UNSUPPORTED_REGION,
            format!(
                "The region `{}` is not supported.",
                super::params::truncate(value, 64)
            ),
        ))
    }
}

/// Exactly one non-empty content field, valid and within the limit.
pub fn content(params: &Params) -> Result<Content, ApiError> {
    let string = params.str_opt("SecretString")?.filter(|s| !s.is_empty());
    let binary = params.str_opt("SecretBinary")?.filter(|s| !s.is_empty());
    let (param, text) = match (string, binary) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                super::error::code::INVALID_PARAMETER,
                "Only one of `SecretString` and `SecretBinary` may be set.",
            ));
        }
        (None, None) => {
            return Err(ApiError::new(
                super::error::code::INVALID_PARAMETER,
                "One of `SecretString` and `SecretBinary` must be set.",
            ));
        }
        (Some(s), None) => ("SecretString", s),
        (None, Some(b)) => ("SecretBinary", b),
    };
    if text.len() > MAX_CONTENT_BYTES {
        return Err(ApiError::invalid_value(
            param,
            format_args!(
                "it is {} bytes long, the maximum is {MAX_CONTENT_BYTES}",
                text.len()
            ),
        ));
    }
    if param == "SecretBinary" {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| ApiError::invalid_value("SecretBinary", "it is not valid base64"))?;
        return Ok(Content::Binary(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ));
    }
    Ok(Content::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        assert!(secret_name("db-password_1").is_ok());
        assert!(secret_name(&"a".repeat(128)).is_ok());
        for bad in ["", "-a", "_a", "a.b", "a b", "é", &"a".repeat(129)] {
            assert_eq!(secret_name(bad).unwrap_err().code, "InvalidParameterValue");
        }
    }

    #[test]
    fn version_ids() {
        assert!(version_id("v1.0").is_ok());
        assert!(version_id("SSM_Current").is_ok());
        assert!(version_id(&"1".repeat(64)).is_ok());
        for bad in ["", ".v", "v/1", &"1".repeat(65)] {
            assert!(version_id(bad).is_err(), "{bad}");
        }
    }

    fn p(json: &str) -> Params {
        Params::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn exactly_one_content_field() {
        assert_eq!(
            content(&p(r#"{"SecretString": "x"}"#)).unwrap(),
            Content::String("x".into())
        );
        assert_eq!(
            content(&p(r#"{"SecretBinary": "AAE=", "SecretString": ""}"#)).unwrap(),
            Content::Binary("AAE=".into())
        );
        assert!(content(&p(r#"{"SecretBinary": "AAE=", "SecretString": "x"}"#)).is_err());
        assert!(content(&p(r#"{}"#)).is_err());
        assert!(content(&p(r#"{"SecretString": ""}"#)).is_err());
        assert_eq!(
            content(&p(r#"{"SecretBinary": "not base64!"}"#))
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn the_32_kb_limit_counts_the_text_as_sent() {
        let ok = format!(r#"{{"SecretString": "{}"}}"#, "a".repeat(MAX_CONTENT_BYTES));
        assert!(content(&p(&ok)).is_ok());
        let big = format!(
            r#"{{"SecretString": "{}"}}"#,
            "a".repeat(MAX_CONTENT_BYTES + 1)
        );
        assert_eq!(content(&p(&big)).unwrap_err().code, "InvalidParameterValue");
        // 24,576 bytes decode from exactly 32,768 base64 characters: accepted; one more
        // 4-character group is rejected although it decodes to only 24,579 bytes.
        let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
        let at = format!(r#"{{"SecretBinary": "{}"}}"#, b64(24_576));
        assert!(content(&p(&at)).is_ok());
        let over = format!(r#"{{"SecretBinary": "{}"}}"#, b64(24_579));
        assert!(content(&p(&over)).is_err());
    }

    #[test]
    fn regions() {
        assert!(region("ap-guangzhou").is_ok());
        assert_eq!(region("AP").unwrap_err().code, "UnsupportedRegion");
        assert!(region("").is_err());
    }
}
