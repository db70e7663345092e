//! The QEMU/KVM desktop module driven directly on the small test image
//! (`images/test/build.sh`, built and cached under `target/kvm-test-image`).
//!
//! Runs with KVM when `/dev/kvm` can boot a stock kernel; otherwise under QEMU's emulation
//! (TCG), saying why (set `LOCALSPACES_KVM_TESTS=kvm-only` to skip instead). Skipped, with
//! the reason printed, when QEMU is not installed or the image cannot be built.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use localspaces::desktop::kvm::{
    base_image, check_host, Error, ExecRequest, Health, KvmConfig, Manager, VmSpec, Volumes,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The test image's directory, built once per test binary; `None` (with the reason printed)
/// when these tests cannot run here.
fn test_image() -> Option<&'static Path> {
    static IMAGE: OnceLock<Option<PathBuf>> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let kvm_only = std::env::var("LOCALSPACES_KVM_TESTS").as_deref() == Ok("kvm-only");
            match check_host(!kvm_only) {
                Ok(host) => {
                    if let Some(why) = &host.kvm_unusable {
                        eprintln!("kvm tests: KVM is not usable ({why}); running under TCG emulation");
                    }
                }
                Err(e) => {
                    eprintln!("kvm tests skipped: {e}");
                    return None;
                }
            }
            let dir = std::env::var_os("LOCALSPACES_KVM_TEST_IMAGE")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("target/kvm-test-image"));
            let status = std::process::Command::new("bash")
                .arg(workspace_root().join("images/test/build.sh"))
                .arg(&dir)
                .status();
            match status {
                Ok(s) if s.success() => Some(dir),
                other => {
                    eprintln!("kvm tests skipped: building the test image failed: {other:?}");
                    None
                }
            }
        })
        .as_deref()
}

fn config(state: &Path) -> KvmConfig {
    let mut config = KvmConfig::new(state);
    config.allow_tcg = std::env::var("LOCALSPACES_KVM_TESTS").as_deref() != Ok("kvm-only");
    config.boot_timeout = Duration::from_secs(120);
    config.stop_timeout = Duration::from_secs(30);
    config
}

fn spec(image: &Path, id: &str, compute: &str) -> VmSpec {
    VmSpec {
        id: id.to_string(),
        // The driver's choice: the uncompressed kernel (PVH entry) when the image has one.
        image: base_image(image).expect("the test image"),
        user_name: "alice".into(),
        root_volume_gib: 1,
        user_volume_gib: 1,
        compute_type: compute.into(),
    }
}

async fn sh(m: &Manager, id: &str, script: &str) -> (i64, String) {
    let out = m
        .exec(id, &ExecRequest::new(["/bin/sh", "-c", script]))
        .await
        .unwrap_or_else(|e| panic!("exec {script:?}: {e}"));
    (
        out.exit_code,
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

/// An RFB 3.8 client over the Unix socket: handshake with security None, ServerInit, one
/// full framebuffer update in Raw encoding. Returns (width, height, bytes per pixel, pixels).
async fn rfb_frame(socket: &Path) -> (u16, u16, usize, Vec<u8>) {
    let mut s = UnixStream::connect(socket).await.expect("connect to VNC");
    let mut version = [0u8; 12];
    s.read_exact(&mut version).await.unwrap();
    assert!(version.starts_with(b"RFB 003."), "{version:?}");
    s.write_all(b"RFB 003.008\n").await.unwrap();
    let n = s.read_u8().await.unwrap();
    assert!(n > 0, "the server refused the connection");
    let mut types = vec![0u8; n as usize];
    s.read_exact(&mut types).await.unwrap();
    assert!(types.contains(&1), "security None offered: {types:?}");
    s.write_u8(1).await.unwrap();
    assert_eq!(s.read_u32().await.unwrap(), 0, "SecurityResult OK");
    s.write_u8(1).await.unwrap(); // ClientInit: shared
    let width = s.read_u16().await.unwrap();
    let height = s.read_u16().await.unwrap();
    let mut format = [0u8; 16];
    s.read_exact(&mut format).await.unwrap();
    let bpp = usize::from(format[0]) / 8;
    let name_len = s.read_u32().await.unwrap();
    let mut name = vec![0u8; name_len as usize];
    s.read_exact(&mut name).await.unwrap();
    // SetEncodings: Raw only.
    s.write_all(&[2, 0, 0, 1, 0, 0, 0, 0]).await.unwrap();
    // FramebufferUpdateRequest, not incremental, whole screen.
    let mut req = vec![3, 0, 0, 0, 0, 0];
    req.extend_from_slice(&width.to_be_bytes());
    req.extend_from_slice(&height.to_be_bytes());
    s.write_all(&req).await.unwrap();
    let mut pixels = vec![0u8; usize::from(width) * usize::from(height) * bpp];
    loop {
        let kind = s.read_u8().await.unwrap();
        match kind {
            0 => {
                s.read_u8().await.unwrap();
                let rects = s.read_u16().await.unwrap();
                for _ in 0..rects {
                    let x = usize::from(s.read_u16().await.unwrap());
                    let y = usize::from(s.read_u16().await.unwrap());
                    let w = usize::from(s.read_u16().await.unwrap());
                    let h = usize::from(s.read_u16().await.unwrap());
                    let encoding = s.read_i32().await.unwrap();
                    if encoding == -223 {
                        // DesktopSize pseudo-encoding: no data.
                        continue;
                    }
                    assert_eq!(encoding, 0, "raw encoding");
                    let mut rect = vec![0u8; w * h * bpp];
                    s.read_exact(&mut rect).await.unwrap();
                    for row in 0..h {
                        let dst = ((y + row) * usize::from(width) + x) * bpp;
                        if dst + w * bpp <= pixels.len() {
                            pixels[dst..dst + w * bpp]
                                .copy_from_slice(&rect[row * w * bpp..(row + 1) * w * bpp]);
                        }
                    }
                }
                return (width, height, bpp, pixels);
            }
            2 => {} // Bell
            1 | 3 => panic!("unexpected server message {kind} before the update"),
            other => panic!("unknown server message {other}"),
        }
    }
}

fn distinct_pixels(bpp: usize, pixels: &[u8]) -> usize {
    let mut seen = std::collections::HashSet::new();
    for p in pixels.chunks(bpp) {
        seen.insert(p.to_vec());
        if seen.len() > 16 {
            break;
        }
    }
    seen.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boots_to_agent_shows_a_screen_and_reconciles_after_a_restart() {
    let Some(image) = test_image() else { return };
    let state = tempfile::tempdir().unwrap();
    let m = Manager::new(config(state.path())).unwrap();
    let id = "ws-boot0001";
    m.provision(&spec(image, id, "VALUE")).await.unwrap();
    assert_eq!(m.health(id).unwrap(), Health::Stopped);
    m.start(id).await.unwrap();
    assert_eq!(m.health(id).unwrap(), Health::Running);

    let (code, out) = sh(&m, id, "cat /proc/cmdline; mount").await;
    assert_eq!(code, 0);
    assert!(out.contains("localspaces.user=alice"), "{out}");
    assert!(out.contains("/dev/vdb on /home/alice"), "{out}");
    let (code, whoami) = m
        .exec(id, &{
            let mut r = ExecRequest::new(["id", "-un"]);
            r.user = Some("alice".into());
            r
        })
        .await
        .map(|o| (o.exit_code, String::from_utf8_lossy(&o.stdout).trim().to_string()))
        .unwrap();
    assert_eq!((code, whoami.as_str()), (0, "alice"));
    let failing = m
        .exec(id, &ExecRequest::new(["/bin/sh", "-c", "exit 7"]))
        .await
        .unwrap();
    assert_eq!(failing.exit_code, 7);

    // The display: RFB over the Unix socket, a non-uniform screen.
    let mut frame = rfb_frame(&m.vnc_socket(id)).await;
    for _ in 0..50 {
        if distinct_pixels(frame.2, &frame.3) > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        frame = rfb_frame(&m.vnc_socket(id)).await;
    }
    let (w, h, bpp, pixels) = frame;
    assert!(w >= 320 && h >= 200, "{w}x{h}");
    assert!(distinct_pixels(bpp, &pixels) > 1, "the screen is uniform");

    // Another manager on the same directory (localspaces restarted): the old QEMU is killed
    // and the VM started afresh.
    let old_pid = m.pid(id).unwrap().unwrap();
    let m2 = Manager::new(config(state.path())).unwrap();
    let report = m2.reconcile(&[id.to_string()]).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.killed, vec![id.to_string()]);
    assert_eq!(report.started, vec![id.to_string()]);
    assert_ne!(m2.pid(id).unwrap(), Some(old_pid));
    assert!(!Path::new(&format!("/proc/{old_pid}")).exists());
    // Nothing desired: the VM is stopped; nothing left running.
    let report = m2.reconcile(&[]).await;
    assert_eq!(report.killed, vec![id.to_string()]);
    assert_ne!(m2.health(id).unwrap(), Health::Running);
    m2.terminate(id).await.unwrap();
    assert!(!state.path().join(id).exists());
    assert!(matches!(m2.health(id), Err(Error::NotFound(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_survives_stop_start_restore_and_rebuild() {
    let Some(image) = test_image() else { return };
    let state = tempfile::tempdir().unwrap();
    let m = Manager::new(config(state.path())).unwrap();
    let id = "ws-home0001";
    m.provision(&spec(image, id, "VALUE")).await.unwrap();
    m.start(id).await.unwrap();

    m.write_file(id, "/home/alice/note.txt", b"first").await.unwrap();
    let (code, _) = sh(&m, id, "echo changed > /etc/root-marker").await;
    assert_eq!(code, 0);
    // A live snapshot of both volumes, then a change after it.
    m.snapshot(id, "snap-1").await.unwrap();
    m.write_file(id, "/home/alice/note.txt", b"second").await.unwrap();

    m.stop(id).await.unwrap();
    assert_eq!(m.health(id).unwrap(), Health::Stopped);
    assert_eq!(m.pid(id).unwrap(), None);
    m.start(id).await.unwrap();
    assert_eq!(
        m.read_file(id, "/home/alice/note.txt", 1024).await.unwrap(),
        b"second"
    );
    assert_eq!(sh(&m, id, "cat /etc/root-marker").await, (0, "changed".into()));

    // Restore and rebuild need a stopped VM.
    assert!(matches!(
        m.restore(id, "snap-1", Volumes::BOTH).await,
        Err(Error::InvalidState { .. })
    ));
    m.stop(id).await.unwrap();
    assert_eq!(m.snapshots(id).await.unwrap(), vec!["snap-1".to_string()]);
    m.restore(id, "snap-1", Volumes::BOTH).await.unwrap();
    m.start(id).await.unwrap();
    assert_eq!(
        m.read_file(id, "/home/alice/note.txt", 1024).await.unwrap(),
        b"first"
    );

    // Rebuild: the root volume is the image again, the home is kept.
    m.write_file(id, "/home/alice/note.txt", b"third").await.unwrap();
    m.stop(id).await.unwrap();
    m.rebuild(id, None).await.unwrap();
    m.start(id).await.unwrap();
    let (code, _) = sh(&m, id, "test -e /etc/root-marker").await;
    assert_eq!(code, 1, "the root change is gone after rebuild");
    assert_eq!(
        m.read_file(id, "/home/alice/note.txt", 1024).await.unwrap(),
        b"third"
    );

    // Capture: the root volume flattened into a standalone image another VM boots from.
    sh(&m, id, "echo captured > /etc/image-marker; sync").await;
    let captured = m
        .capture_image(id, &state.path().join("captured.qcow2"))
        .await
        .unwrap();
    m.terminate(id).await.unwrap();
    let mut from_image = spec(image, "ws-capt0001", "VALUE");
    from_image.image = captured;
    m.provision(&from_image).await.unwrap();
    m.start("ws-capt0001").await.unwrap();
    assert_eq!(
        sh(&m, "ws-capt0001", "cat /etc/image-marker").await,
        (0, "captured".into())
    );
    m.terminate("ws-capt0001").await.unwrap();
}

/// `qemu-io` on a disk no QEMU has open: answers whether the command succeeded.
fn qemu_io(disk: &Path, command: &str) -> bool {
    let out = std::process::Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", command])
        .arg(disk)
        .output()
        .expect("run qemu-io");
    let stdout = String::from_utf8_lossy(&out.stdout);
    out.status.success() && !stdout.contains("Pattern verification failed") && !stdout.contains("failed")
}

fn virtual_gib(disk: &Path) -> f64 {
    let out = std::process::Command::new("qemu-img")
        .args(["info", "-U", "--output=json"])
        .arg(disk)
        .output()
        .expect("run qemu-img");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("qemu-img info");
    info["virtual-size"].as_f64().expect("virtual-size") / f64::from(1u32 << 30)
}

/// Offline (no boot): volumes grow and never shrink, and a user volume's snapshot becomes
/// another VM's user volume (what a migration does), grown to that VM's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_grow_and_a_snapshot_of_a_home_moves_to_another_vm() {
    let Some(image) = test_image() else { return };
    let state = tempfile::tempdir().unwrap();
    let m = Manager::new(config(state.path())).unwrap();
    let (a, b) = ("ws-size0001", "ws-size0002");
    m.provision(&spec(image, a, "VALUE")).await.unwrap();
    let mut target = spec(image, b, "VALUE");
    target.user_volume_gib = 3;
    m.provision(&target).await.unwrap();
    let (a_user, b_user) = (
        state.path().join(a).join("user.qcow2"),
        state.path().join(b).join("user.qcow2"),
    );

    // The home as of the snapshot, then a change after it.
    assert!(qemu_io(&a_user, "write -P 0xab 0 64k"));
    m.snapshot(a, "snap-1").await.unwrap();
    assert!(qemu_io(&a_user, "write -P 0xcd 0 64k"));

    let grown = m.grow_volumes(a, 2, 2).await.unwrap();
    assert_eq!(grown, Volumes::BOTH);
    assert_eq!(virtual_gib(&state.path().join(a).join("root.qcow2")), 2.0);
    assert_eq!(virtual_gib(&a_user), 2.0);
    let (root_gib, user_gib) = (
        m.spec(a).unwrap().root_volume_gib,
        m.spec(a).unwrap().user_volume_gib,
    );
    assert_eq!((root_gib, user_gib), (2, 2));
    let none = m.grow_volumes(a, 1, 2).await.unwrap();
    assert_eq!(
        none,
        Volumes {
            root: false,
            user: false
        }
    );
    assert_eq!(virtual_gib(&a_user), 2.0, "volumes never shrink");

    // b's home becomes a's snapshot (1 GiB then), grown to b's 3 GiB; a keeps its own.
    assert!(matches!(
        m.import_user_volume(b, b, "snap-1").await,
        Err(Error::Invalid(_))
    ));
    assert!(m.import_user_volume(b, a, "no-such-snapshot").await.is_err());
    m.import_user_volume(b, a, "snap-1").await.unwrap();
    assert!(qemu_io(&b_user, "read -P 0xab 0 64k"), "b's home is a's snapshot");
    assert!(qemu_io(&a_user, "read -P 0xcd 0 64k"), "a's home is unchanged");
    assert_eq!(virtual_gib(&b_user), 3.0);
    assert!(m.snapshots(b).await.unwrap().is_empty());
    assert!(!state.path().join(b).join("user.qcow2.new").exists());
    m.terminate(a).await.unwrap();
    m.terminate(b).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_refuses_overcommit_and_a_crash_is_unhealthy_until_reboot() {
    let Some(image) = test_image() else { return };
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config(state.path());
    cfg.memory_budget_mib = Some(400); // room for one VALUE VM (256 MiB), not two
    let m = Manager::new(cfg).unwrap();
    m.provision(&spec(image, "ws-adm00001", "VALUE")).await.unwrap();
    m.provision(&spec(image, "ws-adm00002", "VALUE")).await.unwrap();
    m.start("ws-adm00001").await.unwrap();
    assert_eq!(m.committed_memory_mib(), 256);
    match m.start("ws-adm00002").await {
        Err(Error::InsufficientCapacity {
            requested_mib,
            available_mib,
            budget_mib,
        }) => assert_eq!((requested_mib, available_mib, budget_mib), (256, 144, 400)),
        other => panic!("expected InsufficientCapacity, got {other:?}"),
    }
    assert_eq!(m.health("ws-adm00002").unwrap(), Health::Stopped);

    // QEMU killed behind the manager's back: unhealthy (an event says so), memory released.
    let mut events = m.health_events();
    let pid = m.pid("ws-adm00001").unwrap().unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let mut health = m.health("ws-adm00001").unwrap();
    for _ in 0..100 {
        if health != Health::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        health = m.health("ws-adm00001").unwrap();
    }
    assert!(
        matches!(&health, Health::Unhealthy(why) if why.contains("unexpectedly")),
        "{health:?}"
    );
    assert_eq!(m.committed_memory_mib(), 0);
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.id, "ws-adm00001");
    assert_eq!(event.health, health);
    // Reboot recovers it.
    m.reboot("ws-adm00001").await.unwrap();
    assert_eq!(m.health("ws-adm00001").unwrap(), Health::Running);
    m.terminate("ws-adm00001").await.unwrap();
    m.terminate("ws-adm00002").await.unwrap();
}

/// The `kvm` driver's image capture, copy and delete (not yet reached from the API: the
/// driver seam for images comes with the `desktops` branch).
#[test]
fn the_driver_captures_copies_and_deletes_images() {
    use localspaces::desktop::kvm::{ImageKey, KvmDriver, KvmOptions};
    use localspaces::desktop::{DesktopDriver, DesktopKey, Op, Progress, Spec};
    let Some(image) = test_image() else { return };
    let data = tempfile::tempdir().unwrap();
    let driver = KvmDriver::new(KvmOptions {
        image_dir: image.to_path_buf(),
        dir: data.path().join("kvm"),
        allow_tcg: std::env::var("LOCALSPACES_KVM_TESTS").as_deref() != Ok("kvm-only"),
        memory_budget_mib: None,
        boot_timeout: Duration::from_secs(180),
        max_desktops: None,
    })
    .unwrap();
    eprintln!("kvm driver test: accel {:?}", driver.accel());
    let key = DesktopKey::new("123456789012", "us-east-1", "ws-capt0002").unwrap();
    let spec = Spec {
        compute: "VALUE".into(),
        root_gib: 1,
        user_gib: 1,
        image: None,
    };
    let until = |what: &str, mut f: Box<dyn FnMut() -> Progress + '_>| {
        let deadline = std::time::Instant::now() + Duration::from_secs(240);
        loop {
            match f() {
                Progress::Working => {
                    assert!(std::time::Instant::now() < deadline, "{what} never finished");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Progress::Done => return,
                Progress::Failed(why) => panic!("{what} failed: {why}"),
            }
        }
    };
    driver.reserve(&key, &spec).unwrap();
    until("provision", Box::new(|| driver.poll(&key, &Op::Provision, &spec)));
    assert!(driver.is_running(&key) && driver.rfb_socket(&key).is_some());
    assert_eq!(driver.known(), vec![key.clone()]);
    let out = driver
        .exec(
            &key,
            &[
                "sh".into(),
                "-c".into(),
                "echo captured > /etc/marker; id -un".into(),
            ],
            true,
            Duration::from_secs(30),
        )
        .unwrap();
    assert_eq!((out.exit_code, out.stdout.as_str()), (Some(0), "root\n"));
    until("stop", Box::new(|| driver.poll(&key, &Op::Stop, &spec)));
    assert!(!driver.is_running(&key));

    let captured = ImageKey {
        account: key.account.clone(),
        region: key.region.clone(),
        image_id: "wsi-capt0001".into(),
    };
    until("capture", Box::new(|| driver.capture_image(&key, &captured)));
    let dir = data.path().join("kvm/images/123456789012/us-east-1/wsi-capt0001");
    let described: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("image.json")).unwrap()).unwrap();
    assert_eq!(described["disk"].as_str(), dir.join("root.qcow2").to_str());
    // Standalone: no backing file.
    let info = std::process::Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(dir.join("root.qcow2"))
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert!(info.get("backing-filename").is_none(), "{info}");

    let copy = ImageKey {
        region: "eu-west-1".into(),
        image_id: "wsi-copy0001".into(),
        ..captured.clone()
    };
    until("copy", Box::new(|| driver.copy_image(&captured, &copy)));
    let copied = data.path().join("kvm/images/123456789012/eu-west-1/wsi-copy0001");
    assert!(copied.join("root.qcow2").is_file() && copied.join("image.json").is_file());
    driver.delete_image(&captured);
    driver.delete_image(&copy);
    assert!(!dir.exists() && !copied.exists());

    until("terminate", Box::new(|| driver.poll(&key, &Op::Terminate, &spec)));
    assert!(driver.known().is_empty());
    assert!(!data.path().join("kvm/vms/ws-capt0002").exists());
}
