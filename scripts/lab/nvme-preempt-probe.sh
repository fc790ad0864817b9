#!/bin/bash
# Runs inside the NVMe lab guest. Shows what the target does when the HOLDER
# preempts a registered non-holder, with nvme-cli only (passthrough commands:
# the host driver's block PR code is not involved):
#
#   node scripts/lab.js run --target nvmet --nodes 2 --luns 1 -- bash scripts/lab/nvme-preempt-probe.sh
#   SCSI_PR_NVME_KERNEL_SUITES=sid node scripts/lab.js run --target nvmet --nodes 2 --luns 1 -- bash scripts/lab/nvme-preempt-probe.sh
#
# Linux nvmet 7.3.4 unregisters the preempted key and keeps the reservation
# type; 7.2.13 (Debian sid, December 2026) only changes the reservation type
# and leaves the key registered, so the "fenced" node can then preempt the
# holder. See README, "NVMe namespaces".
set -u
echo "kernel $(uname -r)"
A=$LAB_N1_NS0 B=$LAB_N2_NS0
report() {
  nvme resv-report "$A" --eds -o json | node -e '
    const r = JSON.parse(require("fs").readFileSync(0, "utf8").replace(/"rkey"\s*:\s*(\d+)/g, "\"rkey\":\"$1\""));
    const keys = (r.regctlext ?? []).map((c) => "0x" + BigInt(c.rkey).toString(16) + (c.rcsts ? " (holder)" : ""));
    console.log(`  report: generation ${r.gen}, rtype ${r.rtype}, registered: ${keys.join(", ") || "none"}`);'
}
step() { local what=$1; shift; "$@" >/dev/null 2>&1; echo "$what: exit $?"; }
step "node 1 registers 0xaa" nvme resv-register "$A" --nrkey=0xaa --rrega=0
step "node 2 registers 0xbb" nvme resv-register "$B" --nrkey=0xbb --rrega=0
step "node 1 acquires Write Exclusive - Registrants Only (rtype 3)" nvme resv-acquire "$A" --crkey=0xaa --rtype=3 --racqa=0
report
step "node 1 (holder) preempts 0xbb, rtype 1 given" nvme resv-acquire "$A" --crkey=0xaa --prkey=0xbb --rtype=1 --racqa=1
report
step "node 2 (0xbb) preempts the holder 0xaa, rtype 3" nvme resv-acquire "$B" --crkey=0xbb --prkey=0xaa --rtype=3 --racqa=1
report
