import path from 'node:path';
import { FileObjectStore } from './FileObjectStore';
import type { ObjectStore } from './ObjectStore';
import { parseS3Url, S3ObjectStore } from './S3ObjectStore';
import type { UrlSigner } from './signedUrls';

/** Local path of a `file:` URL: `file:./var/x` is relative, `file:///srv/x` absolute. */
export function fileUrlPath(value: string): string {
  const rest = value.slice('file:'.length);
  return path.resolve(rest.startsWith('//') ? rest.slice(2) : rest);
}

/** Opens (and prepares: directory, bucket) the store an OBJECT_STORE_URL names. */
export async function createObjectStore(
  url: string,
  partSize: number,
  signer: UrlSigner,
  options: { timeoutMs?: number } = {},
): Promise<ObjectStore> {
  if (url.startsWith('file:')) {
    const store = new FileObjectStore(fileUrlPath(url), signer);
    await store.init();
    return store;
  }
  const store = new S3ObjectStore(parseS3Url(url), partSize, options.timeoutMs);
  await store.init();
  return store;
}
