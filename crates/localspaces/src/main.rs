//! The `localspaces` command.

use clap::{Parser, Subcommand};
use localspaces::config::{LogFormat, ServeConfig};
use localspaces::server::{shutdown_signal, Server};

/// mimalloc instead of glibc's malloc: a request allocates and frees many small buffers,
/// and glibc's allocator was about a tenth of the server's CPU per request.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Act on WorkSpaces' desktops (`--desktops local`).
    #[command(subcommand)]
    Desktop(DesktopCommand),
}

/// `localspaces desktop …`
#[derive(Debug, Subcommand)]
enum DesktopCommand {
    /// Run a command in a WorkSpace's desktop sandbox (through the server's desktop-exec
    /// admin route), e.g. `localspaces desktop exec ws-abc -- ls -la`.
    Exec {
        /// The WorkSpace.
        workspace_id: String,
        /// The server.
        #[arg(long, env = "LOCALSPACES_ENDPOINT", default_value = "http://127.0.0.1:4599")]
        endpoint: String,
        /// The account (default: the server's default account).
        #[arg(long, env = "LOCALSPACES_ACCOUNT")]
        account: Option<String>,
        #[arg(long, env = "AWS_DEFAULT_REGION", default_value = "us-east-1")]
        region: String,
        /// Run as the sandbox's root instead of the WorkSpace's user.
        #[arg(long)]
        root: bool,
        #[arg(long, env = "LOCALSPACES_ADMIN_TOKEN")]
        admin_token: Option<String>,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

/// Installs the log subscriber. Lines are batched for a background flusher
/// ([`localspaces::logging`]), so a request never waits on `write(2)` nor wakes a thread;
/// the returned guard writes what is left at exit.
fn init_logging(format: LogFormat) -> localspaces::logging::FlushGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOCALSPACES_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = localspaces::logging::BatchWriter::new(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Text if !ansi => builder.event_format(localspaces::logging::TextFormat).init(),
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let cfg = match cli.command {
        Some(Command::Serve(cfg)) => cfg,
        Some(Command::Desktop(DesktopCommand::Exec {
            workspace_id,
            endpoint,
            account,
            region,
            root,
            admin_token,
            command,
        })) => {
            let code = localspaces::desktop::exec::cli(
                &endpoint,
                account.as_deref(),
                &region,
                admin_token.as_deref(),
                &workspace_id,
                root.then_some("root"),
                &command,
            )?;
            std::process::exit(code);
        }
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
