import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, Info, Query, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from '../context';
import { DataFile } from '../entities/DataFile';
import { Run } from '../entities/Run';
import { TapeCopy } from '../entities/TapeCopy';
import { DataFileConnection, PageArgs } from '../schema/connection';
import { FileFilter } from '../schema/filters';
import { selectsField } from './selection';

@Resolver(() => DataFile)
export class DataFileResolver {
  @Query(() => DataFileConnection, { description: 'Data files, newest first.' })
  files(
    @Arg('filter', () => FileFilter, { nullable: true }) filter: FileFilter | null,
    @Args() page: PageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    return ctx.services.files.list(filter, page, selectsField(info, 'totalCount'));
  }

  @FieldResolver(() => Run)
  async run(@Root() file: DataFile, @Ctx() ctx: GatewayContext): Promise<Run | null> {
    return ctx.loaders.runById.load(file.runId);
  }

  @FieldResolver(() => [TapeCopy])
  tapeCopies(@Root() file: DataFile, @Ctx() ctx: GatewayContext): Promise<TapeCopy[]> {
    return ctx.loaders.tapeCopiesByFileId.load(file.id);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'Short-lived download link (null without a verified cloud copy).',
  })
  downloadUrl(@Root() file: DataFile, @Ctx() ctx: GatewayContext): Promise<string | null> {
    return ctx.services.files.downloadUrl(file);
  }
}
