import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { FAILURE_STATUS, MeshError } from '@taskmesh/protocol';
import { QueryError } from '../invocations/invocation-query.js';

/**
 * Every API error as `{error: {code, message, problems?}}`: a mesh failure with its HTTP-like status (docs/PROTOCOL.md
 * section 5), an unusable query 400, Nest's own HTTP errors as they are, anything else 500 (logged).
 */
/** The part of express's response the filter uses. */
interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}

@Catch()
export class MeshErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('Api');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<JsonResponse>();
    if (err instanceof MeshError) {
      // A mesh that does not answer is the dashboard's upstream failing: 502, whatever code the SDK gave it.
      const status = err.code === 'INTERNAL' || err.code === 'TIMEOUT' ? 502 : FAILURE_STATUS[err.code];
      res.status(status).json({ error: { code: err.code, message: err.message } });
    } else if (err instanceof QueryError) {
      res.status(400).json({ error: { code: 'BAD_REQUEST', message: err.message, problems: err.problems } });
    } else if (err instanceof HttpException) {
      res.status(err.getStatus()).json({ error: { code: 'HTTP', message: err.message } });
    } else {
      this.log.error({ msg: 'API request failed', err: (err as Error)?.message ?? String(err) });
      res.status(500).json({ error: { code: 'INTERNAL', message: 'the dashboard failed to answer (see its log)' } });
    }
  }
}
