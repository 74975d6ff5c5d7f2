import path from 'node:path';
import { FileTapeStore } from './FileTapeStore';
import type { TapeStore } from './TapeStore';
import { TokenFile } from './tokenFile';
import { WebDavTapeStore } from './WebDavTapeStore';

/** The tape store of TAPE_URL: file:DIR[?latencyMs=N], or davs:/https:/http: WebDAV. Null: none. */
export function createTapeStore(url: string, tokenFile?: string): TapeStore | null {
  if (url === 'none') return null;
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') {
    const latency = Number(parsed.searchParams.get('latencyMs') ?? 0);
    const dir = decodeURIComponent(url.slice('file:'.length).replace(/\?.*$/, ''));
    return new FileTapeStore(path.resolve(dir), latency);
  }
  return new WebDavTapeStore(url, tokenFile ? new TokenFile(tokenFile) : undefined);
}
