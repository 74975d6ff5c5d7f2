import 'reflect-metadata';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodePedestalMap } from '../src/reco/image';
import { writeSimulatedRun } from '../src/reco/simulation';
import { simulatedPedestal } from './support/simulatedPedestal';

// npm run bench:pyreco — the offline reconstruction as whole processes, against a numpy/scipy/
// scikit-learn implementation of CYGNO's algorithm (bench/support/cygno_reco.py) on the same
// .mid.gz files: real-sized images (2304²), a 20-image and a 1-image run, so that start-up
// cancels out of the per-image time. Both read the same pedestal map. Rounds alternate.

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'cygno-gateway.js');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const REFERENCE = path.join(ROOT, 'bench', 'support', 'cygno_reco.py');
const SIDE = 2304;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function seconds(command: string, args: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) =>
    execFile(command, args, { maxBuffer: 1 << 24 }, (error, _stdout, stderr) =>
      error
        ? reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`))
        : resolve(Number(process.hrtime.bigint() - start) / 1e9),
    ),
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bench-pyreco-'));
  try {
    const map = path.join(dir, 'pedestal.bin');
    fs.writeFileSync(map, encodePedestalMap((await simulatedPedestal(dir, SIDE, 4)).map));
    const runs = { 1: path.join(dir, 'run00002.mid.gz'), 20: path.join(dir, 'run00003.mid.gz') };
    for (const [images, file] of Object.entries(runs))
      await writeSimulatedRun(file, {
        runNumber: Number(images) === 1 ? 2 : 3,
        events: Number(images),
        side: SIDE,
        pedestal: false,
        gzip: true,
      });
    console.log(
      `bench:pyreco — ${SIDE}×${SIDE} images, gzip MIDAS, ${os.cpus().length} cores, ${ROUNDS} rounds`,
    );
    const times: Record<string, number[]> = { gw1: [], gw20: [], py1: [], py20: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of [1, 20] as const) {
        const file = runs[n];
        times[`gw${n}`].push(
          await seconds(process.execPath, [CLI, 'reco', file, '--pedestal', map]),
        );
        times[`py${n}`].push(await seconds(PYTHON, [REFERENCE, file, map]));
      }
    }
    const perImage = (one: number[], twenty: number[]) => (median(twenty) - median(one)) / 19;
    const gw = perImage(times.gw1, times.gw20);
    const py = perImage(times.py1, times.py20);
    console.log('process                      1 image s   20 images s   per image s');
    console.log(
      `gateway reco CLI             ${median(times.gw1).toFixed(2).padStart(9)}   ${median(times.gw20).toFixed(2).padStart(11)}   ${gw.toFixed(3).padStart(11)}`,
    );
    console.log(
      `numpy/scipy/sklearn          ${median(times.py1).toFixed(2).padStart(9)}   ${median(times.py20).toFixed(2).padStart(11)}   ${py.toFixed(3).padStart(11)}`,
    );
    console.log(`speed-up per image: ${(py / gw).toFixed(2)}× (target ≥ 4×)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
