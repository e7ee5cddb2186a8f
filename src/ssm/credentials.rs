//! Where the API credentials and the region come from.
//!
//! The lookup order is the one Tencent's SDKs, tccli and the Terraform provider share
//! (docs/ssm-api.md#credentials-and-region), so a machine already set up for any of them works
//! unchanged:
//!
//! 1. the environment: `TENCENTCLOUD_SECRET_ID` + `TENCENTCLOUD_SECRET_KEY`, with a session token from
//!    `TENCENTCLOUD_SECURITY_TOKEN` (Terraform provider) or else `TENCENTCLOUD_TOKEN` (tccli);
//! 2. the SDKs' INI file `~/.tencentcloud/credentials`, section `[default]` (or `[<profile>]` when a
//!    profile was chosen explicitly), keys `secret_id`, `secret_key` and optionally `token`;
//! 3. tccli's `~/.tccli/<profile>.credential`, JSON `{"secretId", "secretKey", "token"}`.
//!
//! The profile is the configuration's `profile` attribute, else `TENCENTCLOUD_PROFILE`, else `default`.
//! Like the SDKs' default provider chain, a source that is missing, incomplete or malformed is passed
//! over and the next one is tried; every place looked at is remembered so that, when nothing is found,
//! the error says exactly where we looked and what was wrong with each place (never what it contained).
//!
//! The lookup reads the environment through an injected function and a given home directory
//! ([`Lookup`]), never through `std::env` directly, so tests running in parallel threads need not
//! mutate the process environment.
//!
//! Values are trimmed of surrounding whitespace (a key pasted with a trailing newline otherwise fails
//! later as a baffling `AuthFailure.SignatureFailure`). Keys and tokens are held as [`SecretValue`]s;
//! the file buffers they were read from are zeroized.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::{Zeroize, Zeroizing};

use crate::secret::SecretValue;

/// Environment variable holding the SecretId.
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
/// Environment variable holding the SecretKey.
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
/// Session token variable used by the Terraform provider (checked first).
pub const ENV_SECURITY_TOKEN: &str = "TENCENTCLOUD_SECURITY_TOKEN";
/// Session token variable used by tccli.
pub const ENV_TOKEN: &str = "TENCENTCLOUD_TOKEN";
/// Profile name variable (tccli, Terraform provider).
pub const ENV_PROFILE: &str = "TENCENTCLOUD_PROFILE";
/// Region variable (tccli, Terraform provider).
pub const ENV_REGION: &str = "TENCENTCLOUD_REGION";
/// The profile used when none is chosen.
pub const DEFAULT_PROFILE: &str = "default";

// The variables of temporary-credential sources, as the Terraform provider and the SDKs spell them
// (see crate::ssm::sources for the lookup order).

/// Role to assume (AssumeRole, or AssumeRoleWithWebIdentity with a token variable).
pub const ENV_ASSUME_ROLE_ARN: &str = "TENCENTCLOUD_ASSUME_ROLE_ARN";
/// Session name of the assumed role.
pub const ENV_ASSUME_ROLE_SESSION_NAME: &str = "TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME";
/// Session duration in seconds (default 7200).
pub const ENV_ASSUME_ROLE_SESSION_DURATION: &str = "TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION";
/// AssumeRole's `ExternalId`.
pub const ENV_ASSUME_ROLE_EXTERNAL_ID: &str = "TENCENTCLOUD_ASSUME_ROLE_EXTERNAL_ID";
/// An OIDC token (JWT) to exchange with AssumeRoleWithWebIdentity.
pub const ENV_WEB_IDENTITY_TOKEN: &str = "TENCENTCLOUD_ASSUME_ROLE_WEB_IDENTITY_TOKEN";
/// A file holding the OIDC token, read again at every refresh.
pub const ENV_WEB_IDENTITY_TOKEN_FILE: &str = "TENCENTCLOUD_ASSUME_ROLE_WEB_IDENTITY_TOKEN_FILE";
/// The CAM identity provider's name (default `OIDC`).
pub const ENV_PROVIDER_ID: &str = "TENCENTCLOUD_ASSUME_ROLE_PROVIDER_ID";
/// The CVM instance role's name.
pub const ENV_CAM_ROLE_NAME: &str = "TENCENTCLOUD_CAM_ROLE_NAME";
/// TKE pod identity (the SDKs' `DefaultTkeOIDCRoleArnProvider`): role to assume.
pub const ENV_TKE_ROLE_ARN: &str = "TKE_ROLE_ARN";
/// TKE pod identity: the projected service-account token, rotated by Kubernetes.
pub const ENV_TKE_WEB_IDENTITY_TOKEN_FILE: &str = "TKE_WEB_IDENTITY_TOKEN_FILE";
/// TKE pod identity: the identity provider.
pub const ENV_TKE_PROVIDER_ID: &str = "TKE_PROVIDER_ID";
/// TKE pod identity: the region of the STS call.
pub const ENV_TKE_REGION: &str = "TKE_REGION";

/// A SecretId / SecretKey pair, with the session token of temporary (STS) credentials.
///
/// `Debug` shows only the last four characters of the SecretId and never the key or the token.
#[derive(Clone)]
pub struct Credentials {
    pub secret_id: String,
    pub secret_key: SecretValue,
    /// Sent as `X-TC-Token`.
    pub token: Option<SecretValue>,
    /// Where these credentials were found, for messages such as "the SecretId from ... is unknown".
    pub source: CredentialSource,
}

impl Credentials {
    /// Credentials given directly (tests, the emulator's development credentials).
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<SecretValue>) -> Self {
        Credentials {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            token: None,
            source: CredentialSource::Explicit,
        }
    }

    pub fn with_token(mut self, token: impl Into<SecretValue>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn with_source(mut self, source: CredentialSource) -> Self {
        self.source = source;
        self
    }

    /// Look the credentials up in this process's environment and home directory.
    /// `profile` is the configuration's explicit profile, if any.
    pub fn from_environment(profile: Option<&str>) -> Result<Self, CredentialsError> {
        Lookup::process().credentials(profile)
    }

    /// The SecretId as shown in messages: its last four characters (`…MPLE`), as the AWS CLI shows
    /// access key ids. Enough to tell two keys apart, not enough to be half of a credential.
    pub fn secret_id_hint(&self) -> String {
        secret_id_hint(&self.secret_id)
    }
}

/// `…WXYZ`: the last four characters of a SecretId, or `…` alone for ids too short to mask.
pub fn secret_id_hint(secret_id: &str) -> String {
    let chars: Vec<char> = secret_id.chars().collect();
    if chars.len() < 12 {
        return "…".to_string();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("…{tail}")
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id_hint())
            .field("secret_key", &format_args!("<redacted>"))
            .field(
                "token",
                &format_args!(
                    "{}",
                    if self.token.is_some() {
                        "<redacted>"
                    } else {
                        "none"
                    }
                ),
            )
            .field("source", &self.source)
            .finish()
    }
}

/// Where a set of credentials came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Given directly by the program (tests, embedded emulator).
    Explicit,
    /// `TENCENTCLOUD_SECRET_ID` / `TENCENTCLOUD_SECRET_KEY`; `token_var` names the variable the
    /// session token came from, if any.
    Environment { token_var: Option<&'static str> },
    /// The SDKs' INI file.
    SdkCredentialsFile { path: PathBuf, section: String },
    /// A tccli profile.
    TccliProfile { profile: String, path: PathBuf },
    /// Temporary credentials from STS AssumeRole, signed with `base`.
    AssumeRole {
        role_arn: String,
        session_name: String,
        settings: SettingsOrigin,
        base: Box<CredentialSource>,
    },
    /// Temporary credentials from STS AssumeRoleWithWebIdentity (an OIDC token; no other
    /// credential involved).
    WebIdentity {
        role_arn: String,
        provider_id: String,
        token: TokenOrigin,
    },
    /// Temporary credentials of the CVM instance role, from the metadata service.
    InstanceRole {
        role_name: String,
        /// True when the role name was read from the metadata service rather than configured.
        discovered: bool,
    },
}

impl CredentialSource {
    /// Whether ssmform itself obtains (and refreshes) these credentials from STS or the metadata
    /// service: they change with every session.
    pub fn is_refreshed(&self) -> bool {
        matches!(
            self,
            CredentialSource::AssumeRole { .. }
                | CredentialSource::WebIdentity { .. }
                | CredentialSource::InstanceRole { .. }
        )
    }
}

/// Where the settings of a temporary-credential source were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsOrigin {
    /// A block or attribute of the provider block.
    ProviderBlock,
    /// `TENCENTCLOUD_ASSUME_ROLE_*` / `TENCENTCLOUD_CAM_ROLE_NAME` variables.
    Environment,
    /// TKE's `TKE_*` variables (pod identity).
    Tke,
}

impl fmt::Display for SettingsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SettingsOrigin::ProviderBlock => "the provider block",
            SettingsOrigin::Environment => "TENCENTCLOUD_ASSUME_ROLE_* variables",
            SettingsOrigin::Tke => "TKE_* variables (pod identity)",
        })
    }
}

/// Where a web-identity token is read from. Never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    /// `web_identity_token` in the provider block.
    ProviderBlockValue,
    /// `web_identity_token_file` in the provider block.
    ProviderBlockFile(PathBuf),
    /// A variable holding the token.
    Variable(&'static str),
    /// A file named by a variable.
    VariableFile {
        variable: &'static str,
        path: PathBuf,
    },
}

impl fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenOrigin::ProviderBlockValue => {
                f.write_str("`web_identity_token` in the provider block")
            }
            TokenOrigin::ProviderBlockFile(p) => {
                write!(f, "the file {} (`web_identity_token_file`)", p.display())
            }
            TokenOrigin::Variable(v) => write!(f, "{v}"),
            TokenOrigin::VariableFile { variable, path } => {
                write!(f, "the file {} ({variable})", path.display())
            }
        }
    }
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Explicit => f.write_str("credentials given by the program"),
            CredentialSource::Environment { token_var } => {
                write!(f, "environment variables {ENV_SECRET_ID}/{ENV_SECRET_KEY}")?;
                if let Some(var) = token_var {
                    write!(f, " (token from {var})")?;
                }
                Ok(())
            }
            CredentialSource::SdkCredentialsFile { path, section } => {
                write!(f, "{} section [{section}]", path.display())
            }
            CredentialSource::TccliProfile { profile, path } => {
                write!(f, "tccli profile `{profile}` ({})", path.display())
            }
            CredentialSource::AssumeRole {
                role_arn,
                session_name,
                settings,
                base,
            } => write!(
                f,
                "assume_role (role `{role_arn}`, session `{session_name}`, from {settings}) signed \
                 with {base}"
            ),
            CredentialSource::WebIdentity {
                role_arn,
                provider_id,
                token,
            } => write!(
                f,
                "assume_role_with_web_identity (role `{role_arn}`, identity provider \
                 `{provider_id}`, token from {token})"
            ),
            CredentialSource::InstanceRole {
                role_name,
                discovered,
            } => {
                write!(f, "the CVM instance role `{role_name}` (metadata service")?;
                if *discovered {
                    f.write_str(", discovered")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// One place the lookup examined and what it found there (never what a file contained).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    /// A variable list (`TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY`) or a file path.
    pub place: String,
    pub finding: Finding,
}

/// Why a place yielded nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Environment variables not set (or empty).
    NotSet,
    /// Only part of what is needed is there, e.g. an id without a key. Says which part is missing.
    Incomplete(String),
    /// The file does not exist.
    Missing,
    /// The file exists but could not be used: says what is wrong, never what it contains.
    Malformed(String),
    /// The file could not be read (permissions...).
    Unreadable(String),
    /// The home directory is unknown, so the file could not be located.
    NoHome,
    /// The profile name cannot name a file.
    InvalidProfile,
    /// A service that was asked (the metadata service) gave nothing: says why, in ssmform's words.
    Unavailable(String),
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::NotSet => f.write_str("not set"),
            Finding::Incomplete(what) => f.write_str(what),
            Finding::Missing => f.write_str("does not exist"),
            Finding::Malformed(what) => f.write_str(what),
            Finding::Unreadable(why) => write!(f, "cannot be read: {why}"),
            Finding::NoHome => {
                f.write_str("not read: the home directory is unknown (HOME is unset)")
            }
            Finding::InvalidProfile => f.write_str(
                "not read: the profile name contains a path separator or is empty, `.` or `..`",
            ),
            Finding::Unavailable(why) => f.write_str(why),
        }
    }
}

impl fmt::Display for Looked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.finding)
    }
}

/// No credentials were found anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no Tencent Cloud credentials found (profile `{profile}`); looked at:{}\n\
     Set {ENV_SECRET_ID} and {ENV_SECRET_KEY}, write them to ~/.tencentcloud/credentials, \
     run `tccli configure`, or use a role without keys (assume_role_with_web_identity, \
     cam_role_name): see the README's Credentials section.",
    list(looked)
)]
pub struct CredentialsError {
    pub profile: String,
    /// Every place examined, in lookup order.
    pub looked: Vec<Looked>,
}

/// No region was configured anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no region configured (profile `{profile}`); looked at:{}\n\
     Set `region` in the provider block (e.g. \"ap-guangzhou\") or {ENV_REGION}.",
    list(looked)
)]
pub struct RegionError {
    pub profile: String,
    pub looked: Vec<Looked>,
}

fn list(looked: &[Looked]) -> String {
    looked.iter().map(|l| format!("\n  - {l}")).collect()
}

/// A region and where it was configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub name: String,
    pub source: RegionSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSource {
    /// The configuration's provider block.
    Explicit,
    /// `TENCENTCLOUD_REGION`.
    Environment,
    /// `_sys_param.region` of a tccli profile's `.configure` file.
    TccliProfile { profile: String, path: PathBuf },
}

impl fmt::Display for RegionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionSource::Explicit => f.write_str("the provider block"),
            RegionSource::Environment => f.write_str(ENV_REGION),
            RegionSource::TccliProfile { profile, path } => {
                write!(f, "tccli profile `{profile}` ({})", path.display())
            }
        }
    }
}

/// The chosen profile name and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// True when the profile was chosen (configuration or `TENCENTCLOUD_PROFILE`) rather than
    /// defaulted; a chosen profile also selects the section of `~/.tencentcloud/credentials`.
    pub chosen: bool,
}

type EnvFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The view of the outside world a lookup reads: environment variables and the home directory.
#[derive(Clone)]
pub struct Lookup {
    env: Arc<EnvFn>,
    home: Option<PathBuf>,
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup")
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

impl Lookup {
    /// This process's environment and home directory.
    pub fn process() -> Self {
        Lookup {
            env: Arc::new(|name| std::env::var(name).ok()),
            home: std::env::home_dir(),
        }
    }

    /// An injected environment (tests): `env` answers variable lookups.
    pub fn new(
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
        home: Option<PathBuf>,
    ) -> Self {
        Lookup {
            env: Arc::new(env),
            home,
        }
    }

    /// An environment given as name/value pairs (tests).
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
        home: Option<PathBuf>,
    ) -> Self {
        let map: std::collections::HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Lookup::new(move |name| map.get(name).cloned(), home)
    }

    /// The home directory, if known.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// A variable's value, trimmed; `None` when unset or blank.
    pub fn var(&self, name: &str) -> Option<String> {
        let value = (self.env)(name)?;
        let trimmed = trim_owned(value);
        (!trimmed.is_empty()).then_some(trimmed)
    }

    /// The profile: `explicit` (the configuration's `profile`), else `TENCENTCLOUD_PROFILE`, else
    /// `default`.
    pub fn profile(&self, explicit: Option<&str>) -> Profile {
        if let Some(p) = explicit.map(str::trim).filter(|p| !p.is_empty()) {
            return Profile {
                name: p.to_string(),
                chosen: true,
            };
        }
        match self.var(ENV_PROFILE) {
            Some(p) => Profile {
                name: p,
                chosen: true,
            },
            None => Profile {
                name: DEFAULT_PROFILE.to_string(),
                chosen: false,
            },
        }
    }

    /// Find credentials: environment, then `~/.tencentcloud/credentials`, then tccli's profile.
    pub fn credentials(&self, profile: Option<&str>) -> Result<Credentials, CredentialsError> {
        let profile = self.profile(profile);
        let mut looked = Vec::new();

        match self.env_credentials() {
            Ok(c) => return Ok(self.found(c, &looked)),
            Err(l) => looked.push(l),
        }

        let section = if profile.chosen {
            profile.name.as_str()
        } else {
            DEFAULT_PROFILE
        };
        match &self.home {
            None => looked.push(Looked {
                place: "~/.tencentcloud/credentials".into(),
                finding: Finding::NoHome,
            }),
            Some(home) => {
                let path = home.join(".tencentcloud").join("credentials");
                match from_ini_file(&path, section) {
                    Ok(c) => return Ok(self.found(c, &looked)),
                    Err(f) => looked.push(Looked {
                        place: path.display().to_string(),
                        finding: f,
                    }),
                }
            }
        }

        match self.tccli_path(&profile.name, "credential") {
            Err(l) => looked.push(l),
            Ok(path) => match from_tccli_file(&path, &profile.name) {
                Ok(c) => return Ok(self.found(c, &looked)),
                Err(f) => looked.push(Looked {
                    place: path.display().to_string(),
                    finding: f,
                }),
            },
        }

        Err(CredentialsError {
            profile: profile.name,
            looked,
        })
    }

    /// The region: `explicit` (the configuration), else `TENCENTCLOUD_REGION`, else
    /// `_sys_param.region` in tccli's `~/.tccli/<profile>.configure`.
    pub fn region(
        &self,
        explicit: Option<&str>,
        profile: Option<&str>,
    ) -> Result<Region, RegionError> {
        if let Some(r) = explicit.map(str::trim).filter(|r| !r.is_empty()) {
            return Ok(Region {
                name: r.to_string(),
                source: RegionSource::Explicit,
            });
        }
        if let Some(r) = self.var(ENV_REGION) {
            return Ok(Region {
                name: r,
                source: RegionSource::Environment,
            });
        }
        let profile = self.profile(profile);
        let mut looked = vec![
            Looked {
                place: "the provider block's `region`".into(),
                finding: Finding::NotSet,
            },
            Looked {
                place: ENV_REGION.into(),
                finding: Finding::NotSet,
            },
        ];
        match self.tccli_path(&profile.name, "configure") {
            Err(l) => looked.push(l),
            Ok(path) => match region_from_tccli_configure(&path) {
                Ok(name) => {
                    return Ok(Region {
                        name,
                        source: RegionSource::TccliProfile {
                            profile: profile.name,
                            path,
                        },
                    });
                }
                Err(f) => looked.push(Looked {
                    place: path.display().to_string(),
                    finding: f,
                }),
            },
        }
        Err(RegionError {
            profile: profile.name,
            looked,
        })
    }

    fn found(&self, c: Credentials, passed_over: &[Looked]) -> Credentials {
        // Sources passed over because they were broken (not merely absent) deserve a warning: the
        // user probably meant them to be used.
        for l in passed_over {
            if !matches!(
                l.finding,
                Finding::NotSet | Finding::Missing | Finding::NoHome
            ) {
                tracing::warn!(place = %l.place, problem = %l.finding, used = %c.source,
                    "credential source passed over");
            }
        }
        c
    }

    fn env_credentials(&self) -> Result<Credentials, Looked> {
        let place = format!("environment variables {ENV_SECRET_ID}, {ENV_SECRET_KEY}");
        let id = self.var(ENV_SECRET_ID);
        let key = self.var(ENV_SECRET_KEY).map(SecretValue::from_string);
        let (id, key) = match (id, key) {
            (Some(id), Some(key)) => (id, key),
            (None, None) => {
                return Err(Looked {
                    place,
                    finding: Finding::NotSet,
                });
            }
            (Some(_), None) => {
                return Err(Looked {
                    place,
                    finding: Finding::Incomplete(format!(
                        "{ENV_SECRET_ID} is set but {ENV_SECRET_KEY} is not"
                    )),
                });
            }
            (None, Some(_)) => {
                return Err(Looked {
                    place,
                    finding: Finding::Incomplete(format!(
                        "{ENV_SECRET_KEY} is set but {ENV_SECRET_ID} is not"
                    )),
                });
            }
        };
        let (token, token_var) = match self.var(ENV_SECURITY_TOKEN) {
            Some(t) => (Some(t), Some(ENV_SECURITY_TOKEN)),
            None => match self.var(ENV_TOKEN) {
                Some(t) => (Some(t), Some(ENV_TOKEN)),
                None => (None, None),
            },
        };
        Ok(Credentials {
            secret_id: id,
            secret_key: key,
            token: token.map(SecretValue::from_string),
            source: CredentialSource::Environment { token_var },
        })
    }

    fn tccli_path(&self, profile: &str, extension: &str) -> Result<PathBuf, Looked> {
        let display = format!("~/.tccli/{profile}.{extension}");
        if !valid_profile_name(profile) {
            return Err(Looked {
                place: display,
                finding: Finding::InvalidProfile,
            });
        }
        match &self.home {
            None => Err(Looked {
                place: display,
                finding: Finding::NoHome,
            }),
            Some(home) => Ok(home.join(".tccli").join(format!("{profile}.{extension}"))),
        }
    }
}

/// Whether `name` can be used as a file name stem without escaping `~/.tccli`.
fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with("..")
}

/// `s` without surrounding whitespace; the untrimmed original is zeroized when a copy is needed.
fn trim_owned(mut s: String) -> String {
    let trimmed = s.trim();
    if trimmed.len() == s.len() {
        return s;
    }
    let out = trimmed.to_string();
    s.zeroize();
    out
}

/// Read a whole file into a zeroizing buffer, mapping failures to a [`Finding`].
fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Finding> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Zeroizing::new(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Finding::Missing),
        Err(e) => Err(Finding::Unreadable(io_reason(&e))),
    }
}

/// An I/O error's kind in words. The OS message is used as is: it names no file content.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => e.to_string(),
    }
}

fn from_ini_file(path: &Path, section: &str) -> Result<Credentials, Finding> {
    let bytes = read_file(path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Finding::Malformed("is not UTF-8 text".to_string()))?;
    let ini = parse_ini(text).map_err(Finding::Malformed)?;
    let Some(entries) = ini
        .iter()
        .find(|(name, _)| *name == section)
        .map(|(_, e)| e)
    else {
        return Err(Finding::Malformed(format!("has no [{section}] section")));
    };
    let get = |key: &str| {
        entries
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
    };
    let id = get("secret_id");
    let key = get("secret_key");
    match (id, key) {
        (Some(id), Some(key)) => Ok(Credentials {
            secret_id: id.to_string(),
            secret_key: SecretValue::from_string(key.to_string()),
            token: get("token").map(|t| SecretValue::from_string(t.to_string())),
            source: CredentialSource::SdkCredentialsFile {
                path: path.to_path_buf(),
                section: section.to_string(),
            },
        }),
        (None, None) => Err(Finding::Malformed(format!(
            "section [{section}] has neither secret_id nor secret_key"
        ))),
        (None, _) => Err(Finding::Malformed(format!(
            "section [{section}] has no secret_id"
        ))),
        (_, None) => Err(Finding::Malformed(format!(
            "section [{section}] has no secret_key"
        ))),
    }
}

/// Sections of an INI text, each with its `key = value` entries, in file order. Entries before the
/// first section header belong to a section named `""`. Values lose surrounding whitespace and one
/// pair of matching quotes. An error names the offending line number, never its text.
type Ini<'a> = Vec<(&'a str, Vec<(&'a str, &'a str)>)>;

fn parse_ini(text: &str) -> Result<Ini<'_>, String> {
    let mut sections: Ini<'_> = vec![("", Vec::new())];
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(format!(
                    "line {}: a section header has no closing `]`",
                    i + 1
                ));
            };
            sections.push((name.trim(), Vec::new()));
            continue;
        }
        let Some(sep) = line.find(['=', ':']) else {
            return Err(format!(
                "line {} is neither `[section]`, `key = value` nor a comment",
                i + 1
            ));
        };
        let key = line[..sep].trim();
        if key.is_empty() {
            return Err(format!("line {}: an entry has no key before `=`", i + 1));
        }
        let value = unquote(line[sep + 1..].trim());
        sections
            .last_mut()
            .expect("there is always a section")
            .1
            .push((key, value));
    }
    Ok(sections)
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Describe a JSON syntax error by position only: serde_json's messages can quote input.
fn json_syntax(e: &serde_json::Error) -> String {
    format!(
        "is not valid JSON (line {}, column {})",
        e.line(),
        e.column()
    )
}

fn from_tccli_file(path: &Path, profile: &str) -> Result<Credentials, Finding> {
    let bytes = read_file(path)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| Finding::Malformed(json_syntax(&e)))?;
    let Some(obj) = value.as_object() else {
        return Err(Finding::Malformed("is not a JSON object".to_string()));
    };
    let field = |name: &str| -> Result<Option<String>, Finding> {
        match obj.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => {
                let t = s.trim();
                Ok((!t.is_empty()).then(|| t.to_string()))
            }
            Some(_) => Err(Finding::Malformed(format!("`{name}` is not a string"))),
        }
    };
    let id = field("secretId")?;
    let key = field("secretKey")?;
    let token = field("token")?;
    let result = match (id, key) {
        (Some(id), Some(key)) => Ok(Credentials {
            secret_id: id,
            secret_key: SecretValue::from_string(key),
            token: token.map(SecretValue::from_string),
            source: CredentialSource::TccliProfile {
                profile: profile.to_string(),
                path: path.to_path_buf(),
            },
        }),
        (None, None) => Err(Finding::Malformed(
            "has neither `secretId` nor `secretKey`".to_string(),
        )),
        (None, _) => Err(Finding::Malformed("has no `secretId`".to_string())),
        (_, None) => Err(Finding::Malformed("has no `secretKey`".to_string())),
    };
    zeroize_json(value);
    result
}

/// Overwrite the strings of a parsed credential file before they are freed.
fn zeroize_json(value: serde_json::Value) {
    match value {
        serde_json::Value::String(mut s) => s.zeroize(),
        serde_json::Value::Array(a) => a.into_iter().for_each(zeroize_json),
        serde_json::Value::Object(o) => o.into_iter().for_each(|(_, v)| zeroize_json(v)),
        _ => {}
    }
}

fn region_from_tccli_configure(path: &Path) -> Result<String, Finding> {
    let bytes = read_file(path)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| Finding::Malformed(json_syntax(&e)))?;
    match value.get("_sys_param").map(|p| p.get("region")) {
        None => Err(Finding::Malformed("has no `_sys_param` object".to_string())),
        Some(None) | Some(Some(serde_json::Value::Null)) => Err(Finding::Incomplete(
            "`_sys_param.region` is not set".to_string(),
        )),
        Some(Some(serde_json::Value::String(r))) if !r.trim().is_empty() => {
            Ok(r.trim().to_string())
        }
        Some(Some(serde_json::Value::String(_))) => Err(Finding::Incomplete(
            "`_sys_param.region` is empty".to_string(),
        )),
        Some(Some(_)) => Err(Finding::Malformed(
            "`_sys_param.region` is not a string".to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_CANARY: &str = "canary-secret-key-6b1f0e2a";
    const TOKEN_CANARY: &str = "canary-token-90d4c7";
    const ID: &str = "AKIDexampleexampleEXAMPLE1234";

    fn home() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    fn write(home: &Path, rel: &str, text: &str) -> PathBuf {
        let path = home.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn lookup(vars: &[(&str, &str)], home: &Path) -> Lookup {
        Lookup::from_vars(
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            Some(home.to_path_buf()),
        )
    }

    #[test]
    fn environment_wins_and_security_token_is_preferred_over_token() {
        let h = home();
        write(
            h.path(),
            ".tencentcloud/credentials",
            "[default]\nsecret_id=file\nsecret_key=k\n",
        );
        let c = lookup(
            &[
                (ENV_SECRET_ID, ID),
                (ENV_SECRET_KEY, KEY_CANARY),
                (ENV_SECURITY_TOKEN, "sts"),
                (ENV_TOKEN, "tccli"),
            ],
            h.path(),
        )
        .credentials(None)
        .unwrap();
        assert_eq!(c.secret_id, ID);
        assert_eq!(c.secret_key.expose(), KEY_CANARY.as_bytes());
        assert_eq!(c.token.unwrap().expose(), b"sts");
        assert_eq!(
            c.source,
            CredentialSource::Environment {
                token_var: Some(ENV_SECURITY_TOKEN)
            }
        );
    }

    #[test]
    fn tccli_token_variable_is_used_when_security_token_is_absent() {
        let h = home();
        let c = lookup(
            &[(ENV_SECRET_ID, ID), (ENV_SECRET_KEY, "k"), (ENV_TOKEN, "t")],
            h.path(),
        )
        .credentials(None)
        .unwrap();
        assert_eq!(c.token.unwrap().expose(), b"t");
        assert_eq!(
            c.source,
            CredentialSource::Environment {
                token_var: Some(ENV_TOKEN)
            }
        );
    }

    #[test]
    fn values_are_trimmed_and_blank_variables_count_as_unset() {
        let h = home();
        let c = lookup(
            &[
                (ENV_SECRET_ID, " id-with-spaces \n"),
                (ENV_SECRET_KEY, "key\n"),
                (ENV_SECURITY_TOKEN, "   "),
            ],
            h.path(),
        )
        .credentials(None)
        .unwrap();
        assert_eq!(c.secret_id, "id-with-spaces");
        assert_eq!(c.secret_key.expose(), b"key");
        assert!(c.token.is_none());
    }

    #[test]
    fn ini_file_is_second() {
        let h = home();
        let path = write(
            h.path(),
            ".tencentcloud/credentials",
            "# comment\n; other comment\n[other]\nsecret_id = no\n\n[default]\nsecret_id = \"fileid\"\nsecret_key=filekey\ntoken = tok\n",
        );
        write(
            h.path(),
            ".tccli/default.credential",
            r#"{"secretId":"t","secretKey":"t"}"#,
        );
        let c = lookup(&[], h.path()).credentials(None).unwrap();
        assert_eq!(c.secret_id, "fileid");
        assert_eq!(c.secret_key.expose(), b"filekey");
        assert_eq!(c.token.unwrap().expose(), b"tok");
        assert_eq!(
            c.source,
            CredentialSource::SdkCredentialsFile {
                path,
                section: "default".into()
            }
        );
    }

    #[test]
    fn chosen_profile_selects_the_ini_section() {
        let h = home();
        write(
            h.path(),
            ".tencentcloud/credentials",
            "[default]\nsecret_id=d\nsecret_key=d\n[prod]\nsecret_id=p\nsecret_key=p\n",
        );
        let c = lookup(&[(ENV_PROFILE, "prod")], h.path())
            .credentials(None)
            .unwrap();
        assert_eq!(c.secret_id, "p");
        let c = lookup(&[(ENV_PROFILE, "prod")], h.path())
            .credentials(Some("default"))
            .unwrap();
        assert_eq!(
            c.secret_id, "d",
            "the configuration's profile beats the variable"
        );
    }

    #[test]
    fn tccli_profile_is_third_and_profile_comes_from_override_then_env() {
        let h = home();
        write(
            h.path(),
            ".tccli/default.credential",
            r#"{"secretId": "def", "secretKey": "defkey", "token": ""}"#,
        );
        let staging = write(
            h.path(),
            ".tccli/staging.credential",
            r#"{"secretId": "stg", "secretKey": "stgkey", "token": "stgtok", "type": "x"}"#,
        );
        write(
            h.path(),
            ".tccli/prod.credential",
            r#"{"secretId": "prd", "secretKey": "prdkey"}"#,
        );

        let c = lookup(&[], h.path()).credentials(None).unwrap();
        assert_eq!(c.secret_id, "def");
        assert!(c.token.is_none(), "an empty token is no token");

        let c = lookup(&[(ENV_PROFILE, "staging")], h.path())
            .credentials(None)
            .unwrap();
        assert_eq!(c.secret_id, "stg");
        assert_eq!(c.token.unwrap().expose(), b"stgtok");
        assert_eq!(
            c.source,
            CredentialSource::TccliProfile {
                profile: "staging".into(),
                path: staging
            }
        );

        let c = lookup(&[(ENV_PROFILE, "staging")], h.path())
            .credentials(Some("prod"))
            .unwrap();
        assert_eq!(c.secret_id, "prd");
    }

    #[test]
    fn broken_sources_are_passed_over_like_the_sdks_do() {
        let h = home();
        write(
            h.path(),
            ".tencentcloud/credentials",
            "[default]\nsecret_id=only\n",
        );
        write(
            h.path(),
            ".tccli/default.credential",
            r#"{"secretId":"t","secretKey":"k"}"#,
        );
        let c = lookup(&[(ENV_SECRET_ID, "half")], h.path())
            .credentials(None)
            .unwrap();
        assert_eq!(c.secret_id, "t");
    }

    #[test]
    fn nothing_found_lists_every_place_looked_at() {
        let h = home();
        let err = lookup(&[], h.path()).credentials(None).unwrap_err();
        let text = err.to_string();
        let ini = h.path().join(".tencentcloud/credentials");
        let tccli = h.path().join(".tccli/default.credential");
        assert_eq!(err.looked.len(), 3, "{text}");
        for needle in [
            ENV_SECRET_ID,
            ENV_SECRET_KEY,
            &ini.display().to_string(),
            &tccli.display().to_string(),
            "profile `default`",
            "does not exist",
            "not set",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
    }

    #[test]
    fn malformed_files_say_what_is_wrong_but_never_their_content() {
        let h = home();
        write(
            h.path(),
            ".tencentcloud/credentials",
            &format!("[default]\nsecret_key = {KEY_CANARY}\n{KEY_CANARY}\n"),
        );
        write(
            h.path(),
            ".tccli/ops.credential",
            &format!("{{\"secretId\": \"x\", \"secretKey\": \"{KEY_CANARY}\" "),
        );
        let err = lookup(&[(ENV_SECRET_KEY, KEY_CANARY)], h.path())
            .credentials(Some("ops"))
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(KEY_CANARY), "{text}");
        assert!(
            text.contains("TENCENTCLOUD_SECRET_KEY is set but TENCENTCLOUD_SECRET_ID is not"),
            "{text}"
        );
        assert!(text.contains("line 3 is neither"), "{text}");
        assert!(text.contains("is not valid JSON (line 1, column"), "{text}");
        assert!(text.contains("profile `ops`"), "{text}");
        assert!(text.contains(&h.path().join(".tccli/ops.credential").display().to_string()));
    }

    #[test]
    fn each_missing_part_is_named() {
        let cases: &[(&str, &str, &str)] = &[
            (
                ".tencentcloud/credentials",
                "[other]\nsecret_id=a\n",
                "has no [default] section",
            ),
            (
                ".tencentcloud/credentials",
                "[default]\nsecret_key=a\n",
                "section [default] has no secret_id",
            ),
            (
                ".tencentcloud/credentials",
                "[default]\nregion=x\n",
                "has neither secret_id nor secret_key",
            ),
            (
                ".tencentcloud/credentials",
                "[default\n",
                "line 1: a section header has no closing",
            ),
            (
                ".tencentcloud/credentials",
                "[default]\n= x\n",
                "line 2: an entry has no key",
            ),
            (
                ".tccli/default.credential",
                r#"{"secretId": "a"}"#,
                "has no `secretKey`",
            ),
            (
                ".tccli/default.credential",
                r#"{"secretKey": "a"}"#,
                "has no `secretId`",
            ),
            (
                ".tccli/default.credential",
                r#"{"secretId": 1, "secretKey": "a"}"#,
                "`secretId` is not a string",
            ),
            (
                ".tccli/default.credential",
                r#"["a"]"#,
                "is not a JSON object",
            ),
        ];
        for (file, text, expected) in cases {
            let h = home();
            write(h.path(), file, text);
            let err = lookup(&[], h.path()).credentials(None).unwrap_err();
            assert!(err.to_string().contains(expected), "{file} {text:?}: {err}");
        }
        let h = home();
        std::fs::create_dir_all(h.path().join(".tencentcloud")).unwrap();
        std::fs::write(
            h.path().join(".tencentcloud/credentials"),
            [0xff, 0xfe, 0x00],
        )
        .unwrap();
        let err = lookup(&[], h.path()).credentials(None).unwrap_err();
        assert!(err.to_string().contains("is not UTF-8 text"), "{err}");
    }

    #[test]
    fn unknown_home_and_unsafe_profile_names_are_reported() {
        let err = Lookup::from_vars([(ENV_PROFILE, "../../etc/passwd")], None)
            .credentials(None)
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("home directory is unknown"), "{text}");
        assert!(
            text.contains("profile name contains a path separator"),
            "{text}"
        );
        for bad in ["", ".", "..", "a/b", "a\\b", "..x"] {
            assert!(!valid_profile_name(bad), "{bad:?}");
        }
        assert!(valid_profile_name("prod-eu.v2_x"));
    }

    #[test]
    fn debug_and_display_never_show_key_or_token() {
        let h = home();
        let c = lookup(
            &[
                (ENV_SECRET_ID, ID),
                (ENV_SECRET_KEY, KEY_CANARY),
                (ENV_TOKEN, TOKEN_CANARY),
            ],
            h.path(),
        )
        .credentials(None)
        .unwrap();
        let shown = format!("{c:?} {} {}", c.source, c.secret_id_hint());
        assert!(!shown.contains(KEY_CANARY), "{shown}");
        assert!(!shown.contains(TOKEN_CANARY), "{shown}");
        assert!(
            !shown.contains(ID),
            "the full SecretId is not shown either: {shown}"
        );
        assert!(shown.contains("…1234"), "{shown}");
    }

    #[test]
    fn secret_id_hints() {
        assert_eq!(secret_id_hint("AKIDabcdefgh1234"), "…1234");
        assert_eq!(secret_id_hint("short"), "…");
        assert_eq!(secret_id_hint(""), "…");
    }

    #[test]
    fn region_order_is_explicit_then_env_then_tccli() {
        let h = home();
        let path = write(
            h.path(),
            ".tccli/default.configure",
            r#"{"_sys_param": {"region": "ap-shanghai", "output": "json"}, "ssm": {}}"#,
        );
        let l = lookup(&[(ENV_REGION, "ap-beijing")], h.path());
        assert_eq!(
            l.region(Some("ap-guangzhou"), None).unwrap(),
            Region {
                name: "ap-guangzhou".into(),
                source: RegionSource::Explicit
            }
        );
        assert_eq!(
            l.region(None, None).unwrap(),
            Region {
                name: "ap-beijing".into(),
                source: RegionSource::Environment
            }
        );
        assert_eq!(
            lookup(&[], h.path()).region(Some("  "), None).unwrap(),
            Region {
                name: "ap-shanghai".into(),
                source: RegionSource::TccliProfile {
                    profile: "default".into(),
                    path
                }
            }
        );
    }

    #[test]
    fn missing_region_lists_places_and_problems() {
        let h = home();
        let err = lookup(&[], h.path()).region(None, Some("eu")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(ENV_REGION), "{text}");
        assert!(text.contains("provider block"), "{text}");
        assert!(
            text.contains(&h.path().join(".tccli/eu.configure").display().to_string()),
            "{text}"
        );
        assert!(text.contains("does not exist"), "{text}");

        for (body, expected) in [
            (r#"{"_sys_param": {}}"#, "`_sys_param.region` is not set"),
            (
                r#"{"_sys_param": {"region": ""}}"#,
                "`_sys_param.region` is empty",
            ),
            (
                r#"{"_sys_param": {"region": 3}}"#,
                "`_sys_param.region` is not a string",
            ),
            (r#"{"cvm": {}}"#, "has no `_sys_param` object"),
            ("{", "is not valid JSON"),
        ] {
            let h = home();
            write(h.path(), ".tccli/default.configure", body);
            let err = lookup(&[], h.path()).region(None, None).unwrap_err();
            assert!(err.to_string().contains(expected), "{body}: {err}");
        }
    }
}
