import { odbGet, type OdbTree, type OdbValue } from './midas/odb';

/**
 * Which ODB values become run attributes, as mlogger's "Logger/Runlog/SQL/Links BOR" and
 * "Links EOR" say for CYGNO at LNGS (attribute name → ODB path; `[i]` picks an array element).
 * HV channels follow the LNGS HV equipment's Demand array.
 */
export const CYGNO_BOR_LINKS: Readonly<Record<string, string>> = {
  run_number: '/Runinfo/Run number',
  run_description: '/Experiment/Run Parameters/Run description',
  start_time: '/Runinfo/Start time',
  exposure_sec: '/Configurations/Exposure',
  pedestal_run: '/Configurations/Pedestal',
  run_type: '/Configurations/run_type',
  source_type: '/Configurations/SourceState/source_type',
  source_position: '/Configurations/SourceState/source_position',
  discrimination_threshold: '/Configurations/TriggerState/discrimination_threshold',
  trigger_veto_time: '/Configurations/TriggerState/trigger_veto_time',
  trigger_logic: '/Configurations/TriggerState/trigger_logic',
  drs4_correction_active: '/Configurations/DRS4Correction',
  shielding_configuration: '/Configurations/shielding_configuration',
  pmt_acquisition: '/Configurations/pmt_acquisition',
  OFFSET_V: '/Equipment/HV/Variables/Demand[0]',
  GEM1_V: '/Equipment/HV/Variables/Demand[1]',
  T1_V: '/Equipment/HV/Variables/Demand[2]',
  GEM2_V: '/Equipment/HV/Variables/Demand[3]',
  T2_V: '/Equipment/HV/Variables/Demand[4]',
  GEM3_V: '/Equipment/HV/Variables/Demand[5]',
  DRIFT_V: '/Equipment/HV/Variables/Demand[6]',
  PMT1_V: '/Equipment/HV/Variables/Demand[14]',
  PMT2_V: '/Equipment/HV/Variables/Demand[15]',
  PMT3_V: '/Equipment/HV/Variables/Demand[20]',
  PMT4_V: '/Equipment/HV/Variables/Demand[18]',
};

export const CYGNO_EOR_LINKS: Readonly<Record<string, string>> = {
  stop_time: '/Runinfo/Stop time',
  number_of_events: '/Equipment/Trigger/Statistics/Events sent',
};

/** Looks up "/a/b/c[3]": an ODB path with an optional array index on its last part. */
export function odbValue(odb: OdbTree, path: string): OdbValue | undefined {
  const match = /^(.*)\[(\d+)\]$/.exec(path);
  if (!match) return odbGet(odb, path);
  const array = odbGet(odb, match[1]);
  return Array.isArray(array) ? array[Number(match[2])] : undefined;
}

/** The attributes the links name that the dump has (missing paths are left out, not null). */
export function extractAttributes(
  odb: OdbTree,
  links: Readonly<Record<string, string>>,
): Record<string, OdbValue> {
  const attributes: Record<string, OdbValue> = {};
  for (const [name, path] of Object.entries(links)) {
    const value = odbValue(odb, path);
    if (value !== undefined) attributes[name] = value;
  }
  return attributes;
}
