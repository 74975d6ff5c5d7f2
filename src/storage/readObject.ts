import type { ObjectStore } from './ObjectStore';

/** A whole object in memory: for the small ones (pedestal maps, reduced files). */
export async function readObject(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
