//! The `local` desktop driver: one bubblewrap sandbox per WorkSpace on this host.
//!
//! Layout under `<data-dir>/desktops/`:
//! - `images/base/`: the bundle image, a small read-only tree (`/etc` files, empty `/opt`,
//!   `/var`, `/srv`) below every root volume;
//! - `images/<account>/<region>/<wsi-id>/layers/<NNN>/`: a captured or copied image, its
//!   layers bottom first (over the base image); layers are never written once made, so
//!   copies share their files as hard links;
//! - `ws/<account>/<region>/<ws-id>/`: `root/` (the root volume, the sandbox's `/`), `home/`
//!   (the user volume, `/home/user`), `run/` (the RFB socket and the X socket directory),
//!   `snapshots/<time>/`, `uid`; with copy-on-write roots also `lower/<NNN>/` (hard-linked
//!   layers of the image it was launched from), `upper/` and `work/`.
//!
//! The root volume is a **copy-on-write layer** where localspaces can mount overlayfs (it
//! runs as root in a private mount namespace, see `main.rs`): `root/` is an overlay of
//! `upper/` over `lower/` and the base image, so a new WorkSpace writes nothing but an empty
//! layer, a rebuild discards the layer, and snapshots and captures copy only the layer.
//! Elsewhere (not root) `root/` is a full copy (reflinked where the filesystem can).
//!
//! The sandbox: own mount, PID, IPC, UTS, network and user namespaces, the host's `/usr`
//! (and the few `/etc` entries X programs read) read-only, an unprivileged uid per WorkSpace
//! when localspaces runs as root. Inside, `Xvnc` serves display `:0` over RFB on
//! `run/rfb.sock` only (no TCP), with openbox, xterm and pcmanfm. A sandbox dies with the
//! *thread* that spawned it (`PR_SET_PDEATHSIG`, bwrap's `--die-with-parent`), so desktops
//! are spawned by one spawner thread that lives as long as the process: they die with
//! localspaces (even on SIGKILL) and outlive the short-lived workers that start them.

use super::{DesktopDriver, DesktopKey, ExecOutput, ImageKey, Op, Progress, Spec};
use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Programs the driver runs, and the Debian packages that provide them.
const REQUIRED: &[(&str, &str)] = &[
    ("bwrap", "bubblewrap"),
    ("setpriv", "util-linux"),
    ("Xvnc", "tigervnc-standalone-server"),
    ("openbox", "openbox"),
    ("xterm", "xterm"),
    ("pcmanfm", "pcmanfm"),
    ("xdotool", "xdotool"),
];

/// First uid handed to a WorkSpace's user when localspaces runs as root.
const FIRST_UID: u32 = 200_000;
/// How long a desktop may take until its display answers.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Output kept per stream of an exec.
const EXEC_OUTPUT_LIMIT: usize = 1 << 20;
/// Most worker threads at once; a worker ends after [`WORKER_IDLE`] without work.
const WORKERS: usize = 4;
/// How long an idle worker waits for work before it ends.
const WORKER_IDLE: Duration = Duration::from_secs(2);
/// The environment variable `main` sets to `1` once the process runs in its own mount
/// namespace (where overlay mounts are private to localspaces and its desktops). Set to `0`
/// beforehand, it keeps root volumes full copies (the benchmark's "before").
pub const PRIVATE_MOUNTS_ENV: &str = "LOCALSPACES_PRIVATE_MOUNTS";

/// Host `/etc` entries mounted read-only into every sandbox (fonts, X, loader, alternatives).
const HOST_ETC: &[&str] = &[
    "alternatives",
    "fonts",
    "X11",
    "xdg",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "gtk-3.0",
    "mime.types",
    "localtime",
    "nsswitch.conf",
];

/// The session run inside the sandbox: the X server, then the desktop's programs; it ends
/// (and the sandbox with it) when the X server does.
const SESSION: &str = r#"
Xvnc :0 -rfbunixpath /run/desktop/rfb.sock -rfbunixmode 0600 -rfbport -1 -SecurityTypes None \
  -geometry 1280x800 -depth 24 -nolisten tcp -AlwaysShared -desktop "$LS_DESKTOP" \
  >/run/desktop/xvnc.log 2>&1 &
x=$!
i=0
while [ ! -S /tmp/.X11-unix/X0 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
openbox >/run/desktop/session.log 2>&1 &
pcmanfm /home/user >>/run/desktop/session.log 2>&1 &
sleep 0.3
# Last, so that it has the keyboard focus.
xterm -geometry 100x30+30+30 -title Terminal >>/run/desktop/session.log 2>&1 &
# Up once the terminal's window is on screen (or after 10 s with the display answering).
i=0
while [ $i -lt 100 ] && ! xdotool search --onlyvisible --class xterm >/dev/null 2>&1; do
  sleep 0.1; i=$((i+1))
done
: >/run/desktop/ready
wait $x
"#;

/// Packages missing on this machine for `--desktops local`, as Debian package names.
pub fn missing_packages() -> Vec<&'static str> {
    REQUIRED
        .iter()
        .filter(|(bin, _)| which(bin).is_none())
        .map(|(_, pkg)| *pkg)
        .collect()
}

fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// A default for `--max-desktops`: one desktop per 256 MiB of available memory, at least 1.
pub fn default_max_desktops() -> usize {
    let avail_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(1 << 20);
    usize::try_from(avail_kib / (256 * 1024)).unwrap_or(1).max(1)
}

/// CPU (in cores) and memory (MiB) of a compute type: AWS's figures, scaled to fit a
/// development machine (inferred: a desktop here never gets more than the host has).
pub fn compute_limits(compute: &str) -> (f64, u64) {
    match compute {
        "VALUE" => (1.0, 512),
        "STANDARD" => (1.0, 1024),
        "PERFORMANCE" => (2.0, 2048),
        "POWER" => (2.0, 3072),
        "POWERPRO" => (2.0, 4096),
        "GENERALPURPOSE_4XLARGE" | "GENERALPURPOSE_8XLARGE" => (2.0, 4096),
        "GRAPHICS" | "GRAPHICSPRO" | "GRAPHICS_G4DN" | "GRAPHICSPRO_G4DN" | "GRAPHICS_G6"
        | "GRAPHICSPRO_G6" => (2.0, 4096),
        _ => (1.0, 1024),
    }
}

/// One running sandbox.
struct Proc {
    child: Child,
    /// Set before a deliberate stop, so its end is not a failure.
    stopping: bool,
}

#[derive(Default)]
struct Entry {
    /// The op last asked for and its progress (`Working` while a worker runs it).
    op: Option<(Op, Progress)>,
    proc: Option<Proc>,
    /// Whether the display answered since the last start.
    ready: bool,
    viewers: usize,
}

type Job = Box<dyn FnOnce() + Send>;

/// Worker threads started on demand (at most [`WORKERS`]), each ending after
/// [`WORKER_IDLE`] without work.
#[derive(Default)]
struct Pool {
    state: Mutex<PoolState>,
    ready: Condvar,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    idle: usize,
    threads: usize,
}

impl Pool {
    fn submit(self: &Arc<Self>, job: Job) {
        let mut s = self.state.lock();
        s.jobs.push_back(job);
        if s.idle > 0 {
            self.ready.notify_one();
            return;
        }
        if s.threads >= WORKERS {
            return;
        }
        s.threads += 1;
        let n = s.threads;
        drop(s);
        let pool = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("desktop-worker-{n}"))
            .spawn(move || pool.work());
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a desktop worker");
            self.state.lock().threads -= 1;
        }
    }

    fn work(&self) {
        let mut s = self.state.lock();
        loop {
            if let Some(job) = s.jobs.pop_front() {
                drop(s);
                job();
                s = self.state.lock();
                continue;
            }
            s.idle += 1;
            let timed_out = self.ready.wait_for(&mut s, WORKER_IDLE).timed_out();
            s.idle -= 1;
            if timed_out && s.jobs.is_empty() {
                s.threads -= 1;
                return;
            }
        }
    }
}

/// A sandbox to start and where to answer with its process.
type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Starts the thread that spawns every desktop sandbox. It never ends while the process
/// lives, so the sandboxes' parent-death signal fires only when localspaces dies.
fn spawner() -> std::io::Result<mpsc::Sender<SpawnRequest>> {
    let (tx, rx) = mpsc::channel::<SpawnRequest>();
    std::thread::Builder::new()
        .name("desktop-spawner".into())
        .spawn(move || loop {
            match rx.recv() {
                Ok((mut cmd, answer)) => {
                    let _ = answer.send(cmd.spawn());
                }
                // The driver is gone: keep the thread (and so its children) alive.
                Err(_) => std::thread::park(),
            }
        })?;
    Ok(tx)
}

/// Shared state of the driver (also reached from its workers and monitor).
struct Inner {
    base: PathBuf,
    image: PathBuf,
    entries: Mutex<HashMap<DesktopKey, Entry>>,
    reserved: Mutex<HashSet<DesktopKey>>,
    failures: Mutex<Vec<DesktopKey>>,
    max: usize,
    /// Whether to give each WorkSpace its own uid (localspaces runs as root).
    per_uid: bool,
    /// Whether root volumes are overlay layers (else full copies).
    overlay: bool,
    /// Desktops whose overlay root is mounted (in this process's mount namespace).
    mounted: Mutex<HashSet<DesktopKey>>,
    /// Captures and copies of images, by the image they make.
    image_ops: Mutex<HashMap<ImageKey, Progress>>,
    cgroups: Option<Cgroups>,
    pool: Arc<Pool>,
    spawner: Mutex<mpsc::Sender<SpawnRequest>>,
    /// Serializes snapshots (a periodic one and a rebuild's may race for the same name).
    snapshots: Mutex<()>,
}

/// The local driver.
pub struct LocalDriver {
    inner: Arc<Inner>,
}

impl LocalDriver {
    /// A driver keeping desktops under `data_dir/desktops`. Fails, naming the Debian
    /// packages, when the programs it runs are missing.
    pub fn new(data_dir: &Path, max_desktops: usize) -> anyhow::Result<LocalDriver> {
        let missing = missing_packages();
        if !missing.is_empty() {
            anyhow::bail!(
                "--desktops local needs these Debian packages: {} (apt-get install {})",
                missing.join(", "),
                missing.join(" ")
            );
        }
        let base = data_dir.join("desktops");
        let image = base.join("images").join("base");
        write_base_image(&image)?;
        let per_uid = rustix::process::geteuid().is_root();
        let cgroups = Cgroups::detect();
        match &cgroups {
            Some(c) => {
                tracing::info!(memory = %c.memory.display(), cpu = ?c.cpu, "desktop compute limits through cgroups")
            }
            None => tracing::warn!("no writable cgroup: desktop compute limits are not enforced"),
        }
        let overlay = per_uid && overlay_usable(&base, &image);
        if overlay {
            tracing::info!("desktop root volumes are copy-on-write layers (overlayfs)");
        } else {
            tracing::info!(
                "desktop root volumes are full copies (overlayfs needs localspaces to run as root)"
            );
        }
        let inner = Arc::new(Inner {
            base,
            image,
            entries: Mutex::new(HashMap::new()),
            reserved: Mutex::new(HashSet::new()),
            failures: Mutex::new(Vec::new()),
            max: max_desktops.max(1),
            per_uid,
            overlay,
            mounted: Mutex::new(HashSet::new()),
            image_ops: Mutex::new(HashMap::new()),
            cgroups,
            pool: Arc::new(Pool::default()),
            spawner: Mutex::new(spawner()?),
            snapshots: Mutex::new(()),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("desktop-monitor".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_millis(250));
                match weak.upgrade() {
                    Some(inner) => inner.check_exits(),
                    None => return,
                }
            })?;
        Ok(LocalDriver { inner })
    }
}

/// Writes the base image (idempotent).
fn write_base_image(image: &Path) -> anyhow::Result<()> {
    // Mount points too: directories bwrap would create are private to root.
    for d in [
        "etc",
        "opt",
        "srv",
        "var/tmp",
        "var/log",
        "home/user",
        "run/desktop",
        "tmp",
        "root",
        "mnt",
        "usr",
        "proc",
        "dev",
    ] {
        std::fs::create_dir_all(image.join(d))?;
    }
    for (link, target) in [
        ("bin", "usr/bin"),
        ("sbin", "usr/sbin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
    ] {
        if std::fs::symlink_metadata(image.join(link)).is_err() {
            std::os::unix::fs::symlink(target, image.join(link))?;
        }
    }
    for (name, body) in [
        ("etc/hostname", "workspace\n"),
        (
            "etc/os-release",
            "PRETTY_NAME=\"localspaces desktop (host /usr)\"\nNAME=localspaces\nID=localspaces\n",
        ),
        (
            "opt/README",
            "The root volume of a localspaces WorkSpace: changes outside /home/user are undone by RebuildWorkspaces.\n",
        ),
    ] {
        // Only when changed, and through a new file: its old inode may be a layer in use.
        let path = image.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(body.as_bytes()) {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, body)?;
            std::fs::rename(&tmp, &path)?;
        }
    }
    Ok(())
}

/// Whether overlay mounts work here: the process runs as root in its own mount namespace
/// (so mounts stay private to it) and a probe mount succeeds.
fn overlay_usable(base: &Path, image: &Path) -> bool {
    if std::env::var_os(PRIVATE_MOUNTS_ENV).as_deref() != Some(std::ffi::OsStr::new("1")) {
        return false;
    }
    let probe = base.join(".overlay-probe");
    let _ = std::fs::remove_dir_all(&probe);
    let made = ["upper", "work", "root"]
        .iter()
        .all(|d| std::fs::create_dir_all(probe.join(d)).is_ok());
    let ok = made && mount_overlay(&probe.join("root"), &[image.to_path_buf()], &probe).is_ok();
    if ok {
        let _ = rustix::mount::unmount(probe.join("root"), rustix::mount::UnmountFlags::DETACH);
    }
    let _ = std::fs::remove_dir_all(&probe);
    ok
}

/// Mounts an overlay at `target`: `lower` top first, `upper/` and `work/` under `dir`.
fn mount_overlay(target: &Path, lower: &[PathBuf], dir: &Path) -> Result<(), String> {
    // Option values escape the separators overlayfs reads (`:` between layers, `,`).
    let esc = |p: &Path| {
        p.display()
            .to_string()
            .replace('\\', "\\\\")
            .replace(':', "\\:")
            .replace(',', "\\,")
    };
    let lowerdir: Vec<String> = lower.iter().map(|p| esc(p)).collect();
    let opts = format!(
        "lowerdir={},upperdir={},workdir={},redirect_dir=off,index=off,metacopy=off",
        lowerdir.join(":"),
        esc(&dir.join("upper")),
        esc(&dir.join("work"))
    );
    let data = std::ffi::CString::new(opts).map_err(|e| e.to_string())?;
    rustix::mount::mount(
        "overlay",
        target,
        "overlay",
        rustix::mount::MountFlags::NOSUID | rustix::mount::MountFlags::NODEV,
        data.as_c_str(),
    )
    .map_err(|e| format!("mounting the root volume: {e}"))
}

impl Inner {
    fn dir(&self, key: &DesktopKey) -> PathBuf {
        self.base
            .join("ws")
            .join(&key.account)
            .join(&key.region)
            .join(&key.workspace_id)
    }

    fn image_dir(&self, image: &ImageKey) -> PathBuf {
        self.base
            .join("images")
            .join(&image.account)
            .join(&image.region)
            .join(&image.image_id)
    }

    fn submit(self: &Arc<Self>, job: Job) {
        self.pool.submit(job);
    }

    /// Spawns a desktop sandbox from the spawner thread (see the module's notes).
    fn spawn_sandbox(&self, cmd: Command) -> std::io::Result<Child> {
        let (tx, rx) = mpsc::channel();
        let gone = || std::io::Error::other("the desktop spawner thread is gone");
        self.spawner.lock().send((cmd, tx)).map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }

    /// Starts a capture or copy of `image` unless one runs; reports its progress (a result
    /// once, as [`DesktopDriver::poll`] does).
    fn image_op(
        self: &Arc<Self>,
        image: &ImageKey,
        work: impl FnOnce(&Inner) -> Result<(), String> + Send + 'static,
    ) -> Progress {
        {
            let mut ops = self.image_ops.lock();
            match ops.get(image) {
                Some(Progress::Working) => return Progress::Working,
                Some(p) => {
                    let p = p.clone();
                    ops.remove(image);
                    return p;
                }
                None => {}
            }
            ops.insert(image.clone(), Progress::Working);
        }
        let (inner, image) = (Arc::clone(self), image.clone());
        self.submit(Box::new(move || {
            let p = match work(&inner) {
                Ok(()) => Progress::Done,
                Err(e) => {
                    tracing::warn!(image = %image.image_id, error = %e, "image files failed");
                    Progress::Failed(e)
                }
            };
            inner.image_ops.lock().insert(image, p);
        }));
        Progress::Working
    }

    /// The layers of an image's files, bottom first (none: the base image alone).
    fn image_layers(&self, image: Option<&ImageKey>) -> Vec<PathBuf> {
        image
            .map(|i| layer_dirs(&self.image_dir(i).join("layers")))
            .unwrap_or_default()
    }

    /// (Re)creates the desktop's root volume from `image` (stopped desktop).
    fn make_root(&self, key: &DesktopKey, image: Option<&ImageKey>, uid: Option<u32>) -> Result<(), String> {
        let dir = self.dir(key);
        self.unmount(key)?;
        for d in ["root", "upper", "work", "lower"] {
            remove_path(&dir.join(d))?;
        }
        let layers = self.image_layers(image);
        let root = dir.join("root");
        if self.overlay {
            for (i, l) in layers.iter().enumerate() {
                link_tree(l, &dir.join("lower").join(format!("{i:03}")))?;
            }
            for d in ["upper", "work", "root"] {
                std::fs::create_dir_all(dir.join(d)).map_err(|e| e.to_string())?;
            }
            self.mount(key)?;
            own_base(&self.image, &root, uid)?;
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            copy_tree(&self.image, &root)?;
            for l in &layers {
                copy_into(l, &root)?;
            }
            chown_tree(&root, uid)?;
        }
        write_identity(&root, key, uid)
    }

    /// Mounts the desktop's overlay root unless it is mounted (copy roots: nothing to do).
    fn mount(&self, key: &DesktopKey) -> Result<(), String> {
        if !self.overlay {
            return Ok(());
        }
        let mut mounted = self.mounted.lock();
        if mounted.contains(key) {
            return Ok(());
        }
        let dir = self.dir(key);
        if !dir.join("upper").is_dir() {
            // A root volume made as a full copy (an older localspaces, or not as root)
            // becomes the layer, over the base image it was copied from.
            let root = dir.join("root");
            let empty = read_names(&root).is_empty();
            if !root.is_dir() || empty {
                return Err("the desktop has no root volume".into());
            }
            std::fs::rename(&root, dir.join("upper")).map_err(|e| e.to_string())?;
            std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
        }
        let mut lower = layer_dirs(&dir.join("lower"));
        lower.reverse();
        lower.push(self.image.clone());
        // A fresh work directory: overlayfs wants it empty and on the upper's filesystem.
        remove_path(&dir.join("work"))?;
        std::fs::create_dir_all(dir.join("work")).map_err(|e| e.to_string())?;
        mount_overlay(&dir.join("root"), &lower, &dir)?;
        mounted.insert(key.clone());
        Ok(())
    }

    /// Unmounts the desktop's overlay root if mounted. Sandboxes still running keep their own
    /// copy of the mount; the layer's directories are replaced, never reused, after this.
    fn unmount(&self, key: &DesktopKey) -> Result<(), String> {
        if !self.mounted.lock().remove(key) {
            return Ok(());
        }
        rustix::mount::unmount(self.dir(key).join("root"), rustix::mount::UnmountFlags::DETACH)
            .map_err(|e| format!("unmounting the root volume: {e}"))
    }

    /// Replaces the root volume by the one in snapshot `snap` (stopped desktop).
    fn restore_root(&self, key: &DesktopKey, snap: &Path, uid: Option<u32>) -> Result<(), String> {
        let dir = self.dir(key);
        self.unmount(key)?;
        if self.overlay {
            // A snapshot of a full-copy root volume restores as a layer over the base image.
            let layer = [snap.join("upper"), snap.join("root")]
                .into_iter()
                .find(|p| p.is_dir())
                .ok_or("the snapshot has no root volume")?;
            for d in ["root", "upper", "work", "lower"] {
                remove_path(&dir.join(d))?;
            }
            copy_tree(&layer, &dir.join("upper"))?;
            if snap.join("lower").is_dir() {
                link_tree(&snap.join("lower"), &dir.join("lower"))?;
            }
            std::fs::create_dir_all(dir.join("root")).map_err(|e| e.to_string())?;
            self.mount(key)
        } else if snap.join("root").is_dir() {
            fresh_copy(&snap.join("root"), &dir.join("root"), uid)
        } else {
            Err("the snapshot was taken with the other kind of root volume (overlay or copy)".into())
        }
    }

    /// Writes the files of `image` from the desktop's root volume: its layers (hard links)
    /// and a copy of its own layer; a full root volume makes a single layer.
    fn capture(&self, key: &DesktopKey, image: &ImageKey) -> Result<(), String> {
        let dir = self.dir(key);
        if !dir.join("root").is_dir() {
            return Err("the WorkSpace has no desktop volumes".into());
        }
        self.mount(key)?;
        let dest = self.image_dir(image);
        let tmp = dest.with_file_name(format!(".{}.tmp", image.image_id));
        remove_path(&tmp)?;
        let layers = tmp.join("layers");
        std::fs::create_dir_all(&layers).map_err(|e| e.to_string())?;
        if self.overlay && dir.join("upper").is_dir() {
            let lower = layer_dirs(&dir.join("lower"));
            for (i, l) in lower.iter().enumerate() {
                link_tree(l, &layers.join(format!("{i:03}")))?;
            }
            copy_tree(&dir.join("upper"), &layers.join(format!("{:03}", lower.len())))?;
        } else {
            copy_tree(&dir.join("root"), &layers.join("000"))?;
        }
        remove_path(&dest)?;
        std::fs::rename(&tmp, &dest).map_err(|e| e.to_string())?;
        tracing::info!(workspace = %key.workspace_id, image = %image.image_id, "image captured");
        Ok(())
    }

    /// Copies an image's files (hard links: layers are never written). An image without
    /// files has none to copy.
    fn copy_image(&self, from: &ImageKey, to: &ImageKey) -> Result<(), String> {
        let src = self.image_dir(from);
        if !src.join("layers").is_dir() {
            tracing::debug!(image = %from.image_id, "no image files to copy");
            return Ok(());
        }
        let dest = self.image_dir(to);
        let tmp = dest.with_file_name(format!(".{}.tmp", to.image_id));
        remove_path(&tmp)?;
        if let Some(p) = tmp.parent() {
            std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
        }
        link_tree(&src, &tmp)?;
        remove_path(&dest)?;
        std::fs::rename(&tmp, &dest).map_err(|e| e.to_string())
    }

    /// The uid (and gid) of a WorkSpace's user: allocated once and kept in `uid`.
    fn uid(&self, key: &DesktopKey) -> std::io::Result<Option<u32>> {
        if !self.per_uid {
            return Ok(None);
        }
        let dir = self.dir(key);
        let file = dir.join("uid");
        if let Some(uid) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return Ok(Some(uid));
        }
        let _g = self.reserved.lock(); // serializes allocation
                                       // Never reused: files in images keep the uid of the WorkSpace that made them.
        let last = self.base.join("last-uid");
        let mut max = std::fs::read_to_string(&last)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(FIRST_UID - 1)
            .max(FIRST_UID - 1);
        for k in self.known() {
            if let Some(u) = std::fs::read_to_string(self.dir(&k).join("uid"))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
            {
                max = max.max(u);
            }
        }
        let uid = max + 1;
        std::fs::create_dir_all(&dir)?;
        std::fs::write(&last, uid.to_string())?;
        std::fs::write(&file, uid.to_string())?;
        Ok(Some(uid))
    }

    /// Kills sandboxes over this driver's volumes that no entry owns: those a previous
    /// localspaces process left running (none normally: they die with it; this is the net
    /// for a sandbox whose parent-death signal was lost).
    fn kill_orphans(&self) -> usize {
        let marker = format!("{}/", self.base.join("ws").display());
        let mut killed = 0;
        for name in read_names(Path::new("/proc")) {
            let Ok(pid) = name.parse::<u32>() else { continue };
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let mut args = cmdline.split(|b| *b == 0);
            let is_bwrap = args.next().is_some_and(|a| a.ends_with(b"bwrap"));
            if is_bwrap && args.any(|a| a.starts_with(marker.as_bytes())) {
                if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
                    if rustix::process::kill_process(p, rustix::process::Signal::KILL).is_ok() {
                        killed += 1;
                    }
                }
            }
        }
        killed
    }

    fn known(&self) -> Vec<DesktopKey> {
        let mut out = Vec::new();
        let ws = self.base.join("ws");
        for a in read_names(&ws) {
            for r in read_names(&ws.join(&a)) {
                for id in read_names(&ws.join(&a).join(&r)) {
                    if let Some(k) = DesktopKey::new(&a, &r, &id) {
                        out.push(k);
                    }
                }
            }
        }
        out
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

    /// Runs one op to its end (on a worker thread).
    fn run_op(self: &Arc<Self>, key: &DesktopKey, op: &Op, spec: &Spec) -> Result<(), String> {
        let dir = self.dir(key);
        match op {
            Op::Provision => {
                self.stop(key)?;
                let uid = self.uid(key).map_err(|e| e.to_string())?;
                self.make_root(key, spec.image.as_ref(), uid)?;
                let home = dir.join("home");
                std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
                chown_tree(&home, uid)?;
                self.start(key, spec)?;
                Ok(())
            }
            Op::Migrate { from, snapshot_at } => {
                let snap = match snapshot_at {
                    Some(at) => Some(self.take_snapshot(from, *at)?),
                    None => self.latest_snapshot(from),
                };
                self.stop(key)?;
                let uid = self.uid(key).map_err(|e| e.to_string())?;
                self.make_root(key, spec.image.as_ref(), uid)?;
                let home = dir.join("home");
                match &snap {
                    Some(s) => fresh_copy(&s.join("home"), &home, uid)?,
                    None => {
                        remove_path(&home)?;
                        std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
                        chown_tree(&home, uid)?;
                    }
                }
                self.start(key, spec)
            }
            Op::Start => self.start(key, spec),
            Op::Stop => self.stop(key),
            // Volume sizes are reported, not enforced: a home is a directory on the host.
            Op::Update => Ok(()),
            Op::Reboot => {
                self.stop(key)?;
                self.start(key, spec)
            }
            Op::Rebuild { snapshot_at } | Op::Restore { snapshot_at } => {
                let snap = match snapshot_at {
                    Some(at) => Some(self.take_snapshot(key, *at)?),
                    None => self.latest_snapshot(key),
                };
                self.stop(key)?;
                let uid = self.uid(key).map_err(|e| e.to_string())?;
                match (op, &snap) {
                    (Op::Restore { .. }, Some(s)) => self.restore_root(key, s, uid)?,
                    // Rebuild: the layer is discarded; the image is the bundle's now.
                    _ => self.make_root(key, spec.image.as_ref(), uid)?,
                }
                let home = dir.join("home");
                match &snap {
                    Some(s) => fresh_copy(&s.join("home"), &home, uid)?,
                    None => {
                        let _ = std::fs::remove_dir_all(&home);
                        std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
                        chown_tree(&home, uid)?;
                    }
                }
                self.start(key, spec)
            }
            Op::Terminate => {
                self.stop(key)?;
                self.unmount(key)?;
                std::fs::remove_dir_all(&dir)
                    .or_else(|e| {
                        if e.kind() == std::io::ErrorKind::NotFound {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })
                    .map_err(|e| format!("deleting {}: {e}", dir.display()))?;
                if let Some(c) = &self.cgroups {
                    c.remove(key);
                }
                Ok(())
            }
        }
    }

    /// The directory of the newest snapshot.
    fn latest_snapshot(&self, key: &DesktopKey) -> Option<PathBuf> {
        let dir = self.dir(key).join("snapshots");
        let mut times: Vec<(f64, String)> = read_names(&dir)
            .into_iter()
            .filter_map(|n| n.parse::<f64>().ok().map(|t| (t, n)))
            .collect();
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        times.last().map(|(_, n)| dir.join(n))
    }

    /// Copies both volumes into `snapshots/<at>` unless a snapshot at least that recent
    /// exists; answers the newest snapshot's directory. Keeps the last five.
    fn take_snapshot(&self, key: &DesktopKey, at: f64) -> Result<PathBuf, String> {
        let _one_at_a_time = self.snapshots.lock();
        if let Some(latest) = self.latest_snapshot(key) {
            let t = latest
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<f64>().ok());
            if t.is_some_and(|t| t >= at - 0.001) {
                return Ok(latest);
            }
        }
        let dir = self.dir(key);
        let snaps = dir.join("snapshots");
        let name = format!("{at:.3}");
        let tmp = snaps.join(format!(".{name}.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        if self.overlay && dir.join("upper").is_dir() {
            // The layer and the image below it (hard links: never written).
            copy_tree(&dir.join("upper"), &tmp.join("upper"))?;
            if dir.join("lower").is_dir() {
                link_tree(&dir.join("lower"), &tmp.join("lower"))?;
            }
        } else {
            copy_tree(&dir.join("root"), &tmp.join("root"))?;
        }
        copy_tree(&dir.join("home"), &tmp.join("home"))?;
        let dest = snaps.join(&name);
        std::fs::rename(&tmp, &dest).map_err(|e| e.to_string())?;
        let mut all: Vec<(f64, String)> = read_names(&snaps)
            .into_iter()
            .filter_map(|n| n.parse::<f64>().ok().map(|t| (t, n)))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        while all.len() > 5 {
            let (_, n) = all.remove(0);
            let _ = std::fs::remove_dir_all(snaps.join(n));
        }
        tracing::debug!(workspace = %key.workspace_id, at, "desktop snapshot taken");
        Ok(dest)
    }

    /// The bubblewrap command of a sandbox over the desktop's volumes; `command` runs in it
    /// as the WorkSpace's user (or as the sandbox's root).
    ///
    /// As root, bwrap sets the sandbox up without a user namespace (the volumes' paths need
    /// not be reachable by the WorkSpace's uid) and `setpriv` then drops to that uid with no
    /// capabilities; the sandbox's root keeps only the capabilities to own and change any
    /// file of its volumes. As another user, bwrap runs unprivileged in a user namespace.
    fn sandbox(&self, key: &DesktopKey, uid: Option<u32>, as_root: bool, command: &[&str]) -> Command {
        let dir = self.dir(key);
        let mut c = Command::new("bwrap");
        c.arg("--bind").arg(dir.join("root")).arg("/");
        c.args(["--ro-bind", "/usr", "/usr"]);
        for e in HOST_ETC {
            let p = Path::new("/etc").join(e);
            if p.exists() {
                c.arg("--ro-bind").arg(&p).arg(&p);
            }
        }
        c.args([
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
        ]);
        c.arg("--bind").arg(dir.join("run/x11")).arg("/tmp/.X11-unix");
        c.arg("--bind").arg(dir.join("run")).arg("/run/desktop");
        c.arg("--bind").arg(dir.join("home")).arg("/home/user");
        c.args([
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]);
        c.args(["--die-with-parent", "--new-session", "--hostname", "workspace"]);
        c.args(["--chdir", "/home/user"]);
        match (uid, as_root) {
            (Some(_), true) => {
                c.args(["--cap-drop", "ALL"]);
                for cap in ["CAP_DAC_OVERRIDE", "CAP_CHOWN", "CAP_FOWNER"] {
                    c.args(["--cap-add", cap]);
                }
                c.arg("--");
            }
            (Some(uid), false) => {
                c.args(["--", "setpriv"]);
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={uid}"))
                    .args(["--clear-groups", "--inh-caps=-all", "--"]);
            }
            (None, true) => {
                c.args(["--unshare-user", "--uid", "0", "--gid", "0", "--"]);
            }
            (None, false) => {
                c.args(["--unshare-user", "--"]);
            }
        }
        c.args(command);
        c.env_clear();
        c.env("PATH", "/usr/local/bin:/usr/bin:/bin");
        c.env("HOME", if as_root { "/root" } else { "/home/user" });
        c.env("USER", if as_root { "root" } else { "user" });
        c.env("DISPLAY", ":0");
        c.env("LANG", "C.UTF-8");
        c.env("LS_DESKTOP", &key.workspace_id);
        c
    }

    /// Starts the sandbox and waits until its display answers RFB.
    fn start(self: &Arc<Self>, key: &DesktopKey, spec: &Spec) -> Result<(), String> {
        if self.is_running(key) {
            return Ok(());
        }
        let dir = self.dir(key);
        if !dir.join("root").is_dir() {
            return Err("the desktop has no volumes (it was never provisioned)".into());
        }
        let uid = self.uid(key).map_err(|e| e.to_string())?;
        self.mount(key)?;
        let run = dir.join("run");
        let _ = std::fs::remove_dir_all(&run);
        std::fs::create_dir_all(run.join("x11")).map_err(|e| e.to_string())?;
        chown_tree(&run, uid)?;
        let log = std::fs::File::create(run.join("bwrap.log")).map_err(|e| e.to_string())?;
        let mut cmd = self.sandbox(key, uid, false, &["/bin/sh", "-c", SESSION]);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        let child = self
            .spawn_sandbox(cmd)
            .map_err(|e| format!("starting bwrap: {e}"))?;
        let pid = child.id();
        self.reserved.lock().insert(key.clone());
        if let Some(c) = &self.cgroups {
            let (cpus, mib) = compute_limits(&spec.compute);
            if let Err(e) = c.place(key, pid, cpus, mib) {
                tracing::warn!(error = %e, "could not apply desktop compute limits");
            }
        }
        {
            let mut entries = self.entries.lock();
            let e = entries.entry(key.clone()).or_default();
            e.proc = Some(Proc {
                child,
                stopping: false,
            });
            e.ready = false;
        }
        let sock = run.join("rfb.sock");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if run.join("ready").exists() && rfb_answers(&sock) {
                break;
            }
            let alive = self
                .entries
                .lock()
                .get_mut(key)
                .and_then(|e| e.proc.as_mut())
                .is_some_and(|p| matches!(p.child.try_wait(), Ok(None)));
            if !alive || Instant::now() > deadline {
                let log = std::fs::read_to_string(run.join("xvnc.log")).unwrap_or_default()
                    + &std::fs::read_to_string(run.join("bwrap.log")).unwrap_or_default();
                let _ = self.stop(key);
                let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                return Err(format!("the desktop's display did not come up: {tail}"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        if let Some(e) = self.entries.lock().get_mut(key) {
            e.ready = true;
        }
        tracing::info!(workspace = %key.workspace_id, pid, "desktop running");
        Ok(())
    }

    /// Kills the sandbox and waits until every process in it is gone.
    fn stop(&self, key: &DesktopKey) -> Result<(), String> {
        let proc = {
            let mut entries = self.entries.lock();
            let Some(e) = entries.get_mut(key) else {
                return Ok(());
            };
            e.ready = false;
            e.proc.take()
        };
        if let Some(mut p) = proc {
            p.stopping = true;
            let pids = sandbox_pids(p.child.id());
            let _ = p.child.kill();
            let _ = p.child.wait();
            // The sandbox's processes die with its init (killed with bwrap); wait for them.
            let deadline = Instant::now() + Duration::from_secs(10);
            while pids.iter().any(|pid| alive(*pid)) {
                if Instant::now() > deadline {
                    return Err("the desktop's processes did not exit".into());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Empty now; the next start creates them afresh (with the compute type of then).
            if let Some(c) = &self.cgroups {
                c.remove(key);
            }
        }
        Ok(())
    }

    fn is_running(&self, key: &DesktopKey) -> bool {
        self.entries
            .lock()
            .get(key)
            .is_some_and(|e| e.ready && e.proc.is_some())
    }

    /// Notices sandboxes that ended without a stop (monitor thread).
    fn check_exits(&self) {
        let mut dead = Vec::new();
        {
            let mut entries = self.entries.lock();
            for (k, e) in entries.iter_mut() {
                let Some(p) = e.proc.as_mut() else { continue };
                if let Ok(Some(status)) = p.child.try_wait() {
                    if !p.stopping && e.ready {
                        tracing::warn!(workspace = %k.workspace_id, %status, "desktop died");
                        dead.push(k.clone());
                    }
                    e.proc = None;
                    e.ready = false;
                }
            }
        }
        if !dead.is_empty() {
            self.failures.lock().extend(dead);
        }
    }
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}

/// Whether an RFB server answers its version on `sock`.
fn rfb_answers(sock: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"RFB ")
}

/// Every process of the sandbox whose bwrap is `pid`: bwrap's descendants, from `/proc`.
fn sandbox_pids(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")) {
            out.extend(s.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
        i += 1;
    }
    out
}

fn read_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// Copies `src` to `dest` with `cp -a` (links, modes, owners and extended attributes
/// kept; data reflinked where the filesystem can).
fn copy_tree(src: &Path, dest: &Path) -> Result<(), String> {
    cp(&["-a", "--reflink=auto"], src, dest)
}

/// Copies the contents of directory `src` into the existing directory `dest`.
fn copy_into(src: &Path, dest: &Path) -> Result<(), String> {
    cp(&["-a", "--reflink=auto", "-T"], src, dest)
}

/// Makes `dest` a tree of hard links to the files of `src` (directories are new).
fn link_tree(src: &Path, dest: &Path) -> Result<(), String> {
    if let Some(p) = dest.parent() {
        std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
    }
    cp(&["-a", "-l"], src, dest)
}

/// Removes a file or directory tree; no error when it is absent.
fn remove_path(p: &Path) -> Result<(), String> {
    let res = match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
    };
    res.map_err(|e| format!("removing {}: {e}", p.display()))
}

/// The numbered layer directories under `dir`, bottom first.
fn layer_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<String> = read_names(dir)
        .into_iter()
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    names.sort();
    names.into_iter().map(|n| dir.join(n)).collect()
}

/// Gives the WorkSpace's user the entries of the base image in its overlay root (their
/// metadata is copied up into the layer; the image's own files keep their owners).
fn own_base(base: &Path, root: &Path, uid: Option<u32>) -> Result<(), String> {
    let Some(uid) = uid else { return Ok(()) };
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let (src, dest) = (base.join(&rel), root.join(&rel));
        let meta = std::fs::symlink_metadata(&src).map_err(|e| e.to_string())?;
        std::os::unix::fs::lchown(&dest, Some(uid), Some(uid))
            .map_err(|e| format!("chown {}: {e}", dest.display()))?;
        if meta.is_dir() {
            todo.extend(read_names(&src).into_iter().map(|n| rel.join(n)));
        }
    }
    Ok(())
}

fn cp(flags: &[&str], src: &Path, dest: &Path) -> Result<(), String> {
    let out = Command::new("cp")
        .args(flags)
        .arg("--")
        .arg(src)
        .arg(dest)
        .output()
        .map_err(|e| format!("cp: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "copying {}: {}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Replaces `dest` by a copy of `src` owned by `uid`.
fn fresh_copy(src: &Path, dest: &Path, uid: Option<u32>) -> Result<(), String> {
    if let Err(e) = std::fs::remove_dir_all(dest) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(format!("removing {}: {e}", dest.display()));
        }
    }
    if let Some(p) = dest.parent() {
        std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
    }
    copy_tree(src, dest)?;
    chown_tree(dest, uid)
}

fn chown_tree(path: &Path, uid: Option<u32>) -> Result<(), String> {
    let Some(uid) = uid else { return Ok(()) };
    let out = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{uid}"))
        .arg(path)
        .output()
        .map_err(|e| format!("chown: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "chown {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// `/etc/passwd` and `/etc/group` of the root volume, naming the sandbox's user.
fn write_identity(root: &Path, key: &DesktopKey, uid: Option<u32>) -> Result<(), String> {
    let uid = uid.unwrap_or_else(|| rustix::process::geteuid().as_raw());
    let passwd = format!(
        "root:x:0:0:root:/root:/bin/sh\nuser:x:{uid}:{uid}:{}:/home/user:/bin/bash\n",
        key.workspace_id
    );
    let group = format!("root:x:0:\nuser:x:{uid}:\n");
    for (name, body) in [("etc/passwd", passwd), ("etc/group", group)] {
        let p = root.join(name);
        let mut f = std::fs::File::create(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        f.write_all(body.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Reads at most [`EXEC_OUTPUT_LIMIT`] bytes of a stream, draining the rest.
fn bounded_read(mut r: impl Read) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match r.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = EXEC_OUTPUT_LIMIT.saturating_sub(buf.len());
                buf.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// cgroup directories the driver may create desktop groups under.
struct Cgroups {
    /// v2: the unified group; v1: the memory controller's group.
    memory: PathBuf,
    /// v1 only: the cpu controller's group.
    cpu: Option<PathBuf>,
    v2: bool,
}

impl Cgroups {
    /// Finds this process's cgroups and checks that sub-groups can be created there.
    fn detect() -> Option<Cgroups> {
        let me = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let mut v1_mem = None;
        let mut v1_cpu = None;
        let mut v2 = None;
        for line in me.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            let path = path.trim_start_matches('/');
            if ctrls.is_empty() {
                v2 = Some(PathBuf::from("/sys/fs/cgroup").join(path));
            } else if ctrls.split(',').any(|c| c == "memory") {
                v1_mem = Some(PathBuf::from("/sys/fs/cgroup/memory").join(path));
            } else if ctrls.split(',').any(|c| c == "cpu") {
                v1_cpu = Some(PathBuf::from(format!("/sys/fs/cgroup/{ctrls}")).join(path));
            }
        }
        let writable = |p: &Path| {
            let probe = p.join("localspaces-probe");
            let ok = std::fs::create_dir(&probe).is_ok();
            let _ = std::fs::remove_dir(&probe);
            ok
        };
        if let Some(mem) = v1_mem.filter(|p| p.join("memory.limit_in_bytes").exists() && writable(p)) {
            let cpu = v1_cpu.filter(|p| p.join("cpu.cfs_quota_us").exists() && writable(p));
            return Some(Cgroups {
                memory: mem,
                cpu,
                v2: false,
            });
        }
        let v2 = v2.filter(|p| p.join("cgroup.controllers").exists() && writable(p))?;
        Some(Cgroups {
            memory: v2,
            cpu: None,
            v2: true,
        })
    }

    fn group_name(key: &DesktopKey) -> String {
        format!("localspaces-{}-{}-{}", key.account, key.region, key.workspace_id)
    }

    /// Creates the desktop's groups with its limits and moves `pid` into them.
    fn place(&self, key: &DesktopKey, pid: u32, cpus: f64, mib: u64) -> std::io::Result<()> {
        let name = Self::group_name(key);
        let bytes = mib * 1024 * 1024;
        let mem = self.memory.join(&name);
        std::fs::create_dir_all(&mem)?;
        if self.v2 {
            let _ = std::fs::write(mem.join("memory.max"), bytes.to_string());
            let _ = std::fs::write(
                mem.join("cpu.max"),
                format!("{} 100000", (cpus * 100_000.0) as u64),
            );
            return std::fs::write(mem.join("cgroup.procs"), pid.to_string());
        }
        std::fs::write(mem.join("memory.limit_in_bytes"), bytes.to_string())?;
        std::fs::write(mem.join("cgroup.procs"), pid.to_string())?;
        if let Some(cpu) = &self.cpu {
            let g = cpu.join(&name);
            std::fs::create_dir_all(&g)?;
            std::fs::write(g.join("cpu.cfs_period_us"), "100000")?;
            std::fs::write(
                g.join("cpu.cfs_quota_us"),
                ((cpus * 100_000.0) as u64).to_string(),
            )?;
            std::fs::write(g.join("cgroup.procs"), pid.to_string())?;
        }
        Ok(())
    }

    fn remove(&self, key: &DesktopKey) {
        let name = Self::group_name(key);
        let _ = std::fs::remove_dir(self.memory.join(&name));
        if let Some(cpu) = &self.cpu {
            let _ = std::fs::remove_dir(cpu.join(&name));
        }
    }
}

impl DesktopDriver for LocalDriver {
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
        let (inner2, key2, op2, spec2) = (Arc::clone(inner), key.clone(), op.clone(), spec.clone());
        inner.submit(Box::new(move || {
            let started = Instant::now();
            let res = inner2.run_op(&key2, &op2, &spec2);
            // The desktop's slot is free once it stopped for good or failed to run.
            if matches!(op2, Op::Stop | Op::Terminate) || res.is_err() {
                inner2.reserved.lock().remove(&key2);
            }
            let p = match res {
                Ok(()) => Progress::Done,
                Err(msg) => {
                    tracing::warn!(workspace = %key2.workspace_id, op = ?op2, error = %msg, "desktop operation failed");
                    Progress::Failed(msg)
                }
            };
            tracing::debug!(workspace = %key2.workspace_id, op = ?op2, ms = started.elapsed().as_millis() as u64, "desktop operation finished");
            inner2.set_progress(&key2, &op2, p);
        }));
        Progress::Working
    }

    fn is_running(&self, key: &DesktopKey) -> bool {
        self.inner.is_running(key)
    }

    fn take_failures(&self) -> Vec<DesktopKey> {
        std::mem::take(&mut *self.inner.failures.lock())
    }

    fn reserve(&self, key: &DesktopKey, _spec: &Spec) -> Result<(), String> {
        let mut r = self.inner.reserved.lock();
        if r.contains(key) {
            return Ok(());
        }
        if r.len() >= self.inner.max {
            return Err(format!(
                "No desktop capacity left: {} desktops are running or starting on this host (--max-desktops).",
                self.inner.max
            ));
        }
        r.insert(key.clone());
        Ok(())
    }

    fn release(&self, key: &DesktopKey) {
        if !self.inner.is_running(key) {
            self.inner.reserved.lock().remove(key);
        }
    }

    fn max_desktops(&self) -> usize {
        self.inner.max
    }

    fn snapshot(&self, key: &DesktopKey, at: f64) {
        let newest = self.inner.latest_snapshot(key).and_then(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<f64>().ok())
        });
        if newest.is_some_and(|t| t >= at - 0.001) {
            return;
        }
        let (inner, key) = (Arc::clone(&self.inner), key.clone());
        self.inner.submit(Box::new(move || {
            if !inner.dir(&key).join("root").is_dir() {
                return;
            }
            if let Err(e) = inner.take_snapshot(&key, at) {
                tracing::warn!(workspace = %key.workspace_id, error = %e, "desktop snapshot failed");
            }
        }));
    }

    fn rfb_socket(&self, key: &DesktopKey) -> Option<PathBuf> {
        self.is_running(key)
            .then(|| self.inner.dir(key).join("run/rfb.sock"))
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
        let dir = self.inner.dir(key);
        if !dir.join("root").is_dir() {
            return Err("the WorkSpace has no desktop volumes".into());
        }
        let uid = self.inner.uid(key).map_err(|e| e.to_string())?;
        self.inner.mount(key)?;
        std::fs::create_dir_all(dir.join("run/x11")).map_err(|e| e.to_string())?;
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let mut cmd = self.inner.sandbox(key, uid, as_root, &args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("starting bwrap: {e}"))?;
        let out = child
            .stdout
            .take()
            .map(|s| std::thread::spawn(move || bounded_read(s)));
        let err = child
            .stderr
            .take()
            .map(|s| std::thread::spawn(move || bounded_read(s)));
        let deadline = Instant::now() + timeout;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() > deadline => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(e.to_string()),
            }
        };
        let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
        let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
        Ok(ExecOutput {
            exit_code: if timed_out {
                None
            } else {
                status.and_then(|s| s.code())
            },
            stdout,
            stderr,
            timed_out,
        })
    }

    fn known(&self) -> Vec<DesktopKey> {
        self.inner.known()
    }

    fn shutdown(&self) {
        let keys: Vec<DesktopKey> = self.inner.entries.lock().keys().cloned().collect();
        for k in keys {
            let _ = self.inner.stop(&k);
        }
        let mounted: Vec<DesktopKey> = self.inner.mounted.lock().iter().cloned().collect();
        for k in mounted {
            let _ = self.inner.unmount(&k);
        }
    }

    fn kill_orphans(&self) -> usize {
        self.inner.kill_orphans()
    }

    fn pids(&self, key: &DesktopKey) -> Vec<u32> {
        self.inner
            .entries
            .lock()
            .get(key)
            .and_then(|e| e.proc.as_ref())
            .map(|p| sandbox_pids(p.child.id()))
            .unwrap_or_default()
    }

    fn capture_image(&self, key: &DesktopKey, image: &ImageKey) -> Progress {
        let key = key.clone();
        let image2 = image.clone();
        self.inner
            .image_op(image, move |inner| inner.capture(&key, &image2))
    }

    fn copy_image(&self, from: &ImageKey, to: &ImageKey) -> Progress {
        let (from, to2) = (from.clone(), to.clone());
        self.inner
            .image_op(to, move |inner| inner.copy_image(&from, &to2))
    }

    fn delete_image(&self, image: &ImageKey) {
        let dir = self.inner.image_dir(image);
        let id = image.image_id.clone();
        self.inner.submit(Box::new(move || {
            if let Err(e) = remove_path(&dir) {
                tracing::warn!(image = %id, error = %e, "deleting image files failed");
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_types_grow() {
        let order = ["VALUE", "STANDARD", "PERFORMANCE", "POWER", "POWERPRO"];
        let mems: Vec<u64> = order.iter().map(|c| compute_limits(c).1).collect();
        assert!(mems.windows(2).all(|w| w[0] < w[1]), "{mems:?}");
        assert!(default_max_desktops() >= 1);
    }

    #[test]
    fn liveness_from_proc() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX / 2));
        let mut child = Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        std::thread::sleep(Duration::from_millis(200));
        // Exited, not yet reaped: a zombie is not alive.
        assert!(!alive(pid));
        let _ = child.wait();
    }

    #[test]
    fn layers_are_numbered_bottom_first_and_linked_not_copied() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let layers = dir.path().join("layers");
        for n in ["010", "002", "notes", ".tmp"] {
            std::fs::create_dir_all(layers.join(n)).expect("mkdir");
        }
        let found: Vec<PathBuf> = layer_dirs(&layers);
        assert_eq!(found, vec![layers.join("002"), layers.join("010")]);
        std::fs::write(layers.join("002/file"), "x").expect("write");
        let copy = dir.path().join("copy/layers");
        link_tree(&layers, &copy).expect("link");
        let ino = |p: &Path| std::fs::metadata(p).expect("stat").ino();
        assert_eq!(ino(&layers.join("002/file")), ino(&copy.join("002/file")));
        remove_path(&copy).expect("remove");
        remove_path(&copy).expect("absent is fine");
        assert!(layers.join("002/file").exists());
    }

    #[test]
    fn base_image_has_mount_points_and_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("base");
        write_base_image(&image).expect("image");
        write_base_image(&image).expect("idempotent");
        assert!(image.join("home/user").is_dir());
        assert!(image.join("run/desktop").is_dir());
        assert_eq!(
            std::fs::read_link(image.join("bin")).expect("link"),
            Path::new("usr/bin")
        );
    }
}
