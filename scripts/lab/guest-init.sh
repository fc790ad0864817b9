#!/bin/bash
# PID 1 of the SAN lab's UML guest. The host launcher (scripts/lab.js) passes
# LAB_RUN=<run dir on hostfs>; the run dir holds config.env (sizes, options)
# and cmd.sh (what to run). Results go back through the same directory:
# status (exit code), map.json (node -> LUN -> sd/sg), guest.log (set-up log).
# A reboot(2) in the guest makes UML exec itself again with the same command
# line (arch/um/os-Linux/main.c), so this script runs a second time: it finds
# the run dir's "booted" marker, writes status "rebooted" and halts at once.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
RUN="$LAB_RUN"
T0=$(date +%s%N)

fail() {
  echo "lab: set-up failed: $*" >&2
  echo "setup-failed: $*" >"$RUN/status"
  sync
  halt -f
}
ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }

exec 3>>"$RUN/guest.log"
log() { echo "[$(ms) ms] $*" >&3; }

[ -n "$RUN" ] && [ -f "$RUN/config.env" ] || { echo "lab: no LAB_RUN/config.env" >&2; halt -f; }
if [ -e "$RUN/booted" ]; then
  log "second boot (the guest called reboot(2)): halting"
  date +%s%N >"$RUN/rebooted"
  echo rebooted >"$RUN/status"
  sync
  halt -f
fi
date +%s%N >"$RUN/booted"
# shellcheck source=/dev/null
. "$RUN/config.env"

# --- a private userland on top of the host filesystem -------------------------
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock/iscsi /run/lio-dbroot /run/lab
# A private /tmp, unless the repository or the run dir lives under the host's /tmp
# (a clone in /tmp): then the guest keeps the host's /tmp and its programs get a
# private TMPDIR instead.
case "$RUN/:$LAB_SCRIPTS/" in
  /tmp/* | *:/tmp/*) mkdir -p /run/lab/tmp && chmod 1777 /run/lab/tmp && export TMPDIR=/run/lab/tmp ;;
  *) mount -t tmpfs tmpfs /tmp ;;
esac
mount -t tmpfs tmpfs /lib/modules || fail "cannot mount /lib/modules (is kmod installed on the host?)"
ln -s "/usr/lib/uml/modules/$(uname -r)" "/lib/modules/$(uname -r)"
cp -a /etc/iscsi /run/lab/etc-iscsi
mount --bind /run/lab/etc-iscsi /etc/iscsi
mkdir -p /run/lab/var-lib-iscsi && mount --bind /run/lab/var-lib-iscsi /var/lib/iscsi 2>/dev/null
mkdir -p /dev/disk/by-id
hostname scsi-pr-lab
ip link set lo up
log "userland ready"

LAB_TARGET="${LAB_TARGET:-lio}"
export LAB_TARGET
if [ "$LAB_TARGET" = tgt ]; then
  MODULES="scsi_mod sd_mod sg iscsi_tcp" # tgtd is a user-space daemon: no target modules
else
  MODULES="configfs target_core_mod iscsi_target_mod scsi_mod sd_mod sg iscsi_tcp"
fi
# --sg-only (big labs): no sd_mod, so LUNs get only /dev/sgN: no disk probe, partition
# scan or I/O scheduler per device (the cost of booting 1024 SCSI devices).
[ -n "${LAB_SG_ONLY:-}" ] && MODULES="${MODULES/ sd_mod/}"
for m in $MODULES; do
  modprobe "$m" || fail "modprobe $m"
done
[ "$LAB_TARGET" = tgt ] || mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
log "modules loaded"

if [ "$LAB_TARGET" = tgt ]; then
# --- tgt target: LUNS file-backed disks (tgt LUNs 1..L) behind one target, PATHS portals
bash "$LAB_SCRIPTS/guest-tgt.sh" 2>>"$RUN/guest.log" || fail "tgt configuration (see guest.log)"
log "tgt configured: $LAB_LUNS LUNs x $LAB_PATHS portal(s), $LAB_NODES ACLs"
else
# --- LIO target: LUNS rd_mcp backstores behind one iSCSI target, PATHS portals -
CFG=/sys/kernel/config/target
# LIO writes <dbroot>/pr/aptpl_<serial> on every PR OUT (APTPL or not): without a
# writable dbroot/pr, REGISTER fails with NOT READY.
DBROOT="${LAB_DBROOT:-/run/lio-dbroot}"
mkdir -p "$DBROOT/pr" || fail "create $DBROOT/pr"
echo "$DBROOT" >"$CFG/dbroot" || fail "set LIO dbroot"
[ "$(cat "$CFG/dbroot")" = "$DBROOT" ] || fail "LIO kept dbroot $(cat "$CFG/dbroot")"
node "$LAB_SCRIPTS/guest-lio.js" 2>>"$RUN/guest.log" || fail "LIO configuration (see guest.log)"
log "LIO configured: $LAB_LUNS LUNs x $LAB_PATHS portal(s), $LAB_NODES ACLs"
fi

if [ "${LAB_DELAY_MS:-0}" != 0 ] || [ "${LAB_LOSS_PCT:-0}" != 0 ]; then
  modprobe sch_netem || fail "modprobe sch_netem"
  tc qdisc add dev lo root netem delay "${LAB_DELAY_MS}ms" loss "${LAB_LOSS_PCT:-0}%" || fail "netem"
  log "netem delay ${LAB_DELAY_MS} ms loss ${LAB_LOSS_PCT:-0}%"
fi

# --- open-iscsi initiators: one iface (IQN) per simulated node -----------------
sed -i -e 's/^node.session.timeo.replacement_timeout = .*/node.session.timeo.replacement_timeout = '"${LAB_REPLACEMENT_TIMEOUT:-5}"'/' \
       -e 's/^node.startup = .*/node.startup = manual/' /etc/iscsi/iscsid.conf
# Above 64 LUNs (lab.js sets LAB_CMDS_MAX): room for a command per LUN on each session.
if [ -n "${LAB_CMDS_MAX:-}" ]; then
  sed -i -e 's/^node.session.cmds_max = .*/node.session.cmds_max = '"$LAB_CMDS_MAX"'/' /etc/iscsi/iscsid.conf
fi
echo "InitiatorName=${LAB_INITIATOR_PREFIX}0" >/etc/iscsi/initiatorname.iscsi
iscsid || fail "iscsid did not start"
for ((n = 1; n <= LAB_NODES; n++)); do
  iscsiadm -m iface -I "node$n" -o new >/dev/null || fail "iface node$n"
  iscsiadm -m iface -I "node$n" -o update -n iface.initiatorname -v "${LAB_INITIATOR_PREFIX}$n" >/dev/null || fail "iface node$n name"
done
IFACES=()
for ((n = 1; n <= LAB_NODES; n++)); do IFACES+=(-I "node$n"); done
iscsiadm -m discovery -t st -p 127.0.0.1:3260 "${IFACES[@]}" >/dev/null || fail "iSCSI discovery"
if [ "$LAB_TARGET" = tgt ]; then
  # tgt's SendTargets names only the portal it was asked on: discover every portal.
  for ((p = 2; p <= LAB_PATHS; p++)); do
    iscsiadm -m discovery -t st -p "127.0.0.$p:3260" "${IFACES[@]}" >/dev/null || fail "iSCSI discovery on 127.0.0.$p"
  done
fi
iscsiadm -m node -T "$TIQN" --login >/dev/null 2>>"$RUN/guest.log" || fail "iSCSI login"
log "logged in"

node "$LAB_SCRIPTS/guest-map.js" wait "$RUN/map.json" || fail "devices did not appear"
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
elif [ -n "$LAB_HOST_TTY" ]; then
  bash "$RUN/cmd.sh" </dev/null
  rc=$?
else
  # The host's output is not a terminal: don't let the command believe it writes to one.
  bash "$RUN/cmd.sh" </dev/null 2>&1 | cat
  rc=${PIPESTATUS[0]}
fi
echo "$rc" >"$RUN/status"
sync
halt -f
