//! The integration tests: one binary, the shared helpers under `support/`, one file per area and
//! topic (`<area>_<topic>.rs`).

mod support;

mod apply_failures;
mod apply_file_modes;
mod apply_flow;
mod apply_honesty;
mod apply_interrupt;
mod apply_pacing;
mod config_cli;
mod config_errors;
mod config_files;
mod config_fmt;
mod config_limits;
mod config_props;
mod config_valid;
mod credentials_ci;
mod credentials_emulator;
mod credentials_fake;
mod credentials_leaks;
mod credentials_python;
mod credentials_refresh;
mod credentials_sources;
mod docs_readmes;
mod emulator_api;
mod emulator_auth;
mod emulator_cli;
mod emulator_client;
mod emulator_fuzz;
mod emulator_hardening;
mod emulator_limits;
mod emulator_python;
mod emulator_store;
mod examples;
mod hostile_corpus;
mod pacing_emulator;
mod pacing_scenarios;
mod plan_exit;
mod plan_files;
mod plan_local_mode;
mod plan_output;
mod plan_secrets;
mod plan_server_messages;
mod plan_snapshots;
mod repo_layers;
mod sops_files;
