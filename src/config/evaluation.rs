//! Evaluating a loaded configuration: every node in dependency order, producing the desired
//! secrets, the data sources still to read, the secrets that must wait for them, and every
//! problem with a value (SSM's naming rules, base64, the 32 KB limit, duplicate versions,
//! function and type errors).
//!
//! Evaluation is pure: it reads only the configuration, the data values given to it, and files
//! named by `file()`/`filebase64()`. The planner calls it, reads the data sources it asks for,
//! and calls it again with their values.

use std::collections::BTreeSet;

use base64::Engine as _;

use super::diagnostics::{Diagnostics, Severity};
use super::expr::{EvalError, Evaluator, Poisoned, Resolve};
use super::functions::decode_base64;
use super::model::{Attr, NodeDecl, RefKind, VarValue};
use super::names;
use super::refs::Functions;
use super::source::{At, Diag, Sources, Span};
use super::value::Value;
use super::{Config, DataRequest, DataValues, DesiredSecret, Evaluation};
use crate::fasthash::FastMap;
use crate::secret::{ContentKind, SecretContent, SecretValue};

/// The most content SSM stores in one secret version: 32 KB
/// (docs/ssm-api.md#naming-rules-and-limits). For `secret_binary` the base64 text sent to SSM is
/// counted: SSM's documentation leaves open whether it counts that or the decoded bytes, and
/// counting the larger figure means a configuration that validates is never refused by the API
/// (the emulator counts the same way).
pub const MAX_CONTENT_BYTES: usize = 32 * 1024;
/// The longest description SSM accepts.
pub const MAX_DESCRIPTION_BYTES: usize = 2048;

#[derive(Clone)]
enum State {
    /// Not evaluated (outside the scope): treated as unknown.
    Absent,
    Value(Value),
    Failed,
}

static UNKNOWN: Value = Value::Unknown;

struct NodeResolver<'a> {
    config: &'a Config,
    states: &'a [State],
}

impl Resolve for NodeResolver<'_> {
    fn resolve(&self, kind: RefKind, name: &str) -> Option<Result<&Value, Poisoned>> {
        let id = *self.config.ids[kind as usize].get(name)?;
        Some(match &self.states[id] {
            State::Absent => Ok(&UNKNOWN),
            State::Value(v) => Ok(v),
            State::Failed => Err(Poisoned),
        })
    }
}

/// The result of evaluating one attribute.
enum Outcome<T> {
    Known(T),
    Unknown,
    Failed,
}

/// What evaluation collects besides each node's value.
struct Collected {
    /// The secrets, pending data sources and deferred secrets found so far.
    out: Evaluation,
    diags: Vec<Diag>,
    /// (secret_name, version_id) → the secret that declares it, with its header.
    versions: FastMap<(String, String), (String, Span)>,
    /// Each data source's (secret_name, version_id, address, header), checked against `versions`
    /// once every secret is known.
    data_versions: Vec<(String, String, String, Span)>,
}

impl Collected {
    fn new(secrets: usize) -> Self {
        Collected {
            out: Evaluation::default(),
            diags: Vec::new(),
            versions: FastMap::with_capacity_and_hasher(secrets, Default::default()),
            data_versions: Vec::new(),
        }
    }

    /// Records that `address` declares version `version` of secret `name`: each secret version
    /// is declared once.
    fn claim_version(&mut self, name: &str, version: &str, address: &str, header: Span) {
        let key = (name.to_string(), version.to_string());
        if let Some((first, first_span)) = self.versions.get(&key) {
            self.diags.push(
                Diag::error(header, format!("{address} and {first} both declare version {version} of secret {name}"))
                    .note(format!("{first} is declared here"), Some(*first_span))
                    .help("each secret version is declared once; change secret_name or version_id of one of them"),
            );
        } else {
            self.versions.insert(key, (address.to_string(), header));
        }
    }

    /// The result: a warning for every data source that reads a version a secret manages, and
    /// the diagnostics with their source lines, sorted.
    fn finish(self, sources: &Sources) -> Evaluation {
        let Collected {
            mut out,
            mut diags,
            versions,
            data_versions,
        } = self;
        for (name, version, data_address, span) in data_versions {
            if let Some((secret, _)) = versions.get(&(name.clone(), version.clone())) {
                diags.push(
                    Diag::warning(span, format!("{data_address} reads version {version} of secret {name}, which {secret} manages"))
                        .help(format!("the data source reads the value in SSM before apply changes it; refer to {secret}.secret_string for the declared value")),
                );
            }
        }
        let mut diagnostics = Diagnostics::new();
        for d in diags {
            diagnostics.push(sources.materialize(d));
        }
        diagnostics.sort();
        out.diagnostics = diagnostics;
        out
    }
}

impl Config {
    /// Evaluates every node (or only those in `scope`, which should be a
    /// [`crate::graph::Graph::dependency_closure`]), given the data sources' values read so far.
    pub fn evaluate(&self, data: &DataValues, scope: Option<&BTreeSet<String>>) -> Evaluation {
        let timer = std::time::Instant::now();
        let graph = &self.graph;
        let mut states = vec![State::Absent; graph.len()];
        let mut c = Collected::new(self.decls.secrets.len());
        for &id in graph.order() {
            let address = &graph.node(id).address;
            if scope.is_some_and(|s| !s.contains(address)) {
                continue;
            }
            if graph
                .deps_of(id)
                .iter()
                .any(|&d| matches!(states[d], State::Failed))
            {
                states[id] = State::Failed;
                continue;
            }
            let resolver = NodeResolver {
                config: self,
                states: &states,
            };
            let state = match self.nodes[id] {
                NodeDecl::Variable(i) => self.eval_variable(i),
                NodeDecl::Local(i) => self.eval_local(i, &resolver, &mut c.diags),
                NodeDecl::Data(i) => self.eval_data(i, address, data, &resolver, &mut c),
                NodeDecl::Secret(i) => self.eval_secret(i, id, address, &resolver, &mut c),
            };
            states[id] = state;
        }
        let out = c.finish(&self.sources);
        tracing::debug!(
            elapsed_ms = timer.elapsed().as_secs_f64() * 1e3,
            secrets = out.secrets.len(),
            deferred = out.deferred.len(),
            "config evaluated"
        );
        out
    }

    /// A variable: its value, unknown if it has none.
    fn eval_variable(&self, i: usize) -> State {
        match &self.decls.variables[i].value {
            VarValue::Known { value, .. } => State::Value(value.clone()),
            VarValue::Unset => State::Value(Value::Unknown),
        }
    }

    /// A local value.
    fn eval_local(&self, i: usize, resolver: &dyn Resolve, diags: &mut Vec<Diag>) -> State {
        match self.eval_attr(&self.decls.locals[i].attr, resolver, diags) {
            Outcome::Known(v) => State::Value(v),
            Outcome::Unknown => State::Value(Value::Unknown),
            Outcome::Failed => State::Failed,
        }
    }

    /// A data source: an object of its attributes. Its content comes from `data`; when that does
    /// not have it yet, it is unknown and the data source is pending.
    fn eval_data(
        &self,
        i: usize,
        address: &str,
        data: &DataValues,
        resolver: &dyn Resolve,
        c: &mut Collected,
    ) -> State {
        let d = &self.decls.data[i];
        let name = self.name_attr(
            &d.secret_name,
            resolver,
            &mut c.diags,
            names::secret_name_problem,
        );
        let version = self.name_attr(
            &d.version_id,
            resolver,
            &mut c.diags,
            names::version_id_problem,
        );
        match (name, version) {
            (Outcome::Failed, _) | (_, Outcome::Failed) => State::Failed,
            (Outcome::Known(name), Outcome::Known(version)) => {
                c.data_versions.push((
                    name.clone(),
                    version.clone(),
                    address.to_string(),
                    d.header,
                ));
                let (string, binary) = match data.0.get(address) {
                    Some(SecretContent::String(v)) => (
                        Value::String(String::from_utf8_lossy(v.expose()).into_owned()),
                        Value::str(""),
                    ),
                    Some(SecretContent::Binary(v)) => (
                        Value::str(""),
                        Value::String(base64::engine::general_purpose::STANDARD.encode(v.expose())),
                    ),
                    None => {
                        c.out.pending_data.push(DataRequest {
                            address: address.to_string(),
                            secret_name: name.clone(),
                            version_id: version.clone(),
                            location: self.sources.location(d.header),
                        });
                        (Value::Unknown, Value::Unknown)
                    }
                };
                State::Value(object([
                    ("secret_name", Value::String(name)),
                    ("version_id", Value::String(version)),
                    ("secret_string", string),
                    ("secret_binary", binary),
                ]))
            }
            (name, version) => State::Value(object([
                ("secret_name", known_or_unknown(name)),
                ("version_id", known_or_unknown(version)),
                ("secret_string", Value::Unknown),
                ("secret_binary", Value::Unknown),
            ])),
        }
    }

    /// A secret: a [`DesiredSecret`] when all its attributes are known, deferred when one is
    /// not; its value is an object of its attributes.
    fn eval_secret(
        &self,
        i: usize,
        id: usize,
        address: &str,
        resolver: &dyn Resolve,
        c: &mut Collected,
    ) -> State {
        let s = &self.decls.secrets[i];
        let name = self.name_attr(
            &s.secret_name,
            resolver,
            &mut c.diags,
            names::secret_name_problem,
        );
        let version = self.name_attr(
            &s.version_id,
            resolver,
            &mut c.diags,
            names::version_id_problem,
        );
        // Only a secret something refers to needs its value as an object.
        let referenced = !self.graph.dependents_of(id).is_empty();
        let content = self.content_attr(
            s.kind,
            &s.content,
            address,
            referenced,
            resolver,
            &mut c.diags,
        );
        let description =
            self.description_attr(s.description.as_ref(), address, resolver, &mut c.diags);
        if let (Outcome::Known(n), Outcome::Known(v)) = (&name, &version) {
            c.claim_version(n, v, address, s.header);
        }
        match (name, version, content, description) {
            (Outcome::Failed, ..)
            | (_, Outcome::Failed, ..)
            | (_, _, Outcome::Failed, _)
            | (.., Outcome::Failed) => State::Failed,
            (
                Outcome::Known(name),
                Outcome::Known(version),
                Outcome::Known((content, text)),
                Outcome::Known(description),
            ) => {
                let value = match text {
                    None => Value::Null,
                    Some(text) => secret_object(
                        &name,
                        &version,
                        s.kind,
                        Value::String(text),
                        description.as_deref(),
                    ),
                };
                c.out.secrets.push(DesiredSecret {
                    address: address.to_string(),
                    label: s.label.clone(),
                    secret_name: name,
                    version_id: version,
                    content,
                    sensitive: s.sensitive,
                    description,
                    location: self.sources.location(s.header),
                });
                State::Value(value)
            }
            (name, version, _, description) => {
                c.out.deferred.push(address.to_string());
                let description = match description {
                    Outcome::Known(d) => d,
                    _ => None,
                };
                let mut v = secret_object("", "", s.kind, Value::Unknown, description.as_deref());
                if let Value::Object(o) = &mut v {
                    o.insert("secret_name".into(), known_or_unknown(name));
                    o.insert("version_id".into(), known_or_unknown(version));
                }
                State::Value(v)
            }
        }
    }

    fn eval_attr(&self, a: &Attr, resolver: &dyn Resolve, diags: &mut Vec<Diag>) -> Outcome<Value> {
        let mut ev = Evaluator::new(a.span.file, resolver, &self.dir, Functions::Allowed)
            .with_files(&self.files);
        match ev.eval(&a.expr, a.span) {
            Ok(Value::Unknown) => Outcome::Unknown,
            Ok(v) => Outcome::Known(v),
            Err(EvalError::Diag(d)) => {
                diags.push(*d);
                Outcome::Failed
            }
            Err(EvalError::Poisoned) => Outcome::Failed,
        }
    }

    /// A string attribute (numbers and bools convert, as HCL converts them for string
    /// attributes).
    fn string_attr(
        &self,
        a: &Attr,
        resolver: &dyn Resolve,
        diags: &mut Vec<Diag>,
    ) -> Outcome<String> {
        match self.eval_attr(a, resolver, diags) {
            Outcome::Known(Value::String(s)) => Outcome::Known(s),
            Outcome::Known(Value::Number(n)) => Outcome::Known(n.to_string()),
            Outcome::Known(Value::Bool(b)) => Outcome::Known(b.to_string()),
            Outcome::Known(v) if v.has_unknown() => Outcome::Unknown,
            Outcome::Known(other) => {
                let d = Diag::error(
                    a.span,
                    format!("`{}` must be a string, not {}", a.name, other.a_type()),
                );
                let d = match other {
                    Value::List(_) | Value::Object(_) => {
                        d.help("use jsonencode(...) to store structured data as text")
                    }
                    _ => d,
                };
                diags.push(d);
                Outcome::Failed
            }
            Outcome::Unknown => Outcome::Unknown,
            Outcome::Failed => Outcome::Failed,
        }
    }

    /// A secret's `description`, if it has one: a string SSM accepts.
    fn description_attr(
        &self,
        a: Option<&Attr>,
        address: &str,
        resolver: &dyn Resolve,
        diags: &mut Vec<Diag>,
    ) -> Outcome<Option<String>> {
        let Some(a) = a else {
            return Outcome::Known(None);
        };
        match self.string_attr(a, resolver, diags) {
            Outcome::Known(d) if d.len() > MAX_DESCRIPTION_BYTES => {
                diags.push(Diag::error(
                    a.span,
                    format!("the description of {address} is {} bytes; SSM accepts at most {MAX_DESCRIPTION_BYTES}", d.len()),
                ));
                Outcome::Failed
            }
            Outcome::Known(d) => Outcome::Known(Some(d)),
            Outcome::Unknown => Outcome::Unknown,
            Outcome::Failed => Outcome::Failed,
        }
    }

    /// `secret_name` or `version_id`: a string that follows SSM's naming rules.
    fn name_attr(
        &self,
        a: &Attr,
        resolver: &dyn Resolve,
        diags: &mut Vec<Diag>,
        rule: fn(&str) -> Option<String>,
    ) -> Outcome<String> {
        match self.string_attr(a, resolver, diags) {
            Outcome::Known(s) => match rule(&s) {
                None => Outcome::Known(s),
                Some(problem) => {
                    let what = if a.name == "secret_name" {
                        "secret name"
                    } else {
                        "version id"
                    };
                    let rules = if a.name == "secret_name" {
                        "SSM secret names are 1 to 128 characters of letters, digits, `_` and `-`, starting with a letter or digit"
                    } else {
                        "SSM version ids are 1 to 64 characters of letters, digits, `.`, `_` and `-`, starting with a letter or digit"
                    };
                    diags.push(
                        Diag::error(a.span, format!("invalid {what}: \"{s}\" {problem}"))
                            .help(rules),
                    );
                    Outcome::Failed
                }
            },
            Outcome::Unknown => Outcome::Unknown,
            Outcome::Failed => Outcome::Failed,
        }
    }

    /// `secret_string` / `secret_binary`: the content (decoded for binary) and, if `keep_text`,
    /// the attribute's text (what `secret.L.secret_binary` evaluates to).
    fn content_attr(
        &self,
        kind: ContentKind,
        a: &Attr,
        address: &str,
        keep_text: bool,
        resolver: &dyn Resolve,
        diags: &mut Vec<Diag>,
    ) -> Outcome<(SecretContent, Option<String>)> {
        let text = match self.eval_attr(a, resolver, diags) {
            Outcome::Known(Value::String(s)) => s,
            Outcome::Known(Value::Number(n)) => n.to_string(),
            Outcome::Known(Value::Bool(b)) => b.to_string(),
            Outcome::Known(v) if v.has_unknown() => return Outcome::Unknown,
            Outcome::Known(Value::Null) => {
                diags.push(Diag::error(
                    a.span,
                    format!("the {} of {address} is null", a.name),
                ));
                return Outcome::Failed;
            }
            Outcome::Known(other) => {
                diags.push(
                    Diag::error(
                        a.span,
                        format!(
                            "the {} of {address} must be a string, not {}",
                            a.name,
                            other.a_type()
                        ),
                    )
                    .help("use jsonencode(...) to store structured data as text"),
                );
                return Outcome::Failed;
            }
            Outcome::Unknown => return Outcome::Unknown,
            Outcome::Failed => return Outcome::Failed,
        };
        let (content, text) = match kind {
            ContentKind::String if keep_text => (
                SecretContent::String(SecretValue::new(text.as_bytes().to_vec())),
                Some(text),
            ),
            ContentKind::String => (SecretContent::String(SecretValue::from_string(text)), None),
            ContentKind::Binary => match decode_base64(&text) {
                Ok(bytes) => (
                    SecretContent::Binary(SecretValue::new(bytes)),
                    keep_text.then_some(text),
                ),
                Err(problem) => {
                    diags.push(
                        Diag::error(a.span, format!("the secret_binary of {address} must be base64: {problem}"))
                            .help("secret_binary takes base64 text, e.g. filebase64(\"key.der\") or base64encode(...)"),
                    );
                    return Outcome::Failed;
                }
            },
        };
        if content.is_empty() {
            diags.push(
                Diag::error(a.span, format!("the {} of {address} is empty", a.name))
                    .help("SSM stores a version's content in exactly one non-empty field"),
            );
            return Outcome::Failed;
        }
        let wire_len = match kind {
            ContentKind::Binary => content.len().div_ceil(3) * 4,
            ContentKind::String => content.len(),
        };
        if wire_len > MAX_CONTENT_BYTES {
            let size = match kind {
                ContentKind::Binary => format!(
                    "{} bytes ({wire_len} as the base64 text sent to SSM)",
                    content.len()
                ),
                ContentKind::String => format!("{} bytes", content.len()),
            };
            diags.push(
                Diag::error(a.span, format!(
                    "the {} of {address} is {size} after evaluation; SSM stores at most {MAX_CONTENT_BYTES} bytes (32 KB) per version",
                    a.name,
                ))
                .label(format!("{wire_len} bytes")),
            );
            return Outcome::Failed;
        }
        Outcome::Known((content, text))
    }

    /// A diagnostic at a location this configuration handed out (a [`DesiredSecret`]'s or
    /// [`DataRequest`]'s), rendered with its source line and caret, for errors found later
    /// (e.g. "the data source's secret does not exist").
    pub fn diagnostic(
        &self,
        severity: Severity,
        location: &super::Location,
        message: impl Into<String>,
    ) -> super::Diagnostic {
        let message = message.into();
        let Some(file) = self.sources.find(&location.file) else {
            let mut d = super::Diagnostic::without_location(
                severity,
                location.file.display().to_string(),
                message,
            );
            d.origin = None;
            d.location = Some(location.clone());
            return d;
        };
        let offset = self
            .sources
            .file(file)
            .offset_of(location.line, location.column);
        // Underline the block header when the location is one (secrets and data sources).
        let end = self
            .decls
            .secrets
            .iter()
            .map(|s| s.header)
            .chain(self.decls.data.iter().map(|d| d.header))
            .find(|h| h.file == file && h.start as usize == offset)
            .map_or(offset + 1, |h| h.end as usize);
        let span = Span::new(file, offset..end);
        self.sources
            .materialize(Diag::at(severity, At::Span(span), message))
    }
}

fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn known_or_unknown(o: Outcome<String>) -> Value {
    match o {
        Outcome::Known(s) => Value::String(s),
        _ => Value::Unknown,
    }
}

/// The value `secret.L` evaluates to: its attributes as declared.
fn secret_object(
    name: &str,
    version: &str,
    kind: ContentKind,
    content: Value,
    description: Option<&str>,
) -> Value {
    let content_attr = match kind {
        ContentKind::String => "secret_string",
        ContentKind::Binary => "secret_binary",
    };
    let mut o = std::collections::BTreeMap::from([
        ("secret_name".to_string(), Value::str(name)),
        ("version_id".to_string(), Value::str(version)),
        (content_attr.to_string(), content),
    ]);
    o.insert(
        "description".to_string(),
        description.map_or(Value::Null, Value::str),
    );
    Value::Object(o)
}
