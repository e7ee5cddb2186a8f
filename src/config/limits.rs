//! The limits on what one configuration can make ssmform read, build and keep.
//!
//! A configuration under review is hostile input, and so are a variable file and an `SSMFORM_VAR_*`
//! value: each limit below is checked *before* the memory or the time is spent, and each failure is
//! an error that names the limit (never the value). The figures are far above real use — a secret
//! holds at most 32 KB (64 KB as binary), and a configuration of 10,000 secrets is a few
//! megabytes — and low enough that a hostile input is refused within a second and well under
//! 100 MB of memory.
//!
//! | limit | value | why |
//! |---|---|---|
//! | configuration file, variable file | [`super::files::MAX_CONFIG_FILE_BYTES`] (16 MiB) | 10,000 secrets in one file are a few MB |
//! | a file read by `file()` / `filebase64()` | [`super::files::MAX_FUNCTION_FILE_BYTES`] (1 MiB) | a secret holds 32 KB |
//! | a SOPS file read by `data "sops_file"` | [`super::sops_data::MAX_SOPS_FILE_BYTES`] (16 MiB) | 10,000 values are about 1.8 MB; its `data` map is a collection (100,000 items at most) |
//! | a `--var` or `SSMFORM_VAR_*` value | [`MAX_VAR_TEXT_BYTES`] (64 KiB) | twice the largest secret (and Linux passes at most 128 KiB per argument) |
//! | one string (template, function result) | [`MAX_STRING_BYTES`] (1 MiB) | 32 times the largest secret |
//! | items in one list or map | [`MAX_COLLECTION_ITEMS`] (100,000) | ten times the largest configuration measured |
//! | `for` iterations in one expression | [`MAX_ITERATIONS`] (1,000,000) | nested loops multiply |
//! | bytes of values one expression builds | [`MAX_EXPRESSION_BYTES`] (16 MiB) | the size of the largest file |
//!
//! Nesting depth is bounded by the parser (64 levels of brackets, 128 chained operators), so the
//! evaluator's recursion cannot overflow the stack.

/// The longest `--var` / `SSMFORM_VAR_*` value, in bytes.
pub(crate) const MAX_VAR_TEXT_BYTES: usize = 64 * 1024;

/// The longest string a template or a function may produce, in bytes.
pub(crate) const MAX_STRING_BYTES: usize = 1024 * 1024;

/// The most items in one list or map an expression builds.
pub(crate) const MAX_COLLECTION_ITEMS: usize = 100_000;

/// The most `for` iterations (expressions and `%{for}` directives together) one expression runs.
pub(crate) const MAX_ITERATIONS: u64 = 1_000_000;

/// The most bytes (roughly: string bytes plus a few dozen per value) one expression builds in
/// lists, maps and templates.
pub(crate) const MAX_EXPRESSION_BYTES: u64 = 16 * 1024 * 1024;

/// "1 MiB (1048576 bytes)".
pub(crate) fn bytes(n: u64) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB ({n} bytes)", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB ({n} bytes)", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// The message for a string over [`MAX_STRING_BYTES`].
pub(crate) fn string_too_long(what: &str) -> String {
    format!(
        "{what} would be longer than {}, the limit on one string",
        bytes(MAX_STRING_BYTES as u64)
    )
}

/// The message for a collection over [`MAX_COLLECTION_ITEMS`].
pub(crate) fn too_many_items(what: &str) -> String {
    format!(
        "{what} would have more than {MAX_COLLECTION_ITEMS} items, the limit on one list or map"
    )
}

/// A rough size of `v` in bytes, as counted against [`MAX_EXPRESSION_BYTES`].
pub(crate) fn weight(v: &super::value::Value) -> u64 {
    use super::value::Value;
    const EACH: u64 = 32;
    match v {
        Value::String(s) => EACH + s.len() as u64,
        Value::List(l) => EACH + l.iter().map(weight).sum::<u64>(),
        Value::Object(o) => {
            EACH + o
                .iter()
                .map(|(k, v)| k.len() as u64 + weight(v))
                .sum::<u64>()
        }
        Value::Sensitive(m) => EACH + weight(&m.value),
        _ => EACH,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_are_named_in_units() {
        assert_eq!(super::bytes(1024 * 1024), "1 MiB (1048576 bytes)");
        assert_eq!(super::bytes(2048), "2 KiB (2048 bytes)");
        assert_eq!(super::bytes(10), "10 bytes");
    }
}
