//! HCL configuration → typed, evaluated configuration: loading, schema, variables, references,
//! evaluation, functions, diagnostics and formatting.
//!
//! # The contract other modules use
//!
//! ```text
//! load(&LoadOptions { dir, vars, env, mode }) -> Result<Config, Diagnostics>
//!     parse every *.hcl of dir (not *.vars.hcl), check the schema, give variables their values,
//!     resolve references, build the graph (cycles are errors), apply the sensitivity rule,
//!     evaluate the provider block. All problems are collected.
//! config.evaluate(&DataValues, scope) -> Evaluation { secrets, pending_data, deferred, diagnostics }
//!     pure; call it, read the data sources in `pending_data`, call it again with their values.
//! config.graph()        waves, --target closures, dependents (crate::graph::Graph)
//! config.provider()     region, endpoint, rate limits, profile
//! config.digest()       sha256 over the configuration files (sorted names + contents)
//! config.variable_values()  each variable's value in a canonical encoding (for saved plans)
//! config.secret_addresses() "secret.<label>", declaration order
//! config.diagnostic(severity, &location, message)  a diagnostic at a handed-out location
//! config.warnings()     warnings found while loading (print them; errors make load fail)
//! config.variables()    declared variables: type, sensitivity, where the value came from
//! env_vars()            the SSMFORM_VAR_* snapshot for LoadOptions::env
//! ```
//!
//! `Mode::Validate` treats a variable without a value as unknown (everything depending on it is
//! skipped, like data sources); `Mode::Plan` makes it an error naming the variable.
//!
//! # The files, in pipeline order
//!
//! ```text
//! files.rs        the one gate for reading files a configuration names: confined, no FIFOs, limits
//! source.rs       files and byte spans: file:line:col, and secret literals masked in shown lines
//! load.rs         load(): reads and parses the files, runs the phases, builds the graph
//! schema.rs       phase: allowed blocks and attributes; parsed files → typed declarations
//! model.rs        the declarations: variables, locals, data sources, secrets, the provider
//! refs.rs         the references in an expression (the graph's edges); function names checked
//! variables.rs    phase: variable types, and values from every source in precedence order
//! provider.rs     phase: the provider block, evaluated at load time (variables only)
//! value.rs        the values expressions evaluate to, Unknown included
//! expr.rs         the expression evaluator: hcl-edit expressions → values
//! functions.rs    the built-in functions, named and behaving as Terraform's do
//! evaluation.rs   Config::evaluate: every node in order → desired secrets, pending data sources
//! sops_data.rs    data "sops_file": read through files.rs, decrypted with crate::sops, sensitive
//! names.rs        SSM's naming rules for secret names and version ids (used by evaluation.rs)
//! diagnostics.rs  Diagnostic/Diagnostics: problems with file:line:col, rendered rustc style
//! fmt.rs          `ssmform fmt`: the canonical layout, changing only whitespace
//! fmt_lexer.rs    the token lexer fmt.rs works on (parsing proper is hcl-edit's)
//! ```
//!
//! # Secrets
//!
//! Secret contents and sensitive variables are secrets. Outputs hold them as
//! [`SecretValue`]/[`SecretContent`]; diagnostics never contain them (an error about a value says
//! its length and origin) and mask them in the source lines they show (see `config::source`). A secret
//! whose `sensitive = false` content — or any secret's name, version id, description, tags or KMS
//! key id, or the provider's `default_tags`, which plans always print — derives from a sensitive
//! variable, a data source or another secret's content is an error.
//!
//! # Decisions worth knowing
//!
//! - Everything read because the configuration says so — its files, `*.auto.vars.hcl`,
//!   `file()`/`filebase64()`, `data "sops_file"` — goes through `config::files`: relative to the configuration
//!   directory and never out of it (no absolute paths, no `..` or symbolic link out of it, nothing
//!   under `.ssmform/`), regular files only, with size limits (1 MiB for file functions). A
//!   configuration under review must not be able to copy a CI runner's files into a secret or a
//!   plan. `--allow-read DIR` (the operator's choice) widens it.
//! - Expressions are evaluated by `config::expr`, not `hcl::eval` (see that module for why).
//! - `--var` always wins over `--var-file` (clap keeps them in two lists).
//! - `SSMFORM_VAR_x` and `--var x=...` text is the value for `string`, `number`, `bool` and
//!   untyped variables, and HCL for the others, as Terraform treats `TF_VAR_x` and `-var`.
//! - A `secret_binary` is base64 text in configuration; the 32 KB limit counts that base64 text
//!   (the larger reading of an undocumented rule, so what validates is never refused by the API).
//! - `data "sops_file"`: every value of `data`, and `raw`, is marked sensitive; the keys of `data`
//!   are not when the file is inside the configuration directory (SOPS keeps them in clear in the
//!   committed file), so a plan can name the keys that change; through `--allow-read` the whole map
//!   is marked. `validate` treats a file no available age identity opens as unknown.
//! - `jsonencode` escapes `<`, `>` and `&` as Terraform does, so values written by Terraform do
//!   not show a change.
//! - Differences from HCL's evaluation, on purpose: `&&`/`||` short-circuit and a conditional
//!   evaluates only the branch it takes; numbers are exact integers (i128) or f64 rather than
//!   arbitrary precision; `~` strip markers remove all adjacent whitespace, as HCL's
//!   implementation does.
//! - Functions: abs, base64decode, base64encode, base64sha256, can, ceil, coalesce, concat,
//!   contains, distinct, element, endswith, file, filebase64, flatten, floor, format, join,
//!   jsondecode, jsonencode, keys, length, lookup, lower, max, merge, min, replace, reverse,
//!   sha1, sha256, sort, split, startswith, strcontains, substr, tobool, tonumber, tostring,
//!   trim, trimprefix, trimspace, trimsuffix, try, upper, values, zipmap.
//!
//! # Not supported (HCL/Terraform features)
//!
//! `object({...})`/`tuple([...])` type constraints (use `map`/`list`/`any`), variable
//! `validation` and `nullable`, provider-namespaced functions, `templatefile`, regular-expression
//! functions (`regex`, `replace` with `/re/`), non-deterministic functions (`timestamp`, `uuid`),
//! `count`/`for_each`/`dynamic` blocks, `path.*`/`terraform.*`/`each.*`/`self`, and JSON-syntax
//! configuration files (`*.hcl.json`).

// Diagnostics are this module's product, not an exceptional path: returning them by value in
// `Result`s keeps the code plain, and their size does not matter on these cold paths.
#![allow(clippy::result_large_err)]

pub(crate) mod diagnostics;
mod evaluation;
pub(crate) mod expr;
pub(crate) mod files;
pub mod fmt;
mod fmt_lexer;
pub(crate) mod functions;
pub(crate) mod limits;
pub(crate) mod load;
mod mask;
pub(crate) mod model;
pub(crate) mod names;
#[cfg(test)]
mod noninterference;
pub mod provider;
pub(crate) mod refs;
pub(crate) mod schema;
mod sops_data;
pub(crate) mod source;
pub(crate) mod value;
pub(crate) mod variables;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use diagnostics::{Diagnostic, Diagnostics, Location, Note, Severity};
pub use evaluation::{MAX_CONTENT_BYTES, MAX_DESCRIPTION_BYTES};
pub use provider::{DOCUMENTED_RATE_LIMITS, Endpoint, Provider};
pub use variables::ENV_PREFIX;

use crate::graph::Graph;
use crate::secret::{SecretContent, SecretValue};
use model::{NodeDecl, VarValue};
use schema::Decls;
use source::Sources;

/// How variables without a value are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `validate`, `graph`: a variable with no value is unknown; expressions depending on it are
    /// skipped, like those depending on data sources.
    Validate,
    /// `plan`, `apply`: a variable with no value is an error naming it.
    Plan,
}

/// What [`load`] needs.
#[derive(Clone, Debug)]
pub struct LoadOptions<'a> {
    /// The configuration directory.
    pub dir: &'a Path,
    /// `--var` and `--var-file` values, in command-line order.
    pub vars: &'a VarInputs,
    /// A snapshot of the `SSMFORM_VAR_*` environment variables ([`env_vars`]); injectable so
    /// tests do not touch the process environment.
    pub env: Vec<(String, String)>,
    pub mode: Mode,
}

/// What the command line gives the loader: variable values (`name=value` assignments and value
/// files, each in the order given; later wins, `vars` always wins over `var_files`) and the paths
/// outside the configuration directory that it may read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VarInputs {
    /// `name=value` texts.
    pub vars: Vec<String>,
    /// Paths of HCL files of `name = value` lines.
    pub var_files: Vec<PathBuf>,
    /// `--allow-read`: directories (or files) outside the configuration directory that
    /// `file()`/`filebase64()` and linked configuration files may read. Content read there is
    /// sensitive whatever the block says.
    pub allow_read: Vec<PathBuf>,
}

/// The `SSMFORM_VAR_*` and `TF_VAR_*` variables of the process environment (others are not read;
/// entries that are not UTF-8 are skipped). `SSMFORM_VAR_<name>` wins over `TF_VAR_<name>`.
pub fn env_vars() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| {
            k.starts_with(ENV_PREFIX) || k.starts_with(variables::TERRAFORM_ENV_PREFIX)
        })
        .collect()
}

/// Loads and checks the configuration in `opts.dir`: parse, schema, variables, references,
/// graph and cycles. Every problem found is returned, not just the first.
pub fn load(opts: &LoadOptions) -> Result<Config, Diagnostics> {
    load::load(opts)
}

/// A loaded configuration: declarations with their expressions, the dependency graph and the
/// provider settings. Evaluate it with [`Config::evaluate`].
pub struct Config {
    pub(crate) dir: PathBuf,
    pub(crate) sources: Sources,
    pub(crate) provider: Provider,
    pub(crate) graph: Graph,
    /// The declaration behind each graph node, by node id.
    pub(crate) nodes: Vec<NodeDecl>,
    /// Graph node ids by name, per [`model::RefKind`] (`var`, `local`, `data`, `secret`).
    pub(crate) ids: [crate::fasthash::FastMap<String, usize>; 5],
    pub(crate) decls: Decls,
    pub(crate) digest: [u8; 32],
    pub(crate) mode: Mode,
    pub(crate) warnings: Diagnostics,
    /// The reader for file functions (see [`files`]).
    pub(crate) files: files::Confined,
    /// `data "sops_file"`: where age identities are found, and the files decrypted so far.
    pub(crate) sops: sops_data::SopsFiles,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("dir", &self.dir)
            .field("nodes", &self.graph.len())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Warnings found while loading (a value file setting an undeclared variable, a rate limit
    /// above the documented one, ...). Errors make [`load`] fail instead.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// SHA-256 over the configuration files: for each file in name order, its name and its
    /// contents, each prefixed by its length. Value files are not included (the variables'
    /// values are covered by [`Config::variable_values`]).
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// Each variable's name and resolved value in a canonical encoding (compact JSON with sorted
    /// keys; `(unknown)` for a variable without a value under [`Mode::Validate`]), in declaration
    /// order, for keyed fingerprints in saved plans.
    pub fn variable_values(&self) -> Vec<(String, SecretValue)> {
        self.decls
            .variables
            .iter()
            .map(|v| {
                let encoded = match &v.value {
                    VarValue::Known { value, .. } => value
                        .to_json()
                        .and_then(|j| serde_json::to_string(&j).ok())
                        .unwrap_or_else(|| "(unknown)".to_string()),
                    VarValue::Unset => "(unknown)".to_string(),
                };
                (v.name.clone(), SecretValue::from_string(encoded))
            })
            .collect()
    }

    /// Every secret's address (`secret.<label>`), in declaration order.
    pub fn secret_addresses(&self) -> Vec<String> {
        let mut s: Vec<_> = self.decls.secrets.iter().collect();
        s.sort_by_key(|s| s.header);
        s.iter().map(|s| format!("secret.{}", s.label)).collect()
    }

    /// What the variable `name` feeds: the provider block, and the secrets that derive from it.
    /// Empty for a name that is not declared.
    pub fn variable_reach(&self, name: &str) -> VariableReach {
        let provider = self
            .decls
            .provider
            .attrs
            .iter()
            .flat_map(|a| &a.refs)
            .any(|r| r.kind == model::RefKind::Var && r.name == name);
        VariableReach {
            provider,
            secrets: self.graph.dependent_secrets(&format!("var.{name}")),
        }
    }

    /// The declared variables, in declaration order, with where each value came from.
    pub fn variables(&self) -> Vec<VariableInfo> {
        self.decls
            .variables
            .iter()
            .map(|v| VariableInfo {
                name: v.name.clone(),
                type_constraint: v.ty.display(),
                sensitive: v.sensitive,
                description: v.description.clone(),
                origin: match &v.value {
                    VarValue::Known { origin, .. } => Some(origin.clone()),
                    VarValue::Unset => None,
                },
            })
            .collect()
    }
}

/// What a variable's value reaches (see [`Config::variable_reach`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VariableReach {
    /// The provider block refers to it (region, endpoint, roles, ...).
    pub provider: bool,
    /// The secrets whose declared content, name or version derive from it, through locals,
    /// data sources and other secrets.
    pub secrets: BTreeSet<String>,
}

/// A declared variable (without its value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableInfo {
    pub name: String,
    /// `string`, `list(number)`, ...
    pub type_constraint: String,
    pub sensitive: bool,
    pub description: Option<String>,
    /// Where the value came from (`its default`, `SSMFORM_VAR_env`, `--var env`,
    /// `prod.auto.vars.hcl:3`), or `None` if it has no value.
    pub origin: Option<String>,
}

/// Values of data sources read from SSM, by address (`data.ssm_secret.<label>`).
#[derive(Clone, Debug, Default)]
pub struct DataValues(pub BTreeMap<String, SecretContent>);

/// The result of [`Config::evaluate`].
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Every secret that could be evaluated, in graph (topological) order.
    pub secrets: Vec<DesiredSecret>,
    /// Data sources whose `secret_name`/`version_id` are known but whose value was not given:
    /// the planner reads them and evaluates again.
    pub pending_data: Vec<DataRequest>,
    /// Secrets not evaluated because they wait on pending data (or, under [`Mode::Validate`], on
    /// variables without a value).
    pub deferred: Vec<String>,
    /// Problems with values: naming rules, base64, the 32 KB limit, types, functions.
    pub diagnostics: Diagnostics,
    /// Every (secret_name, version_id) a `secret` block declares whose name and version are
    /// known, deferred secrets included (sorted).
    pub declared_versions: Vec<(String, String)>,
    /// `data "sops_file"` sources left unknown under [`Mode::Validate`]: no available age
    /// identity opens their file.
    pub unread_sops_files: Vec<String>,
}

/// Which key names of a JSON secret a plan may show. Key names are secret when they derive from a
/// sensitive value; a plan shows `(sensitive key)` in their place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShownKeys {
    /// Every key (the content derives from nothing sensitive).
    All,
    /// Only these key paths (each the keys from the top down): those of the object given to a
    /// top-level `jsonencode(...)` that do not derive from a sensitive value.
    Only(BTreeSet<Vec<String>>),
}

impl ShownKeys {
    /// No key name may be shown.
    pub fn none() -> Self {
        ShownKeys::Only(BTreeSet::new())
    }

    /// Whether the key at `path` (the keys from the top down) may be shown.
    pub fn shows(&self, path: &[String]) -> bool {
        match self {
            ShownKeys::All => true,
            ShownKeys::Only(paths) => paths.contains(path),
        }
    }
}

/// A data source the planner must read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataRequest {
    /// `data.ssm_secret.<label>`.
    pub address: String,
    pub secret_name: String,
    pub version_id: String,
    /// The `data "ssm_secret" "<label>"` header.
    pub location: Location,
}

/// What one secret version must contain, according to the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredSecret {
    /// `secret.<label>`.
    pub address: String,
    pub label: String,
    pub secret_name: String,
    pub version_id: String,
    /// The content; for `secret_binary`, the decoded bytes.
    pub content: SecretContent,
    /// `sensitive` (default true): false allows a plain-text diff in plans. A secret is only
    /// `sensitive = false` when its content derives from nothing sensitive (else loading fails).
    pub sensitive: bool,
    /// Which key names of the content, when it is a JSON object, a plan may show.
    pub shown_keys: ShownKeys,
    /// The secret's description: set at creation, kept in sync with UpdateDescription.
    pub description: Option<String>,
    /// The `secret "<label>"` header.
    pub location: Location,
    /// This block's `tags` (the provider's `default_tags` are added at creation).
    pub tags: BTreeMap<String, String>,
    /// `kms_key_id`: the KMS key the secret is created with.
    pub kms_key_id: Option<String>,
    /// `enabled`, when written: the status the secret must have.
    pub enabled: Option<bool>,
    /// `exclusive_versions = true`: versions of the secret that no block declares are deleted.
    pub exclusive_versions: bool,
    /// `lifecycle { prevent_destroy = true }`.
    pub prevent_destroy: bool,
}

/// A `removed` block: the secret, or one version of it, to delete.
#[derive(Clone, Debug)]
pub struct Removed {
    pub secret_name: String,
    /// Only this version (DeleteSecretVersion); `None` for the whole secret.
    pub version_id: Option<String>,
    /// DeleteSecret's recovery window (0: at once, only with `allow_immediate = true`).
    pub recovery_window_days: u32,
    /// The `removed` header.
    pub location: Location,
}

#[cfg(test)]
mod tests {
    /// The planner shares a configuration between tasks.
    #[test]
    fn configurations_and_evaluations_can_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<super::Config>();
        send_sync::<super::Evaluation>();
        send_sync::<super::Diagnostics>();
        send_sync::<crate::graph::Graph>();
    }
}
