/**
 * The ODB of a simulated CYGNO run at LNGS: the keys the default BOR/EOR links read (see
 * src/reco/runAttributes.ts), shaped as CYGNO's ODB is.
 */
export function cygnoRunOdb(
  runNumber: number,
  options: { pedestal: boolean; startTime: number; stopTime?: number; eventsSent?: number },
) {
  const date = (unix: number) =>
    new Date(unix * 1000)
      .toUTCString()
      .replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1 $3 $2 $5 $4');
  return {
    Runinfo: {
      State: 3,
      'Run number': runNumber,
      'Start time': date(options.startTime),
      'Start time binary': options.startTime,
      'Stop time': date(options.stopTime ?? options.startTime),
      'Stop time binary': options.stopTime ?? 0,
    },
    Experiment: {
      'Run Parameters': {
        'Run description': options.pedestal ? 'S001:PED:pedestal run' : 'S003:DATA:Fe source',
      },
    },
    Configurations: {
      Pedestal: options.pedestal,
      Exposure: 0.3,
      run_type: options.pedestal ? 1 : 0,
      DRS4Correction: false,
      SourceState: { source_type: options.pedestal ? 0 : 1, source_position: 10 },
      TriggerState: { discrimination_threshold: 2, trigger_veto_time: 10, trigger_logic: 0 },
    },
    Equipment: {
      HV: {
        Variables: {
          Demand: [
            10, 400, 500, 400, 500, 400, 960, 0, 0, 0, 0, 0, 0, 0, 772, 772, 0, 0, 770, 0, 800, 770,
            935, 825, 935, 0,
          ],
        },
      },
      Trigger: { Statistics: { 'Events sent': options.eventsSent ?? 0 } },
    },
  };
}
