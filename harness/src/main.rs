//! The `tlsmatrix` command line: thin, over the library's engine.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
