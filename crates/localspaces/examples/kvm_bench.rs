//! Benchmark of the kvm module (not a test): boot to guest-agent-ready, host memory per idle
//! VM, stop time. `bash bench/kvm.sh` runs it; see bench/README.md.
//!
//! Env: `IMAGE` (directory of `images/test/build.sh`'s output, or of
//! `images/desktop/build.sh`'s with `BOOT=desktop`), `RUNS` (boots, default 5), `IDLE_SECS`
//! (wait before reading RSS, default 10), `COMPUTE` (default VALUE), `CHECK` (a shell command
//! run in the guest after the wait, its output printed).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use localspaces::desktop::kvm::{base_image, BaseImage, ExecRequest, KvmConfig, Manager, VmSpec};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let image = PathBuf::from(std::env::var("IMAGE").unwrap_or_else(|_| "target/kvm-test-image".into()));
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let idle: u64 = std::env::var("IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let compute = std::env::var("COMPUTE").unwrap_or_else(|_| "VALUE".into());
    let desktop = std::env::var("BOOT").as_deref() == Ok("desktop");
    let state = tempfile::tempdir()?;
    let mut config = KvmConfig::new(state.path());
    config.allow_tcg = true;
    config.boot_timeout = Duration::from_secs(if desktop { 900 } else { 180 });
    let m = Manager::new(config)?;
    println!(
        "accel {:?}{} · host {} CPUs, {} MiB · compute {compute} · image {}",
        m.host().accel,
        m.host()
            .kvm_unusable
            .as_ref()
            .map(|w| format!(" (KVM unusable: {w})"))
            .unwrap_or_default(),
        m.host().cpus,
        m.host().mem_total_mib,
        image.display()
    );
    // As the kvm driver boots it (the uncompressed kernel when the image has one).
    let boot = base_image(&image).map_err(anyhow::Error::msg)?.boot;
    let (mut boots, mut stops, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let id = format!("ws-bench{run:04}");
        m.provision(&VmSpec {
            id: id.clone(),
            image: BaseImage {
                disk: image.join("root.qcow2"),
                boot: boot.clone(),
            },
            user_name: "bench".into(),
            root_volume_gib: 8,
            user_volume_gib: 2,
            compute_type: compute.clone(),
        })
        .await?;
        let t = Instant::now();
        m.start(&id).await?;
        let boot_s = t.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(idle)).await;
        if let Ok(check) = std::env::var("CHECK") {
            let out = m
                .exec(&id, &ExecRequest::new(["/bin/sh", "-c", check.as_str()]))
                .await?;
            println!(
                "check (exit {}):\n{}",
                out.exit_code,
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let pid = m.pid(&id)?.unwrap_or(0);
        let rss_mib = rss_kib(pid) as f64 / 1024.0;
        let t = Instant::now();
        m.stop(&id).await?;
        let stop_s = t.elapsed().as_secs_f64();
        println!("run {run}: boot to agent {boot_s:.2} s · idle RSS {rss_mib:.0} MiB · stop {stop_s:.2} s");
        boots.push(boot_s);
        stops.push(stop_s);
        rss.push(rss_mib);
        m.terminate(&id).await?;
    }
    for v in [&mut boots, &mut stops, &mut rss] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "boot to agent-ready: p50 {:.2} s, min {:.2}, max {:.2} · idle QEMU RSS p50 {:.0} MiB · stop p50 {:.2} s ({} runs)",
        pct(&boots, 0.5),
        boots[0],
        boots[boots.len() - 1],
        pct(&rss, 0.5),
        pct(&stops, 0.5),
        runs
    );
    Ok(())
}
