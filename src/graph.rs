//! The dependency graph between variables, locals, data sources and secrets.
