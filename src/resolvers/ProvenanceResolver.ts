import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from '../context';
import { Cluster } from '../entities/Cluster';
import { DataFile } from '../entities/DataFile';
import { Reconstruction } from '../entities/Reconstruction';
import { Run } from '../entities/Run';

// Provenance fields on runs, clusters and files (one query per item: they are asked for one
// run or one file at a time, not over pages).

@Resolver(() => Run)
export class RunProvenanceResolver {
  @FieldResolver(() => [Reconstruction], {
    description: 'Every reconstruction of the run and what made it, newest first.',
  })
  reconstructions(@Root() run: Run, @Ctx() ctx: GatewayContext): Promise<Reconstruction[]> {
    return ctx.services.provenance.ofRun(run.id);
  }
}

@Resolver(() => Cluster)
export class ClusterProvenanceResolver {
  @FieldResolver(() => Reconstruction, {
    nullable: true,
    description: 'The reconstruction that wrote this cluster (its run, its version).',
  })
  reconstruction(
    @Root() cluster: Cluster,
    @Ctx() ctx: GatewayContext,
  ): Promise<Reconstruction | null> {
    return ctx.services.provenance.clustersOf(cluster.runId, cluster.recoVersion);
  }
}

@Resolver(() => DataFile)
export class FileProvenanceResolver {
  @FieldResolver(() => Reconstruction, {
    nullable: true,
    description: 'The reconstruction that wrote this file as it is (null for raw files).',
  })
  producedBy(@Root() file: DataFile, @Ctx() ctx: GatewayContext): Promise<Reconstruction | null> {
    return ctx.services.provenance.producedBy(file);
  }
}
