//! The sessions behind the commands, without the command line: load a configuration, connect,
//! refresh and plan, check a saved plan against the configuration and the endpoint, run the
//! executor with its journal. `cli` parses arguments, prompts and prints around these; tests and a
//! future API call them directly.

pub mod connect;
