'use strict';
// npm run build:wasm — compiles src/reco/adler32.wat into src/reco/adler32Wasm.ts (the module's
// bytes, base64), so that neither the build nor a deployment needs a WebAssembly toolchain.
// test/unit/adler32Wasm.test.ts compiles the text again and fails if the two have drifted.
const fs = require('node:fs');
const path = require('node:path');

const WAT = path.join(__dirname, '..', 'src', 'reco', 'adler32.wat');
const OUTPUT = path.join(__dirname, '..', 'src', 'reco', 'adler32Wasm.ts');

/** The binary module of a WebAssembly text file, SIMD enabled. */
async function compileWat(file) {
  const wabt = await require('wabt')();
  const module = wabt.parseWat(path.basename(file), fs.readFileSync(file, 'utf8'), { simd: true });
  try {
    module.validate();
    return Buffer.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

function moduleSource(bytes) {
  const base64 = bytes.toString('base64').replace(/.{1,96}/g, (line) => `  '${line}' +\n`);
  return (
    '// Generated from adler32.wat by `npm run build:wasm`; edit the .wat, not this file.\n' +
    `export const ADLER32_WASM_BASE64 =\n${base64.replace(/ \+\n$/, ';\n')}`
  );
}

if (require.main === module) {
  compileWat(WAT).then(
    (bytes) => {
      fs.writeFileSync(OUTPUT, moduleSource(bytes));
      console.log(`${path.relative(process.cwd(), OUTPUT)}: ${bytes.length} bytes of WebAssembly`);
    },
    (error) => {
      console.error(error.message ?? error);
      process.exit(1);
    },
  );
}

module.exports = { WAT, OUTPUT, compileWat, moduleSource };
