//! The expression evaluator: hcl-edit expressions (with their spans) → [`Value`]s.
//!
//! Why not `hcl::eval`: it evaluates `hcl::Expression`s, which have no source spans (an error
//! could only point at the whole attribute), it has no unknown values (so nothing could be
//! evaluated before data sources are read), it clones a variable's whole value on every
//! reference (quadratic for 10,000 secrets referring to each other through one `secret`
//! object), its error messages print the values involved (a secret could end up in an error),
//! and its functions are plain `fn`s that cannot know the configuration directory. This
//! evaluator walks the hcl-edit tree the loader already has, resolves references through a
//! [`Resolve`] without copying more than the value read, propagates [`Value::Unknown`], and
//! never puts a value in a message.
//!
//! Semantics follow HCL's specification and Terraform's behaviour, with two deliberate
//! differences: `&&`/`||` short-circuit, and a conditional evaluates only the branch it takes
//! (so `var.path == "" ? "" : file(var.path)` works).
//!
//! Sensitivity follows the data ([`Value::Sensitive`]): every construct whose result depends on a
//! marked input marks its result — operators, function calls (all arguments are unmarked before
//! the call and the result is marked as a whole), templates, conditionals (a marked condition
//! marks whichever branch is taken), `for` expressions (a marked collection or condition marks
//! the result; a marked key marks the whole object), object constructors with a marked key,
//! indexes with a marked key, and `try`/`can` when anything marked was read while trying.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use hcl::edit::expr::{
    BinaryOp, BinaryOperator, Expression, ForExpr, FuncCall, ObjectKey, Traversal,
    TraversalOperator, UnaryOperator,
};
use hcl::edit::template::{Directive, Element, ForDirective, IfDirective, Template};

use super::functions::{self, FuncCtx};
use super::limits;
use super::model::RefKind;
use super::refs::{Functions, span_of};
use super::source::{Diag, FileId, Span};
use super::value::{Number, Origin, Value};

/// A dependency that failed to evaluate: whatever depends on it is skipped without a second
/// error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Poisoned;

/// A resolved reference: the value and the origin of the first mark anywhere inside it (computed
/// once per declaration, not per reference).
pub(crate) type Resolved<'v> = (&'v Value, Option<&'v Origin>);

/// Where references get their values.
pub(crate) trait Resolve {
    /// The value of `var.X`, `local.X`, `secret.L` or `data.ssm_secret.L` (the last two as
    /// objects of their attributes). `None` if there is no such declaration.
    fn resolve(&self, kind: RefKind, name: &str) -> Option<Result<Resolved<'_>, Poisoned>>;
}

/// A resolver for contexts where references are not allowed (variable values).
pub(crate) struct NoReferences;

impl Resolve for NoReferences {
    fn resolve(&self, _: RefKind, _: &str) -> Option<Result<Resolved<'_>, Poisoned>> {
        None
    }
}

#[derive(Debug)]
pub(crate) enum EvalError {
    Diag(Box<Diag>),
    Poisoned,
}

impl From<Diag> for EvalError {
    fn from(d: Diag) -> Self {
        EvalError::Diag(Box::new(d))
    }
}

type R<T> = Result<T, EvalError>;

pub(crate) struct Evaluator<'a> {
    file: FileId,
    resolver: &'a dyn Resolve,
    dir: &'a Path,
    /// The reader for file functions (`None`: confined to `dir` alone).
    files: Option<&'a super::files::Confined>,
    functions: Functions,
    /// For-expression variables, innermost last.
    scope: Vec<(String, Value)>,
    /// The origin of the first marked value read (through a reference or a function) so far: what
    /// `try` and `can` need to know whether their outcome depends on a sensitive value.
    seen: Option<Origin>,
    /// `for` iterations run so far, against [`limits::MAX_ITERATIONS`].
    iterations: u64,
    /// Bytes of values built so far, against [`limits::MAX_EXPRESSION_BYTES`].
    spent: u64,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(
        file: FileId,
        resolver: &'a dyn Resolve,
        dir: &'a Path,
        functions: Functions,
    ) -> Self {
        Evaluator {
            file,
            resolver,
            dir,
            files: None,
            functions,
            scope: Vec::new(),
            seen: None,
            iterations: 0,
            spent: 0,
        }
    }

    /// Note that a marked value was read.
    fn saw(&mut self, origin: Option<&Origin>) {
        if self.seen.is_none()
            && let Some(o) = origin
        {
            self.seen = Some(o.clone());
        }
    }

    /// File functions read through `files` (the configuration's `--allow-read` entries and
    /// denied paths) instead of a reader confined to the directory alone.
    pub(crate) fn with_files(mut self, files: &'a super::files::Confined) -> Self {
        self.files = Some(files);
        self
    }

    fn span(&self, node: &impl hcl::edit::Span, fallback: Span) -> Span {
        span_of(node, self.file, fallback)
    }

    /// Counts one `for` iteration against [`limits::MAX_ITERATIONS`].
    fn iteration(&mut self, span: impl FnOnce() -> Span) -> R<()> {
        self.iterations += 1;
        if self.iterations > limits::MAX_ITERATIONS {
            return Err(Diag::error(
                span(),
                format!(
                    "this expression runs more than {} `for` iterations, the limit on one expression",
                    limits::MAX_ITERATIONS
                ),
            )
            .help("nested loops multiply; loop over smaller collections")
            .into());
        }
        Ok(())
    }

    /// Counts `v`, about to be kept in a collection, against [`limits::MAX_EXPRESSION_BYTES`]
    /// and `len` (the collection's items so far) against [`limits::MAX_COLLECTION_ITEMS`].
    fn keep(&mut self, v: &Value, len: usize, span: impl FnOnce() -> Span) -> R<()> {
        if len >= limits::MAX_COLLECTION_ITEMS {
            return Err(Diag::error(span(), limits::too_many_items("this collection")).into());
        }
        self.spent += limits::weight(v);
        if self.spent > limits::MAX_EXPRESSION_BYTES {
            return Err(Diag::error(
                span(),
                format!(
                    "this expression builds more than {} of values, the limit on one expression",
                    limits::bytes(limits::MAX_EXPRESSION_BYTES)
                ),
            )
            .into());
        }
        Ok(())
    }

    /// Evaluates an expression. `fallback` is the span used for nodes without one (parsed
    /// nodes always have one); spans are only looked up when a diagnostic needs them, which
    /// keeps evaluation of 10,000 secrets fast.
    pub(crate) fn eval(&mut self, expr: &Expression, fallback: Span) -> R<Value> {
        let here = fallback;
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => Ok(Value::Number(Number::from(*n.value()))),
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(a) => {
                let mut out = Vec::with_capacity(a.len().min(limits::MAX_COLLECTION_ITEMS));
                for e in a.iter() {
                    let v = self.eval(e, here)?;
                    let file = self.file;
                    self.keep(&v, out.len(), || span_of(expr, file, here))?;
                    out.push(v);
                }
                Ok(Value::List(out))
            }
            Expression::Object(o) => {
                let mut out = BTreeMap::new();
                let mut unknown = false;
                // A key derived from a marked value makes the key names secret: the whole object
                // is marked.
                let mut key_mark: Option<Origin> = None;
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(id) => Some(id.as_str().to_string()),
                        ObjectKey::Expression(e) => {
                            let (key, mark) = self.eval(e, here)?.strip();
                            if key_mark.is_none() {
                                key_mark = mark;
                            }
                            match key {
                                Value::String(s) => Some(s),
                                Value::Number(n) => Some(n.to_string()),
                                Value::Bool(b) => Some(b.to_string()),
                                Value::Unknown => None,
                                other => {
                                    return Err(Diag::error(
                                        self.span(e, here),
                                        format!(
                                            "an object key must be a string, not {}",
                                            other.a_type()
                                        ),
                                    )
                                    .into());
                                }
                            }
                        }
                    };
                    let value = self.eval(v.expr(), here)?;
                    let file = self.file;
                    self.keep(&value, out.len(), || span_of(expr, file, here))?;
                    match key {
                        Some(k) => {
                            out.insert(k, value);
                        }
                        None => unknown = true,
                    }
                }
                Ok(if unknown {
                    Value::Unknown
                } else {
                    Value::Object(out).mark_if(key_mark.as_ref())
                })
            }
            Expression::StringTemplate(t) => self.template_value(t, expr, here),
            Expression::HeredocTemplate(h) => self.template_value(&h.template, expr, here),
            Expression::Parenthesis(p) => self.eval(p.inner(), here),
            Expression::Variable(v) => match self.scope.iter().rev().find(|(n, _)| n == v.as_str())
            {
                Some((_, val)) => Ok(val.clone()),
                // Not repeated: a bare word may be a value typed without quotes.
                None => Err(Diag::error(
                    self.span(expr, here),
                    format!(
                        "unknown name: a bare word ({}) where a value was expected",
                        super::diagnostics::characters(v.as_str().chars().count())
                    ),
                )
                .help("write text in quotes")
                .into()),
            },
            Expression::Conditional(c) => match self.eval(&c.cond_expr, here)?.split() {
                (Value::Unknown, _) => Ok(Value::Unknown),
                (v, mark) => {
                    // Which branch is taken tells something about a marked condition.
                    let taken = if to_bool(&v, || self.span(&c.cond_expr, here), "the condition")? {
                        self.eval(&c.true_expr, here)?
                    } else {
                        self.eval(&c.false_expr, here)?
                    };
                    Ok(taken.mark_if(mark.as_ref()))
                }
            },
            Expression::FuncCall(f) => self.func_call(f, here),
            Expression::Traversal(t) => self.traversal(t, here),
            Expression::UnaryOp(u) => {
                let (v, mark) = self.eval(&u.expr, here)?.strip();
                if matches!(v, Value::Unknown) {
                    return Ok(Value::Unknown);
                }
                let result: R<Value> = match u.operator.value() {
                    UnaryOperator::Neg => {
                        let n = to_number(&v, || self.span(expr, here), "the operand of `-`")?;
                        Ok(Value::Number(match n {
                            Number::Int(i) => Number::Int(-i),
                            Number::Float(f) => Number::Float(-f),
                        }))
                    }
                    UnaryOperator::Not => Ok(Value::Bool(!to_bool(
                        &v,
                        || self.span(expr, here),
                        "the operand of `!`",
                    )?)),
                };
                result.map(|r| r.mark_if(mark.as_ref()))
            }
            Expression::BinaryOp(b) => self.binary(b, here),
            Expression::ForExpr(f) => self.for_expr(f, here),
        }
    }

    // ---- templates -------------------------------------------------------------------------

    fn template_value(&mut self, t: &Template, expr: &Expression, here: Span) -> R<Value> {
        // A template that is a single interpolation yields its value unconverted, as in HCL:
        // "${var.list}" is the list.
        if t.len() == 1
            && let Some(Element::Interpolation(i)) = t.get(0)
        {
            return self.eval(&i.expr, here);
        }
        let mut out = TemplateOut {
            at: self.span(expr, here),
            ..TemplateOut::default()
        };
        self.template(t, false, false, here, &mut out)?;
        Ok(if out.unknown {
            Value::Unknown
        } else {
            Value::String(out.text).mark_if(out.mark.as_ref())
        })
    }

    /// Appends the template's text to `out`. `trim_first`/`trim_last`: whether a strip marker
    /// (`~`) outside this template removes the whitespace at its start/end.
    fn template(
        &mut self,
        t: &Template,
        trim_first: bool,
        trim_last: bool,
        here: Span,
        out: &mut TemplateOut,
    ) -> R<()> {
        let n = t.len();
        for i in 0..n {
            let Some(el) = t.get(i) else { break };
            match el {
                Element::Literal(lit) => {
                    let mut s: &str = lit.value();
                    let trim_left = if i == 0 {
                        trim_first
                    } else {
                        t.get(i - 1).is_some_and(strips_following)
                    };
                    let trim_right = if i + 1 == n {
                        trim_last
                    } else {
                        t.get(i + 1).is_some_and(strips_preceding)
                    };
                    if trim_left {
                        s = s.trim_start();
                    }
                    if trim_right {
                        s = s.trim_end();
                    }
                    out.push(s)?;
                }
                Element::Interpolation(interp) => {
                    let (v, mark) = self.eval(&interp.expr, here)?.strip();
                    out.mark_with(mark);
                    match v {
                        Value::Unknown => out.unknown = true,
                        v => {
                            if !out.unknown {
                                push_interpolated(out, v, || self.span(&interp.expr, here))?;
                            }
                        }
                    }
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => self.template_if(d, here, out)?,
                    Directive::For(d) => self.template_for(d, here, out)?,
                },
            }
        }
        Ok(())
    }

    /// Appends the text of the branch an `%{if}` directive takes.
    fn template_if(&mut self, d: &IfDirective, here: Span, out: &mut TemplateOut) -> R<()> {
        let (c, mark) = self.eval(&d.if_expr.cond_expr, here)?.strip();
        out.mark_with(mark);
        if matches!(c, Value::Unknown) {
            out.unknown = true;
            return Ok(());
        }
        let endif_start = d.endif_expr.strip.strip_start();
        if to_bool(
            &c,
            || self.span(&d.if_expr.cond_expr, here),
            "the `if` condition",
        )? {
            let last = match &d.else_expr {
                Some(e) => e.strip.strip_start(),
                None => endif_start,
            };
            self.template(
                &d.if_expr.template,
                d.if_expr.strip.strip_end(),
                last,
                here,
                out,
            )?;
        } else if let Some(e) = &d.else_expr {
            self.template(&e.template, e.strip.strip_end(), endif_start, here, out)?;
        }
        Ok(())
    }

    /// Appends the text of a `%{for}` directive, once per item.
    fn template_for(&mut self, d: &ForDirective, here: Span, out: &mut TemplateOut) -> R<()> {
        let f = &d.for_expr;
        let (coll, mark) = self.eval(&f.collection_expr, here)?.split();
        // How many times the text repeats tells something about a marked collection.
        out.mark_with(mark);
        let Some(items) = iterate(coll, || self.span(&f.collection_expr, here))? else {
            out.unknown = true;
            return Ok(());
        };
        for (k, v) in items {
            let file = self.file;
            self.iteration(|| span_of(&f.collection_expr, file, here))?;
            let pushed = self.push_loop_vars(
                f.key_var.as_ref().map(|k| k.as_str()),
                f.value_var.as_str(),
                k,
                v,
            );
            let r = self.template(
                &f.template,
                f.strip.strip_end(),
                d.endfor_expr.strip.strip_start(),
                here,
                out,
            );
            self.scope.truncate(self.scope.len() - pushed);
            r?;
        }
        Ok(())
    }

    fn push_loop_vars(
        &mut self,
        key_var: Option<&str>,
        value_var: &str,
        k: Value,
        v: Value,
    ) -> usize {
        let mut pushed = 1;
        if let Some(kv) = key_var {
            self.scope.push((kv.to_string(), k));
            pushed += 1;
        }
        self.scope.push((value_var.to_string(), v));
        pushed
    }

    // ---- for-expressions --------------------------------------------------------------------

    fn for_expr(&mut self, f: &ForExpr, here: Span) -> R<Value> {
        // A marked collection (its length, its keys), condition or key marks the whole result.
        let (coll, mut mark) = self.eval(&f.intro.collection_expr, here)?.split();
        let Some(items) = iterate(coll, || self.span(&f.intro.collection_expr, here))? else {
            return Ok(Value::Unknown);
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str());
        let value_var = f.intro.value_var.as_str();
        let mut list = Vec::new();
        let mut object: BTreeMap<String, Value> = BTreeMap::new();
        let mut unknown = false;
        let file = self.file;
        let at = move || span_of(f, file, here);
        for (k, v) in items {
            self.iteration(at)?;
            let pushed = self.push_loop_vars(key_var, value_var, k, v);
            let r = self.for_item(f, here, &mut mark);
            self.scope.truncate(self.scope.len() - pushed);
            match r? {
                ForItem::Skip => {}
                ForItem::Unknown => unknown = true,
                ForItem::Value(v) => {
                    self.keep(&v, list.len(), at)?;
                    list.push(v);
                }
                ForItem::Pair(k, v, key_span) => {
                    self.keep(&v, object.len(), at)?;
                    if f.grouping {
                        match object.entry(k).or_insert_with(|| Value::List(Vec::new())) {
                            Value::List(l) => l.push(v),
                            _ => unreachable!("grouped values are lists"),
                        }
                    } else if object.insert(k, v).is_some() {
                        return Err(Diag::error(
                            key_span,
                            "two elements of this for-expression produce the same key",
                        )
                        .help("add `...` after the value expression to group values with the same key into lists")
                        .into());
                    }
                }
            }
        }
        Ok(if unknown {
            Value::Unknown
        } else if f.key_expr.is_some() {
            Value::Object(object).mark_if(mark.as_ref())
        } else {
            Value::List(list).mark_if(mark.as_ref())
        })
    }

    /// One item of a `for` expression; a marked condition or key sets `mark`.
    fn for_item(&mut self, f: &ForExpr, here: Span, mark: &mut Option<Origin>) -> R<ForItem> {
        if let Some(c) = &f.cond {
            let (cond, cond_mark) = self.eval(&c.expr, here)?.strip();
            if mark.is_none() {
                *mark = cond_mark;
            }
            match cond {
                Value::Unknown => return Ok(ForItem::Unknown),
                v => {
                    if !to_bool(&v, || self.span(&c.expr, here), "the `if` condition")? {
                        return Ok(ForItem::Skip);
                    }
                }
            }
        }
        let key = match &f.key_expr {
            Some(k) => {
                let key_span = self.span(k, here);
                let (key, key_mark) = self.eval(k, here)?.strip();
                if mark.is_none() {
                    *mark = key_mark;
                }
                match key {
                    Value::Unknown => return Ok(ForItem::Unknown),
                    Value::String(s) => Some((s, key_span)),
                    Value::Number(n) => Some((n.to_string(), key_span)),
                    Value::Bool(b) => Some((b.to_string(), key_span)),
                    other => {
                        return Err(Diag::error(
                            key_span,
                            format!("an object key must be a string, not {}", other.a_type()),
                        )
                        .into());
                    }
                }
            }
            None => None,
        };
        let value = self.eval(&f.value_expr, here)?;
        Ok(match key {
            Some((k, span)) => ForItem::Pair(k, value, span),
            None => ForItem::Value(value),
        })
    }

    // ---- operators --------------------------------------------------------------------------

    fn binary(&mut self, b: &BinaryOp, here: Span) -> R<Value> {
        let (lhs, op, rhs) = (&b.lhs_expr, *b.operator.value(), &b.rhs_expr);
        let file = self.file;
        let lhs_span = move || span_of(lhs, file, here);
        let (l, l_mark) = self.eval(lhs, here)?.strip();
        // `&&` and `||` short-circuit (HCL evaluates both sides; not needing the right side is
        // what users mean by `var.x != null && length(var.x) > 0`).
        if let (BinaryOperator::And | BinaryOperator::Or, false) = (op, matches!(l, Value::Unknown))
        {
            let lb = to_bool(
                &l,
                lhs_span,
                &format!("the left operand of `{}`", op_str(op)),
            )?;
            if (op == BinaryOperator::And && !lb) || (op == BinaryOperator::Or && lb) {
                return Ok(Value::Bool(lb).mark_if(l_mark.as_ref()));
            }
        }
        let (r, r_mark) = self.eval(rhs, here)?.strip();
        if matches!(l, Value::Unknown) || matches!(r, Value::Unknown) {
            return Ok(Value::Unknown);
        }
        let mark = l_mark.or(r_mark);
        self.binary_plain(b, l, r, here)
            .map(|v| v.mark_if(mark.as_ref()))
    }

    /// A binary operation on unmarked, known operands.
    fn binary_plain(&self, b: &BinaryOp, l: Value, r: Value, here: Span) -> R<Value> {
        let b_node = b;
        let (lhs, op, rhs) = (&b.lhs_expr, *b.operator.value(), &b.rhs_expr);
        let file = self.file;
        let lhs_span = move || span_of(lhs, file, here);
        let rhs_span = move || span_of(rhs, file, here);
        let sym = op_str(op);
        match op {
            BinaryOperator::Eq => Ok(Value::Bool(equal(&l, &r))),
            BinaryOperator::NotEq => Ok(Value::Bool(!equal(&l, &r))),
            BinaryOperator::And | BinaryOperator::Or => {
                let a = to_bool(&l, lhs_span, &format!("the left operand of `{sym}`"))?;
                let b = to_bool(&r, rhs_span, &format!("the right operand of `{sym}`"))?;
                Ok(Value::Bool(if op == BinaryOperator::And {
                    a && b
                } else {
                    a || b
                }))
            }
            BinaryOperator::Less
            | BinaryOperator::LessEq
            | BinaryOperator::Greater
            | BinaryOperator::GreaterEq => {
                let a = to_number(&l, lhs_span, &format!("the left operand of `{sym}`"))?;
                let b = to_number(&r, rhs_span, &format!("the right operand of `{sym}`"))?;
                let ord = a.cmp_num(b);
                use std::cmp::Ordering::*;
                Ok(Value::Bool(match op {
                    BinaryOperator::Less => ord == Less,
                    BinaryOperator::LessEq => ord != Greater,
                    BinaryOperator::Greater => ord == Greater,
                    _ => ord != Less,
                }))
            }
            BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Mul
            | BinaryOperator::Div
            | BinaryOperator::Mod => {
                let a = to_number(&l, lhs_span, &format!("the left operand of `{sym}`"))
                    .map_err(|e| add_help_for_plus(e, op))?;
                let b = to_number(&r, rhs_span, &format!("the right operand of `{sym}`"))
                    .map_err(|e| add_help_for_plus(e, op))?;
                arithmetic(op, a, b, move || span_of(b_node, file, here)).map(Value::Number)
            }
        }
    }

    // ---- functions --------------------------------------------------------------------------

    fn func_call(&mut self, f: &FuncCall, here: Span) -> R<Value> {
        let name = f.name.name.as_str();
        let file = self.file;
        let call_span = move || span_of(f, file, here);
        if self.functions == Functions::Forbidden {
            return Err(Diag::error(
                call_span(),
                format!(
                    "functions cannot be called here ({})",
                    super::refs::function_name(name)
                ),
            )
            .into());
        }
        match name {
            "try" => {
                // Which argument succeeds can depend on a marked value read by one that failed.
                let outer = self.seen.take();
                let mut last: Option<Box<Diag>> = None;
                let mut failed_on_marked: Option<Origin> = None;
                for a in f.args.iter() {
                    let result = self.eval(a, here);
                    let seen = self.seen.take();
                    match result {
                        Ok(v) if v.has_unknown() => {
                            self.seen = outer.or(seen);
                            return Ok(Value::Unknown);
                        }
                        Ok(v) => {
                            let v = v.mark_if(failed_on_marked.as_ref());
                            self.seen = outer.or(failed_on_marked).or(seen);
                            return Ok(v);
                        }
                        Err(EvalError::Diag(d)) => {
                            last = Some(d);
                            if failed_on_marked.is_none() {
                                failed_on_marked = seen;
                            }
                        }
                        Err(EvalError::Poisoned) => return Err(EvalError::Poisoned),
                    }
                }
                self.seen = outer.or(failed_on_marked);
                let mut d = Diag::error(call_span(), "no argument of `try` could be evaluated");
                if let Some(l) = last {
                    d = d.note(format!("the last argument failed: {}", l.message), None);
                }
                return Err(d.into());
            }
            "can" => {
                let Some(a) = f.args.iter().next() else {
                    return Err(Diag::error(call_span(), "`can` takes 1 argument").into());
                };
                // Whether evaluation succeeds can depend on a marked value it read.
                let outer = self.seen.take();
                let result = self.eval(a, here);
                let seen = self.seen.take();
                let mark = seen
                    .clone()
                    .or_else(|| result.as_ref().ok().and_then(|v| v.first_mark().cloned()));
                self.seen = outer.or(seen);
                return match result {
                    Ok(v) if v.has_unknown() => Ok(Value::Unknown),
                    Ok(_) => Ok(Value::Bool(true).mark_if(mark.as_ref())),
                    Err(EvalError::Diag(_)) => Ok(Value::Bool(false).mark_if(mark.as_ref())),
                    Err(EvalError::Poisoned) => Err(EvalError::Poisoned),
                };
            }
            _ => {}
        }
        let written = f.args.len();
        let mut args = Vec::with_capacity(written);
        // Functions see unmarked values and a marked argument marks the whole result — except
        // that the functions that only move elements around keep the marks of elements inside
        // unmarked arguments (so `merge(local.defaults, { password = var.password })` has public
        // keys and one marked value).
        let preserves = functions::PRESERVES_MARKS.contains(&name);
        let mut mark: Option<Origin> = None;
        for a in f.args.iter() {
            let v = self.eval(a, here)?;
            let v = if preserves && !matches!(v, Value::Sensitive(_)) {
                self.saw(v.first_mark());
                v
            } else {
                let (v, m) = v.strip();
                if mark.is_none() {
                    mark = m;
                }
                v
            };
            args.push(v);
        }
        // The span of argument `i` (arguments expanded from `list...` share the list's span).
        let arg_span = move |i: usize| {
            f.args
                .get(i.min(written.saturating_sub(1)))
                .map_or_else(call_span, |a| span_of(a, file, here))
        };
        if f.args.expand_final() {
            match args.pop() {
                Some(Value::List(items)) => args.extend(items),
                Some(Value::Unknown) => return Ok(Value::Unknown),
                Some(other) => {
                    return Err(Diag::error(
                        arg_span(written - 1),
                        format!(
                            "only a list can be expanded with `...`, not {}",
                            other.a_type()
                        ),
                    )
                    .into());
                }
                None => {}
            }
        }
        if args.iter().any(Value::has_unknown) {
            return Ok(Value::Unknown);
        }
        let ctx = FuncCtx {
            dir: self.dir,
            files: self.files,
        };
        let result = functions::call(name, &ctx, args).map_err(|e| {
            let e = match (&mark, functions::QUOTING.contains(&name)) {
                (Some(origin), true) => functions::FuncError {
                    arg: e.arg,
                    message: format!(
                        "the call failed; its message is withheld because an argument derives from {}",
                        origin.describe()
                    ),
                },
                _ => e,
            };
            let (span, msg) = match e.arg {
                Some(i) => (
                    arg_span(i),
                    format!("`{name}`, argument {}: {}", i + 1, e.message),
                ),
                None => (call_span(), format!("`{name}`: {}", e.message)),
            };
            EvalError::from(Diag::error(span, msg))
        })?;
        // The functions check their own output against the limits before building it; this
        // catches any that does not.
        match &result {
            Value::String(s) if s.len() > limits::MAX_STRING_BYTES => {
                return Err(Diag::error(
                    call_span(),
                    limits::string_too_long(&format!("the result of `{name}`")),
                )
                .into());
            }
            Value::List(l) if l.len() > limits::MAX_COLLECTION_ITEMS => {
                return Err(Diag::error(
                    call_span(),
                    limits::too_many_items(&format!("the result of `{name}`")),
                )
                .into());
            }
            Value::Object(o) if o.len() > limits::MAX_COLLECTION_ITEMS => {
                return Err(Diag::error(
                    call_span(),
                    limits::too_many_items(&format!("the result of `{name}`")),
                )
                .into());
            }
            _ => {}
        }
        // A function can also mark its result itself (file contents).
        let result = result.mark_if(mark.as_ref());
        self.saw(result.first_mark());
        Ok(result)
    }

    // ---- traversals ---------------------------------------------------------------------------

    fn traversal(&mut self, t: &Traversal, here: Span) -> R<Value> {
        // Index keys are evaluated first: they need `&mut self`, and the walk below borrows
        // values. Most traversals (`var.x`, `secret.a.secret_name`) have no index and allocate
        // nothing here.
        let has_index = t
            .operators
            .iter()
            .any(|o| matches!(o.value(), TraversalOperator::Index(_)));
        let mut keys: Vec<Option<Value>> = Vec::new();
        // Which index keys derive from a marked value (an error must not repeat them).
        let mut marked_keys: Vec<bool> = Vec::new();
        // Which element a marked key selects tells something about the key: the result is marked.
        let mut key_mark: Option<Origin> = None;
        if has_index {
            keys.reserve(t.operators.len());
            marked_keys.reserve(t.operators.len());
            for op in &t.operators {
                let (key, marked) = match op.value() {
                    TraversalOperator::Index(e) => {
                        let (k, m) = self.eval(e, here)?.strip();
                        let marked = m.is_some();
                        if key_mark.is_none() {
                            key_mark = m;
                        }
                        (Some(k), marked)
                    }
                    _ => (None, false),
                };
                keys.push(key);
                marked_keys.push(marked);
            }
        }
        let (root, consumed): (Cow<'_, Value>, usize) = match &t.expr {
            Expression::Variable(v) => {
                if let Some((_, val)) = self.scope.iter().rev().find(|(n, _)| n == v.as_str()) {
                    (Cow::Borrowed(val), 0)
                } else {
                    let (value, mark, consumed) =
                        self.resolve_reference(v.as_str(), &t.operators, || self.span(t, here))?;
                    self.saw(mark);
                    (Cow::Borrowed(value), consumed)
                }
            }
            other => (Cow::Owned(self.eval(other, here)?), 0),
        };
        let walk = Walk {
            ops: &t.operators,
            keys: &keys,
            marked_keys: &marked_keys,
            file: self.file,
            fallback: here,
        };
        walk.apply(root, consumed)
            .map(|v| v.into_owned().mark_if(key_mark.as_ref()))
    }

    /// Resolves `var.X`, `local.X`, `secret.L`, `data.ssm_secret.L`; returns the value and how
    /// many operators the address used.
    fn resolve_reference(
        &self,
        root: &str,
        ops: &[hcl::edit::Decorated<TraversalOperator>],
        here: impl Fn() -> Span,
    ) -> R<(&'a Value, Option<&'a Origin>, usize)> {
        let name_at = |i: usize| match ops.get(i).map(|o| o.value()) {
            Some(TraversalOperator::GetAttr(id)) => Some(id.as_str()),
            _ => None,
        };
        let (kind, name, consumed) = match (root, name_at(0), name_at(1)) {
            ("var", Some(n), _) => (RefKind::Var, n, 1),
            ("local", Some(n), _) => (RefKind::Local, n, 1),
            ("secret", Some(n), _) => (RefKind::Secret, n, 1),
            ("data", Some("ssm_secret"), Some(n)) => (RefKind::Data, n, 2),
            ("data", Some("sops_file"), Some(n)) => (RefKind::Sops, n, 2),
            _ => {
                let what = if matches!(root, "var" | "local" | "secret" | "data") {
                    format!("`{root}`")
                } else {
                    // Not repeated: a bare word may be a value typed without quotes.
                    format!("this {}-character name", root.chars().count())
                };
                return Err(
                    Diag::error(here(), format!("{what} is not a valid reference here")).into(),
                );
            }
        };
        match self.resolver.resolve(kind, name) {
            Some(Ok((v, mark))) => Ok((v, mark, consumed)),
            Some(Err(Poisoned)) => Err(EvalError::Poisoned),
            None => Err(Diag::error(
                here(),
                format!("references are not allowed here ({}{name})", kind.prefix()),
            )
            .into()),
        }
    }
}

/// What a template has produced so far.
#[derive(Default)]
struct TemplateOut {
    /// The template (where a string over the limit is reported).
    at: Span,
    text: String,
    unknown: bool,
    /// The first marked value that went into the text (or decided its shape).
    mark: Option<Origin>,
}

impl TemplateOut {
    /// Appends `s`, unless the text would grow over [`limits::MAX_STRING_BYTES`].
    fn push(&mut self, s: &str) -> R<()> {
        if self.text.len() + s.len() > limits::MAX_STRING_BYTES {
            return Err(
                Diag::error(self.at, limits::string_too_long("this template's text"))
                    .help("a secret holds at most 32 KB")
                    .into(),
            );
        }
        self.text.push_str(s);
        Ok(())
    }

    fn mark_with(&mut self, origin: Option<Origin>) {
        if self.mark.is_none() {
            self.mark = origin;
        }
    }
}

enum ForItem {
    Skip,
    Unknown,
    Value(Value),
    Pair(String, Value, Span),
}

fn strips_following(el: &Element) -> bool {
    match el {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.endif_expr.strip.strip_end(),
            Directive::For(d) => d.endfor_expr.strip.strip_end(),
        },
    }
}

fn strips_preceding(el: &Element) -> bool {
    match el {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.if_expr.strip.strip_start(),
            Directive::For(d) => d.for_expr.strip.strip_start(),
        },
    }
}

fn push_interpolated(out: &mut TemplateOut, v: Value, span: impl FnOnce() -> Span) -> R<()> {
    match v {
        Value::String(s) => out.push(&s)?,
        Value::Number(n) => out.push(&n.to_string())?,
        Value::Bool(b) => out.push(if b { "true" } else { "false" })?,
        Value::Null => {
            return Err(
                Diag::error(span(), "cannot insert a null value into a string template")
                    .help("give the value a default, e.g. coalesce(x, \"\")")
                    .into(),
            );
        }
        other => {
            return Err(Diag::error(
                span(),
                format!("cannot insert {} into a string template", other.a_type()),
            )
            .help("use jsonencode(...) or join(\",\", ...) to turn it into a string")
            .into());
        }
    }
    Ok(())
}

/// The pairs a for-expression or `%{for}` iterates over, or `None` if the collection is unknown.
fn iterate(coll: Value, span: impl FnOnce() -> Span) -> R<Option<Vec<(Value, Value)>>> {
    match coll {
        Value::Unknown => Ok(None),
        Value::List(l) => Ok(Some(
            l.into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Number(Number::Int(i as i128)), v))
                .collect(),
        )),
        Value::Object(o) => Ok(Some(
            o.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
        )),
        other => Err(Diag::error(
            span(),
            format!(
                "a for-expression needs a list or a map, not {}",
                other.a_type()
            ),
        )
        .into()),
    }
}

pub(crate) fn to_bool(v: &Value, span: impl FnOnce() -> Span, what: &str) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => Err(Diag::error(
            span(),
            format!("{what} must be a bool, not {}", other.a_type()),
        )
        .into()),
    }
}

fn to_number(v: &Value, span: impl FnOnce() -> Span, what: &str) -> R<Number> {
    match v {
        Value::Number(n) => Ok(*n),
        Value::String(s) => Number::parse(s).ok_or_else(|| {
            Diag::error(
                span(),
                format!(
                    "{what} must be a number; it is a {}-byte string that is not one",
                    s.len()
                ),
            )
            .into()
        }),
        other => Err(Diag::error(
            span(),
            format!("{what} must be a number, not {}", other.a_type()),
        )
        .into()),
    }
}

fn add_help_for_plus(e: EvalError, op: BinaryOperator) -> EvalError {
    match e {
        EvalError::Diag(d) if op == BinaryOperator::Plus => EvalError::Diag(Box::new(
            d.help("`+` adds numbers; to join strings use a template: \"${a}${b}\""),
        )),
        other => other,
    }
}

fn op_str(op: BinaryOperator) -> &'static str {
    match op {
        BinaryOperator::Eq => "==",
        BinaryOperator::NotEq => "!=",
        BinaryOperator::LessEq => "<=",
        BinaryOperator::GreaterEq => ">=",
        BinaryOperator::Less => "<",
        BinaryOperator::Greater => ">",
        BinaryOperator::Plus => "+",
        BinaryOperator::Minus => "-",
        BinaryOperator::Mul => "*",
        BinaryOperator::Div => "/",
        BinaryOperator::Mod => "%",
        BinaryOperator::And => "&&",
        BinaryOperator::Or => "||",
    }
}

fn arithmetic(op: BinaryOperator, a: Number, b: Number, span: impl Fn() -> Span) -> R<Number> {
    let zero = || -> EvalError { Diag::error(span(), "division by zero").into() };
    let float = |x: f64| {
        Number::from_f64(x).ok_or_else(|| -> EvalError {
            Diag::error(span(), "the result is not a finite number").into()
        })
    };
    if let (Number::Int(x), Number::Int(y)) = (a, b) {
        let exact = match op {
            BinaryOperator::Plus => x.checked_add(y),
            BinaryOperator::Minus => x.checked_sub(y),
            BinaryOperator::Mul => x.checked_mul(y),
            BinaryOperator::Div => {
                if y == 0 {
                    return Err(zero());
                }
                if x % y == 0 { x.checked_div(y) } else { None }
            }
            BinaryOperator::Mod => {
                if y == 0 {
                    return Err(zero());
                }
                x.checked_rem(y)
            }
            _ => None,
        };
        if let Some(r) = exact {
            return Ok(Number::Int(r));
        }
    }
    let (x, y) = (a.as_f64(), b.as_f64());
    match op {
        BinaryOperator::Plus => float(x + y),
        BinaryOperator::Minus => float(x - y),
        BinaryOperator::Mul => float(x * y),
        BinaryOperator::Div if y == 0.0 => Err(zero()),
        BinaryOperator::Div => float(x / y),
        BinaryOperator::Mod if y == 0.0 => Err(zero()),
        BinaryOperator::Mod => float(x % y),
        _ => unreachable!("only arithmetic operators reach here"),
    }
}

/// Equality as HCL defines it: same type and same value; numbers compare by value.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.cmp_num(*y) == std::cmp::Ordering::Equal,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && equal(va, vb))
        }
        _ => a == b,
    }
}

/// The operators of a traversal after its reference, with their evaluated index keys.
struct Walk<'t> {
    ops: &'t [hcl::edit::Decorated<TraversalOperator>],
    /// Index keys by operator position (empty when the traversal has no index).
    keys: &'t [Option<Value>],
    /// Whether the index key at an operator position derives from a marked value.
    marked_keys: &'t [bool],
    file: FileId,
    fallback: Span,
}

impl Walk<'_> {
    /// The span of operator `i` (for `[key]`, of the key expression).
    fn span(&self, i: usize) -> Span {
        match self.ops[i].value() {
            TraversalOperator::Index(e) => span_of(e, self.file, self.fallback),
            _ => span_of(&self.ops[i], self.file, self.fallback),
        }
    }

    /// Applies attribute accesses, indexes and splats from operator `from` on, borrowing as
    /// long as possible.
    /// A marked value met on the way marks the result.
    fn apply<'v>(&self, mut cur: Cow<'v, Value>, from: usize) -> R<Cow<'v, Value>> {
        let at = |i: usize| move |e: Miss| -> EvalError { Diag::error(self.span(i), e.0).into() };
        let mut mark: Option<Origin> = None;
        for i in from..self.ops.len() {
            cur = match cur {
                Cow::Borrowed(Value::Sensitive(m)) => {
                    mark.get_or_insert_with(|| m.origin.clone());
                    Cow::Borrowed(&m.value)
                }
                Cow::Owned(Value::Sensitive(m)) => {
                    let super::value::Marked { value, origin } = *m;
                    mark.get_or_insert(origin);
                    Cow::Owned(value)
                }
                other => other,
            };
            if matches!(*cur, Value::Unknown) {
                return Ok(marked(cur, mark));
            }
            match self.ops[i].value() {
                TraversalOperator::GetAttr(name) => {
                    cur = get_key(cur, name.as_str(), Some(name.as_str()), "attribute")
                        .map_err(at(i))?;
                }
                TraversalOperator::LegacyIndex(n) => {
                    cur = get_index(cur, *n.value() as i128, true).map_err(at(i))?;
                }
                TraversalOperator::Index(e) => {
                    let literal = matches!(e, Expression::String(_) | Expression::Number(_));
                    let k = self
                        .keys
                        .get(i)
                        .and_then(Option::as_ref)
                        .expect("index keys are evaluated");
                    let is_list = matches!(*cur, Value::List(_));
                    // A sensitive index is not repeated in an error.
                    let shown = !self.marked_keys.get(i).copied().unwrap_or(false);
                    cur = match k {
                        Value::Unknown => return Ok(Cow::Owned(Value::Unknown)),
                        Value::Number(n) if is_list => match n.as_int() {
                            Some(n) => get_index(cur, n, shown),
                            None => Err(Miss("a list index must be a whole number".into())),
                        },
                        Value::String(s) if is_list => {
                            match Number::parse(s).and_then(Number::as_int) {
                                Some(n) => get_index(cur, n, shown),
                                None => Err(Miss("a list index must be a number".into())),
                            }
                        }
                        Value::String(s) => get_key(cur, s, literal.then_some(s.as_str()), "key"),
                        Value::Number(n) => {
                            let s = n.to_string();
                            get_key(cur, &s, literal.then_some(s.as_str()), "key")
                        }
                        other => Err(Miss(format!(
                            "an index must be a number or a string, not {}",
                            other.a_type()
                        ))),
                    }
                    .map_err(at(i))?;
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let items = match cur.into_owned() {
                        Value::List(l) => l,
                        Value::Null => Vec::new(),
                        other => vec![other],
                    };
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        out.push(self.apply(Cow::Owned(item), i + 1)?.into_owned());
                    }
                    return Ok(marked(Cow::Owned(Value::List(out)), mark));
                }
            }
        }
        Ok(marked(cur, mark))
    }
}

/// `v`, marked if a mark was met on the way to it.
fn marked(v: Cow<'_, Value>, mark: Option<Origin>) -> Cow<'_, Value> {
    match mark {
        Some(o) => Cow::Owned(v.into_owned().mark(&o)),
        None => v,
    }
}

/// Why an attribute or index could not be read (placed at its operator by the caller).
struct Miss(String);

fn get_key<'v>(
    cur: Cow<'v, Value>,
    key: &str,
    shown: Option<&str>,
    what: &str,
) -> Result<Cow<'v, Value>, Miss> {
    let missing = || {
        Miss(match shown {
            Some(k) => format!("the object has no {what} `{k}`"),
            None => format!(
                "the object has no element with the {}-byte key given here",
                key.len()
            ),
        })
    };
    match cur {
        Cow::Borrowed(Value::Object(m)) => m.get(key).map(Cow::Borrowed).ok_or_else(missing),
        Cow::Owned(Value::Object(mut m)) => m.remove(key).map(Cow::Owned).ok_or_else(missing),
        other => Err(Miss(format!(
            "cannot read {what} {} of {}",
            shown.map_or_else(|| "this".to_string(), |k| format!("`{k}`")),
            other.a_type()
        ))),
    }
}

/// Element `i` of a list. `shown`: whether an error may repeat `i` (not when it derives from a
/// sensitive value).
fn get_index<'v>(cur: Cow<'v, Value>, i: i128, shown: bool) -> Result<Cow<'v, Value>, Miss> {
    let len = match &*cur {
        Value::List(l) => l.len(),
        other => {
            return Err(Miss(format!("cannot index {} by number", other.a_type())));
        }
    };
    if i < 0 || i as usize >= len {
        let plural = if len == 1 { "" } else { "s" };
        return Err(Miss(if shown {
            format!("index {i} is out of range for a list of {len} element{plural}")
        } else {
            format!(
                "the index, which derives from a sensitive value (not shown), is out of range for a list of {len} element{plural}"
            )
        }));
    }
    Ok(match cur {
        Cow::Borrowed(Value::List(l)) => Cow::Borrowed(&l[i as usize]),
        Cow::Owned(Value::List(mut l)) => Cow::Owned(l.swap_remove(i as usize)),
        _ => unreachable!("checked above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vars(BTreeMap<String, Value>);
    impl Resolve for Vars {
        fn resolve(&self, kind: RefKind, name: &str) -> Option<Result<Resolved<'_>, Poisoned>> {
            match kind {
                RefKind::Var => self.0.get(name).map(|v| Ok((v, v.first_mark()))),
                _ => None,
            }
        }
    }

    fn eval_with(src: &str, vars: &[(&str, Value)]) -> Result<Value, String> {
        let expr = hcl::edit::parser::parse_expr(src).map_err(|e| e.to_string())?;
        let r = Vars(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        );
        let mut ev = Evaluator::new(0, &r, Path::new("."), Functions::Allowed);
        ev.eval(&expr, Span::new(0, 0..0)).map_err(|e| match e {
            EvalError::Diag(d) => d.message,
            EvalError::Poisoned => "poisoned".into(),
        })
    }

    fn eval(src: &str) -> Result<Value, String> {
        eval_with(src, &[])
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn templates_with_directives_and_strip_markers() {
        assert_eq!(eval(r#""a${1 + 2}b""#), Ok(s("a3b")));
        assert_eq!(
            eval(r#""%{ if true }yes%{ else }no%{ endif }""#),
            Ok(s("yes"))
        );
        assert_eq!(
            eval(r#""%{ for x in ["a", "b"] }${x},%{ endfor }""#),
            Ok(s("a,b,"))
        );
        assert_eq!(eval(r#""a  ${~ "b" ~}  c""#), Ok(s("abc")));
        assert_eq!(
            eval("<<EOT\n%{ for x in [1, 2] ~}\n${x}\n%{ endfor ~}\nEOT"),
            Ok(s("1\n2\n"))
        );
    }

    #[test]
    fn single_interpolation_keeps_the_type() {
        assert_eq!(
            eval(r#""${[1]}""#),
            Ok(Value::List(vec![Value::Number(Number::Int(1))]))
        );
    }

    #[test]
    fn for_expressions_lists_objects_and_grouping() {
        assert_eq!(
            eval(r#"[for i, x in ["a", "b"] : "${i}${x}" if x != "c"]"#),
            Ok(Value::List(vec![s("0a"), s("1b")]))
        );
        assert_eq!(
            eval(r#"{for k, v in {a = 1, b = 2} : upper(k) => v * 10}"#),
            Ok(Value::Object(BTreeMap::from([
                ("A".into(), Value::Number(Number::Int(10))),
                ("B".into(), Value::Number(Number::Int(20))),
            ])))
        );
        assert_eq!(
            eval(r#"{for x in ["a", "a"] : x => 1...}"#),
            Ok(Value::Object(BTreeMap::from([(
                "a".into(),
                Value::List(vec![
                    Value::Number(Number::Int(1)),
                    Value::Number(Number::Int(1))
                ])
            )])))
        );
        assert!(
            eval(r#"{for x in ["a", "a"] : x => 1}"#)
                .unwrap_err()
                .contains("same key")
        );
    }

    #[test]
    fn arithmetic_is_exact_for_integers_and_checks_division() {
        assert_eq!(eval("7 / 2"), Ok(Value::Number(Number::Float(3.5))));
        assert_eq!(eval("8 / 2"), Ok(Value::Number(Number::Int(4))));
        assert_eq!(
            eval("170141183460469231731687303715884105727 + 1")
                .map(|v| matches!(v, Value::Number(Number::Float(_)))),
            Ok(true)
        );
        assert_eq!(eval("1 % 0"), Err("division by zero".into()));
        assert_eq!(eval("\"3\" * 2"), Ok(Value::Number(Number::Int(6))));
        assert!(
            eval("\"a\" + 1")
                .unwrap_err()
                .contains("left operand of `+` must be a number")
        );
    }

    #[test]
    fn unknown_values_propagate() {
        let u = [("u", Value::Unknown)];
        assert_eq!(eval_with(r#""x${var.u}""#, &u), Ok(Value::Unknown));
        assert_eq!(eval_with("upper(var.u)", &u), Ok(Value::Unknown));
        assert_eq!(eval_with("var.u ? 1 : 2", &u), Ok(Value::Unknown));
        assert_eq!(eval_with("var.u.x[0]", &u), Ok(Value::Unknown));
        assert_eq!(eval_with("false && var.u", &u), Ok(Value::Bool(false)));
    }

    #[test]
    fn traversal_indexes_and_splats() {
        let m = Value::Object(BTreeMap::from([(
            "l".to_string(),
            Value::List(vec![
                Value::Object(BTreeMap::from([("n".to_string(), s("a"))])),
                Value::Object(BTreeMap::from([("n".to_string(), s("b"))])),
            ]),
        )]));
        let v = [("m", m)];
        assert_eq!(eval_with("var.m.l[1].n", &v), Ok(s("b")));
        assert_eq!(eval_with("var.m[\"l\"].0.n", &v), Ok(s("a")));
        assert_eq!(
            eval_with("var.m.l[*].n", &v),
            Ok(Value::List(vec![s("a"), s("b")]))
        );
        assert_eq!(
            eval_with("var.m.l[2]", &v),
            Err("index 2 is out of range for a list of 2 elements".into())
        );
        assert_eq!(
            eval_with("var.m.x", &v),
            Err("the object has no attribute `x`".into())
        );
    }

    #[test]
    fn a_sensitive_index_is_not_repeated_when_out_of_range() {
        let pin = Value::Number(Number::Int(739146825031)).mark(&Origin::Variable("pin".into()));
        let text = s("582039174461").mark(&Origin::Variable("pin_text".into()));
        let l = Value::List(vec![s("a"), s("b")]);
        let v = [("l", l), ("pin", pin), ("pin_text", text)];
        for src in ["var.l[var.pin]", "var.l[var.pin_text]", "var.l[-var.pin]"] {
            let e = eval_with(src, &v).unwrap_err();
            assert!(
                !e.contains("739146825031") && !e.contains("582039174461"),
                "{src}: {e}"
            );
            assert!(e.contains("out of range for a list of 2 elements"), "{e}");
        }
        // A public index is still shown.
        assert_eq!(
            eval_with("var.l[5]", &v),
            Err("index 5 is out of range for a list of 2 elements".into())
        );
    }

    #[test]
    fn try_and_can() {
        assert_eq!(eval(r#"try(1 / 0, "fallback")"#), Ok(s("fallback")));
        assert_eq!(eval(r#"can(1 / 0)"#), Ok(Value::Bool(false)));
        assert_eq!(eval(r#"can(1 / 1)"#), Ok(Value::Bool(true)));
    }
}
