use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use earshot_collector::cli::{self, args::Cli};
use tracing_subscriber::EnvFilter;

// Every request allocates many small strings (parsed fields, headers, the
// answer); glibc's allocator spent a sixth of the workers' time on them
// under load, and mimalloc's thread-local free lists cut that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cli::parse_from(cli::args::database_options_after_subcommand(
        std::env::args_os().collect(),
    ));
    let filter = EnvFilter::try_from_env("EARSHOT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        logs.json().with_current_span(false).init();
    } else {
        // Colour only for a person at a terminal: never in a log file,
        // journald or a pipe, and never when NO_COLOR is set.
        logs.with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .init();
    }
    cli::log_panics();
    cli::run(args.command, args.serve).await
}
