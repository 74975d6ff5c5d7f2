import { BadUserInputError } from '../errors';

/** A GraphQL `ID` argument as the row id it stands for; BAD_USER_INPUT naming `what` otherwise. */
export function rowId(id: string, what: string): number {
  const parsed = Number(id);
  if (!Number.isSafeInteger(parsed) || parsed <= 0)
    throw new BadUserInputError(`id: "${id}" is not ${what} id`, 'id');
  return parsed;
}
