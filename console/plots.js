// Live slow-control plots: the last hour of each slow.* metric, extended by metricSamples.

const WINDOW_MS = 3_600_000;

export class Plots {
  constructor(container) {
    this.container = container;
    this.series = new Map();
  }

  set(name, points) {
    if (!this.series.has(name)) {
      if (this.series.size === 0) this.container.replaceChildren();
      const div = document.createElement('div');
      div.className = 'plot';
      div.dataset.metric = name;
      const label = document.createElement('div');
      const canvas = document.createElement('canvas');
      canvas.width = 600;
      canvas.height = 90;
      div.append(label, canvas);
      this.container.append(div);
      this.series.set(name, { points: [], label, canvas });
    }
    this.series.get(name).points = points;
    this.draw(name);
  }

  add(sample) {
    const entry = this.series.get(sample.name);
    if (!entry) return;
    entry.points.push({ time: Date.parse(sample.time), value: sample.value });
    const since = Date.now() - WINDOW_MS;
    entry.points = entry.points.filter((p) => p.time >= since);
    this.draw(sample.name);
  }

  draw(name) {
    const { points, label, canvas } = this.series.get(name);
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const last = points.at(-1);
    label.textContent = last ? `${name}: ${last.value.toPrecision(5)}` : `${name}: no data`;
    canvas.dataset.points = String(points.length);
    if (points.length < 2) return;
    const t0 = Date.now() - WINDOW_MS;
    const values = points.map((p) => p.value);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const span = hi - lo || 1;
    ctx.strokeStyle = '#9ecbff';
    ctx.beginPath();
    points.forEach((p, i) => {
      const x = ((p.time - t0) / WINDOW_MS) * canvas.width;
      const y = canvas.height - 5 - ((p.value - lo) / span) * (canvas.height - 10);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

export { WINDOW_MS };
