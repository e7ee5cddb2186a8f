//! The built-in functions, named and behaving as Terraform's do.
//!
//! Every function is pure and deterministic (no `timestamp()` or `uuid()`: a value that changes
//! on every run would make every plan show a change). File functions read through
//! `config::files`: relative to the configuration directory, and never outside it.
//!
//! Errors never include a sensitive argument's value: they say which argument, its type and its
//! length. The few that name an argument (a file's path, a missing key) are in [`QUOTING`], and
//! the evaluator replaces their message when an argument is marked sensitive.
//!
//! Functions see unmarked values (the evaluator strips the marks and marks the result); the file
//! functions mark what they read, since a file's content is sensitive.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use sha2::Digest as _;

use super::files::Confined;
use super::limits::{self, MAX_COLLECTION_ITEMS, MAX_STRING_BYTES};
use super::value::{Number, Origin, Value};

/// The largest file `file()`/`filebase64()` will read.
pub(crate) const MAX_FILE_BYTES: u64 = super::files::MAX_FUNCTION_FILE_BYTES;

/// The functions whose error messages can quote an argument (a path, a key).
pub(crate) const QUOTING: &[&str] = &["file", "filebase64", "lookup", "templatefile"];

/// The functions that only move values around (select, merge, list): given unmarked
/// collections, they keep the marks of the elements inside, which reach them unstripped. None of
/// them looks into an element's value.
pub(crate) const PRESERVES_MARKS: &[&str] =
    &["concat", "element", "keys", "lookup", "merge", "values"];

/// Terraform's functions that ssmform does not have: a configuration may call them by habit, so
/// messages name them. Any other unknown name before `(` is not repeated (it may be a value typed
/// without quotes: `p4ss(w0rd)`).
const TERRAFORM_ONLY: &[&str] = &[
    "abspath",
    "alltrue",
    "anytrue",
    "basename",
    "bcrypt",
    "can",
    "chomp",
    "chunklist",
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "cidrsubnets",
    "coalescelist",
    "compact",
    "csvdecode",
    "dirname",
    "endswith",
    "fileexists",
    "filemd5",
    "fileset",
    "filesha1",
    "filesha256",
    "filesha512",
    "formatdate",
    "formatlist",
    "index",
    "indent",
    "issensitive",
    "log",
    "matchkeys",
    "md5",
    "nonsensitive",
    "one",
    "parseint",
    "pathexpand",
    "plantimestamp",
    "pow",
    "range",
    "regex",
    "regexall",
    "rsadecrypt",
    "sensitive",
    "setintersection",
    "setproduct",
    "setsubtract",
    "setunion",
    "sha512",
    "signum",
    "slice",
    "strrev",
    "sum",
    "templatefile",
    "textdecodebase64",
    "textencodebase64",
    "timeadd",
    "timecmp",
    "timestamp",
    "title",
    "tolist",
    "tomap",
    "toset",
    "transpose",
    "urlencode",
    "uuid",
    "uuidv5",
    "yamldecode",
    "yamlencode",
];

/// Whether `name` is a function name messages may repeat: one of ssmform's, one of Terraform's,
/// or a near miss of one of ssmform's (`uper`).
pub(crate) fn is_known_name(name: &str) -> bool {
    find(name).is_some()
        || TERRAFORM_ONLY.contains(&name)
        || crate::suggest::did_you_mean(name, names()).is_some()
}

/// What a function needs besides its arguments.
pub(crate) struct FuncCtx<'a> {
    pub(crate) dir: &'a Path,
    /// The reader for file functions; `None`: one confined to `dir` alone.
    pub(crate) files: Option<&'a Confined>,
}

/// Why a call failed, and which argument (0-based) it was about.
#[derive(Debug)]
pub(crate) struct FuncError {
    pub(crate) arg: Option<usize>,
    pub(crate) message: String,
}

fn err(arg: usize, message: impl Into<String>) -> FuncError {
    FuncError {
        arg: Some(arg),
        message: message.into(),
    }
}

type Impl = fn(&FuncCtx, Vec<Value>) -> Result<Value, FuncError>;

struct Func {
    name: &'static str,
    min: usize,
    max: Option<usize>,
    signature: &'static str,
    f: Option<Impl>,
}

macro_rules! funcs {
    ($( $name:literal, $min:expr, $max:expr, $sig:literal, $f:expr; )*) => {
        &[ $( Func { name: $name, min: $min, max: $max, signature: $sig, f: $f }, )* ]
    };
}

/// `try` and `can` have no implementation here: their arguments must not be evaluated before the
/// call, so the evaluator handles them.
static FUNCS: &[Func] = funcs![
    "abs", 1, Some(1), "abs(number)", Some(f_abs);
    "base64decode", 1, Some(1), "base64decode(string)", Some(f_base64decode);
    "base64encode", 1, Some(1), "base64encode(string)", Some(f_base64encode);
    "base64sha256", 1, Some(1), "base64sha256(string)", Some(f_base64sha256);
    "can", 1, Some(1), "can(expression)", None;
    "ceil", 1, Some(1), "ceil(number)", Some(f_ceil);
    "coalesce", 1, None, "coalesce(value, ...)", Some(f_coalesce);
    "concat", 1, None, "concat(list, ...)", Some(f_concat);
    "contains", 2, Some(2), "contains(list, value)", Some(f_contains);
    "distinct", 1, Some(1), "distinct(list)", Some(f_distinct);
    "element", 2, Some(2), "element(list, index)", Some(f_element);
    "endswith", 2, Some(2), "endswith(string, suffix)", Some(f_endswith);
    "file", 1, Some(1), "file(path)", Some(f_file);
    "filebase64", 1, Some(1), "filebase64(path)", Some(f_filebase64);
    "flatten", 1, Some(1), "flatten(list)", Some(f_flatten);
    "floor", 1, Some(1), "floor(number)", Some(f_floor);
    "format", 1, None, "format(spec, values...)", Some(f_format);
    "join", 2, None, "join(separator, list, ...)", Some(f_join);
    "jsondecode", 1, Some(1), "jsondecode(string)", Some(f_jsondecode);
    "jsonencode", 1, Some(1), "jsonencode(value)", Some(f_jsonencode);
    "keys", 1, Some(1), "keys(map)", Some(f_keys);
    "length", 1, Some(1), "length(list, map or string)", Some(f_length);
    "lookup", 2, Some(3), "lookup(map, key, default)", Some(f_lookup);
    "lower", 1, Some(1), "lower(string)", Some(f_lower);
    "max", 1, None, "max(number, ...)", Some(f_max);
    "merge", 1, None, "merge(map, ...)", Some(f_merge);
    "min", 1, None, "min(number, ...)", Some(f_min);
    "replace", 3, Some(3), "replace(string, substring, replacement)", Some(f_replace);
    "reverse", 1, Some(1), "reverse(list)", Some(f_reverse);
    "sha1", 1, Some(1), "sha1(string)", Some(f_sha1);
    "sha256", 1, Some(1), "sha256(string)", Some(f_sha256);
    "sort", 1, Some(1), "sort(list of strings)", Some(f_sort);
    "split", 2, Some(2), "split(separator, string)", Some(f_split);
    "startswith", 2, Some(2), "startswith(string, prefix)", Some(f_startswith);
    "strcontains", 2, Some(2), "strcontains(string, substring)", Some(f_strcontains);
    "substr", 3, Some(3), "substr(string, offset, length)", Some(f_substr);
    "tobool", 1, Some(1), "tobool(value)", Some(f_tobool);
    "tonumber", 1, Some(1), "tonumber(value)", Some(f_tonumber);
    "tostring", 1, Some(1), "tostring(value)", Some(f_tostring);
    "trim", 2, Some(2), "trim(string, characters)", Some(f_trim);
    "trimprefix", 2, Some(2), "trimprefix(string, prefix)", Some(f_trimprefix);
    "trimspace", 1, Some(1), "trimspace(string)", Some(f_trimspace);
    "trimsuffix", 2, Some(2), "trimsuffix(string, suffix)", Some(f_trimsuffix);
    "try", 1, None, "try(expression, fallback, ...)", None;
    "upper", 1, Some(1), "upper(string)", Some(f_upper);
    "values", 1, Some(1), "values(map)", Some(f_values);
    "zipmap", 2, Some(2), "zipmap(keys, values)", Some(f_zipmap);
];

fn find(name: &str) -> Option<&'static Func> {
    // FUNCS is sorted by name (a test checks it).
    FUNCS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| &FUNCS[i])
}

/// Every function's name, sorted.
pub(crate) fn names() -> Vec<&'static str> {
    FUNCS.iter().map(|f| f.name).collect()
}

/// The minimum and maximum (`None`: any) number of arguments, or `None` for an unknown function.
pub(crate) fn arity(name: &str) -> Option<(usize, Option<usize>)> {
    find(name).map(|f| (f.min, f.max))
}

pub(crate) fn signature(name: &str) -> String {
    find(name).map_or_else(|| name.to_string(), |f| format!("usage: {}", f.signature))
}

/// Calls a function with evaluated, fully known arguments.
pub(crate) fn call(name: &str, ctx: &FuncCtx, args: Vec<Value>) -> Result<Value, FuncError> {
    let Some(func) = find(name) else {
        return Err(FuncError {
            arg: None,
            message: format!("unknown function `{name}`"),
        });
    };
    let n = args.len();
    if n < func.min || func.max.is_some_and(|m| n > m) {
        return Err(FuncError {
            arg: None,
            message: format!("`{name}` cannot take {n} arguments ({})", func.signature),
        });
    }
    match func.f {
        Some(f) => f(ctx, args),
        None => Err(FuncError {
            arg: None,
            message: format!("`{name}` cannot be called this way"),
        }),
    }
}

// ---- argument helpers ---------------------------------------------------------------------

/// A string argument; numbers and bools convert as in HCL.
fn string(args: &mut [Value], i: usize) -> Result<String, FuncError> {
    match std::mem::replace(&mut args[i], Value::Null) {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(err(i, format!("must be a string, not {}", other.a_type()))),
    }
}

fn number(args: &[Value], i: usize) -> Result<Number, FuncError> {
    match &args[i] {
        Value::Number(n) => Ok(*n),
        Value::String(s) => Number::parse(s).ok_or_else(|| {
            err(
                i,
                format!("must be a number, not a {}-byte string", s.len()),
            )
        }),
        other => Err(err(i, format!("must be a number, not {}", other.a_type()))),
    }
}

fn int(args: &[Value], i: usize) -> Result<i128, FuncError> {
    number(args, i)?
        .as_int()
        .ok_or_else(|| err(i, "must be a whole number"))
}

fn list(args: &mut [Value], i: usize) -> Result<Vec<Value>, FuncError> {
    match std::mem::replace(&mut args[i], Value::Null) {
        Value::List(l) => Ok(l),
        other => Err(err(i, format!("must be a list, not {}", other.a_type()))),
    }
}

fn object(args: &mut [Value], i: usize) -> Result<BTreeMap<String, Value>, FuncError> {
    match std::mem::replace(&mut args[i], Value::Null) {
        Value::Object(o) => Ok(o),
        other => Err(err(
            i,
            format!("must be a map or object, not {}", other.a_type()),
        )),
    }
}

fn num_value(n: Option<Number>, i: usize) -> Result<Value, FuncError> {
    n.map(Value::Number)
        .ok_or_else(|| err(i, "the result is not a finite number"))
}

// ---- files ----------------------------------------------------------------------------------

/// Reads a file named in configuration through the configuration's confined reader (see
/// `config::files`: relative to the configuration directory, never outside it or the
/// `--allow-read` entries, never `.ssmform/`, regular files of at most 1 MiB only).
fn read_file(ctx: &FuncCtx, written: &str) -> Result<Vec<u8>, FuncError> {
    let own;
    let files = match ctx.files {
        Some(f) => f,
        None => {
            own = Confined::new(ctx.dir);
            &own
        }
    };
    files
        .read_path(written, MAX_FILE_BYTES)
        .map(|f| f.bytes)
        .map_err(|e| {
            let mut message = e.describe(&format!("`{written}`"));
            if let Some(help) = e.help() {
                message.push_str(&format!(" ({help})"));
            }
            err(0, message)
        })
}

fn f_file(ctx: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let p = string(&mut a, 0)?;
    let bytes = read_file(ctx, &p)?;
    match String::from_utf8(bytes) {
        // A file's content is sensitive, whatever the block that reads it says.
        Ok(s) => Ok(Value::String(s).mark(&Origin::File)),
        Err(e) => Err(err(
            0,
            format!(
                "`{p}` is not valid UTF-8 text (invalid byte at offset {}); use filebase64() and secret_binary for binary files",
                e.utf8_error().valid_up_to()
            ),
        )),
    }
}

fn f_filebase64(ctx: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let p = string(&mut a, 0)?;
    let bytes = read_file(ctx, &p)?;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)).mark(&Origin::File))
}

// ---- encodings and hashes ------------------------------------------------------------------

fn f_base64encode(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(s),
    ))
}

fn f_base64decode(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    let bytes = decode_base64(&s).map_err(|m| err(0, m))?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        err(
            0,
            "the decoded bytes are not UTF-8 text; keep binary content base64-encoded and use secret_binary",
        )
    })
}

/// Decodes standard, padded base64 (what SSM's `SecretBinary` carries). The message never
/// quotes the input.
pub(crate) fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    if let Some((i, _)) = s.char_indices().find(|(_, c)| c.is_whitespace()) {
        return Err(format!(
            "the {}-byte value is not valid base64: whitespace at byte offset {i}",
            s.len()
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| {
            let why = match e {
                base64::DecodeError::InvalidByte(offset, _) => {
                    format!("invalid character at byte offset {offset}")
                }
                base64::DecodeError::InvalidLength(_) => {
                    "its length is not a multiple of 4 (missing `=` padding?)".to_string()
                }
                base64::DecodeError::InvalidLastSymbol(offset, _) => {
                    format!("invalid last character at byte offset {offset}")
                }
                base64::DecodeError::InvalidPadding => "invalid `=` padding".to_string(),
            };
            format!("the {}-byte value is not valid base64: {why}", s.len())
        })
}

fn f_sha256(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    Ok(Value::String(hex::encode(sha2::Sha256::digest(
        s.as_bytes(),
    ))))
}

fn f_sha1(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    Ok(Value::String(hex::encode(sha1::Sha1::digest(s.as_bytes()))))
}

fn f_base64sha256(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s.as_bytes())),
    ))
}

/// JSON as Terraform's `jsonencode` writes it: compact, object keys sorted, and `<`, `>`, `&`,
/// U+2028 and U+2029 escaped as `\u003c`... — so a secret first written by Terraform does not
/// show a change when ssmform takes it over.
pub(crate) fn json_encode(v: &Value) -> Option<String> {
    let mut out = String::new();
    write_json(v, &mut out).then_some(out)
}

/// Appends `v` as JSON; false if it contains an unknown value.
fn write_json(v: &Value, out: &mut String) -> bool {
    use std::fmt::Write as _;
    match v {
        Value::Sensitive(m) => return write_json(&m.value, out),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(Number::Int(i)) => {
            let _ = write!(out, "{i}");
        }
        Value::Number(Number::Float(f)) => match serde_json::to_string(f) {
            Ok(s) => out.push_str(&s),
            Err(_) => return false,
        },
        Value::String(s) => write_json_string(s, out),
        Value::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write_json(x, out) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                if !write_json(x, out) {
                    return false;
                }
            }
            out.push('}');
        }
        Value::Unknown => return false,
    }
    true
}

fn write_json_string(s: &str, out: &mut String) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn f_jsonencode(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    // The encoding is about the size of the value (at most six times, for control characters).
    if limits::weight(&a[0]) > MAX_STRING_BYTES as u64 {
        return Err(err(0, limits::string_too_long("the JSON encoding")));
    }
    json_encode(&a[0])
        .map(Value::String)
        .ok_or_else(|| err(0, "cannot encode the value as JSON"))
}

fn f_jsondecode(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    serde_json::from_str::<serde_json::Value>(&s)
        .map(Value::from_json)
        .map_err(|e| {
            err(
                0,
                format!(
                    "the {}-byte string is not valid JSON: {} at line {} column {}",
                    s.len(),
                    json_error_kind(&e),
                    e.line(),
                    e.column()
                ),
            )
        })
}

/// serde_json's error category, without the rest of its message.
fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "invalid data",
        serde_json::error::Category::Io => "read error",
    }
}

// ---- strings ----------------------------------------------------------------------------------

fn f_lower(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::String(string(&mut a, 0)?.to_lowercase()))
}

fn f_upper(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::String(string(&mut a, 0)?.to_uppercase()))
}

fn f_trimspace(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::String(string(&mut a, 0)?.trim().to_string()))
}

fn f_trim(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    let cut: Vec<char> = string(&mut a, 1)?.chars().collect();
    Ok(Value::String(
        s.trim_matches(|c| cut.contains(&c)).to_string(),
    ))
}

fn f_trimprefix(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    let p = string(&mut a, 1)?;
    Ok(Value::String(
        s.strip_prefix(p.as_str()).unwrap_or(&s).to_string(),
    ))
}

fn f_trimsuffix(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    let p = string(&mut a, 1)?;
    Ok(Value::String(
        s.strip_suffix(p.as_str()).unwrap_or(&s).to_string(),
    ))
}

fn f_startswith(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    let p = string(&mut a, 1)?;
    Ok(Value::Bool(s.starts_with(p.as_str())))
}

fn f_endswith(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    let p = string(&mut a, 1)?;
    Ok(Value::Bool(s.ends_with(p.as_str())))
}

fn f_strcontains(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    let p = string(&mut a, 1)?;
    Ok(Value::Bool(s.contains(p.as_str())))
}

fn f_replace(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    let from = string(&mut a, 1)?;
    let to = string(&mut a, 2)?;
    if from.len() >= 2 && from.starts_with('/') && from.ends_with('/') {
        return Err(err(
            1,
            "regular-expression replacement (a substring written /like this/) is not supported",
        ));
    }
    if from.is_empty() {
        return Err(err(1, "the substring to replace is empty"));
    }
    if to.len() > from.len() {
        let grows = s.matches(from.as_str()).count() * (to.len() - from.len());
        if s.len() + grows > MAX_STRING_BYTES {
            return Err(err(0, limits::string_too_long("the result")));
        }
    }
    Ok(Value::String(s.replace(from.as_str(), &to)))
}

fn f_split(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let sep = string(&mut a, 0)?;
    let s = string(&mut a, 1)?;
    if sep.is_empty() {
        return Err(err(0, "the separator is empty"));
    }
    if s.is_empty() {
        return Ok(Value::List(vec![Value::str("")]));
    }
    if s.matches(sep.as_str()).count() >= MAX_COLLECTION_ITEMS {
        return Err(err(1, limits::too_many_items("the result")));
    }
    Ok(Value::List(s.split(sep.as_str()).map(Value::str).collect()))
}

fn f_substr(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let s = string(&mut a, 0)?;
    let offset = int(&a, 1)?;
    let length = int(&a, 2)?;
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i128;
    let start = if offset < 0 {
        (n + offset).max(0)
    } else {
        offset.min(n)
    };
    let end = if length < 0 {
        n
    } else {
        (start + length).min(n)
    };
    Ok(Value::String(
        chars[start as usize..end.max(start) as usize]
            .iter()
            .collect(),
    ))
}

fn f_join(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let sep = string(&mut a, 0)?;
    let mut parts = Vec::new();
    let mut total = 0usize;
    for i in 1..a.len() {
        let mut items = list(&mut a, i)?;
        for j in 0..items.len() {
            let part =
                string(&mut items, j).map_err(|e| err(i, format!("element {j} {}", e.message)))?;
            total += part.len() + if parts.is_empty() { 0 } else { sep.len() };
            if total > MAX_STRING_BYTES {
                return Err(err(i, limits::string_too_long("the joined string")));
            }
            parts.push(part);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

/// `format` with Terraform's verbs: `%v %#v %s %q %d %f %e %g %t %b %o %x %X %%`, flags
/// `+ - # 0 space`, width, precision and explicit argument indexes (`%[2]s`).
fn f_format(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let spec = string(&mut a, 0)?;
    let args = &a[1..];
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next_arg = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if matches!(f, '+' | '-' | '#' | '0' | ' ') {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            let mut digits = String::new();
            for d in chars.by_ref() {
                if d == ']' {
                    break;
                }
                digits.push(d);
            }
            let idx: usize = digits
                .parse()
                .map_err(|_| err(0, "invalid argument index in format spec"))?;
            if idx == 0 {
                return Err(err(0, "argument indexes in format specs start at 1"));
            }
            next_arg = idx - 1;
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() {
                width.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() {
                    p.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            return Err(err(0, "the format spec ends with an incomplete `%` verb"));
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            return Err(err(
                0,
                format!(
                    "the format spec needs more than {} value{}",
                    args.len(),
                    if args.len() == 1 { "" } else { "s" }
                ),
            ));
        };
        let argi = next_arg + 1;
        next_arg += 1;
        let text = format_verb(verb, &flags, precision, arg)
            .map_err(|m| err(argi, format!("for %{verb}: {m}")))?;
        let width: usize = width.parse().unwrap_or(0);
        if width > MAX_STRING_BYTES {
            return Err(err(0, limits::string_too_long("a padded value")));
        }
        out.push_str(&pad(&text, width, &flags));
        if out.len() > MAX_STRING_BYTES {
            return Err(err(0, limits::string_too_long("the formatted string")));
        }
    }
    Ok(Value::String(out))
}

fn pad(text: &str, width: usize, flags: &str) -> String {
    let len = text.chars().count();
    if len >= width {
        return text.to_string();
    }
    let fill = width - len;
    if flags.contains('-') {
        format!("{text}{}", " ".repeat(fill))
    } else if flags.contains('0')
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
    {
        let (sign, digits) = match text.chars().next() {
            Some(s @ ('+' | '-')) => (s.to_string(), &text[1..]),
            _ => (String::new(), text),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{text}", " ".repeat(fill))
    }
}

fn format_verb(
    verb: char,
    flags: &str,
    precision: Option<usize>,
    arg: &Value,
) -> Result<String, String> {
    let sign = |n: f64, s: String| {
        if n >= 0.0 && flags.contains('+') {
            format!("+{s}")
        } else if n >= 0.0 && flags.contains(' ') {
            format!(" {s}")
        } else {
            s
        }
    };
    let as_number = || match arg {
        Value::Number(n) => Ok(*n),
        Value::String(s) => Number::parse(s).ok_or_else(|| "the value is not a number".to_string()),
        other => Err(format!("expected a number, got {}", other.a_type())),
    };
    let as_int = || {
        as_number()?
            .as_int()
            .ok_or_else(|| "the number is not whole".to_string())
    };
    Ok(match verb {
        'v' if flags.contains('#') => json_encode(arg).ok_or("cannot encode the value")?,
        'v' => match arg {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_string(),
            other => json_encode(other).ok_or("cannot encode the value")?,
        },
        's' => match arg {
            Value::String(s) => match precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(format!("expected a string, got {}", other.a_type())),
        },
        'q' => match arg {
            Value::String(s) => serde_json::to_string(s).map_err(|e| e.to_string())?,
            Value::Number(n) => serde_json::to_string(&n.to_string()).map_err(|e| e.to_string())?,
            other => return Err(format!("expected a string, got {}", other.a_type())),
        },
        't' => match arg {
            Value::Bool(b) => b.to_string(),
            Value::String(s) if s == "true" || s == "false" => s.clone(),
            other => return Err(format!("expected a bool, got {}", other.a_type())),
        },
        'd' => {
            let i = as_int()?;
            sign(i as f64, i.to_string())
        }
        'b' => radix(as_int()?, 2, "", flags),
        'o' => radix(as_int()?, 8, "0", flags),
        'x' => match arg {
            Value::String(s) if Number::parse(s).is_none() => hex::encode(s.as_bytes()),
            _ => radix(as_int()?, 16, "0x", flags),
        },
        'X' => match arg {
            Value::String(s) if Number::parse(s).is_none() => hex::encode_upper(s.as_bytes()),
            _ => radix(as_int()?, 16, "0X", flags).to_uppercase(),
        },
        'f' | 'F' => {
            let n = as_number()?.as_f64();
            sign(n, format!("{:.*}", precision.unwrap_or(6), n))
        }
        'e' | 'E' => {
            let n = as_number()?.as_f64();
            let s = go_exponent(n, precision.unwrap_or(6));
            sign(n, if verb == 'E' { s.to_uppercase() } else { s })
        }
        'g' | 'G' => {
            let n = as_number()?;
            let s = match precision {
                Some(p) => format!("{:.*}", p, n.as_f64()),
                None => n.to_string(),
            };
            sign(n.as_f64(), s)
        }
        other => return Err(format!("unsupported verb %{other}")),
    })
}

fn radix(i: i128, base: u32, prefix: &str, flags: &str) -> String {
    let neg = i < 0;
    let mut n = i.unsigned_abs();
    let mut digits = Vec::new();
    loop {
        digits.push(std::char::from_digit((n % base as u128) as u32, base).unwrap_or('?'));
        n /= base as u128;
        if n == 0 {
            break;
        }
    }
    let body: String = digits.iter().rev().collect();
    let prefix = if flags.contains('#') { prefix } else { "" };
    format!("{}{prefix}{body}", if neg { "-" } else { "" })
}

/// `1.500000e+03`, as Go's `%e` writes it.
fn go_exponent(n: f64, precision: usize) -> String {
    let s = format!("{:.*e}", precision, n);
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

// ---- collections ------------------------------------------------------------------------------

fn f_length(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    let n = match &a[0] {
        Value::List(l) => l.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.chars().count(),
        other => {
            return Err(err(
                0,
                format!("must be a list, map or string, not {}", other.a_type()),
            ));
        }
    };
    Ok(Value::Number(Number::Int(n as i128)))
}

fn f_concat(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend(list(&mut a, i)?);
    }
    Ok(Value::List(out))
}

fn f_merge(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let mut out = BTreeMap::new();
    for i in 0..a.len() {
        if matches!(a[i], Value::Null) {
            continue;
        }
        out.extend(object(&mut a, i)?);
    }
    Ok(Value::Object(out))
}

fn f_lookup(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let key = string(&mut a, 1)?;
    let default = if a.len() > 2 {
        Some(std::mem::replace(&mut a[2], Value::Null))
    } else {
        None
    };
    let mut map = object(&mut a, 0)?;
    match (map.remove(&key), default) {
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d),
        (None, None) => Err(err(
            1,
            format!("the map has no key `{key}` and no default was given"),
        )),
    }
}

fn f_coalesce(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    a.into_iter()
        .find(|v| !matches!(v, Value::Null) && !matches!(v, Value::String(s) if s.is_empty()))
        .ok_or_else(|| FuncError {
            arg: None,
            message: "every argument is null or an empty string".to_string(),
        })
}

fn f_contains(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let l = list(&mut a, 0)?;
    Ok(Value::Bool(l.contains(&a[1])))
}

fn f_distinct(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let l = list(&mut a, 0)?;
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(Value::List(out))
}

fn f_element(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let i = int(&a, 1)?;
    let l = list(&mut a, 0)?;
    if l.is_empty() {
        return Err(err(0, "cannot take an element of an empty list"));
    }
    if i < 0 {
        return Err(err(1, "the index must not be negative"));
    }
    Ok(l[(i as usize) % l.len()].clone())
}

fn f_flatten(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    fn go(v: Vec<Value>, out: &mut Vec<Value>) {
        for x in v {
            match x {
                Value::List(inner) => go(inner, out),
                other => out.push(other),
            }
        }
    }
    let mut out = Vec::new();
    go(list(&mut a, 0)?, &mut out);
    Ok(Value::List(out))
}

fn f_keys(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::List(
        object(&mut a, 0)?.into_keys().map(Value::String).collect(),
    ))
}

fn f_values(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::List(object(&mut a, 0)?.into_values().collect()))
}

fn f_reverse(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let mut l = list(&mut a, 0)?;
    l.reverse();
    Ok(Value::List(l))
}

fn f_sort(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let mut l = list(&mut a, 0)?;
    let mut s = Vec::with_capacity(l.len());
    for i in 0..l.len() {
        s.push(string(&mut l, i).map_err(|e| err(0, format!("element {i} {}", e.message)))?);
    }
    s.sort();
    Ok(Value::List(s.into_iter().map(Value::String).collect()))
}

fn f_zipmap(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    let mut keys = list(&mut a, 0)?;
    let values = list(&mut a, 1)?;
    if keys.len() != values.len() {
        return Err(err(
            1,
            format!("{} keys but {} values", keys.len(), values.len()),
        ));
    }
    let mut out = BTreeMap::new();
    for (i, v) in values.into_iter().enumerate() {
        let k = string(&mut keys, i).map_err(|e| err(0, format!("element {i} {}", e.message)))?;
        out.insert(k, v);
    }
    Ok(Value::Object(out))
}

// ---- numbers and conversions -------------------------------------------------------------------

fn f_abs(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    let n = number(&a, 0)?;
    num_value(
        match n {
            Number::Int(i) => Some(Number::Int(i.abs())),
            Number::Float(f) => Number::from_f64(f.abs()),
        },
        0,
    )
}

fn f_floor(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    num_value(Number::from_f64(number(&a, 0)?.as_f64().floor()), 0)
}

fn f_ceil(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    num_value(Number::from_f64(number(&a, 0)?.as_f64().ceil()), 0)
}

fn extreme(a: &[Value], want: std::cmp::Ordering) -> Result<Value, FuncError> {
    let mut best = number(a, 0)?;
    for i in 1..a.len() {
        let n = number(a, i)?;
        if n.cmp_num(best) == want {
            best = n;
        }
    }
    Ok(Value::Number(best))
}

fn f_max(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    extreme(&a, std::cmp::Ordering::Greater)
}

fn f_min(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    extreme(&a, std::cmp::Ordering::Less)
}

fn f_tostring(_: &FuncCtx, mut a: Vec<Value>) -> Result<Value, FuncError> {
    if matches!(a[0], Value::Null) {
        return Ok(Value::Null);
    }
    string(&mut a, 0).map(Value::String)
}

fn f_tonumber(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    if matches!(a[0], Value::Null) {
        return Ok(Value::Null);
    }
    number(&a, 0).map(Value::Number)
}

fn f_tobool(_: &FuncCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::String(s) if s == "true" => Ok(Value::Bool(true)),
        Value::String(s) if s == "false" => Ok(Value::Bool(false)),
        Value::String(s) => Err(err(
            0,
            format!(
                "a {}-byte string that is neither \"true\" nor \"false\" cannot become a bool",
                s.len()
            ),
        )),
        other => Err(err(0, format!("{} cannot become a bool", other.a_type()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_s(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        call(
            name,
            &FuncCtx {
                dir: Path::new("."),
                files: None,
            },
            args,
        )
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn the_function_table_is_sorted_for_binary_search() {
        assert!(FUNCS.windows(2).all(|w| w[0].name < w[1].name));
        assert!(names().iter().all(|n| arity(n).is_some()));
        assert!(arity("nope").is_none());
    }

    #[test]
    fn format_handles_common_verbs() {
        let r = call_s(
            "format",
            vec![
                s("%s:%05d %.2f %q %t %-4s| %x %%"),
                s("a"),
                Value::Number(Number::Int(42)),
                Value::Number(Number::Float(3.25159)),
                s("q\""),
                Value::Bool(true),
                s("ab"),
                Value::Number(Number::Int(255)),
            ],
        )
        .unwrap();
        assert_eq!(r, s("a:00042 3.25 \"q\\\"\" true ab  | ff %"));
        let r = call_s("format", vec![s("%[2]s-%[1]s"), s("a"), s("b")]).unwrap();
        assert_eq!(r, s("b-a"));
        let e = call_s("format", vec![s("%s %s"), s("a")]).unwrap_err();
        assert!(e.message.contains("more than 1 value"), "{}", e.message);
        assert_eq!(go_exponent(1500.0, 6), "1.500000e+03");
    }

    #[test]
    fn jsonencode_matches_serde_json_apart_from_html_escapes() {
        let v = Value::from_json(serde_json::json!({
            "z": [1, -2, 2.5, true, null, "q\"\\\n\t\u{1}é"],
            "a": {"nested": []}
        }));
        assert_eq!(
            json_encode(&v).unwrap(),
            serde_json::to_string(&v.to_json().unwrap()).unwrap()
        );
    }

    #[test]
    fn jsonencode_sorts_keys_and_escapes_like_terraform() {
        let v = Value::Object(BTreeMap::from([
            ("b".to_string(), s("<&>")),
            ("a".to_string(), Value::Number(Number::Int(1))),
        ]));
        assert_eq!(
            json_encode(&v).unwrap(),
            r#"{"a":1,"b":"\u003c\u0026\u003e"}"#
        );
    }

    #[test]
    fn base64_errors_do_not_quote_the_value() {
        let e = decode_base64("c2VjcmV0!!!").unwrap_err();
        assert!(!e.contains("c2Vj") && !e.contains('!'), "{e}");
        assert!(e.contains("11-byte"), "{e}");
    }

    #[test]
    fn paths_may_not_leave_the_configuration_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cfg")).unwrap();
        std::fs::write(dir.path().join("outside.txt"), "x").unwrap();
        std::fs::write(dir.path().join("cfg/inside.txt"), "x").unwrap();
        let cfg = dir.path().join("cfg");
        let read = |p: &str| {
            read_file(
                &FuncCtx {
                    dir: &cfg,
                    files: None,
                },
                p,
            )
            .map_err(|e| e.message)
        };
        assert_eq!(read("inside.txt").unwrap(), b"x");
        assert!(read("../outside.txt").unwrap_err().contains("outside"));
        assert!(read("/etc/passwd").unwrap_err().contains("not relative"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("outside.txt"), cfg.join("link.txt"))
                .unwrap();
            assert!(read("link.txt").unwrap_err().contains("symbolic link"));
        }
    }

    #[test]
    fn string_functions() {
        assert_eq!(
            call_s("replace", vec![s("a-b-c"), s("-"), s("+")]).unwrap(),
            s("a+b+c")
        );
        assert_eq!(
            call_s(
                "substr",
                vec![
                    s("hello"),
                    Value::Number(Number::Int(1)),
                    Value::Number(Number::Int(3))
                ]
            )
            .unwrap(),
            s("ell")
        );
        assert_eq!(
            call_s("split", vec![s(","), s("a,b")]).unwrap(),
            Value::List(vec![s("a"), s("b")])
        );
        assert_eq!(call_s("trimspace", vec![s("  x \n")]).unwrap(), s("x"));
        assert_eq!(
            call_s("sha256", vec![s("abc")]).unwrap(),
            s("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }
}
