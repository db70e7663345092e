#!/usr/bin/env bash
# Builds the small KVM test image from Debian packages only (no other downloads):
#   vmlinuz        Debian's kernel (linux-image-amd64, extracted, not installed)
#   vmlinux        the same kernel uncompressed (booted through its PVH entry: much faster
#                  under emulation; the kvm driver prefers it)
#   initramfs.img  busybox-static + the virtio/ext4 modules; mounts /dev/vda and switches root
#   root.qcow2     the root volume's base image: busybox, Debian's qemu-guest-agent and its
#                  libraries, e2fsprogs' resize2fs (a grown home volume's file system grows
#                  at boot), an init that mounts /dev/vdb as the user's home, answers the
#                  guest agent on virtio-serial, draws on the VGA console and powers off on
#                  ACPI power button
# Usage: images/test/build.sh [OUT_DIR]   (default: $XDG_DATA_HOME/localspaces/images/kvm-test)
# The result is cached: a stamp of this script and the package versions skips a rebuild.
# Needs: apt-get (downloads only), dpkg-deb, mke2fs (e2fsprogs), qemu-img (qemu-utils),
# busybox (busybox-static) on the host.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-${XDG_DATA_HOME:-$HOME/.local/share}/localspaces/images/kvm-test}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

need() { command -v "$1" >/dev/null || { echo "build.sh: '$1' is missing: install Debian's $2" >&2; exit 1; }; }
need apt-get apt; need dpkg-deb dpkg; need mke2fs e2fsprogs; need resize2fs e2fsprogs; need qemu-img qemu-utils; need busybox busybox-static

kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
KPKG=$(kernel_pkg)
if [ -z "$KPKG" ] && [ "$(id -u)" = 0 ]; then apt-get update -qq && KPKG=$(kernel_pkg); fi
[ -n "$KPKG" ] || { echo "build.sh: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
ver() { apt-cache policy "$1" | awk '/Candidate:/{print $2}'; }
STAMP="$(sha256sum "$HERE/build.sh" | cut -c1-16) $KPKG=$(ver "$KPKG") qemu-guest-agent=$(ver qemu-guest-agent) busybox-static=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || true)"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] \
   && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs.img" ] && [ -f "$OUT/root.qcow2" ]; then
  echo "test image is up to date in $OUT"; exit 0
fi

WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
apt-get download -qq "$KPKG" qemu-guest-agent 2>/dev/null || apt-get download "$KPKG" qemu-guest-agent
dpkg-deb -x "$KPKG"_*.deb k
dpkg-deb -x qemu-guest-agent_*.deb q
KVER=${KPKG#linux-image-}
MOD=k/lib/modules/$KVER/kernel

# ---- initramfs: busybox, modules in dependency order, /init
mkdir -p ird/bin ird/lib/modules ird/dev ird/proc ird/sys ird/newroot
cp "$(command -v busybox)" ird/bin/busybox
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk \
         drivers/char/virtio_console lib/crc16 fs/mbcache fs/jbd2/jbd2 crypto/crc32c_generic fs/ext4/ext4 \
         drivers/acpi/button drivers/input/evdev drivers/char/hw_random/virtio-rng; do
  f=$(ls "$MOD/$m".ko* 2>/dev/null | head -n1 || true)
  [ -n "$f" ] || { echo "build.sh: module $m not found in $KPKG" >&2; exit 1; }
  cp "$f" ird/lib/modules/
  echo "$(basename "$f")" >> ird/lib/modules/order
done
cat > ird/init <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in $(/bin/busybox cat /lib/modules/order); do /bin/busybox insmod /lib/modules/$m; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do /bin/busybox usleep 10000; i=$((i+1)); done
/bin/busybox mount -t ext4 /dev/vda /newroot || { echo "init: cannot mount the root volume /dev/vda"; /bin/busybox sh; }
/bin/busybox mount --move /dev /newroot/dev
/bin/busybox umount /proc /sys
exec /bin/busybox switch_root /newroot /sbin/init
INIT
chmod 755 ird/init
(cd ird && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > initramfs.img

# ---- root file system
R=rootfs
mkdir -p $R/bin $R/sbin $R/usr/sbin $R/lib64 $R/lib/x86_64-linux-gnu $R/etc/acpi/PWRF \
         $R/proc $R/sys $R/dev $R/tmp $R/run $R/home $R/root $R/var/log
ln -s ../run $R/var/run
cp "$(command -v busybox)" $R/bin/busybox
for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox $R/bin/"$a"; done
rm -f $R/bin/init; ln -sf ../bin/busybox $R/sbin/init
cp q/usr/sbin/qemu-ga $R/usr/sbin/qemu-ga
cp "$(command -v resize2fs)" $R/usr/sbin/resize2fs
# qemu-ga's and resize2fs' libraries, as the host resolves them (qemu-system-x86 pulls the
# same ones in; e2fsprogs is essential)
ldd q/usr/sbin/qemu-ga $R/usr/sbin/resize2fs | awk '/=> \//{print $3} /^[ \t]*\/lib64\//{print $1}' | sort -u | while read -r lib; do
  case "$lib" in /lib64/*) cp -L "$lib" $R/lib64/ ;; *) cp -L "$lib" $R/lib/x86_64-linux-gnu/ ;; esac
done
if ldd q/usr/sbin/qemu-ga | grep -q 'not found'; then
  echo "build.sh: qemu-ga needs libraries the host lacks: $(ldd q/usr/sbin/qemu-ga | grep 'not found')" >&2
  echo "  install Debian's qemu-system-x86 (it depends on them)" >&2; exit 1
fi
cat > $R/etc/inittab <<'TAB'
::sysinit:/etc/rc
::respawn:/etc/agent
::shutdown:/bin/sh -c 'sync; umount -a -r'
TAB
cat > $R/etc/rc <<'RC'
#!/bin/sh
# The test image's start-up: the user's home on /dev/vdb, the ACPI power button, a screen.
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t tmpfs tmp /tmp; mount -t tmpfs run /run
mount -o remount,rw /
hostname "$(sed -n 's/.*localspaces.hostname=\([^ ]*\).*/\1/p' /proc/cmdline)"
USER_NAME=$(sed -n 's/.*localspaces.user=\([^ ]*\).*/\1/p' /proc/cmdline); USER_NAME=${USER_NAME:-user}
grep -q "^$USER_NAME:" /etc/passwd || echo "$USER_NAME:x:1000:1000:$USER_NAME:/home/$USER_NAME:/bin/sh" >> /etc/passwd
grep -q "^$USER_NAME:" /etc/group || echo "$USER_NAME:x:1000:" >> /etc/group
mkdir -p "/home/$USER_NAME"
if [ -b /dev/vdb ]; then
  # A blank user volume (first boot) gets a file system; an existing one is only mounted
  # (never formatted again: the ext2 magic number at byte 1080 tells).
  if mount /dev/vdb "/home/$USER_NAME" 2>/dev/null; then
    # A volume grown while the VM was off: its file system takes the new room (online;
    # synced at once: ext2 has no journal to replay after a crash).
    /usr/sbin/resize2fs /dev/vdb >/dev/null 2>&1 && sync
  elif [ "$(dd if=/dev/vdb bs=2 skip=540 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')" != 53ef ]; then
    # One inode per MiB: busybox writes every inode table, slow under emulation for 50 GiB.
    mke2fs -q -i 1048576 -L home /dev/vdb && mount /dev/vdb "/home/$USER_NAME" && chown 1000:1000 "/home/$USER_NAME"
  else
    echo "localspaces: the home file system on /dev/vdb does not mount" > /dev/ttyS0
  fi
fi
acpid -c /etc/acpi
# Something non-uniform on the VGA console, which QEMU's VNC server shows.
{ clear; echo "localspaces KVM test image  host $(hostname)  user $USER_NAME"
  echo "kernel $(uname -r)  memory $(awk '/MemTotal/{print $2}' /proc/meminfo) kB  cpus $(nproc)"
  i=0; while [ $i -lt 12 ]; do echo "################ ........ ################ ........ $i"; i=$((i+1)); done
} > /dev/tty1 2>&1
echo "localspaces: rc done" > /dev/ttyS0
RC
cat > $R/etc/agent <<'AG'
#!/bin/sh
# qemu-guest-agent on the virtio-serial port named org.qemu.guest_agent.0
for p in /sys/class/virtio-ports/*; do
  [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && exec /usr/sbin/qemu-ga -t /run -m virtio-serial -p "/dev/$(basename "$p")"
done
sleep 1
AG
cat > $R/etc/acpi/PWRF/00000080 <<'PW'
#!/bin/sh
poweroff
PW
# qemu-ga's guest-shutdown runs /sbin/shutdown -P|-r|-H +0 MESSAGE
cat > $R/sbin/shutdown <<'SD'
#!/bin/sh
case "$1" in -r) exec reboot ;; -H) exec halt ;; *) exec poweroff ;; esac
SD
chmod 755 $R/etc/rc $R/etc/agent $R/etc/acpi/PWRF/00000080 $R/sbin/shutdown
echo "root:x:0:0:root:/root:/bin/sh" > $R/etc/passwd
echo "root:x:0:" > $R/etc/group
echo "localspaces-test" > $R/etc/hostname
SIZE_MB=$(( $(du -sm $R | cut -f1) + 32 ))
mke2fs -q -t ext4 -L root -d $R -E root_owner=0:0 root.raw "${SIZE_MB}M"
qemu-img convert -q -f raw -O qcow2 root.raw root.qcow2

# The uncompressed kernel too (Debian's is XZ-compressed inside vmlinuz): QEMU boots it
# through its PVH entry, skipping the decompression, which takes seconds under emulation.
XZ_AT=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "k/boot/vmlinuz-$KVER" | head -n1 | cut -d: -f1 || true)
rm -f "$OUT/vmlinux"
if [ -n "$XZ_AT" ] && command -v xz >/dev/null; then
  tail -c +$((XZ_AT + 1)) "k/boot/vmlinuz-$KVER" | xz -dc > vmlinux 2>/dev/null || true
  if [ "$(head -c 4 vmlinux | od -An -c | tr -d ' ')" = '177ELF' ]; then mv vmlinux "$OUT/vmlinux"; fi
fi
cp "k/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
mv initramfs.img "$OUT/initramfs.img"
mv root.qcow2 "$OUT/root.qcow2"
echo "$STAMP" > "$OUT/stamp"
echo "test image built in $OUT: $(du -sh "$OUT" | cut -f1) ($KPKG)"
