fn main() -> std::process::ExitCode {
    meet_ai_loadtest::cli::main()
}
