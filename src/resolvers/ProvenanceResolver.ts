import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from '../context';
import { Cluster } from '../entities/Cluster';
import { DataFile } from '../entities/DataFile';
import { Reconstruction } from '../entities/Reconstruction';
import { Run } from '../entities/Run';
import { clustersRecord, fileRecord } from '../services/ProvenanceService';

// Provenance fields on runs, clusters and files: one query for every run of a page.

@Resolver(() => Run)
export class RunProvenanceResolver {
  @FieldResolver(() => [Reconstruction], {
    description: 'Every reconstruction of the run and what made it, newest first.',
  })
  reconstructions(@Root() run: Run, @Ctx() ctx: GatewayContext): Promise<Reconstruction[]> {
    return ctx.loaders.reconstructionsByRunId().load(run.id);
  }
}

@Resolver(() => Cluster)
export class ClusterProvenanceResolver {
  @FieldResolver(() => Reconstruction, {
    nullable: true,
    description: 'The reconstruction that wrote this cluster (its run, its version).',
  })
  async reconstruction(
    @Root() cluster: Cluster,
    @Ctx() ctx: GatewayContext,
  ): Promise<Reconstruction | null> {
    const records = await ctx.loaders.reconstructionsByRunId().load(cluster.runId);
    return clustersRecord(records, cluster.recoVersion);
  }
}

@Resolver(() => DataFile)
export class FileProvenanceResolver {
  @FieldResolver(() => Reconstruction, {
    nullable: true,
    description: 'The reconstruction that wrote this file as it is (null for raw files).',
  })
  async producedBy(
    @Root() file: DataFile,
    @Ctx() ctx: GatewayContext,
  ): Promise<Reconstruction | null> {
    return fileRecord(await ctx.loaders.reconstructionsByRunId().load(file.runId), file);
  }
}
