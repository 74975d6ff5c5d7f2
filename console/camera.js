// The latest camera image (a PNG preview made by the reconstruction) with its clusters' boxes.

export class CameraView {
  constructor(canvas, caption) {
    this.canvas = canvas;
    this.caption = caption;
  }

  /** Shows `event` (with `preview` and `clusters`); events without a preview are skipped. */
  async show(event) {
    const preview = event.preview;
    if (!preview) return;
    const image = new Image();
    image.src = preview.url;
    await image.decode();
    const ctx = this.canvas.getContext('2d');
    this.canvas.width = preview.width;
    this.canvas.height = preview.height;
    ctx.drawImage(image, 0, 0);
    ctx.strokeStyle = '#ff4d4d';
    ctx.lineWidth = 1;
    const scale = 1 / preview.rebin;
    for (const c of event.clusters ?? []) {
      ctx.strokeRect(
        c.xMin * scale - 0.5,
        c.yMin * scale - 0.5,
        Math.max(1, (c.xMax - c.xMin + 1) * scale) + 1,
        Math.max(1, (c.yMax - c.yMin + 1) * scale) + 1,
      );
    }
    this.canvas.dataset.event = String(event.id);
    this.canvas.dataset.clusters = String((event.clusters ?? []).length);
    this.caption.textContent = `run ${event.runNumber}, event ${event.serial}: ${
      (event.clusters ?? []).length
    } clusters`;
  }
}
