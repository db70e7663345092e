//! What the host offers: QEMU's tools, an accelerator, CPUs and memory; the compute-type
//! table scaled to it.

use std::path::{Path, PathBuf};

use super::Error;

/// How QEMU runs guest code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Accel {
    /// Hardware virtualization through `/dev/kvm`.
    Kvm,
    /// QEMU's software emulation (TCG): slower, works everywhere.
    Tcg,
}

/// The host as checked at start-up.
#[derive(Clone, Debug)]
pub struct Host {
    pub accel: Accel,
    /// Why KVM is not used, when `accel` is `Tcg`.
    pub kvm_unusable: Option<String>,
    pub cpus: u32,
    pub mem_total_mib: u64,
    pub qemu: PathBuf,
    pub qemu_img: PathBuf,
    /// util-linux `setpriv` with `--pdeathsig`: QEMU then dies with localspaces.
    pub setpriv: Option<PathBuf>,
}

/// Finds `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether `/dev/kvm` can run an ordinary guest kernel, or why not.
///
/// `/dev/kvm` must open read-write. A host whose only KVM module is `kvm_pvm` (nested
/// paravirtual KVM) runs only PVM-enabled guest kernels, so Debian's kernel cannot boot there.
pub fn kvm_usability(dev: &Path, sys_module: &Path) -> Result<(), String> {
    if !dev.exists() {
        return Err(format!("{} does not exist (no KVM on this host)", dev.display()));
    }
    if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open(dev) {
        return Err(format!("{} cannot be opened read-write: {e}", dev.display()));
    }
    let has = |m: &str| sys_module.join(m).exists();
    if !has("kvm_intel") && !has("kvm_amd") && has("kvm_pvm") {
        return Err(format!(
            "{} is PVM (nested paravirtual KVM), which boots only PVM-enabled guest kernels",
            dev.display()
        ));
    }
    Ok(())
}

/// Checks the host: QEMU's tools present and KVM usable. Without usable KVM this is an error
/// unless `allow_tcg`, in which case VMs run under emulation.
pub fn check_host(allow_tcg: bool) -> Result<Host, Error> {
    let qemu = which("qemu-system-x86_64").ok_or_else(|| {
        Error::HostUnsupported(
            "qemu-system-x86_64 is missing: install Debian's qemu-system-x86 package".into(),
        )
    })?;
    let qemu_img = which("qemu-img").ok_or_else(|| {
        Error::HostUnsupported("qemu-img is missing: install Debian's qemu-utils package".into())
    })?;
    let (accel, kvm_unusable) = match kvm_usability(Path::new("/dev/kvm"), Path::new("/sys/module")) {
        Ok(()) => (Accel::Kvm, None),
        Err(why) if allow_tcg => (Accel::Tcg, Some(why)),
        Err(why) => {
            return Err(Error::HostUnsupported(format!(
                "KVM is not usable: {why}; VMs need a usable /dev/kvm, or QEMU's much slower emulation allowed (--kvm-allow-tcg)"
            )))
        }
    };
    let setpriv = which("setpriv").filter(|p| {
        std::process::Command::new(p)
            .arg("--help")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("--pdeathsig"))
            .unwrap_or(false)
    });
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let mem_total_mib = meminfo_mib("MemTotal").unwrap_or(0);
    Ok(Host {
        accel,
        kvm_unusable,
        cpus,
        mem_total_mib,
        qemu,
        qemu_img,
        setpriv,
    })
}

/// A `/proc/meminfo` field in MiB.
pub fn meminfo_mib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo(&text, field)
}

fn parse_meminfo(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib / 1024)
    })
}

/// vCPUs and memory of one VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    pub vcpus: u32,
    pub memory_mib: u64,
}

/// AWS's vCPUs and GiB of memory for a compute type (`VALUE` … `GENERALPURPOSE_8XLARGE`);
/// the GPU types count as their EC2 sizes without the GPU. Unknown names are `STANDARD`.
pub fn aws_compute(compute_type: &str) -> (u32, f64) {
    match compute_type {
        "VALUE" => (1, 2.0),
        "STANDARD" => (2, 4.0),
        "PERFORMANCE" => (2, 8.0),
        "POWER" => (4, 16.0),
        "POWERPRO" => (8, 32.0),
        "GENERALPURPOSE_4XLARGE" => (16, 64.0),
        "GENERALPURPOSE_8XLARGE" => (32, 128.0),
        "GRAPHICS" => (8, 15.0),
        "GRAPHICSPRO" => (16, 122.0),
        "GRAPHICS_G4DN" => (4, 16.0),
        "GRAPHICSPRO_G4DN" => (16, 64.0),
        other if other.starts_with("GRAPHICS") => (4, 16.0),
        _ => (2, 4.0),
    }
}

/// Smallest memory a VM gets, whatever the scaling.
pub const MIN_MEMORY_MIB: u64 = 256;

/// A compute type scaled to this host: vCPUs capped at the host's CPUs, memory = AWS's
/// memory divided by `memory_divisor` (at least [`MIN_MEMORY_MIB`]). With the default
/// divisor 8, VALUE gets 256 MiB, STANDARD 512 MiB, PERFORMANCE 1 GiB, POWER 2 GiB.
pub fn scaled_resources(compute_type: &str, host_cpus: u32, memory_divisor: u32) -> Resources {
    let (vcpus, gib) = aws_compute(compute_type);
    let mib = (gib * 1024.0) as u64 / u64::from(memory_divisor.max(1));
    Resources {
        vcpus: vcpus.min(host_cpus.max(1)),
        memory_mib: mib.max(MIN_MEMORY_MIB),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_fields_parse_in_mib() {
        let text = "MemTotal:       24683620 kB\nMemFree:         3870620 kB\n";
        assert_eq!(parse_meminfo(text, "MemTotal"), Some(24105));
        assert_eq!(parse_meminfo(text, "MemFree"), Some(3779));
        assert_eq!(parse_meminfo(text, "MemAvailable"), None);
    }

    #[test]
    fn compute_types_scale_to_the_host() {
        assert_eq!(
            scaled_resources("VALUE", 2, 8),
            Resources {
                vcpus: 1,
                memory_mib: 256
            }
        );
        assert_eq!(
            scaled_resources("POWERPRO", 2, 8),
            Resources {
                vcpus: 2,
                memory_mib: 4096
            }
        );
        assert_eq!(scaled_resources("PERFORMANCE", 16, 1).memory_mib, 8192);
        assert_eq!(scaled_resources("VALUE", 16, 64).memory_mib, MIN_MEMORY_MIB);
    }

    #[test]
    fn kvm_is_unusable_without_the_device_or_with_only_pvm() {
        let dir = std::env::temp_dir().join(format!("ls-kvm-usab-{}", std::process::id()));
        let modules = dir.join("module");
        std::fs::create_dir_all(modules.join("kvm_pvm")).unwrap();
        let missing = kvm_usability(&dir.join("kvm"), &modules).unwrap_err();
        assert!(missing.contains("does not exist"), "{missing}");
        let dev = dir.join("fake-kvm");
        std::fs::write(&dev, b"").unwrap();
        let pvm = kvm_usability(&dev, &modules).unwrap_err();
        assert!(pvm.contains("PVM"), "{pvm}");
        std::fs::create_dir_all(modules.join("kvm_amd")).unwrap();
        assert!(kvm_usability(&dev, &modules).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
