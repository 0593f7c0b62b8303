//! The `rollcall` command: parses the command line and hands over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    rollcall::cli::run(rollcall::cli::Cli::parse()).await
}
