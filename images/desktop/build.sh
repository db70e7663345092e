#!/usr/bin/env bash
# Builds the full Linux desktop base image for the kvm driver from Debian's archive:
#   root.qcow2   Debian (bookworm) with systemd, LightDM logging the WorkSpace's user in
#                automatically, Openbox and xterm, qemu-guest-agent; an ext4 file system
#                without partition table (the VM boots it as /dev/vda)
#   vmlinuz, initrd.img   the image's own kernel and initramfs, booted directly by QEMU
#                (no boot loader): append "root=/dev/vda rw console=ttyS0"
# At boot, localspaces-home.service reads localspaces.user=NAME from the kernel command
# line, creates that user, mounts the user volume /dev/vdb (formatting it when blank) as its
# home and points LightDM's autologin at it.
# Usage: images/desktop/build.sh [OUT_DIR]  (default: $XDG_DATA_HOME/localspaces/images/kvm-desktop)
# Cached: a stamp of this script and the suite skips a rebuild. SOURCE_DATE_EPOCH (default:
# the stamp's date) makes mmdebstrap's output reproducible for one state of the archive.
# Needs (Debian packages): mmdebstrap, e2fsprogs, qemu-utils; runs as root.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-${XDG_DATA_HOME:-$HOME/.local/share}/localspaces/images/kvm-desktop}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SIZE=${SIZE:-4G}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
for t in mmdebstrap:mmdebstrap mke2fs:e2fsprogs qemu-img:qemu-utils; do
  command -v "${t%%:*}" >/dev/null || { echo "build.sh: ${t%%:*} is missing: install Debian's ${t#*:}" >&2; exit 1; }
done
STAMP="$(sha256sum "$HERE/build.sh" | cut -c1-16) $SUITE $SIZE"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] && [ -f "$OUT/root.qcow2" ]; then
  echo "desktop image is up to date in $OUT"; exit 0
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root

PACKAGES=systemd-sysv,udev,dbus,linux-image-amd64,initramfs-tools,e2fsprogs,qemu-guest-agent,\
lightdm,xserver-xorg-core,xserver-xorg-input-libinput,xserver-xorg-video-fbdev,openbox,xterm,\
procps,sudo,less,ca-certificates,fonts-dejavu-core

mmdebstrap --variant=minbase --mode=root --include="$PACKAGES" \
  --customize-hook='echo localspaces-desktop > "$1/etc/hostname"' \
  --customize-hook='printf "/dev/vda / ext4 defaults 0 1\n" > "$1/etc/fstab"' \
  --customize-hook='chroot "$1" systemctl enable qemu-guest-agent lightdm' \
  --customize-hook='mkdir -p "$1/etc/lightdm/lightdm.conf.d"' \
  --customize-hook="cp '$HERE/localspaces-home' \"\$1/usr/local/sbin/localspaces-home\"" \
  --customize-hook="cp '$HERE/localspaces-home.service' \"\$1/etc/systemd/system/\"" \
  --customize-hook='chmod 755 "$1/usr/local/sbin/localspaces-home"; chroot "$1" systemctl enable localspaces-home' \
  --customize-hook='chroot "$1" update-initramfs -u -k all' \
  --customize-hook="cp -L \"\$1/vmlinuz\" '$WORK/vmlinuz'; cp -L \"\$1/initrd.img\" '$WORK/initrd.img'" \
  "$SUITE" "$ROOT" "$MIRROR"

mke2fs -q -t ext4 -L root -d "$ROOT" "$WORK/root.raw" "$SIZE"
qemu-img convert -q -f raw -O qcow2 -c "$WORK/root.raw" "$WORK/root.qcow2"
mv "$WORK/root.qcow2" "$WORK/vmlinuz" "$WORK/initrd.img" "$OUT/"
echo "$STAMP" > "$OUT/stamp"
echo "desktop image built in $OUT: $(du -sh "$OUT" | cut -f1)"
