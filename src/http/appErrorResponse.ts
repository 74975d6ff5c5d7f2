import type { Response } from 'express';
import type { AppError } from '../errors';

/** Statuses of codes whose errors carry none of their own. */
const STATUS_BY_CODE: Record<string, number> = { NOT_FOUND: 404, CONFLICT: 409 };

/**
 * An AppError answered outside GraphQL (the export and provenance routes) as the API would:
 * `{ errors: [{ message, extensions }] }`, with the error's HTTP status and headers (401, 413,
 * 503 with Retry-After …), 404/409 for NOT_FOUND/CONFLICT, 400 otherwise.
 */
export function sendAppError(res: Response, error: AppError): void {
  const { http, ...extensions } = error.extensions as {
    http?: { status?: number; headers?: Map<string, string> };
    code?: string;
  };
  for (const [name, value] of http?.headers ?? []) res.setHeader(name, value);
  const status = http?.status ?? STATUS_BY_CODE[String(extensions.code)] ?? 400;
  res.status(status).json({ errors: [{ message: error.message, extensions }] });
}
