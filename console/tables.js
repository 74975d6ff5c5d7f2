// The alarms list (with acknowledge) and the runs table (with the shifter's sign-off).

const SEVERITY_ORDER = { CRITICAL: 0, ERROR: 1, WARNING: 2, INFO: 3 };

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  if (className) td.className = className;
  return td;
}

function button(label, onClick) {
  const b = document.createElement('button');
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

export class AlarmList {
  constructor(list, { acknowledge }) {
    this.list = list;
    this.acknowledge = acknowledge;
    this.alarms = new Map();
  }

  replace(alarms) {
    this.alarms = new Map(alarms.map((a) => [a.id, a]));
    this.render();
  }

  update(alarm) {
    if (alarm.state === 'RESOLVED') this.alarms.delete(alarm.id);
    else this.alarms.set(alarm.id, alarm);
    this.render();
  }

  render() {
    const sorted = [...this.alarms.values()].sort(
      (a, b) =>
        (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9) ||
        Date.parse(b.lastRaisedAt) - Date.parse(a.lastRaisedAt),
    );
    if (sorted.length === 0) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'no open alarms';
      this.list.replaceChildren(li);
      return;
    }
    this.list.replaceChildren(
      ...sorted.map((alarm) => {
        const li = document.createElement('li');
        li.dataset.id = alarm.id;
        li.dataset.severity = alarm.severity;
        li.dataset.state = alarm.state;
        const when = new Date(alarm.lastRaisedAt).toISOString().slice(11, 19);
        li.append(
          `${alarm.severity} ${alarm.name}: ${alarm.message} (×${alarm.count}, ${when} UTC) `,
        );
        if (alarm.state === 'FIRING') {
          li.append(button('acknowledge', () => this.acknowledge(alarm)));
        } else {
          li.append(`acknowledged by ${alarm.acknowledgedBy}`);
        }
        return li;
      }),
    );
  }
}

export class RunsTable {
  constructor(body, { signOff }) {
    this.body = body;
    this.signOff = signOff;
  }

  render(runs) {
    this.body.replaceChildren(
      ...runs.map((run) => {
        const tr = document.createElement('tr');
        tr.dataset.run = String(run.runNumber);
        const sign = document.createElement('td');
        sign.append(
          button('GOOD', () => this.signOff(run, 'GOOD')),
          ' ',
          button('BAD', () => this.signOff(run, 'BAD')),
        );
        tr.append(
          cell(run.runNumber),
          cell(run.pedestal ? 'pedestal' : (run.runType ?? '')),
          cell(run.state),
          cell(run.recoStatus),
          cell(run.eventCount),
          cell(run.startedAt ? new Date(run.startedAt).toISOString().slice(0, 19) : ''),
          cell(run.quality, `quality q-${run.quality}`),
          sign,
        );
        return tr;
      }),
    );
  }
}
