import { Field, Float, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn, Generated } from 'typeorm';
import { bigintAsNumber, DateTimeColumn } from './columns';

/** One sample of a time series: slow control, DAQ rates, pipeline gauges. */
@ObjectType({ simpleResolvers: true, description: 'A time-series sample.' })
@Entity('metric_samples')
@Index(['name', 'time'])
export class MetricSample {
  // 64-bit in the database, a JS number here (TypeORM's generated-column decorator takes no transformer).
  @PrimaryColumn({ type: 'bigint', transformer: bigintAsNumber })
  @Generated('increment')
  id: number;

  @Field()
  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Field(() => Date)
  @DateTimeColumn()
  time: Date;

  @Field(() => Float)
  @Column({ type: 'double' })
  value: number;
}
