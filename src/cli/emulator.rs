//! `ssmform emulator`: a local SSM service.

use super::CmdResult;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (`127.0.0.1:0` picks a free port and prints it)
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: String,
}

pub fn run(_args: Args) -> CmdResult {
    Err(super::not_built("emulator"))
}
