//! ssmform: a declarative reconciler for Tencent Cloud Secrets Manager (SSM).
//!
//! HCL files declare the content every secret version must hold; `plan` reads the live values and
//! shows what would change without revealing any secret; `apply` makes exactly those changes at the
//! API's rate limit, in dependency order.
//!
//! The pipeline reads off the module names:
//!
//! ```text
//! config (parse, evaluate) → graph (order) → plan (refresh through ssm, diff) → render (show)
//!                                                                            → apply (execute through ssm)
//! ```
//!
//! `emulator` is a local stand-in for Tencent Cloud that official SDKs cannot tell from the real API.
//!
//! Where to start reading: [`secret`] (how plaintext is held and identified), then [`config`], then
//! [`plan`]. The command line lives in [`cli`], one file per command.

pub mod apply;
pub mod cli;
pub mod clock;
pub mod config;
pub mod emulator;
pub mod graph;
pub mod plan;
pub mod render;
pub mod secret;
pub mod sops;
pub mod ssm;
pub mod statedir;
pub mod term;
pub mod workflow;
