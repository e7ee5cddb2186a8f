//! The `provider "tencentcloud"` block: region, endpoint, rate limits, profile — checked and
//! evaluated at load time (its attributes may refer to variables, nothing else).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::diagnostics::Location;
use super::expr::{EvalError, Evaluator, Resolve};
use super::model::{Attr, ProviderDecl, RefKind};
use super::refs::Functions;
use super::source::Diag;
use super::value::Value;
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
        location,
    };
    // `local_store` is applied after the loop: it only means something with `endpoint = "local"`,
    // and the attributes may come in either order.
    let mut local_store: Option<(PathBuf, super::source::Span)> = None;
    let mut endpoint_known = true;
    for a in &decl.attrs {
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
            _ => {}
        }
    }
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
