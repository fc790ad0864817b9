/** A two-node cluster on the fake SAN, as after both nodes were unfenced. */
import { FakeSan, type FakeNode } from './fake-transport';
import type { FakeLogicalUnit } from './fake-logical-unit';

/** Key of node a. */
export const KEY_A = 0xaaaa0001n;
/** Key of node b. */
export const KEY_B = 0xbbbb0002n;
/** Write Exclusive – Registrants Only, the fencing type. */
export const WE_RO = 5;

/** A SAN with `luCount` LUs; nodes a and b (`ports` nexuses each per LU) registered everywhere; a holds a WE_RO reservation. */
export function twoNodeCluster(luCount = 3, ports = 2): { san: FakeSan; lus: FakeLogicalUnit[]; a: FakeNode; b: FakeNode } {
  const san = new FakeSan();
  const lus = Array.from({ length: luCount }, () => san.addLu());
  const a = san.node('a', { ports });
  const b = san.node('b', { ports });
  a.registerEverywhere(KEY_A);
  b.registerEverywhere(KEY_B);
  a.reserveEverywhere(WE_RO);
  return { san, lus, a, b };
}
