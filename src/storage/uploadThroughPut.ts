import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type { ObjectInfo, ObjectUpload } from './ObjectStore';

/**
 * An ObjectUpload for a store that takes a stream (`put`). Each chunk is copied before it goes
 * in: such a store may keep a chunk long after taking it (the minio client holds a whole
 * part's chunks until it sends the part), so the caller's buffer must not be what it holds.
 */
export function uploadThroughPut(put: (body: Readable) => Promise<ObjectInfo>): ObjectUpload {
  const body = new PassThrough({ highWaterMark: 4 << 20 });
  // Errors reach the caller through write(), finish() and abort(), never as an unhandled event.
  body.on('error', () => undefined);
  const done = put(body);
  let failure: Error | undefined;
  // A refused upload fails the next write instead of letting the writer wait for a drain.
  done.catch((error: Error) => {
    failure = error;
    body.destroy(error);
  });
  return {
    async write(chunk) {
      if (failure) throw failure;
      if (!body.write(Buffer.from(chunk))) await once(body, 'drain');
    },
    finish() {
      body.end();
      return done;
    },
    async abort(reason) {
      body.destroy(reason);
      await done.catch(() => undefined);
    },
  };
}
