#!/bin/bash
# Runs inside the lab guest (from guest-init.sh) when the lab runs with
# `--target tgt`: Debian's user-space iSCSI target daemon (tgt 1.0.85) instead
# of LIO. No kernel target modules: tgtd is an ordinary process.
#
#   - one target LAB_TARGET_IQN (tid 1) with LAB_LUNS disks, each an `rdwr`
#     file of LAB_LUN_MB MB on a guest tmpfs (/run/lab/tgt), so WRITEs reach
#     real data (PR conflict tests write blocks);
#   - tgt's own LUN 0 is its controller LUN (peripheral type 0x0c, no block
#     device) and cannot hold a disk: lab LUN i is tgt LUN i+1. guest-map.js
#     subtracts the 1, so the map's `lun` stays 0-based as with LIO (its `hctl`
#     shows tgt's LUN number);
#   - unit serial (VPD 0x80) and T10 vendor id (VPD 0x83) scsiprlab<NNNN> with
#     NNNN the lab LUN, like LIO's vpd_unit_serial. tgt's first NAA designator
#     (NAA 3, "locally assigned") is tid<<32 | tgt LUN: unique per LUN, and the
#     same in every tgt lab, so WWNs are stable across boots;
#   - portals 127.0.0.1..LAB_PATHS:3260, all in tgt's single target portal
#     group (tpgt 1): the paths differ by portal, not by TPG as with LIO;
#   - one ACL (`bind --initiator-name`) per node IQN; tgt ACLs cover the whole target.
set -u
log() { echo "guest-tgt: $*" >&2; }
adm() { tgtadm --lld iscsi "$@" || { log "tgtadm $* failed"; exit 1; }; }

DIR=/run/lab/tgt
mkdir -p "$DIR" /run/tgtd || exit 1
# -t 2: two I/O threads per LUN instead of 16 (UML creates threads slowly).
tgtd -f -t 2 --iscsi portal=127.0.0.1:3260 >>"${LAB_RUN:-$DIR}/tgtd.log" 2>&1 &
echo $! >"$DIR/tgtd.pid"
for ((i = 0; i < 200; i++)); do
  tgtadm --lld iscsi --op show --mode sys >/dev/null 2>&1 && break
  sleep 0.05
done
tgtadm --lld iscsi --op show --mode sys >/dev/null 2>&1 || { log "tgtd did not start: $(tail -5 "${LAB_RUN:-$DIR}/tgtd.log")"; exit 1; }

for ((p = 2; p <= LAB_PATHS; p++)); do
  adm --op new --mode portal --param portal="127.0.0.$p:3260"
done
adm --op new --mode target --tid 1 -T "$LAB_TARGET_IQN"
for ((l = 0; l < LAB_LUNS; l++)); do
  f="$DIR/lun$l.img"
  truncate -s "${LAB_LUN_MB}M" "$f" || exit 1
  serial=$(printf 'scsiprlab%04d' "$l")
  adm --op new --mode logicalunit --tid 1 --lun $((l + 1)) -b "$f"
  adm --op update --mode logicalunit --tid 1 --lun $((l + 1)) --params "scsi_sn=$serial,scsi_id=$serial"
done
for ((n = 1; n <= LAB_NODES; n++)); do
  adm --op bind --mode target --tid 1 --initiator-name "${LAB_INITIATOR_PREFIX}$n"
done
