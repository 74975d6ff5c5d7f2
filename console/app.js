// The remote console: everything on the page is loaded once, then kept current by
// subscriptions. A shifter pastes a token (kept in this browser only); on a gateway without
// authentication (loopback) none is needed.
import { CameraView } from './camera.js';
import { Gateway } from './gateway.js';
import { Plots, WINDOW_MS } from './plots.js';
import { AlarmList, RunsTable } from './tables.js';

const $ = (selector) => document.querySelector(selector);

const RUN_FIELDS = `runNumber runType pedestal state recoStatus quality eventCount startedAt stoppedAt`;
const CURRENT_RUN = `{ runs(first: 1) { nodes { ${RUN_FIELDS}
  files { name kind cloudState localState tapeCopies { state } }
  jobs { kind state progress attempts lastError }
  latestPreview { eventId } } } }`;
const RUNS = `{ runs(first: 20) { nodes { ${RUN_FIELDS} } } }`;
const ALARM_FIELDS = `id severity name message state count lastRaisedAt acknowledgedBy`;
const ALARMS = `{ alarms(first: 50, filter: { states: [FIRING, ACKNOWLEDGED] }) { nodes { ${ALARM_FIELDS} } } }`;
const EVENT_FIELDS = `id serial runNumber clusterCount
  clusters { xMin xMax yMin yMax integral }
  preview { url width height rebin }`;

let gateway;
const camera = new CameraView($('#camera'), $('#camera-caption'));
const plots = new Plots($('#plots'));
const alarms = new AlarmList($('#alarms'), {
  acknowledge: (alarm) =>
    act(
      `mutation($id: ID!) { acknowledgeAlarm(id: $id, comment: "from the remote console") { ${ALARM_FIELDS} } }`,
      { id: alarm.id },
      (data) => alarms.update(data.acknowledgeAlarm),
    ),
});
const runs = new RunsTable($('#runs tbody'), {
  signOff: (run, status) =>
    act(
      `mutation($input: QualityFlagInput!) { setQualityFlag(input: $input) { id } }`,
      {
        input: {
          runNumber: run.runNumber,
          subsystem: 'global',
          status,
          comment: 'sign-off from the remote console',
        },
      },
      () => refreshRuns(),
    ),
});

function showError(error) {
  const box = $('#error');
  box.hidden = !error;
  box.textContent = error ? String(error.message ?? error) : '';
}

async function act(query, variables, then) {
  try {
    then(await gateway.request(query, variables));
    showError(null);
  } catch (error) {
    showError(error);
  }
}

function debounce(fn, ms) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

function renderCurrentRun(run) {
  if (!run) return;
  $('#run-summary').textContent =
    `run ${run.runNumber} (${run.pedestal ? 'pedestal' : (run.runType ?? 'data')}): ${run.state}` +
    `, reconstruction ${run.recoStatus}, quality ${run.quality}` +
    (run.eventCount != null ? `, ${run.eventCount} events` : '');
  $('#current-run').dataset.run = String(run.runNumber);
  const rows = [
    ...run.files.map((f) => [
      f.name,
      `buffer ${f.localState}, cloud ${f.cloudState ?? '—'}, tape ${f.tapeCopies.map((t) => t.state).join(', ') || '—'}`,
    ]),
    ...run.jobs.map((j) => [
      j.kind,
      `${j.state}${j.state === 'RUNNING' ? ` ${Math.round(j.progress * 100)} %` : ''}${j.lastError ? ` — ${j.lastError}` : ''}`,
    ]),
  ];
  $('#pipeline tbody').replaceChildren(
    ...rows.map(([what, state]) => {
      const tr = document.createElement('tr');
      const a = document.createElement('td');
      const b = document.createElement('td');
      a.textContent = what;
      b.textContent = state;
      tr.append(a, b);
      return tr;
    }),
  );
}

async function refreshCurrentRun() {
  const data = await gateway.request(CURRENT_RUN);
  const run = data.runs.nodes[0];
  renderCurrentRun(run);
  // Opening the console mid-run: show the newest preview until a live event replaces it.
  if (run?.latestPreview && $('#camera').dataset.event === '') {
    const found = await gateway.request(
      `query($n: Int!) { run(runNumber: $n) { latestPreview { event { ${EVENT_FIELDS} } } } }`,
      { n: run.runNumber },
    );
    const event = found.run.latestPreview?.event;
    if (event) await camera.show(event);
  }
}

// A replica gateway serves a copy that may be old: say so in the header, with the lag, always.
const REPLICATION = `{ replicationLag { role status seconds heartbeatAt } }`;
let replicationTimer;

async function refreshReplication() {
  const { replicationLag: lag } = await gateway.request(REPLICATION);
  const badge = $('#replication');
  badge.hidden = lag.role !== 'REPLICA';
  badge.dataset.status = lag.status;
  const seconds = lag.seconds == null ? 'unknown' : `${lag.seconds.toFixed(1)} s`;
  const asOf = lag.heartbeatAt
    ? ` · data as of ${new Date(lag.heartbeatAt).toLocaleTimeString()}`
    : '';
  badge.textContent = `replica · ${lag.status.toLowerCase()} · lag ${seconds}${asOf}`;
}

async function refreshRuns() {
  runs.render((await gateway.request(RUNS)).runs.nodes);
}

async function loadPlots() {
  const names = (await gateway.request(`{ metricNames }`)).metricNames
    .filter((n) => n.startsWith('slow.'))
    .slice(0, 6);
  const to = Date.now();
  for (const name of names) {
    const data = await gateway.request(
      `query($name: String!, $from: DateTime!, $to: DateTime!) { metricSeries(name: $name, from: $from, to: $to, maxDataPoints: 300) { time value } }`,
      { name, from: to - WINDOW_MS, to },
    );
    plots.set(
      name,
      data.metricSeries
        .filter((p) => p.value != null)
        .map((p) => ({ time: Date.parse(p.time), value: p.value })),
    );
  }
  return names;
}

async function start() {
  gateway?.close();
  const token = localStorage.getItem('cygno-token') ?? '';
  $('#token').value = token;
  gateway = new Gateway({
    token,
    onLinkChange: (state, reason) => {
      $('#link').dataset.state = state;
      $('#link').textContent = state === 'unauthorised' ? `refused: ${reason}` : state;
    },
  });
  const current = debounce(() => refreshCurrentRun().catch(showError), 200);
  const table = debounce(() => refreshRuns().catch(showError), 200);
  try {
    await Promise.all([refreshCurrentRun(), refreshRuns(), refreshReplication()]);
    window.clearInterval(replicationTimer);
    replicationTimer = window.setInterval(() => refreshReplication().catch(showError), 2_000);
    alarms.replace((await gateway.request(ALARMS)).alarms.nodes);
    const names = await loadPlots();
    showError(null);
    gateway.subscribe(`subscription { runUpdated { runNumber } }`, {}, () => {
      current();
      table();
    });
    gateway.subscribe(`subscription { jobUpdated { id } }`, {}, current);
    gateway.subscribe(`subscription { eventReconstructed { ${EVENT_FIELDS} } }`, {}, (data) =>
      camera.show(data.eventReconstructed).catch(showError),
    );
    gateway.subscribe(
      `subscription { alarmEvents { type alarm { ${ALARM_FIELDS} } } }`,
      {},
      (data) => alarms.update(data.alarmEvents.alarm),
    );
    gateway.subscribe(
      `subscription($names: [String!]) { metricSamples(names: $names) { name value time } }`,
      { names: null },
      (data) => {
        const sample = data.metricSamples;
        if (!sample.name.startsWith('slow.')) return;
        if (!names.includes(sample.name)) {
          names.push(sample.name);
          plots.set(sample.name, []);
        }
        plots.add(sample);
      },
    );
    document.body.dataset.ready = 'true';
  } catch (error) {
    showError(error);
  }
}

$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  localStorage.setItem('cygno-token', $('#token').value.trim());
  start();
});

start();
