mod config_cli;
mod config_errors;
mod config_fmt;
mod config_props;
mod config_support;
mod config_valid;
