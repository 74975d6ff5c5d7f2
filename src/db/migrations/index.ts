import { Initial1764000000000 } from './1764000000000-Initial';
import { FileDeletions1764100000000 } from './1764100000000-FileDeletions';
import { Security1764200000000 } from './1764200000000-Security';
import { EventPreviews1764300000000 } from './1764300000000-EventPreviews';
import { OpenAlarmKey1764400000000 } from './1764400000000-OpenAlarmKey';
import { SilenceMirror1764500000000 } from './1764500000000-SilenceMirror';
import { Reconstructions1764600000000 } from './1764600000000-Reconstructions';
import { ChangeLog1764700000000 } from './1764700000000-ChangeLog';
import { Campaigns1764800000000 } from './1764800000000-Campaigns';
import { LiveReconstruction1764900000000 } from './1764900000000-LiveReconstruction';

/** Every migration, oldest first. */
export const MIGRATIONS = [
  Initial1764000000000,
  FileDeletions1764100000000,
  Security1764200000000,
  EventPreviews1764300000000,
  OpenAlarmKey1764400000000,
  SilenceMirror1764500000000,
  Reconstructions1764600000000,
  ChangeLog1764700000000,
  Campaigns1764800000000,
  LiveReconstruction1764900000000,
];
