//! Real desktops behind WorkSpaces (`--desktops local`, `--desktops kvm`).
//!
//! A [`DesktopDriver`] owns the desktops: the lifecycle engine asks it to bring a WorkSpace's
//! desktop to where a due transition leads ([`DesktopDriver::poll`]), and only applies the
//! transition once the driver reports the work done, so the API's states follow the desktop's
//! real progress. Driver work never runs on the caller's thread: `poll` starts it on the
//! driver's own workers and answers at once.
//!
//! [`local::LocalDriver`] runs each desktop as a bubblewrap sandbox on this host (TigerVNC's
//! `Xvnc`, openbox, xterm, pcmanfm), its display reachable only through a Unix socket under
//! the data directory; [`kvm::KvmDriver`] runs each as a QEMU virtual machine, its display
//! on a Unix socket too. [`rfb`] proxies a console WebSocket to that socket; exec runs
//! commands in a sibling sandbox over the same volumes (kvm: in the guest, through its agent).

pub mod exec;
pub mod kvm;
pub mod local;
pub mod relay;
pub mod rfb;
pub mod viewer;

use clap::ValueEnum;
use std::path::PathBuf;
use std::time::Duration;

/// Which desktops back WorkSpaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DesktopsMode {
    /// No desktop: the API's states move on the clock only.
    None,
    /// A sandboxed Linux desktop per WorkSpace on this host (bubblewrap + Xvnc).
    Local,
    /// A QEMU/KVM virtual machine per WorkSpace (`--kvm-image`).
    Kvm,
}

/// Identifies one WorkSpace's desktop. Its parts are validated, so they are safe as path
/// components.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DesktopKey {
    pub account: String,
    pub region: String,
    pub workspace_id: String,
}

impl DesktopKey {
    /// A key, if the account is 12 digits, the Region looks like one and the id like `ws-…`.
    pub fn new(account: &str, region: &str, workspace_id: &str) -> Option<DesktopKey> {
        let id_ok = workspace_id.len() <= 32
            && workspace_id
                .strip_prefix("ws-")
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()));
        (id_ok && account_ok(account) && region_ok(region)).then(|| DesktopKey {
            account: account.to_string(),
            region: region.to_string(),
            workspace_id: workspace_id.to_string(),
        })
    }
}

/// Identifies an image's files: owner account, Region, `wsi-…` id (validated like
/// [`DesktopKey`], so its parts are safe as path components).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageKey {
    pub account: String,
    pub region: String,
    pub image_id: String,
}

impl ImageKey {
    /// A key, if the account is 12 digits, the Region looks like one and the id like `wsi-…`.
    pub fn new(account: &str, region: &str, image_id: &str) -> Option<ImageKey> {
        let id_ok = image_id.len() <= 32
            && image_id
                .strip_prefix("wsi-")
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()));
        (id_ok && account_ok(account) && region_ok(region)).then(|| ImageKey {
            account: account.to_string(),
            region: region.to_string(),
            image_id: image_id.to_string(),
        })
    }
}

fn account_ok(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

fn region_ok(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What a desktop is sized by and launched from (the WorkSpace's bundle and properties).
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// `Compute` wire value (VALUE, STANDARD, PERFORMANCE, POWER, …).
    pub compute: String,
    pub root_gib: i32,
    pub user_gib: i32,
    /// The image the root volume starts from: a custom bundle's image, `None` for the
    /// bundle's base image. An image with no files (imported, or made without desktops)
    /// launches from the base image.
    pub image: Option<ImageKey>,
}

/// Where a transition leads the desktop.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Create the volumes (root from the image, an empty home), take the creation snapshot,
    /// start.
    Provision,
    /// Start the stopped desktop over its volumes (compute limits applied afresh).
    Start,
    /// Stop every process of the desktop; keep its volumes.
    Stop,
    /// Stop, then start again.
    Reboot,
    /// Recreate the root volume from the image and the home from the latest snapshot.
    /// `snapshot_at`: the time of the snapshot the service reports as latest; one is taken
    /// now if the driver holds none that recent.
    Rebuild { snapshot_at: Option<f64> },
    /// Restore both volumes from the latest snapshot (taken now if missing, as for rebuild).
    Restore { snapshot_at: Option<f64> },
    /// Stop and delete the volumes and snapshots.
    Terminate,
    /// Grow the volumes to the spec's sizes (ModifyWorkspaceProperties); the desktop keeps
    /// running, or stays stopped. Volumes never shrink.
    Update,
    /// Create this desktop as the target of a migration: a fresh root volume from the
    /// spec's image, the home from `from`'s latest snapshot (taken now if the driver holds
    /// none as recent as `snapshot_at`), then start. `from` is left as it is.
    Migrate {
        from: DesktopKey,
        snapshot_at: Option<f64>,
    },
}

impl Op {
    fn same_kind(&self, other: &Op) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// How far an [`Op`] has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Started or still running in the background: ask again shortly.
    Working,
    /// Finished (reported once; the next `poll` of the same kind starts it anew).
    Done,
    /// Failed for this reason.
    Failed(String),
}

/// What a command run with [`DesktopDriver::exec`] produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExecOutput {
    /// The exit code, or `None` when killed (timeout or signal).
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// The desktops behind WorkSpaces.
pub trait DesktopDriver: Send + Sync {
    /// Brings the desktop toward `op`: starts the work in the background on first call,
    /// then reports its progress. Never blocks.
    fn poll(&self, key: &DesktopKey, op: &Op, spec: &Spec) -> Progress;
    /// Whether the desktop's processes are running and its display answered.
    fn is_running(&self, key: &DesktopKey) -> bool;
    /// Desktops that died without being asked to stop since the last call.
    fn take_failures(&self) -> Vec<DesktopKey>;
    /// Holds a desktop slot for `key` (create or start) sized by `spec`; refused, saying why,
    /// when `--max-desktops` desktops are running or held already or the host lacks room
    /// for it. Released when the desktop stops or is terminated.
    fn reserve(&self, key: &DesktopKey, spec: &Spec) -> Result<(), String>;
    /// Gives back a slot held by [`DesktopDriver::reserve`] for a desktop that will not run.
    fn release(&self, key: &DesktopKey);
    /// The limit on running desktops.
    fn max_desktops(&self) -> usize;
    /// Takes a snapshot of both volumes labelled `at` (service time), in the background,
    /// unless one at least that recent exists.
    fn snapshot(&self, key: &DesktopKey, at: f64);
    /// The Unix socket of the desktop's RFB server, if it is running.
    fn rfb_socket(&self, key: &DesktopKey) -> Option<PathBuf>;
    /// Counts a viewer in (`true`) or out; answers the number attached after the change.
    fn viewer(&self, key: &DesktopKey, attached: bool) -> usize;
    /// Runs `command` in the desktop's sandbox (as its user, or as the sandbox's root);
    /// blocking: call it off the async runtime.
    fn exec(
        &self,
        key: &DesktopKey,
        command: &[String],
        as_root: bool,
        timeout: Duration,
    ) -> Result<ExecOutput, String>;
    /// Every desktop with volumes on disk (for reconciliation after a restart).
    fn known(&self) -> Vec<DesktopKey>;
    /// Stops every desktop (the server is stopping).
    fn shutdown(&self);
    /// Kills desktops a previous process left running; answers how many. The server calls it
    /// once at start, before reconciliation (nothing of this process runs yet).
    fn kill_orphans(&self) -> usize;
    /// Process ids of the desktop's processes, as seen from the host (tests, benchmarks).
    fn pids(&self, key: &DesktopKey) -> Vec<u32>;
    /// Captures the desktop's root volume as `image` (background; poll until Done).
    fn capture_image(&self, key: &DesktopKey, image: &ImageKey) -> Progress;
    /// Copies an image's files to another key (background; poll until Done).
    fn copy_image(&self, from: &ImageKey, to: &ImageKey) -> Progress;
    /// Deletes an image's files (no error when absent).
    fn delete_image(&self, image: &ImageKey);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_safe_path_components() {
        assert!(DesktopKey::new("123456789012", "us-east-1", "ws-abc123").is_some());
        assert!(DesktopKey::new("123456789012", "us-east-1", "ws-../x").is_none());
        assert!(DesktopKey::new("12345678901", "us-east-1", "ws-abc").is_none());
        assert!(DesktopKey::new("123456789012", "../etc", "ws-abc").is_none());
        assert!(DesktopKey::new("123456789012", "us-east-1", "ws-").is_none());
        assert!(ImageKey::new("123456789012", "us-east-1", "wsi-abc123").is_some());
        assert!(ImageKey::new("123456789012", "us-east-1", "wsi-../x").is_none());
        assert!(ImageKey::new("123456789012", "us-east-1", "ws-abc123").is_none());
        assert!(ImageKey::new("1234", "us-east-1", "wsi-abc123").is_none());
    }

    #[test]
    fn op_kinds_ignore_snapshot_times() {
        assert!(Op::Rebuild { snapshot_at: None }.same_kind(&Op::Rebuild {
            snapshot_at: Some(1.0)
        }));
        assert!(!Op::Start.same_kind(&Op::Reboot));
    }
}
