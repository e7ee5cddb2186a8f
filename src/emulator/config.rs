//! How an emulator is set up: address, storage, accepted credentials, rate limits, injected
//! failures, and how strict its STS and metadata service are ([`StsConfig`]). The command line (`ssmform emulator`) and the in-process API (`Emulator::start`) build
//! the same [`EmulatorConfig`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::action::Action;

/// The SecretId the emulator accepts when none is configured. Development only: anyone can read
/// it here, which is the point.
pub const DEV_SECRET_ID: &str = "AKIDssmformEmulatorDevelopmentKey0001";
/// The SecretKey that goes with [`DEV_SECRET_ID`].
pub const DEV_SECRET_KEY: &str = "ssmformEmulatorDevelopmentSecretKey0001";
/// The account (UIN) every emulated secret belongs to (`CreateUin` in DescribeSecret).
pub const DEV_UIN: u64 = 100_000_000_001;

/// One SecretId/SecretKey pair the emulator accepts. The key is never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub secret_id: String,
    pub secret_key: String,
}

impl Credential {
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credential {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
        }
    }

    /// [`DEV_SECRET_ID`] / [`DEV_SECRET_KEY`].
    pub fn development() -> Self {
        Credential::new(DEV_SECRET_ID, DEV_SECRET_KEY)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("secret_id", &self.secret_id)
            .field(
                "secret_key",
                &format_args!("<{} bytes>", self.secret_key.len()),
            )
            .finish()
    }
}

/// Per-action limits in requests per (sliding) second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateLimits {
    /// No limits at all (`--no-rate-limits`): for benchmarks and tests that are not about pacing.
    Off,
    /// The documented limit of each action, except those overridden here (`--rate-limit A=N`).
    Documented { overrides: BTreeMap<Action, u32> },
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::Documented {
            overrides: BTreeMap::new(),
        }
    }
}

impl RateLimits {
    /// The limit in force for `action`, or `None` when unlimited.
    pub fn limit(&self, action: Action) -> Option<u32> {
        match self {
            RateLimits::Off => None,
            RateLimits::Documented { overrides } => Some(
                overrides
                    .get(&action)
                    .copied()
                    .unwrap_or_else(|| action.documented_limit()),
            ),
        }
    }

    /// Parse one `ACTION=N` override (N ≥ 1).
    pub fn parse_override(s: &str) -> Result<(Action, u32), String> {
        let (name, n) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not ACTION=N (e.g. UpdateSecret=20)"))?;
        let action = Action::parse(name.trim()).ok_or_else(|| {
            let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
            format!(
                "`{}` is not an emulated action (one of: {})",
                name.trim(),
                names.join(", ")
            )
        })?;
        let n: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("the limit in `{s}` must be a whole number ≥ 1"))?;
        Ok((action, n))
    }
}

/// Rates (0.0–1.0) of injected failures, decided once per API request.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// `RequestLimitExceeded` regardless of the real limit.
    pub throttle: f64,
    /// `InternalError`.
    pub internal: f64,
    /// HTTP 502 with an HTML body, as a gateway in front of the service sends.
    pub http502: f64,
    /// The connection is closed without any response.
    pub reset: f64,
    /// The response (a normal one) is delayed by `slow_delay`.
    pub slow: f64,
    /// How long a `slow` response is held back: by default 65 s, past the 60 s default timeouts of
    /// Tencent's Go and Python SDKs. Set with `slow_ms=N` in the spec.
    pub slow_delay: Duration,
    /// An error whose message quotes the request's values (parameters, SecretId, token) in many
    /// forms — whole, truncated, upper-cased, JSON-escaped, URL-encoded, separators changed — and
    /// carries terminal escape sequences and a fake line: what a client must never show as is.
    pub echo: f64,
    /// The actions `echo` applies to (`echo_on=CreateSecret+PutSecretValue`); empty: all.
    pub echo_on: Vec<Action>,
    /// The code of an `echo` error (`echo_code=InvalidParameterValue`); `FailedOperation` by
    /// default.
    pub echo_code: &'static str,
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            throttle: 0.0,
            internal: 0.0,
            http502: 0.0,
            reset: 0.0,
            slow: 0.0,
            slow_delay: Duration::from_secs(65),
            echo: 0.0,
            echo_on: Vec::new(),
            echo_code: super::error::code::FAILED_OPERATION,
        }
    }
}

/// The codes `echo_code=` accepts.
const ECHO_CODES: &[&str] = &[
    super::error::code::FAILED_OPERATION,
    super::error::code::INVALID_PARAMETER_VALUE,
    super::error::code::INVALID_PARAMETER,
    super::error::code::INTERNAL_ERROR,
    super::error::code::RESOURCE_NOT_FOUND,
];

impl FaultSpec {
    pub fn is_none(&self) -> bool {
        self.throttle + self.internal + self.http502 + self.reset + self.slow + self.echo == 0.0
    }

    /// Parse `throttle=0.05,internal=0.05,http502=0.02,reset=0.01,slow=0.01,echo=0.01[,slow_ms=65000]
    /// [,echo_on=ACTION+ACTION][,echo_code=CODE]`. Every rate is in 0..=1 and together they may not
    /// exceed 1.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut f = FaultSpec::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}` is not NAME=RATE"))?;
            let (k, v) = (k.trim(), v.trim());
            if k == "echo_on" {
                for name in v.split('+').map(str::trim).filter(|n| !n.is_empty()) {
                    let action = Action::parse(name)
                        .ok_or_else(|| format!("echo_on: `{name}` is not an emulated action"))?;
                    f.echo_on.push(action);
                }
                continue;
            }
            if k == "echo_code" {
                f.echo_code = ECHO_CODES.iter().find(|c| **c == v).ok_or_else(|| {
                    format!("echo_code `{v}` is not one of {}", ECHO_CODES.join(", "))
                })?;
                continue;
            }
            if k == "slow_ms" {
                let ms: u64 = v
                    .parse()
                    .map_err(|_| format!("slow_ms `{v}` is not a whole number of milliseconds"))?;
                f.slow_delay = Duration::from_millis(ms);
                continue;
            }
            let rate: f64 = v
                .parse()
                .ok()
                .filter(|r: &f64| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    format!("the rate of `{k}` must be a number from 0 to 1, not `{v}`")
                })?;
            match k {
                "throttle" => f.throttle = rate,
                "internal" => f.internal = rate,
                "http502" => f.http502 = rate,
                "reset" => f.reset = rate,
                "slow" => f.slow = rate,
                "echo" => f.echo = rate,
                _ => {
                    return Err(format!(
                        "unknown fault `{k}` (known: throttle, internal, http502, reset, slow, echo, slow_ms, echo_on, echo_code)"
                    ));
                }
            }
        }
        let total = f.throttle + f.internal + f.http502 + f.reset + f.slow + f.echo;
        if total > 1.0 + 1e-9 {
            return Err(format!("the fault rates add up to {total}, more than 1"));
        }
        Ok(f)
    }
}

/// Everything an emulator needs to start.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free one (see `RunningEmulator::addr`).
    pub listen: SocketAddr,
    /// SQLite database file (WAL mode); `None` keeps everything in memory.
    pub db: Option<PathBuf>,
    /// Credentials accepted; empty means [`Credential::development`].
    pub credentials: Vec<Credential>,
    /// Added to every API response.
    pub latency: Duration,
    /// Each response's delay is drawn uniformly from `latency ± latency_spread` (never below
    /// zero), as answers from a far endpoint vary.
    pub latency_spread: Duration,
    pub faults: FaultSpec,
    /// Seed for the fault dice; `None` draws one (the same seed replays the same fault sequence
    /// for the same sequence of requests).
    pub seed: Option<u64>,
    pub rate_limits: RateLimits,
    /// STS and the CVM metadata service.
    pub sts: StsConfig,
    /// Other clients, simulated: each action here loses this many requests per second of its
    /// quota, evenly spaced (counted as `background_calls` / `background_throttled` in the
    /// stats), as production readers do to a drift job's GetSecretValue quota.
    pub background: BTreeMap<Action, u32>,
}

/// The instance role the metadata service serves unless told otherwise.
pub const DEFAULT_INSTANCE_ROLE: &str = "ssmform-emulator-instance-role";

/// Who may assume a role ([`RoleRule`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Anyone: any accepted credential, any well-formed web-identity token (`*`).
    Anyone,
    /// AssumeRole signed with this SecretId.
    SecretId(String),
    /// AssumeRoleWithWebIdentity, through any identity provider (`oidc`) or this one
    /// (`oidc:PROVIDER`).
    WebIdentity(Option<String>),
}

/// `--role NAME=PRINCIPAL`: a role that exists, and who may assume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRule {
    pub name: String,
    pub principal: Principal,
}

impl RoleRule {
    /// Parse `NAME=PRINCIPAL`: PRINCIPAL is `*`, `oidc`, `oidc:PROVIDER` or a SecretId.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (name, principal) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not NAME=PRINCIPAL (e.g. ssm-reader=oidc:github)"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(['/', ' ']) {
            return Err(format!(
                "the role name in `{s}` is empty or has `/` or a space"
            ));
        }
        let principal = match principal.trim() {
            "" => return Err(format!("the principal in `{s}` is empty")),
            "*" => Principal::Anyone,
            "oidc" => Principal::WebIdentity(None),
            p => match p.strip_prefix("oidc:") {
                Some(provider) if !provider.is_empty() => {
                    Principal::WebIdentity(Some(provider.to_string()))
                }
                Some(_) => return Err(format!("`{s}`: write oidc or oidc:PROVIDER")),
                None => Principal::SecretId(p.to_string()),
            },
        };
        Ok(RoleRule {
            name: name.to_string(),
            principal,
        })
    }
}

/// How the emulated STS and metadata service behave. The default is permissive: the emulator's
/// own credentials may assume any role and any well-formed web-identity token is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsConfig {
    /// The roles that exist; empty means every role exists and anyone may assume it.
    pub roles: Vec<RoleRule>,
    /// The `aud` a web-identity token must carry (`--oidc-audience`); `None` accepts any.
    pub oidc_audience: Option<String>,
    /// The `ProviderId` web-identity calls must name (`--oidc-provider`); `None` accepts any.
    pub oidc_provider: Option<String>,
    /// The longest lifetime of issued credentials in seconds (`--credential-lifetime`); `None`
    /// grants the requested `DurationSeconds` (default 7200). Short lifetimes test refreshing.
    pub credential_lifetime: Option<u32>,
    /// The role the metadata service says is bound to the instance; `None` answers 404 (no
    /// role bound).
    pub instance_role: Option<String>,
}

impl Default for StsConfig {
    fn default() -> Self {
        StsConfig {
            roles: Vec::new(),
            oidc_audience: None,
            oidc_provider: None,
            credential_lifetime: None,
            instance_role: Some(DEFAULT_INSTANCE_ROLE.to_string()),
        }
    }
}

/// Parse one `ACTION=N` background load (N ≥ 1 requests per second).
pub fn parse_background(s: &str) -> Result<(Action, u32), String> {
    RateLimits::parse_override(s).map_err(|e| e.replace("the limit in", "the rate in"))
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: None,
            credentials: Vec::new(),
            latency: Duration::ZERO,
            latency_spread: Duration::ZERO,
            faults: FaultSpec::default(),
            seed: None,
            rate_limits: RateLimits::default(),
            sts: StsConfig::default(),
            background: BTreeMap::new(),
        }
    }
}

impl EmulatorConfig {
    /// The credentials that will be accepted (the development pair when none were given).
    pub fn effective_credentials(&self) -> Vec<Credential> {
        if self.credentials.is_empty() {
            vec![Credential::development()]
        } else {
            self.credentials.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs_parse_and_validate() {
        let f = FaultSpec::parse("throttle=0.05,internal=0.05,http502=0.02,reset=0.01,slow=0.01")
            .unwrap();
        assert_eq!(f.throttle, 0.05);
        assert_eq!(f.slow, 0.01);
        assert_eq!(f.slow_delay, Duration::from_secs(65));
        assert_eq!(
            FaultSpec::parse("slow=1,slow_ms=20").unwrap().slow_delay,
            Duration::from_millis(20)
        );
        assert!(FaultSpec::parse("").unwrap().is_none());
        assert!(FaultSpec::parse("throttle=2").is_err());
        assert!(FaultSpec::parse("throttle=0.6,internal=0.6").is_err());
        assert!(FaultSpec::parse("boom=0.1").is_err());
        assert!(FaultSpec::parse("throttle").is_err());
        assert!(FaultSpec::parse("throttle=NaN").is_err());
    }

    #[test]
    fn rate_limit_overrides() {
        assert_eq!(
            RateLimits::parse_override("UpdateSecret=20"),
            Ok((Action::UpdateSecret, 20))
        );
        assert!(RateLimits::parse_override("UpdateSecret=0").is_err());
        assert!(RateLimits::parse_override("Nope=1").is_err());
        assert!(RateLimits::parse_override("UpdateSecret").is_err());
        let mut overrides = BTreeMap::new();
        overrides.insert(Action::UpdateSecret, 20);
        let l = RateLimits::Documented { overrides };
        assert_eq!(l.limit(Action::UpdateSecret), Some(20));
        assert_eq!(l.limit(Action::GetSecretValue), Some(300));
        assert_eq!(RateLimits::Off.limit(Action::UpdateSecret), None);
    }

    #[test]
    fn role_rules_parse() {
        assert_eq!(
            RoleRule::parse("reader=oidc:github"),
            Ok(RoleRule {
                name: "reader".into(),
                principal: Principal::WebIdentity(Some("github".into()))
            })
        );
        assert_eq!(
            RoleRule::parse("writer=AKIDabc").unwrap().principal,
            Principal::SecretId("AKIDabc".into())
        );
        assert_eq!(RoleRule::parse("x=*").unwrap().principal, Principal::Anyone);
        assert_eq!(
            RoleRule::parse("x=oidc").unwrap().principal,
            Principal::WebIdentity(None)
        );
        for bad in ["x", "=a", "x=", "a/b=*", "x=oidc:"] {
            assert!(RoleRule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn background_loads_parse() {
        assert_eq!(
            parse_background("GetSecretValue=100"),
            Ok((Action::GetSecretValue, 100))
        );
        let e = parse_background("GetSecretValue=0").unwrap_err();
        assert!(e.contains("the rate in"), "{e}");
        assert!(parse_background("Nope=1").is_err());
    }

    #[test]
    fn credential_debug_hides_the_key() {
        let c = Credential::new("id", "very-secret-key");
        assert!(!format!("{c:?}").contains("very-secret-key"));
    }
}
