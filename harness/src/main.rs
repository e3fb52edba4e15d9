//! The `tlsmatrix` command line: thin, over the library's engine.

fn main() -> std::process::ExitCode {
    tlsmatrix::cli::main()
}
