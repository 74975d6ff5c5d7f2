import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { Role } from '../auth/roles';
import type { GatewayContext } from '../context';
import { DataFile } from '../entities/DataFile';
import { FileDeletion } from '../entities/FileDeletion';
import { TapeCopy } from '../entities/TapeCopy';
import { StorageSummary } from '../schema/storage';
import { rowId } from './ids';

@Resolver(() => DataFile)
export class StorageResolver {
  @Query(() => StorageSummary, {
    description: 'Bytes and files per location and state, the backlog of each step, the tape lag.',
  })
  async storageSummary(@Ctx() ctx: GatewayContext): Promise<StorageSummary> {
    const storage = ctx.services.storage;
    const [locations, cloudByKind, backlog, oldestRunNotOnTape] = await Promise.all([
      storage.locations(),
      storage.cloudByKind(),
      storage.backlog(),
      storage.oldestRunNotOnTape(),
    ]);
    return { locations, cloudByKind, backlog, oldestRunNotOnTape, generatedAt: new Date() };
  }

  @Authorized(Role.SHIFTER)
  @Mutation(() => TapeCopy, {
    description: 'Queues tape → object store for a raw file whose cloud copy is gone.',
  })
  requestRecall(
    @Arg('fileId', () => ID) fileId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<TapeCopy> {
    return ctx.services.tape.requestRecall(rowId(fileId, 'a file', 'fileId'));
  }

  @FieldResolver(() => [FileDeletion], {
    description: 'Copies of this file that retention freed: where, when, why, by whom.',
  })
  deletions(@Root() file: DataFile, @Ctx() ctx: GatewayContext): Promise<FileDeletion[]> {
    return ctx.loaders.deletionsByFileId().load(file.id);
  }
}
