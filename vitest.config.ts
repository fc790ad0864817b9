import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The default output, then each file's time (a slow machine shows in the log).
    reporters: ['default', './test/timing-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          environment: 'node',
          // Every lab file shares one SAN: files must run one after another. That is a
          // root-level option (`--no-file-parallelism` in package.json's test:lab), not
          // a project one. Reports event-loop stalls (see the file for why they matter).
          setupFiles: ['test/lab/event-loop-watch.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          // Faults in the middle of fencing, 64 LUNs x 2 paths (`npm run test:lab-faults`, own lab boot).
          name: 'lab-faults',
          include: ['test/lab-faults/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/lab/event-loop-watch.ts'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
        },
      },
      {
        test: {
          // NVMe namespaces (NvmeDevice, block PR ioctls) in the QEMU nvmet lab (`npm run test:lab-nvme`, own lab boot).
          name: 'lab-nvme',
          include: ['test/lab-nvme/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/lab/event-loop-watch.ts'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
        },
      },
      {
        test: {
          // 1000 fence/unfence cycles in one process, fds and RSS sampled (`npm run test:soak`, own lab boot).
          name: 'lab-soak',
          include: ['test/lab-soak/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/lab/event-loop-watch.ts'],
          testTimeout: 3_600_000,
          hookTimeout: 900_000,
        },
      },
      {
        test: {
          // Runs on the host and boots the lab itself, more than once (e.g. APTPL across a power loss).
          name: 'lab-reboot',
          include: ['test/lab-reboot/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/lab/event-loop-watch.ts'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
        },
      },
      {
        test: {
          // Packs the tarball, installs it with no compiler, boots a 1 x 1 lab (test/package).
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/lab/event-loop-watch.ts'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
