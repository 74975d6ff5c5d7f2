import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { builtScript } from './builtScript';
import { RecoInputError } from '../image/errors';
import type { ReductionParameters } from '../reduction/parameters';
import type { RecoParameters } from '../image/parameters';
import { sharePedestalMap, type PedestalMap } from '../image/pedestal';
import { derivedMaps, type ImageReconstruction } from '../image/reconstruct';

interface Pending {
  resolve: (result: ImageReconstruction) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, Pending>;
}

/** Images per thread in flight: enough to hide the hand-over, little enough to bound memory. */
const IN_FLIGHT_PER_THREAD = 2;

export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism());
}

/**
 * Reconstructs camera images on worker threads, all sharing one copy of the pedestal map.
 * `reconstruct` waits for a free slot, so a fast reader cannot pile images up in memory;
 * results come back per image, in any order — keep the promises to keep the order.
 */
export class ImagePool {
  private readonly slots: Slot[];
  private nextId = 0;
  private waiters: Array<() => void> = [];
  private failure: Error | undefined;
  private spare: ArrayBuffer[] = [];
  /** Size of the buffers `reconstruct` copies into; buffers coming back at that size are reused. */
  private copyBytes = 0;

  constructor(
    pedestal: PedestalMap,
    parameters: RecoParameters,
    threads = defaultThreads(),
    /** Each result also carries the image's region of interest (for a reduced file). */
    reduction?: ReductionParameters,
  ) {
    const shared = sharePedestalMap(pedestal);
    const derived = derivedMaps(shared, parameters.nsigma);
    const script = builtScript(__dirname, 'imageWorker');
    this.slots = Array.from({ length: Math.max(1, threads) }, () => {
      const slot: Slot = {
        worker: new Worker(script, {
          workerData: { pedestal: shared, derived, parameters, reduction },
        }),
        busy: 0,
        pending: new Map(),
      };
      slot.worker.on('message', (message) => this.settle(slot, message));
      slot.worker.on('error', (error) => this.crash(slot, error));
      slot.worker.on('exit', (code) => {
        if (code !== 0) this.crash(slot, new Error(`reconstruction thread exited with ${code}`));
      });
      return slot;
    });
  }

  get threads(): number {
    return this.slots.length;
  }

  /** Whether `submit` would hand an image over now, without waiting (the live path skips). */
  get canTakeNow(): boolean {
    return !this.failure && this.freeSlot() !== undefined;
  }

  /**
   * Reconstructs one image. The pixels are copied into one of the pool's own buffers (which
   * travel to a thread and back), so the caller keeps its image and may reuse it at once —
   * unless `transfer` is set: then the image's whole buffer moves to the thread without a copy
   * and is unusable here afterwards. (Measured: copying into a recycled buffer beats handing
   * over a freshly allocated one, whose page faults stall every thread.)
   */
  async reconstruct(image: Uint16Array, transfer = false): Promise<ImageReconstruction> {
    return (await this.submit(image, transfer)).result;
  }

  /**
   * Waits for a free thread and hands the image over (a copy, or the buffer with `transfer`):
   * once this resolves, the pool no longer needs the caller's image. The reconstruction itself
   * is `result` (wrapped, so that awaiting the hand-over does not await the result too).
   */
  async submit(
    image: Uint16Array,
    transfer = false,
  ): Promise<{ result: Promise<ImageReconstruction> }> {
    if (!(image instanceof Uint16Array))
      throw new RecoInputError(
        `camera image must be 16-bit unsigned, got ${(image as object).constructor.name}`,
      );
    let slot = this.freeSlot();
    while (!slot) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      slot = this.freeSlot();
    }
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    slot.busy++;
    const target = slot;
    let sent = image;
    if (!transfer) {
      sent = this.buffer(image.byteLength);
      sent.set(image);
    }
    const result = new Promise<ImageReconstruction>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.postMessage({ id, image: sent }, [sent.buffer as ArrayBuffer]);
    });
    return { result };
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  /** A recycled buffer of the right size, or a new one. */
  private buffer(byteLength: number): Uint16Array {
    if (byteLength !== this.copyBytes) [this.copyBytes, this.spare] = [byteLength, []];
    const index = this.spare.findIndex((buffer) => buffer.byteLength === byteLength);
    const buffer = index >= 0 ? this.spare.splice(index, 1)[0] : new ArrayBuffer(byteLength);
    return new Uint16Array(buffer);
  }

  private freeSlot(): Slot | undefined {
    if (this.failure) return this.slots[0];
    let best: Slot | undefined;
    for (const slot of this.slots)
      if (slot.busy < IN_FLIGHT_PER_THREAD && (!best || slot.busy < best.busy)) best = slot;
    return best;
  }

  private settle(
    slot: Slot,
    message: {
      id: number;
      result?: ImageReconstruction;
      error?: { name: string; message: string };
      buffer?: ArrayBuffer;
    },
  ): void {
    if (
      message.buffer &&
      message.buffer.byteLength === this.copyBytes &&
      this.spare.length < this.slots.length * IN_FLIGHT_PER_THREAD
    )
      this.spare.push(message.buffer);
    const pending = slot.pending.get(message.id);
    if (!pending) return;
    slot.pending.delete(message.id);
    slot.busy--;
    if (message.error) {
      const error =
        message.error.name === 'RecoInputError'
          ? new RecoInputError(message.error.message)
          : new Error(message.error.message);
      pending.reject(error);
    } else {
      pending.resolve(message.result!);
    }
    this.waiters.shift()?.();
  }

  /** A thread that dies takes its images with it: fail them, and everything after. */
  private crash(slot: Slot, error: Error): void {
    this.failure ??= error;
    for (const pending of slot.pending.values()) pending.reject(error);
    slot.pending.clear();
    for (const wake of this.waiters.splice(0)) wake();
  }
}
