import { FailureCode, MeshError, type MeshErrorOptions } from '@taskmesh/protocol';

/**
 * The client could not reach the mesh's NATS server: `cannot connect to <url>: <why>`. Retryable unless the server
 * refused the credentials or the options themselves are wrong (`retryable: false`). Every failure of the mesh itself
 * reaches callers as the MeshError subclass of its code instead (docs/PROTOCOL.md section 5).
 */
export class MeshConnectError extends MeshError {
  /** The server URL(s) that were tried, comma-separated. */
  readonly servers: string;

  constructor(servers: string, why: string, options: MeshErrorOptions & { attempts?: number } = {}) {
    const { attempts, ...rest } = options;
    const tries = attempts !== undefined && attempts > 1 ? ` (${attempts} attempts)` : '';
    super(FailureCode.INTERNAL, `cannot connect to ${servers}: ${why}${tries}`, {
      retryable: true,
      ...rest,
      details: { ...rest.details, servers, ...(attempts === undefined ? {} : { attempts }) },
    });
    this.servers = servers;
  }
}
