/**
 * scsi-pr's help texts. The PR IN and PR OUT action lines of the main help
 * come from the service-action table (scsi/pr-service-actions.ts): letter,
 * long option, SPC name and, for PR OUT, the parameters each action takes.
 */
import { PR_IN_ACTIONS, PR_IN_METHODS, PR_OUT_ACTIONS, PR_OUT_METHODS } from '../../scsi/pr-service-actions';

/** Which help `scsi-pr [COMMAND] --help` prints. */
export type HelpTopic = 'main' | 'fence' | 'unfence' | 'status' | 'service';

/** `  -k, --read-keys` padded to the description column. */
function optionColumn(short: string, long: string): string {
  return `  -${short}, --${long}`.padEnd(30);
}

const PR_IN_LINES = PR_IN_METHODS.map((m) => {
  const { cli, name } = PR_IN_ACTIONS[m];
  const [long, ...aliases] = cli.long;
  return `${optionColumn(cli.short, long)}${name}${aliases.length > 0 ? ` (also ${aliases.map((x) => `--${x}`).join(', ')})` : ''}`;
}).join('\n');

const PR_OUT_LINES = PR_OUT_METHODS.map((m) => {
  const { cli, name } = PR_OUT_ACTIONS[m];
  return `${optionColumn(cli.short, cli.long)}${name}: ${cli.usage}`;
}).join('\n');

/** Exit codes, as documented in every help text. */
export const EXIT_CODES_HELP = `Exit status (sg3_utils values where they exist):
   0  success
   1  other error; fence/unfence/status: some devices failed (partial)
   2  bad command line or argument (nothing was sent to any device)
   3  device not found or not usable (missing, partition, not SCSI, open
      failed)
   5  ILLEGAL REQUEST            6  UNIT ATTENTION (after 5 retries)
   7  DATA PROTECT               9  PR commands not supported (invalid opcode)
  11  ABORTED COMMAND           24  RESERVATION CONFLICT
  26  BUSY (after retries)      27  TASK SET FULL      28  ACA ACTIVE
  29  TASK ABORTED              33  command timed out
  97  malformed response
  98  other sense key (NOT READY, MEDIUM ERROR, HARDWARE ERROR, ...)
  99  transport/driver error or other SCSI status`;

export const MAIN_HELP = `Usage: scsi-pr [OPTIONS] DEVICE              (one device, like sg_persist)
       scsi-pr fence   --key K --victim-key V [OPTIONS] DEVICE...
       scsi-pr unfence --key K [--aptpl] [OPTIONS] DEVICE...
       scsi-pr status  --key K [--matrix|--list] [OPTIONS] DEVICE...
       scsi-pr fence|unfence|status ... --lvm [VG...]    (shared LVM VGs)
       scsi-pr service start|stop|status [--key K] [--vg VG]...

DEVICE is /dev/sgN, /dev/sdX, an NVMe namespace (/dev/nvmeXnY, /dev/ngXnY: NVMe
reservations, same options) or a symlink (/dev/disk/by-id/...); a disk is used
through its sg node. Keys are hex (1-16 digits, 0x optional).

PR IN (the default is --read-keys):
  -i, --in                    PR IN
${PR_IN_LINES}

PR OUT (needs --out as a safeguard, and exactly one action; after the colon
the parameters it needs, [those it may take]; any other is refused):
  -o, --out                   PR OUT
${PR_OUT_LINES}

SCSI-2 (legacy; for fencing use persistent reservations, see the README):
      --reserve6              RESERVE(6) of the whole unit for this path only
      --release6              RELEASE(6) of this path's RESERVE(6)
      --reset=LEVEL           reset through the sg driver: device (LUN reset:
                              ends SCSI-2 reservations, not persistent ones),
                              target, bus or host

PR OUT parameters:
  -K, --param-rk=RK           reservation key
  -S, --param-sark=SARK       service action reservation key
  -T, --prout-type=TYPE       1 3 5 6 7 8, or we ea we-ro ea-ro we-ar ea-ar,
                              or a name such as write-exclusive-registrants-only
  -Z, --param-aptpl           APTPL: persist through power loss
  -Y, --param-alltgpt         ALL_TG_PT: register through all target ports
  -X, --transport-id=TID      a TransportID (repeatable, one per option):
                              iqn.NAME[,i,0xISID], iscsi,NAME, sas,HEX16,
                              naa.HEX16, fcp,HEX16, sbp,HEX16, srp,HEX32,
                              spi,ADDR,PORT, sop,HEX, or hex bytes
  -Q, --relative-target-port=N  relative target port (--register-move)
  -U, --unreg                 unregister this nexus after --register-move

Other options:
  -d, --device=DEVICE         the device, instead of the argument
  -n, --no-inquiry            accepted for sg_persist compatibility
      --timeout=MS            per-command timeout in ms (default 30000)
      --json                  JSON on stdout (keys as "0x..." strings)
  -v, --verbose               report retried UNIT ATTENTIONs on stderr
  -h, --help                  this help (scsi-pr COMMAND --help: fence,
                              unfence, status, service)
  -V, --version               print the version

PR IN output reads like sg_persist -n's; PR OUT prints nothing on success.
UNIT ATTENTION is retried (5 times), BUSY with backoff.

${EXIT_CODES_HELP}
`;

const MULTI_COMMON_HELP = `  --lvm                       the arguments are volume group names: use the
                              devices of those shared/clustered VGs (of all
                              of them when none is named)
  --timeout=MS                per-command timeout in ms (default 30000)
  --json                      the full report as JSON on stdout
  --no-progress               no live progress line (shown on a terminal only)
  -h, --help                  this help`;

export const FENCE_HELP = `Usage: scsi-pr fence --key K --victim-key V [--type T] [OPTIONS] DEVICE...
       scsi-pr fence --key K --victim-key V [--type T] [OPTIONS] --lvm [VG...]

Remove the victim's key from every logical unit with PREEMPT AND ABORT. Our
key must be registered everywhere (else another node fenced us and nothing is
done); the first LU in WWN order is preempted alone (two nodes fencing each
other are serialised there), then all others at once; then every LU is read
back (READ KEYS and READ RESERVATION) to verify that the victim's key is gone.
Paths of one LU are grouped by WWN; a failing path falls back to another. Where
the target refuses PREEMPT AND ABORT (ILLEGAL REQUEST: unsupported), that LU is
fenced with PREEMPT, and the report says the victim's queued commands were not
aborted.

  --key K                     our registered key (hex)
  --victim-key V              the key of the node to fence (hex)
  --type T                    reservation type to take if the victim held it
                              (default 5, we-ro)
  --require-abort             no PREEMPT fallback: such an LU fails instead
${MULTI_COMMON_HELP}

Exit status:
   0  the victim is verified fenced on every logical unit
   1  partial: some logical units are not verified fenced (listed)
   2  bad command line (nothing was sent)
   3  no device could be opened (or --lvm found none)
  24  LOST: our own key is not registered (another node fenced us)
`;

export const UNFENCE_HELP = `Usage: scsi-pr unfence --key K [--aptpl] [--type T] [OPTIONS] DEVICE...
       scsi-pr unfence --key K [--aptpl] [--type T] [OPTIONS] --lvm [VG...]

Register our key on every path of every logical unit (REGISTER AND IGNORE
EXISTING KEY, so stale registrations of this host are replaced) and take a
reservation (default type 5, Write Exclusive, Registrants Only) where none
exists.

  --key K                     our key (hex, not 0)
  --aptpl                     persist through power loss
  --type T                    reservation type to take where none exists
                              (default 5)
${MULTI_COMMON_HELP}

Exit status:
   0  registered on every path of every LU, and each LU has a reservation
   1  partial: some logical units failed (listed)
   2  bad command line (nothing was sent)
   3  no device could be opened (or --lvm found none)
`;

export const STATUS_HELP = `Usage: scsi-pr status --key K [--matrix|--list] [OPTIONS] DEVICE...
       scsi-pr status --key K [--matrix|--list] [OPTIONS] --lvm [VG...]

Read (READ FULL STATUS) which logical units have our key registered and who
holds the reservation. A target without READ FULL STATUS is read with READ
KEYS and READ RESERVATION (registrations then have no per-path count).

On a terminal: a matrix, one row per logical unit (device, WWN, PR generation,
reservation type), one column per key seen on any of them (ours first), each
cell the number of I_T nexuses registered with that key (* = holds the
reservation, . = not registered), then what differs between the LUs (a key on
some only: a partial or split fence), a legend and the summary line. When
the keys do not fit the width, columns get letters (named below) and wrap.
Colours on a terminal unless NO_COLOR is set. Elsewhere (pipes, files): one
line per logical unit, or --json.

  --key K                     our key (hex)
  --matrix                    the matrix, even when stdout is not a terminal
                              (width: COLUMNS, else 80)
  --list                      one line per logical unit, even on a terminal
${MULTI_COMMON_HELP}

--matrix, --list and --json exclude one another.

Exit status:
   0  our key is registered on every logical unit
   1  registered on some logical units only
   2  bad command line
   3  registered on none (or --lvm found no device)
   4  no logical unit could be read
`;

export const SERVICE_HELP = `Usage: scsi-pr service start|stop|status [OPTIONS]

The boot-time service of the original fence_scsi design, for an init system
(no prompts, no terminal assumed; start and stop report on stderr, status
lists the devices on stdout):

  start   find the devices of the shared/clustered LVM volume groups (vg_attr
          's' or 'c'), register our key on every path, and take a Write
          Exclusive, Registrants Only reservation where none exists
  stop    release the reservation where we hold it and unregister our key
          from every path
  status  list the devices (and their VGs) registered with our key

  --key K                     our key (hex); default: this host's IPv4
                              address, like gethostip -x (10.0.0.1 is
                              0x0a000001)
  --interface IF              derive the key from this interface's IPv4
                              address (default: the first non-loopback one)
  --vg VG                     only this volume group (repeatable)
  --device DEV                use these devices instead of LVM (repeatable)
  --aptpl                     start: persist through power loss
  --timeout=MS                per-command timeout in ms (default 30000)
  --json                      the report as JSON on stdout
  -h, --help                  this help

Exit status (LSB init-script values):
  start, stop:  0  done on every device (stop: also when nothing was
                   registered)
                1  failed on some devices
                2  bad command line
                4  insufficient privilege
                5  the LVM tools (vgs) are not installed
                6  start: no shared volume group, no device
  status:       0  running: registered on every device
                1  registered on some devices only
                2  bad command line
                3  not running: registered nowhere
                4  unknown: no device could be read, or discovery failed
`;

/** The help text of a topic. */
export function helpText(topic: HelpTopic): string {
  switch (topic) {
    case 'main':
      return MAIN_HELP;
    case 'fence':
      return FENCE_HELP;
    case 'unfence':
      return UNFENCE_HELP;
    case 'status':
      return STATUS_HELP;
    case 'service':
      return SERVICE_HELP;
  }
}
