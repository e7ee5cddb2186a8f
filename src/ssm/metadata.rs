//! The CVM metadata service's instance-role credentials (docs/ssm-api.md#cvm-metadata).
//!
//! - `GET {base}/latest/meta-data/cam/security-credentials/` answers the name of the role bound
//!   to the instance (HTTP 404 when none is);
//! - `GET {base}/latest/meta-data/cam/security-credentials/<role>` answers
//!   `{"TmpSecretId", "TmpSecretKey", "Token", "ExpiredTime", "Expiration", "Code": "Success"}`.
//!
//! `base` is `http://metadata.tencentyun.com` unless `metadata_endpoint` names another trusted one
//! ([`crate::ssm::trust`]). A role name goes into the URL path, so it must be a CAM role name
//! (letters, digits and `+=,.@_-`): a name with `/` or `..` could reach other metadata paths.
//! Answers are read with a size limit into zeroizing buffers; timeouts are short (1 s to connect,
//! 3 s in all), because off a CVM the host does not exist; transient failures are retried twice.

use std::time::Duration;

use serde::Deserialize;
use zeroize::Zeroize;

use crate::secret::SecretValue;
use crate::ssm::credentials::{CredentialSource, Credentials};
use crate::ssm::refresh::Temporary;
use crate::ssm::sts::{deepest_cause, http_client, read_limited};
use crate::ssm::trust::TrustedEndpoint;

/// The documented metadata service.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://metadata.tencentyun.com";
/// The path of the instance-role credentials, below the base.
pub const ROLE_PATH: &str = "/latest/meta-data/cam/security-credentials/";
const ATTEMPTS: u32 = 3;

/// Whether `name` can be a CAM role name (and so a URL path segment without surprises).
pub fn valid_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        && !name.contains("..")
}

/// Why the metadata service gave no credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataFailure {
    /// The service could not be reached (this is not a CVM, or the endpoint is wrong).
    Unreachable(String),
    /// No role is bound to the instance (or not the one asked for).
    NoRole(String),
    /// Any other failure, in ssmform's words.
    Other(String),
}

impl std::fmt::Display for MetadataFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetadataFailure::Unreachable(s)
            | MetadataFailure::NoRole(s)
            | MetadataFailure::Other(s) => f.write_str(s),
        }
    }
}

/// A client of the metadata service.
#[derive(Debug, Clone)]
pub struct MetadataClient {
    http: reqwest::Client,
    base: TrustedEndpoint,
}

impl MetadataClient {
    pub fn new(base: TrustedEndpoint) -> Result<Self, String> {
        let http = http_client(&base, Duration::from_secs(1), Duration::from_secs(3))?;
        Ok(MetadataClient { http, base })
    }

    pub fn endpoint(&self) -> &TrustedEndpoint {
        &self.base
    }

    fn url(&self, role: &str) -> String {
        let base = self.base.url().as_str().trim_end_matches('/');
        format!("{base}{ROLE_PATH}{role}")
    }

    /// The role bound to the instance, or `None` when the service says there is none.
    pub async fn discover_role(&self) -> Result<Option<String>, MetadataFailure> {
        let (status, body) = self.get(&self.url("")).await?;
        match status {
            404 => Ok(None),
            200 => {
                let text = String::from_utf8_lossy(&body);
                let name = text.lines().next().unwrap_or("").trim().to_string();
                if name.is_empty() {
                    Ok(None)
                } else if valid_role_name(&name) {
                    Ok(Some(name))
                } else {
                    Err(MetadataFailure::Other(
                        "the metadata service answered a role name that is not a CAM role name"
                            .into(),
                    ))
                }
            }
            s => Err(MetadataFailure::Other(format!(
                "the metadata service answered HTTP {s} for the role name"
            ))),
        }
    }

    /// The role's current temporary credentials.
    pub async fn credentials(
        &self,
        role: &str,
        source: &CredentialSource,
    ) -> Result<Temporary, MetadataFailure> {
        if !valid_role_name(role) {
            return Err(MetadataFailure::Other(format!(
                "`{role}` is not a CAM role name (letters, digits and +=,.@_-)"
            )));
        }
        let (status, body) = self.get(&self.url(role)).await?;
        match status {
            200 => decode(&body, source),
            404 => Err(MetadataFailure::NoRole(format!(
                "no role `{role}` is bound to this instance (bind it in the CVM console, or check \
                 `cam_role_name`)"
            ))),
            s => Err(MetadataFailure::Other(format!(
                "the metadata service answered HTTP {s} for role `{role}`"
            ))),
        }
    }

    async fn get(&self, url: &str) -> Result<(u16, zeroize::Zeroizing<Vec<u8>>), MetadataFailure> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 << (attempt - 1))).await;
            }
            match self.http.get(url).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status >= 500 {
                        last = format!("HTTP {status}");
                        continue;
                    }
                    let body = read_limited(response).await.map_err(|e| {
                        MetadataFailure::Other(format!(
                            "the metadata service's answer was cut short: {e}"
                        ))
                    })?;
                    return Ok((status, body));
                }
                Err(e) if e.is_connect() || e.is_timeout() => {
                    return Err(MetadataFailure::Unreachable(format!(
                        "the metadata service {} cannot be reached ({}): this is not a CVM \
                         instance, or `metadata_endpoint` is wrong",
                        self.base.display(),
                        deepest_cause(&e)
                    )));
                }
                Err(e) => last = deepest_cause(&e),
            }
        }
        Err(MetadataFailure::Other(format!(
            "the metadata service {} failed {ATTEMPTS} times: {last}",
            self.base.display()
        )))
    }
}

#[derive(Deserialize)]
struct RoleCredentials {
    #[serde(rename = "TmpSecretId")]
    tmp_secret_id: Option<String>,
    #[serde(rename = "TmpSecretKey")]
    tmp_secret_key: Option<String>,
    #[serde(rename = "Token")]
    token: Option<String>,
    #[serde(rename = "ExpiredTime")]
    expired_time: Option<i64>,
    #[serde(rename = "Code")]
    code: Option<String>,
}

fn decode(body: &[u8], source: &CredentialSource) -> Result<Temporary, MetadataFailure> {
    let mut r: RoleCredentials = serde_json::from_slice(body).map_err(|e| {
        MetadataFailure::Other(format!(
            "the metadata service's answer is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let code = r.code.take().unwrap_or_default();
    let (Some(id), Some(key), Some(token), Some(expires_at)) = (
        r.tmp_secret_id.take(),
        r.tmp_secret_key.take(),
        r.token.take(),
        r.expired_time,
    ) else {
        for s in [&mut r.tmp_secret_id, &mut r.tmp_secret_key, &mut r.token]
            .into_iter()
            .flatten()
        {
            s.zeroize();
        }
        return Err(MetadataFailure::Other(
            "the metadata service's answer lacks TmpSecretId, TmpSecretKey, Token or ExpiredTime"
                .into(),
        ));
    };
    if code != "Success" {
        let mut id = id;
        id.zeroize();
        let mut key = key;
        key.zeroize();
        let mut token = token;
        token.zeroize();
        return Err(MetadataFailure::Other(format!(
            "the metadata service answered Code `{}` instead of Success",
            code.chars().take(64).collect::<String>()
        )));
    }
    Ok(Temporary {
        credentials: Credentials::new(id, SecretValue::from_string(key))
            .with_token(SecretValue::from_string(token))
            .with_source(source.clone()),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_cannot_walk_the_metadata_tree() {
        for ok in ["ssm-reader", "CVM_QcsRole", "a+b=c,d.e@f"] {
            assert!(valid_role_name(ok), "{ok}");
        }
        for bad in [
            "",
            "../user-data",
            "a/b",
            "a b",
            "..",
            "a%2Fb",
            &"x".repeat(129),
        ] {
            assert!(!valid_role_name(bad), "{bad}");
        }
    }

    #[test]
    fn answers_are_decoded_or_described() {
        let source = CredentialSource::InstanceRole {
            role_name: "r".into(),
            discovered: true,
        };
        let ok = br#"{"TmpSecretId":"AKIDx","TmpSecretKey":"k","Token":"t","ExpiredTime":1700003600,"Expiration":"2023-11-14T23:13:20Z","Code":"Success"}"#;
        let t = decode(ok, &source).unwrap();
        assert_eq!(t.credentials.secret_id, "AKIDx");
        assert_eq!(t.expires_at, 1_700_003_600);
        let failed = br#"{"TmpSecretId":"AKIDx","TmpSecretKey":"secretcanary","Token":"t","ExpiredTime":1,"Code":"Failed"}"#;
        let err = decode(failed, &source).unwrap_err().to_string();
        assert!(err.contains("Code `Failed`"), "{err}");
        assert!(!err.contains("secretcanary"), "{err}");
        let err = decode(b"{", &source).unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
        let err = decode(br#"{"Code":"Success"}"#, &source)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lacks"), "{err}");
    }
}
