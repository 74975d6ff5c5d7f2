import type { BatchSettings } from '../config/batch';
import { JobExecutor } from '../schema/enums';
import type { BatchSystem } from './BatchSystem';
import { HtCondor } from './htcondor';
import { SlurmCli } from './slurmCli';
import { SlurmRest } from './slurmRest';

export { BatchDispatcher } from './BatchDispatcher';
export { BatchJobService } from './BatchJobService';
export type { BatchSystem } from './BatchSystem';

/** The batch system BATCH names: Slurm through slurmrestd when its URL is set, else its commands. */
export function createBatchSystem(settings: BatchSettings): BatchSystem {
  if (settings.system === JobExecutor.HTCONDOR)
    return new HtCondor(process.env.BATCH_HTCONDOR_BIN ?? '');
  if (settings.slurmRestUrl)
    return new SlurmRest(settings.slurmRestUrl, settings.slurmUser, settings.slurmToken);
  return new SlurmCli();
}
