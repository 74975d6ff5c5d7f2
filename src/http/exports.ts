import express, { Router, type Request, type Response } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Authenticator } from '../auth/authenticate';
import { AppError } from '../errors';
import type { ByteSource } from '../export/byteSource';
import { isExportFormat } from '../export/encoders';
import { parseExportRequest } from '../export/exportRequest';
import { logger } from '../logger';
import type { ExportKind, ExportService } from '../services/ExportService';
import { sendAppError } from './appErrorResponse';
import type { ExportOutcome, ExportReport } from './prometheus';

const log = logger('export');

/** The client went away mid-stream. */
class ClientGone extends Error {}

/**
 * Bulk exports: `/export/clusters.arrow`, `/export/events.arrow` (Arrow IPC stream) and `.csv`,
 * by GET (filter fields as query parameters) or POST (JSON `{ filter, columns, limit }`), with
 * the API's bearer tokens. Rows go out in record batches as the database cursor yields them,
 * each batch written only once the client has taken the previous one.
 */
export function exportRoutes(
  schema: GraphQLSchema,
  authenticator: Authenticator,
  exports: ExportService,
  report: ExportReport = () => undefined,
): Router {
  const router = Router();
  const handle = async (req: Request, res: Response) => {
    const kind = req.params.kind as ExportKind;
    const format = String(req.params.format);
    if (!(kind === 'clusters' || kind === 'events') || !isExportFormat(format)) {
      res.status(404).json({
        errors: [
          {
            message: 'exports: /export/{clusters,events}.{arrow,csv}',
            extensions: { code: 'NOT_FOUND' },
          },
        ],
      });
      return;
    }
    let bytes: ByteSource | undefined;
    const started = Date.now();
    const ended = (outcome: ExportOutcome) =>
      report(kind, format, outcome, bytes?.rows ?? 0, (Date.now() - started) / 1000);
    try {
      const principal = await authenticator.authenticate({
        authorization: req.headers.authorization,
      });
      const request = parseExportRequest(schema, kind, req);
      const opened = await exports.open(request, principal, format);
      bytes = opened.bytes;
      res.status(200);
      res.setHeader('Content-Type', opened.contentType);
      res.setHeader('Content-Disposition', `attachment; filename="${kind}.${format}"`);
      res.setHeader('X-Cygno-Columns', opened.columns.map((c) => c.name).join(','));
      await stream(res, bytes);
      ended('sent');
      log.info(
        {
          kind,
          format,
          rows: bytes.rows,
          runs: opened.runs,
          threads: opened.threads,
          ms: Date.now() - started,
          who: principal.name,
        },
        'export sent',
      );
    } catch (error) {
      if (error instanceof ClientGone) {
        ended('abandoned');
        log.info({ kind, format }, 'export abandoned by its client; cursor released');
        return;
      }
      ended(res.headersSent || !(error instanceof AppError) ? 'failed' : 'refused');
      if (res.headersSent) {
        // Too late for a status: cut the response so the client sees an incomplete body (no
        // Arrow end-of-stream, no final chunk), never a short export that looks complete.
        log.error({ err: error, kind, format }, 'export failed mid-stream');
        res.destroy();
        return;
      }
      sendError(res, error);
    } finally {
      await bytes?.close();
    }
  };
  router.get('/export/:kind.:format', handle);
  router.post('/export/:kind.:format', express.json({ limit: '1mb' }), handle);
  return router;
}

async function stream(res: Response, bytes: ByteSource): Promise<void> {
  let gone = false;
  let wake: (() => void) | undefined;
  res.on('close', () => {
    if (!res.writableFinished) gone = true;
    wake?.();
  });
  for (let chunks = await bytes.next(); chunks; chunks = await bytes.next()) {
    for (const chunk of chunks) {
      if (gone) throw new ClientGone();
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          res.once('drain', resolve);
        });
        wake = undefined;
      }
    }
    if (gone) throw new ClientGone();
  }
  res.end();
}

function sendError(res: Response, error: unknown): void {
  if (error instanceof AppError) return sendAppError(res, error);
  log.error({ err: error }, 'export failed');
  res.status(500).json({
    errors: [{ message: 'export failed', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
  });
}
