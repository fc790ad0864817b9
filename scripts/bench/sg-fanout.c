/*
 * Reference: the lab's physical limit for a fencing fan-out. One thread puts a
 * PERSISTENT RESERVE OUT on every device in flight at once through the sg v3
 * async interface (write all, then poll + read until all are back).
 *   sg-fanout ACTION RK SARK TYPE /dev/sgA /dev/sgB …
 *     ACTION: preempt-and-abort | register | register-ignore | read-keys | read-reservation
 *   prints {"devices": N, "wallUs": …, "failed": K}
 */
#include <fcntl.h>
#include <poll.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void put64(unsigned char *p, unsigned long long v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = v & 0xff;
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: %s ACTION RK SARK TYPE devices...\n", argv[0]); return 2; }
  const char *action = argv[1];
  unsigned long long rk = strtoull(argv[2], NULL, 16), sark = strtoull(argv[3], NULL, 16);
  int type = atoi(argv[4]);
  int n = argc - 5;
  int *fds = calloc(n, sizeof *fds);
  struct pollfd *pfds = calloc(n, sizeof *pfds);
  unsigned char cdb[10] = {0x5f, 0, 0, 0, 0, 0, 0, 0, 24, 0};
  unsigned char param[24] = {0};
  unsigned char *in = calloc(n, 8192);
  unsigned char (*sense)[96] = calloc(n, 96);
  int dir = SG_DXFER_TO_DEV;
  if (!strcmp(action, "preempt-and-abort")) { cdb[1] = 5; cdb[2] = type & 0xf; }
  else if (!strcmp(action, "register")) cdb[1] = 0;
  else if (!strcmp(action, "register-ignore")) cdb[1] = 6;
  else if (!strcmp(action, "read-keys")) { cdb[0] = 0x5e; cdb[1] = 0; cdb[7] = 0x20; cdb[8] = 0; dir = SG_DXFER_FROM_DEV; }
  else if (!strcmp(action, "read-reservation")) { cdb[0] = 0x5e; cdb[1] = 1; cdb[7] = 0x20; cdb[8] = 0; dir = SG_DXFER_FROM_DEV; }
  else { fprintf(stderr, "unknown action %s\n", action); return 2; }
  put64(param, rk);
  put64(param + 8, sark);
  for (int i = 0; i < n; i++) {
    fds[i] = open(argv[5 + i], O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fds[i] < 0) { perror(argv[5 + i]); return 1; }
    pfds[i].fd = fds[i];
    pfds[i].events = POLLIN;
  }
  double t0 = now_us();
  for (int i = 0; i < n; i++) {
    sg_io_hdr_t h;
    memset(&h, 0, sizeof h);
    h.interface_id = 'S';
    h.dxfer_direction = dir;
    h.cmd_len = 10;
    h.cmdp = cdb;
    h.dxferp = dir == SG_DXFER_TO_DEV ? param : in + i * 8192;
    h.dxfer_len = dir == SG_DXFER_TO_DEV ? 24 : 8192;
    h.sbp = sense[i];
    h.mx_sb_len = 96;
    h.timeout = 30000;
    h.pack_id = i;
    if (write(fds[i], &h, sizeof h) < 0) { perror("write"); return 1; }
  }
  int left = n, failed = 0;
  while (left > 0) {
    if (poll(pfds, n, 60000) <= 0) { fprintf(stderr, "poll timeout\n"); return 1; }
    for (int i = 0; i < n; i++) {
      if (!(pfds[i].revents & POLLIN)) continue;
      sg_io_hdr_t h;
      memset(&h, 0, sizeof h);
      h.interface_id = 'S';
      h.pack_id = -1;
      if (read(fds[i], &h, sizeof h) < 0) continue;
      if (h.status != 0 || h.host_status != 0) failed++;
      pfds[i].events = 0;
      left--;
    }
  }
  double t = now_us() - t0;
  printf("{\"devices\": %d, \"wallUs\": %.1f, \"failed\": %d}\n", n, t, failed);
  return failed ? 3 : 0;
}
