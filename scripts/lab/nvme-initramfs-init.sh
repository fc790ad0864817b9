#!/bin/busybox sh
# /init of the NVMe lab's initramfs (built by scripts/lab/nvme-kernel.js): load
# the virtio-9p modules, mount the host's root read-write at /newroot and hand
# over to the lab's guest init named on the kernel command line (lab_init=…),
# passing lab_run=… as LAB_RUN. On any failure: say why and power off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
die() { echo "nvme-lab initramfs: $*"; echo o >/proc/sysrq-trigger; sleep 30; }
for m in netfs 9pnet 9pnet_virtio 9p; do
  insmod "/mods/$m.ko" || die "insmod $m failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none hostroot /newroot || die "cannot mount the host root over 9p"
LAB_INIT=
LAB_RUN=
for a in $(cat /proc/cmdline); do
  case "$a" in
    lab_init=*) LAB_INIT="${a#lab_init=}" ;;
    lab_run=*) LAB_RUN="${a#lab_run=}" ;;
  esac
done
[ -x "/newroot$LAB_INIT" ] || die "no executable lab_init ($LAB_INIT) on the host root"
umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
export LAB_RUN
exec switch_root /newroot "$LAB_INIT"
