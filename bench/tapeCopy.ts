import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Adler32 } from '../src/reco/checksums';
import { TokenFile, WebDavTapeStore } from '../src/tape';
import { startXrootd } from '../test/support/xrootd';

// The tape row of bench:ingest: a raw file to a real XRootD door (Debian's xrootd-server with
// XrdHttp and WLCG tokens), the way TAPE_COPY does it — PUT, then the door's adler32
// (Want-Digest) compared with ingestion's — against the floor: a plain PUT of the same file.

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** A bare PUT with node:http (header names as XRootD 5.5 wants them), nothing checked. */
function plainPut(url: string, token: string, file: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'PUT',
      agent: false,
      headers: { 'Content-Length': String(size), Authorization: `Bearer ${token}` },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      if (res.statusCode === 200 || res.statusCode === 201) resolve();
      else reject(new Error(`PUT ${url}: HTTP ${res.statusCode}`));
    });
    pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), req).catch(reject);
  });
}

export async function benchTapeCopy(files: Record<string, string>, rounds: number): Promise<void> {
  if (!fs.existsSync('/usr/bin/xrootd')) {
    console.log(
      'tape: XRootD is not installed (apt-get install xrootd-server xrootd-scitokens-plugins): row not measured',
    );
    return;
  }
  const door = await startXrootd();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bench-tape-'));
  try {
    const token = await door.token();
    fs.writeFileSync(path.join(dir, 'token'), token);
    const tape = new WebDavTapeStore(`${door.url}cygno/`, new TokenFile(path.join(dir, 'token')));
    console.log('\ntape (XRootD)  file   copy+verify s  of it digest s  plain PUT s  ratio');
    for (const [kind, file] of Object.entries(files)) {
      const size = fs.statSync(file).size;
      const adler = new Adler32();
      for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }))
        adler.update(chunk as Buffer);
      const expected = adler.hex(); // ingestion measured it already: not part of the copy
      const ratios: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const floor = await seconds(() => plainPut(tape.urlFor('bench/plain'), token, file, size));
        // Delete first: the door caches a checksum by size and whole-second mtime.
        await tape.delete('bench/copy');
        let digest = 0;
        const copy = await seconds(async () => {
          await tape.put('bench/copy', fs.createReadStream(file, { highWaterMark: 1 << 20 }), size);
          // The door reads the whole file back to answer the adler32: what verifying costs.
          const start = process.hrtime.bigint();
          const stat = await tape.stat('bench/copy');
          digest = Number(process.hrtime.bigint() - start) / 1e9;
          if (stat?.size !== size || stat.adler32 !== expected)
            throw new Error(
              `tape copy differs: ${JSON.stringify(stat)}, adler32 ${expected} expected`,
            );
        });
        ratios.push(copy / floor);
        console.log(
          `${''.padEnd(14)} ${kind.padEnd(6)} ${copy.toFixed(2).padStart(13)} ${digest.toFixed(2).padStart(15)} ${floor.toFixed(2).padStart(12)}  ${(copy / floor).toFixed(2)}`,
        );
        await tape.delete('bench/plain');
      }
      console.log(
        `${''.padEnd(14)} ${kind.padEnd(6)} best ratio ${Math.min(...ratios).toFixed(2)} (target <= 1.25)`,
      );
    }
  } finally {
    await door.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
