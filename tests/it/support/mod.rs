//! Everything the integration tests share, one module per concern:
//!
//! - [`emulator`]: [`TestEmulator`] (in-process, one per test), [`Api`] / [`RawRequest`] for
//!   signed (and deliberately broken) requests, [`SpawnedEmulator`] (`ssmform emulator` as a
//!   child process);
//! - [`seed`]: [`Seed`], live state written into an emulator in one go;
//! - [`process`]: [`Ssmform`] (the real binary in the machine's environment, scrubbed),
//!   [`Output`] and its chainable assertions, [`Running`] (a run to signal or wait for);
//! - [`workspace`]: [`Workspace`], a configuration directory bound to an emulator, a temporary
//!   `HOME`, the emulator's credentials, a fixed plan key and `SOURCE_DATE_EPOCH`; runs in a clean
//!   environment, on a pseudo-terminal, in the background; journals and planned addresses;
//! - [`leaks`]: [`Leaks`], the one leak check (plain, any case, separators changed, hex, base64,
//!   URL and JSON escaping, truncations) over outputs and files;
//! - [`config`]: configuration fixtures loaded in-process, with their arguments and environment;
//! - [`plan`]: plan fixtures, live values read back, transcripts and snapshots;
//! - [`apply`]: generated configurations of many secrets with canaries, journals parsed;
//! - [`sops`]: the SOPS test key, files encrypted to it, and `sops-age` to decrypt what ssmform
//!   writes.
//!
//! Test files are named `<area>_<topic>.rs` (areas: `apply`, `config`, `emulator`, `plan`, plus
//! `examples`) and import what they use from here: `use crate::support::{Workspace, Leaks};`.

#![allow(dead_code)]

pub mod apply;
pub mod config;
pub mod emulator;
pub mod fake;
pub mod leaks;
pub mod plan;
pub mod process;
pub mod seed;
pub mod sops;
pub mod workspace;

pub use emulator::{Api, REGION, RawRequest, Reply, SpawnedEmulator, TestEmulator};
pub use leaks::{Leaks, assert_no_leak};
pub use process::{Output, Running, Ssmform, ssmform_bin, temp_dir, wait_until};
pub use seed::{Seed, seed_secrets};
pub use workspace::Workspace;
