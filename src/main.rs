fn main() -> std::process::ExitCode {
    ssmform::cli::main(std::env::args_os()).into()
}
