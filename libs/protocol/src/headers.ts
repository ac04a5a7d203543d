import { FAILURE_STATUS, type Failure } from './failure.js';

/** NATS header names the mesh reads or writes. */
export const MeshHeader = {
  /** JetStream deduplication id: the invocation id, so a retried publish is stored once. */
  MsgId: 'Nats-Msg-Id',
  /** NATS micro error description, on every error reply. */
  ServiceError: 'Nats-Service-Error',
  /** NATS micro numeric error code (FAILURE_STATUS of the failure code), on every error reply. */
  ServiceErrorCode: 'Nats-Service-Error-Code',
  /** Where a worker sends the RESPONSE of a durable request (`mesh.reply.<router id>.<invocation id>`). */
  ReplyTo: 'Mesh-Reply-To',
  /**
   * On durable work that nobody recorded before queueing it (a call or submit with a generated id), and on every
   * event its worker publishes: the invocation's first record (JSON, state WAITING). The orchestrator creates the
   * record from it when an event finds none, so the router writes nothing before the work is queued.
   */
  Record: 'Mesh-Record',
  /** The attempt number (1 for the first run; JetStream's delivery count for durable work). */
  Attempt: 'Mesh-Attempt',
  /** Why a message was dead-lettered, refused or re-dispatched (free text for operators). */
  Reason: 'Mesh-Reason',
  /** On a dead letter: the stream and sequence the work came from, and how often it was delivered. */
  DeadStream: 'Mesh-Dead-Stream',
  DeadSeq: 'Mesh-Dead-Seq',
  DeadDeliveries: 'Mesh-Dead-Deliveries',
  DeadAt: 'Mesh-Dead-At',
  /**
   * On work put back by `mesh.deadletters.redrive`: the attempts the invocation had before (a number). Its
   * attempt is this plus JetStream's delivery count, and its deadline no longer applies (an operator asked).
   */
  Redriven: 'Mesh-Redriven',
} as const;

/** One of the mesh header names. */
export type MeshHeader = (typeof MeshHeader)[keyof typeof MeshHeader];

/** Longest `Nats-Service-Error` value: headers are for a glance, the body carries the full message. */
export const MAX_SERVICE_ERROR_LENGTH = 1_024;

/** The two NATS micro error headers for `failure`: `Nats-Service-Error` (message) and `Nats-Service-Error-Code`. */
export function serviceErrorHeaders(failure: Pick<Failure, 'code' | 'message'>): Record<string, string> {
  return {
    [MeshHeader.ServiceError]: headerSafe(failure.message) || failure.code,
    [MeshHeader.ServiceErrorCode]: String(FAILURE_STATUS[failure.code] ?? FAILURE_STATUS.INTERNAL),
  };
}

/** Makes `text` a legal header value: nats.js refuses CR/LF in values, and a header must stay short. */
export function headerSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = String(text).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > MAX_SERVICE_ERROR_LENGTH ? `${flat.slice(0, MAX_SERVICE_ERROR_LENGTH - 1)}…` : flat;
}
