/**
 * CYGNO writes the run type into descriptions like "S003:DATA:Fe source" (or "S003:PED:…");
 * returns the middle field when the description has that shape.
 */
export function runTypeFromDescription(description: string | null | undefined): string | null {
  const match = /^\s*[^:\s]+:([A-Za-z][A-Za-z0-9_]*):/.exec(description ?? '');
  return match ? match[1].toUpperCase() : null;
}
