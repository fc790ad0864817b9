#!/bin/bash
# A real corosync + Pacemaker cluster inside the SAN lab's guest, for the tests
# that drive fence_scsi_pr through Pacemaker's own fencer (test/lab/pacemaker.test.ts).
#
#   guest-pacemaker.sh start   start corosync and pacemakerd, wait until this node is the DC
#   guest-pacemaker.sh stop    stop them and undo the mounts (the rest of the lab run is untouched)
#
# The cluster ("scsiprlab") has one running member, node1 (the guest itself, on
# 127.0.0.1). The corosync nodelist also names node2 and node3, the lab's other
# simulated initiators, on addresses where nothing answers: Pacemaker knows them
# as cluster nodes it can fence, and fence_scsi_pr derives their keys from that
# nodelist (key_value=hash, fence_scsi's keys). The guest's host name is node1
# while the cluster runs (restored by stop). node1 carries 3 quorum votes so
# that it is quorate alone (5 votes in all, 3 needed); that is the only thing in
# this set-up a real cluster would not do.
#
# Nothing on the host changes: the directories Pacemaker and corosync write
# (/etc/corosync, /var/lib/pacemaker, …) get tmpfs mounts, and the agent goes into
# /usr/sbin (Pacemaker's fence agent directory) through an overlay whose upper
# layer is on the guest's /run. The agent there is a two-line wrapper around the
# repository's dist/cli/fence-scsi-pr.js, as an npm installation's bin link is.
# fence_scsi_pr keeps its state file (this node's key and devices, written by
# "on") in $SCSI_PR_STATE_DIR, which pacemakerd and the agents it runs inherit.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PCMK_RUN=/run/lab-pacemaker
CLUSTER=scsiprlab
WRITABLE=(/etc/corosync /var/lib/corosync /var/log/corosync /var/lib/pacemaker /var/log/pacemaker /var/log/cluster /dev/shm)

log() { echo "guest-pacemaker: $*" >&2; }
die() { log "$*"; exit 1; }

start() {
  [ "${SCSI_PR_LAB:-}" = 1 ] || die "runs only inside the SAN lab guest (SCSI_PR_LAB=1)"
  [ -x /usr/sbin/pacemakerd ] && [ -x /usr/sbin/corosync ] || die "corosync/pacemaker are not installed (scripts/lab/prereqs.js installs them)"
  [ -f "$ROOT/dist/cli/fence-scsi-pr.js" ] || die "$ROOT/dist/cli/fence-scsi-pr.js is missing: build first (npm run build)"
  mkdir -p "$PCMK_RUN/state" "$PCMK_RUN/sbin-upper" "$PCMK_RUN/sbin-work"

  for d in "${WRITABLE[@]}"; do
    mkdir -p "$d"
    mountpoint -q "$d" || mount -t tmpfs -o mode=0755 tmpfs "$d" || die "cannot mount a tmpfs on $d"
  done
  chmod 1777 /dev/shm
  mkdir -p /var/lib/pacemaker/{cib,pengine,blackbox,cores}
  chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker
  chmod 0750 /var/lib/pacemaker/cib

  modprobe overlay 2>/dev/null || true
  mountpoint -q /usr/sbin || mount -t overlay overlay \
    -o "lowerdir=/usr/sbin,upperdir=$PCMK_RUN/sbin-upper,workdir=$PCMK_RUN/sbin-work" /usr/sbin ||
    die "cannot mount an overlay on /usr/sbin (module overlay)"
  printf '#!/bin/sh\nexec %s %s "$@"\n' "$(command -v node)" "$ROOT/dist/cli/fence-scsi-pr.js" >/usr/sbin/fence_scsi_pr
  chmod 0755 /usr/sbin/fence_scsi_pr

  cat >/etc/corosync/corosync.conf <<EOF
totem {
    version: 2
    cluster_name: $CLUSTER
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}
logging {
    to_stderr: no
    to_syslog: no
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    timestamp: on
}
quorum {
    provider: corosync_votequorum
}
nodelist {
    node {
        name: node1
        nodeid: 1
        ring0_addr: 127.0.0.1
        quorum_votes: 3
    }
    node {
        name: node2
        nodeid: 2
        ring0_addr: 127.0.0.2
    }
    node {
        name: node3
        nodeid: 3
        ring0_addr: 127.0.0.3
    }
}
EOF

  # Pacemaker's node name and the agent's idea of "this host" agree, as on a real cluster node.
  [ -f "$PCMK_RUN/hostname" ] || hostname >"$PCMK_RUN/hostname"
  hostname node1
  export SCSI_PR_STATE_DIR="$PCMK_RUN/state"
  setsid corosync -f >"$PCMK_RUN/corosync.out" 2>&1 </dev/null &
  echo $! >"$PCMK_RUN/corosync.pid"
  local i
  for ((i = 0; i < 120; i++)); do
    corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *Yes' && break
    sleep 0.5
  done
  corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *Yes' || die "corosync did not become quorate: $(tail -5 /var/log/corosync/corosync.log 2>&1)"

  PCMK_logfile=/var/log/pacemaker/pacemaker.log setsid pacemakerd >"$PCMK_RUN/pacemakerd.out" 2>&1 </dev/null &
  echo $! >"$PCMK_RUN/pacemakerd.pid"
  # Ready: node1 is online and the DC, and the fencer answers.
  local deadline=$((SECONDS + 200)) mon=''
  while ((SECONDS < deadline)); do
    mon=$(crm_mon -1 2>&1 || true)
    if grep -q 'Current DC: node1' <<<"$mon" && stonith_admin --list-registered >/dev/null 2>&1; then
      log "ready in ${SECONDS} s; $(free -m | awk '/Mem:/ {print "memory used " $3 " of " $2 " MB"}')"
      return 0
    fi
    sleep 1
  done
  die "Pacemaker did not come up in 200 s. crm_mon: $mon
pacemaker.log: $(tail -30 /var/log/pacemaker/pacemaker.log 2>&1)"
}

stop() {
  local i pid
  if [ -f "$PCMK_RUN/pacemakerd.pid" ]; then
    pid=$(cat "$PCMK_RUN/pacemakerd.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 120 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
    pkill -KILL -f '^/usr/lib/pacemaker/pacemaker-' 2>/dev/null || true
    rm -f "$PCMK_RUN/pacemakerd.pid"
  fi
  if [ -f "$PCMK_RUN/corosync.pid" ]; then
    pid=$(cat "$PCMK_RUN/corosync.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PCMK_RUN/corosync.pid"
  fi
  mountpoint -q /usr/sbin && umount -l /usr/sbin || true
  if [ -f "$PCMK_RUN/hostname" ]; then hostname "$(cat "$PCMK_RUN/hostname")"; rm -f "$PCMK_RUN/hostname"; fi
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: guest-pacemaker.sh start|stop" ;;
esac
