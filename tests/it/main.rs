mod config_errors;
mod config_support;
