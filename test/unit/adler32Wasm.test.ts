import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ADLER32_WASM_BASE64 } from '../../src/reco/adler32Wasm';

const { WAT, compileWat } = createRequire(__filename)('../../scripts/buildWasm.js') as {
  WAT: string;
  compileWat(file: string): Promise<Buffer>;
};

describe('adler32 WebAssembly kernel', () => {
  it('is the compiled adler32.wat (run `npm run build:wasm` after editing the .wat)', async () => {
    const compiled = await compileWat(WAT);
    expect(Buffer.from(ADLER32_WASM_BASE64, 'base64').equals(compiled)).toBe(true);
  });
});
