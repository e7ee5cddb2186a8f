//! One HTTP request from arrival to answer: routing, the common parameters, authentication,
//! injected faults, the rate limiter, then the action.
//!
//! The checks run in this order, each answering with its own code:
//!
//! 1. method `GET` or `POST` (`UnsupportedProtocol`), body within 10 MiB (`RequestSizeLimitExceeded`);
//! 2. `Action` present (`MissingParameter`) and emulated (`InvalidAction`);
//! 3. `Version` = `2019-09-23` (`NoSuchVersion`), `Region` present and well-formed (`UnsupportedRegion`);
//! 4. `Timestamp` within five minutes (`AuthFailure.SignatureExpire`), then the signature
//!    ([`super::auth`]);
//! 5. injected fault, if `--faults` rolled one;
//! 6. the action's rate limit (`RequestLimitExceeded`);
//! 7. the action's parameters and rules ([`super::handlers`]).
//!
//! A request is TC3-signed when it carries an `Authorization` or `X-TC-Action` header (common
//! parameters in `X-TC-*` headers); otherwise it is a legacy request with every parameter in the
//! query string (GET) or form body (POST).
//!
//! STS shares the port ([`super::sts`]): a TC3 request whose credential scope names `sts`, or an
//! unsigned one (`Authorization: SKIP`, none, or a legacy request without `Signature`) for
//! AssumeRoleWithWebIdentity, goes to [`sts_api`], which checks version, region, timestamp and (for
//! AssumeRole) the signature for service `sts`, without SSM's faults and rate limits. Paths under
//! `/latest/meta-data/` are the CVM metadata service ([`super::metadata`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode, header};
use serde_json::{Map, Value};
use tokio::sync::watch;

use super::action::Action;
use super::auth::{self, Credentials, LegacyRequest, Tc3Request};
use super::error::{ApiError, code};
use super::faults::{Fault, Faults};
use super::handlers::{self, Context};
use super::limits::Admission;
use super::params::{Params, truncate};
use super::response;
use super::rules;
use super::stats::Traffic;
use super::store::Store;
use super::sts::{self as sts_mod, Sts};
use crate::ssm::sign_legacy::form_decode;

/// The API version every SSM request must name.
pub const API_VERSION: &str = "2019-09-23";
/// Largest request body accepted (Tencent's limit for TC3 requests).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Where the traffic figures are served.
pub const STATS_PATH: &str = "/_emulator/stats";

/// Everything a request handler shares.
pub struct State {
    pub store: Arc<Store>,
    pub credentials: Credentials,
    pub traffic: Arc<Traffic>,
    /// The emulated STS and its temporary keys (shared with `credentials`).
    pub sts: Arc<Sts>,
    pub faults: Faults,
    pub latency: Duration,
    /// Each answer's delay is `latency` ± up to this much, uniformly.
    pub latency_spread: Duration,
    /// Flips to `true` when the emulator shuts down (cuts injected slow responses short).
    pub shutdown: watch::Receiver<bool>,
}

/// The service's way of saying "drop this connection without answering" to hyper.
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

type Resp = Response<Full<Bytes>>;

/// Entry point for every HTTP request.
pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let (parts, body) = req.into_parts();
    match parts.uri.path() {
        "/" => {}
        STATS_PATH if parts.method == Method::GET => {
            let mut snapshot = state.traffic.snapshot();
            snapshot.sts = state.sts.snapshot();
            let body = serde_json::to_vec(&snapshot).unwrap_or_default();
            return Ok(response::json_response(body));
        }
        p if p.starts_with(super::metadata::PREFIX) => {
            return Ok(super::metadata::handle(&state.sts, &parts.method, p));
        }
        _ => {
            return Ok(response::plain(
                StatusCode::NOT_FOUND,
                "Not found: the SSM API is served at `/`, the emulator's figures at `/_emulator/stats`.\n",
            ));
        }
    }
    let request_id = response::request_id();
    let outcome = api(&state, &parts, body).await;
    let answer = match outcome {
        Outcome::Reply(Ok(fields)) => {
            response::json_response(response::success_body(fields, &request_id))
        }
        Outcome::Reply(Err(e)) => response::json_response(response::error_body(&e, &request_id)),
        Outcome::BadGateway => response::bad_gateway(),
        Outcome::Drop => return Err(Dropped),
    };
    let delay = state.delay();
    if !delay.is_zero() {
        sleep_unless_shutdown(&state, delay).await;
    }
    Ok(answer)
}

impl State {
    /// How long to hold back one answer.
    fn delay(&self) -> Duration {
        jittered(self.latency, self.latency_spread, &mut rand::rng())
    }
}

/// `latency` ± up to `spread`, uniformly, never below zero.
fn jittered<R: rand::RngExt + ?Sized>(
    latency: Duration,
    spread: Duration,
    rng: &mut R,
) -> Duration {
    if spread.is_zero() {
        return latency;
    }
    let spread = spread.as_micros() as i64;
    let offset = rng.random_range(-spread..=spread);
    let micros = (latency.as_micros() as i64 + offset).max(0);
    Duration::from_micros(micros as u64)
}

enum Outcome {
    Reply(Result<Map<String, Value>, ApiError>),
    BadGateway,
    Drop,
}

async fn sleep_unless_shutdown(state: &State, d: Duration) {
    let mut rx = state.shutdown.clone();
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = super::server::shut_down(&mut rx) => {}
    }
}

/// The common parameters (action, version, region, timestamp) as a request carries them, before
/// they are checked, and where the rest of its parameters are.
struct Common {
    style: Style,
    action: Option<String>,
    version: Option<String>,
    region: Option<String>,
    timestamp: Option<String>,
}

enum Style {
    /// Common parameters in headers; the action's in the JSON body, the query (GET) or a form body.
    Tc3,
    /// Everything in form pairs, `Signature` included.
    Legacy { pairs: Vec<(String, String)> },
}

fn header_str<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

fn content_type(parts: &Parts) -> &str {
    header_str(parts, "content-type").unwrap_or("")
}

fn is_form(ct: &str) -> bool {
    ct.trim_start()
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
}

fn decode_pairs(s: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let text = std::str::from_utf8(s).map_err(|_| {
        ApiError::new(
            code::INVALID_PARAMETER,
            "The form-encoded parameters are not valid UTF-8.",
        )
    })?;
    form_decode(text).map_err(|e| {
        ApiError::new(
            code::INVALID_PARAMETER,
            format!("The form-encoded parameters are malformed: {e}."),
        )
    })
}

/// Legacy requests carry these next to the action's own parameters.
const LEGACY_COMMON: &[&str] = &[
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "Token",
    "RequestClient",
    "Language",
];

fn classify(parts: &Parts, body: &[u8]) -> Result<Common, ApiError> {
    let headers = &parts.headers;
    if headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-tc-action") {
        let h = |n| header_str(parts, n).map(str::to_string);
        return Ok(Common {
            style: Style::Tc3,
            action: h("x-tc-action"),
            version: h("x-tc-version"),
            region: h("x-tc-region"),
            timestamp: h("x-tc-timestamp"),
        });
    }
    let pairs = if parts.method == Method::GET {
        decode_pairs(parts.uri.query().unwrap_or("").as_bytes())?
    } else if is_form(content_type(parts)) {
        decode_pairs(body)?
    } else {
        Vec::new()
    };
    let get = |n: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.to_string())
    };
    Ok(Common {
        action: get("Action"),
        version: get("Version"),
        region: get("Region"),
        timestamp: get("Timestamp"),
        style: Style::Legacy { pairs },
    })
}

/// Read the whole body, within [`super::server::BODY_TIMEOUT`]. A body that grows past
/// [`MAX_BODY_BYTES`] (one without a declared length; a declared one is checked before reading) is
/// refused at once, `RequestSizeLimitExceeded`, without keeping the rest (see [`linger`]): what is
/// held for a request is never more than the limit.
async fn read_body(body: Incoming) -> Result<Bytes, Option<ApiError>> {
    let read = async move {
        let mut body = body;
        let mut buf = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            // An error mid-body means the client went away: there is nobody to answer.
            let frame = frame.map_err(|_| None)?;
            if let Ok(data) = frame.into_data() {
                if buf.len().saturating_add(data.len()) > MAX_BODY_BYTES {
                    linger(body);
                    return Err(Some(too_large()));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(buf.freeze())
    };
    // A body trickled slower than this holds nothing more: the connection is dropped.
    tokio::time::timeout(super::server::BODY_TIMEOUT, read)
        .await
        .unwrap_or(Err(None))
}

/// Time and bytes for which the rest of a refused body is still read, and thrown away, and the
/// pause after which the client is taken to have stopped sending.
const LINGER_TIME: Duration = Duration::from_secs(5);
const LINGER_BYTES: usize = 4 * MAX_BODY_BYTES;
const LINGER_IDLE: Duration = Duration::from_millis(500);

/// Read and discard what remains of a refused body, for at most [`LINGER_TIME`] and
/// [`LINGER_BYTES`] (less once nothing arrives for [`LINGER_IDLE`]), while the refusal is
/// answered. A client still writing its body would otherwise meet a closed socket, and the reset it
/// gets can destroy the answer before it reads it: with this it reads `RequestSizeLimitExceeded`.
/// Nothing read is kept, so memory stays bounded.
fn linger(mut body: Incoming) {
    tokio::spawn(async move {
        let drain = async {
            let mut seen = 0usize;
            while let Ok(Some(Ok(frame))) = tokio::time::timeout(LINGER_IDLE, body.frame()).await {
                if let Ok(data) = frame.into_data() {
                    seen = seen.saturating_add(data.len());
                    if seen > LINGER_BYTES {
                        break;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(LINGER_TIME, drain).await;
    });
}

fn too_large() -> ApiError {
    ApiError::new(
        code::REQUEST_SIZE_LIMIT_EXCEEDED,
        format!("The request body exceeds {MAX_BODY_BYTES} bytes."),
    )
}

async fn api(state: &Arc<State>, parts: &Parts, body: Incoming) -> Outcome {
    if parts.method != Method::GET && parts.method != Method::POST {
        return Outcome::Reply(Err(ApiError::new(
            code::UNSUPPORTED_PROTOCOL,
            "The HTTP method is not supported; use GET or POST.",
        )));
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Refused before a byte of the body is kept.
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        linger(body);
        return Outcome::Reply(Err(too_large()));
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(Some(e)) => return Outcome::Reply(Err(e)),
        Err(None) => return Outcome::Drop,
    };
    let incoming = match classify(parts, &body) {
        Ok(i) => i,
        Err(e) => return Outcome::Reply(Err(e)),
    };
    if is_sts(parts, &incoming) {
        return Outcome::Reply(sts_api(state, parts, &body, incoming));
    }
    let action = match incoming.action.as_deref() {
        None | Some("") => return Outcome::Reply(Err(ApiError::missing("Action"))),
        Some(name) => match Action::parse(name) {
            Some(a) => a,
            None => {
                return Outcome::Reply(Err(ApiError::new(
                    code::INVALID_ACTION,
                    format!(
                        "The action `{}` is not supported by the SSM emulator.",
                        truncate(name, 64)
                    ),
                )));
            }
        },
    };
    state.traffic.record_call(action);
    let outcome = checked(state, parts, &body, incoming, action).await;
    match &outcome {
        Outcome::Reply(Err(e)) if e.code == code::REQUEST_LIMIT_EXCEEDED => {}
        Outcome::Reply(Err(_)) | Outcome::BadGateway | Outcome::Drop => {
            state.traffic.record_error(action)
        }
        Outcome::Reply(Ok(_)) => {}
    }
    outcome
}

/// Steps 3–7 for a known action.
async fn checked(
    state: &Arc<State>,
    parts: &Parts,
    body: &Bytes,
    incoming: Common,
    action: Action,
) -> Outcome {
    let prepared = match authenticate(state, parts, body, incoming, action) {
        Ok(p) => p,
        Err(e) => return Outcome::Reply(Err(e)),
    };
    match state.faults.roll() {
        None => {}
        Some(Fault::Throttle) => {
            state.traffic.record_throttled(action);
            // An injected throttle reads like a real one: one call over the limit in force.
            let limit = state
                .traffic
                .limit(action)
                .unwrap_or(action.documented_limit());
            return Outcome::Reply(Err(ApiError::throttled(u64::from(limit) + 1, limit)));
        }
        Some(Fault::Internal) => {
            return Outcome::Reply(Err(ApiError::new(
                code::INTERNAL_ERROR,
                "An internal error occurred (injected by the emulator's --faults).",
            )));
        }
        Some(Fault::Http502) => return Outcome::BadGateway,
        Some(Fault::Reset) => return Outcome::Drop,
        Some(Fault::Slow(d)) => sleep_unless_shutdown(state, d).await,
        Some(Fault::Echo) if state.faults.echoes(action) => {
            let values = echo_values(parts, &prepared.params(parts, body).ok());
            return Outcome::Reply(Err(ApiError::new(
                state.faults.echo_code(),
                super::faults::echo_message(&values),
            )));
        }
        Some(Fault::Echo) => {}
    }
    if let Admission::Throttled { current, limit } = state.traffic.admit(action, Instant::now()) {
        return Outcome::Reply(Err(ApiError::throttled(current, limit)));
    }
    let params = match prepared.params(parts, body) {
        Ok(p) => p,
        Err(e) => return Outcome::Reply(Err(e)),
    };
    let st = Arc::clone(state);
    let region = prepared.region;
    let now = crate::clock::unix_now();
    let result = tokio::task::spawn_blocking(move || {
        let ctx = Context {
            store: &st.store,
            region: &region,
            now,
        };
        handlers::execute(action, &params, &ctx)
    })
    .await
    .unwrap_or_else(|_| Err(ApiError::internal("the request handler failed")));
    Outcome::Reply(result)
}

/// What an `echo` fault quotes: every string parameter, the SecretId of the `Authorization`
/// header and the session token.
fn echo_values(parts: &Parts, params: &Option<Params>) -> Vec<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(m) => m.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(p) = params {
        strings(&Value::Object(p.as_map().clone()), &mut out);
    }
    if let Some(id) = header_str(parts, "authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
    {
        out.push(id.to_string());
    }
    if let Some(token) = header_str(parts, "x-tc-token") {
        out.push(token.to_string());
    }
    out
}

/// An authenticated request whose action parameters are still to be parsed.
struct Prepared {
    region: String,
    style: Style,
}

impl Prepared {
    fn params(&self, parts: &Parts, body: &[u8]) -> Result<Params, ApiError> {
        match &self.style {
            Style::Legacy { pairs } => Params::from_pairs(
                pairs
                    .iter()
                    .filter(|(k, _)| !LEGACY_COMMON.contains(&k.as_str()))
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            Style::Tc3 if parts.method == Method::GET => {
                let pairs = decode_pairs(parts.uri.query().unwrap_or("").as_bytes())?;
                Params::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
            Style::Tc3 => {
                let ct = content_type(parts);
                if is_form(ct) {
                    let pairs = decode_pairs(body)?;
                    Params::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                } else if ct
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
                {
                    Params::from_json(body)
                } else {
                    Err(ApiError::new(
                        code::INVALID_PARAMETER,
                        format!(
                            "The Content-Type `{}` is not supported; send application/json.",
                            truncate(ct, 64)
                        ),
                    ))
                }
            }
        }
    }
}

/// Whether a request is for STS: signed for the service `sts`, or an unsigned web-identity call.
fn is_sts(parts: &Parts, incoming: &Common) -> bool {
    let unsigned_action = incoming
        .action
        .as_deref()
        .is_some_and(|a| sts_mod::UNSIGNED_ACTIONS.contains(&a));
    match &incoming.style {
        Style::Tc3 => match header_str(parts, "authorization").map(str::trim) {
            None => unsigned_action,
            Some(a) if a.eq_ignore_ascii_case("SKIP") => unsigned_action,
            Some(a) => crate::ssm::sign::Authorization::parse(a)
                .is_ok_and(|auth| auth.service == sts_mod::STS_SERVICE),
        },
        Style::Legacy { pairs } => {
            let param = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
            (unsigned_action && param("Signature").is_none())
                || (param("Version") == Some(sts_mod::STS_VERSION)
                    && incoming
                        .action
                        .as_deref()
                        .is_some_and(|a| sts_mod::STS_ACTIONS.contains(&a)))
        }
    }
}

/// One STS request: common parameters, the signature for AssumeRole, then the action.
fn sts_api(
    state: &State,
    parts: &Parts,
    body: &[u8],
    incoming: Common,
) -> Result<Map<String, Value>, ApiError> {
    let action = match incoming.action.as_deref() {
        None | Some("") => return Err(ApiError::missing("Action")),
        Some(a) => match sts_mod::STS_ACTIONS.iter().find(|s| **s == a) {
            Some(a) => *a,
            None => {
                return Err(ApiError::new(
                    code::INVALID_ACTION,
                    format!(
                        "The action `{}` is not supported by the STS emulator.",
                        truncate(a, 64)
                    ),
                ));
            }
        },
    };
    let result = sts_checked(state, parts, body, incoming, action);
    state.sts.record(action, result.is_ok());
    result
}

fn sts_checked(
    state: &State,
    parts: &Parts,
    body: &[u8],
    incoming: Common,
    action: &'static str,
) -> Result<Map<String, Value>, ApiError> {
    match incoming.version.as_deref() {
        None | Some("") => return Err(ApiError::missing("Version")),
        Some(sts_mod::STS_VERSION) => {}
        Some(v) => {
            return Err(ApiError::new(
                code::NO_SUCH_VERSION,
                format!(
                    "The API version `{}` of action `{action}` does not exist; STS is `{}`.",
                    truncate(v, 32),
                    sts_mod::STS_VERSION
                ),
            ));
        }
    }
    let region = match incoming.region.as_deref() {
        None | Some("") => return Err(ApiError::missing("Region")),
        Some(r) => {
            rules::region(r)?;
            r.to_string()
        }
    };
    let timestamp: i64 = match incoming.timestamp.as_deref() {
        None | Some("") => return Err(ApiError::missing("Timestamp")),
        Some(t) => t.trim().parse().map_err(|_| {
            ApiError::invalid_value("Timestamp", "it must be Unix seconds (an integer)")
        })?,
    };
    auth::check_timestamp(timestamp, crate::clock::unix_now())?;
    let caller = if action == "AssumeRole" {
        Some(match &incoming.style {
            Style::Tc3 => {
                let authorization = header_str(parts, "authorization").ok_or_else(|| {
                    ApiError::new(
                        code::AUTH_INVALID_AUTHORIZATION,
                        "The request has no `Authorization` header.",
                    )
                })?;
                auth::verify_tc3(
                    &state.credentials,
                    &Tc3Request {
                        authorization,
                        method: parts.method.as_str(),
                        query: parts.uri.query().unwrap_or(""),
                        headers: &parts.headers,
                        body,
                        timestamp,
                    },
                    sts_mod::STS_SERVICE,
                )?
            }
            Style::Legacy { pairs } => {
                auth::verify_legacy(
                    &state.credentials,
                    &LegacyRequest {
                        method: parts.method.as_str(),
                        host: header_str(parts, "host").unwrap_or(""),
                        path: parts.uri.path(),
                        params: pairs,
                    },
                )?;
                pairs
                    .iter()
                    .find(|(k, _)| k == "SecretId")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            }
        })
    } else {
        None
    };
    let prepared = Prepared {
        region,
        style: incoming.style,
    };
    let params = prepared.params(parts, body)?;
    let now = crate::clock::unix_now();
    match caller {
        Some(caller) => state.sts.assume_role(&params, &caller, now),
        None => state.sts.assume_role_with_web_identity(&params, now),
    }
}

/// Steps 3 and 4: version, region, timestamp, signature.
fn authenticate(
    state: &State,
    parts: &Parts,
    body: &[u8],
    incoming: Common,
    action: Action,
) -> Result<Prepared, ApiError> {
    match incoming.version.as_deref() {
        None | Some("") => return Err(ApiError::missing("Version")),
        Some(API_VERSION) => {}
        Some(v) => {
            return Err(ApiError::new(
                code::NO_SUCH_VERSION,
                format!(
                    "The API version `{}` of action `{action}` does not exist; SSM is `{API_VERSION}`.",
                    truncate(v, 32)
                ),
            ));
        }
    }
    let region = match incoming.region.as_deref() {
        None | Some("") => return Err(ApiError::missing("Region")),
        Some(r) => {
            rules::region(r)?;
            r.to_string()
        }
    };
    let timestamp: i64 = match incoming.timestamp.as_deref() {
        None | Some("") => return Err(ApiError::missing("Timestamp")),
        Some(t) => t.trim().parse().map_err(|_| {
            ApiError::invalid_value("Timestamp", "it must be Unix seconds (an integer)")
        })?,
    };
    auth::check_timestamp(timestamp, crate::clock::unix_now())?;
    match &incoming.style {
        Style::Tc3 => {
            let authorization = header_str(parts, "authorization").ok_or_else(|| {
                ApiError::new(
                    code::AUTH_INVALID_AUTHORIZATION,
                    "The request has no `Authorization` header.",
                )
            })?;
            auth::verify_tc3(
                &state.credentials,
                &Tc3Request {
                    authorization,
                    method: parts.method.as_str(),
                    query: parts.uri.query().unwrap_or(""),
                    headers: &parts.headers,
                    body,
                    timestamp,
                },
                super::auth::SERVICE,
            )?;
        }
        Style::Legacy { pairs } => {
            let host = header_str(parts, "host").unwrap_or("");
            auth::verify_legacy(
                &state.credentials,
                &LegacyRequest {
                    method: parts.method.as_str(),
                    host,
                    path: parts.uri.path(),
                    params: pairs,
                },
            )?;
        }
    }
    Ok(Prepared {
        region,
        style: incoming.style,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn latency_is_spread_uniformly_around_its_value() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let ms = Duration::from_millis;
        assert_eq!(jittered(ms(150), Duration::ZERO, &mut rng), ms(150));
        let draws: Vec<Duration> = (0..2000)
            .map(|_| jittered(ms(150), ms(50), &mut rng))
            .collect();
        assert!(draws.iter().all(|d| (ms(100)..=ms(200)).contains(d)));
        assert!(draws.iter().any(|d| *d < ms(110)) && draws.iter().any(|d| *d > ms(190)));
        let mean = draws.iter().sum::<Duration>() / draws.len() as u32;
        assert!((ms(145)..=ms(155)).contains(&mean), "{mean:?}");
        // never negative
        assert!((0..200).all(|_| jittered(ms(5), ms(50), &mut rng) <= ms(55)));
    }
}
