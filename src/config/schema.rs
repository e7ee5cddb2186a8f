//! The schema (DESIGN §2): which blocks and attributes a configuration may contain, checked on the
//! parsed files and turned into typed declarations.
//!
//! Every problem is recorded and checking goes on, so one run reports all of them: unknown blocks
//! and attributes (with a suggestion when one is close), missing required attributes, wrong
//! literal types, duplicate labels, both or neither of `secret_string`/`secret_binary`, and
//! credentials in the provider block (rejected, and their values masked in every diagnostic).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Attribute, Block, Body, Structure};

use super::model::{Attr, DataDecl, LocalDecl, ProviderDecl, SecretDecl, VarValue, VariableDecl};
use super::refs::{self, Collector, Functions, span_of};
use super::source::{Diag, FileId, Sources, Span};
use super::suggest;
use super::variables::VarType;
use crate::secret::ContentKind;

const BLOCK_TYPES: &[&str] = &["provider", "variable", "locals", "data", "secret"];
const PROVIDER_ATTRS: &[&str] = &[
    "region",
    "endpoint",
    "local_store",
    "rate_limits",
    "rate_share",
    "profile",
];
const CREDENTIAL_ATTRS: &[&str] = &[
    "secret_id",
    "secret_key",
    "token",
    "security_token",
    "access_key",
    "credentials",
];
const VARIABLE_ATTRS: &[&str] = &["type", "default", "sensitive", "description"];
const DATA_ATTRS: &[&str] = &["secret_name", "version_id", "depends_on"];
const SECRET_ATTRS: &[&str] = &[
    "secret_name",
    "version_id",
    "secret_string",
    "secret_binary",
    "sensitive",
    "description",
    "depends_on",
];

/// Where credentials go, for the error that rejects them in configuration.
pub(crate) const CREDENTIALS_HELP: &str = "credentials never go in configuration files (they are committed and reviewed): set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (plus TENCENTCLOUD_SECURITY_TOKEN for temporary credentials) in the environment, use ~/.tencentcloud/credentials, or name a tccli profile with `profile = \"name\"` or TENCENTCLOUD_PROFILE";

/// A variable's default, kept as an expression until values are assigned.
pub(crate) struct PendingDefault {
    pub(crate) variable: usize,
    pub(crate) attr: Attr,
    pub(crate) file: FileId,
}

/// Everything declared in a configuration's files.
#[derive(Default)]
pub(crate) struct Decls {
    pub(crate) variables: Vec<VariableDecl>,
    pub(crate) locals: Vec<LocalDecl>,
    pub(crate) data: Vec<DataDecl>,
    pub(crate) secrets: Vec<SecretDecl>,
    pub(crate) provider: ProviderDecl,
    pub(crate) defaults: Vec<PendingDefault>,
    /// Labels seen per kind (including blocks whose body had errors), with the first header.
    seen: BTreeMap<(&'static str, String), Span>,
    /// Labels of blocks that had errors: references to them are not reported again.
    pub(crate) broken: Vec<(&'static str, String)>,
}

impl Decls {
    /// Every declared label of a kind (`"var"`, `"local"`, `"data"`, `"secret"`), including
    /// blocks with errors.
    pub(crate) fn labels(&self, kind: &'static str) -> impl Iterator<Item = &str> {
        self.seen
            .keys()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, l)| l.as_str())
    }

    pub(crate) fn is_declared(&self, kind: &'static str, label: &str) -> bool {
        self.seen.contains_key(&(kind, label.to_string()))
    }

    /// Records a label; a duplicate is an error pointing at both declarations.
    fn declare(
        &mut self,
        kind: &'static str,
        what: &str,
        label: &str,
        span: Span,
        diags: &mut Vec<Diag>,
    ) -> bool {
        match self.seen.entry((kind, label.to_string())) {
            Entry::Vacant(v) => {
                v.insert(span);
                true
            }
            Entry::Occupied(o) => {
                diags.push(
                    Diag::error(span, format!("{what} is declared more than once"))
                        .label("declared again here")
                        .note("first declared here", Some(*o.get()))
                        .help(
                            "labels must be unique across all configuration files of the directory",
                        ),
                );
                false
            }
        }
    }
}

/// Checks one file's top-level body and adds its declarations.
pub(crate) fn check_file(
    body: Body,
    file: FileId,
    sources: &mut Sources,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    let whole = Span::new(file, 0..0);
    for structure in body {
        match structure {
            Structure::Attribute(a) => {
                let span = span_of(&a.key, file, whole);
                let name = a.key.as_str().to_string();
                let d = Diag::error(
                    span,
                    format!("unexpected attribute `{name}` at the top level"),
                );
                let d = if CREDENTIAL_ATTRS.contains(&name.as_str()) {
                    sources.redact(span_of(&a.value, file, whole));
                    d.help(CREDENTIALS_HELP)
                } else {
                    d.help("a configuration file holds blocks: provider, variable, locals, data and secret; variable values go in *.vars.hcl files")
                };
                diags.push(d);
            }
            Structure::Block(b) => block(b, file, sources, decls, diags),
        }
    }
}

fn block(b: Block, file: FileId, sources: &mut Sources, decls: &mut Decls, diags: &mut Vec<Diag>) {
    let whole = Span::new(file, 0..0);
    let ident_span = span_of(&b.ident, file, whole);
    let header = b
        .labels
        .last()
        .map_or(ident_span, |l| ident_span.to(span_of(l, file, ident_span)));
    let ty = b.ident.as_str().to_string();
    let labels: Vec<(String, Span)> = b
        .labels
        .iter()
        .map(|l| (l.as_str().to_string(), span_of(l, file, ident_span)))
        .collect();
    match ty.as_str() {
        "provider" => provider(b, &labels, header, file, sources, decls, diags),
        "variable" => {
            let Some(label) = one_label(&labels, "variable", "variable \"name\"", header, diags)
            else {
                return;
            };
            variable(b, label, header, file, sources, decls, diags);
        }
        "locals" => {
            if let Some((_, s)) = labels.first() {
                diags.push(
                    Diag::error(*s, "a `locals` block has no labels")
                        .help("write: locals { name = value }"),
                );
            }
            locals(b.body, file, decls, diags);
        }
        "data" => data(b, &labels, header, file, decls, diags),
        "secret" => {
            let Some(label) = one_label(&labels, "secret", "secret \"label\"", header, diags)
            else {
                return;
            };
            secret(b, label, header, file, sources, decls, diags);
        }
        other => {
            let d = Diag::error(ident_span, format!("unknown block type `{other}`"));
            let d = match other {
                "resource" => d.help("secrets are declared with `secret \"label\" { secret_name = ..., version_id = ..., secret_string = ... }`"),
                "output" | "module" | "terraform" | "moved" | "import" => {
                    d.help(format!("`{other}` blocks are Terraform's; ssmform has provider, variable, locals, data and secret blocks"))
                }
                "local" => d.help("local values are declared in a `locals { ... }` block"),
                _ => d
                    .maybe_help(suggest::help(other, BLOCK_TYPES.iter().copied()))
                    .note("the block types are provider, variable, locals, data and secret", None),
            };
            diags.push(d);
        }
    }
}

/// The single label of a `variable` or `secret` block, checked to be an identifier.
fn one_label<'l>(
    labels: &'l [(String, Span)],
    kind: &str,
    form: &str,
    header: Span,
    diags: &mut Vec<Diag>,
) -> Option<&'l (String, Span)> {
    match labels {
        [one] => {
            if valid_label(&one.0) {
                Some(one)
            } else {
                diags.push(
                    Diag::error(one.1, format!("`{}` cannot be referred to: a {kind} label must be an identifier", one.0))
                        .help("labels start with a letter or `_` and contain letters, digits, `_` and `-`"),
                );
                None
            }
        }
        [] => {
            diags.push(
                Diag::error(header, format!("a `{kind}` block needs a label"))
                    .help(format!("write: {form} {{ ... }}")),
            );
            None
        }
        [_, extra, ..] => {
            diags.push(
                Diag::error(extra.1, format!("a `{kind}` block has one label"))
                    .help(format!("write: {form} {{ ... }}")),
            );
            None
        }
    }
}

fn valid_label(s: &str) -> bool {
    hcl::edit::Ident::try_new(s).is_ok()
}

/// Splits a block body into attributes (by name), reporting nested blocks and attributes that
/// are not in `allowed`.
fn attributes(
    body: Body,
    file: FileId,
    allowed: &[&str],
    what: &str,
    literal_only: bool,
    diags: &mut Vec<Diag>,
) -> (BTreeMap<String, Attr>, Vec<Attr>) {
    let whole = Span::new(file, 0..0);
    let mut known = BTreeMap::new();
    let mut unknown = Vec::new();
    for s in body {
        match s {
            Structure::Block(b) => {
                let span = span_of(&b.ident, file, whole);
                let name = b.ident.as_str();
                let d = Diag::error(span, format!("unexpected block `{name}` in {what}"));
                let d = if allowed.contains(&name) {
                    d.help(format!("`{name}` is an attribute: write {name} = ..."))
                } else {
                    d.note(
                        format!("{what} takes the attributes {}", allowed.join(", ")),
                        None,
                    )
                };
                diags.push(d);
            }
            Structure::Attribute(a) => {
                // A variable's attributes are literals and a type: they hold no references
                // (`type = string` is not a reference to `string`).
                let attr = if literal_only {
                    literal_attr(a, file)
                } else {
                    make_attr(a, file, diags)
                };
                if allowed.contains(&attr.name.as_str()) {
                    known.insert(attr.name.clone(), attr);
                } else {
                    unknown.push(attr);
                }
            }
        }
    }
    (known, unknown)
}

/// An attribute whose expression is not searched for references.
fn literal_attr(a: Attribute, file: FileId) -> Attr {
    let whole = Span::new(file, 0..0);
    let name_span = span_of(&a.key, file, whole);
    Attr {
        name: a.key.as_str().to_string(),
        name_span,
        span: span_of(&a.value, file, name_span),
        expr: a.value,
        refs: Vec::new(),
    }
}

/// An attribute with the references of its expression collected.
pub(crate) fn make_attr(a: Attribute, file: FileId, diags: &mut Vec<Diag>) -> Attr {
    let whole = Span::new(file, 0..0);
    let name_span = span_of(&a.key, file, whole);
    let span = span_of(&a.value, file, name_span);
    let mut refs = Vec::new();
    if a.key.as_str() != "depends_on" {
        Collector::new(file, &mut refs, diags, Functions::Allowed).expr(&a.value, span);
    }
    Attr {
        name: a.key.as_str().to_string(),
        name_span,
        expr: a.value,
        span,
        refs,
    }
}

fn report_unknown(unknown: Vec<Attr>, allowed: &[&str], what: &str, diags: &mut Vec<Diag>) {
    for a in unknown {
        diags.push(
            Diag::error(
                a.name_span,
                format!("unknown attribute `{}` in {what}", a.name),
            )
            .maybe_help(suggest::help(&a.name, allowed.iter().copied()))
            .note(
                format!("{what} takes the attributes {}", allowed.join(", ")),
                None,
            ),
        );
    }
}

fn require(
    attrs: &mut BTreeMap<String, Attr>,
    name: &str,
    what: &str,
    header: Span,
    example: &str,
    diags: &mut Vec<Diag>,
) -> Option<Attr> {
    let a = attrs.remove(name);
    if a.is_none() {
        diags.push(
            Diag::error(
                header,
                format!("{what} is missing the required attribute `{name}`"),
            )
            .help(format!("add: {name} = {example}")),
        );
    }
    a
}

/// A literal `true`/`false`.
fn literal_bool(a: &Attr, what: &str, diags: &mut Vec<Diag>) -> Option<bool> {
    match &a.expr {
        Expression::Bool(b) => Some(*b.value()),
        Expression::String(s) => {
            let d = Diag::error(
                a.span,
                format!("`{}` in {what} must be true or false, not a string", a.name),
            );
            let d = match s.value().to_ascii_lowercase().as_str() {
                "true" | "yes" => d.help(format!("write {} = true, without quotes", a.name)),
                "false" | "no" => d.help(format!("write {} = false, without quotes", a.name)),
                _ => d.help(format!("write {} = true or {} = false", a.name, a.name)),
            };
            diags.push(d);
            None
        }
        _ => {
            diags.push(
                Diag::error(
                    a.span,
                    format!("`{}` in {what} must be the literal true or false", a.name),
                )
                .help("it decides how values are shown and cannot depend on other values"),
            );
            None
        }
    }
}

fn literal_string(a: &Attr, what: &str, diags: &mut Vec<Diag>) -> Option<String> {
    match &a.expr {
        Expression::String(s) => Some(s.value().clone()),
        _ => {
            diags.push(Diag::error(
                a.span,
                format!("`{}` in {what} must be a literal string", a.name),
            ));
            None
        }
    }
}

fn provider(
    b: Block,
    labels: &[(String, Span)],
    header: Span,
    file: FileId,
    sources: &mut Sources,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    match labels {
        [(l, _)] if l == "tencentcloud" => {}
        [(l, s)] => {
            diags.push(
                Diag::error(*s, format!("unknown provider `{l}`"))
                    .help("ssmform manages Tencent Cloud SSM: provider \"tencentcloud\" { ... }"),
            );
            return;
        }
        _ => {
            diags.push(
                Diag::error(header, "a provider block has one label")
                    .help("write: provider \"tencentcloud\" { region = \"ap-guangzhou\" }"),
            );
            return;
        }
    }
    if let Some(first) = decls.provider.header {
        diags.push(
            Diag::error(header, "the provider is configured more than once")
                .label("configured again here")
                .note("first configured here", Some(first))
                .help("a configuration has exactly one provider \"tencentcloud\" block"),
        );
        return;
    }
    decls.provider.header = Some(header);
    let what = "the provider block";
    let (known, unknown) = attributes(b.body, file, PROVIDER_ATTRS, what, false, diags);
    let mut rest = Vec::new();
    for a in unknown {
        if CREDENTIAL_ATTRS.contains(&a.name.as_str()) {
            // The value may be a real credential: mask it in every line shown.
            sources.redact(a.span);
            diags.push(
                Diag::error(
                    a.name_span,
                    format!(
                        "credentials are not allowed in configuration (`{}`)",
                        a.name
                    ),
                )
                .help(CREDENTIALS_HELP),
            );
        } else {
            rest.push(a);
        }
    }
    report_unknown(rest, PROVIDER_ATTRS, what, diags);
    decls.provider.attrs = known.into_values().collect();
    decls
        .provider
        .attrs
        .sort_by_key(|a| (a.name_span.file, a.name_span.start));
}

fn variable(
    b: Block,
    (name, _): &(String, Span),
    header: Span,
    file: FileId,
    sources: &mut Sources,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    let what = format!("variable \"{name}\"");
    if !decls.declare("var", &what, name, header, diags) {
        return;
    }
    let (mut attrs, unknown) = attributes(b.body, file, VARIABLE_ATTRS, &what, true, diags);
    report_unknown(unknown, VARIABLE_ATTRS, &what, diags);
    let mut ok = true;
    let ty = match attrs.remove("type") {
        None => VarType::Any,
        Some(a) => match VarType::parse(&a.expr) {
            Ok(t) => t,
            Err(msg) => {
                diags.push(Diag::error(
                    a.span,
                    format!("invalid type for {what}: {msg}"),
                ));
                ok = false;
                VarType::Any
            }
        },
    };
    let sensitive = match attrs.remove("sensitive") {
        None => false,
        Some(a) => literal_bool(&a, &what, diags).unwrap_or_else(|| {
            ok = false;
            true
        }),
    };
    let description = attrs
        .remove("description")
        .and_then(|a| literal_string(&a, &what, diags));
    let index = decls.variables.len();
    if let Some(d) = attrs.remove("default") {
        if sensitive {
            redact_literals(&d.expr, file, d.span, sources);
        }
        decls.defaults.push(PendingDefault {
            variable: index,
            attr: d,
            file,
        });
    }
    if !ok {
        decls.broken.push(("var", name.clone()));
    }
    decls.variables.push(VariableDecl {
        name: name.clone(),
        header,
        ty,
        sensitive,
        description,
        value: VarValue::Unset,
    });
}

fn locals(body: Body, file: FileId, decls: &mut Decls, diags: &mut Vec<Diag>) {
    let whole = Span::new(file, 0..0);
    for s in body {
        match s {
            Structure::Block(b) => {
                diags.push(
                    Diag::error(
                        span_of(&b.ident, file, whole),
                        format!("unexpected block `{}` in locals", b.ident.as_str()),
                    )
                    .help("a locals block holds only `name = value` attributes"),
                );
            }
            Structure::Attribute(a) => {
                let attr = make_attr(a, file, diags);
                let what = format!("local value `{}`", attr.name);
                if decls.declare("local", &what, &attr.name, attr.name_span, diags) {
                    decls.locals.push(LocalDecl {
                        name: attr.name.clone(),
                        attr,
                    });
                }
            }
        }
    }
}

fn data(
    b: Block,
    labels: &[(String, Span)],
    header: Span,
    file: FileId,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    let (ty, label) = match labels {
        [(ty, ty_span), (label, label_span)] => {
            if ty != "ssm_secret" {
                diags.push(
                    Diag::error(*ty_span, format!("unknown data source type `{ty}`"))
                        .maybe_help(suggest::help(ty, ["ssm_secret"]))
                        .note("the only data source is `ssm_secret`: data \"ssm_secret\" \"label\" { ... }", None),
                );
                return;
            }
            if !valid_label(label) {
                diags.push(
                    Diag::error(*label_span, format!("`{label}` cannot be referred to: a data source label must be an identifier"))
                        .help("labels start with a letter or `_` and contain letters, digits, `_` and `-`"),
                );
                return;
            }
            (ty.clone(), label.clone())
        }
        _ => {
            diags.push(
                Diag::error(header, "a data block has two labels: the type and a name")
                    .help("write: data \"ssm_secret\" \"label\" { secret_name = \"...\", version_id = \"...\" }"),
            );
            return;
        }
    };
    let what = format!("data \"{ty}\" \"{label}\"");
    if !decls.declare("data", &what, &label, header, diags) {
        return;
    }
    let (mut attrs, unknown) = attributes(b.body, file, DATA_ATTRS, &what, false, diags);
    report_unknown(unknown, DATA_ATTRS, &what, diags);
    let secret_name = require(
        &mut attrs,
        "secret_name",
        &what,
        header,
        "\"name-in-ssm\"",
        diags,
    );
    let version_id = require(&mut attrs, "version_id", &what, header, "\"v1\"", diags);
    let depends_on = attrs
        .remove("depends_on")
        .map(|a| refs::depends_on(&a.expr, file, a.span, diags))
        .unwrap_or_default();
    match (secret_name, version_id) {
        (Some(secret_name), Some(version_id)) => decls.data.push(DataDecl {
            label,
            header,
            secret_name,
            version_id,
            depends_on,
        }),
        _ => decls.broken.push(("data", label)),
    }
}

fn secret(
    b: Block,
    (label, _): &(String, Span),
    header: Span,
    file: FileId,
    sources: &mut Sources,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    let what = format!("secret \"{label}\"");
    if !decls.declare("secret", &what, label, header, diags) {
        return;
    }
    let (mut attrs, unknown) = attributes(b.body, file, SECRET_ATTRS, &what, false, diags);
    // The content's literals are secret: mask them before any diagnostic shows their line.
    for a in ["secret_string", "secret_binary"] {
        if let Some(attr) = attrs.get(a) {
            redact_literals(&attr.expr, file, attr.span, sources);
        }
    }
    for a in &unknown {
        // An unknown attribute may be a misspelt secret_string: mask its literals too.
        redact_literals(&a.expr, file, a.span, sources);
    }
    report_unknown(unknown, SECRET_ATTRS, &what, diags);
    let secret_name = require(
        &mut attrs,
        "secret_name",
        &what,
        header,
        "\"name-in-ssm\"",
        diags,
    );
    let version_id = require(&mut attrs, "version_id", &what, header, "\"v1\"", diags);
    let content = match (attrs.remove("secret_string"), attrs.remove("secret_binary")) {
        (Some(s), None) => Some((ContentKind::String, s)),
        (None, Some(b)) => Some((ContentKind::Binary, b)),
        (Some(s), Some(b)) => {
            let (first, second) = if (s.name_span.start) < b.name_span.start {
                (s, b)
            } else {
                (b, s)
            };
            diags.push(
                Diag::error(second.name_span, format!("{what} sets both secret_string and secret_binary"))
                    .note(format!("{} is set here", first.name), Some(first.name_span))
                    .help("an SSM secret version holds either text (secret_string) or binary data (secret_binary, base64), not both"),
            );
            None
        }
        (None, None) => {
            diags.push(
                Diag::error(header, format!("{what} has no content"))
                    .help("add secret_string = \"...\" for text, or secret_binary = filebase64(\"...\") for binary data"),
            );
            None
        }
    };
    let mut ok = true;
    let (sensitive, sensitive_span) = match attrs.remove("sensitive") {
        None => (true, None),
        Some(a) => {
            let v = literal_bool(&a, &what, diags).unwrap_or_else(|| {
                ok = false;
                true
            });
            (v, Some(a.full_span()))
        }
    };
    let description = attrs.remove("description");
    let depends_on = attrs
        .remove("depends_on")
        .map(|a| refs::depends_on(&a.expr, file, a.span, diags))
        .unwrap_or_default();
    match (secret_name, version_id, content) {
        (Some(secret_name), Some(version_id), Some((kind, content))) if ok => {
            decls.secrets.push(SecretDecl {
                label: label.clone(),
                header,
                secret_name,
                version_id,
                kind,
                content,
                sensitive,
                sensitive_span,
                description,
                depends_on,
            })
        }
        _ => decls.broken.push(("secret", label.clone())),
    }
}

/// Masks the string literals (and template text) of an expression in diagnostics.
pub(crate) fn redact_literals(
    expr: &Expression,
    file: FileId,
    fallback: Span,
    sources: &mut Sources,
) {
    use hcl::edit::template::{Directive, Element, Template};
    fn template(t: &Template, file: FileId, fallback: Span, sources: &mut Sources) {
        for el in t.iter() {
            match el {
                Element::Literal(l) => sources.redact(span_of(l, file, fallback)),
                Element::Interpolation(i) => redact_literals(&i.expr, file, fallback, sources),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        redact_literals(&d.if_expr.cond_expr, file, fallback, sources);
                        template(&d.if_expr.template, file, fallback, sources);
                        if let Some(e) = &d.else_expr {
                            template(&e.template, file, fallback, sources);
                        }
                    }
                    Directive::For(d) => {
                        redact_literals(&d.for_expr.collection_expr, file, fallback, sources);
                        template(&d.for_expr.template, file, fallback, sources);
                    }
                },
            }
        }
    }
    let here = span_of(expr, file, fallback);
    match expr {
        Expression::String(_) => {
            // Keep the quotes visible: mask what is between them.
            let inner = Span {
                start: (here.start + 1).min(here.end),
                end: here.end.saturating_sub(1).max(here.start),
                ..here
            };
            sources.redact(inner);
        }
        Expression::Number(_) | Expression::Bool(_) | Expression::Null(_) => sources.redact(here),
        Expression::StringTemplate(t) => template(t, file, here, sources),
        Expression::HeredocTemplate(h) => template(&h.template, file, here, sources),
        Expression::Array(a) => {
            for e in a.iter() {
                redact_literals(e, file, here, sources);
            }
        }
        Expression::Object(o) => {
            for (k, v) in o.iter() {
                if let hcl::edit::expr::ObjectKey::Expression(k) = k {
                    redact_literals(k, file, here, sources);
                }
                redact_literals(v.expr(), file, here, sources);
            }
        }
        Expression::Parenthesis(p) => redact_literals(p.inner(), file, here, sources),
        Expression::Variable(_) => {}
        Expression::Conditional(c) => {
            redact_literals(&c.cond_expr, file, here, sources);
            redact_literals(&c.true_expr, file, here, sources);
            redact_literals(&c.false_expr, file, here, sources);
        }
        Expression::FuncCall(f) => {
            for a in f.args.iter() {
                redact_literals(a, file, here, sources);
            }
        }
        Expression::Traversal(t) => {
            redact_literals(&t.expr, file, here, sources);
            for op in &t.operators {
                if let hcl::edit::expr::TraversalOperator::Index(e) = op.value() {
                    redact_literals(e, file, here, sources);
                }
            }
        }
        Expression::UnaryOp(u) => redact_literals(&u.expr, file, here, sources),
        Expression::BinaryOp(b) => {
            redact_literals(&b.lhs_expr, file, here, sources);
            redact_literals(&b.rhs_expr, file, here, sources);
        }
        Expression::ForExpr(f) => {
            redact_literals(&f.intro.collection_expr, file, here, sources);
            if let Some(k) = &f.key_expr {
                redact_literals(k, file, here, sources);
            }
            redact_literals(&f.value_expr, file, here, sources);
            if let Some(c) = &f.cond {
                redact_literals(&c.expr, file, here, sources);
            }
        }
    }
}
