/**
 * Who holds a batch job's lease: `batch:<id>:pending` from submission until the attempt claims
 * it through the API, then `batch:<id>`. The claim changes one into the other in a conditional
 * update, so a duplicated attempt (the same token presented twice) is refused.
 */
export function batchLeaseOwner(batchId: string, phase: 'pending' | 'claimed'): string {
  return phase === 'pending' ? `batch:${batchId}:pending` : `batch:${batchId}`;
}
