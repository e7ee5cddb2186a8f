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
//! [`workflow`] strings the stages into the sessions behind the commands; [`cli`] parses, prompts
//! and prints around them, one file per command. The layers and what each module owns are drawn in
//! `docs/architecture.md`.
//!
//! Where to start reading: [`secret`] (how plaintext is held and identified), then [`config`], then
//! [`plan`], then [`workflow`].

pub mod apply;
pub mod cli;
pub mod clock;
pub mod config;
pub mod emulator;
pub mod fasthash;
pub mod graph;
pub mod plan;
pub mod privfile;
pub mod render;
pub mod secret;
pub mod sops;
pub mod ssm;
pub mod statedir;
pub mod suggest;
pub mod term;
pub mod workflow;
