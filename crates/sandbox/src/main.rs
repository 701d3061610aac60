//! `soushou-sandbox` binary: parse the command line, run the sandbox.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match soushou_sandbox::Cli::parse().into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("soushou-sandbox: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match soushou_sandbox::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soushou-sandbox: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
