//! The emulated STS (`2018-08-13`): AssumeRole and AssumeRoleWithWebIdentity, the temporary keys
//! they issue, and the CVM metadata service's instance-role credentials (served by
//! [`super::metadata`] from the same key store).
//!
//! Routing (in [`super::service`]): a TC3 request whose credential scope names the service `sts`,
//! or an unsigned one (`Authorization: SKIP`, or none) whose `X-TC-Action` is
//! AssumeRoleWithWebIdentity, comes here; everything else is SSM. So STS shares SSM's port, as the
//! SDKs expect of an endpoint override.
//!
//! What it checks, in order, each failure answering with its own code:
//!
//! | check | code |
//! |---|---|
//! | `Version` = `2018-08-13` | `NoSuchVersion` |
//! | action is AssumeRole or AssumeRoleWithWebIdentity | `InvalidAction` |
//! | `Region` present and well formed; timestamp within 5 minutes | `MissingParameter`, `UnsupportedRegion`, `AuthFailure.SignatureExpire` |
//! | AssumeRole: TC3 signature for service `sts` by an accepted credential (a temporary one only with its token, before it expires) | `AuthFailure.*` |
//! | `RoleArn` is `qcs::cam::uin/<digits>:roleName/<name>` (or `:role/<id>`); `RoleSessionName` 2–128 of `[\w+=,.@-]`; `DurationSeconds` 1–43200 | `InvalidParameter.ParamError`, `InvalidParameterValue` |
//! | web identity: `ProviderId` is `--oidc-provider` (when set) | `InvalidParameter.ParamError` |
//! | web identity: the token is a JWT (three base64url parts, JSON header and payload), its `exp` is in the future, its `aud` is `--oidc-audience` (when set); the signature is not checked | `InvalidParameter.WebIdentityTokenError` |
//! | the role exists (with `--role` rules: only those do) | `ResourceNotFound.RoleNotFound` |
//! | the caller is the role's principal | `UnauthorizedOperation` |
//!
//! Messages never quote the token, a key or the policy.
//!
//! Issued keys (`TmpSecretId` `AKIDtmp…`, a random `TmpSecretKey` and `Token`) expire after the
//! requested `DurationSeconds` (default 7200), or `--credential-lifetime` if shorter. The SSM side
//! ([`super::auth`]) accepts them only with their token in `X-TC-Token` (legacy: `Token`) and only
//! before they expire; otherwise `AuthFailure.TokenFailure`. Expired keys are forgotten.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::config::{Principal, StsConfig};
use super::error::{ApiError, code};
use super::params::{Params, truncate};

/// The STS API version.
pub const STS_VERSION: &str = "2018-08-13";
/// The service name in an STS request's credential scope.
pub const STS_SERVICE: &str = "sts";
/// The actions served.
pub const STS_ACTIONS: &[&str] = &["AssumeRole", "AssumeRoleWithWebIdentity"];
/// Actions the real STS serves without a signature.
pub const UNSIGNED_ACTIONS: &[&str] = &["AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"];
/// The key of the metadata service's figures in [`StsStats`] maps.
pub const METADATA: &str = "MetadataCredentials";
const DEFAULT_DURATION: i64 = 7200;
const MAX_DURATION: i64 = 43200;

/// A temporary key the emulator issued.
#[derive(Clone)]
pub struct TempKey {
    pub secret_key: String,
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for TempKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempKey")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// One STS action's (or the metadata service's) traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StsStats {
    /// Requests (refusals included).
    pub calls: u64,
    /// Requests refused.
    pub errors: u64,
}

/// The STS state: settings, issued keys, figures.
pub struct Sts {
    config: StsConfig,
    keys: Mutex<HashMap<String, TempKey>>,
    stats: Mutex<BTreeMap<&'static str, StsStats>>,
}

impl std::fmt::Debug for Sts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sts")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn random_hex(bytes: usize) -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    let b: Vec<u8> = (0..bytes).map(|_| rng.random()).collect();
    hex::encode(b)
}

/// `2023-11-14T22:13:20Z`.
pub fn iso8601(unix: i64) -> String {
    let (y, m, d) = crate::clock::civil_date(unix);
    let s = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

impl Sts {
    pub fn new(config: StsConfig) -> Self {
        let stats = [STS_ACTIONS[0], STS_ACTIONS[1], METADATA]
            .into_iter()
            .map(|k| (k, StsStats::default()))
            .collect();
        Sts {
            config,
            keys: Mutex::new(HashMap::new()),
            stats: Mutex::new(stats),
        }
    }

    /// The temporary key with this SecretId, if it was issued and has not been forgotten.
    pub fn temporary(&self, secret_id: &str) -> Option<TempKey> {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(secret_id)
            .cloned()
    }

    /// Count one request to `what` (an STS action or [`METADATA`]).
    pub fn record(&self, what: &str, ok: bool) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, s)) = stats.iter_mut().find(|(k, _)| **k == what) {
            s.calls += 1;
            if !ok {
                s.errors += 1;
            }
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, StsStats> {
        self.stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// Issue a key valid for `duration` seconds (capped by `--credential-lifetime`); returns
    /// (id, key, token, expires_at).
    fn issue(&self, duration: i64, now: i64) -> (String, TempKey) {
        let lifetime = match self.config.credential_lifetime {
            Some(cap) => duration.min(i64::from(cap)),
            None => duration,
        };
        let id = format!("AKIDtmp{}", random_hex(16));
        let key = TempKey {
            secret_key: random_hex(20),
            token: format!("ssmformEmulatorToken{}", random_hex(48)),
            expires_at: now + lifetime,
        };
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.retain(|_, k| k.expires_at > now);
        keys.insert(id.clone(), key.clone());
        (id, key)
    }

    fn credentials_answer(&self, duration: i64, now: i64) -> Map<String, Value> {
        let (id, key) = self.issue(duration, now);
        let v = json!({
            "Credentials": {"Token": key.token, "TmpSecretId": id, "TmpSecretKey": key.secret_key},
            "ExpiredTime": key.expires_at,
            "Expiration": iso8601(key.expires_at),
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The role the metadata service serves, if any.
    pub fn instance_role(&self) -> Option<&str> {
        self.config.instance_role.as_deref()
    }

    /// The metadata service's answer for `role`: `None` when that role is not bound.
    pub fn instance_credentials(&self, role: &str, now: i64) -> Option<Vec<u8>> {
        if self.instance_role() != Some(role) {
            return None;
        }
        let (id, key) = self.issue(DEFAULT_DURATION, now);
        let body = json!({
            "TmpSecretId": id,
            "TmpSecretKey": key.secret_key,
            "ExpiredTime": key.expires_at,
            "Expiration": iso8601(key.expires_at),
            "Token": key.token,
            "Code": "Success",
        });
        Some(serde_json::to_vec(&body).unwrap_or_default())
    }

    /// AssumeRole by the holder of `caller` (a SecretId that passed authentication).
    pub fn assume_role(
        &self,
        params: &Params,
        caller: &str,
        now: i64,
    ) -> Result<Map<String, Value>, ApiError> {
        params.reject_unknown(&[
            "RoleArn",
            "RoleSessionName",
            "DurationSeconds",
            "Policy",
            "ExternalId",
            "Tags",
            "SourceIdentity",
            "SerialNumber",
            "TokenCode",
        ])?;
        let role = role_name(params.str_req("RoleArn")?)?;
        session_name(params.str_req("RoleSessionName")?)?;
        let duration = duration(params)?;
        if let Some(policy) = params.str_opt("Policy")? {
            policy_document(policy)?;
        }
        self.admit(&role, |p| match p {
            Principal::Anyone => true,
            Principal::SecretId(id) => id == caller,
            Principal::WebIdentity(_) => false,
        })?;
        Ok(self.credentials_answer(duration, now))
    }

    /// AssumeRoleWithWebIdentity (unsigned: the token is the credential).
    pub fn assume_role_with_web_identity(
        &self,
        params: &Params,
        now: i64,
    ) -> Result<Map<String, Value>, ApiError> {
        params.reject_unknown(&[
            "ProviderId",
            "WebIdentityToken",
            "RoleArn",
            "RoleSessionName",
            "DurationSeconds",
        ])?;
        let provider = params.str_req("ProviderId")?;
        let token = params.str_req("WebIdentityToken")?;
        let role = role_name(params.str_req("RoleArn")?)?;
        session_name(params.str_req("RoleSessionName")?)?;
        let duration = duration(params)?;
        if let Some(expected) = &self.config.oidc_provider
            && provider != expected
        {
            return Err(ApiError::new(
                code::PARAM_ERROR,
                format!(
                    "The identity provider `{}` does not exist.",
                    truncate(provider, 64)
                ),
            ));
        }
        check_token(token, self.config.oidc_audience.as_deref(), now)?;
        self.admit(&role, |p| match p {
            Principal::Anyone | Principal::WebIdentity(None) => true,
            Principal::WebIdentity(Some(p)) => p == provider,
            Principal::SecretId(_) => false,
        })?;
        Ok(self.credentials_answer(duration, now))
    }

    /// With `--role` rules, the role must be listed and `allowed` must accept its principal.
    fn admit(&self, role: &str, allowed: impl Fn(&Principal) -> bool) -> Result<(), ApiError> {
        if self.config.roles.is_empty() {
            return Ok(());
        }
        let Some(rule) = self.config.roles.iter().find(|r| r.name == role) else {
            return Err(ApiError::new(
                code::ROLE_NOT_FOUND,
                format!("The role `{}` does not exist.", truncate(role, 64)),
            ));
        };
        if allowed(&rule.principal) {
            Ok(())
        } else {
            Err(ApiError::new(
                code::UNAUTHORIZED_OPERATION,
                format!(
                    "The role's trust policy does not allow this principal to assume role `{}`.",
                    truncate(role, 64)
                ),
            ))
        }
    }
}

/// The role's name from `qcs::cam::uin/<digits>:roleName/<name>` (or `:role/<id>`).
fn role_name(arn: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::new(
            code::PARAM_ERROR,
            "The RoleArn is not a CAM role ARN (qcs::cam::uin/<account>:roleName/<name>).",
        )
    };
    let rest = arn.strip_prefix("qcs::cam::uin/").ok_or_else(bad)?;
    let (uin, role) = rest.split_once(':').ok_or_else(bad)?;
    if uin.is_empty() || !uin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let name = role
        .strip_prefix("roleName/")
        .or_else(|| role.strip_prefix("role/"))
        .ok_or_else(bad)?;
    if name.is_empty() || name.len() > 128 {
        return Err(bad());
    }
    Ok(name.to_string())
}

fn session_name(s: &str) -> Result<(), ApiError> {
    let ok = (2..=128).contains(&s.chars().count())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            code::PARAM_ERROR,
            "The RoleSessionName must be 2 to 128 characters of letters, digits and +=,.@_-.",
        ))
    }
}

/// `DurationSeconds`: 1–43200, default 7200; a numeric string is accepted (Tencent's own example
/// sends one).
fn duration(params: &Params) -> Result<i64, ApiError> {
    let d = match params.str_opt("DurationSeconds") {
        Ok(Some(s)) => Some(s.trim().parse::<i64>().map_err(|_| {
            ApiError::invalid_value("DurationSeconds", "it must be a whole number of seconds")
        })?),
        Ok(None) => None,
        Err(_) => params.int_opt("DurationSeconds")?,
    };
    match d {
        None => Ok(DEFAULT_DURATION),
        Some(d) if (1..=MAX_DURATION).contains(&d) => Ok(d),
        Some(_) => Err(ApiError::invalid_value(
            "DurationSeconds",
            "it must be from 1 to 43200",
        )),
    }
}

/// A session policy: URL-encoded JSON object.
fn policy_document(policy: &str) -> Result<(), ApiError> {
    let bad = || {
        ApiError::new(
            code::PARAM_ERROR,
            "The Policy is not a URL-encoded CAM policy document.",
        )
    };
    let decoded = crate::ssm::sign_legacy::form_decode(&format!("p={policy}"))
        .ok()
        .and_then(|pairs| pairs.into_iter().next().map(|(_, v)| v))
        .ok_or_else(bad)?;
    match serde_json::from_str::<Value>(&decoded) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(bad()),
    }
}

/// A web-identity token: a JWT whose `exp` is in the future and whose `aud` includes
/// `audience` (when set). The signature is not verified: the emulator knows no identity
/// provider's keys.
fn check_token(token: &str, audience: Option<&str>, now: i64) -> Result<(), ApiError> {
    let err = |m: &str| ApiError::new(code::WEB_IDENTITY_TOKEN_ERROR, m);
    let malformed = || err("The web identity token is malformed: it is not a JWT.");
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(malformed());
    }
    let decode = |p: &str| -> Result<Map<String, Value>, ApiError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p.trim_end_matches('='))
            .map_err(|_| malformed())?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(malformed()),
        }
    };
    decode(parts[0])?;
    let claims = decode(parts[1])?;
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now => {}
        Some(_) => return Err(err("The web identity token has expired.")),
        None => return Err(err("The web identity token has no expiry (`exp`).")),
    }
    if let Some(expected) = audience {
        let ok = match claims.get("aud") {
            Some(Value::String(a)) => a == expected,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected)),
            _ => false,
        };
        if !ok {
            return Err(err(
                "The web identity token's audience is not accepted by the identity provider.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::RoleRule;

    fn jwt(claims: Value) -> String {
        let e = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", e(&json!({"alg": "RS256"})), e(&claims))
    }

    fn params(v: Value) -> Params {
        Params::from_json(v.to_string().as_bytes()).unwrap()
    }

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn tokens_are_checked_for_shape_expiry_and_audience_without_being_quoted() {
        let good = jwt(json!({"exp": NOW + 60, "aud": ["a", "sts"]}));
        check_token(&good, Some("sts"), NOW).unwrap();
        check_token(&good, None, NOW).unwrap();
        for (token, audience, expected) in [
            (good.clone(), Some("other"), "audience"),
            (jwt(json!({"exp": NOW - 1})), None, "expired"),
            (jwt(json!({"aud": "sts"})), None, "no expiry"),
            ("a.b".to_string(), None, "malformed"),
            ("x.y.z".to_string(), None, "malformed"),
        ] {
            let e = check_token(&token, audience, NOW).unwrap_err();
            assert_eq!(e.code, code::WEB_IDENTITY_TOKEN_ERROR);
            assert!(e.message.contains(expected), "{}", e.message);
            assert!(!e.message.contains(&token), "{}", e.message);
        }
    }

    #[test]
    fn roles_exist_and_admit_only_their_principal_under_rules() {
        let sts = Sts::new(StsConfig {
            roles: vec![
                RoleRule::parse("reader=oidc:github").unwrap(),
                RoleRule::parse("writer=AKIDwriter").unwrap(),
            ],
            ..Default::default()
        });
        let assume = |role: &str, caller: &str| {
            sts.assume_role(
                &params(json!({"RoleArn": format!("qcs::cam::uin/1:roleName/{role}"), "RoleSessionName": "s1"})),
                caller,
                NOW,
            )
        };
        assert!(assume("writer", "AKIDwriter").is_ok());
        assert_eq!(
            assume("writer", "AKIDother").unwrap_err().code,
            code::UNAUTHORIZED_OPERATION
        );
        assert_eq!(
            assume("reader", "AKIDwriter").unwrap_err().code,
            code::UNAUTHORIZED_OPERATION
        );
        assert_eq!(
            assume("nobody", "AKIDwriter").unwrap_err().code,
            code::ROLE_NOT_FOUND
        );
        let web = |role: &str, provider: &str| {
            sts.assume_role_with_web_identity(
                &params(json!({
                    "ProviderId": provider,
                    "WebIdentityToken": jwt(json!({"exp": NOW + 60})),
                    "RoleArn": format!("qcs::cam::uin/1:roleName/{role}"),
                    "RoleSessionName": "ci",
                    "DurationSeconds": "900",
                })),
                NOW,
            )
        };
        let ok = web("reader", "github").unwrap();
        assert_eq!(ok["ExpiredTime"], NOW + 900);
        assert_eq!(ok["Expiration"], "2023-11-14T22:28:20Z");
        assert_eq!(
            web("reader", "gitlab").unwrap_err().code,
            code::UNAUTHORIZED_OPERATION
        );
        assert_eq!(
            web("writer", "github").unwrap_err().code,
            code::UNAUTHORIZED_OPERATION
        );
    }

    #[test]
    fn issued_keys_expire_with_the_capped_lifetime_and_are_forgotten_after() {
        let sts = Sts::new(StsConfig {
            credential_lifetime: Some(5),
            ..Default::default()
        });
        let answer = sts
            .assume_role(
                &params(json!({"RoleArn": "qcs::cam::uin/1:role/4611686018427397919", "RoleSessionName": "s1"})),
                "AKIDcaller",
                NOW,
            )
            .unwrap();
        assert_eq!(answer["ExpiredTime"], NOW + 5);
        let id = answer["Credentials"]["TmpSecretId"].as_str().unwrap();
        assert!(id.starts_with("AKIDtmp"));
        let key = sts.temporary(id).unwrap();
        assert_eq!(key.token, answer["Credentials"]["Token"].as_str().unwrap());
        assert!(!format!("{key:?}").contains(&key.token));
        // A later issue forgets expired keys.
        sts.instance_credentials(super::super::config::DEFAULT_INSTANCE_ROLE, NOW + 10)
            .unwrap();
        assert!(sts.temporary(id).is_none());
    }

    #[test]
    fn parameters_are_validated() {
        let sts = Sts::new(StsConfig::default());
        for (p, expected) in [
            (
                json!({"RoleArn": "arn:aws:iam::1:role/x", "RoleSessionName": "s1"}),
                code::PARAM_ERROR,
            ),
            (
                json!({"RoleArn": "qcs::cam::uin/1:roleName/x", "RoleSessionName": "s"}),
                code::PARAM_ERROR,
            ),
            (
                json!({"RoleArn": "qcs::cam::uin/1:roleName/x", "RoleSessionName": "s1", "DurationSeconds": 50000}),
                code::INVALID_PARAMETER_VALUE,
            ),
            (
                json!({"RoleArn": "qcs::cam::uin/1:roleName/x", "RoleSessionName": "s1", "Policy": "not%20json"}),
                code::PARAM_ERROR,
            ),
            (json!({"RoleSessionName": "s1"}), code::MISSING_PARAMETER),
            (
                json!({"RoleArn": "qcs::cam::uin/1:roleName/x", "RoleSessionName": "s1", "Bogus": 1}),
                code::UNKNOWN_PARAMETER,
            ),
        ] {
            let e = sts
                .assume_role(&params(p.clone()), "AKIDc", NOW)
                .unwrap_err();
            assert_eq!(e.code, expected, "{p}: {}", e.message);
        }
        let policy = "%7B%22version%22%3A%222.0%22%7D";
        sts.assume_role(
            &params(json!({"RoleArn": "qcs::cam::uin/1:roleName/x", "RoleSessionName": "s1", "Policy": policy})),
            "AKIDc",
            NOW,
        )
        .unwrap();
    }
}
