//! QEMU/KVM virtual machines for WorkSpaces: one VM per WorkSpace, driven through QEMU's
//! own interfaces.
//!
//! - Disks: the root volume is a qcow2 overlay over the bundle's base image, the user volume
//!   a second qcow2 disk (the guest mounts it as the user's home); their virtual sizes are the
//!   volume sizes in GiB. Snapshots are qcow2 internal snapshots of both disks; capturing an
//!   image flattens the root overlay into a new standalone base image.
//! - Control: QMP on a Unix socket (ACPI power-down, then `quit` and a kill after a
//!   deadline; `system_reset` for reboot; live internal snapshots).
//! - Display: QEMU's VNC server on a Unix socket ([`Manager::vnc_socket`]), RFB 3.8 with
//!   security type None, for the console's WebSocket proxy.
//! - Exec and files: qemu-guest-agent on virtio-serial, reached on a Unix socket.
//! - Processes: `setpriv --pdeathsig KILL` (when util-linux has it) makes QEMU die with
//!   localspaces; a pidfile per VM lets [`Manager::reconcile`] kill leftovers after a crash.
//!
//! Layout under the state directory: `<id>/{spec.json, root.qcow2, user.qcow2, qmp.sock,
//! qga.sock, vnc.sock, qemu.pid, serial.log}`.

mod driver;
mod host;
mod img;
mod qmp;
mod vm;

use std::time::Duration;

pub use driver::{base_image, default_image_dir, ImageKey, KvmDriver, KvmOptions, GUEST_USER};
pub use host::{
    aws_compute, check_host, kvm_usability, meminfo_mib, scaled_resources, Accel, Host, Resources,
    MIN_MEMORY_MIB,
};
pub use img::QemuImg;
pub use qmp::{Agent, Qmp};
pub use vm::{
    BaseImage, Boot, ExecOutput, ExecRequest, Health, HealthEvent, KvmConfig, Manager, ReconcileReport,
    VmSpec, Volumes,
};

/// What can go wrong managing VMs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host cannot run VMs (missing QEMU, unusable KVM); the message names the fix.
    #[error("{0}")]
    HostUnsupported(String),
    /// Starting the VM would overcommit the host's memory.
    #[error(
        "not enough host memory for a {requested_mib} MiB VM: {available_mib} MiB of the \
         {budget_mib} MiB budget left"
    )]
    InsufficientCapacity {
        requested_mib: u64,
        available_mib: u64,
        budget_mib: u64,
    },
    #[error("no VM {0}")]
    NotFound(String),
    #[error("VM {0} already exists")]
    AlreadyExists(String),
    #[error("VM {id} is {state}; this needs it {needed}")]
    InvalidState {
        id: String,
        state: &'static str,
        needed: &'static str,
    },
    #[error("invalid VM request: {0}")]
    Invalid(String),
    #[error("{what} timed out after {after:?}")]
    Timeout { what: String, after: Duration },
    /// QEMU answered a QMP command with an error, or exited while booting.
    #[error("QEMU: {0}")]
    Qemu(String),
    /// The guest agent answered with an error.
    #[error("guest agent: {0}")]
    Agent(String),
    #[error("unexpected answer: {0}")]
    Protocol(String),
    #[error("qemu-img {args}: {stderr}")]
    Image { args: String, stderr: String },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

impl Error {
    fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    fn timeout(what: impl Into<String>, after: Duration) -> Error {
        Error::Timeout {
            what: what.into(),
            after,
        }
    }
}
