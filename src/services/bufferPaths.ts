import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { BadUserInputError } from '../errors';

// The DAQ buffer is a jail: the gateway reads only files that really lie inside it. A declared
// path is checked by its name (no `..`, nothing absolute elsewhere) and by where it really
// leads: a symbolic link inside the buffer that points outside it (to a file, or a directory
// on the way) is refused, and the file is opened without following a final link, then checked
// again by what was opened. Errors name the declared path only — never the size, type or
// existence of anything outside the buffer.

/** A buffer path that leads outside the buffer. The message names only the declared path. */
export class OutsideBufferError extends Error {
  constructor(readonly declared: string) {
    super(`${declared}: leads outside the DAQ buffer (through a symbolic link); refused`);
    this.name = 'OutsideBufferError';
  }
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/**
 * Resolves a file path the DAQ declared (relative to the buffer, or absolute inside it) and
 * refuses anything outside the buffer directory, by name and — for the part of the path that
 * exists already — by where its links really lead. The file itself may not exist yet.
 */
export function resolveBufferPath(
  bufferDir: string,
  declared: string,
  field = 'files.path',
): string {
  if (declared.trim() === '' || declared.includes('\0'))
    throw new BadUserInputError(`${field}: empty or invalid path`, field);
  const resolved = path.resolve(bufferDir, declared);
  if (!isInside(path.resolve(bufferDir), resolved)) {
    throw new BadUserInputError(
      `${field}: "${declared}" is not inside the DAQ buffer ${bufferDir}`,
      field,
    );
  }
  if (!existingPartStaysInside(bufferDir, resolved))
    throw new BadUserInputError(
      `${field}: "${declared}" leads outside the DAQ buffer through a symbolic link`,
      field,
    );
  return resolved;
}

/** Whether the longest existing prefix of `resolved` really lies inside the buffer. */
function existingPartStaysInside(bufferDir: string, resolved: string): boolean {
  let root: string;
  try {
    root = fs.realpathSync(bufferDir);
  } catch {
    return true; // no buffer yet: nothing in it can lead anywhere
  }
  const buffer = path.resolve(bufferDir);
  let existing = resolved;
  let rest = '';
  while (existing !== buffer) {
    try {
      const real = fs.realpathSync(existing);
      return isInside(root, path.join(real, rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return false; // a loop, a refused look
      rest = path.join(path.basename(existing), rest);
      existing = path.dirname(existing);
    }
  }
  return true;
}

/** The real path of a buffer file; OutsideBufferError when it leads out of the buffer. */
async function realPathInside(bufferDir: string, localPath: string): Promise<string> {
  const root = await fsp.realpath(bufferDir);
  let real: string;
  try {
    real = await fsp.realpath(localPath);
  } catch (error) {
    // Not there (yet): the part of the path that exists must still lead inside — a missing
    // file behind a link out of the buffer is refused, not reported missing.
    if (!existingPartStaysInside(bufferDir, path.resolve(localPath)))
      throw new OutsideBufferError(localPath);
    throw error;
  }
  if (!isInside(root, real)) throw new OutsideBufferError(localPath);
  return real;
}

/** `stat` of a buffer file that really lies inside the buffer. */
export async function statInBuffer(bufferDir: string, localPath: string): Promise<fs.Stats> {
  return fsp.stat(await realPathInside(bufferDir, localPath));
}

/**
 * Opens a buffer file for reading, only if it really lies inside the buffer: by its real path,
 * with O_NOFOLLOW, and (on Linux) checked again by the path of what was opened, so that a link
 * swapped in between the check and the open is caught too.
 */
export async function openInBuffer(bufferDir: string, localPath: string): Promise<fsp.FileHandle> {
  const real = await realPathInside(bufferDir, localPath);
  const handle = await fsp.open(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const opened = await fsp.readlink(`/proc/self/fd/${handle.fd}`).catch(() => real);
    if (!isInside(await fsp.realpath(bufferDir), opened)) throw new OutsideBufferError(localPath);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Reads a small text file next to a buffer file (a sidecar); undefined when there is none. */
export async function readTextInBuffer(
  bufferDir: string,
  localPath: string,
): Promise<string | undefined> {
  let handle: fsp.FileHandle;
  try {
    handle = await openInBuffer(bufferDir, localPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Deletes a buffer file (retention), only if it is no link and really lies inside the buffer:
 * a path turned into a way out after ingestion must never delete a file elsewhere.
 */
export async function removeFromBuffer(
  bufferDir: string,
  localPath: string,
): Promise<'removed' | 'gone' | 'refused'> {
  try {
    if ((await fsp.lstat(localPath)).isSymbolicLink()) return 'refused';
    await realPathInside(bufferDir, localPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    if (error instanceof OutsideBufferError) return 'refused';
    throw error;
  }
  await fsp.rm(localPath, { force: true });
  return 'removed';
}
