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

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOCALSPACES_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let cfg = match cli.command {
        Some(Command::Serve(cfg)) => cfg,
        None => cli.serve,
    };
    init_logging(cfg.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let server = Server::bind(&cfg).await?;
        // The ready line: one line on stdout, the address to point clients at.
        println!(
            "localspaces listening on http://{} (store: {}, auth: {:?})",
            server.addr(),
            server.store_desc(),
            cfg.auth
        );
        server.run(shutdown_signal()).await
    })
}
