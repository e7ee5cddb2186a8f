//! `ssmform emulator`: run the local SSM emulator in the foreground until Ctrl-C or SIGTERM.
//!
//! The first line of stdout is always `ssmform emulator listening on http://ADDR`, so scripts
//! (and the test harness) can start it on port 0 and read back the port.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{CmdResult, Exit};
use crate::emulator::{
    Action, Credential, DEFAULT_INSTANCE_ROLE, DEV_SECRET_ID, Emulator, EmulatorConfig, FaultSpec,
    RateLimits, RoleRule, STATS_PATH, StsConfig, parse_background,
};

#[derive(Debug, clap::Args)]
#[command(
    long_about = "Run a local emulator of the Tencent Cloud SSM API (version 2019-09-23).\n\n\
                  Tencent's SDKs, tccli and ssmform itself work against it unchanged: point their \
                  endpoint at the printed address (e.g. `tccli ssm ListSecrets --endpoint \
                  http://127.0.0.1:9000`, or `endpoint = \"http://127.0.0.1:9000\"` in the provider \
                  block) and use the credentials it prints. The same port serves STS (AssumeRole, \
                  AssumeRoleWithWebIdentity: set `sts_endpoint` to the address) and the CVM \
                  metadata service (`metadata_endpoint`). Per-action statistics are served at \
                  GET /_emulator/stats. Stop it with Ctrl-C."
)]
pub struct Args {
    /// Address to listen on (`127.0.0.1:0` picks a free port and prints it)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,

    /// Keep state in this SQLite file (WAL mode; created if missing; survives restarts and may be
    /// shared by several emulators). Without it, state lives in memory and is lost on exit
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// SecretId to accept instead of the built-in development credentials (needs --secret-key)
    #[arg(
        long,
        value_name = "ID",
        env = "SSMFORM_EMULATOR_SECRET_ID",
        requires = "secret_key"
    )]
    pub secret_id: Option<String>,

    /// SecretKey that goes with --secret-id (prefer the environment variable: command lines are
    /// visible to other users)
    #[arg(
        long,
        value_name = "KEY",
        env = "SSMFORM_EMULATOR_SECRET_KEY",
        hide_env_values = true,
        requires = "secret_id"
    )]
    pub secret_key: Option<String>,

    /// Delay every API response by this many milliseconds
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,

    /// Spread each response's delay uniformly over --latency ± this many milliseconds (jitter)
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_spread: u64,

    /// Inject failures at these rates (0–1 each, 1 in total at most):
    /// `throttle=0.05,internal=0.05,http502=0.02,reset=0.01,slow=0.01`. throttle =
    /// RequestLimitExceeded, internal = InternalError, http502 = HTTP 502 with an HTML body, reset =
    /// connection dropped without a response, slow = the answer held back by slow_ms (default
    /// 65000, past the SDKs' 60 s timeouts), echo = an error (echo_code, default FailedOperation)
    /// whose message quotes the request's values in many forms, with terminal escapes, for the
    /// actions of echo_on=ACTION+ACTION (default all)
    #[arg(long, value_name = "SPEC", value_parser = FaultSpec::parse)]
    pub faults: Option<FaultSpec>,

    /// Seed for --faults: the same seed and the same sequence of requests give the same faults
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Turn every per-action rate limit off (benchmarks, bulk loading)
    #[arg(long, conflicts_with = "rate_limits")]
    pub no_rate_limits: bool,

    /// Override one action's limit in requests per second, e.g. `--rate-limit UpdateSecret=20`
    /// (repeatable; the others keep their documented limits)
    #[arg(long = "rate-limit", value_name = "ACTION=N", value_parser = RateLimits::parse_override)]
    pub rate_limits: Vec<(Action, u32)>,

    /// Make STS strict: only the roles named exist, each assumable by PRINCIPAL only, which is a
    /// SecretId (AssumeRole), `oidc` (any web identity), `oidc:PROVIDER` (web identity through that
    /// identity provider) or `*`. Repeatable; without it any role exists and anyone may assume it
    #[arg(long = "role", value_name = "NAME=PRINCIPAL", value_parser = RoleRule::parse)]
    pub roles: Vec<RoleRule>,

    /// Accept only web-identity tokens whose `aud` claim includes AUD (default: any audience)
    #[arg(long, value_name = "AUD")]
    pub oidc_audience: Option<String>,

    /// Accept only AssumeRoleWithWebIdentity calls naming this identity provider (`ProviderId`)
    #[arg(long, value_name = "ID")]
    pub oidc_provider: Option<String>,

    /// Issue temporary credentials valid for at most SECS seconds (default: the requested
    /// DurationSeconds, 7200 unless asked otherwise), to test refreshing
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u32).range(1..=43200))]
    pub credential_lifetime: Option<u32>,

    /// The CVM instance role the metadata service serves
    #[arg(long, value_name = "NAME", default_value = DEFAULT_INSTANCE_ROLE, conflicts_with = "no_instance_role")]
    pub instance_role: String,

    /// The metadata service answers that no role is bound to the instance (HTTP 404)
    #[arg(long)]
    pub no_instance_role: bool,

    /// Simulate other clients using N requests per second of ACTION's quota, evenly spaced, e.g.
    /// `--background-load GetSecretValue=100` for production readers beside a drift job
    /// (repeatable; counted apart in the stats)
    #[arg(long = "background-load", value_name = "ACTION=N", value_parser = parse_background)]
    pub background: Vec<(Action, u32)>,
}

impl Args {
    /// The configuration these flags describe.
    pub fn config(&self) -> EmulatorConfig {
        let credentials = match (&self.secret_id, &self.secret_key) {
            (Some(id), Some(key)) => vec![Credential::new(id.clone(), key.clone())],
            _ => Vec::new(),
        };
        let rate_limits = if self.no_rate_limits {
            RateLimits::Off
        } else {
            RateLimits::Documented {
                overrides: self.rate_limits.iter().copied().collect::<BTreeMap<_, _>>(),
            }
        };
        EmulatorConfig {
            listen: self.listen,
            db: self.db.clone(),
            credentials,
            latency: Duration::from_millis(self.latency),
            latency_spread: Duration::from_millis(self.latency_spread),
            faults: self.faults.clone().unwrap_or_default(),
            seed: self.seed,
            rate_limits,
            sts: StsConfig {
                roles: self.roles.clone(),
                oidc_audience: self.oidc_audience.clone(),
                oidc_provider: self.oidc_provider.clone(),
                credential_lifetime: self.credential_lifetime,
                instance_role: (!self.no_instance_role).then(|| self.instance_role.clone()),
            },
            background: self.background.iter().copied().collect(),
        }
    }
}

pub fn run(args: Args) -> CmdResult {
    let config = args.config();
    super::runtime()?.block_on(async move {
        let emu = Emulator::start(config.clone()).await?;
        print_banner(&config, &emu);
        wait_for_signal().await;
        eprintln!("ssmform emulator: shutting down");
        emu.shutdown().await;
        Ok(Exit::Success)
    })
}

fn print_banner(config: &EmulatorConfig, emu: &crate::emulator::RunningEmulator) {
    let endpoint = emu.endpoint();
    let mut out = String::new();
    out.push_str(&format!("ssmform emulator listening on {endpoint}\n"));
    let storage = match &config.db {
        Some(p) => format!("{} (SQLite, WAL)", p.display()),
        None => "in memory (lost on exit; use --db PATH to keep it)".to_string(),
    };
    out.push_str(&format!("  storage:     {storage}\n"));
    let limits = match &config.rate_limits {
        RateLimits::Off => "off".to_string(),
        RateLimits::Documented { overrides } if overrides.is_empty() => {
            "documented per-action limits (UpdateSecret 50/s, GetSecretValue 300/s, ...)".into()
        }
        RateLimits::Documented { overrides } => {
            let o: Vec<String> = overrides
                .iter()
                .map(|(a, n)| format!("{a} {n}/s"))
                .collect();
            format!("documented, except {}", o.join(", "))
        }
    };
    out.push_str(&format!("  rate limits: {limits}\n"));
    if !config.faults.is_none() {
        let f = &config.faults;
        out.push_str(&format!(
            "  faults:      throttle={} internal={} http502={} reset={} slow={} (slow_ms={}) echo={}, seed {}\n",
            f.throttle,
            f.internal,
            f.http502,
            f.reset,
            f.slow,
            f.slow_delay.as_millis(),
            f.echo,
            emu.seed()
        ));
    }
    if !config.latency.is_zero() || !config.latency_spread.is_zero() {
        let spread = if config.latency_spread.is_zero() {
            String::new()
        } else {
            format!(" ± {}", config.latency_spread.as_millis())
        };
        out.push_str(&format!(
            "  latency:     {}{spread} ms per response\n",
            config.latency.as_millis()
        ));
    }
    let sts = &config.sts;
    let roles = if sts.roles.is_empty() {
        "any role, for anyone".to_string()
    } else {
        let names: Vec<&str> = sts.roles.iter().map(|r| r.name.as_str()).collect();
        format!("only {}", names.join(", "))
    };
    out.push_str(&format!(
        "  sts:         {endpoint} (sts_endpoint): {roles}; web identity: {} audience, {} provider\n",
        sts.oidc_audience
            .as_deref()
            .map_or("any".to_string(), |a| format!("`{a}`")),
        sts.oidc_provider
            .as_deref()
            .map_or("any".to_string(), |p| format!("`{p}`")),
    ));
    if let Some(secs) = sts.credential_lifetime {
        out.push_str(&format!(
            "               temporary credentials live {secs} s\n"
        ));
    }
    out.push_str(&format!(
        "  metadata:    {endpoint} (metadata_endpoint): {}\n",
        sts.instance_role
            .as_deref()
            .map_or("no instance role".to_string(), |r| format!(
                "instance role `{r}`"
            ))
    ));
    if !config.background.is_empty() {
        let b: Vec<String> = config
            .background
            .iter()
            .map(|(a, n)| format!("{a} {n}/s"))
            .collect();
        out.push_str(&format!("  other clients: {}\n", b.join(", ")));
    }
    out.push_str(&format!("  statistics:  {endpoint}{STATS_PATH}\n\n"));
    let cred = &emu.credentials()[0];
    if cred.secret_id == DEV_SECRET_ID {
        out.push_str(
            "Development credentials (public, accepted only by this emulator); paste into a shell:\n\n",
        );
        out.push_str(&format!(
            "  export TENCENTCLOUD_SECRET_ID={}\n  export TENCENTCLOUD_SECRET_KEY={}\n",
            cred.secret_id, cred.secret_key
        ));
    } else {
        out.push_str("Accepting the credentials given (the key is not printed):\n\n");
        out.push_str(&format!(
            "  export TENCENTCLOUD_SECRET_ID={}\n  export TENCENTCLOUD_SECRET_KEY=...\n",
            cred.secret_id
        ));
    }
    out.push_str(&format!(
        "  export TENCENTCLOUD_REGION=ap-guangzhou\n\nThen e.g.: tccli ssm ListSecrets --endpoint {endpoint}\nStop with Ctrl-C.\n"
    ));
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
