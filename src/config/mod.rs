//! HCL configuration → typed, evaluated configuration: loading, schema, functions, variables and
//! diagnostics.
