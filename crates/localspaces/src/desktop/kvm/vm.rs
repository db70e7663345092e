//! The VM manager: provision, start, stop, reboot, snapshots, rebuild, capture, terminate,
//! health, exec and reconcile.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::process::Command;
use tokio::sync::{broadcast, oneshot, watch};

use super::host::{check_host, meminfo_mib, scaled_resources, Accel, Host};
use super::img::{path_str as qemu_path, QemuImg};
use super::qmp::{Agent, Qmp};
use super::Error;

/// Longest Unix socket path (`sun_path` holds 108 bytes with the terminating NUL).
const MAX_SOCKET_PATH: usize = 107;
/// Longest VM id (a WorkSpace id fits): the sockets' paths must stay under `sun_path`'s limit.
const MAX_ID: usize = 32;

/// How the manager runs VMs.
#[derive(Clone, Debug)]
pub struct KvmConfig {
    /// One directory per VM is created here.
    pub state_dir: PathBuf,
    /// Run under QEMU's emulation when KVM is unusable instead of refusing to start.
    pub allow_tcg: bool,
    /// AWS's memory of a compute type is divided by this (see [`scaled_resources`]).
    pub memory_divisor: u32,
    /// Memory all running VMs may take together; default: the host's memory less
    /// `memory_reserve_mib`.
    pub memory_budget_mib: Option<u64>,
    /// Memory kept for the host when the budget is computed, and free memory a start needs
    /// beyond the VM's own.
    pub memory_reserve_mib: u64,
    /// From QEMU start to the guest agent answering.
    pub boot_timeout: Duration,
    /// From ACPI power-down to the QEMU process gone, before it is stopped hard.
    pub stop_timeout: Duration,
}

impl KvmConfig {
    pub fn new(state_dir: impl Into<PathBuf>) -> KvmConfig {
        KvmConfig {
            state_dir: state_dir.into(),
            allow_tcg: false,
            memory_divisor: 8,
            memory_budget_mib: None,
            memory_reserve_mib: 1024,
            boot_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(20),
        }
    }
}

/// How a base image boots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Boot {
    /// From the disk's own boot loader (the full desktop image).
    Disk,
    /// From a kernel and initramfs outside the disk (the test image).
    Kernel {
        kernel: PathBuf,
        initrd: Option<PathBuf>,
        append: String,
    },
}

/// A bundle's base image: a qcow2 disk and how it boots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseImage {
    pub disk: PathBuf,
    pub boot: Boot,
}

/// What a VM is made of; kept as `spec.json` in its directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmSpec {
    /// The WorkSpace id (letters, digits, `-`, `_`).
    pub id: String,
    pub image: BaseImage,
    /// The WorkSpace's user, whose home is the user volume.
    pub user_name: String,
    pub root_volume_gib: u64,
    pub user_volume_gib: u64,
    /// A WorkSpaces compute type name (`VALUE`, `STANDARD`, …).
    pub compute_type: String,
}

/// Which volumes an operation touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Volumes {
    pub root: bool,
    pub user: bool,
}

impl Volumes {
    pub const BOTH: Volumes = Volumes {
        root: true,
        user: true,
    };
}

/// A VM's health as seen from its QEMU process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// No QEMU process, after a requested stop (or never started).
    Stopped,
    Running,
    /// QEMU exited without a stop request (or a VM of a previous run is gone).
    Unhealthy(String),
}

/// A command to run in the guest through the agent.
#[derive(Clone, Debug)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    /// Run as this guest user (through `su`); `None` runs as the guest's root.
    pub user: Option<String>,
    pub stdin: Option<Vec<u8>>,
    pub timeout: Duration,
    /// Output beyond this many bytes per stream is cut (and `truncated` set).
    pub max_output: usize,
}

impl ExecRequest {
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> ExecRequest {
        ExecRequest {
            argv: argv.into_iter().map(Into::into).collect(),
            user: None,
            stdin: None,
            timeout: Duration::from_secs(30),
            max_output: 1 << 20,
        }
    }
}

/// What a guest command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
}

/// What [`Manager::reconcile`] did.
#[derive(Debug, Default)]
pub struct ReconcileReport {
    /// QEMU processes of VMs that should not run, or left by a previous run, killed.
    pub killed: Vec<String>,
    pub started: Vec<String>,
    pub failed: Vec<(String, Error)>,
}

struct Running {
    pid: u32,
    memory_mib: u64,
    stop_requested: Arc<AtomicBool>,
    kill: Option<oneshot::Sender<()>>,
    exited: watch::Receiver<bool>,
}

enum Slot {
    Stopped,
    Running(Running),
    Crashed(String),
}

struct VmEntry {
    dir: PathBuf,
    /// Serializes lifecycle operations of one VM.
    op: tokio::sync::Mutex<()>,
    /// One guest-agent session at a time.
    agent: tokio::sync::Mutex<()>,
    /// Held (write) while a live snapshot has the guest's file systems frozen; commands and
    /// file access (read) wait for the thaw.
    frozen: tokio::sync::RwLock<()>,
    slot: Mutex<Slot>,
}

/// All VMs of one localspaces process.
pub struct Manager {
    host: Host,
    config: KvmConfig,
    img: QemuImg,
    vms: Mutex<HashMap<String, Arc<VmEntry>>>,
    admission: Mutex<()>,
    events: broadcast::Sender<HealthEvent>,
}

/// A VM's QEMU process ended: `Stopped` after a stop request, `Unhealthy` otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthEvent {
    pub id: String,
    pub health: Health,
}

fn valid_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("bad VM id {id:?}")))
    }
}

fn valid_user(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("bad user name {name:?}")))
    }
}

/// Quotes one word for a POSIX shell.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn pid_alive(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}

fn kill_pid(pid: u32) {
    if let Some(p) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    }
}

/// The last lines of a VM's serial console, for error messages.
fn serial_tail(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("serial.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

impl Manager {
    /// Checks the host (see [`check_host`]) and prepares the state directory.
    pub fn new(config: KvmConfig) -> Result<Manager, Error> {
        let host = check_host(config.allow_tcg)?;
        Manager::with_host(config, host)
    }

    /// A manager for an already checked host.
    pub fn with_host(config: KvmConfig, host: Host) -> Result<Manager, Error> {
        std::fs::create_dir_all(&config.state_dir)
            .map_err(|e| Error::io(format!("creating {}", config.state_dir.display()), e))?;
        let longest = config.state_dir.join("x".repeat(MAX_ID)).join("qga.sock");
        if longest.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(Error::Invalid(format!(
                "the VM directory {} is too long for Unix socket paths (at most {} bytes)",
                config.state_dir.display(),
                MAX_SOCKET_PATH - MAX_ID - "/qga.sock".len()
            )));
        }
        if host.accel == Accel::Tcg {
            tracing::warn!(
                reason = host.kvm_unusable.as_deref().unwrap_or(""),
                "KVM is not usable: VMs run under QEMU's emulation (TCG), much slower"
            );
        }
        if host.setpriv.is_none() {
            tracing::warn!("util-linux setpriv --pdeathsig is missing: QEMU processes outlive a killed localspaces until the next reconcile");
        }
        Ok(Manager {
            img: QemuImg {
                path: host.qemu_img.clone(),
            },
            host,
            config,
            vms: Mutex::new(HashMap::new()),
            admission: Mutex::new(()),
            events: broadcast::channel(256).0,
        })
    }

    /// Events for every QEMU exit, so that a crash is seen without polling [`Manager::health`].
    pub fn health_events(&self) -> broadcast::Receiver<HealthEvent> {
        self.events.subscribe()
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn config(&self) -> &KvmConfig {
        &self.config
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.config.state_dir.join(id)
    }

    /// The Unix socket of the VM's VNC server (RFB 3.8, security None), present while it runs.
    pub fn vnc_socket(&self, id: &str) -> PathBuf {
        self.dir(id).join("vnc.sock")
    }

    fn entry(&self, id: &str) -> Result<Arc<VmEntry>, Error> {
        valid_id(id)?;
        let mut vms = self.vms.lock();
        if let Some(e) = vms.get(id) {
            return Ok(e.clone());
        }
        let dir = self.dir(id);
        if !dir.join("spec.json").is_file() {
            return Err(Error::NotFound(id.to_string()));
        }
        let entry = Arc::new(VmEntry {
            dir,
            op: tokio::sync::Mutex::new(()),
            agent: tokio::sync::Mutex::new(()),
            frozen: tokio::sync::RwLock::new(()),
            slot: Mutex::new(Slot::Stopped),
        });
        vms.insert(id.to_string(), entry.clone());
        Ok(entry)
    }

    /// The VM's spec as provisioned (with later compute changes).
    pub fn spec(&self, id: &str) -> Result<VmSpec, Error> {
        let entry = self.entry(id)?;
        read_spec(&entry.dir)
    }

    /// Ids of all provisioned VMs.
    pub fn list(&self) -> Result<Vec<String>, Error> {
        let mut ids = Vec::new();
        let dir = std::fs::read_dir(&self.config.state_dir)
            .map_err(|e| Error::io("listing the VM directory", e))?;
        for item in dir.flatten() {
            if item.path().join("spec.json").is_file() {
                if let Some(name) = item.file_name().to_str() {
                    ids.push(name.to_string());
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Creates the VM's disks (root overlay over the base image, blank user volume); does not
    /// start it.
    pub async fn provision(&self, spec: &VmSpec) -> Result<(), Error> {
        valid_id(&spec.id)?;
        valid_user(&spec.user_name)?;
        if spec.root_volume_gib == 0 || spec.user_volume_gib == 0 {
            return Err(Error::Invalid("volume sizes must be at least 1 GiB".into()));
        }
        if !spec.image.disk.is_file() {
            return Err(Error::Invalid(format!(
                "base image {} does not exist",
                spec.image.disk.display()
            )));
        }
        // Absolute paths: qemu-img resolves a relative backing file from the overlay's
        // directory, and the spec outlives the current directory.
        let absolute =
            |p: &Path| std::fs::canonicalize(p).map_err(|e| Error::io(format!("{}", p.display()), e));
        let mut spec = spec.clone();
        spec.image.disk = absolute(&spec.image.disk)?;
        if let Boot::Kernel { kernel, initrd, .. } = &mut spec.image.boot {
            *kernel = absolute(kernel)?;
            if let Some(initrd) = initrd {
                *initrd = absolute(initrd)?;
            }
        }
        let spec = &spec;
        let dir = self.dir(&spec.id);
        if dir.join("spec.json").exists() {
            return Err(Error::AlreadyExists(spec.id.clone()));
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let made = async {
            self.img
                .create_overlay(&spec.image.disk, &dir.join("root.qcow2"), spec.root_volume_gib)
                .await?;
            self.img
                .create_blank(&dir.join("user.qcow2"), spec.user_volume_gib)
                .await?;
            write_spec(&dir, spec)
        }
        .await;
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        made
    }

    /// Changes the compute type; it applies at the next start.
    pub fn set_compute_type(&self, id: &str, compute_type: &str) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let mut spec = read_spec(&entry.dir)?;
        spec.compute_type = compute_type.to_string();
        write_spec(&entry.dir, &spec)
    }

    /// Memory of all running VMs.
    pub fn committed_memory_mib(&self) -> u64 {
        let vms = self.vms.lock();
        vms.values()
            .map(|e| match &*e.slot.lock() {
                Slot::Running(r) => r.memory_mib,
                _ => 0,
            })
            .sum()
    }

    /// The vCPUs and memory a VM of `compute_type` gets on this host.
    pub fn resources(&self, compute_type: &str) -> super::Resources {
        scaled_resources(compute_type, self.host.cpus, self.config.memory_divisor)
    }

    /// Memory all running VMs may take together.
    pub fn memory_budget_mib(&self) -> u64 {
        self.budget_mib()
    }

    fn budget_mib(&self) -> u64 {
        self.config.memory_budget_mib.unwrap_or_else(|| {
            self.host
                .mem_total_mib
                .saturating_sub(self.config.memory_reserve_mib)
        })
    }

    /// Refuses a VM of `memory_mib` that would overcommit the budget or the host's free
    /// memory.
    fn admit(&self, memory_mib: u64) -> Result<(), Error> {
        let budget = self.budget_mib();
        let left = budget.saturating_sub(self.committed_memory_mib());
        let free = if self.config.memory_budget_mib.is_some() {
            u64::MAX
        } else {
            meminfo_mib("MemAvailable")
                .unwrap_or(u64::MAX)
                .saturating_sub(self.config.memory_reserve_mib)
        };
        if memory_mib > left || memory_mib > free {
            return Err(Error::InsufficientCapacity {
                requested_mib: memory_mib,
                available_mib: left.min(free),
                budget_mib: budget,
            });
        }
        Ok(())
    }

    /// The VM's health.
    pub fn health(&self, id: &str) -> Result<Health, Error> {
        let entry = self.entry(id)?;
        let slot = entry.slot.lock();
        Ok(match &*slot {
            Slot::Stopped => Health::Stopped,
            Slot::Running(_) => Health::Running,
            Slot::Crashed(why) => Health::Unhealthy(why.clone()),
        })
    }

    /// The QEMU process id while the VM runs.
    pub fn pid(&self, id: &str) -> Result<Option<u32>, Error> {
        let entry = self.entry(id)?;
        let slot = entry.slot.lock();
        Ok(match &*slot {
            Slot::Running(r) => Some(r.pid),
            _ => None,
        })
    }

    fn qemu_command(&self, spec: &VmSpec, dir: &Path) -> Result<(Command, u64), Error> {
        let res = scaled_resources(&spec.compute_type, self.host.cpus, self.config.memory_divisor);
        let p = |name: &str| qemu_path(&dir.join(name));
        let mut args: Vec<String> = vec![
            "-name".into(),
            format!("localspaces-{}", spec.id),
            "-nodefaults".into(),
            "-no-user-config".into(),
            "-machine".into(),
            "q35".into(),
        ];
        match self.host.accel {
            Accel::Kvm => args.extend(["-accel".into(), "kvm".into(), "-cpu".into(), "host".into()]),
            Accel::Tcg => args.extend(["-accel".into(), "tcg,thread=multi".into()]),
        }
        args.extend([
            "-m".into(),
            res.memory_mib.to_string(),
            "-smp".into(),
            res.vcpus.to_string(),
            "-display".into(),
            "none".into(),
            "-vga".into(),
            "std".into(),
            "-vnc".into(),
            format!("unix:{}", p("vnc.sock")?),
            "-qmp".into(),
            format!("unix:{},server=on,wait=off", p("qmp.sock")?),
            "-chardev".into(),
            format!("socket,id=qga0,path={},server=on,wait=off", p("qga.sock")?),
            // Entropy from the host: a guest does not wait for its random pool to fill.
            "-device".into(),
            "virtio-rng-pci".into(),
            "-device".into(),
            "virtio-serial".into(),
            "-device".into(),
            "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0".into(),
            "-drive".into(),
            format!("file={},if=virtio,format=qcow2,id=root", p("root.qcow2")?),
            "-drive".into(),
            format!("file={},if=virtio,format=qcow2,id=user", p("user.qcow2")?),
            "-serial".into(),
            format!("file:{}", p("serial.log")?),
            "-pidfile".into(),
            p("qemu.pid")?,
        ]);
        if let Boot::Kernel {
            kernel,
            initrd,
            append,
        } = &spec.image.boot
        {
            args.extend(["-kernel".into(), qemu_path(kernel)?]);
            if let Some(initrd) = initrd {
                args.extend(["-initrd".into(), qemu_path(initrd)?]);
            }
            args.extend([
                "-append".into(),
                format!(
                    "{append} localspaces.user={} localspaces.hostname={}",
                    spec.user_name, spec.id
                )
                .trim()
                .to_string(),
            ]);
        }
        let mut cmd = match &self.host.setpriv {
            Some(setpriv) => {
                let mut c = Command::new(setpriv);
                c.args(["--pdeathsig", "KILL", "--"]).arg(&self.host.qemu);
                c
            }
            None => Command::new(&self.host.qemu),
        };
        cmd.args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        Ok((cmd, res.memory_mib))
    }

    /// Boots the VM from its disks and waits until its guest agent answers.
    pub async fn start(&self, id: &str) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        self.start_locked(id, &entry).await
    }

    async fn start_locked(&self, id: &str, entry: &Arc<VmEntry>) -> Result<(), Error> {
        if matches!(&*entry.slot.lock(), Slot::Running(_)) {
            return Err(Error::InvalidState {
                id: id.to_string(),
                state: "running",
                needed: "stopped",
            });
        }
        let spec = read_spec(&entry.dir)?;
        let (mut cmd, memory_mib) = self.qemu_command(&spec, &entry.dir)?;
        for sock in ["qmp.sock", "qga.sock", "vnc.sock", "qemu.pid"] {
            let _ = std::fs::remove_file(entry.dir.join(sock));
        }
        let _ = std::fs::remove_file(entry.dir.join("serial.log"));
        let stop_requested = Arc::new(AtomicBool::new(false));
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let (exit_tx, exit_rx) = watch::channel(false);
        let mut child = {
            // Admission and the slot change under one lock, so that two starts cannot both
            // pass the memory check.
            let _admission = self.admission.lock();
            self.admit(memory_mib)?;
            let child = cmd
                .spawn()
                .map_err(|e| Error::io("starting qemu-system-x86_64", e))?;
            let pid = child.id().unwrap_or(0);
            *entry.slot.lock() = Slot::Running(Running {
                pid,
                memory_mib,
                stop_requested: stop_requested.clone(),
                kill: Some(kill_tx),
                exited: exit_rx.clone(),
            });
            child
        };
        let pid = child.id().unwrap_or(0);
        tracing::info!(vm = id, pid, memory_mib, accel = ?self.host.accel, "QEMU started");
        let stderr = child.stderr.take();
        let waiter_entry = entry.clone();
        let waiter_id = id.to_string();
        let events = self.events.clone();
        tokio::spawn(async move {
            let stderr_text = async {
                let mut buf = Vec::new();
                if let Some(mut s) = stderr {
                    use tokio::io::AsyncReadExt;
                    let _ = (&mut s).take(64 << 10).read_to_end(&mut buf).await;
                }
                buf
            };
            let (status, stderr_bytes) = tokio::join!(
                async {
                    tokio::select! {
                        status = child.wait() => status,
                        _ = kill_rx => {
                            let _ = child.start_kill();
                            child.wait().await
                        }
                    }
                },
                stderr_text
            );
            let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
            let mut slot = waiter_entry.slot.lock();
            if matches!(&*slot, Slot::Running(r) if r.pid == pid) {
                if stop_requested.load(Ordering::SeqCst) {
                    *slot = Slot::Stopped;
                    tracing::info!(vm = waiter_id, pid, %status, "QEMU stopped");
                } else {
                    let stderr = String::from_utf8_lossy(&stderr_bytes);
                    let why = format!(
                        "QEMU exited unexpectedly ({status}){}{}",
                        if stderr.trim().is_empty() { "" } else { ": " },
                        stderr.trim()
                    );
                    tracing::warn!(vm = waiter_id, pid, "{why}");
                    *slot = Slot::Crashed(why);
                }
                let health = match &*slot {
                    Slot::Crashed(why) => Health::Unhealthy(why.clone()),
                    _ => Health::Stopped,
                };
                let _ = events.send(HealthEvent {
                    id: waiter_id.clone(),
                    health,
                });
            }
            drop(slot);
            let _ = exit_tx.send(true);
        });
        match self.wait_ready(id, entry, exit_rx).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.kill_locked(entry).await;
                Err(e)
            }
        }
    }

    async fn wait_ready(
        &self,
        id: &str,
        entry: &Arc<VmEntry>,
        mut exited: watch::Receiver<bool>,
    ) -> Result<(), Error> {
        let started = Instant::now();
        let deadline = self.config.boot_timeout;
        loop {
            if *exited.borrow() {
                let why = match &*entry.slot.lock() {
                    Slot::Crashed(why) => why.clone(),
                    _ => "QEMU exited".to_string(),
                };
                return Err(Error::Qemu(format!(
                    "{why} while booting; console: {}",
                    serial_tail(&entry.dir)
                )));
            }
            if started.elapsed() > deadline {
                return Err(Error::timeout(
                    format!("booting VM {id} (console: {})", serial_tail(&entry.dir)),
                    deadline,
                ));
            }
            if entry.dir.join("vnc.sock").exists() {
                let _agent = entry.agent.lock().await;
                if let Ok(mut agent) =
                    Agent::connect(&entry.dir.join("qga.sock"), Duration::from_millis(500)).await
                {
                    if agent
                        .call("guest-ping", json!({}), Duration::from_secs(2))
                        .await
                        .is_ok()
                    {
                        tracing::info!(vm = id, elapsed = ?started.elapsed(), "guest agent answers");
                        return Ok(());
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = exited.changed() => {}
            }
        }
    }

    /// Kills QEMU now and waits until it is gone; the VM counts as stopped.
    async fn kill_locked(&self, entry: &Arc<VmEntry>) {
        let exited = {
            let mut slot = entry.slot.lock();
            match &mut *slot {
                Slot::Running(r) => {
                    r.stop_requested.store(true, Ordering::SeqCst);
                    if let Some(kill) = r.kill.take() {
                        let _ = kill.send(());
                    }
                    Some(r.exited.clone())
                }
                _ => None,
            }
        };
        if let Some(mut exited) = exited {
            let _ = exited.wait_for(|gone| *gone).await;
        }
    }

    /// Stops the VM: ACPI power-down, then QMP `quit` and a kill once `stop_timeout` has
    /// passed. Stopping a stopped VM does nothing; stopping an unhealthy one clears it.
    pub async fn stop(&self, id: &str) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        let exited = {
            let mut slot = entry.slot.lock();
            match &*slot {
                Slot::Running(r) => {
                    r.stop_requested.store(true, Ordering::SeqCst);
                    r.exited.clone()
                }
                _ => {
                    *slot = Slot::Stopped;
                    return Ok(());
                }
            }
        };
        // Flush the guest's caches first (best effort): a guest that ignores the power
        // button is stopped hard below.
        let sync = ExecRequest {
            timeout: Duration::from_secs(5),
            ..ExecRequest::new(["sync"])
        };
        if let Err(e) = self.best_effort(&entry, &sync).await {
            tracing::debug!(vm = id, error = %e, "sync before power-down failed");
        }
        let qmp_path = entry.dir.join("qmp.sock");
        let powerdown = async {
            let mut qmp = Qmp::connect(&qmp_path, Duration::from_secs(5)).await?;
            qmp.call_within("system_powerdown", json!({}), Duration::from_secs(5))
                .await
        };
        if let Err(e) = powerdown.await {
            tracing::warn!(vm = id, error = %e, "ACPI power-down failed; stopping hard");
        }
        let mut waiting = exited.clone();
        let gone = tokio::time::timeout(self.config.stop_timeout, waiting.wait_for(|g| *g))
            .await
            .is_ok();
        if !gone {
            tracing::warn!(vm = id, "the guest did not power off in time; quitting QEMU");
            if let Ok(mut qmp) = Qmp::connect(&qmp_path, Duration::from_secs(2)).await {
                let _ = qmp.call_within("quit", json!({}), Duration::from_secs(2)).await;
            }
            let mut waiting = exited.clone();
            if tokio::time::timeout(Duration::from_secs(3), waiting.wait_for(|g| *g))
                .await
                .is_err()
            {
                self.kill_locked(&entry).await;
            }
        }
        Ok(())
    }

    /// Reboots the guest: its file systems are synced through the agent (best effort), then
    /// QEMU resets the machine; returns when the agent answers again. An unhealthy or stopped
    /// VM is booted instead, as AWS's reboot recovers an unhealthy WorkSpace.
    pub async fn reboot(&self, id: &str) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        let exited = match &*entry.slot.lock() {
            Slot::Running(r) => Some(r.exited.clone()),
            _ => None,
        };
        let Some(exited) = exited else {
            *entry.slot.lock() = Slot::Stopped;
            return self.start_locked(id, &entry).await;
        };
        let sync = ExecRequest {
            timeout: Duration::from_secs(5),
            ..ExecRequest::new(["sync"])
        };
        if let Err(e) = self.best_effort(&entry, &sync).await {
            tracing::warn!(vm = id, error = %e, "sync before reboot failed");
        }
        let mut qmp = Qmp::connect(&entry.dir.join("qmp.sock"), Duration::from_secs(5)).await?;
        qmp.call_within("system_reset", json!({}), Duration::from_secs(5))
            .await?;
        drop(qmp);
        // The agent of the previous boot may answer for a moment; give the reset a head start.
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.wait_ready(id, &entry, exited).await
    }

    fn require_stopped(id: &str, entry: &VmEntry) -> Result<(), Error> {
        match &*entry.slot.lock() {
            Slot::Running(_) => Err(Error::InvalidState {
                id: id.to_string(),
                state: "running",
                needed: "stopped",
            }),
            _ => Ok(()),
        }
    }

    /// Takes an internal snapshot `name` of both volumes (live through QMP while running).
    pub async fn snapshot(&self, id: &str, name: &str) -> Result<(), Error> {
        if name.is_empty() || name.len() > 64 || name.contains(|c: char| c.is_control()) {
            return Err(Error::Invalid(format!("bad snapshot name {name:?}")));
        }
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        let running = matches!(&*entry.slot.lock(), Slot::Running(_));
        if running {
            let _frozen = entry.frozen.write().await;
            // Quiesce the guest's file systems (the agent's fsfreeze, or at least a sync) so
            // that the snapshot holds what the guest has written.
            let frozen = self.agent_call(&entry, "guest-fsfreeze-freeze").await.is_ok();
            if !frozen {
                let sync = ExecRequest {
                    timeout: Duration::from_secs(10),
                    ..ExecRequest::new(["sync"])
                };
                if let Err(e) = self.best_effort(&entry, &sync).await {
                    tracing::warn!(vm = id, error = %e, "neither fsfreeze nor sync before a live snapshot");
                }
            }
            let taken = async {
                let mut qmp = Qmp::connect(&entry.dir.join("qmp.sock"), Duration::from_secs(5)).await?;
                for device in ["root", "user"] {
                    qmp.call_within(
                        "blockdev-snapshot-internal-sync",
                        json!({"device": device, "name": name}),
                        Duration::from_secs(60),
                    )
                    .await?;
                }
                Ok::<(), Error>(())
            }
            .await;
            if frozen {
                if let Err(e) = self.agent_call(&entry, "guest-fsfreeze-thaw").await {
                    tracing::warn!(vm = id, error = %e, "thawing the guest's file systems failed");
                }
            }
            taken?;
        } else {
            for disk in ["root.qcow2", "user.qcow2"] {
                self.img.snapshot_create(&entry.dir.join(disk), name).await?;
            }
        }
        Ok(())
    }

    /// Snapshot names of the user volume, oldest first.
    pub async fn snapshots(&self, id: &str) -> Result<Vec<String>, Error> {
        let entry = self.entry(id)?;
        self.img.snapshots(&entry.dir.join("user.qcow2")).await
    }

    /// Deletes snapshot `name` from both volumes (live through QMP while running).
    pub async fn delete_snapshot(&self, id: &str, name: &str) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        if matches!(&*entry.slot.lock(), Slot::Running(_)) {
            let mut qmp = Qmp::connect(&entry.dir.join("qmp.sock"), Duration::from_secs(5)).await?;
            for device in ["root", "user"] {
                qmp.call_within(
                    "blockdev-snapshot-delete-internal-sync",
                    json!({"device": device, "name": name}),
                    Duration::from_secs(60),
                )
                .await?;
            }
        } else {
            for disk in ["root.qcow2", "user.qcow2"] {
                self.img.snapshot_delete(&entry.dir.join(disk), name).await?;
            }
        }
        Ok(())
    }

    /// Reverts the chosen volumes of a stopped VM to snapshot `name`.
    pub async fn restore(&self, id: &str, name: &str, volumes: Volumes) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        Self::require_stopped(id, &entry)?;
        for (disk, chosen) in [("root.qcow2", volumes.root), ("user.qcow2", volumes.user)] {
            if chosen {
                self.img.snapshot_apply(&entry.dir.join(disk), name).await?;
            }
        }
        Ok(())
    }

    /// Recreates the root volume of a stopped VM from its base image (its snapshots go with
    /// it) and, given a snapshot name, reverts the user volume to it.
    pub async fn rebuild(&self, id: &str, user_snapshot: Option<&str>) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        Self::require_stopped(id, &entry)?;
        let spec = read_spec(&entry.dir)?;
        if let Some(name) = user_snapshot {
            self.img
                .snapshot_apply(&entry.dir.join("user.qcow2"), name)
                .await?;
        }
        let root = entry.dir.join("root.qcow2");
        let fresh = entry.dir.join("root.qcow2.new");
        let _ = std::fs::remove_file(&fresh);
        self.img
            .create_overlay(&spec.image.disk, &fresh, spec.root_volume_gib)
            .await?;
        std::fs::rename(&fresh, &root).map_err(|e| Error::io("replacing the root volume", e))?;
        Ok(())
    }

    /// Grows the VM's volumes to at least `root_gib` / `user_gib` GiB (a volume already that
    /// large is left as it is; nothing shrinks): live through QMP `block_resize` while it
    /// runs, else with `qemu-img resize`. Answers which volumes grew.
    pub async fn grow_volumes(&self, id: &str, root_gib: u64, user_gib: u64) -> Result<Volumes, Error> {
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        let running = matches!(&*entry.slot.lock(), Slot::Running(_));
        let mut grown = Volumes {
            root: false,
            user: false,
        };
        for (disk, device, gib) in [("root.qcow2", "root", root_gib), ("user.qcow2", "user", user_gib)] {
            let path = entry.dir.join(disk);
            let want = gib.saturating_mul(1 << 30);
            if want <= self.img.virtual_size(&path).await? {
                continue;
            }
            if running {
                let mut qmp = Qmp::connect(&entry.dir.join("qmp.sock"), Duration::from_secs(5)).await?;
                qmp.call_within(
                    "block_resize",
                    json!({"device": device, "size": want}),
                    Duration::from_secs(30),
                )
                .await?;
            } else {
                self.img.resize(&path, want).await?;
            }
            tracing::info!(vm = id, volume = device, gib, live = running, "volume grown");
            if device == "root" {
                grown.root = true;
            } else {
                grown.user = true;
            }
        }
        let mut spec = read_spec(&entry.dir)?;
        if spec.root_volume_gib < root_gib || spec.user_volume_gib < user_gib {
            spec.root_volume_gib = spec.root_volume_gib.max(root_gib);
            spec.user_volume_gib = spec.user_volume_gib.max(user_gib);
            write_spec(&entry.dir, &spec)?;
        }
        Ok(grown)
    }

    /// Replaces the user volume of the stopped VM `id` with snapshot `snapshot` of VM
    /// `from`'s user volume (read live while `from` runs), grown to `id`'s user volume size
    /// when smaller. The replaced volume's snapshots go with it.
    pub async fn import_user_volume(&self, id: &str, from: &str, snapshot: &str) -> Result<(), Error> {
        if id == from {
            return Err(Error::Invalid(format!("{id} cannot take its own user volume")));
        }
        let (entry, source) = (self.entry(id)?, self.entry(from)?);
        let _op = entry.op.lock().await;
        Self::require_stopped(id, &entry)?;
        // The source's snapshots stay as they are meanwhile (snapshot ops take this lock).
        let _source_op = source.op.lock().await;
        let live = matches!(&*source.slot.lock(), Slot::Running(_));
        let want = read_spec(&entry.dir)?.user_volume_gib.saturating_mul(1 << 30);
        let partial = entry.dir.join("user.qcow2.new");
        let _ = std::fs::remove_file(&partial);
        let made = async {
            self.img
                .convert_snapshot(&source.dir.join("user.qcow2"), snapshot, &partial, live)
                .await?;
            if self.img.virtual_size(&partial).await? < want {
                self.img.resize(&partial, want).await?;
            }
            std::fs::rename(&partial, entry.dir.join("user.qcow2"))
                .map_err(|e| Error::io("replacing the user volume", e))
        }
        .await;
        if made.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        made
    }

    /// Writes the root volume, flattened, as a new standalone base image at `dest` that boots
    /// as the VM's image does. A running VM is read as it is (crash-consistent).
    pub async fn capture_image(&self, id: &str, dest: &Path) -> Result<BaseImage, Error> {
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        let running = matches!(&*entry.slot.lock(), Slot::Running(_));
        let spec = read_spec(&entry.dir)?;
        if dest.exists() {
            return Err(Error::Invalid(format!("{} already exists", dest.display())));
        }
        let partial = dest.with_extension("partial");
        let result = self
            .img
            .flatten(&entry.dir.join("root.qcow2"), &partial, running)
            .await
            .and_then(|()| std::fs::rename(&partial, dest).map_err(|e| Error::io("placing the image", e)));
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result?;
        Ok(BaseImage {
            disk: dest.to_path_buf(),
            boot: spec.image.boot,
        })
    }

    /// Kills the VM and deletes its disks and directory.
    pub async fn terminate(&self, id: &str) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let _op = entry.op.lock().await;
        self.kill_locked(&entry).await;
        std::fs::remove_dir_all(&entry.dir)
            .map_err(|e| Error::io(format!("deleting {}", entry.dir.display()), e))?;
        self.vms.lock().remove(id);
        Ok(())
    }

    /// Runs a command in the running guest through the agent, bounded in time and output.
    pub async fn exec(&self, id: &str, request: &ExecRequest) -> Result<ExecOutput, Error> {
        let entry = self.entry(id)?;
        if !matches!(&*entry.slot.lock(), Slot::Running(_)) {
            return Err(Error::InvalidState {
                id: id.to_string(),
                state: "not running",
                needed: "running",
            });
        }
        let _thawed = entry.frozen.read().await;
        self.exec_entry(&entry, request).await
    }

    async fn exec_entry(&self, entry: &VmEntry, request: &ExecRequest) -> Result<ExecOutput, Error> {
        let Some(program) = request.argv.first() else {
            return Err(Error::Invalid("empty command".into()));
        };
        let (path, args): (String, Vec<String>) = match &request.user {
            None => (program.clone(), request.argv[1..].to_vec()),
            Some(user) => {
                valid_user(user)?;
                let line = request
                    .argv
                    .iter()
                    .map(|w| shell_quote(w))
                    .collect::<Vec<_>>()
                    .join(" ");
                (
                    "su".to_string(),
                    vec!["-s".into(), "/bin/sh".into(), user.clone(), "-c".into(), line],
                )
            }
        };
        let mut arguments = json!({"path": path, "arg": args, "capture-output": true});
        if let Some(stdin) = &request.stdin {
            arguments["input-data"] = json!(base64::engine::general_purpose::STANDARD.encode(stdin));
        }
        let _agent = entry.agent.lock().await;
        let mut agent = Agent::connect(&entry.dir.join("qga.sock"), Duration::from_secs(5)).await?;
        let started = Instant::now();
        let pid = agent
            .call("guest-exec", arguments, Duration::from_secs(10))
            .await?["pid"]
            .as_i64()
            .ok_or_else(|| Error::Protocol("guest-exec returned no pid".into()))?;
        let mut pause = Duration::from_millis(20);
        loop {
            let status = agent
                .call("guest-exec-status", json!({"pid": pid}), Duration::from_secs(10))
                .await?;
            if status["exited"].as_bool() == Some(true) {
                return Ok(exec_output(&status, request.max_output));
            }
            if started.elapsed() > request.timeout {
                // The agent cannot kill what it started: a second command does (best effort).
                let kill = json!({"path": "kill", "arg": ["-KILL", pid.to_string()]});
                let _ = agent.call("guest-exec", kill, Duration::from_secs(5)).await;
                return Err(Error::timeout(
                    format!("guest command {:?}", request.argv),
                    request.timeout,
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// [`Manager::exec_entry`] bounded as a whole by the request's timeout, for steps that
    /// may fail (a hung agent delays them by no more than that).
    async fn best_effort(&self, entry: &VmEntry, request: &ExecRequest) -> Result<ExecOutput, Error> {
        tokio::time::timeout(request.timeout, self.exec_entry(entry, request))
            .await
            .map_err(|_| Error::timeout("guest command", request.timeout))?
    }

    /// One agent command without arguments.
    async fn agent_call(&self, entry: &VmEntry, command: &str) -> Result<Value, Error> {
        let _agent = entry.agent.lock().await;
        let mut agent = Agent::connect(&entry.dir.join("qga.sock"), Duration::from_secs(5)).await?;
        agent.call(command, json!({}), Duration::from_secs(30)).await
    }

    /// Writes a file in the running guest (as root; see [`ExecRequest::user`] for ownership).
    pub async fn write_file(&self, id: &str, path: &str, data: &[u8]) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let _thawed = entry.frozen.read().await;
        let _agent = entry.agent.lock().await;
        let mut agent = Agent::connect(&entry.dir.join("qga.sock"), Duration::from_secs(5)).await?;
        let t = Duration::from_secs(10);
        let handle = agent
            .call("guest-file-open", json!({"path": path, "mode": "w"}), t)
            .await?;
        let written = agent
            .call(
                "guest-file-write",
                json!({"handle": handle, "buf-b64": base64::engine::general_purpose::STANDARD.encode(data)}),
                t,
            )
            .await;
        let flushed = agent.call("guest-file-flush", json!({"handle": handle}), t).await;
        let closed = agent.call("guest-file-close", json!({"handle": handle}), t).await;
        written?;
        flushed?;
        closed.map(drop)
    }

    /// Reads a file (up to `max` bytes) from the running guest.
    pub async fn read_file(&self, id: &str, path: &str, max: usize) -> Result<Vec<u8>, Error> {
        let entry = self.entry(id)?;
        let _thawed = entry.frozen.read().await;
        let _agent = entry.agent.lock().await;
        let mut agent = Agent::connect(&entry.dir.join("qga.sock"), Duration::from_secs(5)).await?;
        let t = Duration::from_secs(10);
        let handle = agent
            .call("guest-file-open", json!({"path": path, "mode": "r"}), t)
            .await?;
        let mut data = Vec::new();
        let read = async {
            while data.len() < max {
                let chunk = agent
                    .call(
                        "guest-file-read",
                        json!({"handle": handle, "count": (max - data.len()).min(1 << 20)}),
                        t,
                    )
                    .await?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(chunk["buf-b64"].as_str().unwrap_or(""))
                    .map_err(|e| Error::Protocol(format!("guest-file-read: {e}")))?;
                data.extend_from_slice(&bytes);
                if chunk["eof"].as_bool() == Some(true) || bytes.is_empty() {
                    break;
                }
            }
            Ok::<(), Error>(())
        }
        .await;
        let closed = agent.call("guest-file-close", json!({"handle": handle}), t).await;
        read?;
        closed?;
        Ok(data)
    }

    /// Kills QEMU processes of this state directory that no VM of this manager runs (left by
    /// a previous process that was killed); answers their VM ids.
    pub fn kill_leftovers(&self) -> Vec<String> {
        let mut killed = Vec::new();
        for id in self.list().unwrap_or_default() {
            let Ok(entry) = self.entry(&id) else { continue };
            let tracked = match &*entry.slot.lock() {
                Slot::Running(r) => Some(r.pid),
                _ => None,
            };
            if let Some(pid) = leaked_pid(&entry.dir).filter(|pid| tracked != Some(*pid)) {
                tracing::warn!(vm = id, pid, "killing a QEMU process left by a previous run");
                kill_pid(pid);
                for _ in 0..100 {
                    if !pid_alive(pid) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = std::fs::remove_file(entry.dir.join("qemu.pid"));
                killed.push(id);
            }
        }
        killed
    }

    /// Makes running VMs match `desired` (ids of provisioned VMs that should run): kills QEMU
    /// processes this manager does not track (left by a previous run, found by pidfile) and
    /// those of VMs not desired, and starts desired VMs that are not running.
    pub async fn reconcile(&self, desired: &[String]) -> ReconcileReport {
        let mut report = ReconcileReport::default();
        let ids = match self.list() {
            Ok(ids) => ids,
            Err(e) => {
                report.failed.push((String::new(), e));
                return report;
            }
        };
        for id in &ids {
            let Ok(entry) = self.entry(id) else { continue };
            let tracked = match &*entry.slot.lock() {
                Slot::Running(r) => Some(r.pid),
                _ => None,
            };
            if let Some(pid) = leaked_pid(&entry.dir) {
                if tracked != Some(pid) {
                    tracing::warn!(vm = id, pid, "killing a QEMU process left by a previous run");
                    kill_pid(pid);
                    for _ in 0..50 {
                        if !pid_alive(pid) {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let _ = std::fs::remove_file(entry.dir.join("qemu.pid"));
                    report.killed.push(id.clone());
                }
            }
            if tracked.is_some() && !desired.contains(id) {
                let _op = entry.op.lock().await;
                self.kill_locked(&entry).await;
                report.killed.push(id.clone());
            }
        }
        for id in desired {
            if !ids.contains(id) {
                report.failed.push((id.clone(), Error::NotFound(id.clone())));
                continue;
            }
            match self.health(id) {
                Ok(Health::Running) => {}
                Ok(_) => match self.start(id).await {
                    Ok(()) => report.started.push(id.clone()),
                    Err(e) => report.failed.push((id.clone(), e)),
                },
                Err(e) => report.failed.push((id.clone(), e)),
            }
        }
        report
    }
}

/// The pid in a VM's pidfile when that process is alive and is QEMU for this directory.
fn leaked_pid(dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(dir.join("qemu.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let ours = String::from_utf8_lossy(&cmdline).contains(&*dir.join("qmp.sock").to_string_lossy());
    (ours && pid_alive(pid)).then_some(pid)
}

fn exec_output(status: &Value, max: usize) -> ExecOutput {
    let decode = |key: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(status[key].as_str().unwrap_or(""))
            .unwrap_or_default()
    };
    let (mut stdout, mut stderr) = (decode("out-data"), decode("err-data"));
    let mut truncated =
        status["out-truncated"].as_bool() == Some(true) || status["err-truncated"].as_bool() == Some(true);
    for stream in [&mut stdout, &mut stderr] {
        if stream.len() > max {
            stream.truncate(max);
            truncated = true;
        }
    }
    let exit_code = status["exitcode"]
        .as_i64()
        .or_else(|| status["signal"].as_i64().map(|s| 128 + s))
        .unwrap_or(-1);
    ExecOutput {
        exit_code,
        stdout,
        stderr,
        truncated,
    }
}

fn read_spec(dir: &Path) -> Result<VmSpec, Error> {
    let text = std::fs::read_to_string(dir.join("spec.json"))
        .map_err(|e| Error::io(format!("reading {}/spec.json", dir.display()), e))?;
    serde_json::from_str(&text).map_err(|e| Error::Protocol(format!("spec.json: {e}")))
}

fn write_spec(dir: &Path, spec: &VmSpec) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(spec).map_err(|e| Error::Protocol(format!("spec.json: {e}")))?;
    let tmp = dir.join("spec.json.tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io("writing spec.json", e))?;
    std::fs::rename(&tmp, dir.join("spec.json")).map_err(|e| Error::io("writing spec.json", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_users_are_checked() {
        assert!(valid_id("ws-abc123").is_ok());
        assert!(valid_id("../etc").is_err());
        assert!(valid_id("").is_err());
        assert!(valid_user("alice.b").is_ok());
        assert!(valid_user("a b").is_err());
    }

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn exec_status_decodes_and_bounds_output() {
        let status = json!({"exited": true, "exitcode": 3, "out-data": "aGVsbG8=", "err-data": "eA=="});
        let out = exec_output(&status, 3);
        assert_eq!(out.exit_code, 3);
        assert_eq!(out.stdout, b"hel");
        assert_eq!(out.stderr, b"x");
        assert!(out.truncated);
        let killed = exec_output(&json!({"exited": true, "signal": 9}), 10);
        assert_eq!(killed.exit_code, 137);
    }
}
