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
use super::expr::{EvalError, Evaluator, Poisoned, Resolve, Resolved};
use super::functions::decode_base64;
use super::model::{Attr, NodeDecl, RefKind, VarValue};
use super::names;
use super::refs::Functions;
use super::source::{At, Diag, Sources, Span};
use super::value::{Origin, Value};
use super::{Config, DataRequest, DataValues, DesiredSecret, Evaluation, ShownKeys};
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
    /// A value and the origin of the first mark inside it (found once, here, rather than at
    /// every reference).
    Value(Value, Option<Origin>),
    Failed,
}

impl State {
    fn of(v: Value) -> State {
        let mark = v.first_mark().cloned();
        State::Value(v, mark)
    }
}

static UNKNOWN: Value = Value::Unknown;

struct NodeResolver<'a> {
    config: &'a Config,
    states: &'a [State],
}

impl Resolve for NodeResolver<'_> {
    fn resolve(&self, kind: RefKind, name: &str) -> Option<Result<Resolved<'_>, Poisoned>> {
        let id = *self.config.ids[kind as usize].get(name)?;
        Some(match &self.states[id] {
            State::Absent => Ok((&UNKNOWN, None)),
            State::Value(v, mark) => Ok((v, mark.as_ref())),
            State::Failed => Err(Poisoned),
        })
    }
}

/// The result of evaluating one attribute.
pub(super) enum Outcome<T> {
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
        out.declared_versions = versions.into_keys().collect();
        out.declared_versions.sort();
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
                NodeDecl::Sops(i) => match self.eval_sops(i, address, &resolver, &mut c.diags) {
                    super::sops_data::SopsOutcome::Value(v) => State::of(v),
                    super::sops_data::SopsOutcome::NoKey(v) => {
                        c.out.unread_sops_files.push(address.to_string());
                        State::of(v)
                    }
                    super::sops_data::SopsOutcome::Failed => State::Failed,
                },
            };
            states[id] = state;
        }
        let mut out = c.finish(&self.sources);
        self.lifecycle_checks(&mut out);
        tracing::debug!(
            elapsed_ms = timer.elapsed().as_secs_f64() * 1e3,
            secrets = out.secrets.len(),
            deferred = out.deferred.len(),
            "config evaluated"
        );
        out
    }

    /// The `removed` blocks, in configuration order.
    pub fn removed(&self) -> Vec<super::Removed> {
        self.decls
            .removed
            .iter()
            .map(|r| super::Removed {
                secret_name: r.secret_name.0.clone(),
                version_id: r.version_id.as_ref().map(|v| v.0.clone()),
                recovery_window_days: r.recovery_window_days,
                location: self.sources.location(r.header),
            })
            .collect()
    }

    /// Checks across blocks: the blocks of one secret agree on its secret-level attributes, and
    /// `removed` blocks name neither a declared version nor a declared secret (nor one with
    /// `prevent_destroy`).
    fn lifecycle_checks(&self, out: &mut Evaluation) {
        use std::collections::BTreeMap;
        let mut found = Vec::new();
        let mut by_name: BTreeMap<&str, Vec<&DesiredSecret>> = BTreeMap::new();
        for s in &out.secrets {
            by_name.entry(s.secret_name.as_str()).or_default().push(s);
        }
        for blocks in by_name.values() {
            let first = blocks[0];
            for other in &blocks[1..] {
                let differs: Option<&str> = if first.description.is_some()
                    && other.description.is_some()
                    && first.description != other.description
                {
                    Some("description")
                } else if first.enabled.is_some()
                    && other.enabled.is_some()
                    && first.enabled != other.enabled
                {
                    Some("enabled")
                } else if first.kms_key_id.is_some()
                    && other.kms_key_id.is_some()
                    && first.kms_key_id != other.kms_key_id
                {
                    Some("kms_key_id")
                } else if !first.tags.is_empty()
                    && !other.tags.is_empty()
                    && first.tags != other.tags
                {
                    Some("tags")
                } else {
                    None
                };
                if let Some(attr) = differs {
                    found.push(
                        self.diagnostic(
                            Severity::Error,
                            &other.location,
                            format!(
                                "{} and {} declare versions of secret \"{}\" with different `{attr}`",
                                first.address, other.address, first.secret_name
                            ),
                        )
                        .with_note(format!("{} is declared at {}", first.address, first.location))
                        .with_help(format!(
                            "`{attr}` belongs to the secret, not to a version: set it the same in every block of the secret, or in one of them only"
                        )),
                    );
                }
            }
        }
        let mut seen_removed: BTreeMap<(&str, Option<&str>), &super::model::RemovedDecl> =
            BTreeMap::new();
        for r in &self.decls.removed {
            let location = self.sources.location(r.header);
            let key = (
                r.secret_name.0.as_str(),
                r.version_id.as_ref().map(|v| v.0.as_str()),
            );
            if let Some(first) = seen_removed.get(&key) {
                found.push(
                    self.diagnostic(
                        Severity::Error,
                        &location,
                        format!("secret \"{}\" is removed twice", r.secret_name.0),
                    )
                    .with_note(format!(
                        "the first removed block is at {}",
                        self.sources.location(first.header)
                    )),
                );
                continue;
            }
            seen_removed.insert(key, r);
            let Some(blocks) = by_name.get(r.secret_name.0.as_str()) else {
                continue;
            };
            if let Some(guarded) = blocks.iter().find(|b| b.prevent_destroy) {
                found.push(
                    self.diagnostic(
                        Severity::Error,
                        &self.sources.location(r.secret_name.1),
                        format!(
                            "secret \"{}\" cannot be removed: {} has lifecycle {{ prevent_destroy = true }}",
                            r.secret_name.0, guarded.address
                        ),
                    )
                    .with_note(format!("{} is declared at {}", guarded.address, guarded.location))
                    .with_help("remove the removed block, or first take prevent_destroy out of the secret's lifecycle block in a reviewed change"),
                );
                continue;
            }
            match &r.version_id {
                None => found.push(
                    self.diagnostic(
                        Severity::Error,
                        &self.sources.location(r.secret_name.1),
                        format!(
                            "secret \"{}\" is both declared ({}) and removed",
                            r.secret_name.0, blocks[0].address
                        ),
                    )
                    .with_note(format!("{} is declared at {}", blocks[0].address, blocks[0].location))
                    .with_help("delete the secret blocks of a secret you remove, or remove only a version with version_id"),
                ),
                Some((version, span)) => {
                    if let Some(b) = blocks.iter().find(|b| &b.version_id == version) {
                        found.push(
                            self.diagnostic(
                                Severity::Error,
                                &self.sources.location(*span),
                                format!(
                                    "version \"{version}\" of secret \"{}\" is both declared ({}) and removed",
                                    r.secret_name.0, b.address
                                ),
                            )
                            .with_note(format!("{} is declared at {}", b.address, b.location))
                            .with_help("a removed block names a version that no block declares any more"),
                        );
                    }
                }
            }
        }
        if !found.is_empty() {
            for d in found {
                out.diagnostics.push(d);
            }
            out.diagnostics.sort();
        }
    }

    /// A variable: its value, unknown if it has none.
    fn eval_variable(&self, i: usize) -> State {
        match &self.decls.variables[i].value {
            VarValue::Known { value, .. } => State::of(value.clone()),
            VarValue::Unset => State::Value(Value::Unknown, None),
        }
    }

    /// A local value.
    fn eval_local(&self, i: usize, resolver: &dyn Resolve, diags: &mut Vec<Diag>) -> State {
        match self.eval_attr(&self.decls.locals[i].attr, resolver, diags) {
            Outcome::Known(v) => State::of(v),
            Outcome::Unknown => State::Value(Value::Unknown, None),
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
                // A data source's content is sensitive, whatever reads it.
                let origin = Origin::Data(address.to_string());
                let (string, binary) = match data.0.get(address) {
                    Some(SecretContent::String(v)) => (
                        Value::String(String::from_utf8_lossy(v.expose()).into_owned())
                            .mark(&origin),
                        Value::str(""),
                    ),
                    Some(SecretContent::Binary(v)) => (
                        Value::str(""),
                        Value::String(base64::engine::general_purpose::STANDARD.encode(v.expose()))
                            .mark(&origin),
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
                State::of(object([
                    ("secret_name", Value::String(name)),
                    ("version_id", Value::String(version)),
                    ("secret_string", string),
                    ("secret_binary", binary),
                ]))
            }
            (name, version) => State::Value(
                object([
                    ("secret_name", known_or_unknown(name)),
                    ("version_id", known_or_unknown(version)),
                    ("secret_string", Value::Unknown),
                    ("secret_binary", Value::Unknown),
                ]),
                None,
            ),
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
        let tags = self.tags_attr(s.tags.as_ref(), resolver, &mut c.diags);
        let kms_key_id = match &s.kms_key_id {
            None => Outcome::Known(None),
            Some(a) => match self.string_attr(a, resolver, &mut c.diags) {
                Outcome::Known(k) => Outcome::Known(Some(k)),
                Outcome::Unknown => Outcome::Unknown,
                Outcome::Failed => Outcome::Failed,
            },
        };
        let meta = match (tags, kms_key_id) {
            (Outcome::Failed, _) | (_, Outcome::Failed) => return State::Failed,
            (Outcome::Known(t), Outcome::Known(k)) => Some((t, k)),
            _ => None,
        };
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
                Outcome::Known(content),
                Outcome::Known(description),
            ) if meta.is_some() => {
                let (tags, kms_key_id) = meta.expect("checked");
                if let (false, Some(origin)) = (s.sensitive, &content.mark) {
                    // `sensitive = false` only affects values built from literals and
                    // non-sensitive variables: a configuration cannot declassify a secret.
                    let at = s.sensitive_span.unwrap_or(s.header);
                    c.diags.push(
                        Diag::error(at, format!(
                            "{address} has sensitive = false, but its {} derives from {}",
                            s.content.name,
                            origin.describe()
                        ))
                        .help("plans show the content of a sensitive = false secret as a line diff, which would print the secret in CI logs and pull-request comments; remove `sensitive = false` (plans then show only lengths and fingerprints)"),
                    );
                    return State::Failed;
                }
                // What `secret.L.secret_string` gives to others: marked unless this block
                // declared, and proved, its content not sensitive.
                let own = Origin::Secret(address.to_string());
                let value = match content.text {
                    None => Value::Null,
                    Some(text) => secret_object(
                        &name,
                        &version,
                        s.kind,
                        Value::String(text).mark_if(if s.sensitive {
                            Some(content.mark.as_ref().unwrap_or(&own))
                        } else {
                            None
                        }),
                        description.as_deref(),
                    ),
                };
                c.out.secrets.push(DesiredSecret {
                    address: address.to_string(),
                    label: s.label.clone(),
                    secret_name: name,
                    version_id: version,
                    content: content.content,
                    sensitive: s.sensitive,
                    shown_keys: content.shown_keys,
                    description,
                    location: self.sources.location(s.header),
                    tags,
                    kms_key_id,
                    enabled: s.enabled,
                    exclusive_versions: s.exclusive_versions,
                    prevent_destroy: s.prevent_destroy.is_some(),
                });
                State::of(value)
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
                State::Value(v, None)
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

    /// A string attribute that plans show (names, version ids, descriptions): numbers and bools
    /// convert, as HCL converts them for string attributes, and it may not derive from a
    /// sensitive value.
    pub(super) fn string_attr(
        &self,
        a: &Attr,
        resolver: &dyn Resolve,
        diags: &mut Vec<Diag>,
    ) -> Outcome<String> {
        let value = match self.eval_attr(a, resolver, diags) {
            Outcome::Known(v) => match v.first_mark() {
                Some(origin) if !v.has_unknown() => {
                    diags.push(
                        Diag::error(
                            a.span,
                            format!("`{}` derives from {}", a.name, origin.describe()),
                        )
                        .help(format!(
                            "plans and logs always show `{}`, so it must be built from literals and non-sensitive variables",
                            a.name
                        )),
                    );
                    return Outcome::Failed;
                }
                _ => Outcome::Known(v),
            },
            other => other,
        };
        match value {
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

    /// A secret's `tags`: a map of strings, which plans show, so not derived from anything
    /// sensitive (keys included).
    fn tags_attr(
        &self,
        a: Option<&Attr>,
        resolver: &dyn Resolve,
        diags: &mut Vec<Diag>,
    ) -> Outcome<std::collections::BTreeMap<String, String>> {
        let Some(a) = a else {
            return Outcome::Known(Default::default());
        };
        match self.eval_attr(a, resolver, diags) {
            Outcome::Known(v) => match tag_map(&v) {
                _ if v.has_unknown() => Outcome::Unknown,
                Ok(m) => Outcome::Known(m),
                Err(message) => {
                    diags.push(
                        Diag::error(a.span, format!("`tags` {message}")).help(
                            "tags are shown in plans and set on the secret: write a map of strings built from literals and non-sensitive variables, like tags = { team = \"payments\" }",
                        ),
                    );
                    Outcome::Failed
                }
            },
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

    /// A content attribute's value, and which JSON key names a plan may show: every one when
    /// nothing in it is marked; when it is written `jsonencode(object)`, the keys of the object's
    /// unmarked parts; otherwise none.
    fn content_value(
        &self,
        a: &Attr,
        resolver: &dyn Resolve,
        diags: &mut Vec<Diag>,
    ) -> Outcome<(Value, ShownKeys)> {
        let Some(arg) = jsonencode_argument(&a.expr) else {
            return match self.eval_attr(a, resolver, diags) {
                Outcome::Known(v) => {
                    let shown = if v.has_mark() {
                        ShownKeys::none()
                    } else {
                        ShownKeys::All
                    };
                    Outcome::Known((v, shown))
                }
                Outcome::Unknown => Outcome::Unknown,
                Outcome::Failed => Outcome::Failed,
            };
        };
        let mut ev = Evaluator::new(a.span.file, resolver, &self.dir, Functions::Allowed);
        let v = match ev.eval(arg, a.span) {
            Ok(v) if v.has_unknown() => return Outcome::Unknown,
            Ok(v) => v,
            Err(EvalError::Diag(d)) => {
                diags.push(*d);
                return Outcome::Failed;
            }
            Err(EvalError::Poisoned) => return Outcome::Failed,
        };
        let shown = if v.has_mark() {
            let mut paths = BTreeSet::new();
            public_key_paths(&v, &mut Vec::new(), &mut paths);
            ShownKeys::Only(paths)
        } else {
            ShownKeys::All
        };
        let (plain, mark) = v.strip();
        match super::functions::json_encode(&plain) {
            Some(text) => Outcome::Known((Value::String(text).mark_if(mark.as_ref()), shown)),
            None => Outcome::Unknown,
        }
    }

    /// `secret_string` / `secret_binary`: the content (decoded for binary), its mark, the key
    /// names a plan may show and, if `keep_text`, the attribute's text (what
    /// `secret.L.secret_binary` evaluates to).
    fn content_attr(
        &self,
        kind: ContentKind,
        a: &Attr,
        address: &str,
        keep_text: bool,
        resolver: &dyn Resolve,
        diags: &mut Vec<Diag>,
    ) -> Outcome<Content> {
        let (value, shown_keys) = match self.content_value(a, resolver, diags) {
            Outcome::Known(v) => v,
            Outcome::Unknown => return Outcome::Unknown,
            Outcome::Failed => return Outcome::Failed,
        };
        let (value, mark) = value.strip();
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            v if v.has_unknown() => return Outcome::Unknown,
            Value::Null => {
                diags.push(Diag::error(
                    a.span,
                    format!("the {} of {address} is null", a.name),
                ));
                return Outcome::Failed;
            }
            other => {
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
        Outcome::Known(Content {
            content,
            text,
            mark,
            shown_keys,
        })
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
            .chain(self.decls.sops_files.iter().map(|d| d.header))
            .find(|h| h.file == file && h.start as usize == offset)
            .map_or(offset + 1, |h| h.end as usize);
        let span = Span::new(file, offset..end);
        self.sources
            .materialize(Diag::at(severity, At::Span(span), message))
    }
}

/// A secret's evaluated content.
struct Content {
    content: SecretContent,
    /// The attribute's text, when something refers to the secret.
    text: Option<String>,
    /// Where the content's first marked part came from, if any.
    mark: Option<Origin>,
    shown_keys: ShownKeys,
}

/// `x` when the expression is `jsonencode(x)`.
fn jsonencode_argument(expr: &hcl::edit::expr::Expression) -> Option<&hcl::edit::expr::Expression> {
    let hcl::edit::expr::Expression::FuncCall(f) = expr else {
        return None;
    };
    if f.name.name.as_str() != "jsonencode" || f.args.len() != 1 || f.args.expand_final() {
        return None;
    }
    f.args.iter().next()
}

/// The key paths of `v`'s objects whose keys are not marked (descending through unmarked objects
/// only: a marked object hides its keys and everything below).
fn public_key_paths(v: &Value, prefix: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    if let Value::Object(o) = v {
        for (k, child) in o {
            prefix.push(k.clone());
            out.insert(prefix.clone());
            public_key_paths(child, prefix, out);
            prefix.pop();
        }
    }
}

/// A map of tags from a value: an object of strings (numbers and bools convert), nothing
/// sensitive. The error describes the value without quoting it.
pub(crate) fn tag_map(v: &Value) -> Result<std::collections::BTreeMap<String, String>, String> {
    if let Some(origin) = v.first_mark() {
        return Err(format!("derives from {}", origin.describe()));
    }
    let Value::Object(o) = v else {
        return Err(format!("must be a map of strings, not {}", v.a_type()));
    };
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in o {
        if k.is_empty() || k.len() > 127 || v_len(v) > 255 {
            return Err(
                "has a key that is empty or longer than 127 bytes, or a value longer than 255 bytes (the tag service's limits)"
                    .to_string(),
            );
        }
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(format!(
                    "must be a map of strings; a value is {}",
                    other.a_type()
                ));
            }
        };
        out.insert(k.clone(), s);
    }
    Ok(out)
}

fn v_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        _ => 0,
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
