import { Router } from 'express';
import type { Authenticator } from '../auth/authenticate';
import { AppError, BadUserInputError } from '../errors';
import { logger } from '../logger';
import { sendAppError } from './appErrorResponse';
import type { ProvenanceService } from '../services/ProvenanceService';

/** `GET /provenance/run/N`: the run's lineage as W3C PROV-JSON, with the API's bearer tokens. */
export function provenanceRoutes(
  authenticator: Authenticator,
  provenance: ProvenanceService,
): Router {
  const router = Router();
  router.get('/provenance/run/:runNumber', async (req, res) => {
    try {
      await authenticator.authenticate({ authorization: req.headers.authorization });
      if (!/^\d+$/.test(req.params.runNumber))
        throw new BadUserInputError('the run number must be a whole number', 'runNumber');
      const doc = await provenance.runLineage(Number(req.params.runNumber));
      res.type('application/json').send(JSON.stringify(doc, null, 2));
    } catch (error) {
      if (error instanceof AppError) return sendAppError(res, error);
      logger('provenance').error({ err: error }, 'provenance failed');
      res.status(500).json({
        errors: [{ message: 'provenance failed', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
      });
    }
  });
  return router;
}
