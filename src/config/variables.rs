//! Input variables: type constraints, and values from every source in precedence order.
//!
//! Precedence, later wins: `default` < `SSMFORM_VAR_<name>` < `*.auto.vars.hcl` files (in
//! lexical order) < `--var-file` files (in command-line order) < `--var name=value` (in
//! command-line order). clap gives `--var` and `--var-file` as two separate lists, so every
//! `--var` wins over every `--var-file`, whatever their relative order.
//!
//! Values from `SSMFORM_VAR_*` and `--var` are text, read as Terraform reads `TF_VAR_*` and
//! `-var`: for variables of type `string`, `number` and `bool`, and for variables without a
//! `type`, the text is the value (converted to the type); for any other type (`list`, `map`,
//! `any`) it is parsed as an HCL expression, e.g. `--var 'names=["a", "b"]'`. Values in files are HCL expressions. Either way a value must be a
//! literal: no references, no function calls.
//!
//! Errors name the variable and where the value came from, never the value: a sensitive
//! variable's value is a secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl::edit::expr::Expression;

use super::diagnostics::Severity;
use super::expr::{EvalError, Evaluator, NoReferences};
use super::files;
use super::model::{VarValue, VariableDecl};
use super::refs::{self, Functions};
use super::source::{At, Diag, FileId, FileKind, SourceFile, Sources, Span};
use super::value::{Number, Value};
use crate::suggest;

/// The prefix of environment variables that set input variables.
pub const ENV_PREFIX: &str = "SSMFORM_VAR_";

/// Terraform's prefix, read when `SSMFORM_VAR_<name>` is not set, so that a pipeline that passes
/// values as `TF_VAR_<name>` works unchanged.
pub const TERRAFORM_ENV_PREFIX: &str = "TF_VAR_";

/// A variable's type constraint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum VarType {
    String,
    Number,
    Bool,
    Any,
    /// No `type` attribute: any value, and command-line text is taken as a string.
    Untyped,
    List(Box<VarType>),
    Map(Box<VarType>),
}

impl VarType {
    /// Parses `string`, `number`, `bool`, `any`, `list`, `map`, `list(T)`, `map(T)`.
    pub(crate) fn parse(expr: &Expression) -> Result<VarType, String> {
        const SUPPORTED: &str =
            "supported types: string, number, bool, any, list, map, list(TYPE), map(TYPE)";
        match expr {
            Expression::Variable(v) => match v.as_str() {
                "string" => Ok(VarType::String),
                "number" => Ok(VarType::Number),
                "bool" => Ok(VarType::Bool),
                "any" => Ok(VarType::Any),
                "list" | "set" | "tuple" => Ok(VarType::List(Box::new(VarType::Any))),
                "map" | "object" => Ok(VarType::Map(Box::new(VarType::Any))),
                other => Err(format!("unknown type `{other}`; {SUPPORTED}")),
            },
            Expression::FuncCall(f) if !f.name.is_namespaced() => {
                let name = f.name.name.as_str();
                let inner = || -> Result<VarType, String> {
                    match f.args.iter().collect::<Vec<_>>().as_slice() {
                        [one] => VarType::parse(one),
                        _ => Err(format!("`{name}(...)` takes one element type")),
                    }
                };
                match name {
                    "list" | "set" => Ok(VarType::List(Box::new(inner()?))),
                    "map" => Ok(VarType::Map(Box::new(inner()?))),
                    other => Err(format!(
                        "`{other}(...)` types are not supported; {SUPPORTED}"
                    )),
                }
            }
            Expression::String(s) => Err(format!(
                "a type is written without quotes: type = {}",
                s.value()
            )),
            _ => Err(format!("not a type; {SUPPORTED}")),
        }
    }

    pub(crate) fn display(&self) -> String {
        match self {
            VarType::String => "string".into(),
            VarType::Number => "number".into(),
            VarType::Bool => "bool".into(),
            VarType::Any | VarType::Untyped => "any".into(),
            VarType::List(t) if **t == VarType::Any => "list".into(),
            VarType::Map(t) if **t == VarType::Any => "map".into(),
            VarType::List(t) => format!("list({})", t.display()),
            VarType::Map(t) => format!("map({})", t.display()),
        }
    }

    /// Whether command-line and environment text is the value itself (else it is HCL).
    fn takes_raw_text(&self) -> bool {
        matches!(
            self,
            VarType::String | VarType::Number | VarType::Bool | VarType::Untyped
        )
    }

    /// Converts a value to this type as HCL does (numbers and bools become strings, numeric
    /// strings become numbers, "true"/"false" become bools). The error describes the mismatch
    /// without the value.
    pub(crate) fn convert(&self, v: Value) -> Result<Value, String> {
        match (self, v) {
            (_, Value::Unknown) => Ok(Value::Unknown),
            (_, Value::Null) => Err("the value is null".to_string()),
            (VarType::Any | VarType::Untyped, v) => Ok(v),
            (VarType::String, Value::String(s)) => Ok(Value::String(s)),
            (VarType::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
            (VarType::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
            (VarType::Number, Value::Number(n)) => Ok(Value::Number(n)),
            (VarType::Number, Value::String(s)) => Number::parse(&s)
                .map(Value::Number)
                .ok_or_else(|| format!("a number is required, but the value is a {}-byte string that is not a number", s.len())),
            (VarType::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
            (VarType::Bool, Value::String(s)) if s == "true" || s == "false" => {
                Ok(Value::Bool(s == "true"))
            }
            (VarType::Bool, Value::String(s)) => Err(format!(
                "a bool is required, but the value is a {}-byte string that is neither \"true\" nor \"false\"",
                s.len()
            )),
            (VarType::List(t), Value::List(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, x)| t.convert(x).map_err(|e| format!("element {i}: {e}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            (VarType::Map(t), Value::Object(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, (k, x))| {
                    // The key is not repeated: a map's keys can be as secret as its values.
                    let converted = t
                        .convert(x)
                        .map_err(|e| format!("the element with key number {} (in sorted order): {e}", i + 1))?;
                    Ok((k, converted))
                })
                .collect::<Result<BTreeMap<_, _>, String>>()
                .map(Value::Object),
            (t, v) => Err(format!(
                "{} is required, but the value is {}",
                a_type(t),
                v.a_type()
            )),
        }
    }
}

fn a_type(t: &VarType) -> String {
    match t {
        VarType::Any | VarType::Untyped => "any value".into(),
        VarType::List(_) => "a list".into(),
        VarType::Map(_) => "a map".into(),
        other => format!("a {}", other.display()),
    }
}

/// Evaluates a literal value expression (a default, a value in a file or on the command line).
pub(crate) fn literal_value(
    expr: &Expression,
    file: FileId,
    fallback: Span,
    dir: &Path,
) -> Result<Value, Diag> {
    let mut refs = Vec::new();
    let mut diags = Vec::new();
    refs::Collector::new(file, &mut refs, &mut diags, Functions::Forbidden).expr(expr, fallback);
    if let Some(d) = diags.into_iter().next() {
        return Err(d);
    }
    if let Some(r) = refs.first() {
        return Err(Diag::error(
            r.span,
            format!(
                "a variable's value must be a literal value; it cannot refer to {}",
                r.display()
            ),
        ));
    }
    let mut ev = Evaluator::new(file, &NoReferences, dir, Functions::Forbidden);
    ev.eval(expr, fallback).map_err(|e| match e {
        EvalError::Diag(d) => *d,
        EvalError::Poisoned => Diag::error(fallback, "the value cannot be evaluated"),
    })
}

/// The inputs that give variables their values (besides defaults).
pub(crate) struct Inputs<'a> {
    pub(crate) env: &'a [(String, String)],
    /// The configuration's confined reader, for `auto_files`.
    pub(crate) files: &'a files::Confined,
    pub(crate) auto_files: Vec<PathBuf>,
    pub(crate) var_files: &'a [PathBuf],
    pub(crate) vars: &'a [String],
}

/// Assigns every variable its value, in precedence order, recording diagnostics for undeclared
/// names, unreadable files, syntax errors and type mismatches.
pub(crate) fn assign(
    decls: &mut [VariableDecl],
    inputs: &Inputs,
    dir: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diag>,
) {
    let index: BTreeMap<String, usize> = decls
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.clone(), i))
        .collect();
    let names: Vec<String> = decls.iter().map(|d| d.name.clone()).collect();

    // Environment: only declared variables are looked up (the environment holds many things);
    // `SSMFORM_VAR_<name>`, else Terraform's `TF_VAR_<name>`.
    for decl in decls.iter_mut() {
        let found = [ENV_PREFIX, TERRAFORM_ENV_PREFIX]
            .iter()
            .find_map(|prefix| {
                let key = format!("{prefix}{}", decl.name);
                let (_, text) = inputs.env.iter().rev().find(|(k, _)| *k == key)?;
                Some((key, text.as_str()))
            });
        if let Some((key, text)) = found {
            match text_value(&decl.ty, text, dir) {
                Ok(v) => set(decl, v, key.clone(), At::Origin(key.clone()), diags),
                Err(msg) => diags.push(Diag::at(
                    Severity::Error,
                    At::Origin(key.clone()),
                    format!("invalid value for variable `{}` in {key}: {msg}", decl.name),
                )),
            }
        }
    }

    // `*.auto.vars.hcl` are the configuration's (confined to its directory); `--var-file` paths
    // are the operator's (anywhere, but regular files within the limit all the same).
    for path in &inputs.auto_files {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let read = inputs.files.read_entry(&name, files::MAX_CONFIG_FILE_BYTES);
        var_file(decls, &index, &names, path, read, dir, sources, diags);
    }
    for path in inputs.var_files {
        let read = files::read_operator_file(path, files::MAX_CONFIG_FILE_BYTES);
        var_file(decls, &index, &names, path, read, dir, sources, diags);
    }

    for arg in inputs.vars {
        let Some((name, text)) = arg.split_once('=') else {
            // Only the part before any '=' could be a name; there is none, so show nothing of
            // the argument but its length (it might be a value typed without its name).
            diags.push(
                Diag::at(
                    Severity::Error,
                    At::Origin("--var".into()),
                    format!(
                        "a --var argument ({} bytes) is not of the form NAME=VALUE",
                        arg.len()
                    ),
                )
                .help("write --var name=value"),
            );
            continue;
        };
        let name = name.trim();
        let Some(&i) = index.get(name) else {
            diags.push(undeclared_var_arg(name, &names));
            continue;
        };
        let origin = format!("--var {name}");
        let decl = &mut decls[i];
        match text_value(&decl.ty, text, dir) {
            Ok(v) => set(decl, v, origin.clone(), At::Origin(origin.clone()), diags),
            Err(msg) => diags.push(Diag::at(
                Severity::Error,
                At::Origin(origin.clone()),
                format!("invalid value for variable `{name}` in {origin}: {msg}"),
            )),
        }
    }
}

/// A `--var` naming no declared variable. The text before `=` is repeated only when it looks like
/// a misspelt variable name: it may be a value typed without its name (a base64 secret ends in
/// `=`, say).
fn undeclared_var_arg(name: &str, names: &[String]) -> Diag {
    let suggestion = suggest::help(name, names.iter().map(String::as_str));
    let looks_like_a_name = suggestion.is_some()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if looks_like_a_name {
        return Diag::at(
            Severity::Error,
            At::Origin(format!("--var {name}")),
            format!("--var sets `{name}`, but no variable `{name}` is declared"),
        )
        .maybe_help(suggestion)
        .note(
            format!("declare it: variable \"{name}\" {{ type = string }}"),
            None,
        );
    }
    Diag::at(
        Severity::Error,
        At::Origin("--var".into()),
        format!(
            "a --var argument sets a variable that is not declared (the {} characters before `=` are not repeated, in case they are a value typed without its name)",
            name.chars().count()
        ),
    )
    .help("write --var NAME=VALUE with the name of a declared variable")
}

/// Converts and stores a value, or records a type error at `at`.
fn set(decl: &mut VariableDecl, v: Value, origin: String, at: At, diags: &mut Vec<Diag>) {
    match decl.ty.convert(v) {
        Ok(value) => decl.value = VarValue::Known { value, origin },
        Err(msg) => diags.push(Diag::at(
            Severity::Error,
            at,
            format!(
                "the value of variable `{}` from {origin} does not match its type {}: {msg}",
                decl.name,
                decl.ty.display()
            ),
        )),
    }
}

/// The value of command-line or environment text for a variable of type `ty`.
fn text_value(ty: &VarType, text: &str, dir: &Path) -> Result<Value, String> {
    if text.len() > super::limits::MAX_VAR_TEXT_BYTES {
        return Err(format!(
            "the value is {} bytes, more than {}, the limit on one command-line or environment value",
            text.len(),
            super::limits::bytes(super::limits::MAX_VAR_TEXT_BYTES as u64)
        ));
    }
    if ty.takes_raw_text() {
        return Ok(Value::String(text.to_string()));
    }
    let expr = hcl::edit::parser::parse_expr(text).map_err(|e| {
        format!(
            "a {} value is written in HCL, e.g. [\"a\", \"b\"] or {{ key = \"value\" }}; the text does not parse ({} at column {})",
            ty.display(),
            e.message(),
            e.location().column()
        )
    })?;
    let span = Span::new(FileId::MAX, 0..0);
    literal_value(&expr, FileId::MAX, span, dir).map_err(|d| d.message)
}

/// Reads a variable file (`*.auto.vars.hcl` or `--var-file`): `name = value` attributes. A name
/// that is not declared is a warning (one file may serve several configurations), as in
/// Terraform.
#[allow(clippy::too_many_arguments)]
fn var_file(
    decls: &mut [VariableDecl],
    index: &BTreeMap<String, usize>,
    names: &[String],
    path: &Path,
    read: Result<Vec<u8>, files::FileError>,
    dir: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diag>,
) {
    let display = path;
    let origin_dir = display.display().to_string();
    let bytes = match read {
        Ok(b) => b,
        Err(e) => {
            let shown = format!("variable file {}", display.display());
            let mut d = Diag::at(Severity::Error, At::Origin(origin_dir), e.describe(&shown));
            if let Some(help) = e.help() {
                d = d.help(help);
            }
            diags.push(d);
            return;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diag::at(
                Severity::Error,
                At::Origin(origin_dir),
                format!(
                    "variable file {} is not valid UTF-8 (invalid byte at offset {})",
                    display.display(),
                    e.utf8_error().valid_up_to()
                ),
            ));
            return;
        }
    };
    let file = sources.add(SourceFile::new(
        display.to_path_buf(),
        super::load::without_bom(text),
        FileKind::VarFile,
    ));
    let body = match super::load::parse(sources, file) {
        Ok(mut b) => {
            super::load::finish_heredocs(&mut b, &sources.file(file).text);
            b
        }
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    let whole = Span::new(file, 0..0);
    for s in body.into_iter() {
        match s {
            hcl::edit::structure::Structure::Block(b) => {
                let span = refs::span_of(&b.ident, file, whole);
                diags.push(
                    Diag::error(
                        span,
                        "a variable file holds only `name = value` lines, not blocks",
                    )
                    .help("declare variables in configuration files; set their values here"),
                );
            }
            hcl::edit::structure::Structure::Attribute(a) => {
                let name = a.key.as_str().to_string();
                let name_span = refs::span_of(&a.key, file, whole);
                let value_span = refs::span_of(&a.value, file, whole);
                // Every value in a variable file may be a secret.
                sources.redact(value_span);
                let Some(&i) = index.get(&name) else {
                    diags.push(
                        Diag::at(
                            Severity::Warning,
                            At::Span(name_span),
                            format!("the file sets `{name}`, but no variable `{name}` is declared; the value is ignored"),
                        )
                        .maybe_help(suggest::help(&name, names.iter().map(String::as_str))),
                    );
                    continue;
                };
                let origin = {
                    let l = sources.location(name_span);
                    format!("{}:{}", display.display(), l.line)
                };
                match literal_value(&a.value, file, value_span, dir) {
                    Ok(v) => set(&mut decls[i], v, origin, At::Span(value_span), diags),
                    Err(d) => diags.push(d),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Result<VarType, String> {
        VarType::parse(&hcl::edit::parser::parse_expr(src).unwrap())
    }

    #[test]
    fn type_constraints_parse() {
        assert_eq!(ty("string"), Ok(VarType::String));
        assert_eq!(
            ty("list(number)"),
            Ok(VarType::List(Box::new(VarType::Number)))
        );
        assert_eq!(ty("map"), Ok(VarType::Map(Box::new(VarType::Any))));
        assert!(ty("\"string\"").unwrap_err().contains("without quotes"));
        assert!(ty("strng").unwrap_err().contains("unknown type"));
    }

    #[test]
    fn conversions_follow_hcl() {
        let n = VarType::Number.convert(Value::str("42")).unwrap();
        assert_eq!(n, Value::Number(Number::Int(42)));
        assert_eq!(
            VarType::String.convert(Value::Bool(true)).unwrap(),
            Value::str("true")
        );
        let e = VarType::Number
            .convert(Value::str("canary-secret"))
            .unwrap_err();
        assert!(!e.contains("canary"), "{e}");
        let e = VarType::List(Box::new(VarType::Number))
            .convert(Value::List(vec![Value::Bool(true)]))
            .unwrap_err();
        assert_eq!(
            e,
            "element 0: a number is required, but the value is a bool"
        );
    }

    #[test]
    fn text_values_are_raw_for_primitives_and_untyped_and_hcl_otherwise() {
        assert_eq!(
            text_value(&VarType::Any, "[1]", Path::new(".")).unwrap(),
            Value::List(vec![Value::Number(Number::Int(1))])
        );
        let d = Path::new(".");
        assert_eq!(
            text_value(&VarType::String, "a=b", d).unwrap(),
            Value::str("a=b")
        );
        assert_eq!(
            text_value(&VarType::Untyped, "[1]", d).unwrap(),
            Value::str("[1]")
        );
        assert_eq!(
            text_value(&VarType::List(Box::new(VarType::Any)), "[\"a\"]", d).unwrap(),
            Value::List(vec![Value::str("a")])
        );
        assert!(text_value(&VarType::List(Box::new(VarType::Any)), "[", d).is_err());
        assert!(text_value(&VarType::Map(Box::new(VarType::Any)), "{ a = var.x }", d).is_err());
    }
}
