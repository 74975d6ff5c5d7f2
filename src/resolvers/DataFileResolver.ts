import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, Info, Query, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from '../context';
import { DataFile } from '../entities/DataFile';
import { Run } from '../entities/Run';
import { TapeCopy } from '../entities/TapeCopy';
import { DataFileConnection, PageArgs } from '../schema/connection';
import { FileFilter } from '../schema/filters';
import { FILE_COLUMNS, RUN_COLUMNS, TAPE_COPY_COLUMNS } from './projections';
import { selectedFields, selectedNodeFields, selectsField } from './selection';

@Resolver(() => DataFile)
export class DataFileResolver {
  @Query(() => DataFileConnection, { description: 'Data files, newest first.' })
  files(
    @Arg('filter', () => FileFilter, { nullable: true }) filter: FileFilter | null,
    @Args() page: PageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    return ctx.services.files.list(filter, page, {
      withTotal: selectsField(info, 'totalCount'),
      columns: FILE_COLUMNS.for(selectedNodeFields(info)),
    });
  }

  @FieldResolver(() => Run)
  run(
    @Root() file: DataFile,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Run | null> {
    return ctx.loaders.runById(RUN_COLUMNS.for(selectedFields(info))).load(file.runId);
  }

  @FieldResolver(() => [TapeCopy])
  tapeCopies(
    @Root() file: DataFile,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<TapeCopy[]> {
    return ctx.loaders
      .tapeCopiesByFileId(TAPE_COPY_COLUMNS.for(selectedFields(info)))
      .load(file.id);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'Short-lived download link (null without a verified cloud copy).',
  })
  downloadUrl(@Root() file: DataFile, @Ctx() ctx: GatewayContext): Promise<string | null> {
    return ctx.services.files.downloadUrl(file);
  }
}
