import { BadUserInputError } from '../errors';

/**
 * A GraphQL `ID` argument as the row id it stands for; BAD_USER_INPUT naming the argument and
 * `what` it should be otherwise. The one place IDs are parsed.
 */
export function rowId(id: string, what: string, argument = 'id'): number {
  const parsed = /^[1-9][0-9]*$/.test(id.trim()) ? Number(id) : NaN;
  if (!Number.isSafeInteger(parsed))
    throw new BadUserInputError(`${argument}: "${id}" is not ${what} id`, argument);
  return parsed;
}
