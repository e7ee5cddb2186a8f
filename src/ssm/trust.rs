//! Which hosts may receive credentials: the rule that keeps a hostile configuration from sending
//! a session token, a signed request or a web-identity token where its author can read them.
//!
//! A configuration under review is untrusted input: anyone who can push a branch can open a merge
//! request whose plan job runs with credentials that read production. Three settings of the
//! provider block name a host that ssmform talks to with credentials:
//!
//! | setting | what the host receives | trusted without the allow-list |
//! |---|---|---|
//! | `endpoint` | every SSM request: signed, with `X-TC-Token` (the session token) | `*.tencentcloudapi.com`, loopback |
//! | `sts_endpoint` | AssumeRole signed with the base credentials (and their token); AssumeRoleWithWebIdentity with the OIDC token, which anyone can exchange at the real STS | `*.tencentcloudapi.com`, loopback |
//! | `metadata_endpoint` | nothing secret, but it *answers* with the credentials every later request is signed with | `metadata.tencentyun.com`, loopback |
//!
//! Any other host must be named in the environment variable [`ENV_ALLOWED_ENDPOINTS`]
//! (`SSMFORM_ALLOWED_ENDPOINTS`): a comma-separated list of `host`, `host:port` or
//! `scheme://host[:port]` entries. The environment belongs to whoever runs ssmform (the CI
//! definition on a protected branch, a developer's shell); the configuration cannot set it.
//!
//! Loopback means an IP literal in `127.0.0.0/8` or `::1`, or the name `localhost` (resolved from
//! `/etc/hosts`, not DNS). Host names are compared exactly, case-insensitively: `x.tencentcloudapi.com`
//! is trusted, `tencentcloudapi.com.example` and `x.tencentcloudapi.com.` are not.
//!
//! Every HTTP client that sends credentials is also built without redirects, so a trusted host
//! cannot hand a request on to another one.

use std::fmt;

/// The environment variable naming extra hosts that may receive credentials.
pub const ENV_ALLOWED_ENDPOINTS: &str = "SSMFORM_ALLOWED_ENDPOINTS";
/// The CVM metadata service's documented host.
pub const METADATA_HOST: &str = "metadata.tencentyun.com";
/// The domain of Tencent Cloud's API hosts (regional and `intl` ones included).
pub const TENCENT_API_DOMAIN: &str = "tencentcloudapi.com";

/// What an endpoint is used for: decides which hosts are trusted by default and how a refusal
/// reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The SSM API (`endpoint`).
    Api,
    /// STS (`sts_endpoint`).
    Sts,
    /// The CVM metadata service (`metadata_endpoint`).
    Metadata,
}

impl Purpose {
    /// The provider block's setting for this purpose.
    pub fn setting(self) -> &'static str {
        match self {
            Purpose::Api => "endpoint",
            Purpose::Sts => "sts_endpoint",
            Purpose::Metadata => "metadata_endpoint",
        }
    }

    fn trusted_by_default(self) -> &'static str {
        match self {
            Purpose::Api | Purpose::Sts => "a Tencent Cloud API host (*.tencentcloudapi.com)",
            Purpose::Metadata => "the CVM metadata service (metadata.tencentyun.com)",
        }
    }

    fn exposure(self) -> &'static str {
        match self {
            Purpose::Api => {
                "every SSM request sent there is signed and carries the session token, and apply \
                 sends secret contents"
            }
            Purpose::Sts => {
                "it would receive the web-identity token (which anyone can exchange for \
                 credentials) or requests signed with the base credentials"
            }
            Purpose::Metadata => {
                "it would choose the credentials every later request is signed with, and so \
                 which account receives the secrets"
            }
        }
    }
}

/// One entry of [`ENV_ALLOWED_ENDPOINTS`]: a host, and a port when the entry names one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    host: String,
    port: Option<u16>,
}

/// The hosts [`ENV_ALLOWED_ENDPOINTS`] adds to the trusted ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Entry>,
}

/// [`ENV_ALLOWED_ENDPOINTS`] could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{ENV_ALLOWED_ENDPOINTS} has an entry that is not a host, host:port or URL (entry {index}): {reason}"
)]
pub struct AllowListError {
    /// 1-based position of the bad entry.
    pub index: usize,
    pub reason: String,
}

impl AllowList {
    /// No extra hosts.
    pub fn none() -> Self {
        AllowList::default()
    }

    /// Parse the variable's value (`None` or blank: no extra hosts).
    pub fn parse(value: Option<&str>) -> Result<Self, AllowListError> {
        let mut entries = Vec::new();
        let Some(value) = value else {
            return Ok(AllowList { entries });
        };
        for (i, raw) in value.split(',').enumerate() {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let err = |reason: &str| AllowListError {
                index: i + 1,
                reason: reason.to_string(),
            };
            let with_scheme = if raw.contains("://") {
                raw.to_string()
            } else {
                format!("http://{raw}")
            };
            let url = reqwest::Url::parse(&with_scheme).map_err(|e| err(&e.to_string()))?;
            let host = url.host_str().ok_or_else(|| err("it has no host"))?;
            if !url.username().is_empty() || url.password().is_some() {
                return Err(err("user information is not allowed"));
            }
            if url.path() != "/" || url.query().is_some() {
                return Err(err("give only a host, host:port or scheme://host:port"));
            }
            let port = if raw.contains("://") {
                url.port_or_known_default()
            } else {
                url.port()
            };
            entries.push(Entry {
                host: host.to_ascii_lowercase(),
                port,
            });
        }
        Ok(AllowList { entries })
    }

    /// The list in this process's environment.
    pub fn from_process_env() -> Result<Self, AllowListError> {
        Self::parse(std::env::var(ENV_ALLOWED_ENDPOINTS).ok().as_deref())
    }

    fn allows(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.to_ascii_lowercase();
        self.entries
            .iter()
            .any(|e| e.host == host && (e.port.is_none() || e.port == port))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// An endpoint that may not receive credentials. `endpoint` is the setting as [`shown`]: never
/// its user information, path, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error(
        "`{setting}` = \"{endpoint}\" is neither {trusted} nor a loopback address, and \
         {ENV_ALLOWED_ENDPOINTS} does not name it: {exposure}. If that host is yours, add \
         `{host_port}` to {ENV_ALLOWED_ENDPOINTS} in the environment (a configuration cannot set it)",
        setting = purpose.setting(),
        trusted = purpose.trusted_by_default(),
        exposure = purpose.exposure()
    )]
    Host {
        purpose: Purpose,
        endpoint: String,
        host_port: String,
    },
    #[error("`{}` = \"{endpoint}\" cannot be used: {reason}", purpose.setting())]
    Invalid {
        purpose: Purpose,
        endpoint: String,
        reason: String,
    },
    #[error("`{}` = \"{endpoint}\" needs the allow-list, but {error}", purpose.setting())]
    AllowList {
        purpose: Purpose,
        endpoint: String,
        error: AllowListError,
    },
}

/// `endpoint` as messages show it: the scheme and `host[:port]` only. User information (`id:key@`),
/// a path, a query and a fragment — where a careless configuration puts a password or a token —
/// are shown as `…`, and so is an authority that is not made of host characters (a password
/// with a space makes the text no URL at all). Everything before the last `@` counts as user
/// information, wherever the `@` stands.
pub fn shown(endpoint: &str) -> String {
    let text = endpoint.trim();
    let (scheme, rest) = match text.find("://") {
        Some(i) if text[..i].bytes().all(|b| b.is_ascii_alphabetic()) => {
            (&text[..i + 3], &text[i + 3..])
        }
        _ => ("", text),
    };
    let (user, after) = match rest.rfind('@') {
        Some(i) => ("…@", &rest[i + 1..]),
        None => ("", rest),
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..end];
    let host_like = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b));
    let host = if host_like { authority } else { "…" };
    let tail = match &after[end..] {
        "" | "/" => &after[end..],
        _ => "/…",
    };
    format!("{scheme}{user}{host}{tail}")
}

/// Whether `host` is Tencent Cloud's API domain or one of its subdomains.
pub fn is_tencent_api_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == TENCENT_API_DOMAIN || h.ends_with(".tencentcloudapi.com")
}

/// Whether `host` (as in a URL: IPv6 in brackets or not) is this machine.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// An endpoint URL that passed [`check`]: the only way to get one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedEndpoint {
    url: reqwest::Url,
    purpose: Purpose,
}

impl TrustedEndpoint {
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The `Host` header: host, plus `:port` when the URL names a non-default port.
    pub fn host_header(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    }

    /// `scheme://host[:port]`, for messages.
    pub fn display(&self) -> String {
        format!("{}://{}", self.url.scheme(), self.host_header())
    }

    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.url.host_str().unwrap_or_default())
    }
}

impl fmt::Display for TrustedEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Parse `endpoint` (`https://host[:port]`, `http://host:port`, or a bare host meaning HTTPS) and
/// check that it may receive credentials for `purpose`. `allow` is only consulted for hosts that
/// are not trusted anyway, so a malformed allow-list matters only when it is needed.
pub fn check(
    endpoint: &str,
    purpose: Purpose,
    allow: impl FnOnce() -> Result<AllowList, AllowListError>,
) -> Result<TrustedEndpoint, Untrusted> {
    let invalid = |reason: &str| Untrusted::Invalid {
        purpose,
        endpoint: shown(endpoint),
        reason: reason.to_string(),
    };
    let text = endpoint.trim();
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else if purpose == Purpose::Metadata {
        // The metadata service is plain HTTP (link-local, inside the VPC).
        format!("http://{text}")
    } else {
        format!("https://{text}")
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be https:// or http://"));
    }
    let Some(host) = url.host_str().map(str::to_string) else {
        return Err(invalid("it has no host"));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("user information in the URL is not supported"));
    }
    if purpose != Purpose::Metadata
        && (url.path() != "/" || url.query().is_some() || url.fragment().is_some())
    {
        return Err(invalid(
            "the API is served at `/`: give only scheme, host and port",
        ));
    }
    if purpose != Purpose::Metadata && url.scheme() == "http" && is_tencent_api_host(&host) {
        return Err(invalid(
            "plain http:// to Tencent Cloud would send credentials in clear; use https://",
        ));
    }
    let trusted = is_loopback_host(&host)
        || match purpose {
            Purpose::Api | Purpose::Sts => is_tencent_api_host(&host),
            Purpose::Metadata => host.eq_ignore_ascii_case(METADATA_HOST),
        };
    if !trusted {
        let allow = allow().map_err(|error| Untrusted::AllowList {
            purpose,
            endpoint: shown(endpoint),
            error,
        })?;
        if !allow.allows(&host, url.port_or_known_default()) {
            let port = url.port_or_known_default().unwrap_or(443);
            return Err(Untrusted::Host {
                purpose,
                endpoint: shown(endpoint),
                host_port: format!("{host}:{port}"),
            });
        }
    }
    // The metadata endpoint is a base URL: requests append paths to it.
    let mut url = url;
    if purpose == Purpose::Metadata {
        url.set_query(None);
        url.set_fragment(None);
    }
    Ok(TrustedEndpoint { url, purpose })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_list() -> Result<AllowList, AllowListError> {
        Ok(AllowList::none())
    }

    #[test]
    fn tencent_hosts_and_loopback_are_trusted_for_api_and_sts() {
        for ok in [
            "https://ssm.tencentcloudapi.com",
            "ssm.ap-guangzhou.tencentcloudapi.com",
            "https://sts.intl.tencentcloudapi.com:443",
            "https://STS.TencentCloudAPI.com",
            "http://127.0.0.1:9000",
            "http://127.3.2.1:9000",
            "http://localhost:9000",
            "http://[::1]:9000",
        ] {
            for purpose in [Purpose::Api, Purpose::Sts] {
                let t = check(ok, purpose, || panic!("the list is not needed for {ok}"))
                    .unwrap_or_else(|e| panic!("{ok}: {e}"));
                assert_eq!(t.purpose(), purpose);
            }
        }
    }

    #[test]
    fn look_alike_hosts_are_refused_and_the_refusal_names_the_setting_and_the_variable() {
        for bad in [
            "https://sts.tencentcloudapi.com.evil.example",
            "https://tencentcloudapi.com.evil.example",
            "https://evil-tencentcloudapi.com",
            "https://sts.tencentcloudapi.com.",
            "https://127.0.0.1.nip.io",
            "https://10.0.0.1",
            "https://metadata.tencentyun.com",
        ] {
            let err = check(bad, Purpose::Sts, no_list).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Untrusted::Host { .. }), "{bad}: {text}");
            assert!(text.contains("`sts_endpoint`"), "{text}");
            assert!(text.contains(ENV_ALLOWED_ENDPOINTS), "{text}");
            assert!(text.contains("web-identity token"), "{text}");
        }
        let err = check("https://evil.example", Purpose::Api, no_list).unwrap_err();
        assert!(err.to_string().contains("`endpoint`"), "{err}");
        assert!(err.to_string().contains("evil.example:443"), "{err}");
    }

    #[test]
    fn metadata_trusts_only_its_documented_host_and_loopback() {
        for ok in [
            "http://metadata.tencentyun.com",
            "metadata.tencentyun.com",
            "http://127.0.0.1:9000/",
        ] {
            check(ok, Purpose::Metadata, no_list).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["http://169.254.0.23", "http://sts.tencentcloudapi.com"] {
            let err = check(bad, Purpose::Metadata, no_list).unwrap_err();
            assert!(err.to_string().contains("`metadata_endpoint`"), "{err}");
        }
    }

    #[test]
    fn the_allow_list_adds_hosts_with_or_without_a_port() {
        let list = || AllowList::parse(Some(" proxy.corp:8443, https://sts.corp ,[fd00::1]"));
        check("https://proxy.corp:8443", Purpose::Sts, list).unwrap();
        check("https://sts.corp", Purpose::Sts, list).unwrap();
        check("https://[fd00::1]:1234", Purpose::Api, list).unwrap();
        assert!(check("https://proxy.corp:9443", Purpose::Sts, list).is_err());
        assert!(check("https://sts.corp:8443", Purpose::Sts, list).is_err());
        assert!(check("https://other.corp", Purpose::Sts, list).is_err());
    }

    #[test]
    fn a_malformed_allow_list_is_reported_only_when_needed() {
        let broken = || AllowList::parse(Some("ok.example,http://"));
        check("https://sts.tencentcloudapi.com", Purpose::Sts, broken).unwrap();
        let err = check("https://x.example", Purpose::Sts, broken).unwrap_err();
        assert!(
            matches!(err, Untrusted::AllowList { ref error, .. } if error.index == 2),
            "{err}"
        );
        assert!(err.to_string().contains(ENV_ALLOWED_ENDPOINTS), "{err}");
        assert!(AllowList::parse(Some("a.example/path")).is_err());
        assert!(AllowList::parse(Some("u:p@a.example")).is_err());
        assert!(AllowList::parse(Some(" , ")).unwrap().is_empty());
    }

    #[test]
    fn unusable_urls_are_invalid_not_untrusted() {
        for (bad, why) in [
            ("ftp://x", "scheme"),
            ("https://u:p@sts.tencentcloudapi.com", "user information"),
            ("http://sts.tencentcloudapi.com", "in clear"),
            ("https://sts.tencentcloudapi.com/path", "served at `/`"),
        ] {
            let err = check(bad, Purpose::Sts, no_list).unwrap_err();
            assert!(matches!(err, Untrusted::Invalid { .. }), "{bad}: {err}");
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn refusals_never_repeat_user_information_paths_or_queries() {
        for (bad, purpose, shows) in [
            (
                "https://id:pw-1234@ssm.tencentcloudapi.com",
                Purpose::Api,
                "https://…@ssm.tencentcloudapi.com",
            ),
            (
                "https://sts.tencentcloudapi.com/?token=pw-1234",
                Purpose::Sts,
                "https://sts.tencentcloudapi.com/…",
            ),
            (
                "https://sts.tencentcloudapi.com#pw-1234",
                Purpose::Sts,
                "https://sts.tencentcloudapi.com/…",
            ),
            (
                "http://evil.example/latest?token=pw-1234",
                Purpose::Metadata,
                "http://evil.example/…",
            ),
            (
                "https://sts.example/pw-1234",
                Purpose::Sts,
                "https://sts.example/…",
            ),
            (
                "http://u:pw-1234 x@metadata.tencentyun.com",
                Purpose::Metadata,
                "http://…@metadata.tencentyun.com",
            ),
            (
                "http://u:pw/1234@metadata.tencentyun.com",
                Purpose::Metadata,
                "http://…@metadata.tencentyun.com",
            ),
            ("https://pw-1234 x", Purpose::Api, "https://…"),
        ] {
            let err = check(bad, purpose, no_list).unwrap_err().to_string();
            assert!(!err.contains("pw"), "{bad}: {err}");
            assert!(err.contains(&format!("\"{shows}\"")), "{bad}: {err}");
        }
        let list = || AllowList::parse(Some("u:pw-1234@x.example"));
        let err = check("http://x.example/?k=pw-1234", Purpose::Metadata, list).unwrap_err();
        assert!(!err.to_string().contains("pw"), "{err}");
        assert_eq!(
            shown("https://ssm.tencentcloudapi.com/"),
            "https://ssm.tencentcloudapi.com/"
        );
        assert_eq!(shown("local"), "local");
        assert_eq!(shown("deploy:pw-1234@host:443"), "…@host:443");
    }

    #[test]
    fn trusted_endpoints_know_their_host_header() {
        let t = check("http://127.0.0.1:9000", Purpose::Sts, no_list).unwrap();
        assert_eq!(t.host_header(), "127.0.0.1:9000");
        assert!(t.is_loopback());
        let t = check("sts.tencentcloudapi.com", Purpose::Sts, no_list).unwrap();
        assert_eq!(t.host_header(), "sts.tencentcloudapi.com");
        assert_eq!(t.display(), "https://sts.tencentcloudapi.com");
        assert!(!t.is_loopback());
    }
}
