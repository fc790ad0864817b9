#!/bin/bash
# The NVMe lab's guest init (a QEMU guest booted by scripts/lab.js --target nvmet;
# the initramfs mounted the host's root over 9p and exec'd this with LAB_RUN set).
# The "array" is the kernel's NVMe target (nvmet) with the loop transport: one
# subsystem, LAB_LUNS file-backed namespaces with reservations enabled. Each
# simulated node is one host NQN + host ID with its own controller, connected
# through /dev/nvme-fabrics; nvme-core is loaded with multipath=N so that every
# node's controller gets its own namespace devices (/dev/nvme<C>n<N>, /dev/ng<C>n<N>).
# Results go back through the run dir exactly as in the UML lab: status,
# map.json / map.env (node -> namespace -> devices), guest.log, ready-ms.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
RUN="$LAB_RUN"

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
# the guest clock from boot: the same origin as the UML lab's (kernel start)
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
# sleep is started first: once the power-off begins, no new program can be exec'd from the 9p root
poweroff_now() { sync; sleep 60 & echo o >/proc/sysrq-trigger; wait; }
fail() {
  echo "lab: set-up failed: $*" >&2
  echo "setup-failed: $*" >"$RUN/status"
  poweroff_now
}
[ -n "$RUN" ] && [ -f "$RUN/config.env" ] || { echo "lab: no LAB_RUN/config.env" >&2; poweroff_now; }
exec 3>>"$RUN/guest.log"
log() { echo "[$(ms) ms] $*" >&3; }
date +%s%N >"$RUN/booted"
# shellcheck source=/dev/null
. "$RUN/config.env"

# --- a private userland on top of the host filesystem -------------------------
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lab /run/lock
case "$RUN/:$LAB_SCRIPTS/" in
  /tmp/* | *:/tmp/*) mkdir -p /run/lab/tmp && chmod 1777 /run/lab/tmp && export TMPDIR=/run/lab/tmp ;;
  *) mount -t tmpfs tmpfs /tmp ;;
esac
mount -t tmpfs tmpfs /lib/modules || fail "cannot mount /lib/modules"
ln -s "$LAB_NVME_MODULES" "/lib/modules/$(uname -r)"
hostname scsi-pr-nvme-lab
ip link set lo up 2>/dev/null
log "userland ready (kernel $(uname -r))"

modprobe nvme-core multipath=N || fail "modprobe nvme-core multipath=N"
[ "$(cat /sys/module/nvme_core/parameters/multipath)" = N ] || fail "nvme-core multipath is not N"
for m in configfs nvmet nvme-loop nvme-fabrics; do modprobe "$m" || fail "modprobe $m"; done
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
log "modules loaded"

# --- the target: one subsystem, LAB_LUNS namespaces with reservations ----------
CFG=/sys/kernel/config/nvmet
SUB="$CFG/subsystems/$LAB_SUBSYS_NQN"
mkdir "$SUB" || fail "nvmet subsystem"
echo 1 >"$SUB/attr_allow_any_host" || fail "allow_any_host"
echo "scsiprlab" >"$SUB/attr_serial" 2>/dev/null
for ((i = 0; i < LAB_LUNS; i++)); do
  nsid=$((i + 1))
  img="/run/lab/ns$nsid.img"
  truncate -s "${LAB_LUN_MB}M" "$img" || fail "backing file $img"
  ns="$SUB/namespaces/$nsid"
  mkdir "$ns" || fail "namespace $nsid"
  echo "$img" >"$ns/device_path" || fail "namespace $nsid device_path"
  # Fixed identities, so that NGUID order (the fencing arbiter order) is the namespace order:
  # NGUID 5c5170726c6162<nsid as 18 hex digits>, UUID likewise.
  printf -v hexid '%018x' "$nsid"
  echo "5c517072-6c61-62${hexid:0:2}-${hexid:2:4}-${hexid:6:12}" >"$ns/device_nguid" || fail "namespace $nsid nguid"
  echo "5c517072-6c61-62${hexid:0:2}-${hexid:2:4}-${hexid:6:12}" >"$ns/device_uuid" || fail "namespace $nsid uuid"
  # Reservations must be switched on before the namespace is enabled.
  echo 1 >"$ns/resv_enable" || fail "namespace $nsid resv_enable (kernel without nvmet reservations?)"
  echo 1 >"$ns/enable" || fail "namespace $nsid enable"
done
PORT="$CFG/ports/1"
mkdir "$PORT" || fail "nvmet port"
echo loop >"$PORT/addr_trtype" || fail "loop port"
ln -s "$SUB" "$PORT/subsystems/$LAB_SUBSYS_NQN" || fail "port -> subsystem"
log "nvmet configured: $LAB_LUNS namespaces"

# --- the hosts: one controller per simulated node ------------------------------
for ((n = 1; n <= LAB_NODES; n++)); do
  hostid="$(printf '5c517072-6c61-6200-0000-%012x' "$n")"
  for ((p = 1; p <= LAB_PATHS; p++)); do
    opts="transport=loop,nqn=$LAB_SUBSYS_NQN,hostnqn=$LAB_HOST_NQN_PREFIX$n,hostid=$hostid"
    [ "$p" -gt 1 ] && opts="$opts,duplicate_connect"
    echo "$opts" >/dev/nvme-fabrics 2>>"$RUN/guest.log" || fail "connect node $n path $p"
  done
done
log "connected $LAB_NODES node(s) x $LAB_PATHS path(s)"

node "$LAB_SCRIPTS/guest-nvme-map.js" wait "$RUN/map.json" || fail "namespaces did not appear"
log "devices ready"
echo "$(ms)" >"$RUN/ready-ms"
echo "=== scsi-pr lab ready in $(ms) ms ==="

# --- the user's command --------------------------------------------------------
export SCSI_PR_LAB=1 SCSI_PR_LAB_MAP="$RUN/map.json" SCSI_PR_LAB_RUN="$RUN"
# shellcheck source=/dev/null
. "$RUN/map.env"
set +e
if [ -n "$LAB_INTERACTIVE" ]; then
  setsid -c -w bash "$RUN/cmd.sh" </dev/console >/dev/console 2>&1
  rc=$?
else
  bash "$RUN/cmd.sh" </dev/null 2>&1 | cat
  rc=${PIPESTATUS[0]}
fi
echo "$rc" >"$RUN/status"
poweroff_now
