//! The `warden` binary: logging, the allocator, and the command line
//! (`cli`) over the library's public API. No engine code here.

mod cli;

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// mimalloc, not glibc's malloc: glibc kept freed 19 MiB argon2 blocks
/// resident (50 logins one after another left the server at 249 MiB);
/// mimalloc gives most of them back (50 MiB after the same 50, 70 at
/// most). See docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("WARDEN_LOG")
                .unwrap_or_else(|_| EnvFilter::new("warn,warden::authz=info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: a log file or collector
        // gets plain text, not escape codes.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli::run(cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Rendered diagnostics already carry their own `error:` heading.
            let text = format!("{error:#}");
            if text.starts_with("error") {
                eprintln!("{text}");
            } else {
                eprintln!("error: {text}");
            }
            ExitCode::FAILURE
        }
    }
}
