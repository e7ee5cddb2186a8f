//! The plan: what apply would change, computed by reading live state and diffing it against the
//! configuration, without revealing secrets.
//!
//! - [`model`]: the `Plan` as plain data (no I/O, no formatting);
//! - [`diff`]: the secret-safe content diff (key-level for JSON, line-level for non-sensitive text);
//! - [`file`]: saved plan files under a MAC.

pub mod diff;
pub mod file;
mod lifecycle;
pub mod live;
pub mod marker;
pub mod model;
pub mod refresh;

pub use model::{
    Action, Change, ContentDiff, ContentSummary, Drift, OpKind, Phase, Plan, PlanMeta, SecretOp,
    Summary,
};
