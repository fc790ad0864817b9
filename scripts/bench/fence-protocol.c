/*
 * Reference: fence()'s three-phase protocol in C, one thread, every command of a
 * phase in flight at once through the sg v3 async interface (write, poll, read).
 *   fence-protocol RK SARK TYPE /dev/sgA /dev/sgB …   (one device per LU; the first is the arbiter)
 *   phase 1: PREEMPT AND ABORT (RK, SARK, TYPE) on the arbiter, and READ KEYS on every other LU;
 *            the arbiter must answer GOOD, or the program stops (exit 1)
 *   phase 2: PREEMPT AND ABORT on every other LU whose READ KEYS listed SARK (and RK), all in
 *            flight; each LU's verify (READ KEYS + READ RESERVATION, both in flight on its fd)
 *            is sent as soon as its preempt is back; the arbiter's verify goes out with the fan-out
 *   phase 3: the verifies still out; an LU is verified when SARK is gone, RK is there and a
 *            reservation exists
 *   prints {"devices": N, "wallUs": …, "phase1Us": …, "phase2Us": …, "phase3Us": …,
 *           "commands": …, "failed": K, "verified": V, "alreadyFenced": A, "cpuUs": …, "minorFaults": …}
 *   (cpuUs: user + system CPU time of the three phases, minorFaults: page faults in them; getrusage)
 * Allocation lengths are the library's defaults: 1024 for READ KEYS, 24 for READ RESERVATION.
 * A UNIT ATTENTION is re-sent (at most 3 times), as the library does. Exit 0 when every LU is
 * verified or already fenced, 3 when some failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define READ_KEYS_ALLOCATION 1024
#define READ_RESERVATION_ALLOCATION 24
#define UNIT_ATTENTION_RETRIES 3

enum slot { CHECK, PREEMPT, VERIFY_KEYS, VERIFY_RESERVATION, SLOTS };

struct command {
  int lu;
  enum slot slot;
  int retries;
  int done;
  int good;
  int status, hostStatus, driverStatus;
  unsigned char cdb[10];
  unsigned char data[READ_KEYS_ALLOCATION]; /* parameter list out, or data in */
  unsigned int dataLen;
  int dir;
  unsigned char sense[96];
  unsigned int validIn; /* data-in bytes the device returned (dxfer_len - resid) */
};

struct lu {
  int fd;
  struct command cmd[SLOTS];
};

static struct lu *lus;
static struct pollfd *pfds;
static int nLus;
static unsigned long long rk, sark;
static int type;
static int commands, failed, verified, alreadyFenced;
static int phase1Left, phase2Left, verifyLeft;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* CPU time (µs, user + system) and minor page faults of this process so far. */
static void usage(double *cpuUs, long *minorFaults) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  *cpuUs = (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
  *minorFaults = u.ru_minflt;
}

static void put64(unsigned char *p, unsigned long long v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = v & 0xff;
}

static unsigned long long get64(const unsigned char *p) {
  unsigned long long v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

static unsigned int get32(const unsigned char *p) { return (unsigned)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static void submit(struct command *c) {
  sg_io_hdr_t h;
  memset(&h, 0, sizeof h);
  h.interface_id = 'S';
  h.dxfer_direction = c->dir;
  h.cmd_len = sizeof c->cdb;
  h.cmdp = c->cdb;
  h.dxferp = c->data;
  h.dxfer_len = c->dataLen;
  h.sbp = c->sense;
  h.mx_sb_len = sizeof c->sense;
  h.timeout = 30000;
  h.pack_id = c->lu * SLOTS + c->slot;
  h.usr_ptr = c;
  if (write(lus[c->lu].fd, &h, sizeof h) < 0) {
    perror("write");
    exit(1);
  }
  commands++;
}

static void prepare(struct command *c, int lu, enum slot slot) {
  memset(c, 0, sizeof *c);
  c->lu = lu;
  c->slot = slot;
  if (slot == CHECK && lu == 0) slot = PREEMPT; /* the arbiter's phase 1 is its preempt */
  if (slot == PREEMPT) {
    c->cdb[0] = 0x5f;
    c->cdb[1] = 5; /* PREEMPT AND ABORT */
    c->cdb[2] = type & 0xf;
    c->cdb[8] = 24;
    put64(c->data, rk);
    put64(c->data + 8, sark);
    c->dataLen = 24;
    c->dir = SG_DXFER_TO_DEV;
  } else {
    unsigned int len = slot == VERIFY_RESERVATION ? READ_RESERVATION_ALLOCATION : READ_KEYS_ALLOCATION;
    c->cdb[0] = 0x5e;
    c->cdb[1] = slot == VERIFY_RESERVATION ? 1 : 0;
    c->cdb[7] = len >> 8;
    c->cdb[8] = len & 0xff;
    c->dataLen = len;
    c->dir = SG_DXFER_FROM_DEV;
  }
}

static void send(int lu, enum slot slot) {
  struct command *c = &lus[lu].cmd[slot];
  prepare(c, lu, slot);
  submit(c);
}

/* Whether a READ KEYS answer lists `key`. */
static int lists(const struct command *c, unsigned long long key) {
  if (!c->good || c->validIn < 8) return 0;
  unsigned int len = get32(c->data + 4), end = 8 + len;
  if (end > c->validIn) end = c->validIn;
  for (unsigned int off = 8; off + 8 <= end; off += 8)
    if (get64(c->data + off) == key) return 1;
  return 0;
}

static void sendVerify(int lu) {
  send(lu, VERIFY_KEYS);
  send(lu, VERIFY_RESERVATION);
  verifyLeft += 2;
}

static void judgeVerify(int lu) {
  const struct command *keys = &lus[lu].cmd[VERIFY_KEYS], *res = &lus[lu].cmd[VERIFY_RESERVATION];
  int reserved = res->good && res->validIn >= 8 && get32(res->data + 4) >= 16;
  if (!lists(keys, sark) && lists(keys, rk) && reserved) verified++;
  else failed++;
}

static void completed(struct command *c, const sg_io_hdr_t *h) {
  int senseKey = -1;
  if (h->status == 0x02 && h->sb_len_wr > 2) senseKey = (c->sense[0] & 0x7f) >= 0x72 ? c->sense[1] & 0xf : c->sense[2] & 0xf;
  if (senseKey == 6 && c->retries < UNIT_ATTENTION_RETRIES) {
    c->retries++;
    submit(c);
    return;
  }
  c->done = 1;
  c->status = h->status;
  c->hostStatus = h->host_status;
  c->driverStatus = h->driver_status;
  c->good = h->status == 0 && h->host_status == 0 && (h->driver_status & 0xf) == 0;
  c->validIn = c->dir == SG_DXFER_FROM_DEV ? c->dataLen - (h->resid > 0 ? (unsigned)h->resid : 0) : 0;
  struct lu *u = &lus[c->lu];
  switch (c->slot) {
    case CHECK:
      phase1Left--;
      break;
    case PREEMPT:
      phase2Left--;
      if (c->good) sendVerify(c->lu);
      else failed++;
      break;
    case VERIFY_KEYS:
    case VERIFY_RESERVATION:
      verifyLeft--;
      if (u->cmd[VERIFY_KEYS].done && u->cmd[VERIFY_RESERVATION].done) judgeVerify(c->lu);
      break;
    default:
      break;
  }
}

/* Polls and reads completions until *left is 0; one read per readable fd per poll. */
static void pump(const int *left) {
  while (*left > 0) {
    if (poll(pfds, nLus, 60000) <= 0) {
      fprintf(stderr, "poll: timeout or error\n");
      exit(1);
    }
    for (int i = 0; i < nLus; i++) {
      if (!(pfds[i].revents & POLLIN)) continue;
      sg_io_hdr_t h;
      memset(&h, 0, sizeof h);
      h.interface_id = 'S';
      h.pack_id = -1;
      if (read(pfds[i].fd, &h, sizeof h) < 0) {
        if (errno == EAGAIN) continue;
        perror("read");
        exit(1);
      }
      completed((struct command *)h.usr_ptr, &h);
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s RK SARK TYPE /dev/sgA [/dev/sgB ...]   (hex keys; the first device is the arbiter)\n", argv[0]);
    return 2;
  }
  rk = strtoull(argv[1], NULL, 16);
  sark = strtoull(argv[2], NULL, 16);
  type = atoi(argv[3]);
  nLus = argc - 4;
  lus = calloc(nLus, sizeof *lus);
  pfds = calloc(nLus, sizeof *pfds);
  if (!lus || !pfds) return 1;
  for (int i = 0; i < nLus; i++) {
    lus[i].fd = open(argv[4 + i], O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (lus[i].fd < 0) {
      perror(argv[4 + i]);
      return 1;
    }
    pfds[i].fd = lus[i].fd;
    pfds[i].events = POLLIN;
  }

  double cpu0, cpu1;
  long faults0, faults1;
  usage(&cpu0, &faults0);
  double t0 = now_us();
  /* Phase 1: the arbiter's preempt and every other LU's check, all in flight. */
  for (int i = 0; i < nLus; i++) send(i, CHECK);
  phase1Left = nLus;
  pump(&phase1Left);
  double t1 = now_us();
  const struct command *arbiter = &lus[0].cmd[CHECK];
  if (!arbiter->good) {
    fprintf(stderr, "%s: arbiter PREEMPT AND ABORT not GOOD (status 0x%02x, host 0x%02x, driver 0x%02x, sense %02x %02x %02x .. %02x %02x); nothing else was preempted\n",
            argv[4], arbiter->status, arbiter->hostStatus, arbiter->driverStatus, arbiter->sense[0], arbiter->sense[1], arbiter->sense[2],
            arbiter->sense[12], arbiter->sense[13]);
    return 1;
  }

  /* Phase 2: the arbiter's verify and the fan-out; each LU's verify as soon as its preempt is back. */
  sendVerify(0);
  for (int i = 1; i < nLus; i++) {
    const struct command *check = &lus[i].cmd[CHECK];
    if (!lists(check, rk)) failed++; /* check failed, or our key is missing (fenced, or never registered) */
    else if (!lists(check, sark)) alreadyFenced++;
    else {
      send(i, PREEMPT);
      phase2Left++;
    }
  }
  pump(&phase2Left);
  double t2 = now_us();

  /* Phase 3: the verifies still out. */
  pump(&verifyLeft);
  double t3 = now_us();
  usage(&cpu1, &faults1);

  printf("{\"devices\": %d, \"wallUs\": %.1f, \"phase1Us\": %.1f, \"phase2Us\": %.1f, \"phase3Us\": %.1f, "
         "\"commands\": %d, \"failed\": %d, \"verified\": %d, \"alreadyFenced\": %d, \"cpuUs\": %.0f, \"minorFaults\": %ld}\n",
         nLus, t3 - t0, t1 - t0, t2 - t1, t3 - t2, commands, failed, verified, alreadyFenced, cpu1 - cpu0, faults1 - faults0);
  return failed || verified + alreadyFenced != nLus ? 3 : 0;
}
