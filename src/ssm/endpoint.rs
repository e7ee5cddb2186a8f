//! Where requests go: [`Endpoint`] turns the configured endpoint into the URL requests are sent to
//! and the `Host` header they carry (and sign). It refuses what the API does not serve (a path, a
//! query, user information) and plain HTTP to Tencent Cloud, which would send secrets in clear.

use crate::ssm::client::ConfigError;

/// A parsed endpoint: the URL requests go to and the `Host` header they carry (and sign).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: reqwest::Url,
    host: String,
}

impl Endpoint {
    /// `https://host[:port]`, `http://host:port`, or a bare `host[:port]` (HTTPS). A path other
    /// than `/`, a query, a fragment or user info is refused.
    pub fn parse(endpoint: &str) -> Result<Endpoint, ConfigError> {
        let err = |reason: &str| ConfigError::Endpoint {
            endpoint: crate::ssm::trust::shown(endpoint),
            reason: reason.to_string(),
        };
        let text = endpoint.trim();
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("https://{text}")
        };
        let url = reqwest::Url::parse(&with_scheme).map_err(|e| err(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(err(
                "the scheme must be https:// (or http:// for an emulator)",
            ));
        }
        let Some(host) = url.host_str() else {
            return Err(err("it has no host"));
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("user information in the URL is not supported"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(err(
                "the API is served at `/`: give only scheme, host and port",
            ));
        }
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let lower = host.to_ascii_lowercase();
        if url.scheme() == "http"
            && (lower == "tencentcloudapi.com" || lower.ends_with(".tencentcloudapi.com"))
        {
            return Err(err(
                "plain http:// to Tencent Cloud would send secret contents in clear; use https://",
            ));
        }
        Ok(Endpoint {
            url,
            host: host_header,
        })
    }

    /// The request URL (always with the path `/`).
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The `Host` header: host, plus `:port` when the URL names a non-default port.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `scheme://host[:port]`, for messages.
    pub fn display(&self) -> String {
        format!("{}://{}", self.url.scheme(), self.host)
    }

    /// Whether the host is this machine (then no proxy is used).
    pub fn is_loopback(&self) -> bool {
        let host = self.url.host_str().unwrap_or("");
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => bare.eq_ignore_ascii_case("localhost"),
        }
    }

    pub(crate) fn is_plain_http(&self) -> bool {
        self.url.scheme() == "http"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let cases: &[(&str, &str, &str, bool)] = &[
            (
                "https://ssm.tencentcloudapi.com",
                "https://ssm.tencentcloudapi.com/",
                "ssm.tencentcloudapi.com",
                false,
            ),
            (
                "https://ssm.tencentcloudapi.com/",
                "https://ssm.tencentcloudapi.com/",
                "ssm.tencentcloudapi.com",
                false,
            ),
            (
                "ssm.ap-guangzhou.tencentcloudapi.com",
                "https://ssm.ap-guangzhou.tencentcloudapi.com/",
                "ssm.ap-guangzhou.tencentcloudapi.com",
                false,
            ),
            (
                "https://ssm.tencentcloudapi.com:443",
                "https://ssm.tencentcloudapi.com/",
                "ssm.tencentcloudapi.com",
                false,
            ),
            (
                "https://example.test:8443",
                "https://example.test:8443/",
                "example.test:8443",
                false,
            ),
            (
                "http://127.0.0.1:9000",
                "http://127.0.0.1:9000/",
                "127.0.0.1:9000",
                true,
            ),
            (
                "http://localhost:9000",
                "http://localhost:9000/",
                "localhost:9000",
                true,
            ),
            (
                "http://[::1]:9000",
                "http://[::1]:9000/",
                "[::1]:9000",
                true,
            ),
        ];
        for (input, url, host, loopback) in cases {
            let e = Endpoint::parse(input).unwrap();
            assert_eq!(e.url(), *url, "{input}");
            assert_eq!(e.host(), *host, "{input}");
            assert_eq!(e.is_loopback(), *loopback, "{input}");
        }
        for (bad, reason) in [
            ("ftp://x", "scheme"),
            ("https://x/path", "served at `/`"),
            ("https://x/?a=1", "served at `/`"),
            ("https://u:p@x", "user information"),
            ("http://ssm.tencentcloudapi.com", "in clear"),
            ("http://SSM.ap-beijing.TencentCloudAPI.com", "in clear"),
            ("https://", ""),
        ] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert!(err.to_string().contains(reason), "{bad}: {err}");
        }
        // The refusal names the host, never a password or token in the URL.
        for bad in [
            "https://u:pw-1234@x",
            "https://x/?token=pw-1234",
            "https://x/pw-1234",
        ] {
            let err = Endpoint::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("pw") && err.contains('x'), "{bad}: {err}");
        }
    }
}
