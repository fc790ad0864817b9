/*
 * Reference: sequential SG_IO loop of PERSISTENT RESERVE IN (READ KEYS) on one
 * device - the floor for per-command latency from user space.
 *   sgio-loop /dev/sgN ITERATIONS   -> prints {"perCommandUs": …, "iterations": …}
 */
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s /dev/sgN iterations\n", argv[0]); return 2; }
  int n = atoi(argv[2]);
  int fd = open(argv[1], O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) { perror(argv[1]); return 1; }
  unsigned char cdb[10] = {0x5e, 0x00, 0, 0, 0, 0, 0, 0x20, 0x00, 0}; /* READ KEYS, alloc 8192 */
  unsigned char data[8192], sense[96];
  double t0 = 0;
  for (int i = -10; i < n; i++) { /* 10 warm-up commands */
    if (i == 0) t0 = now_us();
    sg_io_hdr_t h;
    memset(&h, 0, sizeof h);
    h.interface_id = 'S';
    h.dxfer_direction = SG_DXFER_FROM_DEV;
    h.cmd_len = sizeof cdb;
    h.cmdp = cdb;
    h.dxferp = data;
    h.dxfer_len = sizeof data;
    h.sbp = sense;
    h.mx_sb_len = sizeof sense;
    h.timeout = 30000;
    if (ioctl(fd, SG_IO, &h) < 0 || h.status != 0 || h.host_status != 0) {
      fprintf(stderr, "SG_IO failed: status 0x%x host 0x%x\n", h.status, h.host_status);
      return 1;
    }
  }
  double t = now_us() - t0;
  printf("{\"perCommandUs\": %.1f, \"iterations\": %d}\n", t / n, n);
  return 0;
}
