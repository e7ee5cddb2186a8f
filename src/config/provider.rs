//! The `provider "tencentcloud"` block: region, endpoint, rate limits, profile, and where
//! credentials come from (`cam_role_name`, `assume_role { ... }`,
//! `assume_role_with_web_identity { ... }`, `sts_endpoint`, `metadata_endpoint`) — checked and
//! evaluated at load time (its attributes may refer to variables, nothing else).
//!
//! The configuration is untrusted input (a merge request's plan job runs it with credentials), so
//! every endpoint it names is checked against [`crate::ssm::trust`]: a host that is not Tencent
//! Cloud's (or loopback, or the metadata host) is an error at its `file:line:col` unless the
//! environment's `SSMFORM_ALLOWED_ENDPOINTS` names it. A `web_identity_token` is held as a
//! [`SecretValue`] and its literal is masked in diagnostics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::diagnostics::Location;
use super::expr::{EvalError, Evaluator, Resolve};
use super::model::{Attr, ProviderDecl, RefKind};
use super::refs::Functions;
use super::source::Diag;
use super::value::Value;
use crate::secret::SecretValue;
use crate::ssm::credentials as env;
use crate::ssm::sources::{AssumeRoleSettings, WebIdentitySettings};
use crate::ssm::sts::MAX_SESSION_DURATION;
use crate::ssm::trust::{self, AllowList, Purpose};
use crate::suggest;

/// The documented per-action rate limits (docs/ssm-api.md#rate-limits), shared with the client's
/// limiters. The provider block may lower them; raising one is a warning (for accounts with a
/// raised quota).
pub use crate::ssm::rates::DOCUMENTED_LIMITS as DOCUMENTED_RATE_LIMITS;

/// Where API calls go.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Endpoint {
    /// `https://ssm.tencentcloudapi.com`.
    #[default]
    Default,
    /// An explicit URL (an emulator, a private endpoint): `http://127.0.0.1:9000`.
    Url(String),
    /// The embedded emulator, stored under the configuration directory.
    Local,
}

/// The provider settings, evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    /// `region`, if set (otherwise the client falls back to `TENCENTCLOUD_REGION` / the profile).
    pub region: Option<String>,
    pub endpoint: Endpoint,
    /// For `endpoint = "local"`: the embedded emulator's SQLite file, `local_store` resolved
    /// against the configuration directory, else `<configuration directory>/.ssmform/local.db`.
    pub local_store: Option<PathBuf>,
    /// Per-action limits lowered by `rate_limits = { UpdateSecret = 20 }`.
    pub rate_limits: BTreeMap<String, u32>,
    /// `rate_share`: the fraction (0, 1] of every limit this run may use.
    pub rate_share: Option<f64>,
    /// `profile`: a tccli profile name for credentials.
    pub profile: Option<String>,
    /// `cam_role_name`: the CVM instance role to take credentials from.
    pub cam_role_name: Option<String>,
    /// `sts_endpoint`, checked against the endpoint trust rule.
    pub sts_endpoint: Option<String>,
    /// `metadata_endpoint`, checked against the endpoint trust rule.
    pub metadata_endpoint: Option<String>,
    /// The `assume_role { ... }` block, as written.
    pub assume_role: Option<AssumeRoleSettings>,
    /// The `assume_role_with_web_identity { ... }` block, as written (the token file resolved
    /// against the configuration directory).
    pub web_identity: Option<WebIdentitySettings>,
    /// `default_tags = { ... }`: set on every secret ssmform creates; the secrets carrying them
    /// are this configuration's, and those no block declares are listed as orphans.
    pub default_tags: BTreeMap<String, String>,
    /// `manage_prefix`: secrets whose name starts with it are this configuration's; those no
    /// block declares are listed as orphans.
    pub manage_prefix: Option<String>,
    /// The `provider "tencentcloud"` header.
    pub location: Location,
}

/// Evaluates the provider block. Attributes whose value is unknown (a variable without a value
/// under `validate`) are left unset.
pub(crate) fn evaluate(
    decl: &ProviderDecl,
    location: Location,
    dir: &Path,
    resolver: &dyn Resolve,
    diags: &mut Vec<Diag>,
) -> Provider {
    let mut p = Provider {
        region: None,
        endpoint: Endpoint::Default,
        local_store: None,
        rate_limits: BTreeMap::new(),
        rate_share: None,
        profile: None,
        cam_role_name: None,
        sts_endpoint: None,
        metadata_endpoint: None,
        assume_role: None,
        web_identity: None,
        default_tags: BTreeMap::new(),
        manage_prefix: None,
        location,
    };
    for (name, _) in &decl.blocks {
        match name.as_str() {
            "assume_role" => p.assume_role = Some(AssumeRoleSettings::default()),
            _ => p.web_identity = Some(WebIdentitySettings::default()),
        }
    }
    // Which block attributes were written (even with unknown values), for the checks after the
    // loop.
    let mut written: Vec<&str> = Vec::new();
    // `local_store` is applied after the loop: it only means something with `endpoint = "local"`,
    // and the attributes may come in either order.
    let mut local_store: Option<(PathBuf, super::source::Span)> = None;
    let mut endpoint_known = true;
    for a in &decl.attrs {
        written.push(a.name.as_str());
        if let Some(r) = a.refs.iter().find(|r| r.kind != RefKind::Var) {
            diags.push(
                Diag::error(
                    r.span,
                    format!(
                        "provider settings may refer only to variables, not to {}",
                        r.display()
                    ),
                )
                .help("the provider is configured before anything else is evaluated"),
            );
            continue;
        }
        let mut ev = Evaluator::new(a.span.file, resolver, dir, Functions::Allowed);
        let v = match ev.eval(&a.expr, a.span) {
            Ok(Value::Unknown) => {
                endpoint_known &= a.name != "endpoint";
                continue;
            }
            Ok(v) => v,
            Err(EvalError::Diag(d)) => {
                diags.push(*d);
                continue;
            }
            Err(EvalError::Poisoned) => continue,
        };
        // Provider settings show in plans, errors and logs; only a web-identity token (a
        // credential, held as a secret) may come from a sensitive value.
        let v = if a.name.ends_with("web_identity_token") {
            v.strip().0
        } else if let Some(origin) = v.first_mark() {
            diags.push(
                Diag::error(a.span, format!("`{}` derives from {}", a.name, origin.describe()))
                    .help("provider settings are shown in plans and logs: build them from literals and non-sensitive variables"),
            );
            continue;
        } else {
            v
        };
        match a.name.as_str() {
            "region" => region(a, v, &mut p, diags),
            "endpoint" => endpoint(a, v, dir, &mut p, diags),
            "profile" => profile(a, v, &mut p, diags),
            "rate_share" => rate_share(a, v, &mut p, diags),
            "rate_limits" => rate_limits(a, v, &mut p, diags),
            "local_store" => {
                if let Some(path) = local_store_path(a, v, dir, diags) {
                    local_store = Some((path, a.span));
                }
            }
            "cam_role_name" => cam_role_name(a, v, &mut p, diags),
            "default_tags" => match super::evaluation::tag_map(&v) {
                Ok(m) => p.default_tags = m,
                Err(message) => diags.push(
                    Diag::error(a.span, format!("`default_tags` {message}")).help(
                        "write a map of strings, like default_tags = { managed-by = \"ssmform\" }",
                    ),
                ),
            },
            "manage_prefix" => {
                if let Some(s) = string(a, v, diags) {
                    if s.is_empty() || super::names::secret_name_problem(&s).is_some() {
                        diags.push(
                            Diag::error(a.span, "`manage_prefix` must be the start of a secret name: letters, digits, `_` and `-`, starting with a letter or digit")
                        );
                    } else {
                        p.manage_prefix = Some(s);
                    }
                }
            }
            "sts_endpoint" => {
                p.sts_endpoint = trusted_endpoint(a, v, Purpose::Sts, diags);
            }
            "metadata_endpoint" => {
                p.metadata_endpoint = trusted_endpoint(a, v, Purpose::Metadata, diags);
            }
            name => {
                if let Some(attr) = name.strip_prefix("assume_role.") {
                    if let Some(b) = p.assume_role.as_mut() {
                        assume_role_attr(attr, a, v, b, diags);
                    }
                } else if let Some(attr) = name.strip_prefix("assume_role_with_web_identity.")
                    && let Some(b) = p.web_identity.as_mut()
                {
                    web_identity_attr(attr, a, v, dir, b, diags);
                }
            }
        }
    }
    check_credential_blocks(decl, &written, diags);
    if let Some((path, span)) = local_store {
        if p.endpoint == Endpoint::Local {
            p.local_store = Some(path);
        } else if endpoint_known {
            diags.push(
                Diag::warning(span, "`local_store` is ignored: the endpoint is not \"local\"")
                    .help("local_store names the embedded emulator's SQLite file; it is used only with endpoint = \"local\""),
            );
        }
    }
    p
}

fn region(a: &Attr, v: Value, p: &mut Provider, diags: &mut Vec<Diag>) {
    if let Some(s) = string(a, v, diags) {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            diags.push(
                Diag::error(a.span, "`region` is not a region name")
                    .help("regions look like ap-guangzhou, ap-shanghai, na-siliconvalley"),
            );
        } else {
            p.region = Some(s);
        }
    }
}

fn endpoint(a: &Attr, v: Value, dir: &Path, p: &mut Provider, diags: &mut Vec<Diag>) {
    if let Some(s) = string(a, v, diags) {
        if s == "local" {
            p.endpoint = Endpoint::Local;
            p.local_store = Some(crate::statedir::default_local_store(dir));
        } else if let Some(rest) = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"))
        {
            if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
                diags.push(Diag::error(
                    a.span,
                    "`endpoint` is not a valid URL: the host is missing or it contains spaces",
                ));
            } else if let Err(e) = trust::check(&s, Purpose::Api, AllowList::from_process_env) {
                diags.push(untrusted(a, e));
            } else {
                p.endpoint = Endpoint::Url(s.trim_end_matches('/').to_string());
            }
        } else {
            diags.push(
                Diag::error(a.span, "`endpoint` must be \"local\" or a URL starting with http:// or https://")
                    .help("omit it to use https://ssm.tencentcloudapi.com; \"local\" runs the embedded emulator"),
            );
        }
    }
}

fn profile(a: &Attr, v: Value, p: &mut Provider, diags: &mut Vec<Diag>) {
    if let Some(s) = string(a, v, diags) {
        if s.is_empty() {
            diags.push(Diag::error(a.span, "`profile` is empty"));
        } else {
            p.profile = Some(s);
        }
    }
}

fn rate_share(a: &Attr, v: Value, p: &mut Provider, diags: &mut Vec<Diag>) {
    match v {
        Value::Number(n) if n.as_f64() > 0.0 && n.as_f64() <= 1.0 => {
            p.rate_share = Some(n.as_f64());
        }
        Value::Number(_) => diags.push(
            Diag::error(a.span, "`rate_share` must be more than 0 and at most 1").help(
                "it is the fraction of each documented rate limit this run may use, e.g. 0.5",
            ),
        ),
        other => diags.push(Diag::error(
            a.span,
            format!("`rate_share` must be a number, not {}", other.a_type()),
        )),
    }
}

/// The `local_store` path, if valid; [`evaluate`] applies it once the endpoint is known.
fn local_store_path(a: &Attr, v: Value, dir: &Path, diags: &mut Vec<Diag>) -> Option<PathBuf> {
    let s = string(a, v, diags)?;
    if s.is_empty() {
        diags.push(
            Diag::error(a.span, "`local_store` is empty")
                .help("omit it to use .ssmform/local.db in the configuration directory"),
        );
        None
    } else {
        // Relative paths are relative to the configuration directory, like file().
        Some(dir.join(s))
    }
}

fn string(a: &Attr, v: Value, diags: &mut Vec<Diag>) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        other => {
            diags.push(Diag::error(
                a.span,
                format!("`{}` must be a string, not {}", a.name, other.a_type()),
            ));
            None
        }
    }
}

fn rate_limits(a: &Attr, v: Value, p: &mut Provider, diags: &mut Vec<Diag>) {
    let Value::Object(map) = v else {
        diags.push(
            Diag::error(
                a.span,
                format!("`rate_limits` must be a map, not {}", v.a_type()),
            )
            .help("for example: rate_limits = { UpdateSecret = 20 }"),
        );
        return;
    };
    for (action, limit) in map {
        let Some((_, documented)) = DOCUMENTED_RATE_LIMITS.iter().find(|(n, _)| *n == action)
        else {
            diags.push(
                Diag::error(
                    a.span,
                    format!("`rate_limits` names an unknown API action `{action}`"),
                )
                .maybe_help(suggest::help(
                    &action,
                    DOCUMENTED_RATE_LIMITS.iter().map(|(n, _)| *n),
                )),
            );
            continue;
        };
        let n = match limit {
            Value::Number(n) => n.as_int().filter(|&i| i >= 1 && i <= u32::MAX as i128),
            _ => None,
        };
        let Some(n) = n else {
            diags.push(Diag::error(
                a.span,
                format!("the rate limit for {action} must be a whole number of requests per second, at least 1"),
            ));
            continue;
        };
        let n = n as u32;
        if n > *documented {
            diags.push(
                Diag::warning(
                    a.span,
                    format!("the rate limit for {action} ({n}/s) is above SSM's documented {documented}/s; SSM throttles calls above its limit"),
                )
                .help("ssmform uses the figure given: set one above the documented limit only if Tencent raised your account's quota"),
            );
        }
        p.rate_limits.insert(action, n);
    }
}

/// The refusal of an endpoint, at the attribute that names it.
fn untrusted(a: &Attr, e: trust::Untrusted) -> Diag {
    let d = Diag::error(a.span, e.to_string());
    match e {
        trust::Untrusted::Host { .. } => d.help(format!(
            "{} is read from the environment only, so a configuration under review cannot widen it",
            trust::ENV_ALLOWED_ENDPOINTS
        )),
        _ => d,
    }
}

/// `sts_endpoint` / `metadata_endpoint`: a URL that passes the trust rule.
fn trusted_endpoint(a: &Attr, v: Value, purpose: Purpose, diags: &mut Vec<Diag>) -> Option<String> {
    let s = string(a, v, diags)?;
    match trust::check(&s, purpose, AllowList::from_process_env) {
        Ok(_) => Some(s.trim_end_matches('/').to_string()),
        Err(e) => {
            diags.push(untrusted(a, e));
            None
        }
    }
}

fn cam_role_name(a: &Attr, v: Value, p: &mut Provider, diags: &mut Vec<Diag>) {
    if let Some(s) = string(a, v, diags) {
        if crate::ssm::metadata::valid_role_name(&s) {
            p.cam_role_name = Some(s);
        } else {
            diags.push(
                Diag::error(a.span, "`cam_role_name` is not a CAM role name")
                    .help("role names are 1–128 letters, digits and +=,.@_-"),
            );
        }
    }
}

/// Whether `s` has `min..=max` characters, each a letter, a digit or one of `extra`.
fn name_like(s: &str, min: usize, max: usize, extra: &[u8]) -> bool {
    (min..=max).contains(&s.chars().count())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

fn role_arn(a: &Attr, v: Value, diags: &mut Vec<Diag>) -> Option<String> {
    let s = string(a, v, diags)?;
    if s.starts_with("qcs::cam::uin/") && s.contains(":role") && !s.contains(char::is_whitespace) {
        Some(s)
    } else {
        diags.push(
            Diag::error(a.span, "`role_arn` is not a CAM role ARN")
                .help("role ARNs look like qcs::cam::uin/100000000001:roleName/ssm-reader"),
        );
        None
    }
}

fn session_name(a: &Attr, v: Value, diags: &mut Vec<Diag>) -> Option<String> {
    let s = string(a, v, diags)?;
    if name_like(&s, 2, 128, b"+=,.@_-") {
        Some(s)
    } else {
        diags.push(
            Diag::error(a.span, "`session_name` is not a valid session name")
                .help("2–128 letters, digits and +=,.@_-, for example \"ssmform-ci\""),
        );
        None
    }
}

fn session_duration(a: &Attr, v: Value, diags: &mut Vec<Diag>) -> Option<u32> {
    let n = match &v {
        Value::Number(n) => n.as_int(),
        _ => None,
    };
    match n {
        Some(n) if n >= 1 && n <= i128::from(MAX_SESSION_DURATION) => Some(n as u32),
        _ => {
            let not = match &v {
                Value::Number(_) => String::new(),
                other => format!(", not {}", other.a_type()),
            };
            diags.push(
                Diag::error(
                    a.span,
                    format!(
                        "`session_duration` must be a whole number of seconds from 1 to \
                         {MAX_SESSION_DURATION}{not}"
                    ),
                )
                .help("the default is 7200 (two hours); STS grants at most 43200 (12 hours)"),
            );
            None
        }
    }
}

fn assume_role_attr(
    attr: &str,
    a: &Attr,
    v: Value,
    b: &mut AssumeRoleSettings,
    diags: &mut Vec<Diag>,
) {
    match attr {
        "role_arn" => b.role_arn = role_arn(a, v, diags),
        "session_name" => b.session_name = session_name(a, v, diags),
        "session_duration" => b.session_duration = session_duration(a, v, diags),
        "policy" => {
            let Some(s) = string(a, v, diags) else { return };
            match serde_json::from_str::<serde_json::Value>(&s) {
                Ok(serde_json::Value::Object(_)) => b.policy = Some(s),
                _ => diags.push(
                    Diag::error(
                        a.span,
                        "`policy` is not a JSON object (a CAM policy document)",
                    )
                    .help("write it with jsonencode({ version = \"2.0\", statement = [...] })"),
                ),
            }
        }
        "external_id" => {
            let Some(s) = string(a, v, diags) else { return };
            if name_like(&s, 2, 128, b"+=,.@:/_-") {
                b.external_id = Some(s);
            } else {
                diags.push(
                    Diag::error(a.span, "`external_id` is not a valid external ID")
                        .help("2–128 letters, digits and =,.@:/-"),
                );
            }
        }
        _ => {}
    }
}

fn web_identity_attr(
    attr: &str,
    a: &Attr,
    v: Value,
    dir: &Path,
    b: &mut WebIdentitySettings,
    diags: &mut Vec<Diag>,
) {
    match attr {
        "role_arn" => b.role_arn = role_arn(a, v, diags),
        "session_name" => b.session_name = session_name(a, v, diags),
        "session_duration" => b.session_duration = session_duration(a, v, diags),
        "provider_id" => {
            let Some(s) = string(a, v, diags) else { return };
            if name_like(&s, 1, 128, b"+=,.@_-") {
                b.provider_id = Some(s);
            } else {
                diags.push(
                    Diag::error(a.span, "`provider_id` is not an identity provider name")
                        .help("the name of the OIDC identity provider in CAM, for example \"github\""),
                );
            }
        }
        "web_identity_token" => match v {
            Value::String(s) if !s.trim().is_empty() => {
                b.web_identity_token = Some(SecretValue::from_string(s));
            }
            // Say what is wrong by type only: a wrong value may still be a credential.
            other => diags.push(
                Diag::error(
                    a.span,
                    format!(
                        "`web_identity_token` must be a non-empty string, not {}",
                        if matches!(other, Value::String(_)) {
                            "an empty string".to_string()
                        } else {
                            other.a_type()
                        }
                    ),
                )
                .help("prefer web_identity_token_file: a token in a file is read again at every refresh"),
            ),
        },
        "web_identity_token_file" => {
            let Some(s) = string(a, v, diags) else { return };
            if s.trim().is_empty() {
                diags.push(Diag::error(a.span, "`web_identity_token_file` is empty"));
            } else {
                // Relative paths are relative to the configuration directory, like file().
                b.web_identity_token_file = Some(dir.join(s));
            }
        }
        _ => {}
    }
}

/// Conflicts between the credential settings, and what a block needs from itself or the
/// environment (the variables the Terraform provider reads for each attribute).
fn check_credential_blocks(decl: &ProviderDecl, written: &[&str], diags: &mut Vec<Diag>) {
    let header = |name: &str| decl.blocks.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
    let has = |name: &str| written.contains(&name);
    let env_set = |var: &str| std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
    if let (Some(_), Some(web)) = (
        header("assume_role"),
        header("assume_role_with_web_identity"),
    ) {
        diags.push(
            Diag::error(
                web,
                "`assume_role` and `assume_role_with_web_identity` cannot both be used",
            )
            .help("assume_role needs base credentials; the web-identity token replaces them: keep one"),
        );
    }
    if let Some(web) = header("assume_role_with_web_identity") {
        if has("cam_role_name") {
            diags.push(
                Diag::error(
                    web,
                    "`cam_role_name` and `assume_role_with_web_identity` cannot both be used",
                )
                .help("both are sources of credentials; keep one"),
            );
        }
        if !has("assume_role_with_web_identity.role_arn") && !env_set(env::ENV_ASSUME_ROLE_ARN) {
            diags.push(
                Diag::error(web, "`assume_role_with_web_identity` has no `role_arn`").help(
                    format!(
                        "set role_arn in the block, or {} in the environment",
                        env::ENV_ASSUME_ROLE_ARN
                    ),
                ),
            );
        }
        let token = has("assume_role_with_web_identity.web_identity_token");
        let file = has("assume_role_with_web_identity.web_identity_token_file");
        if token && file {
            diags.push(
                Diag::error(
                    web,
                    "`web_identity_token` and `web_identity_token_file` cannot both be set",
                )
                .help("keep web_identity_token_file: the file is read again at every refresh"),
            );
        }
        if !token
            && !file
            && !env_set(env::ENV_WEB_IDENTITY_TOKEN)
            && !env_set(env::ENV_WEB_IDENTITY_TOKEN_FILE)
        {
            diags.push(
                Diag::error(web, "`assume_role_with_web_identity` has no token").help(format!(
                    "set web_identity_token_file in the block, or {} in the environment",
                    env::ENV_WEB_IDENTITY_TOKEN_FILE
                )),
            );
        }
    }
    if let Some(block) = header("assume_role")
        && !has("assume_role.role_arn")
        && !env_set(env::ENV_ASSUME_ROLE_ARN)
    {
        diags.push(
            Diag::error(block, "`assume_role` has no `role_arn`").help(format!(
                "set role_arn in the block, or {} in the environment",
                env::ENV_ASSUME_ROLE_ARN
            )),
        );
    }
}
