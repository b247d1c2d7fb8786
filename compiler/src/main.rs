fn main() -> std::process::ExitCode {
    sight::cli::main()
}
