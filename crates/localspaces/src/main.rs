//! The `localspaces` command.

use clap::{Parser, Subcommand};
use localspaces::config::{LogFormat, ServeConfig};
use localspaces::server::{shutdown_signal, Server};

/// An AWS WorkSpaces-compatible service for offline development and CI.
#[derive(Debug, Parser)]
#[command(name = "localspaces", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand, `serve` runs with these options.
    #[command(flatten)]
    serve: ServeConfig,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve(ServeConfig),
}

/// Installs the log subscriber. Lines go through a background writer thread with a buffer
/// that is flushed whenever the queue drains, so a request never waits on `write(2)`; the
/// returned guard flushes what is left at exit.
fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOCALSPACES_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // The worker flushes the buffer each time its queue is empty (tracing-appender's worker
    // loop), so lines appear promptly when idle and are batched under load.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let cfg = match cli.command {
        Some(Command::Serve(cfg)) => cfg,
        None => cli.serve,
    };
    let _log_guard = init_logging(cfg.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let server = Server::bind(&cfg).await?;
        let shutdown = shutdown_signal();
        // The ready line: one line on stdout, the address to point clients at.
        println!(
            "localspaces listening on http://{} (store: {}, auth: {:?}, console: http://{}/console/)",
            server.addr(),
            server.store_desc(),
            cfg.auth,
            server.addr()
        );
        server.run(shutdown).await
    })
}
