//! An action's parameters, whichever way they arrived: a JSON body (what the SDKs send with POST) or
//! flattened `Name.0.Key=value` pairs from a query string or form body (GET, and every legacy-signed
//! request).
//!
//! Both become one JSON object. Form values are all strings, so the typed getters accept `"10"` for
//! an integer only when the parameters came from a form; a JSON body must use JSON types, as the
//! real API requires.

use serde_json::{Map, Value};

use super::error::ApiError;

/// Where the parameters came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Json,
    Form,
}

#[derive(Debug, Clone)]
pub struct Params {
    map: Map<String, Value>,
    source: Source,
}

impl Params {
    pub fn empty() -> Self {
        Params {
            map: Map::new(),
            source: Source::Json,
        }
    }

    /// Parameters from a JSON body. An empty body counts as `{}`.
    pub fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Params::empty());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Params {
                map,
                source: Source::Json,
            }),
            Ok(_) => Err(ApiError::new(
                super::error::code::INVALID_PARAMETER,
                "The request body must be a JSON object.",
            )),
            Err(e) => Err(ApiError::new(
                super::error::code::INVALID_PARAMETER,
                format!(
                    "The request body is not valid JSON (line {}, column {}).",
                    e.line(),
                    e.column()
                ),
            )),
        }
    }

    /// Parameters from flattened pairs (`Tags.0.TagKey=k`), nested back into objects and arrays.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ApiError> {
        let mut root = Map::new();
        for (key, value) in pairs {
            insert_path(&mut root, key, value)?;
        }
        let map = match arrays_from_numbered_objects(Value::Object(root)) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Ok(Params {
            map,
            source: Source::Form,
        })
    }

    /// Every parameter, as one JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// `UnknownParameter` for any name not in `allowed`.
    pub fn reject_unknown(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::new(
                super::error::code::UNKNOWN_PARAMETER,
                format!("The parameter `{}` is not recognized.", truncate(k, 64)),
            )),
            None => Ok(()),
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn str_opt(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid_type(name, "a string")),
        }
    }

    pub fn str_req(&self, name: &str) -> Result<&str, ApiError> {
        self.str_opt(name)?.ok_or_else(|| ApiError::missing(name))
    }

    pub fn int_opt(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => int_of(v, self.source)
                .map(Some)
                .ok_or_else(|| ApiError::invalid_type(name, "an integer")),
        }
    }

    pub fn bool_opt(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match (self.get(name), self.source) {
            (None, _) => Ok(None),
            (Some(Value::Bool(b)), _) => Ok(Some(*b)),
            (Some(Value::String(s)), Source::Form) if s == "true" || s == "false" => {
                Ok(Some(s == "true"))
            }
            _ => Err(ApiError::invalid_type(name, "a boolean")),
        }
    }

    /// A list of objects (`Tags`, `TagFilters`); absent is empty.
    pub fn objects(&self, name: &str) -> Result<Vec<&Map<String, Value>>, ApiError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_object()
                        .ok_or_else(|| ApiError::invalid_type(name, "a list of objects"))
                })
                .collect(),
            Some(_) => Err(ApiError::invalid_type(name, "a list of objects")),
        }
    }
}

fn int_of(v: &Value, source: Source) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if source == Source::Form => s.parse().ok(),
        _ => None,
    }
}

/// The first `max` characters of `s`, for echoing client-supplied names in messages.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

fn insert_path(root: &mut Map<String, Value>, key: &str, value: &str) -> Result<(), ApiError> {
    let conflict = || {
        ApiError::new(
            super::error::code::INVALID_PARAMETER,
            format!(
                "The parameter `{}` conflicts with another parameter of the same name.",
                truncate(key, 64)
            ),
        )
    };
    let mut segments = key.split('.').peekable();
    let mut node = root;
    while let Some(seg) = segments.next() {
        if segments.peek().is_none() {
            if node.contains_key(seg) {
                return Err(conflict());
            }
            node.insert(seg.to_string(), Value::String(value.to_string()));
            return Ok(());
        }
        let next = node
            .entry(seg.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        node = match next {
            Value::Object(m) => m,
            _ => return Err(conflict()),
        };
    }
    Ok(())
}

/// `{"0": a, "1": b}` → `[a, b]` wherever an object's keys are exactly 0..n.
fn arrays_from_numbered_objects(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let n = m.len();
            let numbered = n > 0
                && (0..n).all(|i| m.contains_key(&i.to_string()))
                && m.keys().all(|k| k.bytes().all(|b| b.is_ascii_digit()));
            if numbered {
                let mut m = m;
                Value::Array(
                    (0..n)
                        .map(|i| {
                            arrays_from_numbered_objects(
                                m.remove(&i.to_string()).unwrap_or(Value::Null),
                            )
                        })
                        .collect(),
                )
            } else {
                Value::Object(
                    m.into_iter()
                        .map(|(k, v)| (k, arrays_from_numbered_objects(v)))
                        .collect(),
                )
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_pairs_nest_into_lists_of_objects() {
        let p = Params::from_pairs([
            ("SecretName", "a"),
            ("Tags.0.TagKey", "k0"),
            ("Tags.0.TagValue", "v0"),
            ("Tags.1.TagKey", "k1"),
            ("TagFilters.0.TagValue.0", "x"),
            ("Limit", "10"),
        ])
        .unwrap();
        assert_eq!(p.str_req("SecretName").unwrap(), "a");
        let tags = p.objects("Tags").unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[1]["TagKey"], "k1");
        let f = p.objects("TagFilters").unwrap();
        assert_eq!(f[0]["TagValue"], serde_json::json!(["x"]));
        assert_eq!(p.int_opt("Limit").unwrap(), Some(10));
    }

    #[test]
    fn conflicting_flattened_names_are_rejected() {
        assert!(Params::from_pairs([("A", "1"), ("A.0", "2")]).is_err());
        assert!(Params::from_pairs([("A.0", "1"), ("A", "2")]).is_err());
        assert!(Params::from_pairs([("A", "1"), ("A", "2")]).is_err());
    }

    #[test]
    fn json_numbers_must_be_numbers() {
        let p = Params::from_json(br#"{"Limit": "10", "Offset": 5, "X": null}"#).unwrap();
        assert_eq!(
            p.int_opt("Limit").unwrap_err().code,
            super::super::error::code::INVALID_PARAMETER
        );
        assert_eq!(p.int_opt("Offset").unwrap(), Some(5));
        assert_eq!(p.str_opt("X").unwrap(), None);
        assert_eq!(p.str_req("X").unwrap_err().code, "MissingParameter");
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_invalid_parameter() {
        for body in [&b"[1]"[..], b"{", b"\xff", b"\"s\""] {
            assert_eq!(
                Params::from_json(body).unwrap_err().code,
                "InvalidParameter"
            );
        }
        assert!(Params::from_json(b"  ").is_ok());
    }

    #[test]
    fn unknown_names_are_reported() {
        let p = Params::from_json(br#"{"SecretName": "a", "Bogus": 1}"#).unwrap();
        let e = p.reject_unknown(&["SecretName"]).unwrap_err();
        assert_eq!(e.code, "UnknownParameter");
        assert!(e.message.contains("`Bogus`"));
    }
}
