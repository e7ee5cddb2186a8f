use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli =
        ssmform::cli::Cli::parse_from(ssmform::cli::terraform_style_args(std::env::args_os()));
    ssmform::cli::run(cli).into()
}
