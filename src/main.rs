use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ssmform::cli::Cli::parse();
    ssmform::cli::run(cli).into()
}
