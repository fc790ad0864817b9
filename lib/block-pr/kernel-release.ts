/**
 * Which block PR ioctls the running kernel knows, from its release string
 * (`uname -r`), so that a request the kernel lacks fails before any I/O. An
 * unknown request cannot be told apart reliably at run time: nvme answers
 * ENOTTY, but sd (directly, or below a device-mapper map) answers EINVAL, the
 * errno of a refused field.
 */

/** IOC_PR_READ_KEYS and IOC_PR_READ_RESERVATION came with Linux 6.19. */
export const BLOCK_PR_READS_SINCE: readonly [number, number] = [6, 19];

/**
 * Whether a kernel of release `release` (e.g. `'7.3.4+deb13-amd64'`,
 * `'6.1.0-28-amd64'`) has IOC_PR_READ_KEYS and IOC_PR_READ_RESERVATION.
 * A release that does not start with `<major>.<minor>` counts as having them:
 * the call is then tried, and ENOTTY still says what is missing.
 */
export function kernelHasBlockPrReads(release: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return true;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const [wantMajor, wantMinor] = BLOCK_PR_READS_SINCE;
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}
