// Node has WebAssembly as a global, but TypeScript declares it only in the DOM library, which a
// server does not load. The part the adler32 kernel uses:
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
}
