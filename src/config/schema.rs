//! The schema (README.md#configuration-reference): which blocks and attributes a configuration may
//! contain, checked on the parsed files and turned into typed declarations.
//!
//! Every problem is recorded and checking goes on, so one run reports all of them: unknown blocks
//! and attributes (with a suggestion when one is close), missing required attributes, wrong
//! literal types, duplicate labels, both or neither of `secret_string`/`secret_binary`, and
//! credentials in the provider block (rejected, and their values masked in every diagnostic).

use std::collections::HashSet;
use std::collections::hash_map::Entry;

use crate::fasthash::FastMap;

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Attribute, Block, Body, Structure};

use super::model::{
    Attr, DataDecl, LocalDecl, ProviderDecl, RemovedDecl, SecretDecl, SopsFileDecl, VarValue,
    VariableDecl,
};
use super::refs::{self, Collector, Functions, span_of};
use super::source::{Diag, FileId, SourceFile, Span};
use super::variables::VarType;
use crate::secret::ContentKind;
use crate::suggest;

const BLOCK_TYPES: &[&str] = &[
    "provider", "variable", "locals", "data", "secret", "removed",
];
const PROVIDER_ATTRS: &[&str] = &[
    "region",
    "endpoint",
    "local_store",
    "rate_limits",
    "rate_share",
    "profile",
    "cam_role_name",
    "sts_endpoint",
    "metadata_endpoint",
    "default_tags",
    "manage_prefix",
];
/// The provider block's nested blocks and their attributes (as the Terraform provider spells
/// them). Their attributes join the provider's as `block.attribute`.
pub(crate) const PROVIDER_BLOCKS: &[(&str, &[&str])] = &[
    (
        "assume_role",
        &[
            "role_arn",
            "session_name",
            "session_duration",
            "policy",
            "external_id",
        ],
    ),
    (
        "assume_role_with_web_identity",
        &[
            "role_arn",
            "session_name",
            "session_duration",
            "provider_id",
            "web_identity_token",
            "web_identity_token_file",
        ],
    ),
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
/// The attributes of `data "sops_file"`, as the carlpett/sops Terraform provider names them.
const SOPS_ATTRS: &[&str] = &["source_file", "input_type", "depends_on"];
/// The data source types.
const DATA_TYPES: &[&str] = &["ssm_secret", "sops_file"];
const SECRET_ATTRS: &[&str] = &[
    "secret_name",
    "version_id",
    "secret_string",
    "secret_binary",
    "sensitive",
    "description",
    "depends_on",
    "tags",
    "enabled",
    "kms_key_id",
    "exclusive_versions",
];
const REMOVED_ATTRS: &[&str] = &[
    "secret_name",
    "version_id",
    "recovery_window_days",
    "allow_immediate",
];
/// The recovery window of a `removed` block when it sets none.
pub(crate) const DEFAULT_RECOVERY_WINDOW_DAYS: u32 = 7;

/// Where credentials go, for the error that rejects them in configuration.
pub(crate) const CREDENTIALS_HELP: &str = "credentials never go in configuration files (they are committed and reviewed): set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (plus TENCENTCLOUD_SECURITY_TOKEN for temporary credentials) in the environment, use ~/.tencentcloud/credentials, or name a tccli profile with `profile = \"name\"` or TENCENTCLOUD_PROFILE";

/// Everything declared in a configuration's files.
#[derive(Default)]
pub(crate) struct Decls {
    pub(crate) variables: Vec<VariableDecl>,
    pub(crate) locals: Vec<LocalDecl>,
    pub(crate) data: Vec<DataDecl>,
    pub(crate) secrets: Vec<SecretDecl>,
    pub(crate) removed: Vec<RemovedDecl>,
    pub(crate) sops_files: Vec<SopsFileDecl>,
    pub(crate) provider: ProviderDecl,
    /// Whether any `provider` block was written (even one with errors).
    pub(crate) any_provider_block: bool,
    /// Labels seen per kind, with the first header. A block with errors is declared but has
    /// no declaration struct (and so no graph node): references to it are not reported again.
    seen: [FastMap<String, Span>; 5],
}

/// The slot of a kind (`"var"`, `"local"`, `"data"`, `"secret"`, `"sops"`) in per-kind tables
/// (the same order as [`super::model::RefKind`]).
fn slot(kind: &str) -> usize {
    match kind {
        "var" => 0,
        "local" => 1,
        "data" => 2,
        "sops" => 4,
        _ => 3,
    }
}

impl Decls {
    /// Every declared label of a kind (`"var"`, `"local"`, `"data"`, `"secret"`), including
    /// blocks with errors.
    pub(crate) fn labels(&self, kind: &'static str) -> impl Iterator<Item = &str> {
        self.seen[slot(kind)].keys().map(String::as_str)
    }

    pub(crate) fn is_declared(&self, kind: &'static str, label: &str) -> bool {
        self.seen[slot(kind)].contains_key(label)
    }

    /// Records a label; a duplicate is an error pointing at both declarations.
    fn declare(
        &mut self,
        kind: &'static str,
        label: &str,
        span: Span,
        diags: &mut Vec<Diag>,
    ) -> bool {
        match self.seen[slot(kind)].entry(label.to_string()) {
            Entry::Vacant(v) => {
                v.insert(span);
                true
            }
            Entry::Occupied(o) => {
                let what = match kind {
                    "var" => format!("variable \"{label}\""),
                    "local" => format!("local value `{label}`"),
                    "data" => format!("data \"ssm_secret\" \"{label}\""),
                    "sops" => format!("data \"sops_file\" \"{label}\""),
                    _ => format!("secret \"{label}\""),
                };
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

impl Decls {
    /// Adds the declarations of a later file, checking its labels against those already known
    /// (duplicates are errors pointing at both).
    pub(crate) fn merge(&mut self, mut other: Decls, diags: &mut Vec<Diag>) {
        let mut dropped: [HashSet<String>; 5] = Default::default();
        for (k, kind) in ["var", "local", "data", "secret", "sops"]
            .into_iter()
            .enumerate()
        {
            // (Labels are unique within `other`, so the order of this loop does not matter:
            // any duplicate is one of an earlier file's.)
            self.seen[k].reserve(other.seen[k].len());
            for (label, span) in other.seen[k].drain() {
                if !self.declare(kind, &label, span, diags) {
                    dropped[k].insert(label);
                }
            }
        }
        self.variables.extend(
            other
                .variables
                .into_iter()
                .filter(|v| !dropped[0].contains(&v.name)),
        );
        self.locals.extend(
            other
                .locals
                .into_iter()
                .filter(|l| !dropped[1].contains(&l.name)),
        );
        self.data.extend(
            other
                .data
                .into_iter()
                .filter(|d| !dropped[2].contains(&d.label)),
        );
        self.secrets.extend(
            other
                .secrets
                .into_iter()
                .filter(|s| !dropped[3].contains(&s.label)),
        );
        self.removed.append(&mut other.removed);
        self.sops_files.extend(
            other
                .sops_files
                .into_iter()
                .filter(|s| !dropped[4].contains(&s.label)),
        );
        self.any_provider_block |= other.any_provider_block;
        if let Some(header) = other.provider.header {
            match self.provider.header {
                Some(first) => diags.push(provider_twice(header, first)),
                None => self.provider = std::mem::take(&mut other.provider),
            }
        }
    }
}

fn provider_twice(header: Span, first: Span) -> Diag {
    Diag::error(header, "the provider is configured more than once")
        .label("configured again here")
        .note("first configured here", Some(first))
        .help("a configuration has exactly one provider \"tencentcloud\" block")
}

/// Checks one file's top-level body and adds its declarations to `decls`; masks the secret
/// literals of `source`.
pub(crate) fn check_file(
    body: Body,
    file: FileId,
    source: &mut SourceFile,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    let whole = Span::new(file, 0..0);
    for structure in body {
        // Lines of blocks that can hold a secret — everything but the provider block and data
        // sources, which hold names — are shown masked by tokens in diagnostics; lines of blocks
        // that hold names have their comments and bare words masked.
        let holds_names = matches!(&structure, Structure::Block(b) if matches!(b.ident.as_str(), "provider" | "data" | "removed"));
        if !holds_names && let Some(r) = hcl::edit::Span::span(&structure) {
            source.mask_tokens_in(r);
        }
        if let Structure::Block(b) = &structure
            && holds_names
        {
            if let Some(r) = hcl::edit::Span::span(&structure) {
                source.mask_names_in(r);
            }
            mask_unexpected(b, source);
            mask_endpoint_secrets(b, source);
        }
        match structure {
            Structure::Attribute(a) => {
                let span = span_of(&a.key, file, whole);
                let name = a.key.as_str().to_string();
                let d = Diag::error(
                    span,
                    format!("unexpected attribute `{name}` at the top level"),
                );
                let d = if CREDENTIAL_ATTRS.contains(&name.as_str()) {
                    redact(source, span_of(&a.value, file, whole));
                    d.help(CREDENTIALS_HELP)
                } else {
                    d.help("a configuration file holds blocks: provider, variable, locals, data, secret and removed; variable values go in *.vars.hcl files")
                };
                diags.push(d);
            }
            Structure::Block(b) => block(b, file, source, decls, diags),
        }
    }
}

/// In a block that holds names (provider, data), the lines ssmform does not expect there — an
/// unknown attribute, a nested block — may hold a value typed in the wrong place (`password =
/// "..."`): they are masked by tokens like the lines of blocks that hold secrets.
fn mask_unexpected(b: &Block, source: &mut SourceFile) {
    let allowed = if b.ident.as_str() == "provider" {
        PROVIDER_ATTRS
    } else if b.ident.as_str() == "removed" {
        REMOVED_ATTRS
    } else if b.labels.first().is_some_and(|l| l.as_str() == "sops_file") {
        SOPS_ATTRS
    } else {
        DATA_ATTRS
    };
    for s in b.body.iter() {
        let expected = match s {
            Structure::Attribute(a) => allowed.contains(&a.key.as_str()),
            // The provider's own nested blocks (assume_role...) hold names too; what they do not
            // expect is masked in turn.
            Structure::Block(nested) if b.ident.as_str() == "provider" => {
                match PROVIDER_BLOCKS
                    .iter()
                    .find(|(name, _)| *name == nested.ident.as_str())
                {
                    Some((_, attrs)) if nested.labels.is_empty() => {
                        for inner in nested.body.iter() {
                            let known = matches!(inner, Structure::Attribute(a) if attrs.contains(&a.key.as_str()));
                            if !known && let Some(r) = hcl::edit::Span::span(inner) {
                                source.mask_tokens_in(r);
                            }
                        }
                        true
                    }
                    _ => false,
                }
            }
            Structure::Block(_) => false,
        };
        if !expected && let Some(r) = hcl::edit::Span::span(s) {
            source.mask_tokens_in(r);
        }
    }
}

/// The provider's endpoint settings whose URL holds more than a scheme and `host[:port]` — user
/// information (`id:key@`), a path, a query, a fragment, where a careless configuration puts a
/// password or a token — are masked by tokens, like lines of blocks that hold secrets (their
/// errors show the URL without those parts: [`crate::ssm::trust::shown`]).
fn mask_endpoint_secrets(b: &Block, source: &mut SourceFile) {
    if b.ident.as_str() != "provider" {
        return;
    }
    for s in b.body.iter() {
        let Structure::Attribute(a) = s else { continue };
        if !matches!(
            a.key.as_str(),
            "endpoint" | "sts_endpoint" | "metadata_endpoint"
        ) {
            continue;
        }
        let (Some(whole), Some(value)) =
            (hcl::edit::Span::span(s), hcl::edit::Span::span(&a.value))
        else {
            continue;
        };
        let text = source.text.get(value).unwrap_or_default();
        let url = text.trim().trim_matches('"').trim();
        if crate::ssm::trust::shown(url) != url {
            source.mask_tokens_in(whole);
        }
    }
}

fn block(
    b: Block,
    file: FileId,
    source: &mut SourceFile,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
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
        "provider" => {
            decls.any_provider_block = true;
            provider(b, &labels, header, file, source, decls, diags)
        }
        "variable" => {
            let Some(label) = one_label(&labels, "variable", "variable \"name\"", header, diags)
            else {
                return;
            };
            variable(b, label, header, file, source, decls, diags);
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
            secret(b, label, header, file, source, decls, diags);
        }
        "removed" => removed(b, &labels, header, file, decls, diags),
        other => {
            let d = Diag::error(ident_span, format!("unknown block type `{other}`"));
            let d = match other {
                "resource" => d.help("secrets are declared with `secret \"label\" { secret_name = ..., version_id = ..., secret_string = ... }`"),
                "output" | "module" | "terraform" | "moved" | "import" => {
                    d.help(format!("`{other}` blocks are Terraform's; ssmform has provider, variable, locals, data, secret and removed blocks"))
                }
                "local" => d.help("local values are declared in a `locals { ... }` block"),
                _ => d
                    .maybe_help(suggest::help(other, BLOCK_TYPES.iter().copied()))
                    .note("the block types are provider, variable, locals, data, secret and removed", None),
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

/// A block's attributes, by name (a block has few: a list is faster than a map).
pub(crate) struct Attrs(Vec<Attr>);

impl Attrs {
    fn remove(&mut self, name: &str) -> Option<Attr> {
        let i = self.0.iter().position(|a| a.name == name)?;
        Some(self.0.swap_remove(i))
    }

    fn get(&self, name: &str) -> Option<&Attr> {
        self.0.iter().find(|a| a.name == name)
    }
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
) -> (Attrs, Vec<Attr>) {
    let whole = Span::new(file, 0..0);
    let mut known = Vec::new();
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
                    known.push(attr);
                } else {
                    unknown.push(attr);
                }
            }
        }
    }
    (Attrs(known), unknown)
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
    attrs: &mut Attrs,
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
                .help(if a.name == "sensitive" {
                    "it decides how values are shown and cannot depend on other values"
                } else {
                    "it is read before anything is evaluated and cannot depend on other values"
                }),
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
    source: &mut SourceFile,
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
        diags.push(provider_twice(header, first));
        return;
    }
    decls.provider.header = Some(header);
    let what = "the provider block";
    let mut body = b.body;
    let mut nested = Vec::new();
    for (name, allowed) in PROVIDER_BLOCKS {
        for block in body.remove_blocks(name) {
            nested.push((*name, *allowed, block));
        }
    }
    let (known, unknown) = attributes(body, file, PROVIDER_ATTRS, what, false, diags);
    let mut known = known.0;
    for (name, allowed, block) in nested {
        if let Some(attrs) = provider_block(name, allowed, block, file, source, decls, diags) {
            known.extend(attrs);
        }
    }
    let mut rest = Vec::new();
    for a in unknown {
        if let Some((name, _)) = PROVIDER_BLOCKS.iter().find(|(n, _)| *n == a.name) {
            diags.push(
                Diag::error(
                    a.name_span,
                    format!("`{name}` is a block, not an attribute"),
                )
                .help(format!("write: {name} {{ role_arn = \"...\" }}")),
            );
        } else if CREDENTIAL_ATTRS.contains(&a.name.as_str()) {
            // The value may be a real credential: mask it in every line shown.
            redact(source, a.span);
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
    decls.provider.attrs = known;
    decls
        .provider
        .attrs
        .sort_by_key(|a| (a.name_span.file, a.name_span.start));
}

/// One `assume_role` / `assume_role_with_web_identity` block of the provider: its attributes,
/// named `block.attribute`. A token literal is masked in every diagnostic.
fn provider_block(
    name: &'static str,
    allowed: &[&str],
    b: Block,
    file: FileId,
    source: &mut SourceFile,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) -> Option<Vec<Attr>> {
    let whole = Span::new(file, 0..0);
    let header = span_of(&b.ident, file, whole);
    if let Some(l) = b.labels.first() {
        diags.push(
            Diag::error(
                span_of(l, file, header),
                format!("a `{name}` block has no label"),
            )
            .help(format!("write: {name} {{ ... }}")),
        );
    }
    if let Some((_, first)) = decls.provider.blocks.iter().find(|(n, _)| n == name) {
        diags.push(
            Diag::error(
                header,
                format!("the provider has more than one `{name}` block"),
            )
            .note("the first one is here", Some(*first)),
        );
        return None;
    }
    decls.provider.blocks.push((name.to_string(), header));
    let what = format!("the `{name}` block");
    let (known, unknown) = attributes(b.body, file, allowed, &what, false, diags);
    let mut rest = Vec::new();
    for a in unknown {
        if CREDENTIAL_ATTRS.contains(&a.name.as_str()) {
            redact(source, a.span);
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
    report_unknown(rest, allowed, &what, diags);
    let mut attrs = known.0;
    for a in &mut attrs {
        if a.name == "web_identity_token" {
            redact_literals(&a.expr, file, a.span, &mut |s| redact(source, s));
        }
        a.name = format!("{name}.{}", a.name);
    }
    Some(attrs)
}

fn variable(
    b: Block,
    (name, _): &(String, Span),
    header: Span,
    file: FileId,
    source: &mut SourceFile,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    let what = format!("variable \"{name}\"");
    if !decls.declare("var", name, header, diags) {
        return;
    }
    let (mut attrs, unknown) = attributes(b.body, file, VARIABLE_ATTRS, &what, true, diags);
    report_unknown(unknown, VARIABLE_ATTRS, &what, diags);
    let mut ok = true;
    let ty = match attrs.remove("type") {
        None => VarType::Untyped,
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
    let default = attrs.remove("default");
    if let (Some(d), true) = (&default, sensitive) {
        redact_literals(&d.expr, file, d.span, &mut |s| redact(source, s));
    }
    if !ok {
        return;
    }
    decls.variables.push(VariableDecl {
        name: name.clone(),
        header,
        default,
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
                if decls.declare("local", &attr.name, attr.name_span, diags) {
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
            if !DATA_TYPES.contains(&ty.as_str()) {
                diags.push(
                    Diag::error(*ty_span, format!("unknown data source type `{ty}`"))
                        .maybe_help(suggest::help(ty, DATA_TYPES.iter().copied()))
                        .note("the data sources are `ssm_secret` (a secret read from SSM) and `sops_file` (a SOPS file): data \"ssm_secret\" \"label\" { ... }", None),
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
    if ty == "sops_file" {
        return sops_file(b, label, what, header, file, decls, diags);
    }
    if !decls.declare("data", &label, header, diags) {
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
    if let (Some(secret_name), Some(version_id)) = (secret_name, version_id) {
        decls.data.push(DataDecl {
            label,
            header,
            secret_name,
            version_id,
            depends_on,
        });
    }
}

/// `data "sops_file" "label" { source_file = "...", input_type = "..." }`.
fn sops_file(
    b: Block,
    label: String,
    what: String,
    header: Span,
    file: FileId,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    if !decls.declare("sops", &label, header, diags) {
        return;
    }
    let (mut attrs, unknown) = attributes(b.body, file, SOPS_ATTRS, &what, false, diags);
    report_unknown(unknown, SOPS_ATTRS, &what, diags);
    let source_file = require(
        &mut attrs,
        "source_file",
        &what,
        header,
        "\"secrets.enc.yaml\"",
        diags,
    );
    let input_type = attrs.remove("input_type");
    let depends_on = attrs
        .remove("depends_on")
        .map(|a| refs::depends_on(&a.expr, file, a.span, diags))
        .unwrap_or_default();
    if let Some(source_file) = source_file {
        decls.sops_files.push(SopsFileDecl {
            label,
            header,
            source_file,
            input_type,
            depends_on,
        });
    }
}

fn secret(
    b: Block,
    (label, _): &(String, Span),
    header: Span,
    file: FileId,
    source: &mut SourceFile,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    let what = format!("secret \"{label}\"");
    if !decls.declare("secret", label, header, diags) {
        return;
    }
    let mut body = b.body;
    let mut prevent_destroy = None;
    let mut lifecycle_ok = true;
    for l in body.remove_blocks("lifecycle") {
        match lifecycle(l, file, &what, diags) {
            Some(p) => prevent_destroy = prevent_destroy.or(p),
            None => lifecycle_ok = false,
        }
    }
    let (mut attrs, unknown) = attributes(body, file, SECRET_ATTRS, &what, false, diags);
    // The content's literals are secret: mask them before any diagnostic shows their line.
    for a in ["secret_string", "secret_binary"] {
        if let Some(attr) = attrs.get(a) {
            redact_literals(&attr.expr, file, attr.span, &mut |s| redact(source, s));
        }
    }
    for a in &unknown {
        // An unknown attribute may be a misspelt secret_string: mask its literals too.
        redact_literals(&a.expr, file, a.span, &mut |s| redact(source, s));
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
    let tags = attrs.remove("tags");
    let kms_key_id = attrs.remove("kms_key_id");
    let enabled = match attrs.remove("enabled") {
        None => None,
        Some(a) => {
            let v = literal_bool(&a, &what, diags);
            ok &= v.is_some();
            v
        }
    };
    let exclusive_versions = match attrs.remove("exclusive_versions") {
        None => false,
        Some(a) => {
            let v = literal_bool(&a, &what, diags);
            ok &= v.is_some();
            v.unwrap_or(false)
        }
    };
    ok &= lifecycle_ok;
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
                tags,
                kms_key_id,
                enabled,
                exclusive_versions,
                prevent_destroy,
            })
        }
        _ => {}
    }
}

/// A secret's `lifecycle { prevent_destroy = true }`: the span of `prevent_destroy = true`, if
/// set; `None` when the block has errors.
fn lifecycle(b: Block, file: FileId, what: &str, diags: &mut Vec<Diag>) -> Option<Option<Span>> {
    let whole = Span::new(file, 0..0);
    if let Some(l) = b.labels.first() {
        diags.push(
            Diag::error(span_of(l, file, whole), "a `lifecycle` block has no label")
                .help("write: lifecycle { prevent_destroy = true }"),
        );
        return None;
    }
    let what = format!("the lifecycle block of {what}");
    let (mut attrs, unknown) = attributes(b.body, file, &["prevent_destroy"], &what, true, diags);
    let bad = !unknown.is_empty();
    report_unknown(unknown, &["prevent_destroy"], &what, diags);
    let prevent = match attrs.remove("prevent_destroy") {
        None => None,
        Some(a) => match literal_bool(&a, &what, diags) {
            Some(true) => Some(a.full_span()),
            Some(false) => None,
            None => return None,
        },
    };
    (!bad).then_some(prevent)
}

/// A `removed { secret_name = "..." [version_id = "..."] recovery_window_days = 7 }` block: the
/// secret (or one version of it) is deleted. Its attributes are literals.
fn removed(
    b: Block,
    labels: &[(String, Span)],
    header: Span,
    file: FileId,
    decls: &mut Decls,
    diags: &mut Vec<Diag>,
) {
    if let Some((_, s)) = labels.first() {
        diags.push(
            Diag::error(*s, "a `removed` block has no label")
                .help("write: removed { secret_name = \"old-key\"  recovery_window_days = 7 }"),
        );
        return;
    }
    let what = "a removed block";
    let (mut attrs, unknown) = attributes(b.body, file, REMOVED_ATTRS, what, true, diags);
    let mut ok = unknown.is_empty();
    report_unknown(unknown, REMOVED_ATTRS, what, diags);
    fn name_of(
        a: Attr,
        rule: fn(&str) -> Option<String>,
        noun: &str,
        diags: &mut Vec<Diag>,
    ) -> Option<(String, Span)> {
        let s = literal_string(&a, "a removed block", diags)?;
        match rule(&s) {
            None => Some((s, a.span)),
            Some(problem) => {
                diags.push(Diag::error(
                    a.span,
                    format!("invalid {noun}: \"{s}\" {problem}"),
                ));
                None
            }
        }
    }
    let secret_name = require(
        &mut attrs,
        "secret_name",
        what,
        header,
        "\"name-in-ssm\"",
        diags,
    )
    .and_then(|a| name_of(a, super::names::secret_name_problem, "secret name", diags));
    let version_id = match attrs.remove("version_id") {
        None => None,
        Some(a) => {
            let v = name_of(a, super::names::version_id_problem, "version id", diags);
            ok &= v.is_some();
            v
        }
    };
    let allow_immediate = match attrs.remove("allow_immediate") {
        None => false,
        Some(a) => literal_bool(&a, what, diags).unwrap_or_else(|| {
            ok = false;
            false
        }),
    };
    let days = match attrs.remove("recovery_window_days") {
        None => DEFAULT_RECOVERY_WINDOW_DAYS,
        Some(a) => {
            let n = match &a.expr {
                Expression::Number(n) => n.value().as_u64().filter(|n| *n <= 30),
                _ => None,
            };
            match n {
                Some(0) if !allow_immediate => {
                    diags.push(
                        Diag::error(a.span, "`recovery_window_days = 0` deletes the secret at once, with no way back")
                            .help("set allow_immediate = true in the same block to mean it, or give a window of 1 to 30 days"),
                    );
                    ok = false;
                    0
                }
                Some(n) => n as u32,
                None => {
                    diags.push(
                        Diag::error(a.span, "`recovery_window_days` must be a whole number of days from 1 to 30")
                            .help("SSM keeps a deleted secret restorable for 1 to 30 days (0, immediate deletion, needs allow_immediate = true)"),
                    );
                    ok = false;
                    0
                }
            }
        }
    };
    if let (Some(secret_name), true) = (secret_name, ok) {
        decls.removed.push(RemovedDecl {
            header,
            secret_name,
            version_id,
            recovery_window_days: days,
        });
    }
}

/// Masks a span of `source` in diagnostics.
fn redact(source: &mut SourceFile, span: Span) {
    source.redact(span.start as usize..span.end as usize);
}

/// Calls `mask` with the span of every string literal (and template text) of an expression:
/// the parts that are secret when the expression is a secret's content.
pub(crate) fn redact_literals(
    expr: &Expression,
    file: FileId,
    fallback: Span,
    mask: &mut dyn FnMut(Span),
) {
    use hcl::edit::template::{Directive, Element, Template};
    fn template(t: &Template, file: FileId, fallback: Span, mask: &mut dyn FnMut(Span)) {
        for el in t.iter() {
            match el {
                Element::Literal(l) => mask(span_of(l, file, fallback)),
                Element::Interpolation(i) => redact_literals(&i.expr, file, fallback, mask),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        redact_literals(&d.if_expr.cond_expr, file, fallback, mask);
                        template(&d.if_expr.template, file, fallback, mask);
                        if let Some(e) = &d.else_expr {
                            template(&e.template, file, fallback, mask);
                        }
                    }
                    Directive::For(d) => {
                        redact_literals(&d.for_expr.collection_expr, file, fallback, mask);
                        template(&d.for_expr.template, file, fallback, mask);
                    }
                },
            }
        }
    }
    let here = span_of(expr, file, fallback);
    let sub = |e: &Expression, mask: &mut dyn FnMut(Span)| redact_literals(e, file, here, mask);
    match expr {
        Expression::String(_) => {
            // Keep the quotes visible: mask what is between them.
            mask(Span {
                start: (here.start + 1).min(here.end),
                end: here.end.saturating_sub(1).max(here.start),
                ..here
            });
        }
        Expression::Number(_) | Expression::Bool(_) => mask(here),
        Expression::Null(_) => {}
        Expression::StringTemplate(t) => template(t, file, here, mask),
        Expression::HeredocTemplate(h) => template(&h.template, file, here, mask),
        Expression::Array(a) => {
            for e in a.iter() {
                sub(e, mask);
            }
        }
        Expression::Object(o) => {
            for (k, v) in o.iter() {
                if let hcl::edit::expr::ObjectKey::Expression(k) = k {
                    sub(k, mask);
                }
                sub(v.expr(), mask);
            }
        }
        Expression::Parenthesis(p) => sub(p.inner(), mask),
        Expression::Variable(_) => {}
        Expression::Conditional(c) => {
            sub(&c.cond_expr, mask);
            sub(&c.true_expr, mask);
            sub(&c.false_expr, mask);
        }
        Expression::FuncCall(f) => {
            for a in f.args.iter() {
                sub(a, mask);
            }
        }
        Expression::Traversal(t) => {
            sub(&t.expr, mask);
            for op in &t.operators {
                if let hcl::edit::expr::TraversalOperator::Index(e) = op.value() {
                    sub(e, mask);
                }
            }
        }
        Expression::UnaryOp(u) => sub(&u.expr, mask),
        Expression::BinaryOp(b) => {
            sub(&b.lhs_expr, mask);
            sub(&b.rhs_expr, mask);
        }
        Expression::ForExpr(f) => {
            sub(&f.intro.collection_expr, mask);
            if let Some(k) = &f.key_expr {
                sub(k, mask);
            }
            sub(&f.value_expr, mask);
            if let Some(c) = &f.cond {
                sub(&c.expr, mask);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::FileKind;

    #[test]
    fn unexpected_lines_in_blocks_of_names_are_masked() {
        let text = "data \"ssm_secret\" \"d\" {\n  secret_name = \"n\"\n  version_id  = \"v1\"\n  value       = \"hunter2\"\n  extra { x = \"s3cr3t\" }\n}\nprovider \"tencentcloud\" {\n  region       = \"ap-guangzhou\"\n  api_password = \"pa55word\"\n}\n";
        let body = hcl::edit::parser::parse_body(text).unwrap();
        let mut source = SourceFile::new("m.hcl".into(), text.into(), FileKind::Config);
        let mut decls = Decls::default();
        let mut diags = Vec::new();
        check_file(body, 0, &mut source, &mut decls, &mut diags);
        assert_eq!(
            diags.len(),
            3,
            "{:?}",
            diags.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
        let line = |word: &str| {
            let at = text.find(word).unwrap();
            source.snippet(at..at + 1).text
        };
        assert_eq!(line("value"), "  value       = \"*******\"");
        assert_eq!(line("extra"), "  extra { x = \"******\" }");
        assert_eq!(line("api_password"), "  api_password = \"********\"");
        // The names the blocks hold stay visible.
        assert_eq!(line("secret_name"), "  secret_name = \"n\"");
        assert_eq!(line("region"), "  region       = \"ap-guangzhou\"");
    }
}
