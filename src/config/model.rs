//! The declarations a configuration is made of, after the schema check: variables, locals, data
//! sources, secrets and the provider, each keeping its expressions unevaluated (with their source
//! spans) and the references found in them.

use hcl::edit::expr::Expression;

use super::source::Span;
use super::value::Value;
use super::variables::VarType;
use crate::secret::ContentKind;

/// An attribute as written: its name, its expression, and where both are.
#[derive(Clone, Debug)]
pub(crate) struct Attr {
    pub(crate) name: String,
    pub(crate) name_span: Span,
    pub(crate) expr: Expression,
    /// The expression's span.
    pub(crate) span: Span,
    /// Every reference the expression makes, in source order.
    pub(crate) refs: Vec<Reference>,
}

impl Attr {
    /// The span from the attribute name to the end of its value.
    pub(crate) fn full_span(&self) -> Span {
        self.name_span.to(self.span)
    }
}

/// What a reference points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum RefKind {
    Var = 0,
    Local = 1,
    Data = 2,
    Secret = 3,
    /// `data.sops_file.L`: a SOPS file read and decrypted at plan time.
    Sops = 4,
}

impl RefKind {
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            RefKind::Var => "var.",
            RefKind::Local => "local.",
            RefKind::Data => "data.ssm_secret.",
            RefKind::Secret => "secret.",
            RefKind::Sops => "data.sops_file.",
        }
    }

    pub(crate) fn noun(self) -> &'static str {
        match self {
            RefKind::Var => "variable",
            RefKind::Local => "local value",
            RefKind::Data | RefKind::Sops => "data source",
            RefKind::Secret => "secret",
        }
    }
}

/// A reference in an expression or in `depends_on`: `var.env`, `local.host`,
/// `secret.db.secret_string`, `data.ssm_secret.root.secret_string`.
#[derive(Clone, Debug)]
pub(crate) struct Reference {
    pub(crate) kind: RefKind,
    pub(crate) name: String,
    /// The span of the name (`env` in `var.env`), for "no such variable" errors.
    pub(crate) name_span: Span,
    /// The attribute read from a secret or data source (`secret_string`), if any.
    pub(crate) attr: Option<(String, Span)>,
    /// The whole reference, from the root to the name or attribute.
    pub(crate) span: Span,
}

impl Reference {
    /// The address of the node referred to: `var.env`, `secret.db`, `data.ssm_secret.root`.
    pub(crate) fn address(&self) -> String {
        format!("{}{}", self.kind.prefix(), self.name)
    }

    /// The reference as written, up to the attribute: `secret.db.secret_string`.
    pub(crate) fn display(&self) -> String {
        match &self.attr {
            Some((a, _)) => format!("{}.{a}", self.address()),
            None => self.address(),
        }
    }
}

/// Where a variable's value came from, for messages ("from SSMFORM_VAR_env").
#[derive(Clone, Debug)]
pub(crate) enum VarValue {
    /// A value, and a description of its origin (`its default`, `--var env`, `prod.vars.hcl`).
    Known { value: Value, origin: String },
    /// No value anywhere: unknown under `validate`, an error under `plan`.
    Unset,
}

#[derive(Clone, Debug)]
pub(crate) struct VariableDecl {
    pub(crate) name: String,
    /// `variable "name"`.
    pub(crate) header: Span,
    /// `default`, evaluated when values are assigned.
    pub(crate) default: Option<Attr>,
    pub(crate) ty: VarType,
    pub(crate) sensitive: bool,
    pub(crate) description: Option<String>,
    pub(crate) value: VarValue,
}

#[derive(Clone, Debug)]
pub(crate) struct LocalDecl {
    pub(crate) name: String,
    pub(crate) attr: Attr,
}

#[derive(Clone, Debug)]
pub(crate) struct DataDecl {
    pub(crate) label: String,
    /// `data "ssm_secret" "label"`.
    pub(crate) header: Span,
    pub(crate) secret_name: Attr,
    pub(crate) version_id: Attr,
    pub(crate) depends_on: Vec<Reference>,
}

/// `data "sops_file" "label" { source_file = "...", input_type = "..." }`.
#[derive(Clone, Debug)]
pub(crate) struct SopsFileDecl {
    pub(crate) label: String,
    /// `data "sops_file" "label"`.
    pub(crate) header: Span,
    /// The file, relative to the configuration directory.
    pub(crate) source_file: Attr,
    /// `yaml`, `json`, `dotenv`, `ini` or `binary`; from the file name when absent.
    pub(crate) input_type: Option<Attr>,
    pub(crate) depends_on: Vec<Reference>,
}

#[derive(Clone, Debug)]
pub(crate) struct SecretDecl {
    pub(crate) label: String,
    /// `secret "label"`.
    pub(crate) header: Span,
    pub(crate) secret_name: Attr,
    pub(crate) version_id: Attr,
    pub(crate) kind: ContentKind,
    /// `secret_string` or `secret_binary`.
    pub(crate) content: Attr,
    pub(crate) sensitive: bool,
    /// The `sensitive = false` attribute, when written.
    pub(crate) sensitive_span: Option<Span>,
    pub(crate) description: Option<Attr>,
    pub(crate) depends_on: Vec<Reference>,
    /// `tags = { ... }`: set when the secret is created.
    pub(crate) tags: Option<Attr>,
    /// `kms_key_id`: set when the secret is created.
    pub(crate) kms_key_id: Option<Attr>,
    /// `enabled = true | false` (a literal), when written.
    pub(crate) enabled: Option<bool>,
    /// `exclusive_versions = true`: versions no block declares are deleted.
    pub(crate) exclusive_versions: bool,
    /// `lifecycle { prevent_destroy = true }`: where it is written.
    pub(crate) prevent_destroy: Option<Span>,
}

/// A `removed { ... }` block: literals only.
#[derive(Clone, Debug)]
pub(crate) struct RemovedDecl {
    /// `removed`.
    pub(crate) header: Span,
    pub(crate) secret_name: (String, Span),
    pub(crate) version_id: Option<(String, Span)>,
    /// Days before the deletion is final (1 to 30; 0 with `allow_immediate = true`).
    pub(crate) recovery_window_days: u32,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ProviderDecl {
    pub(crate) header: Option<Span>,
    /// Its attributes, those of its nested blocks named `block.attribute` (`assume_role.role_arn`).
    pub(crate) attrs: Vec<Attr>,
    /// Its nested blocks (`assume_role`, `assume_role_with_web_identity`) and their headers.
    pub(crate) blocks: Vec<(String, Span)>,
}

/// What a graph node stands for: an index into the declaration list of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeDecl {
    Variable(usize),
    Local(usize),
    Data(usize),
    Secret(usize),
    /// A `data "sops_file"` block.
    Sops(usize),
}
