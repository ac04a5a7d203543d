import { readCallChain, type CallLink } from './call-link.js';
import { parseMessage, toJsonValue, type MessageSpec } from './codec.js';
import { readDispatchContext, type DispatchContext } from './dispatch-context.js';
import type { JsonValue } from './json.js';
import { INVOCATION_ID_PATTERN, MAX_KEY_LENGTH, TASK_NAME_PATTERN } from './limits.js';
import { IsConstant, IsIntBetween, IsIsoInstant, IsJson, IsStringLength, MatchesPattern, Optional } from './validators.js';
import { PROTOCOL_VERSION } from './version.js';

/** The fields of a REQUEST (`v` and `type` are implied; `args` defaults to null, `createdAt` to now). */
export interface RequestFields {
  id: string;
  task: string;
  args?: unknown;
  key?: string;
  deadline: number;
  createdAt?: string;
  parentId?: string;
  chain?: CallLink[];
  dispatch?: DispatchContext;
}

/**
 * REQUEST: one invocation of a task, as placed on `<p>.work.<task>` (durable) or a worker's topic (direct).
 * The attempt number travels in the `Mesh-Attempt` header (JetStream's delivery count for durable work), not
 * here, so the body is the same for every attempt.
 */
export class RequestMessage {
  /** Protocol version (PROTOCOL_VERSION). */
  @IsConstant(PROTOCOL_VERSION)
  v!: typeof PROTOCOL_VERSION;

  /** Always `REQUEST`. */
  @IsConstant('REQUEST')
  type!: 'REQUEST';

  /** The invocation id (INVOCATION_ID_PATTERN); the same id never runs twice. */
  @MatchesPattern(INVOCATION_ID_PATTERN)
  id!: string;

  /** The task to run (TASK_NAME_PATTERN). */
  @MatchesPattern(TASK_NAME_PATTERN)
  task!: string;

  /** The task's arguments: any JSON (null when the caller gave none). */
  @IsJson()
  args!: JsonValue;

  /** Ordering key: invocations with the same key run one at a time, in acceptance order. */
  @Optional()
  @IsStringLength(1, MAX_KEY_LENGTH)
  key?: string;

  /** Epoch ms after which the work must not start (a worker refuses it with TIMEOUT). */
  @IsIntBetween(0, Number.MAX_SAFE_INTEGER)
  deadline!: number;

  /** When the invocation was accepted (ISO-8601). */
  @IsIsoInstant()
  createdAt!: string;

  /** The invocation that called this one, if a task called it (for cycle detection and the call tree). */
  @Optional()
  @MatchesPattern(INVOCATION_ID_PATTERN)
  parentId?: string;

  /** The invocations that led to this one, the caller last (its parentId); carried into its own child calls. */
  chain?: CallLink[];

  /** The scheduled occurrence this invocation is, when the scheduler submitted it. */
  dispatch?: DispatchContext;

  /** True when the deadline has passed at `nowMs` (epoch ms). */
  isExpired(nowMs: number): boolean {
    return nowMs > this.deadline;
  }

  /** Reads a REQUEST from bytes, JSON text or a parsed value; throws InvalidMessageError listing every problem. */
  static parse(raw: unknown): RequestMessage {
    return parseMessage(raw, REQUEST_SPEC);
  }

  /** A validated REQUEST (InvalidMessageError when a field is wrong); `args` is made JSON, `createdAt` defaults to now. */
  static create(fields: RequestFields): RequestMessage {
    return parseMessage(
      {
        v: PROTOCOL_VERSION,
        type: 'REQUEST',
        ...fields,
        args: toJsonValue(fields.args, 'args', REQUEST_SPEC.what),
        createdAt: fields.createdAt ?? new Date().toISOString(),
      },
      REQUEST_SPEC,
    );
  }
}

const REQUEST_SPEC: MessageSpec<RequestMessage> = {
  what: 'REQUEST message',
  ctor: RequestMessage,
  fields: ['v', 'type', 'id', 'task', 'args', 'key', 'deadline', 'createdAt', 'parentId', 'chain', 'dispatch'],
  optional: ['key', 'parentId', 'chain', 'dispatch'],
  versioned: true,
  finish: (message, record, problems) => {
    message.chain = readCallChain(record['chain'], 'chain', problems);
    message.dispatch = readDispatchContext(record['dispatch'], 'dispatch', problems);
    // Absent args travel as null: a task always receives a JSON value.
    if (message.args === undefined) message.args = null;
  },
};
