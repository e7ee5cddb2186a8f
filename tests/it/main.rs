mod emulator_api;
mod emulator_auth;
mod emulator_cli;
mod emulator_fuzz;
mod emulator_limits;
mod emulator_python;
mod emulator_store;
mod harness;
