//! Which credentials to use, in the lookup order of the README's Credentials section, and the
//! [`CredentialsProvider`] that serves them.
//!
//! 1. **Web identity** (OIDC, no other credential needed): the provider block's
//!    `assume_role_with_web_identity`; else `TENCENTCLOUD_ASSUME_ROLE_ARN` with
//!    `TENCENTCLOUD_ASSUME_ROLE_WEB_IDENTITY_TOKEN` or `…_TOKEN_FILE` (unless the block has an
//!    `assume_role`); else TKE's pod identity, `TKE_ROLE_ARN` with `TKE_WEB_IDENTITY_TOKEN_FILE`.
//! 2. **Base credentials**, the first found of:
//!    - (a) the CVM instance role named by `cam_role_name` or `TENCENTCLOUD_CAM_ROLE_NAME`;
//!    - (b) `TENCENTCLOUD_SECRET_ID` / `TENCENTCLOUD_SECRET_KEY` (+ token);
//!    - (c) `~/.tencentcloud/credentials`;
//!    - (d) tccli's `~/.tccli/<profile>.credential`;
//!    - (e) the instance role discovered from the metadata service, when the SSM endpoint is
//!      Tencent Cloud's or `metadata_endpoint` is set (against an emulator a real instance role
//!      is of no use, and tests stay off the network).
//! 3. **AssumeRole** on top of the base credentials, when the provider block has `assume_role`
//!    or `TENCENTCLOUD_ASSUME_ROLE_ARN` is set (without a web-identity token).
//!
//! In a block, an attribute that is not written takes the variable the Terraform provider reads
//! for it (`role_arn` ← `TENCENTCLOUD_ASSUME_ROLE_ARN`, `session_name` ←
//! `TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME`, ...), then the default.
//!
//! [`choose`] decides without any network access (what `show` needs to know whether a plan key
//! can be derived); [`resolve`] builds the provider and fetches the first temporary credentials,
//! so that a role that does not exist or a token that expired is reported before any planning.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use zeroize::{Zeroize, Zeroizing};

use crate::secret::SecretValue;
use crate::ssm::credentials::*;
use crate::ssm::metadata::{DEFAULT_METADATA_ENDPOINT, MetadataClient, MetadataFailure};
use crate::ssm::refresh::{CredentialsProvider, Fetch, FetchError, FetchFuture};
use crate::ssm::sts::{
    AssumeRoleParams, DEFAULT_PROVIDER_ID, DEFAULT_SESSION_DURATION, DEFAULT_SESSION_NAME,
    DEFAULT_STS_ENDPOINT, MAX_SESSION_DURATION, StsClient, WebIdentityParams,
};
use crate::ssm::trust::{self, AllowList, AllowListError, Purpose, Untrusted};

/// Largest web-identity token file read (a JWT is a few kilobytes).
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// The provider block's `assume_role { ... }`, as written (unset attributes are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssumeRoleSettings {
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub session_duration: Option<u32>,
    pub policy: Option<String>,
    pub external_id: Option<String>,
}

/// The provider block's `assume_role_with_web_identity { ... }`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebIdentitySettings {
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub session_duration: Option<u32>,
    pub provider_id: Option<String>,
    pub web_identity_token: Option<SecretValue>,
    /// Already resolved against the configuration directory.
    pub web_identity_token_file: Option<PathBuf>,
}

/// What the provider block says about credentials (plain data: the configuration layer fills it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialSettings {
    pub profile: Option<String>,
    pub cam_role_name: Option<String>,
    pub assume_role: Option<AssumeRoleSettings>,
    pub web_identity: Option<WebIdentitySettings>,
    pub sts_endpoint: Option<String>,
    pub metadata_endpoint: Option<String>,
    /// `X-TC-Region` of STS calls.
    pub region: String,
    /// Whether step 2e (discovering the instance role) may run.
    pub discover_instance_role: bool,
}

/// Why no credentials could be set up.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Nothing found anywhere; lists every place looked at.
    #[error(transparent)]
    NotFound(#[from] CredentialsError),
    /// A setting (attribute or variable) is missing or unusable.
    #[error("{0}")]
    Setting(String),
    /// An endpoint may not receive credentials.
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
    /// The source was found but refused or failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// An HTTP client could not be set up.
    #[error("the HTTP client could not be set up: {0}")]
    Http(String),
}

/// Where a web-identity token comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSource {
    Value(SecretValue),
    /// Read again at every refresh (Kubernetes rotates projected tokens).
    File(PathBuf),
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Value(v) => write!(f, "Value({v:?})"),
            TokenSource::File(p) => write!(f, "File({})", p.display()),
        }
    }
}

/// A web-identity exchange, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentityChoice {
    pub params: WebIdentityParams,
    pub token: TokenSource,
    pub origin: TokenOrigin,
    /// `X-TC-Region` (TKE's own `TKE_REGION` when set).
    pub region: String,
}

/// An AssumeRole, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleChoice {
    pub params: AssumeRoleParams,
    pub settings: SettingsOrigin,
}

/// Where the base credentials come from.
#[derive(Debug, Clone)]
pub enum BaseChoice {
    InstanceRole {
        name: String,
    },
    Static(Credentials),
    /// Ask the metadata service for the instance's role; `looked` is what was tried before.
    DiscoverInstanceRole {
        looked: CredentialsError,
    },
}

/// The source [`resolve`] will use.
#[derive(Debug, Clone)]
pub enum Choice {
    WebIdentity(WebIdentityChoice),
    Base {
        base: BaseChoice,
        assume_role: Option<AssumeRoleChoice>,
    },
}

impl Choice {
    /// Whether ssmform will fetch (and refresh) temporary credentials itself.
    pub fn is_refreshed(&self) -> bool {
        !matches!(
            self,
            Choice::Base {
                base: BaseChoice::Static(_),
                assume_role: None
            }
        )
    }

    /// The source in words (no value), for messages given before anything is fetched.
    pub fn describe(&self) -> String {
        match self {
            Choice::WebIdentity(w) => format!(
                "assume_role_with_web_identity (role `{}`, token from {})",
                w.params.role_arn, w.origin
            ),
            Choice::Base {
                assume_role: Some(a),
                ..
            } => format!("assume_role (role `{}`)", a.params.role_arn),
            Choice::Base {
                base: BaseChoice::InstanceRole { name },
                ..
            } => format!("the CVM instance role `{name}`"),
            Choice::Base {
                base: BaseChoice::DiscoverInstanceRole { .. },
                ..
            } => "the CVM instance role (from the metadata service)".to_string(),
            Choice::Base {
                base: BaseChoice::Static(c),
                ..
            } => c.source.to_string(),
        }
    }

    /// The static credentials, when those are used as they are.
    pub fn static_credentials(&self) -> Option<&Credentials> {
        match self {
            Choice::Base {
                base: BaseChoice::Static(c),
                assume_role: None,
            } => Some(c),
            _ => None,
        }
    }
}

fn duration_var(lookup: &Lookup, var: &'static str) -> Result<Option<u32>, ResolveError> {
    match lookup.var(var) {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_SESSION_DURATION).contains(&n) => Ok(Some(n)),
            _ => Err(ResolveError::Setting(format!(
                "{var} must be a whole number of seconds from 1 to {MAX_SESSION_DURATION}"
            ))),
        },
    }
}

/// Decide which source to use, without network access.
pub fn choose(settings: &CredentialSettings, lookup: &Lookup) -> Result<Choice, ResolveError> {
    if let Some(w) = web_identity(settings, lookup)? {
        return Ok(Choice::WebIdentity(w));
    }
    let assume_role = assume_role(settings, lookup)?;
    let role_name = settings
        .cam_role_name
        .clone()
        .or_else(|| lookup.var(ENV_CAM_ROLE_NAME));
    if let Some(name) = role_name {
        if !crate::ssm::metadata::valid_role_name(&name) {
            return Err(ResolveError::Setting(format!(
                "the instance role name `{name}` (cam_role_name / {ENV_CAM_ROLE_NAME}) is not a \
                 CAM role name: letters, digits and +=,.@_-"
            )));
        }
        return Ok(Choice::Base {
            base: BaseChoice::InstanceRole { name },
            assume_role,
        });
    }
    let base = match lookup.credentials(settings.profile.as_deref()) {
        Ok(c) => BaseChoice::Static(c),
        Err(mut looked) => {
            let mut before = vec![
                Looked {
                    place: format!(
                        "assume_role_with_web_identity, {ENV_WEB_IDENTITY_TOKEN}, \
                         {ENV_WEB_IDENTITY_TOKEN_FILE}, {ENV_TKE_WEB_IDENTITY_TOKEN_FILE}"
                    ),
                    finding: Finding::NotSet,
                },
                Looked {
                    place: format!("cam_role_name, {ENV_CAM_ROLE_NAME}"),
                    finding: Finding::NotSet,
                },
            ];
            before.append(&mut looked.looked);
            looked.looked = before;
            if settings.discover_instance_role {
                BaseChoice::DiscoverInstanceRole { looked }
            } else {
                looked.looked.push(Looked {
                    place: "the CVM instance role (metadata service)".into(),
                    finding: Finding::Unavailable(
                        "not asked: the endpoint is not Tencent Cloud's and no \
                         metadata_endpoint is set"
                            .into(),
                    ),
                });
                return Err(ResolveError::NotFound(looked));
            }
        }
    };
    Ok(Choice::Base { base, assume_role })
}

fn web_identity(
    settings: &CredentialSettings,
    lookup: &Lookup,
) -> Result<Option<WebIdentityChoice>, ResolveError> {
    let block = match &settings.web_identity {
        Some(b) => b.clone(),
        None if settings.assume_role.is_some() => return Ok(None),
        None => {
            let has_token = lookup.var(ENV_WEB_IDENTITY_TOKEN).is_some()
                || lookup.var(ENV_WEB_IDENTITY_TOKEN_FILE).is_some();
            if has_token && lookup.var(ENV_ASSUME_ROLE_ARN).is_some() {
                WebIdentitySettings::default()
            } else if let (Some(role), Some(file)) = (
                lookup.var(ENV_TKE_ROLE_ARN),
                lookup.var(ENV_TKE_WEB_IDENTITY_TOKEN_FILE),
            ) {
                return Ok(Some(WebIdentityChoice {
                    params: WebIdentityParams {
                        role_arn: role,
                        session_name: DEFAULT_SESSION_NAME.into(),
                        duration_secs: DEFAULT_SESSION_DURATION,
                        provider_id: lookup
                            .var(ENV_TKE_PROVIDER_ID)
                            .unwrap_or_else(|| DEFAULT_PROVIDER_ID.into()),
                    },
                    token: TokenSource::File(PathBuf::from(&file)),
                    origin: TokenOrigin::VariableFile {
                        variable: ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
                        path: PathBuf::from(file),
                    },
                    region: lookup
                        .var(ENV_TKE_REGION)
                        .unwrap_or_else(|| settings.region.clone()),
                }));
            } else {
                return Ok(None);
            }
        }
    };
    let Some(role_arn) = block.role_arn.or_else(|| lookup.var(ENV_ASSUME_ROLE_ARN)) else {
        return Err(ResolveError::Setting(format!(
            "assume_role_with_web_identity needs a role: set `role_arn` in the block or \
             {ENV_ASSUME_ROLE_ARN}"
        )));
    };
    let (token, origin) = if let Some(v) = block.web_identity_token {
        (TokenSource::Value(v), TokenOrigin::ProviderBlockValue)
    } else if let Some(p) = block.web_identity_token_file {
        (
            TokenSource::File(p.clone()),
            TokenOrigin::ProviderBlockFile(p),
        )
    } else if let Some(v) = lookup.var(ENV_WEB_IDENTITY_TOKEN) {
        (
            TokenSource::Value(SecretValue::from_string(v)),
            TokenOrigin::Variable(ENV_WEB_IDENTITY_TOKEN),
        )
    } else if let Some(p) = lookup.var(ENV_WEB_IDENTITY_TOKEN_FILE) {
        (
            TokenSource::File(PathBuf::from(&p)),
            TokenOrigin::VariableFile {
                variable: ENV_WEB_IDENTITY_TOKEN_FILE,
                path: PathBuf::from(p),
            },
        )
    } else {
        return Err(ResolveError::Setting(format!(
            "assume_role_with_web_identity needs a token: set `web_identity_token_file` (or \
             `web_identity_token`) in the block, or {ENV_WEB_IDENTITY_TOKEN_FILE} (or \
             {ENV_WEB_IDENTITY_TOKEN})"
        )));
    };
    Ok(Some(WebIdentityChoice {
        params: WebIdentityParams {
            role_arn,
            session_name: block
                .session_name
                .or_else(|| lookup.var(ENV_ASSUME_ROLE_SESSION_NAME))
                .unwrap_or_else(|| DEFAULT_SESSION_NAME.into()),
            duration_secs: match block.session_duration {
                Some(d) => d,
                None => duration_var(lookup, ENV_ASSUME_ROLE_SESSION_DURATION)?
                    .unwrap_or(DEFAULT_SESSION_DURATION),
            },
            provider_id: block
                .provider_id
                .or_else(|| lookup.var(ENV_PROVIDER_ID))
                .unwrap_or_else(|| DEFAULT_PROVIDER_ID.into()),
        },
        token,
        origin,
        region: settings.region.clone(),
    }))
}

fn assume_role(
    settings: &CredentialSettings,
    lookup: &Lookup,
) -> Result<Option<AssumeRoleChoice>, ResolveError> {
    let (block, origin) = match &settings.assume_role {
        Some(b) => (b.clone(), SettingsOrigin::ProviderBlock),
        None if lookup.var(ENV_ASSUME_ROLE_ARN).is_some() => {
            (AssumeRoleSettings::default(), SettingsOrigin::Environment)
        }
        None => return Ok(None),
    };
    let Some(role_arn) = block.role_arn.or_else(|| lookup.var(ENV_ASSUME_ROLE_ARN)) else {
        return Err(ResolveError::Setting(format!(
            "assume_role needs a role: set `role_arn` in the block or {ENV_ASSUME_ROLE_ARN}"
        )));
    };
    Ok(Some(AssumeRoleChoice {
        params: AssumeRoleParams {
            role_arn,
            session_name: block
                .session_name
                .or_else(|| lookup.var(ENV_ASSUME_ROLE_SESSION_NAME))
                .unwrap_or_else(|| DEFAULT_SESSION_NAME.into()),
            duration_secs: match block.session_duration {
                Some(d) => d,
                None => duration_var(lookup, ENV_ASSUME_ROLE_SESSION_DURATION)?
                    .unwrap_or(DEFAULT_SESSION_DURATION),
            },
            policy: block.policy,
            external_id: block
                .external_id
                .or_else(|| lookup.var(ENV_ASSUME_ROLE_EXTERNAL_ID)),
        },
        settings: origin,
    }))
}

/// Build the provider for `settings` and, for temporary credentials, fetch the first set.
/// `allow` reads [`trust::ENV_ALLOWED_ENDPOINTS`] when an endpoint needs it.
pub async fn resolve(
    settings: &CredentialSettings,
    lookup: &Lookup,
    allow: impl Fn() -> Result<AllowList, AllowListError>,
) -> Result<CredentialsProvider, ResolveError> {
    let choice = choose(settings, lookup)?;
    let sts = |region: &str| -> Result<StsClient, ResolveError> {
        let endpoint = settings
            .sts_endpoint
            .as_deref()
            .unwrap_or(DEFAULT_STS_ENDPOINT);
        let trusted = trust::check(endpoint, Purpose::Sts, &allow)?;
        StsClient::new(trusted, region).map_err(ResolveError::Http)
    };
    let metadata = || -> Result<MetadataClient, ResolveError> {
        let endpoint = settings
            .metadata_endpoint
            .as_deref()
            .unwrap_or(DEFAULT_METADATA_ENDPOINT);
        let trusted = trust::check(endpoint, Purpose::Metadata, &allow)?;
        MetadataClient::new(trusted).map_err(ResolveError::Http)
    };
    let provider = match choice {
        Choice::WebIdentity(w) => CredentialsProvider::refreshing(WebIdentityFetch {
            sts: sts(&w.region)?,
            source: CredentialSource::WebIdentity {
                role_arn: w.params.role_arn.clone(),
                provider_id: w.params.provider_id.clone(),
                token: w.origin.clone(),
            },
            params: w.params,
            token: w.token,
        }),
        Choice::Base { base, assume_role } => {
            let base = match base {
                BaseChoice::Static(c) => CredentialsProvider::fixed(c),
                BaseChoice::InstanceRole { name } => {
                    instance_role(metadata()?, name, false).await?
                }
                BaseChoice::DiscoverInstanceRole { mut looked } => {
                    let client = metadata()?;
                    let place = format!(
                        "the CVM instance role (metadata service {})",
                        client.endpoint().display()
                    );
                    match client.discover_role().await {
                        Ok(Some(name)) => instance_role(client, name, true).await?,
                        Ok(None) => {
                            looked.looked.push(Looked {
                                place,
                                finding: Finding::Unavailable(
                                    "no role is bound to this instance".into(),
                                ),
                            });
                            return Err(ResolveError::NotFound(looked));
                        }
                        Err(e) => {
                            looked.looked.push(Looked {
                                place,
                                finding: Finding::Unavailable(e.to_string()),
                            });
                            return Err(ResolveError::NotFound(looked));
                        }
                    }
                }
            };
            match assume_role {
                None => return Ok(base),
                Some(a) => CredentialsProvider::refreshing(AssumeRoleFetch {
                    sts: sts(&settings.region)?,
                    source: CredentialSource::AssumeRole {
                        role_arn: a.params.role_arn.clone(),
                        session_name: a.params.session_name.clone(),
                        settings: a.settings,
                        base: Box::new(base.source()),
                    },
                    params: a.params,
                    base,
                }),
            }
        }
    };
    provider.get().await?;
    Ok(provider)
}

async fn instance_role(
    client: MetadataClient,
    name: String,
    discovered: bool,
) -> Result<CredentialsProvider, ResolveError> {
    let provider = CredentialsProvider::refreshing(InstanceRoleFetch {
        source: CredentialSource::InstanceRole {
            role_name: name.clone(),
            discovered,
        },
        client,
        role: name,
    });
    provider.get().await?;
    Ok(provider)
}

struct InstanceRoleFetch {
    client: MetadataClient,
    role: String,
    source: CredentialSource,
}

impl Fetch for InstanceRoleFetch {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            self.client
                .credentials(&self.role, &self.source)
                .await
                .map_err(|e| FetchError {
                    from: self.source.clone(),
                    reason: match e {
                        MetadataFailure::Unreachable(s)
                        | MetadataFailure::NoRole(s)
                        | MetadataFailure::Other(s) => s,
                    },
                })
        })
    }

    fn source(&self) -> CredentialSource {
        self.source.clone()
    }
}

struct AssumeRoleFetch {
    sts: StsClient,
    params: AssumeRoleParams,
    base: CredentialsProvider,
    source: CredentialSource,
}

impl Fetch for AssumeRoleFetch {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            let base = self.base.get().await?;
            self.sts
                .assume_role(&base, &self.params, &self.source)
                .await
                .map_err(|f| FetchError {
                    from: self.source.clone(),
                    reason: f.to_string(),
                })
        })
    }

    fn source(&self) -> CredentialSource {
        self.source.clone()
    }
}

struct WebIdentityFetch {
    sts: StsClient,
    params: WebIdentityParams,
    token: TokenSource,
    source: CredentialSource,
}

impl Fetch for WebIdentityFetch {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            let fail = |reason: String| FetchError {
                from: self.source.clone(),
                reason,
            };
            let token = match &self.token {
                TokenSource::Value(v) => v.clone(),
                TokenSource::File(p) => read_token_file(p).map_err(fail)?,
            };
            check_jwt(token.expose(), crate::clock::unix_now()).map_err(fail)?;
            self.sts
                .assume_role_with_web_identity(&token, &self.params, &self.source)
                .await
                .map_err(|f| fail(f.to_string()))
        })
    }

    fn source(&self) -> CredentialSource {
        self.source.clone()
    }
}

/// Read a web-identity token file: at most [`MAX_TOKEN_FILE_BYTES`], either the bare JWT (as
/// Kubernetes projects it) or the Terraform provider's JSON `{"web_identity_token": "..."}`.
/// Errors say what is wrong with the file, never what it holds.
pub fn read_token_file(path: &Path) -> Result<SecretValue, String> {
    let shown = path.display();
    let unreadable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => format!("the token file {shown} does not exist"),
        std::io::ErrorKind::PermissionDenied => {
            format!("the token file {shown} cannot be read: permission denied")
        }
        _ => format!("the token file {shown} cannot be read: {e}"),
    };
    // A FIFO or a device named by a hostile configuration would block or never end: look before
    // opening (opening a FIFO already blocks).
    if !std::fs::metadata(path).map_err(unreadable)?.is_file() {
        return Err(format!("the token file {shown} is not a regular file"));
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(4096));
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("the token file {shown} cannot be read: {e}"))?;
    if buf.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(format!(
            "the token file {shown} is larger than {MAX_TOKEN_FILE_BYTES} bytes: it is not a \
             web-identity token"
        ));
    }
    let text = std::str::from_utf8(&buf)
        .map_err(|_| format!("the token file {shown} is not UTF-8 text"))?
        .trim();
    if text.is_empty() {
        return Err(format!("the token file {shown} is empty"));
    }
    if text.starts_with('{') {
        let mut v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "the token file {shown} starts with `{{` but is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let token = match v.get_mut("web_identity_token") {
            Some(serde_json::Value::String(s)) => std::mem::take(s),
            _ => {
                zeroize_json(v);
                return Err(format!(
                    "the token file {shown} is JSON without a `web_identity_token` string"
                ));
            }
        };
        zeroize_json(v);
        return Ok(SecretValue::from_string(token));
    }
    Ok(SecretValue::new(text.as_bytes().to_vec()))
}

fn zeroize_json(value: serde_json::Value) {
    match value {
        serde_json::Value::String(mut s) => s.zeroize(),
        serde_json::Value::Array(a) => a.into_iter().for_each(zeroize_json),
        serde_json::Value::Object(o) => o.into_iter().for_each(|(_, v)| zeroize_json(v)),
        _ => {}
    }
}

/// Check that `token` is shaped like a JWT (three base64url parts, a JSON header and payload) and
/// has not expired by its own `exp`, before it is sent anywhere. The signature is STS's to check.
pub fn check_jwt(token: &[u8], now: i64) -> Result<(), String> {
    const NOT_JWT: &str = "the web-identity token is not a JWT (three base64url parts separated \
                           by dots): check the token source";
    let text = std::str::from_utf8(token).map_err(|_| NOT_JWT.to_string())?;
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 3
        || parts.iter().any(|p| {
            p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
        })
    {
        return Err(NOT_JWT.to_string());
    }
    let decode = |part: &str| -> Result<serde_json::Value, String> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .map_err(|_| NOT_JWT.to_string())?,
        );
        match serde_json::from_slice(&bytes) {
            Ok(v @ serde_json::Value::Object(_)) => Ok(v),
            _ => Err(NOT_JWT.to_string()),
        }
    };
    let header = decode(parts[0])?;
    zeroize_json(header);
    let payload = decode(parts[1])?;
    let exp = payload.get("exp").and_then(serde_json::Value::as_i64);
    zeroize_json(payload);
    if let Some(exp) = exp
        && exp <= now
    {
        return Err(format!(
            "the web-identity token has expired ({} s ago): the CI job or Kubernetes must \
             provide a fresh one",
            now - exp
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.{}",
            e(r#"{"alg":"RS256"}"#),
            e(payload),
            e("signature-canary-73a1")
        )
    }

    fn lookup(vars: &[(&str, &str)]) -> Lookup {
        let home = std::env::temp_dir().join("ssmform-no-such-home-for-tests");
        Lookup::from_vars(
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            Some(home),
        )
    }

    fn settings() -> CredentialSettings {
        CredentialSettings {
            region: "ap-guangzhou".into(),
            ..Default::default()
        }
    }

    #[test]
    fn web_identity_from_the_block_takes_missing_attributes_from_the_environment() {
        let mut s = settings();
        s.web_identity = Some(WebIdentitySettings {
            web_identity_token_file: Some("/run/token".into()),
            ..Default::default()
        });
        let c = choose(
            &s,
            &lookup(&[
                (ENV_ASSUME_ROLE_ARN, "qcs::cam::uin/1:roleName/ci"),
                (ENV_ASSUME_ROLE_SESSION_DURATION, "900"),
                (ENV_PROVIDER_ID, "github"),
            ]),
        )
        .unwrap();
        let Choice::WebIdentity(w) = c else {
            panic!("{c:?}")
        };
        assert_eq!(w.params.role_arn, "qcs::cam::uin/1:roleName/ci");
        assert_eq!(w.params.duration_secs, 900);
        assert_eq!(w.params.provider_id, "github");
        assert_eq!(w.params.session_name, "ssmform");
        assert_eq!(w.token, TokenSource::File("/run/token".into()));
    }

    #[test]
    fn the_lookup_order_is_web_identity_then_role_then_keys() {
        let keys = [
            (ENV_SECRET_ID, "AKIDstaticstaticstatic"),
            (ENV_SECRET_KEY, "k"),
        ];
        // Keys alone: static.
        let c = choose(&settings(), &lookup(&keys)).unwrap();
        assert!(c.static_credentials().is_some(), "{c:?}");
        assert!(!c.is_refreshed());
        // A web-identity token in the environment wins over keys.
        let mut vars = keys.to_vec();
        vars.push((ENV_ASSUME_ROLE_ARN, "qcs::cam::uin/1:roleName/ci"));
        vars.push((ENV_WEB_IDENTITY_TOKEN_FILE, "/t"));
        assert!(matches!(
            choose(&settings(), &lookup(&vars)).unwrap(),
            Choice::WebIdentity(_)
        ));
        // ... unless the block asks for assume_role: then the ARN names that role.
        let mut s = settings();
        s.assume_role = Some(AssumeRoleSettings::default());
        let c = choose(&s, &lookup(&vars)).unwrap();
        assert!(
            matches!(&c, Choice::Base { base: BaseChoice::Static(_), assume_role: Some(a) }
                if a.params.role_arn == "qcs::cam::uin/1:roleName/ci"),
            "{c:?}"
        );
        // A named instance role wins over keys.
        let mut with_role = keys.to_vec();
        with_role.push((ENV_CAM_ROLE_NAME, "ops"));
        assert!(matches!(
            choose(&settings(), &lookup(&with_role)).unwrap(),
            Choice::Base {
                base: BaseChoice::InstanceRole { .. },
                assume_role: None
            }
        ));
        // TKE pod identity.
        let c = choose(
            &settings(),
            &lookup(&[
                (ENV_TKE_ROLE_ARN, "qcs::cam::uin/1:roleName/pod"),
                (ENV_TKE_WEB_IDENTITY_TOKEN_FILE, "/var/run/token"),
                (ENV_TKE_PROVIDER_ID, "tke"),
                (ENV_TKE_REGION, "ap-shanghai"),
            ]),
        )
        .unwrap();
        let Choice::WebIdentity(w) = c else { panic!() };
        assert_eq!(
            (w.params.provider_id.as_str(), w.region.as_str()),
            ("tke", "ap-shanghai")
        );
    }

    #[test]
    fn nothing_found_lists_the_role_sources_too_and_says_why_discovery_was_skipped() {
        let err = choose(&settings(), &lookup(&[])).unwrap_err();
        let text = err.to_string();
        for needle in [
            ENV_WEB_IDENTITY_TOKEN_FILE,
            ENV_CAM_ROLE_NAME,
            ENV_SECRET_ID,
            "not asked: the endpoint is not Tencent Cloud's",
            "assume_role_with_web_identity",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        let mut s = settings();
        s.discover_instance_role = true;
        assert!(matches!(
            choose(&s, &lookup(&[])).unwrap(),
            Choice::Base {
                base: BaseChoice::DiscoverInstanceRole { .. },
                ..
            }
        ));
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let mut s = settings();
        s.web_identity = Some(WebIdentitySettings::default());
        let err = choose(&s, &lookup(&[])).unwrap_err().to_string();
        assert!(
            err.contains("role_arn") && err.contains(ENV_ASSUME_ROLE_ARN),
            "{err}"
        );
        let err = choose(&s, &lookup(&[(ENV_ASSUME_ROLE_ARN, "r")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs a token"), "{err}");
        let err = choose(
            &settings(),
            &lookup(&[
                (ENV_ASSUME_ROLE_ARN, "r"),
                (ENV_ASSUME_ROLE_SESSION_DURATION, "forever"),
                (ENV_SECRET_ID, "AKIDxxxxxxxxxxxxxx"),
                (ENV_SECRET_KEY, "k"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(ENV_ASSUME_ROLE_SESSION_DURATION), "{err}");
        let err = choose(&settings(), &lookup(&[(ENV_CAM_ROLE_NAME, "../user-data")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a CAM role name"), "{err}");
    }

    #[test]
    fn jwts_are_checked_for_shape_and_expiry_without_quoting_them() {
        let now = 1_700_000_000;
        check_jwt(jwt(r#"{"exp":1700000100,"aud":"x"}"#).as_bytes(), now).unwrap();
        check_jwt(jwt(r#"{"sub":"no exp"}"#).as_bytes(), now).unwrap();
        let expired = jwt(r#"{"exp":1699999000}"#);
        let err = check_jwt(expired.as_bytes(), now).unwrap_err();
        assert!(err.contains("has expired (1000 s ago)"), "{err}");
        for bad in [
            "not-a-jwt",
            "a.b",
            "a.b.c.d",
            "eyJ.eyJ.",
            "root:x:0:0:root:/root:/bin/bash",
            &format!("{}.{}.c", "e30", "W10"), // payload is an array
        ] {
            let err = check_jwt(bad.as_bytes(), now).unwrap_err();
            assert!(err.contains("not a JWT"), "{bad}: {err}");
            assert!(!err.contains(bad), "{err}");
        }
    }

    #[test]
    fn token_files_are_read_with_a_limit_in_either_format() {
        let dir = tempfile::tempdir().unwrap();
        let token = jwt(r#"{"exp":4000000000}"#);
        let raw = dir.path().join("raw");
        std::fs::write(&raw, format!("{token}\n")).unwrap();
        assert_eq!(read_token_file(&raw).unwrap().expose(), token.as_bytes());
        let json = dir.path().join("json");
        std::fs::write(&json, format!(r#"{{"web_identity_token": "{token}"}}"#)).unwrap();
        assert_eq!(read_token_file(&json).unwrap().expose(), token.as_bytes());
        let big = dir.path().join("big");
        std::fs::write(&big, "a".repeat(MAX_TOKEN_FILE_BYTES as usize + 1)).unwrap();
        assert!(read_token_file(&big).unwrap_err().contains("larger than"));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(read_token_file(&empty).unwrap_err().contains("is empty"));
        let missing = dir.path().join("missing");
        assert!(
            read_token_file(&missing)
                .unwrap_err()
                .contains("does not exist")
        );
        let err = read_token_file(dir.path()).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let err = read_token_file(Path::new("/dev/zero")).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let odd = dir.path().join("odd");
        std::fs::write(&odd, format!(r#"{{"token": "{token}"}}"#)).unwrap();
        let err = read_token_file(&odd).unwrap_err();
        assert!(err.contains("without a `web_identity_token`"), "{err}");
        assert!(!err.contains("eyJ"), "{err}");
    }
}
