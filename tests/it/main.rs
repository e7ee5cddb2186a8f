mod config_errors;
mod config_support;
mod config_valid;
