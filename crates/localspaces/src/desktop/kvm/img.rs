//! `qemu-img`: overlays, blank disks, internal snapshots, flattening.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use super::Error;

/// Longest a `qemu-img` run may take (flattening a large image included).
const QEMU_IMG_DEADLINE: Duration = Duration::from_secs(600);

/// The `qemu-img` tool at a known path.
#[derive(Clone, Debug)]
pub struct QemuImg {
    pub path: PathBuf,
}

impl QemuImg {
    async fn run(&self, args: &[&str]) -> Result<String, Error> {
        let mut cmd = Command::new(&self.path);
        cmd.args(args).kill_on_drop(true);
        let out = tokio::time::timeout(QEMU_IMG_DEADLINE, cmd.output())
            .await
            .map_err(|_| Error::timeout(format!("qemu-img {}", args.join(" ")), QEMU_IMG_DEADLINE))?
            .map_err(|e| Error::io("running qemu-img", e))?;
        if !out.status.success() {
            return Err(Error::Image {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A qcow2 overlay at `path` over the qcow2 `base`, of `size_gib` virtual GiB (at least
    /// the base's own size).
    pub async fn create_overlay(&self, base: &Path, path: &Path, size_gib: u64) -> Result<(), Error> {
        let base_size = self.virtual_size(base).await?;
        let size = (size_gib << 30).max(base_size);
        self.run(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            &path_str(base)?,
            &path_str(path)?,
            &size.to_string(),
        ])
        .await
        .map(drop)
    }

    /// An empty qcow2 disk of `size_gib` virtual GiB.
    pub async fn create_blank(&self, path: &Path, size_gib: u64) -> Result<(), Error> {
        self.run(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            &path_str(path)?,
            &format!("{size_gib}G"),
        ])
        .await
        .map(drop)
    }

    async fn info(&self, path: &Path, force_share: bool) -> Result<Value, Error> {
        let p = path_str(path)?;
        let mut args = vec!["info", "--output=json"];
        if force_share {
            args.push("-U");
        }
        args.push(&p);
        let out = self.run(&args).await?;
        serde_json::from_str(&out).map_err(|e| Error::Protocol(format!("qemu-img info: {e}")))
    }

    /// The virtual size in bytes.
    pub async fn virtual_size(&self, path: &Path) -> Result<u64, Error> {
        self.info(path, true).await?["virtual-size"]
            .as_u64()
            .ok_or_else(|| Error::Protocol("qemu-img info has no virtual-size".into()))
    }

    /// Names of the internal snapshots, oldest first.
    pub async fn snapshots(&self, path: &Path) -> Result<Vec<String>, Error> {
        let info = self.info(path, true).await?;
        Ok(info["snapshots"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|s| s["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Takes an internal snapshot of a disk no QEMU has open.
    pub async fn snapshot_create(&self, path: &Path, name: &str) -> Result<(), Error> {
        self.run(&["snapshot", "-c", name, &path_str(path)?])
            .await
            .map(drop)
    }

    /// Deletes an internal snapshot of a disk no QEMU has open.
    pub async fn snapshot_delete(&self, path: &Path, name: &str) -> Result<(), Error> {
        self.run(&["snapshot", "-d", name, &path_str(path)?])
            .await
            .map(drop)
    }

    /// Reverts a disk no QEMU has open to an internal snapshot.
    pub async fn snapshot_apply(&self, path: &Path, name: &str) -> Result<(), Error> {
        self.run(&["snapshot", "-a", name, &path_str(path)?])
            .await
            .map(drop)
    }

    /// Sets the virtual size of a qcow2 disk no QEMU has open to `bytes`.
    pub async fn resize(&self, path: &Path, bytes: u64) -> Result<(), Error> {
        self.run(&[
            "resize",
            "-q",
            "-f",
            "qcow2",
            &path_str(path)?,
            &bytes.to_string(),
        ])
        .await
        .map(drop)
    }

    /// Writes internal snapshot `snapshot` of the qcow2 `src` as the standalone qcow2 `dest`.
    /// `force_share` reads a disk a running QEMU has open (a snapshot does not change).
    pub async fn convert_snapshot(
        &self,
        src: &Path,
        snapshot: &str,
        dest: &Path,
        force_share: bool,
    ) -> Result<(), Error> {
        let (s, d) = (path_str(src)?, path_str(dest)?);
        // QEMU's option syntax: a comma in a value is written twice.
        let select = format!("snapshot.name={}", snapshot.replace(',', ",,"));
        let mut args = vec!["convert", "-q", "-f", "qcow2", "-O", "qcow2", "-l", &select];
        if force_share {
            args.push("-U");
        }
        args.push(&s);
        args.push(&d);
        self.run(&args).await.map(drop)
    }

    /// Writes `src` with its backing chain flattened into the standalone qcow2 `dest`.
    /// `force_share` reads a disk a running QEMU has open (crash-consistent).
    pub async fn flatten(&self, src: &Path, dest: &Path, force_share: bool) -> Result<(), Error> {
        let (s, d) = (path_str(src)?, path_str(dest)?);
        let mut args = vec!["convert", "-q", "-O", "qcow2"];
        if force_share {
            args.push("-U");
        }
        args.push(&s);
        args.push(&d);
        self.run(&args).await.map(drop)
    }
}

pub(super) fn path_str(path: &Path) -> Result<String, Error> {
    let s = path
        .to_str()
        .ok_or_else(|| Error::Protocol(format!("path is not UTF-8: {}", path.display())))?;
    if s.contains(',') {
        // QEMU option syntax would split the path.
        return Err(Error::Protocol(format!("path contains a comma: {s}")));
    }
    Ok(s.to_string())
}
