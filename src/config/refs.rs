//! Finding the references in an expression: `var.X`, `local.X`, `secret.L(.attr)`,
//! `data.ssm_secret.L(.attr)`, inside templates, conditionals and for-expressions (whose loop
//! variables are not references), and checking function names and argument counts on the way.
//!
//! References become the dependency graph's edges; a malformed one (`var` alone,
//! `data.ssm_secrets.x`, a name that is not in scope) is an error at its span.

use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::edit::template::{Directive, Element, Template};

use super::functions;
use super::model::{RefKind, Reference};
use super::source::{Diag, FileId, Span};
use crate::suggest;

/// Attributes a `secret.L` reference may read.
pub(crate) const SECRET_ATTRS: &[&str] = &[
    "secret_name",
    "version_id",
    "secret_string",
    "secret_binary",
    "description",
];
/// Attributes a `data.ssm_secret.L` reference may read.
pub(crate) const DATA_ATTRS: &[&str] = &[
    "secret_name",
    "version_id",
    "secret_string",
    "secret_binary",
];

/// Attributes a `data.sops_file.L` reference may read (those of the carlpett/sops Terraform
/// provider, plus the two arguments).
pub(crate) const SOPS_ATTRS: &[&str] = &["source_file", "input_type", "data", "raw"];

/// The span of an hcl-edit node in `file`, or `fallback` when the node has none.
pub(crate) fn span_of(node: &impl hcl::edit::Span, file: FileId, fallback: Span) -> Span {
    node.span().map(|r| Span::new(file, r)).unwrap_or(fallback)
}

/// Which expressions may call functions: variable defaults and values may not (they are
/// literal values, as in Terraform).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Functions {
    Allowed,
    Forbidden,
}

pub(crate) struct Collector<'a> {
    file: FileId,
    refs: &'a mut Vec<Reference>,
    diags: &'a mut Vec<Diag>,
    scope: Vec<String>,
    functions: Functions,
}

impl<'a> Collector<'a> {
    pub(crate) fn new(
        file: FileId,
        refs: &'a mut Vec<Reference>,
        diags: &'a mut Vec<Diag>,
        functions: Functions,
    ) -> Self {
        Collector {
            file,
            refs,
            diags,
            scope: Vec::new(),
            functions,
        }
    }

    fn span(&self, node: &impl hcl::edit::Span, fallback: Span) -> Span {
        span_of(node, self.file, fallback)
    }

    /// Collects the references of `expr`. Spans are looked up only where a reference or a
    /// diagnostic needs one; `fallback` stands in for nodes without a span.
    pub(crate) fn expr(&mut self, expr: &Expression, fallback: Span) {
        let here = fallback;
        match expr {
            Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
            Expression::Array(a) => {
                for e in a.iter() {
                    self.expr(e, here);
                }
            }
            Expression::Object(o) => {
                for (k, v) in o.iter() {
                    if let hcl::edit::expr::ObjectKey::Expression(k) = k {
                        self.expr(k, here);
                    }
                    self.expr(v.expr(), here);
                }
            }
            Expression::StringTemplate(t) => self.template(t, here),
            Expression::HeredocTemplate(h) => self.template(&h.template, here),
            Expression::Parenthesis(p) => self.expr(p.inner(), here),
            Expression::Variable(v) => {
                if !self.in_scope(v.as_str()) {
                    let span = self.span(expr, here);
                    self.root_only(v.as_str(), span);
                }
            }
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr, here);
                self.expr(&c.true_expr, here);
                self.expr(&c.false_expr, here);
            }
            Expression::FuncCall(f) => {
                self.func_call(f, here);
                for a in f.args.iter() {
                    self.expr(a, here);
                }
            }
            Expression::Traversal(t) => {
                let consumed = match &t.expr {
                    Expression::Variable(root) if !self.in_scope(root.as_str()) => {
                        let root_span = self.span(root, here);
                        self.reference(root.as_str(), root_span, &t.operators, here)
                    }
                    other => {
                        self.expr(other, here);
                        0
                    }
                };
                for op in t.operators.iter().skip(consumed) {
                    if let TraversalOperator::Index(e) = op.value() {
                        self.expr(e, here);
                    }
                }
            }
            Expression::UnaryOp(u) => self.expr(&u.expr, here),
            Expression::BinaryOp(b) => {
                self.expr(&b.lhs_expr, here);
                self.expr(&b.rhs_expr, here);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr, here);
                let mut pushed = 1;
                if let Some(k) = &f.intro.key_var {
                    self.scope.push(k.as_str().to_string());
                    pushed += 1;
                }
                self.scope.push(f.intro.value_var.as_str().to_string());
                if let Some(k) = &f.key_expr {
                    self.expr(k, here);
                }
                self.expr(&f.value_expr, here);
                if let Some(c) = &f.cond {
                    self.expr(&c.expr, here);
                }
                self.scope.truncate(self.scope.len() - pushed);
            }
        }
    }

    fn template(&mut self, t: &Template, fallback: Span) {
        for el in t.iter() {
            match el {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr, fallback),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        self.expr(&d.if_expr.cond_expr, fallback);
                        self.template(&d.if_expr.template, fallback);
                        if let Some(e) = &d.else_expr {
                            self.template(&e.template, fallback);
                        }
                    }
                    Directive::For(d) => {
                        let f = &d.for_expr;
                        self.expr(&f.collection_expr, fallback);
                        let mut pushed = 1;
                        if let Some(k) = &f.key_var {
                            self.scope.push(k.as_str().to_string());
                            pushed += 1;
                        }
                        self.scope.push(f.value_var.as_str().to_string());
                        self.template(&f.template, fallback);
                        self.scope.truncate(self.scope.len() - pushed);
                    }
                },
            }
        }
    }

    fn in_scope(&self, name: &str) -> bool {
        self.scope.iter().any(|s| s == name)
    }

    fn func_call(&mut self, f: &hcl::edit::expr::FuncCall, here: Span) {
        let name = f.name.name.as_str();
        if self.functions == Functions::Allowed
            && !f.name.is_namespaced()
            && functions::arity(name).is_some_and(|(min, max)| {
                let n = f.args.len();
                f.args.expand_final() || (n >= min && max.is_none_or(|m| n <= m))
            })
        {
            return; // the common case: nothing to report
        }
        let name_span = self.span(&f.name.name, here);
        if f.name.is_namespaced() {
            self.diags.push(
                Diag::error(
                    name_span,
                    "namespaced (provider) functions are not supported",
                )
                .help(format!(
                    "available functions: {}",
                    functions::names().join(", ")
                )),
            );
            return;
        }
        let name = f.name.name.as_str();
        if self.functions == Functions::Forbidden {
            self.diags.push(
                Diag::error(
                    name_span,
                    format!("functions cannot be called here ({})", function_name(name)),
                )
                .help("a variable's value must be a literal value: a string, number, bool, list or map"),
            );
            return;
        }
        match functions::arity(name) {
            None => {
                let suggestion = suggest::help(name, functions::names());
                // Named only when it is Terraform's or looks like a misspelt function: it may be
                // a value typed without quotes (`p4ss(w0rd)`).
                let d = if functions::is_known_name(name) {
                    Diag::error(name_span, format!("unknown function `{name}`"))
                } else {
                    Diag::error(
                        name_span,
                        format!(
                            "unknown function: a name ({}) followed by `(` that is not a function; the name is not repeated here in case it is a value",
                            crate::config::diagnostics::characters(name.chars().count())
                        ),
                    )
                }
                .maybe_help(suggestion);
                let d = if d.help.is_none() {
                    d.help(format!(
                        "available functions: {}",
                        functions::names().join(", ")
                    ))
                } else {
                    d
                };
                self.diags.push(d);
            }
            Some((min, max)) => {
                let n = f.args.len();
                if f.args.expand_final() {
                    // `f(list...)`: the count is only known at evaluation time.
                    return;
                }
                if n < min || max.is_some_and(|m| n > m) {
                    let want = match max {
                        Some(m) if m == min => format!("{min}"),
                        Some(m) => format!("{min} to {m}"),
                        None => format!("at least {min}"),
                    };
                    let plural = if min == 1 && max.is_none_or(|m| m == 1) {
                        ""
                    } else {
                        "s"
                    };
                    self.diags.push(
                        Diag::error(
                            self.span(f, here),
                            format!("`{name}` takes {want} argument{plural}, not {n}"),
                        )
                        .help(functions::signature(name)),
                    );
                }
            }
        }
    }

    /// A root name used alone, without a traversal: `var`, `secret`, or a name not in scope.
    fn root_only(&mut self, name: &str, span: Span) {
        let d = match name {
            "var" => Diag::error(span, "`var` alone is not a value")
                .help("refer to a variable as `var.NAME`"),
            "local" => Diag::error(span, "`local` alone is not a value")
                .help("refer to a local value as `local.NAME`"),
            "secret" => Diag::error(span, "`secret` alone is not a value")
                .help("refer to a secret as `secret.LABEL` or `secret.LABEL.secret_string`"),
            "data" => Diag::error(span, "`data` alone is not a value")
                .help("refer to a data source as `data.ssm_secret.LABEL.secret_string`"),
            _ => self.unknown_root(name, span),
        };
        self.diags.push(d);
    }

    fn unknown_root(&self, name: &str, span: Span) -> Diag {
        // A bare word may be a value typed without quotes (a password in a default, say): it is
        // named only when it is one of the words below, or a for-expression variable's near miss.
        let d = Diag::error(span, format!("unknown name `{name}`"));
        match name {
            "path" | "terraform" | "module" | "count" | "each" | "self" => d.help(format!(
                "`{name}` is Terraform's; ssmform knows var.*, local.*, secret.* and data.ssm_secret.*, and file paths are already relative to the configuration directory"
            )),
            "locals" => d.help("refer to a local value as `local.NAME` (singular)"),
            "variable" | "vars" => d.help("refer to a variable as `var.NAME`"),
            "secrets" => d.help("refer to a secret as `secret.LABEL`"),
            _ => Diag::error(
                span,
                format!(
                    "unknown name: a bare word ({}) that is neither a reference nor a for-expression variable",
                    crate::config::diagnostics::characters(name.chars().count())
                ),
            )
            .note(
                "names are references (var.X, local.X, secret.L, data.ssm_secret.L) or for-expression variables; a string needs quotes",
                None,
            )
            .help("write text in quotes; the word is not repeated here in case it is a value"),
        }
    }

    /// A traversal rooted at a name that is not a loop variable. Returns how many operators the
    /// reference consumed (the rest are ordinary attribute/index accesses on its value).
    fn reference(
        &mut self,
        root: &str,
        root_span: Span,
        ops: &[hcl::edit::Decorated<TraversalOperator>],
        here: Span,
    ) -> usize {
        let attrs = Attrs {
            ops,
            file: self.file,
            here,
        };
        match root {
            "var" => self.name_reference(RefKind::Var, root, root_span, attrs),
            "local" => self.name_reference(RefKind::Local, root, root_span, attrs),
            "secret" => self.secret_reference(root, root_span, attrs),
            "data" => self.data_reference(root, root_span, attrs),
            other => {
                let d = self.unknown_root(other, root_span);
                self.diags.push(d);
                ops.len()
            }
        }
    }

    /// `var.X` or `local.X`.
    fn name_reference(
        &mut self,
        kind: RefKind,
        root: &str,
        root_span: Span,
        attrs: Attrs,
    ) -> usize {
        let Some((name, name_span)) = attrs.at(0) else {
            self.root_only(root, root_span);
            return 0;
        };
        self.refs.push(Reference {
            kind,
            name,
            name_span: trim_dot(name_span),
            attr: None,
            span: root_span.to(name_span),
        });
        1
    }

    /// `secret.L` or `secret.L.attr`.
    fn secret_reference(&mut self, root: &str, root_span: Span, attrs: Attrs) -> usize {
        let Some((label, label_span)) = attrs.at(0) else {
            self.root_only(root, root_span);
            return 0;
        };
        let attr = attrs.at(1);
        if let Some((a, a_span)) = &attr
            && !SECRET_ATTRS.contains(&a.as_str())
        {
            self.diags.push(
                Diag::error(
                    trim_dot(*a_span),
                    format!("a secret has no attribute `{a}`"),
                )
                .maybe_help(suggest::help(a, SECRET_ATTRS.iter().copied()))
                .note(
                    format!("a secret's attributes are {}", SECRET_ATTRS.join(", ")),
                    None,
                ),
            );
            return attrs.ops.len();
        }
        let end = attr.as_ref().map_or(label_span, |(_, s)| *s);
        let consumed = if attr.is_some() { 2 } else { 1 };
        self.refs.push(Reference {
            kind: RefKind::Secret,
            name: label,
            name_span: trim_dot(label_span),
            attr: attr.map(|(a, s)| (a, trim_dot(s))),
            span: root_span.to(end),
        });
        consumed
    }

    /// `data.ssm_secret.L(.attr)` or `data.sops_file.L(.attr)`.
    fn data_reference(&mut self, root: &str, root_span: Span, attrs: Attrs) -> usize {
        let Some((ty, ty_span)) = attrs.at(0) else {
            self.root_only(root, root_span);
            return 0;
        };
        let (kind, allowed, example) = match ty.as_str() {
            "ssm_secret" => (RefKind::Data, DATA_ATTRS, "secret_string"),
            "sops_file" => (RefKind::Sops, SOPS_ATTRS, "data[\"KEY\"]"),
            _ => {
                self.diags.push(
                    Diag::error(
                        trim_dot(ty_span),
                        format!("unknown data source type `{ty}`"),
                    )
                    .maybe_help(suggest::help(&ty, ["ssm_secret", "sops_file"]))
                    .note(
                        "the data sources are `ssm_secret` (data.ssm_secret.LABEL) and `sops_file` (data.sops_file.LABEL)",
                        None,
                    ),
                );
                return attrs.ops.len();
            }
        };
        let Some((label, label_span)) = attrs.at(1) else {
            self.diags.push(
                Diag::error(
                    root_span.to(ty_span),
                    format!("`data.{ty}` alone is not a value"),
                )
                .help(format!(
                    "refer to a data source as `data.{ty}.LABEL.{example}`"
                )),
            );
            return attrs.ops.len();
        };
        let attr = attrs.at(2);
        if let Some((a, a_span)) = &attr
            && !allowed.contains(&a.as_str())
        {
            self.diags.push(
                Diag::error(
                    trim_dot(*a_span),
                    format!("a data source has no attribute `{a}`"),
                )
                .maybe_help(suggest::help(a, allowed.iter().copied()))
                .note(
                    format!(
                        "the attributes of a `{ty}` data source are {}",
                        allowed.join(", ")
                    ),
                    None,
                ),
            );
            return attrs.ops.len();
        }
        let end = attr.as_ref().map_or(label_span, |(_, s)| *s);
        let consumed = if attr.is_some() { 3 } else { 2 };
        self.refs.push(Reference {
            kind,
            name: label,
            name_span: trim_dot(label_span),
            attr: attr.map(|(a, s)| (a, trim_dot(s))),
            span: root_span.to(end),
        });
        consumed
    }
}

/// The operators after a reference's root, read as `.name` attribute accesses.
#[derive(Clone, Copy)]
struct Attrs<'o> {
    ops: &'o [hcl::edit::Decorated<TraversalOperator>],
    file: FileId,
    /// The span for operators without one.
    here: Span,
}

impl Attrs<'_> {
    /// The `i`th operator's name and span (with its dot), if it is an attribute access.
    fn at(&self, i: usize) -> Option<(String, Span)> {
        match self.ops.get(i).map(|o| o.value()) {
            Some(TraversalOperator::GetAttr(id)) => Some((
                id.as_str().to_string(),
                span_of(&self.ops[i], self.file, self.here),
            )),
            _ => None,
        }
    }
}

/// The span of `.name` without its dot.
fn trim_dot(s: Span) -> Span {
    if s.end > s.start + 1 {
        Span {
            start: s.start + 1,
            ..s
        }
    } else {
        s
    }
}

/// The references in a `depends_on` list, which must be references, not strings.
pub(crate) fn depends_on(
    expr: &Expression,
    file: FileId,
    fallback: Span,
    diags: &mut Vec<Diag>,
) -> Vec<Reference> {
    let here = span_of(expr, file, fallback);
    let Expression::Array(items) = expr else {
        diags.push(
            Diag::error(here, "`depends_on` must be a list of references")
                .help("for example: depends_on = [secret.db_password, data.ssm_secret.root]"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items.iter() {
        let item_span = span_of(item, file, here);
        let is_reference = match item {
            Expression::Traversal(t) => {
                matches!(&t.expr, Expression::Variable(_))
                    && t.operators
                        .iter()
                        .all(|o| matches!(o.value(), TraversalOperator::GetAttr(_)))
            }
            _ => false,
        };
        if !is_reference {
            let help = match item {
                Expression::String(s) => {
                    format!("write the reference without quotes: {}", s.value())
                }
                _ => "for example: depends_on = [secret.db_password]".to_string(),
            };
            diags.push(
                Diag::error(
                    item_span,
                    "`depends_on` entries must be references, not values",
                )
                .help(help),
            );
            continue;
        }
        let mut refs = Vec::new();
        Collector::new(file, &mut refs, diags, Functions::Allowed).expr(item, here);
        out.extend(refs);
    }
    out
}

/// How a called function is named in a message: by its name when it is one of ssmform's or
/// Terraform's functions, else by its length (a value typed without quotes can look like a call:
/// `p4ss(w0rd)`).
pub(crate) fn function_name(name: &str) -> String {
    if functions::is_known_name(name) {
        format!("`{name}`")
    } else {
        format!(
            "a {}-character name that is not a function",
            name.chars().count()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs_of(src: &str) -> (Vec<String>, Vec<String>) {
        let expr = hcl::edit::parser::parse_expr(src).unwrap();
        let mut refs = Vec::new();
        let mut diags = Vec::new();
        Collector::new(0, &mut refs, &mut diags, Functions::Allowed)
            .expr(&expr, Span::new(0, 0..0));
        (
            refs.iter().map(Reference::display).collect(),
            diags.iter().map(|d| d.message.clone()).collect(),
        )
    }

    #[test]
    fn references_inside_templates_and_for_expressions() {
        let (refs, diags) =
            refs_of(r#"[for k, v in var.m : "${k}=${v}:${local.x}" if v != secret.a.secret_name]"#);
        assert_eq!(refs, ["var.m", "local.x", "secret.a.secret_name"]);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn a_value_that_looks_like_a_call_is_not_repeated() {
        let (_, diags) = refs_of("cnryP4ss9Wd(1)");
        assert_eq!(diags.len(), 1);
        assert!(!diags[0].contains("cnry"), "{diags:?}");
        assert!(diags[0].contains("11 characters"), "{diags:?}");
        // A misspelt function is still named, with the suggestion (see below).
        // In a variable's value no call is allowed: known functions are named, others are not.
        for (src, shown) in [
            ("upper(\"a\")", "(`upper`)"),
            ("cnryP4ss9Wd(1)", "(a 11-character name"),
        ] {
            let expr = hcl::edit::parser::parse_expr(src).unwrap();
            let mut diags = Vec::new();
            Collector::new(0, &mut Vec::new(), &mut diags, Functions::Forbidden)
                .expr(&expr, Span::new(0, 0..0));
            assert!(diags[0].message.contains(shown), "{}", diags[0].message);
            assert!(!diags[0].message.contains("cnry"), "{}", diags[0].message);
        }
    }

    #[test]
    fn loop_variables_are_not_references_but_outside_names_are() {
        let (refs, diags) = refs_of(r#"[for s in var.l : upper(s)] == t"#);
        assert_eq!(refs, ["var.l"]);
        assert_eq!(
            diags,
            [
                "unknown name: a bare word (1 character) that is neither a reference nor a for-expression variable"
            ]
        );
    }

    #[test]
    fn data_references_need_the_type_and_a_label() {
        let (refs, diags) = refs_of("data.ssm_secret.root.secret_string");
        assert_eq!(refs, ["data.ssm_secret.root.secret_string"]);
        assert!(diags.is_empty());
        let (_, diags) = refs_of("data.ssm_secrets.root");
        assert_eq!(diags, ["unknown data source type `ssm_secrets`"]);
        let (refs, diags) = refs_of("data.sops_file.app.data[\"db.password\"]");
        assert_eq!(refs, ["data.sops_file.app.data"]);
        assert!(diags.is_empty(), "{diags:?}");
        let (_, diags) = refs_of("data.sops_file.app.secret_string");
        assert_eq!(diags, ["a data source has no attribute `secret_string`"]);
    }

    #[test]
    fn unknown_functions_and_wrong_arity_are_reported() {
        let (_, diags) = refs_of("uper(\"x\")");
        assert_eq!(diags, ["unknown function `uper`"]);
        let (_, diags) = refs_of("upper(\"x\", \"y\")");
        assert_eq!(diags, ["`upper` takes 1 argument, not 2"]);
    }
}
