/**
 * Run types are compared upper-case everywhere ("cal", "Cal" and "CAL" are one type): stored
 * that way, and filters normalised the same way before they reach SQL (SQLite compares
 * case-sensitively, MariaDB's default collation does not).
 */
export function normaliseRunType(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed.toUpperCase() : null;
}

/** The run types of a filter, normalised; empty when the filter names none. */
export function normaliseRunTypes(values: readonly string[] | null | undefined): string[] {
  return (values ?? []).map(normaliseRunType).filter((t): t is string => t !== null);
}

/**
 * CYGNO writes the run type into descriptions like "S003:DATA:Fe source" (or "S003:PED:…");
 * returns the middle field when the description has that shape.
 */
export function runTypeFromDescription(description: string | null | undefined): string | null {
  const match = /^\s*[^:\s]+:([A-Za-z][A-Za-z0-9_]*):/.exec(description ?? '');
  return match ? normaliseRunType(match[1]) : null;
}
