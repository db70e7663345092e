//! The `localspaces` command.

use clap::{Parser, Subcommand};
use localspaces::config::{LogFormat, ServeConfig};
use localspaces::server::{shutdown_signal, Server};

/// jemalloc instead of glibc's malloc: a request allocates and frees many small buffers,
/// and glibc's allocator was about a tenth of the server's CPU per request. jemalloc
/// rather than mimalloc (used before): the mimalloc crate allocates through
/// `mi_malloc_aligned`, whose v3 fallback over-allocates for any size that is not a power of
/// two once a page's free list runs dry. Measured (DescribeWorkspaces by id, 110,100
/// WorkSpaces seeded): ~850 fewer instructions per request and 531 instead of 880 resident
/// bytes per WorkSpace.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    Serve(Box<ServeConfig>),
    /// Save or restore the state of a running server (saved environments).
    State(localspaces::state::StateArgs),
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
        #[command(flatten)]
        client: localspaces::state::AdminClient,
        /// The account (default: the server's default account).
        #[arg(long, env = "LOCALSPACES_ACCOUNT")]
        account: Option<String>,
        #[arg(long, env = "AWS_DEFAULT_REGION", default_value = "us-east-1")]
        region: String,
        /// Run as the sandbox's root instead of the WorkSpace's user.
        #[arg(long)]
        root: bool,
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
        .with_writer(writer.clone())
        .with_ansi(ansi);
    match format {
        LogFormat::Text if !ansi => {
            localspaces::logging::write_request_lines_to(writer.clone());
            builder.event_format(localspaces::logging::TextFormat).init()
        }
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let cfg = match cli.command {
        Some(Command::Serve(cfg)) => *cfg,
        Some(Command::State(args)) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            return rt.block_on(localspaces::state::run(args));
        }
        Some(Command::Desktop(DesktopCommand::Exec {
            workspace_id,
            client,
            account,
            region,
            root,
            command,
        })) => {
            let code = localspaces::desktop::exec::cli(
                &client.endpoint_url,
                account.as_deref(),
                &region,
                client.admin_token.as_deref(),
                &workspace_id,
                root.then_some("root"),
                &command,
            )?;
            std::process::exit(code);
        }
        None => cli.serve,
    };
    if cfg.desktops == localspaces::desktop::DesktopsMode::Local {
        private_mount_namespace();
    }
    let _log_guard = init_logging(cfg.log_format);
    // Writes take at most `app::WRITERS` blocking threads; the cap keeps anything else that
    // blocks (admin routes, the store's own work) from growing hundreds of threads.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(32)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let server = Server::bind(&cfg).await?;
        if let Some(path) = &cfg.seed {
            seed(&server, path)?;
        }
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

/// With `--desktops local` as root: runs this process again (same pid, same arguments) in a
/// mount namespace of its own through util-linux's `unshare`, so that the overlay mounts of
/// the desktops' root volumes are private to localspaces and its desktops and vanish with
/// them, even after SIGKILL. Returns (changing nothing) when not root, when already done, or
/// when `unshare` cannot run; the driver then copies root volumes instead.
fn private_mount_namespace() {
    use std::os::unix::process::CommandExt;
    const ENV: &str = localspaces::desktop::local::PRIVATE_MOUNTS_ENV;
    if std::env::var_os(ENV).is_some() || !rustix::process::geteuid().is_root() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    // Host mounts still propagate in (slave); ours never propagate out.
    let err = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "slave", "--"])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(ENV, "1")
        .exec();
    eprintln!("localspaces: no private mount namespace ({err}); desktop root volumes will be copies");
}

/// Imports the `--seed` document into the service before it serves (a progress bar on a
/// terminal). Skipped when the store already holds all of it.
fn seed(server: &Server, path: &std::path::Path) -> anyhow::Result<()> {
    let doc = localspaces::state::read_document(path)?;
    let bar = localspaces::state::progress_bar(localspaces::state::size(&doc), "seeding");
    let done = localspaces::state::import(server.service(), &doc, true, &|| bar.inc(1))
        .map_err(|e| anyhow::anyhow!("--seed {}: {e}", path.display()))?;
    bar.finish_and_clear();
    match done {
        Some(n) => {
            tracing::info!(resources = n.resources, transitions = n.transitions, seed = %path.display(), "seeded")
        }
        None => {
            tracing::info!(seed = %path.display(), "the store already holds the seed; not imported again")
        }
    }
    Ok(())
}
