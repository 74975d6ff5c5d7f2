import { startCephRgw } from './cephRgw';

/**
 * Vitest global setup: with TEST_OBJECT_STORE=rgw, starts one Ceph cluster with a radosgw for
 * the whole run (about 16 s: too long per test file) and stops it by pid at the end. The test
 * processes, forked after this, find it in TEST_RGW_CLUSTER; each gateway and store in the
 * tests gets a bucket of its own on it.
 */
export default async function rgwCluster() {
  if (process.env.TEST_OBJECT_STORE !== 'rgw') return undefined;
  const { cluster, stop } = await startCephRgw();
  process.env.TEST_RGW_CLUSTER = JSON.stringify(cluster);
  return stop;
}
