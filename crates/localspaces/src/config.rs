//! Server configuration: what `localspaces serve` accepts on the command line or from the
//! environment (`LOCALSPACES_*`).

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// Parse SigV4 (account from the access key, region from the scope); accept any signature.
    Open,
    /// Verify SigV4 signatures against the configured credentials.
    Strict,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Options of `localspaces serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "LOCALSPACES_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free port; the ready line tells which).
    #[arg(long, env = "LOCALSPACES_PORT", default_value_t = 4599)]
    pub port: u16,
    /// Directory of the SQLite database (created if missing).
    #[arg(long, env = "LOCALSPACES_DATA_DIR", default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,
    /// Keep all state in memory (nothing survives a restart).
    #[arg(long, env = "LOCALSPACES_IN_MEMORY", default_value_t = false)]
    pub in_memory: bool,
    /// A PostgreSQL database instead of the embedded SQLite one
    /// (`postgres://user[:password]@host[:port]/db`): any number of replicas on one
    /// database serve one consistent service. Not combinable with `--data-dir` or
    /// `--in-memory`.
    #[arg(long, env = "LOCALSPACES_STORE_URL", conflicts_with_all = ["data_dir", "in_memory"])]
    pub store_url: Option<String>,
    /// Seconds to wait at start for the `--store-url` database to be reachable.
    #[arg(long, env = "LOCALSPACES_STORE_WAIT", default_value_t = 60)]
    pub store_wait: u64,
    /// Authentication mode.
    #[arg(long, env = "LOCALSPACES_AUTH", value_enum, default_value_t = AuthMode::Open)]
    pub auth: AuthMode,
    /// Credentials for strict mode: a file of lines `ACCESS_KEY SECRET_KEY [ACCOUNT_ID]`.
    #[arg(long, env = "LOCALSPACES_CREDENTIALS_FILE")]
    pub credentials_file: Option<PathBuf>,
    /// Credentials for strict mode inline: `ACCESS_KEY:SECRET_KEY[:ACCOUNT_ID]`, comma-separated.
    #[arg(long = "credentials", env = "LOCALSPACES_CREDENTIALS", value_delimiter = ',')]
    pub credentials: Vec<String>,
    /// Account of access keys that are not 12-digit account ids (open mode) or that have no
    /// account in the credentials file (strict mode).
    #[arg(long, env = "LOCALSPACES_DEFAULT_ACCOUNT", default_value = "123456789012")]
    pub default_account: String,
    /// Log line format.
    #[arg(long, env = "LOCALSPACES_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "LOCALSPACES_MAX_BODY", default_value_t = 16 * 1024 * 1024)]
    pub max_body: usize,
    /// Lifecycle timing: a profile (`instant`, `fast`, `realistic`) and/or per-transition
    /// overrides in seconds, e.g. `fast,workspace_create=5` (kinds listed in the README).
    #[arg(long, env = "LOCALSPACES_TIMING", default_value = "fast")]
    pub timing: String,
    /// Token required by the admin routes (`X-Localspaces-Admin-Token`). Without one, admin
    /// routes are open in `--auth open` and refused in `--auth strict`.
    #[arg(long, env = "LOCALSPACES_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Most connections served at once; more are closed as soon as they are accepted
    /// (keep it under the process's descriptor limit, `ulimit -n`).
    #[arg(long, env = "LOCALSPACES_MAX_CONNECTIONS", default_value_t = 900)]
    pub max_connections: usize,
    /// Seconds a client may take to send a request's head, and its body.
    #[arg(long, env = "LOCALSPACES_READ_TIMEOUT", default_value_t = 30)]
    pub read_timeout: u64,
    /// Seconds a connection (HTTP/1 or HTTP/2) may stay silent with no request in progress
    /// before it is closed.
    #[arg(long, env = "LOCALSPACES_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u64,
    /// More `Host` names the server answers to (comma-separated; `*`: any), besides
    /// loopback names, IP addresses and `--host`. Other names are refused, which stops
    /// DNS-rebinding pages from reaching the console, the admin routes and the API.
    #[arg(long, env = "LOCALSPACES_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Quota overrides, e.g. `--quota ip_groups=500` (repeatable; names in the README).
    #[arg(long = "quota", env = "LOCALSPACES_QUOTAS", value_delimiter = ',')]
    pub quotas: Vec<String>,
    /// Whether accounts are eligible for BYOL (dedicated tenancy) by default. AWS enables it
    /// per account on request; without it ModifyAccount and ListAvailableManagementCidrRanges
    /// answer AccessDeniedException. The admin route `byol` overrides it per account.
    #[arg(long, env = "LOCALSPACES_BYOL_ELIGIBLE", default_value_t = false)]
    pub byol_eligible: bool,
    /// A saved environment (`localspaces state export`) to import at start. Skipped when the
    /// store already holds all of it (a restart on the same data); a partial overlap is an error.
    #[arg(long, env = "LOCALSPACES_SEED")]
    pub seed: Option<PathBuf>,
    /// Desktops behind WorkSpaces: `none` (states move on the clock only), `local` (a
    /// sandboxed Linux desktop per WorkSpace on this host) or `kvm` (a QEMU/KVM virtual
    /// machine per WorkSpace); see the README.
    #[arg(long, env = "LOCALSPACES_DESKTOPS", value_enum, default_value_t = crate::desktop::DesktopsMode::None)]
    pub desktops: crate::desktop::DesktopsMode,
    /// Most desktops running (or starting) at once; default: one per 256 MiB of available
    /// memory (`local`), the VM memory budget over the smallest VM (`kvm`).
    #[arg(long, env = "LOCALSPACES_MAX_DESKTOPS")]
    pub max_desktops: Option<usize>,
    /// With `--desktops kvm`: the bundles' VM image, a directory built by
    /// `images/test/build.sh` or `images/desktop/build.sh`. Default:
    /// `<data-dir>/images/kvm-desktop` when built, else `<data-dir>/images/kvm-test`.
    #[arg(long, env = "LOCALSPACES_KVM_IMAGE")]
    pub kvm_image: Option<PathBuf>,
    /// With `--desktops kvm`: run VMs under QEMU's emulation (TCG, much slower) when
    /// `/dev/kvm` is missing or cannot boot a stock kernel, instead of refusing to start.
    #[arg(long, env = "LOCALSPACES_KVM_ALLOW_TCG", default_value_t = false)]
    pub kvm_allow_tcg: bool,
    /// With `--desktops kvm`: MiB of memory all running VMs may take together; default: the
    /// host's memory less 1 GiB. Creates and starts beyond it are refused.
    #[arg(long, env = "LOCALSPACES_KVM_MEMORY_MIB")]
    pub kvm_memory_mib: Option<u64>,
    /// With `--desktops kvm`: seconds a VM may take from QEMU's start to its guest agent
    /// answering.
    #[arg(long, env = "LOCALSPACES_KVM_BOOT_TIMEOUT", default_value_t = 180)]
    pub kvm_boot_timeout: u64,
    /// With `--store-url` and desktops: this replica's own directory for its desktops
    /// (volumes, snapshots, images) and its replica id, locked while it runs (two replicas
    /// on one machine need one each). Default: the default data directory.
    #[arg(long, env = "LOCALSPACES_DESKTOPS_DIR", requires = "store_url")]
    pub desktops_dir: Option<PathBuf>,
    /// With `--store-url` and desktops: the URL the other replicas reach this one on (they
    /// relay console desktop streams and desktop-exec calls to the replica that runs the
    /// desktop). Default: `http://<address>:<port>` as bound (127.0.0.1 for a wildcard
    /// address).
    #[arg(long, env = "LOCALSPACES_ADVERTISE_URL", requires = "store_url")]
    pub advertise_url: Option<String>,
    /// The AMAZON bundle catalog to serve instead of the built-in one: the JSON that `aws
    /// workspaces describe-workspace-bundles --owner AMAZON` prints for a real account.
    #[arg(long, env = "LOCALSPACES_BUNDLE_CATALOG")]
    pub bundle_catalog: Option<PathBuf>,
}

/// `$XDG_DATA_HOME/localspaces`, else `~/.local/share/localspaces`, else `./.localspaces`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(d).join("localspaces");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".local/share/localspaces");
    }
    PathBuf::from(".localspaces")
}
