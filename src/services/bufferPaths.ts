import path from 'node:path';
import { BadUserInputError } from '../errors';

/**
 * Resolves a file path the DAQ declared (relative to the buffer, or absolute inside it) and
 * refuses anything outside the buffer directory: the gateway must never read arbitrary files.
 */
export function resolveBufferPath(
  bufferDir: string,
  declared: string,
  field = 'files.path',
): string {
  if (declared.trim() === '' || declared.includes('\0'))
    throw new BadUserInputError(`${field}: empty or invalid path`, field);
  const resolved = path.resolve(bufferDir, declared);
  const relative = path.relative(bufferDir, resolved);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new BadUserInputError(
      `${field}: "${declared}" is not inside the DAQ buffer ${bufferDir}`,
      field,
    );
  }
  return resolved;
}
