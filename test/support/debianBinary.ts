import fs from 'node:fs';
import path from 'node:path';

/**
 * The path of a server program from Debian's packages; fails loudly, naming the packages to
 * install, when a suite is asked for but the program is missing.
 */
export function debianBinary(binary: string, packages: string): string {
  const found = ['/usr/bin', '/usr/sbin'].map((d) => path.join(d, binary)).find(fs.existsSync);
  if (!found)
    throw new Error(`${binary} is not installed: apt-get install ${packages} (see .ci/run)`);
  return found;
}
