//! The `kvm` desktop driver (`--desktops kvm`): the [`DesktopDriver`] seam over the VM
//! [`Manager`], one QEMU virtual machine per WorkSpace.
//!
//! - Ops run as tasks on the driver's own Tokio runtime, whose worker threads live as long
//!   as the driver: QEMU is spawned from them under `setpriv --pdeathsig KILL`, and a
//!   parent-death signal follows the spawning thread.
//! - A WorkSpace's VM is named by its WorkSpace id; its directory also holds `owner`
//!   (`ACCOUNT REGION`), so that [`DesktopDriver::known`] can name its WorkSpace.
//! - Snapshots are qcow2 internal snapshots of both disks, named by the service time they
//!   stand for (`%.3f`); the last five are kept. `image`, taken before the first boot, is the
//!   disks as provisioned: a rebuild reverts the root volume to it (the other snapshots stay).
//! - Migration: the target's root volume comes from its image, its user volume is the
//!   source's latest snapshot of its user volume (`qemu-img convert`, read live while the
//!   source runs); the source is not touched.
//! - Volume sizes are the disks' virtual sizes. They only grow: live (QMP `block_resize`,
//!   then `resize2fs` of the home in the guest) on Update, offline before every boot (also
//!   after a revert to a snapshot of smaller disks).
//! - Capacity: `--max-desktops` VMs, and the memory budget of running and reserved VMs
//!   (compute type scaled to the host, see [`super::scaled_resources`]).
//! - Exec runs through the guest agent, as the guest's `user` or its root; the VM must run.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::{
    check_host, Accel, BaseImage, Boot, Error, ExecRequest, Health, KvmConfig, Manager, VmSpec, Volumes,
};
use crate::desktop::{DesktopDriver, DesktopKey, ExecOutput, Op, Progress, Spec};

/// The guest's user: its home is the user volume (the same name in every WorkSpace, as the
/// `local` driver's `/home/user`).
pub const GUEST_USER: &str = "user";
/// The snapshot of the disks as provisioned.
const IMAGE_SNAPSHOT: &str = "image";
/// Timed snapshots kept per VM.
const KEEP_SNAPSHOTS: usize = 5;
/// Output kept per stream of an exec.
const EXEC_OUTPUT_LIMIT: usize = 1 << 20;

pub use crate::desktop::ImageKey;

impl ImageKey {
    /// The image's directory under `root`, if its parts are safe path components.
    fn dir(&self, root: &Path) -> Option<PathBuf> {
        let account_ok = self.account.len() == 12 && self.account.bytes().all(|b| b.is_ascii_digit());
        let region_ok = !self.region.is_empty()
            && self.region.len() <= 32
            && self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let id_ok = self.image_id.len() <= 32
            && self
                .image_id
                .strip_prefix("wsi-")
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()));
        (account_ok && region_ok && id_ok)
            .then(|| root.join(&self.account).join(&self.region).join(&self.image_id))
    }
}

/// How `--desktops kvm` runs.
#[derive(Debug, Clone)]
pub struct KvmOptions {
    /// The bundles' base image: a directory built by `images/test/build.sh` or
    /// `images/desktop/build.sh`.
    pub image_dir: PathBuf,
    /// VMs' directories (`<id>/…`) and captured images (`images/…`) go here.
    pub dir: PathBuf,
    /// Run VMs under QEMU's emulation when KVM is unusable.
    pub allow_tcg: bool,
    /// Memory all running VMs may take together (default: host memory less 1 GiB).
    pub memory_budget_mib: Option<u64>,
    /// From QEMU start to the guest agent answering.
    pub boot_timeout: Duration,
    /// Most VMs running or starting at once (default: the memory budget over the smallest VM).
    pub max_desktops: Option<usize>,
}

/// The bundles' base image in `dir`: `root.qcow2`, a kernel (`vmlinux`, the uncompressed
/// kernel booted through its PVH entry, preferred: no decompression, much faster under
/// emulation; else `vmlinuz`) and an initramfs. `initramfs.img` is the test image's (its own
/// `/init` mounts the root volume); `initrd.img` is Debian's, told `root=/dev/vda`. A file
/// `cmdline`, when present, replaces the kernel command line.
pub fn base_image(dir: &Path) -> Result<BaseImage, String> {
    let disk = dir.join("root.qcow2");
    let kernel = ["vmlinux", "vmlinuz"]
        .iter()
        .map(|k| dir.join(k))
        .find(|p| p.is_file());
    let (Some(kernel), true) = (kernel, disk.is_file()) else {
        return Err(format!(
            "no VM image in {}: build one with `bash images/test/build.sh {}` (the small test \
             image) or `bash images/desktop/build.sh {}` (the Debian desktop), or point \
             --kvm-image at one",
            dir.display(),
            dir.display(),
            dir.display()
        ));
    };
    let (initrd, append) = if dir.join("initramfs.img").is_file() {
        (Some(dir.join("initramfs.img")), "console=ttyS0 quiet")
    } else if dir.join("initrd.img").is_file() {
        (
            Some(dir.join("initrd.img")),
            "root=/dev/vda rw console=ttyS0 quiet",
        )
    } else {
        (None, "root=/dev/vda rw console=ttyS0 quiet")
    };
    let append = match std::fs::read_to_string(dir.join("cmdline")) {
        Ok(text) => text.trim().to_string(),
        Err(_) => append.to_string(),
    };
    Ok(BaseImage {
        disk,
        boot: Boot::Kernel {
            kernel,
            initrd,
            append,
        },
    })
}

/// The default `--kvm-image`: `<data-dir>/images/kvm-desktop` (the full desktop) when built,
/// else `<data-dir>/images/kvm-test` (the small test image); both are the build scripts'
/// default output directories when the data directory is the default one.
pub fn default_image_dir(data_dir: &Path) -> PathBuf {
    let desktop = data_dir.join("images/kvm-desktop");
    if desktop.join("root.qcow2").is_file() {
        desktop
    } else {
        data_dir.join("images/kvm-test")
    }
}

#[derive(Default)]
struct Entry {
    /// The op last asked for and its progress (`Working` while its task runs).
    op: Option<(Op, Progress)>,
    /// Whether the guest agent answered since the last start.
    ready: bool,
    viewers: usize,
}

struct Inner {
    manager: Manager,
    base: BaseImage,
    images: PathBuf,
    entries: Mutex<HashMap<DesktopKey, Entry>>,
    /// Desktop slots held (running, starting or about to), with the VM's memory in MiB.
    reserved: Mutex<HashMap<DesktopKey, u64>>,
    failures: Mutex<Vec<DesktopKey>>,
    /// Image captures and copies under way or finished, by target image.
    image_ops: Mutex<HashMap<ImageKey, Progress>>,
    max: usize,
}

/// The kvm driver.
pub struct KvmDriver {
    inner: Arc<Inner>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for KvmDriver {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl KvmDriver {
    /// Checks the host (QEMU installed; KVM usable, or emulation allowed) and the image, and
    /// starts watching VMs' health. QEMU processes a killed predecessor left are killed by
    /// [`DesktopDriver::kill_orphans`] (the server calls it before reconciling).
    pub fn new(opts: KvmOptions) -> anyhow::Result<KvmDriver> {
        let host = check_host(opts.allow_tcg).map_err(|e| anyhow::anyhow!("--desktops kvm: {e}"))?;
        let base = base_image(&opts.image_dir).map_err(|e| anyhow::anyhow!("--desktops kvm: {e}"))?;
        let mut config = KvmConfig::new(opts.dir.join("vms"));
        config.allow_tcg = opts.allow_tcg;
        config.memory_budget_mib = opts.memory_budget_mib;
        config.boot_timeout = opts.boot_timeout;
        let manager = Manager::with_host(config, host).map_err(|e| anyhow::anyhow!("--desktops kvm: {e}"))?;
        let min_vm = manager.resources("VALUE").memory_mib.max(1);
        let max = opts
            .max_desktops
            .unwrap_or_else(|| usize::try_from(manager.memory_budget_mib() / min_vm).unwrap_or(1))
            .max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kvm-driver")
            .enable_all()
            .build()?;
        let inner = Arc::new(Inner {
            base,
            images: opts.dir.join("images"),
            entries: Mutex::new(HashMap::new()),
            reserved: Mutex::new(HashMap::new()),
            failures: Mutex::new(Vec::new()),
            image_ops: Mutex::new(HashMap::new()),
            max,
            manager,
        });
        let mut events = inner.manager.health_events();
        let weak = Arc::downgrade(&inner);
        runtime.spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                let Some(inner) = weak.upgrade() else { return };
                inner.exited(&event.id, matches!(event.health, Health::Unhealthy(_)));
            }
        });
        tracing::info!(
            image = %opts.image_dir.display(),
            accel = ?inner.manager.host().accel,
            max,
            budget_mib = inner.manager.memory_budget_mib(),
            "kvm desktops ready"
        );
        Ok(KvmDriver {
            inner,
            runtime: Some(runtime),
        })
    }

    fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.runtime.as_ref().map(|r| r.handle())
    }

    /// Runs `fut` on the driver's runtime and waits for it (from a thread that may block).
    fn wait<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Option<T> {
        let handle = self.handle()?.clone();
        // Not from inside another runtime's worker: block on a thread of our own then.
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| s.spawn(move || handle.block_on(fut)).join().ok())
        } else {
            Some(handle.block_on(fut))
        }
    }

    /// The accelerator VMs run with.
    pub fn accel(&self) -> Accel {
        self.inner.manager.host().accel
    }

    /// Captures the WorkSpace's root volume (flattened) as `image`'s base disk. Polled like
    /// [`DesktopDriver::poll`]: `Working` until done, then `Done` or `Failed` once.
    pub fn capture_image(&self, key: &DesktopKey, image: &ImageKey) -> Progress {
        let (inner, key, image2) = (Arc::clone(&self.inner), key.clone(), image.clone());
        self.image_op(image, async move { inner.capture(&key, &image2).await })
    }

    /// Copies image `from` as `to` (another Region or account). Polled like
    /// [`KvmDriver::capture_image`]; an image without a captured disk copies as nothing.
    pub fn copy_image(&self, from: &ImageKey, to: &ImageKey) -> Progress {
        let (inner, from, to2) = (Arc::clone(&self.inner), from.clone(), to.clone());
        self.image_op(to, async move { inner.copy(&from, &to2).await })
    }

    /// Deletes an image's disk (nothing when it has none).
    pub fn delete_image(&self, image: &ImageKey) {
        self.inner.image_ops.lock().remove(image);
        if let Some(dir) = image.dir(&self.inner.images) {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(image = %image.image_id, error = %e, "deleting an image's disk failed");
                }
            }
        }
    }

    fn image_op(
        &self,
        image: &ImageKey,
        work: impl Future<Output = Result<(), String>> + Send + 'static,
    ) -> Progress {
        {
            let mut ops = self.inner.image_ops.lock();
            match ops.get(image) {
                Some(Progress::Working) => return Progress::Working,
                Some(_) => return ops.remove(image).unwrap_or(Progress::Working),
                None => {}
            }
            ops.insert(image.clone(), Progress::Working);
        }
        let Some(handle) = self.handle() else {
            return Progress::Failed("the kvm driver is shutting down".into());
        };
        let (inner, image) = (Arc::clone(&self.inner), image.clone());
        handle.spawn(async move {
            let p = match work.await {
                Ok(()) => Progress::Done,
                Err(e) => {
                    tracing::warn!(image = %image.image_id, error = %e, "image operation failed");
                    Progress::Failed(e)
                }
            };
            inner.image_ops.lock().insert(image, p);
        });
        Progress::Working
    }
}

fn owner_line(key: &DesktopKey) -> String {
    format!("{} {}\n", key.account, key.region)
}

/// A volume size from the service (GiB; none below zero).
fn gib(size: i32) -> u64 {
    u64::try_from(size).unwrap_or(0)
}

/// A snapshot name for service time `at`.
fn snapshot_name(at: f64) -> String {
    format!("{at:.3}")
}

impl Inner {
    fn dir(&self, id: &str) -> PathBuf {
        self.manager.config().state_dir.join(id)
    }

    /// Whether `key` owns the VM of its id (a VM of another account's WorkSpace of the same id
    /// is not its).
    fn owns(&self, key: &DesktopKey) -> bool {
        std::fs::read_to_string(self.dir(&key.workspace_id).join("owner")).is_ok_and(|o| o == owner_line(key))
    }

    fn exists(&self, id: &str) -> bool {
        self.dir(id).join("spec.json").is_file()
    }

    /// A VM's QEMU process ended: a crash of a VM that was up is a failure.
    fn exited(&self, id: &str, crashed: bool) {
        let mut entries = self.entries.lock();
        let Some((key, e)) = entries.iter_mut().find(|(k, _)| k.workspace_id == id) else {
            return;
        };
        if crashed && e.ready {
            tracing::warn!(workspace = id, "the WorkSpace's VM died");
            self.failures.lock().push(key.clone());
        }
        e.ready = false;
    }

    fn set_ready(&self, key: &DesktopKey, ready: bool) {
        self.entries.lock().entry(key.clone()).or_default().ready = ready;
    }

    fn set_progress(&self, key: &DesktopKey, op: &Op, p: Progress) {
        let mut entries = self.entries.lock();
        let e = entries.entry(key.clone()).or_default();
        if let Some((cur, prog)) = &mut e.op {
            if cur.same_kind(op) {
                *prog = p;
            }
        }
    }

    fn running(&self, key: &DesktopKey) -> bool {
        self.entries.lock().get(key).is_some_and(|e| e.ready)
            && matches!(self.manager.health(&key.workspace_id), Ok(Health::Running))
    }

    /// Timed snapshots, oldest first, with their times.
    async fn timed_snapshots(&self, id: &str) -> Result<Vec<(f64, String)>, Error> {
        let mut snaps: Vec<(f64, String)> = self
            .manager
            .snapshots(id)
            .await?
            .into_iter()
            .filter_map(|n| n.parse::<f64>().ok().map(|t| (t, n)))
            .collect();
        snaps.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(snaps)
    }

    /// The snapshot for service time `at`: the newest when it is at least that recent, else
    /// one taken now (the oldest beyond [`KEEP_SNAPSHOTS`] deleted).
    async fn ensure_snapshot(&self, id: &str, at: f64) -> Result<String, Error> {
        if let Some(name) = self.snapshot_since(id, at).await? {
            return Ok(name);
        }
        let name = snapshot_name(at);
        if let Err(e) = self.manager.snapshot(id, &name).await {
            // Another task (the periodic snapshot, a migration) took it meanwhile.
            return match self.snapshot_since(id, at).await? {
                Some(name) => Ok(name),
                None => Err(e),
            };
        }
        tracing::debug!(workspace = id, at, "VM snapshot taken");
        let snaps = self.timed_snapshots(id).await?;
        for (_, old) in snaps.iter().take(snaps.len().saturating_sub(KEEP_SNAPSHOTS)) {
            if let Err(e) = self.manager.delete_snapshot(id, old).await {
                tracing::warn!(workspace = id, snapshot = %old, error = %e, "deleting an old snapshot failed");
            }
        }
        Ok(name)
    }

    /// The newest timed snapshot when it is at least as recent as `at`.
    async fn snapshot_since(&self, id: &str, at: f64) -> Result<Option<String>, Error> {
        Ok(self
            .timed_snapshots(id)
            .await?
            .pop()
            .filter(|(t, _)| *t >= at - 0.001)
            .map(|(_, n)| n))
    }

    async fn latest_snapshot(&self, id: &str) -> Result<Option<String>, Error> {
        Ok(self.timed_snapshots(id).await?.pop().map(|(_, n)| n))
    }

    /// Boots the VM (the compute type of `spec` applied) unless it runs.
    async fn start(&self, key: &DesktopKey, spec: &Spec) -> Result<(), Error> {
        let id = &key.workspace_id;
        if self.manager.health(id)? == Health::Running {
            self.set_ready(key, true);
            return Ok(());
        }
        if !spec.compute.is_empty() && self.manager.spec(id)?.compute_type != spec.compute {
            self.manager.set_compute_type(id, &spec.compute)?;
        }
        // Volumes grown while stopped, or reverted to a smaller snapshot, get the spec's sizes.
        self.grow(key, spec).await?;
        self.set_ready(key, false);
        // A start the service did not reserve for (a restart's reconcile) holds its slot too.
        let memory = self
            .manager
            .resources(&self.manager.spec(id)?.compute_type)
            .memory_mib;
        self.reserved.lock().entry(key.clone()).or_insert(memory);
        self.manager.start(id).await?;
        self.set_ready(key, true);
        Ok(())
    }

    async fn stop(&self, key: &DesktopKey) -> Result<(), Error> {
        self.set_ready(key, false);
        self.manager.stop(&key.workspace_id).await
    }

    /// The base image a WorkSpace launches from: a captured image's disk, or the bundles'.
    fn base_for(&self, image: Option<&ImageKey>) -> Result<BaseImage, Error> {
        let Some(image) = image else {
            return Ok(self.base.clone());
        };
        let dir = image
            .dir(&self.images)
            .ok_or_else(|| Error::Invalid(format!("bad image key {image:?}")))?;
        match std::fs::read_to_string(dir.join("image.json")) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Protocol(format!("image.json: {e}"))),
            // An image captured without a VM behind it (or before this driver): the bundles'.
            Err(_) => Ok(self.base.clone()),
        }
    }

    async fn run_op(&self, key: &DesktopKey, op: &Op, spec: &Spec) -> Result<(), Error> {
        let id = &key.workspace_id;
        match op {
            Op::Provision => self.create(key, spec, None).await,
            Op::Migrate { from, snapshot_at } => {
                let snap = if self.owns(from) {
                    match snapshot_at {
                        Some(at) => Some(self.ensure_snapshot(&from.workspace_id, *at).await?),
                        None => self.latest_snapshot(&from.workspace_id).await?,
                    }
                } else {
                    tracing::warn!(workspace = id, from = %from.workspace_id, "the migration's source has no VM: the home starts blank");
                    None
                };
                let home = snap.as_deref().map(|s| (from.workspace_id.as_str(), s));
                self.create(key, spec, home).await
            }
            Op::Start => self.start(key, spec).await,
            Op::Stop => self.stop(key).await,
            Op::Reboot => {
                self.set_ready(key, false);
                self.manager.reboot(id).await?;
                self.set_ready(key, true);
                Ok(())
            }
            Op::Rebuild { snapshot_at } | Op::Restore { snapshot_at } => {
                let snap = match snapshot_at {
                    Some(at) => Some(self.ensure_snapshot(id, *at).await?),
                    None => self.latest_snapshot(id).await?,
                };
                let has_image = self
                    .manager
                    .snapshots(id)
                    .await?
                    .iter()
                    .any(|n| n == IMAGE_SNAPSHOT);
                self.stop(key).await?;
                let user = snap.as_deref().unwrap_or(IMAGE_SNAPSHOT);
                let (root, user_only) = (
                    Volumes {
                        root: true,
                        user: false,
                    },
                    Volumes {
                        root: false,
                        user: true,
                    },
                );
                match op {
                    Op::Restore { .. } if snap.is_some() => {
                        self.manager.restore(id, user, Volumes::BOTH).await?
                    }
                    _ if has_image => {
                        self.manager.restore(id, IMAGE_SNAPSHOT, root).await?;
                        self.manager.restore(id, user, user_only).await?;
                    }
                    // A VM without the snapshot of its image: a fresh root overlay.
                    _ => self.manager.rebuild(id, snap.as_deref()).await?,
                }
                self.start(key, spec).await
            }
            Op::Terminate => {
                self.set_ready(key, false);
                if self.exists(id) && self.owns(key) {
                    self.manager.terminate(id).await?;
                }
                Ok(())
            }
            Op::Update => {
                let grown = self.grow(key, spec).await?;
                if grown.user && self.running(key) {
                    self.grow_home_fs(id).await;
                }
                Ok(())
            }
        }
    }

    /// Creates the VM: its disks (the root volume from the spec's image; the home blank, or
    /// `home` = (VM, snapshot): that snapshot of another VM's user volume), the `image`
    /// snapshot of both, then boots it. A VM of the same key is replaced.
    async fn create(&self, key: &DesktopKey, spec: &Spec, home: Option<(&str, &str)>) -> Result<(), Error> {
        let id = &key.workspace_id;
        if self.exists(id) {
            if !self.owns(key) {
                return Err(Error::AlreadyExists(format!(
                    "{id} (another account's WorkSpace)"
                )));
            }
            self.set_ready(key, false);
            self.manager.terminate(id).await?;
        }
        let image = self.base_for(spec.image.as_ref())?;
        let vm = VmSpec {
            id: id.clone(),
            image,
            user_name: GUEST_USER.into(),
            root_volume_gib: gib(spec.root_gib).max(1),
            user_volume_gib: gib(spec.user_gib).max(1),
            compute_type: spec.compute.clone(),
        };
        self.manager.provision(&vm).await?;
        std::fs::write(self.dir(id).join("owner"), owner_line(key)).map_err(|e| Error::Io {
            context: "writing the VM's owner".into(),
            source: e,
        })?;
        if let Some((from, snapshot)) = home {
            self.manager.import_user_volume(id, from, snapshot).await?;
        }
        self.manager.snapshot(id, IMAGE_SNAPSHOT).await?;
        self.start(key, spec).await
    }

    /// Grows the VM's volumes to the spec's sizes (see [`Manager::grow_volumes`]).
    async fn grow(&self, key: &DesktopKey, spec: &Spec) -> Result<Volumes, Error> {
        self.manager
            .grow_volumes(&key.workspace_id, gib(spec.root_gib), gib(spec.user_gib))
            .await
    }

    /// Lets the running guest's home file system take a grown user volume (online
    /// `resize2fs`; best effort: a guest without it keeps the old size until its next boot
    /// grows it, if its image does that).
    async fn grow_home_fs(&self, id: &str) {
        let request = ExecRequest {
            timeout: Duration::from_secs(120),
            ..ExecRequest::new(["sh", "-c", "resize2fs /dev/vdb && sync"])
        };
        match self.manager.exec(id, &request).await {
            Ok(out) if out.exit_code == 0 => {
                tracing::info!(workspace = id, "the guest's home file system grew");
            }
            Ok(out) => tracing::warn!(
                workspace = id,
                exit_code = out.exit_code,
                stderr = %String::from_utf8_lossy(&out.stderr).trim(),
                "resize2fs in the guest failed"
            ),
            Err(e) => tracing::warn!(workspace = id, error = %e, "resize2fs in the guest failed"),
        }
    }

    async fn capture(&self, key: &DesktopKey, image: &ImageKey) -> Result<(), String> {
        let dir = image.dir(&self.images).ok_or("bad image key")?;
        if !self.owns(key) {
            return Err(format!("{} has no VM", key.workspace_id));
        }
        let parent = dir.parent().ok_or("bad image directory")?;
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        let partial = parent.join(format!(".{}.partial", image.image_id));
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).map_err(|e| e.to_string())?;
        let made = async {
            let captured = self
                .manager
                .capture_image(&key.workspace_id, &partial.join("root.qcow2"))
                .await
                .map_err(|e| e.to_string())?;
            let captured = BaseImage {
                disk: dir.join("root.qcow2"),
                ..captured
            };
            let text = serde_json::to_string_pretty(&captured).map_err(|e| e.to_string())?;
            std::fs::write(partial.join("image.json"), text).map_err(|e| e.to_string())?;
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&partial, &dir).map_err(|e| e.to_string())
        }
        .await;
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
        made
    }

    async fn copy(&self, from: &ImageKey, to: &ImageKey) -> Result<(), String> {
        let (src, dest) = (
            from.dir(&self.images).ok_or("bad image key")?,
            to.dir(&self.images).ok_or("bad image key")?,
        );
        if !src.join("image.json").is_file() {
            return Ok(());
        }
        let parent = dest.parent().ok_or("bad image directory")?;
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        let partial = parent.join(format!(".{}.partial", to.image_id));
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).map_err(|e| e.to_string())?;
        let made = (|| {
            let text = std::fs::read_to_string(src.join("image.json")).map_err(|e| e.to_string())?;
            let mut image: BaseImage = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            std::fs::copy(src.join("root.qcow2"), partial.join("root.qcow2")).map_err(|e| e.to_string())?;
            image.disk = dest.join("root.qcow2");
            let text = serde_json::to_string_pretty(&image).map_err(|e| e.to_string())?;
            std::fs::write(partial.join("image.json"), text).map_err(|e| e.to_string())?;
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::rename(&partial, &dest).map_err(|e| e.to_string())
        })();
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
        made
    }
}

impl DesktopDriver for KvmDriver {
    fn poll(&self, key: &DesktopKey, op: &Op, spec: &Spec) -> Progress {
        let inner = &self.inner;
        {
            let mut entries = inner.entries.lock();
            let e = entries.entry(key.clone()).or_default();
            match &e.op {
                Some((cur, Progress::Working)) if cur.same_kind(op) => return Progress::Working,
                Some((cur, p)) if cur.same_kind(op) => {
                    let p = p.clone();
                    e.op = None;
                    if *op == Op::Terminate && p == Progress::Done {
                        entries.remove(key);
                    }
                    return p;
                }
                // Another op is under way: this one waits for it.
                Some((_, Progress::Working)) => return Progress::Working,
                _ => {}
            }
            e.op = Some((op.clone(), Progress::Working));
        }
        let Some(handle) = self.handle() else {
            return Progress::Failed("the kvm driver is shutting down".into());
        };
        let (inner, key, op, spec) = (Arc::clone(inner), key.clone(), op.clone(), spec.clone());
        handle.spawn(async move {
            let started = std::time::Instant::now();
            let res = inner.run_op(&key, &op, &spec).await;
            // The VM's slot is free once it stopped for good or failed to run (a failed
            // resize leaves it running).
            if matches!(op, Op::Stop | Op::Terminate) || (res.is_err() && op != Op::Update) {
                inner.reserved.lock().remove(&key);
            }
            let p = match res {
                Ok(()) => Progress::Done,
                Err(e) => {
                    tracing::warn!(workspace = %key.workspace_id, op = ?op, error = %e, "VM operation failed");
                    Progress::Failed(e.to_string())
                }
            };
            tracing::debug!(workspace = %key.workspace_id, op = ?op, ms = started.elapsed().as_millis() as u64, "VM operation finished");
            inner.set_progress(&key, &op, p);
        });
        Progress::Working
    }

    fn is_running(&self, key: &DesktopKey) -> bool {
        self.inner.running(key)
    }

    fn take_failures(&self) -> Vec<DesktopKey> {
        std::mem::take(&mut *self.inner.failures.lock())
    }

    fn reserve(&self, key: &DesktopKey, spec: &Spec) -> Result<(), String> {
        let m = &self.inner.manager;
        let mut held = self.inner.reserved.lock();
        if held.contains_key(key) {
            return Ok(());
        }
        if held.len() >= self.inner.max {
            return Err(format!(
                "No desktop capacity left: {} WorkSpace VMs are running or starting on this host (--max-desktops).",
                self.inner.max
            ));
        }
        let need = m.resources(&spec.compute).memory_mib;
        let budget = m.memory_budget_mib();
        let left = budget.saturating_sub(held.values().sum());
        if need > left {
            return Err(format!(
                "Not enough host memory for the WorkSpace's VM: its compute type {} needs {need} MiB; {left} MiB of the {budget} MiB for VMs are left.",
                spec.compute
            ));
        }
        held.insert(key.clone(), need);
        Ok(())
    }

    fn release(&self, key: &DesktopKey) {
        if !self.inner.running(key) {
            self.inner.reserved.lock().remove(key);
        }
    }

    fn capture_image(&self, key: &DesktopKey, image: &ImageKey) -> Progress {
        KvmDriver::capture_image(self, key, image)
    }

    fn copy_image(&self, from: &ImageKey, to: &ImageKey) -> Progress {
        KvmDriver::copy_image(self, from, to)
    }

    fn delete_image(&self, image: &ImageKey) {
        KvmDriver::delete_image(self, image)
    }

    fn max_desktops(&self) -> usize {
        self.inner.max
    }

    fn snapshot(&self, key: &DesktopKey, at: f64) {
        let Some(handle) = self.handle() else { return };
        let (inner, key) = (Arc::clone(&self.inner), key.clone());
        handle.spawn(async move {
            if !inner.owns(&key) {
                return;
            }
            if let Err(e) = inner.ensure_snapshot(&key.workspace_id, at).await {
                tracing::warn!(workspace = %key.workspace_id, error = %e, "VM snapshot failed");
            }
        });
    }

    fn rfb_socket(&self, key: &DesktopKey) -> Option<PathBuf> {
        self.inner
            .running(key)
            .then(|| self.inner.manager.vnc_socket(&key.workspace_id))
    }

    fn viewer(&self, key: &DesktopKey, attached: bool) -> usize {
        let mut entries = self.inner.entries.lock();
        let e = entries.entry(key.clone()).or_default();
        if attached {
            e.viewers += 1;
        } else {
            e.viewers = e.viewers.saturating_sub(1);
        }
        e.viewers
    }

    fn exec(
        &self,
        key: &DesktopKey,
        command: &[String],
        as_root: bool,
        timeout: Duration,
    ) -> Result<ExecOutput, String> {
        if command.is_empty() {
            return Err("the command is empty".into());
        }
        if !self.inner.owns(key) {
            return Err("the WorkSpace has no VM".into());
        }
        if !self.inner.running(key) {
            return Err("the WorkSpace's VM is not running".into());
        }
        let request = ExecRequest {
            argv: command.to_vec(),
            user: (!as_root).then(|| GUEST_USER.to_string()),
            stdin: None,
            timeout,
            max_output: EXEC_OUTPUT_LIMIT,
        };
        let (inner, id) = (Arc::clone(&self.inner), key.workspace_id.clone());
        let out = self
            .wait(async move { inner.manager.exec(&id, &request).await })
            .ok_or("the kvm driver is shutting down")?;
        match out {
            Ok(o) => Ok(ExecOutput {
                exit_code: i32::try_from(o.exit_code).ok(),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
                timed_out: false,
            }),
            Err(Error::Timeout { .. }) => Ok(ExecOutput {
                exit_code: None,
                stdout: String::new(),
                stderr: String::new(),
                timed_out: true,
            }),
            Err(e) => Err(e.to_string()),
        }
    }

    fn known(&self) -> Vec<DesktopKey> {
        let ids = self.inner.manager.list().unwrap_or_default();
        ids.into_iter()
            .filter_map(|id| {
                let owner = std::fs::read_to_string(self.inner.dir(&id).join("owner")).ok()?;
                let (account, region) = owner.trim().split_once(' ')?;
                DesktopKey::new(account, region, &id)
            })
            .collect()
    }

    fn shutdown(&self) {
        let keys: Vec<DesktopKey> = self.inner.entries.lock().keys().cloned().collect();
        let inner = Arc::clone(&self.inner);
        // Every VM powers off at once; their stops are bounded by the manager's deadlines.
        self.wait(async move {
            let stops: Vec<_> = keys
                .into_iter()
                .map(|k| {
                    let inner = Arc::clone(&inner);
                    tokio::spawn(async move {
                        if inner.exists(&k.workspace_id) {
                            let _ = inner.stop(&k).await;
                        }
                    })
                })
                .collect();
            for s in stops {
                let _ = s.await;
            }
        });
    }

    fn kill_orphans(&self) -> usize {
        self.inner.manager.kill_leftovers().len()
    }

    fn pids(&self, key: &DesktopKey) -> Vec<u32> {
        self.inner
            .manager
            .pid(&key.workspace_id)
            .ok()
            .flatten()
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_keys_are_safe_path_components() {
        let root = Path::new("/x");
        let key = |a: &str, r: &str, i: &str| ImageKey {
            account: a.into(),
            region: r.into(),
            image_id: i.into(),
        };
        assert_eq!(
            key("123456789012", "us-east-1", "wsi-abc123").dir(root),
            Some(PathBuf::from("/x/123456789012/us-east-1/wsi-abc123"))
        );
        assert!(key("123456789012", "us-east-1", "wsi-../x").dir(root).is_none());
        assert!(key("123456789012", "../x", "wsi-abc").dir(root).is_none());
        assert!(key("1234", "us-east-1", "wsi-abc").dir(root).is_none());
    }

    #[test]
    fn base_images_prefer_the_uncompressed_kernel_and_name_the_build() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = base_image(dir.path()).unwrap_err();
        assert!(missing.contains("images/test/build.sh"), "{missing}");
        for f in ["root.qcow2", "vmlinuz", "initramfs.img"] {
            std::fs::write(dir.path().join(f), b"").expect("write");
        }
        let image = base_image(dir.path()).expect("image");
        let Boot::Kernel { kernel, append, .. } = &image.boot else {
            panic!("kernel boot expected");
        };
        assert!(kernel.ends_with("vmlinuz") && append == "console=ttyS0 quiet");
        std::fs::write(dir.path().join("vmlinux"), b"").expect("write");
        std::fs::write(dir.path().join("cmdline"), "console=ttyS0\n").expect("write");
        let Boot::Kernel { kernel, append, .. } = base_image(dir.path()).expect("image").boot else {
            panic!("kernel boot expected");
        };
        assert!(kernel.ends_with("vmlinux") && append == "console=ttyS0");
    }

    #[test]
    fn snapshot_names_are_service_times() {
        assert_eq!(snapshot_name(1_796_241_433.272_1), "1796241433.272");
        assert_eq!("1796241433.272".parse::<f64>().ok(), Some(1_796_241_433.272));
    }
}
