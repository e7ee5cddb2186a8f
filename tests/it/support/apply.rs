//! Shared by the apply tests: generated configurations of many secrets with canary values, values
//! read back over the API, plan output and journals parsed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::emulator::Api;
use super::leaks::Leaks;
use super::seed::Seed;

/// Addresses of the `planned_change` lines of a JSON-lines plan.
pub fn planned_addresses(stdout: &str) -> BTreeSet<String> {
    json_lines(stdout)
        .into_iter()
        .filter(|l| l["type"] == "planned_change")
        .map(|l| {
            l["change"]["resource"]["addr"]
                .as_str()
                .expect("planned_change addr")
                .to_string()
        })
        .collect()
}

/// Parse every line of `stdout` as JSON; panics on a line that is not.
pub fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

/// One managed secret of a generated configuration.
#[derive(Clone, Debug)]
pub struct Declared {
    pub label: String,
    pub name: String,
    pub value: String,
}

impl Declared {
    pub fn address(&self) -> String {
        format!("secret.{}", self.label)
    }
}

/// `n` independent secrets named `<prefix>-000..` (labels `<prefix>_000..`, dashes made
/// underscores), each holding `<tag>-<i>-<canary>`.
pub fn many(prefix: &str, n: usize, tag: &str) -> Vec<Declared> {
    (0..n)
        .map(|i| Declared {
            label: format!("{}_{i:03}", prefix.replace('-', "_")),
            name: format!("{prefix}-{i:03}"),
            value: format!("{tag}-{i}-{}", canary(i)),
        })
        .collect()
}

/// A string that must never show up anywhere but the store.
pub fn canary(i: usize) -> String {
    format!("canary{:08x}", 0x5eed_0000_u32 + i as u32)
}

/// HCL for `secrets` (version `v1`, string content).
pub fn hcl(secrets: &[Declared]) -> String {
    secrets
        .iter()
        .map(|s| {
            format!(
                "secret \"{}\" {{\n  secret_name   = \"{}\"\n  version_id    = \"v1\"\n  secret_string = \"{}\"\n}}\n",
                s.label, s.name, s.value
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The string content of `name` version `v1`.
pub async fn value(api: &Api, name: &str) -> String {
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": name, "VersionId": "v1"}),
        )
        .await;
    r["SecretString"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no SecretString: {r}"))
        .to_string()
}

/// A SQLite store path for an emulator, in `dir`.
pub fn store_in(dir: &Path) -> PathBuf {
    dir.join("emulator.db")
}

/// Journal lines as raw JSON: every line must parse, except a torn (unterminated) last one.
pub fn journal_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read journal");
    let mut out = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Value>(line.trim_end()) {
            Ok(v) => {
                assert!(
                    line.ends_with('\n'),
                    "{}: line {} is complete JSON but unterminated",
                    path.display(),
                    i + 1
                );
                out.push(v)
            }
            Err(e) => {
                assert!(
                    i + 1 == lines.len() && !line.ends_with('\n'),
                    "{}: line {} is not JSON ({e}): {line}",
                    path.display(),
                    i + 1
                );
            }
        }
    }
    out
}

/// Address → the `result` of its last `outcome` line.
pub fn journal_outcomes(lines: &[Value]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter(|l| l["type"] == "outcome")
        .map(|l| {
            (
                l["address"].as_str().expect("address").to_string(),
                l["result"].as_str().expect("result").to_string(),
            )
        })
        .collect()
}

/// Addresses with an `intent` line.
pub fn journal_intents(lines: &[Value]) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|l| l["type"] == "intent")
        .map(|l| l["address"].as_str().expect("address").to_string())
        .collect()
}

/// Count the lines of type `kind` in a (possibly still growing) journal.
pub fn count_lines(path: &Path, kind: &str) -> usize {
    let needle = format!("\"type\":\"{kind}\"");
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| l.contains(&needle)).count())
        .unwrap_or(0)
}

/// The canaries of `secrets`: each declared value, and its `canary…` part alone.
pub fn leaks_of(secrets: &[Declared]) -> Leaks {
    let mut canaries: Vec<String> = Vec::new();
    for s in secrets {
        canaries.push(s.value.clone());
        if let Some(c) = s
            .value
            .rsplit('-')
            .next()
            .filter(|c| c.starts_with("canary"))
        {
            canaries.push(c.to_string());
        }
    }
    Leaks::new(canaries)
}

/// `secrets` at version `v1`, each holding `value_of(secret)`, to seed an emulator with.
pub fn seed_of(secrets: &[Declared], value_of: impl Fn(&Declared) -> String) -> Seed {
    Seed::new().secrets(secrets.iter().map(|s| (s.name.clone(), "v1", value_of(s))))
}
