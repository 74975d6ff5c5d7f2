import { IsOptional, Matches, MaxLength } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';
import { QualityStatus } from './enums';

@InputType({ description: "A shifter's data-quality verdict on one subsystem of a run." })
export class QualityFlagInput {
  @Field(() => Int) runNumber: number;

  @Field({ description: 'camera, pmt, gas, hv, daq… or global (the run sign-off).' })
  @Matches(/^[a-z][a-z0-9_-]{0,31}$/, {
    message: 'subsystem must be a lower-case word of at most 32 letters, digits, _ or -',
  })
  subsystem: string;

  @Field(() => QualityStatus) status: QualityStatus;

  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(4000) comment?: string | null;

  @Field(() => String, { nullable: true, description: 'Short cause code (e.g. "hv-trip").' })
  @IsOptional()
  @MaxLength(255)
  cause?: string | null;
}
