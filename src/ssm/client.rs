//! The async SSM client ([`Client`], configured by [`ClientConfig`]): signs and sends one request
//! per call (put together by [`build_signed_request`]), reads the answer, and turns it into a typed
//! response or an [`Error`] classified for the executor's retry loop.
//!
//! Each call takes a fresh timestamp and asks the [`CredentialsProvider`] for credentials just
//! before signing, so a caller that retries a call re-signs it, and temporary credentials are
//! refreshed before they expire (see [`crate::ssm::refresh`]); the session token travels in
//! `X-TC-Token` on every call.
//!
//! The client does not retry and does not rate-limit: those belong to the executor, which acts on
//! [`Error::class`]. It logs each call at `debug` level (action, secret name, version, HTTP status,
//! RequestId, duration, outcome) and never a body, the `Authorization` header or a token.
//!
//! Secrets in transit: request bodies are zeroizing buffers handed to the HTTP stack without a
//! copy (`Bytes::from_owner`) and zeroized when it lets go of them; response bodies are collected
//! into a zeroizing buffer (grown without leaving stale copies) and decoded from there. Buffers
//! inside hyper and rustls are beyond reach; this is best effort, not a guarantee.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use crate::secret::SecretContent;
use crate::ssm::credentials::Credentials;
use crate::ssm::endpoint::Endpoint;
use crate::ssm::error::{
    ApiError, CallContext, Error, InvalidRequest, TimeoutPhase, TransportError, TransportKind,
    sanitise_error,
};
use crate::ssm::refresh::CredentialsProvider;
use crate::ssm::request::{
    Language, RequestSpec, SignedRequest, build_signed_request, default_request_client,
};
use crate::ssm::sanitise::{self, RequestValues};
use crate::ssm::types::*;
use crate::ssm::{API_VERSION, DEFAULT_ENDPOINT};

/// Default connect timeout (TCP + TLS): 3 s. A handshake with the API takes a few hundred
/// milliseconds even across continents.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default first-byte timeout: 5 s from sending a request to the head of its answer, and again at
/// most 5 s between two reads of the body. The API answers in well under a second; an endpoint
/// that accepts connections and says nothing fails here.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Default timeout of a whole call, from sending to the last byte of the response: 15 s, so an
/// endpoint that trickles its answer a byte at a time fails too. (The Go SDK's 60 s leaves a stuck
/// apply hanging for too long.)
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Default cap on a response body: 16 MiB (a ListSecrets page of 1000 secrets is well under 1 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Page size used by [`Client::list_all_secrets`] unless the filter sets `limit`.
pub const LIST_PAGE_SIZE: u64 = 100;

/// How to reach the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// `https://ssm.tencentcloudapi.com` ([`DEFAULT_ENDPOINT`]), a regional endpoint, or
    /// `http://host:port` for an emulator. A bare host means `https://host`. Plain HTTP to a
    /// `*.tencentcloudapi.com` host is refused: secret contents would cross the network in clear.
    pub endpoint: String,
    /// `X-TC-Region`, e.g. `ap-guangzhou`; `""` omits the header.
    pub region: String,
    /// Default [`DEFAULT_CONNECT_TIMEOUT`] (3 s).
    pub connect_timeout: Duration,
    /// Until the answer's head, and between two reads of its body; default
    /// [`DEFAULT_READ_TIMEOUT`] (5 s).
    pub read_timeout: Duration,
    /// The whole call; default [`DEFAULT_REQUEST_TIMEOUT`] (15 s).
    pub request_timeout: Duration,
    /// Default English, so that messages match the hints this client adds.
    pub language: Option<Language>,
    /// `X-TC-RequestClient`; default [`default_request_client`] (`ssmform_<version>`).
    pub request_client: String,
    /// Default [`DEFAULT_MAX_RESPONSE_BYTES`] (16 MiB).
    pub max_response_bytes: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            endpoint: DEFAULT_ENDPOINT.to_string(),
            region: String::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            language: Some(Language::EnUs),
            request_client: default_request_client(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl ClientConfig {
    /// Defaults with the given endpoint and region.
    pub fn new(endpoint: impl Into<String>, region: impl Into<String>) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            region: region.into(),
            ..Default::default()
        }
    }
}

/// A configuration the client cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    Endpoint { endpoint: String, reason: String },
    #[error(
        "invalid region `{0}`: a region is lower-case letters, digits and `-`, e.g. `ap-guangzhou`"
    )]
    Region(String),
    #[error(
        "invalid request client `{0}`: at most 128 characters of letters, digits, `-`, `_`, space, `,`, `;` and `.`"
    )]
    RequestClient(String),
    #[error("the HTTP client could not be set up: {0}")]
    Http(String),
}

type Clock = dyn Fn() -> i64 + Send + Sync;

struct Inner {
    http: reqwest::Client,
    endpoint: Endpoint,
    config: ClientConfig,
    credentials: CredentialsProvider,
    clock: Arc<Clock>,
}

/// The SSM client. Cheap to clone (one `Arc`), `Send + Sync`; clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint.display())
            .field("region", &self.inner.config.region)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

/// A 200 answer whose body is an API response without `Error`.
struct Reply {
    status: u16,
    content_type: Option<String>,
    body: Zeroizing<Vec<u8>>,
    request_id: String,
}

/// The parts of an answer every response shares; everything else is skipped without being copied.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "Response")]
    response: Option<ProbeResponse>,
}

#[derive(Deserialize)]
struct ProbeResponse {
    #[serde(rename = "Error")]
    error: Option<ProbeError>,
    #[serde(rename = "RequestId")]
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct ProbeError {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

/// What happened to a call, for the debug log line.
enum Outcome<'a> {
    Ok,
    Failed(&'a Error),
}

impl Client {
    /// A client for `config` signing with `credentials` (fixed [`Credentials`] or a
    /// [`CredentialsProvider`]). Fails on an unusable endpoint, region or request client, or if the
    /// TLS stack cannot be initialised.
    pub fn new(
        config: ClientConfig,
        credentials: impl Into<CredentialsProvider>,
    ) -> Result<Client, ConfigError> {
        let credentials = credentials.into();
        let endpoint = Endpoint::parse(&config.endpoint)?;
        if !config
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ConfigError::Region(config.region.clone()));
        }
        if config.request_client.len() > 128
            || !config.request_client.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b' ' | b',' | b';' | b'.')
            })
        {
            return Err(ConfigError::RequestClient(config.request_client.clone()));
        }
        if endpoint.is_plain_http() && !endpoint.is_loopback() {
            tracing::warn!(endpoint = %endpoint.display(),
                "plain HTTP to a remote host: secret contents cross the network unencrypted");
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ssmform/", env!("CARGO_PKG_VERSION")));
        if endpoint.is_loopback() {
            // An emulator on this machine: an HTTP(S)_PROXY meant for the internet must not
            // intercept it.
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| ConfigError::Http(deepest_cause(&e)))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                endpoint,
                config,
                credentials,
                clock: Arc::new(crate::clock::unix_now),
            }),
        })
    }

    /// The same client reading the time from `clock` (Unix seconds) when it signs: tests use it to
    /// sign with a skewed clock or to observe that every call takes a fresh timestamp.
    pub fn with_clock(self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Client {
        let inner = &self.inner;
        Client {
            inner: Arc::new(Inner {
                http: inner.http.clone(),
                endpoint: inner.endpoint.clone(),
                config: inner.config.clone(),
                credentials: inner.credentials.clone(),
                clock: Arc::new(clock),
            }),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    pub fn credentials(&self) -> &CredentialsProvider {
        &self.inner.credentials
    }

    /// The [`RequestSpec`] this client would use for `action` at `timestamp`, signing with
    /// `credentials`.
    pub fn request_spec<'a>(
        &'a self,
        action: &'a str,
        timestamp: i64,
        credentials: &'a Credentials,
    ) -> RequestSpec<'a> {
        RequestSpec {
            endpoint: &self.inner.endpoint,
            region: &self.inner.config.region,
            action,
            version: API_VERSION,
            timestamp,
            credentials,
            request_client: &self.inner.config.request_client,
            language: self.inner.config.language,
        }
    }

    /// The signed request for `request` at `timestamp` (Unix seconds), not sent, signed with the
    /// credentials last obtained (fixed ones, or the current temporary ones).
    pub fn signed_request<A: Action>(
        &self,
        request: &A,
        timestamp: i64,
    ) -> Result<SignedRequest, Error> {
        let Some(credentials) = self.inner.credentials.latest() else {
            return Err(Error::InvalidRequest(Box::new(InvalidRequest {
                reason: "no credentials have been obtained yet".into(),
                call: self.context(A::NAME, request.secret_name(), request.version_id()),
            })));
        };
        self.sign(request, timestamp, &credentials)
    }

    fn sign<A: Action>(
        &self,
        request: &A,
        timestamp: i64,
        credentials: &Credentials,
    ) -> Result<SignedRequest, Error> {
        let body = request.encode().map_err(|e| {
            Error::InvalidRequest(Box::new(InvalidRequest {
                reason: e.0,
                call: self.context(A::NAME, request.secret_name(), request.version_id()),
            }))
        })?;
        let mut signed =
            build_signed_request(&self.request_spec(A::NAME, timestamp, credentials), body);
        signed.secret_name = request.secret_name().map(str::to_string);
        signed.version_id = request.version_id().map(str::to_string);
        Ok(signed)
    }

    /// Credentials to sign a call with now; a source that cannot provide them fails the call
    /// before anything is sent.
    async fn credentials_now<A: Action>(&self, request: &A) -> Result<Credentials, Error> {
        self.inner.credentials.get().await.map_err(|e| {
            Error::InvalidRequest(Box::new(InvalidRequest {
                reason: e.to_string(),
                call: self.context(A::NAME, request.secret_name(), request.version_id()),
            }))
        })
    }

    /// Sign `request` now, with credentials valid now, and send it. The answer must have the
    /// fields the action documents and echo the name and version the request named
    /// ([`Action::check`]); anything else is a protocol error ([`TransportKind::NotTheApi`]).
    pub async fn call<A: Action>(&self, request: &A) -> Result<A::Response, Error> {
        let credentials = self.credentials_now(request).await?;
        let signed = self.sign(request, (self.inner.clock)(), &credentials)?;
        drop(credentials);
        self.run(
            signed,
            request.content(),
            A::RESPONSE_HOLDS_SECRETS,
            A::FIELDS,
            A::decode,
            |r| request.check(r),
        )
        .await
    }

    /// Send a prepared (possibly altered) request and decode the answer as `A`'s response (which
    /// must have the action's documented fields).
    pub async fn send<A: Action>(&self, request: SignedRequest) -> Result<A::Response, Error> {
        self.run(
            request,
            None,
            A::RESPONSE_HOLDS_SECRETS,
            A::FIELDS,
            A::decode,
            |_| Ok(()),
        )
        .await
    }

    /// Send a prepared request for any action (even one this client has no type for) and return
    /// the `Response` object as JSON. Not for actions whose answers hold secrets: the JSON value's
    /// strings are not zeroized.
    pub async fn send_json(&self, request: SignedRequest) -> Result<serde_json::Value, Error> {
        self.run(
            request,
            None,
            false,
            &[],
            |body| {
                #[derive(Deserialize)]
                struct Envelope {
                    #[serde(rename = "Response")]
                    response: serde_json::Value,
                }
                serde_json::from_slice::<Envelope>(body)
                    .map(|e| e.response)
                    .map_err(|e| DecodeError(e.to_string()))
            },
            |_| Ok(()),
        )
        .await
    }

    pub async fn update_secret(
        &self,
        request: &UpdateSecretRequest,
    ) -> Result<UpdateSecretResponse, Error> {
        self.call(request).await
    }

    pub async fn get_secret_value(
        &self,
        request: &GetSecretValueRequest,
    ) -> Result<GetSecretValueResponse, Error> {
        self.call(request).await
    }

    pub async fn put_secret_value(
        &self,
        request: &PutSecretValueRequest,
    ) -> Result<PutSecretValueResponse, Error> {
        self.call(request).await
    }

    pub async fn create_secret(
        &self,
        request: &CreateSecretRequest,
    ) -> Result<CreateSecretResponse, Error> {
        self.call(request).await
    }

    pub async fn describe_secret(
        &self,
        request: &DescribeSecretRequest,
    ) -> Result<DescribeSecretResponse, Error> {
        self.call(request).await
    }

    pub async fn list_secret_version_ids(
        &self,
        request: &ListSecretVersionIdsRequest,
    ) -> Result<ListSecretVersionIdsResponse, Error> {
        self.call(request).await
    }

    /// One page of ListSecrets.
    pub async fn list_secrets(
        &self,
        request: &ListSecretsRequest,
    ) -> Result<ListSecretsResponse, Error> {
        self.call(request).await
    }

    pub async fn disable_secret(
        &self,
        request: &DisableSecretRequest,
    ) -> Result<DisableSecretResponse, Error> {
        self.call(request).await
    }

    pub async fn update_description(
        &self,
        request: &UpdateDescriptionRequest,
    ) -> Result<UpdateDescriptionResponse, Error> {
        self.call(request).await
    }

    pub async fn enable_secret(
        &self,
        request: &EnableSecretRequest,
    ) -> Result<EnableSecretResponse, Error> {
        self.call(request).await
    }

    pub async fn delete_secret(
        &self,
        request: &DeleteSecretRequest,
    ) -> Result<DeleteSecretResponse, Error> {
        self.call(request).await
    }

    pub async fn restore_secret(
        &self,
        request: &RestoreSecretRequest,
    ) -> Result<RestoreSecretResponse, Error> {
        self.call(request).await
    }

    pub async fn delete_secret_version(
        &self,
        request: &DeleteSecretVersionRequest,
    ) -> Result<DeleteSecretVersionResponse, Error> {
        self.call(request).await
    }

    /// Every secret matching `filter`, following pagination from `filter.offset` (default 0) in
    /// pages of `filter.limit` (default [`LIST_PAGE_SIZE`]).
    ///
    /// Unless the filter says otherwise, pages are requested oldest first, so that a secret created
    /// meanwhile lands on the last page instead of shifting the others; should pages shift anyway
    /// (newest-first order), a secret seen twice is kept once. A secret deleted during the listing
    /// shifts later ones back and can make one of them be missed: the API offers no snapshot.
    /// No retries and no pacing here: the first error is returned (ListSecrets is limited to 30
    /// requests per second).
    pub async fn list_all_secrets(
        &self,
        filter: &ListSecretsRequest,
    ) -> Result<Vec<SecretMetadata>, Error> {
        let mut request = filter.clone();
        let mut offset = filter.offset.unwrap_or(0);
        request.limit = Some(filter.limit.unwrap_or(LIST_PAGE_SIZE));
        request.order = Some(filter.order.unwrap_or(ListOrder::OldestFirst));
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        loop {
            request.offset = Some(offset);
            let page = self.list_secrets(&request).await?;
            let received = page.secret_metadatas.len() as u64;
            for secret in page.secret_metadatas {
                if seen.insert(secret.secret_name.clone()) {
                    all.push(secret);
                }
            }
            offset += received;
            if received == 0 || offset >= page.total_count {
                return Ok(all);
            }
        }
    }

    /// Every value a request carried, for checking what the server says about it: the string
    /// parameters of its body, the secret content, the SecretId and the session token.
    fn request_values(&self, body: &[u8], content: Option<&SecretContent>) -> RequestValues {
        let mut values = RequestValues::from_json_body(body);
        if let Some(c) = content {
            values.add_content(c);
        }
        // The credentials now in use: those the request was signed with, unless they were
        // renewed while it was in flight (then the server cannot have seen the new ones).
        if let Some(credentials) = self.inner.credentials.latest() {
            values.add(&credentials.secret_id);
            if let Some(token) = &credentials.token
                && let Ok(t) = std::str::from_utf8(token.expose())
            {
                values.add(t);
            }
        }
        values
    }

    fn context(
        &self,
        action: &str,
        secret_name: Option<&str>,
        version_id: Option<&str>,
    ) -> CallContext {
        CallContext {
            action: action.to_string(),
            secret_name: secret_name.map(str::to_string),
            version_id: version_id.map(str::to_string),
            endpoint: self.inner.endpoint.display(),
            region: self.inner.config.region.clone(),
            credential_source: self.inner.credentials.source(),
            secret_id_hint: self
                .inner
                .credentials
                .latest()
                .map(|c| c.secret_id_hint())
                .unwrap_or_else(|| "…".to_string()),
        }
    }

    /// Send, check, decode and log one call: `fields` must be in the answer, and `check` must
    /// accept the decoded answer.
    async fn run<T>(
        &self,
        mut request: SignedRequest,
        content: Option<&SecretContent>,
        holds_secrets: bool,
        fields: &[&str],
        decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let call = self.context(
            &request.action,
            request.secret_name.as_deref(),
            request.version_id.as_deref(),
        );
        // The body is kept (shared, not copied; wiped when the last holder drops it) so that an
        // error from the server can be checked against every value the request carried.
        let body = Bytes::from_owner(std::mem::take(&mut request.body));
        let exchanged = self.exchange(request, body.clone(), &call).await;
        let not_the_api = |reply: &Reply, reason: String, call: CallContext| {
            Error::Transport(Box::new(TransportError {
                kind: TransportKind::NotTheApi {
                    status: reply.status,
                    body_len: reply.body.len(),
                    reason,
                },
                detail: String::new(),
                call,
            }))
        };
        let result = match exchanged {
            Ok(reply) if missing_field(&reply.body, fields).is_some() => {
                let field = missing_field(&reply.body, fields).unwrap_or_default();
                let err = not_the_api(&reply, format!("it has no `{field}`"), call);
                (err, Some(reply.status), reply.request_id)
            }
            Ok(reply) => match decode(&reply.body).map(|v| {
                let checked = check(&v);
                (v, checked)
            }) {
                Ok((_, Err(reason))) => {
                    let err = not_the_api(&reply, reason, call);
                    (err, Some(reply.status), reply.request_id)
                }
                Ok((value, Ok(()))) => {
                    log_call(
                        &call,
                        Some(reply.status),
                        &reply.request_id,
                        started,
                        Outcome::Ok,
                    );
                    return Ok(value);
                }
                Err(e) => {
                    let reason = if holds_secrets {
                        // The decoder of a secret-bearing response writes its own safe messages.
                        e.0
                    } else {
                        format!("unexpected response structure: {}", e.0)
                    };
                    let err = Error::Transport(Box::new(TransportError {
                        kind: TransportKind::Undecodable {
                            status: reply.status,
                            content_type: reply.content_type.clone(),
                            body_len: reply.body.len(),
                            reason,
                        },
                        detail: String::new(),
                        call,
                    }));
                    (err, Some(reply.status), reply.request_id)
                }
            },
            Err((err, status)) => {
                let request_id = err.request_id().unwrap_or("").to_string();
                (err, status, request_id)
            }
        };
        let (mut err, status, _) = result;
        // Nothing the server wrote is kept before it is cleaned of the request's values.
        sanitise_error(&mut err, &self.request_values(&body, content));
        drop(body);
        let request_id = err.request_id().unwrap_or("").to_string();
        let call = err.call().clone();
        log_call(&call, status, &request_id, started, Outcome::Failed(&err));
        Err(err)
    }

    /// One HTTP exchange: send, read the body, check status and content type, and sort out API
    /// errors. The error comes with the HTTP status when there was one.
    async fn exchange(
        &self,
        request: SignedRequest,
        body: Bytes,
        call: &CallContext,
    ) -> Result<Reply, (Error, Option<u16>)> {
        let sent = Instant::now();
        let mut response = self
            .send_http(request, body, call)
            .await
            .map_err(|e| (e, None))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let body = self
            .read_reply_body(&mut response, status, content_type.as_deref(), call, sent)
            .await
            .map_err(|e| (e, Some(status)))?;
        check_reply(status, content_type, body, call).map_err(|e| (e, Some(status)))
    }

    /// Hand the request to the HTTP stack (the body without a copy; the request, with its token
    /// and signature, is wiped once its headers are copied) and wait for the response head.
    async fn send_http(
        &self,
        request: SignedRequest,
        body: Bytes,
        call: &CallContext,
    ) -> Result<reqwest::Response, Error> {
        let mut builder = self.inner.http.post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        drop(request);
        let http_request = builder.body(body).build().map_err(|e| {
            Error::InvalidRequest(Box::new(InvalidRequest {
                reason: format!("the request cannot be sent: {}", deepest_cause(&e)),
                call: call.clone(),
            }))
        })?;
        let sent = Instant::now();
        self.inner.http.execute(http_request).await.map_err(|e| {
            let kind = self.transport_kind(&e, sent, TimeoutPhase::FirstByte);
            transport_error(call, kind, deepest_cause(&e))
        })
    }

    /// The response body, refused past [`ClientConfig::max_response_bytes`].
    async fn read_reply_body(
        &self,
        response: &mut reqwest::Response,
        status: u16,
        content_type: Option<&str>,
        call: &CallContext,
        sent: Instant,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        read_body(response, self.inner.config.max_response_bytes)
            .await
            .map_err(|e| match e {
                ReadError::Http(e) => {
                    let kind = self.transport_kind(&e, sent, TimeoutPhase::Stalled);
                    transport_error(call, kind, deepest_cause(&e))
                }
                ReadError::TooLarge(n) => transport_error(
                    call,
                    TransportKind::Undecodable {
                        status,
                        content_type: content_type.map(str::to_string),
                        body_len: n,
                        reason: format!(
                            "the body exceeds {} bytes",
                            self.inner.config.max_response_bytes
                        ),
                    },
                    String::new(),
                ),
            })
    }

    /// What kind of failure `e` is. A timeout that is not the connect timeout is the read
    /// timeout (`read_phase`: waiting for the head, or for the next bytes of the body) unless the
    /// call's whole deadline is what ran out (`since` is when the request was handed over).
    fn transport_kind(
        &self,
        e: &reqwest::Error,
        since: Instant,
        read_phase: TimeoutPhase,
    ) -> TransportKind {
        let config = &self.inner.config;
        if e.is_timeout() {
            return if e.is_connect() {
                TransportKind::Timeout {
                    phase: TimeoutPhase::Connect,
                    limit: config.connect_timeout,
                }
            } else if since.elapsed() + Duration::from_millis(20) < config.request_timeout {
                TransportKind::Timeout {
                    phase: read_phase,
                    limit: config.read_timeout,
                }
            } else {
                TransportKind::Timeout {
                    phase: TimeoutPhase::Response,
                    limit: config.request_timeout,
                }
            };
        }
        if e.is_connect() {
            return TransportKind::Connect;
        }
        if is_reset(e) {
            return TransportKind::ConnectionReset;
        }
        TransportKind::Other
    }
}

/// Check a complete answer: HTTP 200, `application/json`, a `Response` object, and no `Error` in
/// it (else the API error it reports).
fn check_reply(
    status: u16,
    content_type: Option<String>,
    body: Zeroizing<Vec<u8>>,
    call: &CallContext,
) -> Result<Reply, Error> {
    if status != 200 {
        let kind = TransportKind::HttpStatus {
            status,
            content_type,
            body_len: body.len(),
        };
        return Err(transport_error(call, kind, String::new()));
    }
    let undecodable = |reason: String, content_type: Option<String>, len: usize| {
        let kind = TransportKind::Undecodable {
            status,
            content_type,
            body_len: len,
            reason,
        };
        transport_error(call, kind, String::new())
    };
    if !is_json(content_type.as_deref()) {
        return Err(undecodable(
            "the content type is not application/json".to_string(),
            content_type,
            body.len(),
        ));
    }
    let probe: Probe = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return Err(undecodable(
                json_error_position(&e),
                content_type,
                body.len(),
            ));
        }
    };
    let Some(response) = probe.response else {
        return Err(undecodable(
            "there is no `Response` object".to_string(),
            content_type,
            body.len(),
        ));
    };
    // Every answer of the API, error or not, carries a RequestId: without one, whatever answered
    // is not the API (a catch-all stub would otherwise pass for a successful write).
    if response
        .request_id
        .as_deref()
        .is_none_or(|id| id.trim().is_empty())
    {
        let kind = TransportKind::NotTheApi {
            status,
            body_len: body.len(),
            reason: "it has no `RequestId`".to_string(),
        };
        return Err(transport_error(call, kind, String::new()));
    }
    // The RequestId is the server's text: it is logged, so it keeps only its alphabet.
    let request_id = sanitise::only(
        &response.request_id.unwrap_or_default(),
        |c| c.is_ascii_alphanumeric() || c == '-',
        64,
    );
    if let Some(error) = response.error {
        let api = ApiError {
            code: error.code.unwrap_or_default(),
            message: error.message.unwrap_or_default(),
            request_id,
            call: call.clone(),
        };
        return Err(Error::Api(Box::new(api)));
    }
    Ok(Reply {
        status,
        content_type,
        body,
        request_id,
    })
}

/// The first of `fields` that the answer's `Response` object lacks. The values are skipped
/// without being copied (they may be secret).
fn missing_field(body: &[u8], fields: &[&str]) -> Option<String> {
    if fields.is_empty() {
        return None;
    }
    #[derive(Deserialize)]
    struct Keys {
        #[serde(rename = "Response")]
        response: std::collections::HashMap<String, serde::de::IgnoredAny>,
    }
    let keys: Keys = match serde_json::from_slice(body) {
        Ok(k) => k,
        // The decoder reports what is wrong with the structure.
        Err(_) => return None,
    };
    fields
        .iter()
        .find(|f| !keys.response.contains_key(**f))
        .map(|f| f.to_string())
}

fn transport_error(call: &CallContext, kind: TransportKind, detail: String) -> Error {
    Error::Transport(Box::new(TransportError {
        kind,
        detail,
        call: call.clone(),
    }))
}

/// `application/json`, with or without parameters (the real API sends it bare; a proxy may add a
/// charset).
fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether the failure is the connection going away mid-exchange.
fn is_reset(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return true;
            }
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed() || h.is_canceled())
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// The innermost cause's message (the OS or TLS reason), which says the most in the fewest words.
/// None of these layers ever holds a body.
fn deepest_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

enum ReadError {
    Http(reqwest::Error),
    TooLarge(usize),
}

/// Collect the body into a zeroizing buffer. When the buffer must grow, the contents move to a new
/// zeroizing buffer and the old one is wiped, so no stale copy is left in freed memory.
async fn read_body(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let expected = response
        .content_length()
        .map(|n| n.min(limit as u64) as usize)
        .unwrap_or(8 << 10);
    let mut buf = Zeroizing::new(Vec::with_capacity(expected));
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
        let needed = buf.len() + chunk.len();
        if needed > limit {
            return Err(ReadError::TooLarge(needed));
        }
        if needed > buf.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(buf.capacity() * 2)));
            bigger.extend_from_slice(&buf);
            buf = bigger;
        }
        buf.extend_from_slice(&chunk);
        // Wipe the chunk too when we hold its only reference (usually hyper still shares it).
        if let Ok(mut owned) = chunk.try_into_mut() {
            owned.zeroize();
        }
    }
    Ok(buf)
}

fn log_call(
    call: &CallContext,
    status: Option<u16>,
    request_id: &str,
    started: Instant,
    outcome: Outcome<'_>,
) {
    let duration_ms = started.elapsed().as_millis() as u64;
    let secret_name = call.secret_name.as_deref().unwrap_or("");
    let version_id = call.version_id.as_deref().unwrap_or("");
    let status = status.unwrap_or(0);
    match outcome {
        Outcome::Ok => tracing::debug!(
            action = %call.action, secret_name, version_id, status, request_id, duration_ms,
            "ssm call succeeded"
        ),
        Outcome::Failed(err) => {
            let failure = match err {
                Error::Api(api) => api.code.clone(),
                Error::Transport(t) => format!("{:?}", t.kind),
                Error::InvalidRequest(_) => "InvalidRequest".to_string(),
            };
            tracing::debug!(
                action = %call.action, secret_name, version_id, status, request_id, duration_ms,
                class = ?err.class(), failure = %failure,
                "ssm call failed"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    use super::*;
    use crate::secret::SecretValue;
    use crate::ssm::ErrorClass;
    use crate::ssm::test_support::{KEY_CANARY, SECRET_ID, TOKEN_CANARY, creds, verify};

    const CONTENT_CANARY: &str = "canary-content-d93b51";

    #[test]
    fn tampering_breaks_the_signature() {
        let endpoint = Endpoint::parse("http://localhost:1").unwrap();
        let credentials = Credentials::new(SECRET_ID, SecretValue::from_string("k".into()));
        let client = Client::new(ClientConfig::new("http://localhost:1", ""), credentials).unwrap();
        let mut req = client
            .signed_request(
                &GetSecretValueRequest {
                    secret_name: "a".into(),
                    version_id: "v".into(),
                },
                10,
            )
            .unwrap();
        assert_eq!(req.secret_name.as_deref(), Some("a"));
        assert_eq!(req.version_id.as_deref(), Some("v"));
        assert_eq!(client.endpoint(), &endpoint);
        req.body = Zeroizing::new(br#"{"SecretName":"b","VersionId":"v"}"#.to_vec());
        let result = std::panic::catch_unwind(|| verify(&req.headers, &req.body, "k"));
        assert!(result.is_err(), "a tampered body must not verify");
    }
    #[test]
    fn client_config_is_validated() {
        let c = || creds();
        assert!(matches!(
            Client::new(ClientConfig::new(DEFAULT_ENDPOINT, "ap guangzhou"), c()),
            Err(ConfigError::Region(_))
        ));
        assert!(matches!(
            Client::new(ClientConfig::new(DEFAULT_ENDPOINT, "AP-GUANGZHOU"), c()),
            Err(ConfigError::Region(_))
        ));
        let mut config = ClientConfig::new(DEFAULT_ENDPOINT, "ap-guangzhou");
        config.request_client = "ssmform/0.1".into();
        assert!(matches!(
            Client::new(config, c()),
            Err(ConfigError::RequestClient(_))
        ));
        assert!(Client::new(ClientConfig::default(), c()).is_ok());
        let d = ClientConfig::default();
        assert_eq!(d.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(d.connect_timeout, Duration::from_secs(3));
        assert_eq!(d.read_timeout, Duration::from_secs(5));
        assert_eq!(d.request_timeout, Duration::from_secs(15));
        assert_eq!(
            d.request_client,
            format!("ssmform_{}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn client_is_send_sync_and_its_debug_hides_the_key() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        fn assert_send<T: Send>(_: T) {}
        assert_send_sync::<Client>();
        let client = Client::new(ClientConfig::default(), creds()).unwrap();
        // The executor spawns calls on a multi-threaded runtime: their futures must be Send.
        let request = update("x");
        assert_send(client.update_secret(&request));
        assert_send(client.list_all_secrets(&ListSecretsRequest::default()));
        let shown = format!("{client:?}");
        assert!(
            !shown.contains(KEY_CANARY) && !shown.contains(TOKEN_CANARY),
            "{shown}"
        );
    }

    #[test]
    fn content_types() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(is_json(Some("Application/JSON")));
        assert!(!is_json(Some("text/html")));
        assert!(!is_json(Some("application/jsonx")));
        assert!(!is_json(None));
    }

    // ---- over a real socket, against a server that answers with canned bytes --------------

    /// One request as the server received it.
    #[derive(Debug)]
    struct Received {
        head: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    enum Answer {
        Bytes(Vec<u8>),
        /// Close the connection without answering.
        Close,
        /// Keep the connection open and never answer.
        Hang,
        /// Send the head of this answer, then its body one byte at a time, `Duration` apart.
        Trickle(Vec<u8>, Duration),
    }

    fn http(status: &str, content_type: Option<&str>, body: &str) -> Answer {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(ct) = content_type {
            out.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(body);
        Answer::Bytes(out.into_bytes())
    }

    fn ok_json(body: &str) -> Answer {
        http("200 OK", Some("application/json"), body)
    }

    /// A server answering each request with `answer(request)`; the requests are sent back.
    async fn server(
        answer: impl Fn(&Received) -> Answer + Send + Sync + 'static,
    ) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let Some(received) = read_request(&mut socket).await else {
                        return;
                    };
                    let reply = answer(&received);
                    let _ = tx.send(received);
                    match reply {
                        Answer::Bytes(bytes) => {
                            let _ = socket.write_all(&bytes).await;
                            let _ = socket.shutdown().await;
                        }
                        Answer::Close => drop(socket),
                        Answer::Hang => {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                        }
                        Answer::Trickle(bytes, gap) => {
                            // The head at once, then the body a byte at a time.
                            let head = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                            if socket.write_all(&bytes[..head]).await.is_err() {
                                return;
                            }
                            for b in bytes[head..].iter().copied() {
                                if socket.write_all(&[b]).await.is_err() {
                                    return;
                                }
                                tokio::time::sleep(gap).await;
                            }
                        }
                    }
                });
            }
        });
        (addr, rx)
    }

    async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < len {
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Some(Received {
            head,
            headers,
            body,
        })
    }

    fn client_for(addr: SocketAddr) -> Client {
        Client::new(
            ClientConfig::new(format!("http://{addr}"), "ap-guangzhou"),
            creds(),
        )
        .unwrap()
    }

    fn update(content: &str) -> UpdateSecretRequest {
        UpdateSecretRequest {
            secret_name: "app-db".into(),
            version_id: "v1".into(),
            content: SecretContent::String(SecretValue::from_string(content.into())),
        }
    }

    #[tokio::test]
    async fn the_wire_request_is_exactly_what_was_signed() {
        let (addr, mut rx) = server(|_| {
            ok_json(r#"{"Response":{"SecretName":"app-db","VersionId":"v1","RequestId":"req-1"}}"#)
        })
        .await;
        let client = client_for(addr);
        let response = client.update_secret(&update("new value")).await.unwrap();
        assert_eq!(
            response,
            UpdateSecretResponse {
                secret_name: "app-db".into(),
                version_id: "v1".into(),
                request_id: "req-1".into()
            }
        );
        let received = rx.recv().await.unwrap();
        assert!(
            received.head.starts_with("POST / HTTP/1.1\r\n"),
            "{}",
            received.head
        );
        let header = |name: &str| {
            let all: Vec<&str> = received
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(all.len(), 1, "exactly one {name} header: {all:?}");
            all[0].to_string()
        };
        assert_eq!(
            header("content-type"),
            "application/json",
            "no charset parameter"
        );
        assert_eq!(header("host"), addr.to_string());
        assert_eq!(header("x-tc-action"), "UpdateSecret");
        assert_eq!(header("x-tc-version"), "2019-09-23");
        assert_eq!(header("x-tc-region"), "ap-guangzhou");
        assert_eq!(header("x-tc-token"), TOKEN_CANARY);
        assert_eq!(header("x-tc-requestclient"), default_request_client());
        assert_eq!(
            header("user-agent"),
            concat!("ssmform/", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            received.body,
            br#"{"SecretName":"app-db","VersionId":"v1","SecretString":"new value"}"#
        );
        verify(&received.headers, &received.body, KEY_CANARY);
    }

    #[tokio::test]
    async fn every_call_takes_a_fresh_timestamp() {
        let (addr, mut rx) = server(|_| {
            ok_json(r#"{"Response":{"SecretName":"a","Status":"Enabled","RequestId":"r"}}"#)
        })
        .await;
        let ticks = Arc::new(std::sync::atomic::AtomicI64::new(1_700_000_000));
        let t = ticks.clone();
        let client = client_for(addr)
            .with_clock(move || t.fetch_add(400, std::sync::atomic::Ordering::SeqCst));
        let req = DescribeSecretRequest {
            secret_name: "a".into(),
        };
        client.describe_secret(&req).await.unwrap();
        client.describe_secret(&req).await.unwrap();
        let stamps: Vec<String> = [rx.recv().await.unwrap(), rx.recv().await.unwrap()]
            .iter()
            .map(|r| {
                verify(&r.headers, &r.body, KEY_CANARY);
                r.headers
                    .iter()
                    .find(|(n, _)| n == "x-tc-timestamp")
                    .unwrap()
                    .1
                    .clone()
            })
            .collect();
        assert_eq!(stamps, ["1700000000", "1700000400"]);
    }

    #[tokio::test]
    async fn api_errors_keep_code_message_and_request_id() {
        let (addr, _rx) = server(|r| {
            let action = r.headers.iter().find(|(n, _)| n == "x-tc-action").unwrap().1.clone();
            match action.as_str() {
                "GetSecretValue" => ok_json(
                    r#"{"Response":{"Error":{"Code":"ResourceNotFound","Message":"The secret does not exist."},"RequestId":"rid-404"}}"#,
                ),
                _ => ok_json(
                    r#"{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"Your current request times equals to `51` in a second, which exceeds the frequency limit `50` for a second."},"RequestId":"rid-429"}}"#,
                ),
            }
        })
        .await;
        let client = client_for(addr);
        let err = client
            .get_secret_value(&GetSecretValueRequest {
                secret_name: "gone".into(),
                version_id: "v1".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ResourceNotFound"));
        assert_eq!(err.request_id(), Some("rid-404"));
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert_eq!(err.action(), "GetSecretValue");
        let text = err.to_string();
        assert!(text.contains("The secret does not exist."), "{text}");
        assert!(
            text.contains("Secret `gone` version `v1` does not exist in region `ap-guangzhou`"),
            "{text}"
        );

        let err = client.update_secret(&update("x")).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Throttle);
        assert_eq!(err.throttle_limit(), Some(50));
        assert_eq!(err.request_id(), Some("rid-429"));
    }

    #[tokio::test]
    async fn auth_failures_name_the_credential_source_but_never_the_key() {
        let (addr, _rx) = server(|_| {
            ok_json(r#"{"Response":{"Error":{"Code":"AuthFailure.SecretIdNotFound","Message":"SecretId not found"},"RequestId":"r"}}"#)
        })
        .await;
        let err = client_for(addr)
            .update_secret(&update(CONTENT_CANARY))
            .await
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("environment variables TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY"),
            "{text}"
        );
        assert!(text.contains("…MPLE"), "{text}");
        for canary in [KEY_CANARY, TOKEN_CANARY, CONTENT_CANARY, SECRET_ID] {
            assert!(!text.contains(canary), "{canary} in {text}");
        }
    }

    #[tokio::test]
    async fn an_api_message_loses_every_form_of_the_request_values() {
        let upper = CONTENT_CANARY.to_uppercase().replace('-', "_");
        let prefix = &CONTENT_CANARY[..10];
        let (addr, _rx) = server(move |_| {
            ok_json(&format!(
                r#"{{"Response":{{"Error":{{"Code":"FailedOperation","Message":"SecretString {upper} ({prefix}...) of app-db with key {SECRET_ID}\u001b[2J\nfake line"}},"RequestId":"r"}}}}"#
            ))
        })
        .await;
        let err = client_for(addr)
            .update_secret(&update(CONTENT_CANARY))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("FailedOperation"));
        let message = &err.api().unwrap().message;
        assert_eq!(
            message,
            "SecretString [redacted] ([redacted]...) of [redacted] with key [redacted] fake line"
        );

        let (addr, _rx) = server(|_| {
            ok_json(&format!(
                r#"{{"Response":{{"Error":{{"Code":"InvalidParameterValue","Message":"SecretString {CONTENT_CANARY} is too long"}},"RequestId":"r"}}}}"#
            ))
        })
        .await;
        let err = client_for(addr)
            .update_secret(&update(CONTENT_CANARY))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterValue"));
        let text = format!("{err} {err:?}");
        assert!(!text.contains(CONTENT_CANARY), "{text}");
        assert!(text.contains("its own message is not shown"), "{text}");
    }

    #[tokio::test]
    async fn get_secret_value_over_the_wire() {
        let (addr, _rx) = server(|_| {
            ok_json(&format!(
                r#"{{"Response":{{"SecretName":"a","VersionId":"v1","SecretString":"{CONTENT_CANARY}\n","SecretBinary":"","RequestId":"r"}}}}"#
            ))
        })
        .await;
        let value = client_for(addr)
            .get_secret_value(&GetSecretValueRequest {
                secret_name: "a".into(),
                version_id: "v1".into(),
            })
            .await
            .unwrap();
        assert_eq!(
            value.content.value().expose(),
            format!("{CONTENT_CANARY}\n").as_bytes()
        );
        assert!(!format!("{value:?}").contains(CONTENT_CANARY));
    }

    #[tokio::test]
    async fn undecodable_answers_are_described_without_their_text() {
        let cases: Vec<(Answer, &str, u16)> = vec![
            (
                http(
                    "502 Bad Gateway",
                    Some("text/html"),
                    &format!("<html>{CONTENT_CANARY}</html>"),
                ),
                "HTTP 502 (text/html,",
                502,
            ),
            (
                http(
                    "200 OK",
                    Some("text/html"),
                    &format!("<html>{CONTENT_CANARY}</html>"),
                ),
                "content type is not application/json",
                200,
            ),
            (
                ok_json(&format!(
                    r#"{{"Response":{{"SecretString":"{CONTENT_CANARY}"#
                )),
                "truncated JSON",
                200,
            ),
            (
                ok_json(&format!(r#"{{"Other":"{CONTENT_CANARY}"}}"#)),
                "no `Response` object",
                200,
            ),
            (
                ok_json(&format!(
                    r#"{{"Response":{{"SecretName":"a","VersionId":"v","SecretString":"{CONTENT_CANARY}","SecretBinary":"x","RequestId":"r"}}}}"#
                )),
                "both SecretString and SecretBinary",
                200,
            ),
            (
                ok_json(&format!(r#"{{"Response":"{CONTENT_CANARY}"}}"#)),
                "unexpected JSON structure",
                200,
            ),
        ];
        for (answer, expected, status) in cases {
            let bytes = match answer {
                Answer::Bytes(b) => b,
                _ => unreachable!(),
            };
            let (addr, _rx) = server(move |_| Answer::Bytes(bytes.clone())).await;
            let err = client_for(addr)
                .get_secret_value(&GetSecretValueRequest {
                    secret_name: "a".into(),
                    version_id: "v".into(),
                })
                .await
                .unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains(expected), "{expected}: {text}");
            assert!(!text.contains(CONTENT_CANARY), "{text}");
            assert!(text.contains("bytes"), "{text}");
            let kind = &err.transport().unwrap().kind;
            match kind {
                TransportKind::HttpStatus { status: s, .. }
                | TransportKind::Undecodable { status: s, .. } => {
                    assert_eq!(*s, status)
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// Issue 11, problem 1: a server answering `{"Response":{}}` to everything was taken for the
    /// API (an empty live value, successful writes).
    #[tokio::test]
    async fn an_answer_without_request_id_or_fields_is_a_protocol_error() {
        let (addr, _rx) = server(|_| ok_json(r#"{"Response":{}}"#)).await;
        let client = client_for(addr);
        let read = client
            .get_secret_value(&GetSecretValueRequest {
                secret_name: "a".into(),
                version_id: "v".into(),
            })
            .await
            .unwrap_err();
        let write = client.update_secret(&update("x")).await.unwrap_err();
        for err in [read, write] {
            let text = err.to_string();
            assert!(
                text.contains("this does not look like the Tencent Cloud API"),
                "{text}"
            );
            assert!(text.contains(&format!("http://{addr}")), "{text}");
            assert!(text.contains("`RequestId`"), "{text}");
            assert!(
                matches!(
                    err.transport().unwrap().kind,
                    TransportKind::NotTheApi { .. }
                ),
                "{err:?}"
            );
            assert_eq!(err.class(), ErrorClass::Permanent);
        }

        // With a RequestId but without the documented fields.
        let (addr, _rx) = server(|_| ok_json(r#"{"Response":{"RequestId":"r"}}"#)).await;
        let err = client_for(addr)
            .get_secret_value(&GetSecretValueRequest {
                secret_name: "a".into(),
                version_id: "v".into(),
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no `SecretName`"), "{err}");
        let err = client_for(addr)
            .list_secrets(&ListSecretsRequest::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no `TotalCount`"), "{err}");
    }

    #[tokio::test]
    async fn a_write_must_echo_the_name_and_version_it_wrote() {
        for (body, expected) in [
            (
                r#"{"Response":{"SecretName":"","VersionId":"v1","RequestId":"r"}}"#,
                "does not echo the SecretName",
            ),
            (
                r#"{"Response":{"SecretName":"app-db","VersionId":"v2","RequestId":"r"}}"#,
                "echoes another VersionId",
            ),
            (
                r#"{"Response":{"SecretName":"other","VersionId":"v1","RequestId":"r"}}"#,
                "echoes another SecretName",
            ),
        ] {
            let (addr, _rx) = server(move |_| ok_json(body)).await;
            let err = client_for(addr)
                .update_secret(&update(CONTENT_CANARY))
                .await
                .unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains(expected), "{text}");
            assert!(text.contains("does not look like the Tencent Cloud API"));
            assert!(!text.contains(CONTENT_CANARY), "{text}");
            // The write may have reached something: the executor reads it back.
            assert!(err.may_have_taken_effect());
        }
        let (addr, _rx) = server(|_| {
            ok_json(r#"{"Response":{"SecretName":"app-db","VersionId":"v1","RequestId":"r"}}"#)
        })
        .await;
        let ok = client_for(addr).update_secret(&update("x")).await.unwrap();
        assert_eq!(
            (ok.secret_name.as_str(), ok.request_id.as_str()),
            ("app-db", "r")
        );
    }

    #[tokio::test]
    async fn an_error_without_request_id_is_not_an_api_error() {
        let (addr, _rx) = server(|_| {
            ok_json(r#"{"Response":{"Error":{"Code":"ResourceNotFound","Message":"x"}}}"#)
        })
        .await;
        let err = client_for(addr)
            .describe_secret(&DescribeSecretRequest {
                secret_name: "a".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), None, "{err}");
        assert!(err.to_string().contains("`RequestId`"), "{err}");
    }

    #[tokio::test]
    async fn a_charset_parameter_is_tolerated() {
        let (addr, _rx) = server(|_| {
            http(
                "200 OK",
                Some("application/json; charset=utf-8"),
                r#"{"Response":{"SecretName":"a","RequestId":"r"}}"#,
            )
        })
        .await;
        let r = client_for(addr)
            .enable_secret(&EnableSecretRequest {
                secret_name: "a".into(),
            })
            .await
            .unwrap();
        assert_eq!(r.secret_name, "a");
    }

    #[tokio::test]
    async fn a_dropped_connection_is_a_transient_reset() {
        let (addr, _rx) = server(|_| Answer::Close).await;
        let err = client_for(addr)
            .update_secret(&update("x"))
            .await
            .unwrap_err();
        assert_eq!(
            err.transport().unwrap().kind,
            TransportKind::ConnectionReset,
            "{err}"
        );
        assert_eq!(err.class(), ErrorClass::Transient);
        assert!(err.may_have_taken_effect());
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let (addr, _rx) = server(|_| Answer::Hang).await;
        let mut config = ClientConfig::new(format!("http://{addr}"), "ap-guangzhou");
        config.request_timeout = Duration::from_millis(300);
        let client = Client::new(config, creds()).unwrap();
        let err = client.update_secret(&update("x")).await.unwrap_err();
        assert_eq!(
            err.transport().unwrap().kind,
            TransportKind::Timeout {
                phase: TimeoutPhase::Response,
                limit: Duration::from_millis(300)
            },
            "{err}"
        );
        assert_eq!(err.class(), ErrorClass::Transient);
        assert!(err.to_string().contains("within 300ms"), "{err}");
    }

    /// Issue 11, problem 5: a silent endpoint held a call for the whole 30 s request timeout.
    #[tokio::test]
    async fn a_silent_server_fails_at_the_first_byte_timeout() {
        let (addr, _rx) = server(|_| Answer::Hang).await;
        let mut config = ClientConfig::new(format!("http://{addr}"), "ap-guangzhou");
        config.read_timeout = Duration::from_millis(200);
        config.request_timeout = Duration::from_secs(5);
        let client = Client::new(config, creds()).unwrap();
        let t0 = Instant::now();
        let err = client.update_secret(&update("x")).await.unwrap_err();
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert_eq!(
            err.transport().unwrap().kind,
            TransportKind::Timeout {
                phase: TimeoutPhase::FirstByte,
                limit: Duration::from_millis(200)
            },
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains(&format!("http://{addr}")), "{text}");
        assert!(text.contains("within 200ms"), "{text}");
        assert!(text.contains("SSMFORM_READ_TIMEOUT"), "{text}");
        assert!(err.may_have_taken_effect());
    }

    /// A byte every 50 ms never trips the read timeout: the per-call deadline ends it.
    #[tokio::test]
    async fn a_trickling_server_fails_at_the_call_deadline() {
        let body = r#"{"Response":{"SecretName":"app-db","VersionId":"v1","RequestId":"r"}}"#;
        let mut bytes = match ok_json(body) {
            Answer::Bytes(b) => b,
            _ => unreachable!(),
        };
        // Content-Length says 200 more bytes than the body has: the client keeps reading.
        let body_len = body.len();
        let text = String::from_utf8(bytes).unwrap().replace(
            &format!("Content-Length: {body_len}"),
            &format!("Content-Length: {}", body_len + 200),
        );
        bytes = text.into_bytes();
        bytes.extend(std::iter::repeat_n(b' ', 200));
        let (addr, _rx) =
            server(move |_| Answer::Trickle(bytes.clone(), Duration::from_millis(50))).await;
        let mut config = ClientConfig::new(format!("http://{addr}"), "ap-guangzhou");
        config.read_timeout = Duration::from_millis(400);
        config.request_timeout = Duration::from_millis(1200);
        let client = Client::new(config, creds()).unwrap();
        let t0 = Instant::now();
        let err = client.update_secret(&update("x")).await.unwrap_err();
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        assert_eq!(
            err.transport().unwrap().kind,
            TransportKind::Timeout {
                phase: TimeoutPhase::Response,
                limit: Duration::from_millis(1200)
            },
            "{err}"
        );
        assert!(err.to_string().contains("SSMFORM_CALL_TIMEOUT"), "{err}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_failure() {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let err = client_for(addr)
            .update_secret(&update("x"))
            .await
            .unwrap_err();
        assert_eq!(
            err.transport().unwrap().kind,
            TransportKind::Connect,
            "{err}"
        );
        assert_eq!(err.class(), ErrorClass::Transient);
        assert!(!err.may_have_taken_effect());
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }

    #[tokio::test]
    async fn oversized_answers_are_refused() {
        let (addr, _rx) = server(|_| {
            ok_json(&format!(
                r#"{{"Response":{{"Pad":"{}"}}}}"#,
                "x".repeat(5000)
            ))
        })
        .await;
        let mut config = ClientConfig::new(format!("http://{addr}"), "");
        config.max_response_bytes = 1000;
        let err = Client::new(config, creds())
            .unwrap()
            .describe_secret(&DescribeSecretRequest {
                secret_name: "a".into(),
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("exceeds 1000 bytes"), "{err}");
    }

    #[tokio::test]
    async fn non_utf8_secret_strings_are_refused_before_sending() {
        let (addr, mut rx) = server(|_| ok_json(r#"{"Response":{}}"#)).await;
        let req = UpdateSecretRequest {
            secret_name: "a".into(),
            version_id: "v".into(),
            content: SecretContent::String(SecretValue::new(vec![0xff, 0x00])),
        };
        let err = client_for(addr).update_secret(&req).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert!(rx.try_recv().is_err(), "nothing was sent");
    }

    #[tokio::test]
    async fn list_all_secrets_follows_pages_and_keeps_each_secret_once() {
        // 7 secrets served at most 3 per page (the server caps Limit, as an API may). After the
        // first page a secret is created at the head of the order, which shifts the later pages
        // by one, so the second page repeats the first page's last secret.
        let (addr, mut rx) = server(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            let offset = body["Offset"].as_u64().unwrap() as usize;
            let mut names: Vec<String> = (0..7).map(|i| format!("s{i}")).collect();
            if offset > 0 {
                names.insert(0, "created-meanwhile".into());
            }
            let page: Vec<serde_json::Value> = names
                .iter()
                .skip(offset)
                .take(3)
                .map(|n| serde_json::json!({"SecretName": n, "Status": "Enabled", "RotationStatus": 0}))
                .collect();
            let response = serde_json::json!({"Response": {
                "TotalCount": names.len(), "SecretMetadatas": page, "RequestId": "r"}});
            ok_json(&response.to_string())
        })
        .await;
        let all = client_for(addr)
            .list_all_secrets(&ListSecretsRequest {
                state: Some(StateFilter::Enabled),
                ..Default::default()
            })
            .await
            .unwrap();
        let names: Vec<&str> = all.iter().map(|m| m.secret_name.as_str()).collect();
        assert_eq!(names, ["s0", "s1", "s2", "s3", "s4", "s5", "s6"]);
        let mut offsets = Vec::new();
        while let Ok(r) = rx.try_recv() {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["Limit"], 100);
            assert_eq!(body["OrderType"], 1, "oldest first");
            assert_eq!(body["State"], 1, "the filter is kept");
            offsets.push(body["Offset"].as_u64().unwrap());
        }
        offsets.sort();
        assert_eq!(offsets, [0, 3, 6]);
    }

    #[tokio::test]
    async fn send_json_reaches_any_action_and_reports_api_errors() {
        let (addr, _rx) = server(|r| {
            let action = r.headers.iter().find(|(n, _)| n == "x-tc-action").unwrap().1.clone();
            if action == "GetServiceStatus" {
                ok_json(r#"{"Response":{"ServiceEnabled":true,"RequestId":"r"}}"#)
            } else {
                ok_json(r#"{"Response":{"Error":{"Code":"InvalidAction","Message":"no such action"},"RequestId":"r2"}}"#)
            }
        })
        .await;
        let client = client_for(addr);
        let now = crate::clock::unix_now();
        let credentials = creds();
        let req = build_signed_request(
            &client.request_spec("GetServiceStatus", now, &credentials),
            Zeroizing::new(b"{}".to_vec()),
        );
        let value = client.send_json(req).await.unwrap();
        assert_eq!(value["ServiceEnabled"], true);
        let req = build_signed_request(
            &client.request_spec("NoSuchThing", now, &credentials),
            Zeroizing::new(b"{}".to_vec()),
        );
        let err = client.send_json(req).await.unwrap_err();
        assert_eq!(err.code(), Some("InvalidAction"));
        assert_eq!(err.action(), "NoSuchThing");
        assert!(
            err.to_string().contains("does not serve NoSuchThing"),
            "{err}"
        );
    }
}
