//! Values that configuration expressions evaluate to.
//!
//! Like HCL's own value model, with two deliberate differences:
//! - [`Value::Unknown`] stands for a value that is only known at plan time (a data source's
//!   content, or a variable given no value under `validate`). Operations on it give `Unknown`, so
//!   everything that depends on it is skipped rather than reported as an error.
//! - `Debug` never shows a string's content (only its length): a value may be a secret, and a
//!   stray `{:?}` in a log line must not print it.
//! - [`Value::Sensitive`] marks a sensitive value — one that comes from a sensitive variable, a
//!   data source, another secret's content or a file — with where it came from. The evaluator
//!   keeps the mark on everything derived from it: an operator, function, template, conditional
//!   or `for` expression with a marked input gives a marked result, and an object whose keys
//!   derive from a marked value is marked as a whole (its key names are secret too). Marks are
//!   fine-grained: a list or an object with public keys may hold marked elements.

use std::collections::BTreeMap;
use std::fmt;

/// A number: an exact integer when it is one, else a finite float.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    pub(crate) fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            Some(Number::Int(f as i128))
        } else {
            Some(Number::Float(f))
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// The value as an integer, if it is one.
    pub(crate) fn as_int(self) -> Option<i128> {
        match self {
            Number::Int(i) => Some(i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 1.0e30 => Some(f as i128),
            Number::Float(_) => None,
        }
    }

    /// Parses a number as HCL and JSON write them (`12`, `-3.5`, `1e3`).
    pub(crate) fn parse(s: &str) -> Option<Number> {
        let t = s.trim();
        if t.is_empty() {
            return None;
        }
        if let Ok(i) = t.parse::<i128>() {
            return Some(Number::Int(i));
        }
        // Rust accepts "inf", "NaN" and "1." — HCL does not.
        if !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
            || t.ends_with('.')
            || t.starts_with('.')
        {
            return None;
        }
        t.parse::<f64>().ok().and_then(Number::from_f64)
    }

    pub(crate) fn to_json(self) -> serde_json::Value {
        match self {
            Number::Int(i) => {
                if let Ok(v) = i64::try_from(i) {
                    serde_json::Value::from(v)
                } else if let Ok(v) = u64::try_from(i) {
                    serde_json::Value::from(v)
                } else {
                    serde_json::Value::from(i as f64)
                }
            }
            Number::Float(f) => serde_json::Value::from(f),
        }
    }

    pub(crate) fn cmp_num(self, other: Number) -> std::cmp::Ordering {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a.cmp(&b),
            _ => self
                .as_f64()
                .partial_cmp(&other.as_f64())
                .unwrap_or(std::cmp::Ordering::Equal),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl From<hcl::edit::Number> for Number {
    fn from(n: hcl::edit::Number) -> Self {
        if let Some(i) = n.as_i64() {
            Number::Int(i as i128)
        } else if let Some(u) = n.as_u64() {
            Number::Int(u as i128)
        } else {
            // Parsed numbers are always finite.
            Number::from_f64(n.as_f64().unwrap_or(0.0)).unwrap_or(Number::Int(0))
        }
    }
}

/// Where a sensitive value came from, for messages ("derives from var.db_password, a sensitive
/// variable"). Only names, never values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A variable declared `sensitive = true`.
    Variable(String),
    /// A data source's content (its address).
    Data(String),
    /// A secret's content (its address).
    Secret(String),
    /// A file's content (`file`, `filebase64`).
    File,
}

impl Origin {
    /// `var.db_password, a sensitive variable`, `the content of data.ssm_secret.root`, ...
    pub(crate) fn describe(&self) -> String {
        match self {
            Origin::Variable(n) => format!("var.{n}, a sensitive variable"),
            Origin::Data(a) => format!("the content of {a}, a data source"),
            Origin::Secret(a) => format!("the content of {a}, a secret"),
            Origin::File => "the content of a file (file() and filebase64() read secrets)".into(),
        }
    }
}

/// A marked value and where its mark came from.
#[derive(Clone, PartialEq)]
pub(crate) struct Marked {
    pub(crate) value: Value,
    pub(crate) origin: Origin,
}

/// The result of evaluating an expression.
#[derive(Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    /// Lists and tuples.
    List(Vec<Value>),
    /// Objects and maps; keys are kept sorted, as HCL iterates them.
    Object(BTreeMap<String, Value>),
    /// Known only at plan time.
    Unknown,
    /// A sensitive value. Never wraps another `Sensitive` nor `Unknown` (see [`Value::mark`]).
    Sensitive(Box<Marked>),
}

impl Value {
    /// This value marked sensitive (an unknown value stays unknown; a marked one keeps its
    /// origin).
    pub(crate) fn mark(self, origin: &Origin) -> Value {
        match self {
            Value::Unknown | Value::Sensitive(_) => self,
            value => Value::Sensitive(Box::new(Marked {
                value,
                origin: origin.clone(),
            })),
        }
    }

    /// This value marked if `origin` is set.
    pub(crate) fn mark_if(self, origin: Option<&Origin>) -> Value {
        match origin {
            Some(o) => self.mark(o),
            None => self,
        }
    }

    /// The value without its own (outermost) mark, and that mark's origin.
    pub(crate) fn split(self) -> (Value, Option<Origin>) {
        match self {
            Value::Sensitive(m) => {
                let Marked { value, origin } = *m;
                (value, Some(origin))
            }
            v => (v, None),
        }
    }

    /// The value with every mark removed, anywhere inside it, and the first mark's origin.
    pub(crate) fn strip(self) -> (Value, Option<Origin>) {
        let mut first = None;
        let v = self.strip_into(&mut first);
        (v, first)
    }

    fn strip_into(self, first: &mut Option<Origin>) -> Value {
        match self {
            Value::Sensitive(m) => {
                let Marked { value, origin } = *m;
                if first.is_none() {
                    *first = Some(origin);
                }
                value.strip_into(first)
            }
            Value::List(l) if l.iter().any(Value::has_mark) => {
                Value::List(l.into_iter().map(|v| v.strip_into(first)).collect())
            }
            Value::Object(o) if o.values().any(Value::has_mark) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k, v.strip_into(first)))
                    .collect(),
            ),
            v => v,
        }
    }

    /// The origin of the first mark anywhere inside the value.
    pub(crate) fn first_mark(&self) -> Option<&Origin> {
        match self {
            Value::Sensitive(m) => Some(&m.origin),
            Value::List(l) => l.iter().find_map(Value::first_mark),
            Value::Object(o) => o.values().find_map(Value::first_mark),
            _ => None,
        }
    }

    /// Whether the value is or contains a marked value.
    pub(crate) fn has_mark(&self) -> bool {
        self.first_mark().is_some()
    }

    /// A short type name for messages: `string`, `number`, `bool`, `list`, `object`, `null`.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Sensitive(m) => m.value.type_name(),
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Object(_) => "object",
            Value::Unknown => "unknown value",
        }
    }

    /// The type name with an article, for sentences: `a string`, `an object`.
    pub(crate) fn a_type(&self) -> String {
        let t = self.type_name();
        match t {
            "object" | "unknown value" => format!("an {t}"),
            "null" => "null".to_string(),
            _ => format!("a {t}"),
        }
    }

    /// Whether the value is or contains an unknown value.
    pub(crate) fn has_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::Sensitive(m) => m.value.has_unknown(),
            Value::List(l) => l.iter().any(Value::has_unknown),
            Value::Object(o) => o.values().any(Value::has_unknown),
            _ => false,
        }
    }

    pub(crate) fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// The value in JSON, the way `jsonencode` writes it. `None` if it contains an unknown value.
    /// Marks are dropped: callers that need them look first ([`Value::first_mark`]).
    pub(crate) fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Sensitive(m) => m.value.to_json()?,
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => n.to_json(),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(l) => {
                serde_json::Value::Array(l.iter().map(Value::to_json).collect::<Option<_>>()?)
            }
            Value::Object(o) => serde_json::Value::Object(
                o.iter()
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            Value::Unknown => return None,
        })
    }

    pub(crate) fn from_json(j: serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(if let Some(i) = n.as_i64() {
                Number::Int(i as i128)
            } else if let Some(u) = n.as_u64() {
                Number::Int(u as i128)
            } else {
                Number::from_f64(n.as_f64().unwrap_or(0.0)).unwrap_or(Number::Int(0))
            }),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => {
                Value::List(a.into_iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k, Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "string({} bytes)", s.len()),
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Object(o) => f.debug_map().entries(o.iter()).finish(),
            Value::Unknown => f.write_str("(known at plan time)"),
            // Not even its shape: a sensitive object's keys are secret too.
            Value::Sensitive(m) => write!(f, "(sensitive {})", m.value.type_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_string_content() {
        let v = Value::Object(BTreeMap::from([(
            "k".to_string(),
            Value::List(vec![Value::str("canary-secret")]),
        )]));
        let s = format!("{v:?}");
        assert!(!s.contains("canary"), "{s}");
        assert!(s.contains("13 bytes"), "{s}");
    }

    #[test]
    fn numbers_parse_like_hcl() {
        assert_eq!(Number::parse("12"), Some(Number::Int(12)));
        assert_eq!(Number::parse("-3.5"), Some(Number::Float(-3.5)));
        assert_eq!(Number::parse("1e3"), Some(Number::Int(1000)));
        assert_eq!(Number::parse("inf"), None);
        assert_eq!(Number::parse("1."), None);
        assert_eq!(Number::parse(""), None);
    }
}
