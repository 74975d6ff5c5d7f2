import { Field, Float, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { DateTimeColumn } from './columns';

/** One sample of a time series: slow control, DAQ rates, pipeline gauges. */
@ObjectType({ simpleResolvers: true, description: 'A time-series sample.' })
@Entity('metric_samples')
@Index(['name', 'time'])
export class MetricSample {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

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
