use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use earshot_collector::{cli, config::Cli};
use tracing_subscriber::EnvFilter;

// Every request allocates many small strings (parsed fields, headers, the
// answer); glibc's allocator spent a sixth of the workers' time on them
// under load, and mimalloc's thread-local free lists cut that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("EARSHOT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: never in a log file,
        // journald or a pipe, and never when NO_COLOR is set.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    let args = Cli::parse();
    cli::run(args.command, args.serve).await
}
